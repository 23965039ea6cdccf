"""The adapter kit's hooks for what vendors do differently: capped answers, form posts, their own wait
headers, per-number ownership and per-type fan-outs."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, ClassVar

import anyio
import httpx
import pytest

from numbroker import (
    AvailableNumber,
    BadRequestError,
    ConfigurationError,
    ProviderResponseError,
    RateLimitedError,
    SearchQuery,
)
from numbroker.adapters import Cursor, Provider, ProviderRun, RawPage, RetryPolicy, make_offer

FAST = RetryPolicy(attempts=3, initial=0.001, max_delay=0.01, jitter=0.0)
QUERY = SearchQuery(country="US")


class Capped(Provider):
    """A vendor answering one capped list: ``{"items": [...], "capped": bool}``."""

    id: ClassVar[str] = "capped"
    display_name: ClassVar[str] = "Capped"
    default_base_url: ClassVar[str] = "https://capped.example"
    credentials: ClassVar[Mapping[str, str]] = {}

    def _auth_headers(self) -> dict[str, str]:
        return {}

    async def _fetch_page(self, query: SearchQuery, cursor: Cursor) -> RawPage:
        data = self.connection.json(await self.connection.get(self.connection.url("items")))
        cut = ["the vendor answers at most 2 numbers: narrow the search"] if data["capped"] else []
        return RawPage(records=data["items"], truncated=cut)

    def _normalize(self, record: Any, query: SearchQuery) -> AvailableNumber:
        return make_offer(provider=self.id, offer_id=None, number=record, country="US")


def build(cls: type[Provider], handler: Callable[[httpx.Request], Any], **options: Any) -> Any:
    options.setdefault("retry", FAST)
    return cls(transport=httpx.MockTransport(handler), **options)


# -- a capped answer ------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("capped", [True, False])
async def test_a_page_marked_truncated_marks_the_run_and_notes_why(capped: bool) -> None:
    """RawPage.truncated: the run is truncated exactly when a page says so, and each note is reported."""
    body = {"items": ["+14155550100", "+14155550101"], "capped": capped}
    run = ProviderRun()
    async with build(Capped, lambda r: httpx.Response(200, json=body)) as provider:
        stats = await provider.stream_pages(QUERY, _ignore, run=run)

    assert capped is stats.truncated is run.stats.truncated
    assert (["the vendor answers at most 2 numbers: narrow the search"] if capped else []) == stats.notes


async def _ignore(page: Any) -> None:
    return None


# -- a form-encoded post ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_post_sends_a_form_encoded_body_with_data() -> None:
    """_post(url, data=...) sends application/x-www-form-urlencoded, with the provider's auth headers."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"ok": True})

    async with build(Capped, handler) as provider:
        response = await provider.connection.post(
            provider.connection.url("buy"), data={"PhoneNumber": "+14155550100", "A": "b c"}
        )

    assert 201 == response.status_code
    assert "application/x-www-form-urlencoded" == seen[0].headers["content-type"]
    assert b"PhoneNumber=%2B14155550100&A=b+c" == seen[0].content
    assert "POST" == seen[0].method


@pytest.mark.anyio
async def test_post_takes_json_or_data_not_both() -> None:
    async with build(Capped, lambda r: httpx.Response(200)) as provider:
        with pytest.raises(ConfigurationError, match="json or data"):
            await provider.connection.post(provider.connection.url("buy"), json={"a": 1}, data={"a": "1"})


# -- a vendor's own wait header ----------------------------------------------------------------------


class OwnWait(Capped):
    def _retry_after(self, response: httpx.Response) -> float | None:
        wait = super()._retry_after(response)
        return wait if wait is not None else float(response.headers.get("x-wait", "0"))


def limited_then_ok(headers: dict[str, str]) -> Callable[[httpx.Request], httpx.Response]:
    calls = iter([httpx.Response(429, headers=headers), httpx.Response(200, json={"items": [], "capped": False})])
    return lambda request: next(calls)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("cls", "headers", "wait"),
    [
        (Capped, {"Retry-After": "7"}, 7.0),
        (Capped, {"x-wait": "3"}, None),
        (OwnWait, {"x-wait": "3"}, 3.0),
        (OwnWait, {"Retry-After": "5", "x-wait": "3"}, 5.0),
    ],
)
async def test_the_retry_engine_waits_what_the_wait_hook_reads(
    cls: type[Provider], headers: dict[str, str], wait: float | None
) -> None:
    """_retry_after(response) sets a 429's wait (default Retry-After); the retry waits at least that long."""
    async with build(cls, limited_then_ok(headers), retry=RetryPolicy(attempts=1)) as provider:
        with pytest.raises(RateLimitedError) as caught:
            await provider.connection.get(provider.connection.url("items"))
    assert wait == caught.value.retry_after
    policy = RetryPolicy(attempts=2, initial=0.0, max_delay=0.0, jitter=0.0)
    assert (wait or 0.0) == policy.delay(1, caught.value)


# -- a request that must leave first -----------------------------------------------------------------


