"""The adapter kit's hooks for what vendors do differently: capped answers, form posts, their own wait
headers, per-number ownership and per-type fan-outs."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import anyio
import httpx
import pytest

from numbroker import AvailableNumber, ConfigurationError, RateLimitedError, SearchQuery
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
        data = self._json(await self._get(self._url("items")))
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
        response = await provider._post(provider._url("buy"), data={"PhoneNumber": "+14155550100", "A": "b c"})

    assert 201 == response.status_code
    assert "application/x-www-form-urlencoded" == seen[0].headers["content-type"]
    assert b"PhoneNumber=%2B14155550100&A=b+c" == seen[0].content
    assert "POST" == seen[0].method


@pytest.mark.anyio
async def test_post_takes_json_or_data_not_both() -> None:
    async with build(Capped, lambda r: httpx.Response(200)) as provider:
        with pytest.raises(ConfigurationError, match="json or data"):
            await provider._post(provider._url("buy"), json={"a": 1}, data={"a": "1"})


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
            await provider._get(provider._url("items"))
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
        tg.start_soon(functools.partial(provider._get, provider._url("items"), sent=sent))
        with anyio.fail_after(10):  # never set would hang the test, not fail it
            await sent.wait()
        order.append("caller went on")
        answer.set()

    assert ["transport saw it (sent=True)", "caller went on"] == order