@pytest.mark.anyio
async def test_sent_is_set_as_the_request_is_handed_to_the_transport() -> None:
    """_get(url, sent=event): the event is set once the request reaches the transport, before its answer."""
    sent = anyio.Event()
    answer = anyio.Event()
    order: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        order.append(f"transport saw it (sent={sent.is_set()})")
        await answer.wait()
        return httpx.Response(200, json={"items": [], "capped": False})

    async with build(Capped, handler) as provider, anyio.create_task_group() as tg:
        tg.start_soon(functools.partial(provider.connection.get, provider.connection.url("items"), sent=sent))
        with anyio.fail_after(10):  # never set would hang the test, not fail it
            await sent.wait()
        order.append("caller went on")
        answer.set()

    assert ["transport saw it (sent=True)", "caller went on"] == order


# -- ownership of one number --------------------------------------------------------------------------


class Owner(Capped):
    """Owns +14155550100 and +14155550101; looks one number up at /owned/<e164> when ``lookups``."""

    supports_purchase: ClassVar[bool] = True
    lookups: ClassVar[bool] = True

    async def _owns_number(self, e164: str) -> bool | None:
        if not self.lookups:
            return None
        answer = self.connection.json(await self.connection.get(self.connection.url("owned", e164)))
        if answer.get("number") not in (None, e164):
            raise ProviderResponseError(self.id, "an answer about another number")
        return bool(answer.get("number") == e164)

    def _owned_numbers(self) -> AsyncIterator[str]:
        async def walk() -> AsyncIterator[str]:
            answer = self.connection.json(await self.connection.get(self.connection.url("owned")))
            for number in answer["numbers"]:
                yield number

        return walk()


def owner_vendor(log: list[str], lookups: list[dict[str, Any]]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        log.append(request.url.path)
        if request.url.path == "/owned":
            return httpx.Response(200, json={"numbers": ["+14155550100", "+14155550101"]})
        return httpx.Response(200, json=lookups.pop(0))

    return handler


@pytest.mark.anyio
@pytest.mark.parametrize(("answer", "owned"), [({"number": "+14155550101"}, True), ({}, False)])
async def test_owns_asks_the_per_number_hook_and_walks_nothing(answer: dict[str, Any], owned: bool) -> None:
    """_owns_number answers for one canonical number: the owned list is not walked."""
    log: list[str] = []
    async with build(Owner, owner_vendor(log, [answer])) as provider:
        assert owned is await provider.owns("+1 415 555 0101")
    assert ["/owned/+14155550101"] == log


@pytest.mark.anyio
async def test_an_unprovable_per_number_answer_is_asked_again() -> None:
    """A ProviderResponseError from the hook is asked again, within retry.attempts."""
    log: list[str] = []
    answers = [{"number": "+14155550199"}, {"number": "+14155550101"}]
    async with build(Owner, owner_vendor(log, answers)) as provider:
        assert await provider.owns("+14155550101")
    assert 2 == len(log)


@pytest.mark.anyio
async def test_without_a_per_number_answer_the_owned_list_is_walked() -> None:
    log: list[str] = []
    cls = type("Walker", (Owner,), {"lookups": False})
    async with build(cls, owner_vendor(log, [])) as provider:
        assert await provider.owns("+14155550100")
        assert not await provider.owns("+14155550102")
        with pytest.raises(ConfigurationError, match="not a phone number"):
            await provider.owns("nope")
    assert ["/owned", "/owned"] == log


# -- one page's per-type fan-out ------------------------------------------------------------------------


class FanOut(Capped):
    page_concurrency: ClassVar[int] = 2


def refusal(key: str) -> BadRequestError:
    return BadRequestError("capped", f"no {key} numbers", status_code=422)


@pytest.mark.anyio
async def test_fan_out_keeps_key_order_skips_refusals_and_stays_within_page_concurrency() -> None:
    in_flight = 0
    most = 0

    async def fetch(key: str) -> str:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await anyio.sleep(0.01 if key == "a" else 0)
        in_flight -= 1
        if key == "c":
            raise refusal(key)
        return key.upper()

    async with build(FanOut, lambda r: httpx.Response(200)) as provider:
        results, skipped = await provider._fan_out(
            ["a", "b", "c", "d"], fetch, skip=lambda exc: isinstance(exc, BadRequestError)
        )

    assert ["a", "b", "d"] == list(results) and ["A", "B", "D"] == list(results.values())
    assert ["c"] == list(skipped) and "no c numbers" in skipped["c"].detail
    assert 2 == most


@pytest.mark.anyio
async def test_fan_out_raises_a_failure_it_may_not_skip_and_when_every_key_failed() -> None:
    async def fatal(key: str) -> str:
        if key == "b":
            raise ProviderResponseError("capped", "unreadable")
        await anyio.sleep_forever()
        raise AssertionError("cancelled")

    async def refused(key: str) -> str:
        raise refusal(key)

    async with build(FanOut, lambda r: httpx.Response(200)) as provider:
        with pytest.raises(ProviderResponseError, match="unreadable"):
            await provider._fan_out(["a", "b"], fatal, skip=lambda exc: isinstance(exc, BadRequestError))
        with pytest.raises(BadRequestError, match="no a numbers"):
            await provider._fan_out(["a", "b"], refused, skip=lambda exc: isinstance(exc, BadRequestError))
        assert ({}, {}) == await provider._fan_out([], refused)
