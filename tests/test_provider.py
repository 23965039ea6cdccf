"""The provider base class: paging engines, normalization, retries, limits and hygiene."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

import anyio
import httpx
import pytest

from numbroker import (
    AuthenticationError,
    AvailableNumber,
    BadRequestError,
    ConfigurationError,
    MissingCredentialsError,
    Provider,
    ProviderConnectionError,
    ProviderResponseError,
    ProviderTimeoutError,
    RateLimitedError,
    RetryPolicy,
    SearchQuery,
)
from numbroker.adapters import ProviderRun, RawPage, check_base_url, make_offer, money_from_json_number, path_segment
from numbroker.adapters._paging import Cursor
from numbroker.testing import InFlight

SECRET = "canary-secret-3f9a"
FAST = RetryPolicy(attempts=3, initial=0.001, max_delay=0.01, jitter=0.0)
QUERY = SearchQuery(country="US")
_T = TypeVar("_T")


def numbers(count: int) -> list[dict[str, Any]]:
    """Valid US records with distinct ids (415-555-01xx style numbers are valid in the plan)."""
    return [
        {"id": f"id{i}", "e164": f"+1415{2000000 + i:07d}", "country": "US", "monthly": i % 7} for i in range(count)
    ]


class WireProvider(Provider):
    """A minimal adapter over a JSON wire: /items?page=N (numbered) or ?token=T (token)."""

    id: ClassVar[str] = "wire"
    display_name: ClassVar[str] = "Wire"
    default_base_url: ClassVar[str] = "https://wire.example"
    credentials: ClassVar[Mapping[str, str]] = {"api_key": "WIRE_API_KEY"}
    record_id_field = "id"
    wire_fields: ClassVar[Mapping[str, str]] = {"e164": "number"}

    def __init__(self, *, api_key: str | None = None, **options: Any) -> None:
        super().__init__(**options)
        self._creds = self._resolve_credentials({"api_key": api_key})

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Key {self._creds['api_key'].get_secret_value()}"}

    async def _fetch_page(self, query: SearchQuery, cursor: Cursor) -> RawPage:
        params = {"page": cursor} if self.paging == "numbered" else ({"token": cursor} if cursor else {})
        data = self.connection.json(await self.connection.get(self.connection.url("items"), params=params))
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            raise ProviderResponseError(self.id, "envelope without items")
        return RawPage(records=data["items"], next_token=data.get("next"), total=data.get("total"))

    def _normalize(self, record: Any, query: SearchQuery) -> AvailableNumber:
        return make_offer(
            provider=self.id,
            offer_id=record["id"],
            number=record["e164"],
            country=record["country"],
            monthly_price=money_from_json_number(record["monthly"], "USD", field="monthly"),
        )


class NumberedWire(WireProvider):
    paging = "numbered"
    per_page = 10
    max_pages = 20


class TokenWire(WireProvider):
    paging = "token"
    max_pages = 20


def build(
    cls: type[WireProvider], handler: Callable[[httpx.Request], httpx.Response | Any], **options: Any
) -> WireProvider:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    options.setdefault("retry", FAST)
    return cls(api_key=SECRET, http_client=client, **options)


def numbered_server(
    records: list[dict[str, Any]], *, per_page: int = 10, total: int | None = None, log: list[int] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        if log is not None:
            log.append(page)
        chunk = records[(page - 1) * per_page : page * per_page]
        stated = len(records) if total is None else total
        return httpx.Response(200, json={"items": chunk, "total": stated})

    return handler


async def collect(provider: Provider, query: SearchQuery = QUERY, **kwargs: Any) -> tuple[list[Any], ProviderRun]:
    run = ProviderRun()
    pages: list[Any] = []

    async def sink(page: Any) -> None:
        pages.append(page)

    async with provider:
        await provider.stream_pages(query, sink, run=run, **kwargs)
    return pages, run


def ids(pages: list[Any]) -> list[str]:
    return sorted(o.offer_id for p in pages for o in p.offers)


# -- numbered paging ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_numbered_fetches_every_page_once() -> None:
    """With a total, every page is fetched exactly once and every record arrives once."""
    log: list[int] = []
    records = numbers(95)
    pages, run = await collect(build(NumberedWire, numbered_server(records, log=log)))

    assert sorted(r["id"] for r in records) == ids(pages)
    assert list(range(1, 11)) == sorted(log)
    assert 10 == run.stats.pages


@pytest.mark.anyio
async def test_numbered_pages_after_first_run_concurrently() -> None:
    """Pages 2..N are in flight together once the first page gave the total."""
    in_flight = 0
    peak = 0
    records = numbers(150)

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await anyio.sleep(0.02)
        in_flight -= 1
        return numbered_server(records)(request)

    pages, _ = await collect(build(NumberedWire, handler))

    assert 150 == len(ids(pages))
    assert NumberedWire.page_concurrency == peak


@pytest.mark.anyio
async def test_numbered_total_lying_high_stops_on_empty_pages() -> None:
    """A total larger than the truth costs empty pages, not errors or duplicates."""
    records = numbers(25)
    pages, _ = await collect(build(NumberedWire, numbered_server(records, total=80)))

    assert 25 == len(ids(pages))


@pytest.mark.anyio
async def test_numbered_total_lying_low_still_delivers_everything() -> None:
    """A total smaller than the truth: the full last page makes numbroker walk on, losing nothing."""
    log: list[int] = []
    records = numbers(47)
    pages, run = await collect(build(NumberedWire, numbered_server(records, total=20, log=log)))

    assert sorted(r["id"] for r in records) == ids(pages)
    assert any("beyond the stated total" in note for note in run.stats.notes)


@pytest.mark.anyio
async def test_numbered_short_first_page_stops() -> None:
    """A short first page whose total agrees is the only page."""
    log: list[int] = []
    _, run = await collect(build(NumberedWire, numbered_server(numbers(3), log=log)))

    assert [1] == log
    assert not run.stats.truncated


@pytest.mark.anyio
async def test_numbered_short_first_page_with_a_larger_total_reads_on() -> None:
    """A vendor paging by 4 (per_page=10 ignored) while stating its total is read to the end, at its size."""
    records = numbers(30)
    log: list[int] = []
    pages, run = await collect(build(NumberedWire, numbered_server(records, per_page=4, log=log)))

    assert sorted(r["id"] for r in records) == ids(pages)
    assert list(range(1, 9)) == sorted(log)
    assert not run.stats.truncated
    assert any("asked for 10 records a page, got 4" in note for note in run.stats.notes)


@pytest.mark.anyio
async def test_numbered_total_that_lies_high_is_truncated() -> None:
    """A short first page, nothing after it, and a total of 500: one more request, reported truncated."""
    log: list[int] = []
    pages, run = await collect(build(NumberedWire, numbered_server(numbers(3), total=500, log=log)))

    assert [1, 2] == log
    assert 3 == len(ids(pages))
    assert run.stats.truncated
    assert any("page 2 was empty while the total 500" in note for note in run.stats.notes)


@pytest.mark.anyio
async def test_numbered_short_middle_page_is_truncated() -> None:
    """Full pages of 10, then a page of 4 before the last while the total says 30: records are missing."""

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        chunk = numbers(30)[(page - 1) * 10 : page * 10]
        return httpx.Response(200, json={"items": chunk[:4] if page == 2 else chunk, "total": 30})

    pages, run = await collect(build(NumberedWire, handler))

    assert 24 == len(ids(pages))
    assert run.stats.truncated
    assert any("page 2 had 4 of 10 records while the total 30" in note for note in run.stats.notes)


@pytest.mark.anyio
@pytest.mark.parametrize("total", [10**400, -1, 10**9 + 1, "1000", 1.5, True])
async def test_numbered_total_out_of_range_fails_the_provider(total: object) -> None:
    """A stated total that is not a whole number from 0 to 10^9 fails the provider, naming the field and the limit."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": numbers(10), "total": total})

    with pytest.raises(ProviderResponseError, match="total") as info:
        await collect(build(NumberedWire, handler))
    assert "10^9" in str(info.value) or "whole number" in str(info.value)
    assert len(str(info.value)) < 200


@pytest.mark.anyio
async def test_numbered_page_cap_is_reported() -> None:
    """A total beyond the page cap stops at the cap and marks the run truncated."""
    log: list[int] = []
    records = numbers(10 * 25)
    _, run = await collect(build(NumberedWire, numbered_server(records, log=log)))

    assert NumberedWire.max_pages == len(log)
    assert run.stats.truncated


@pytest.mark.anyio
async def test_numbered_without_total_walks_sequentially() -> None:
    """A vendor that gives no total is walked one page at a time until a short page."""
    records = numbers(35)

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        return httpx.Response(200, json={"items": records[(page - 1) * 10 : page * 10]})

    pages, _ = await collect(build(NumberedWire, handler))

    assert 35 == len(ids(pages))


@pytest.mark.anyio
async def test_duplicates_across_shifting_pages_are_delivered_once() -> None:
    """An offer served twice (inventory shifted between pages) is delivered once and counted."""
    records = numbers(20)

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        chunk = {1: records[0:10], 2: records[9:19]}.get(page, [])
        return httpx.Response(200, json={"items": chunk, "total": 20})

    pages, run = await collect(build(NumberedWire, handler))

    assert 19 == len(ids(pages))
    assert 1 == run.stats.duplicates


@pytest.mark.anyio
async def test_server_repeating_a_page_forever_stops() -> None:
    """Beyond the stated total, a page of nothing but repeats ends the walk instead of looping to the cap."""
    log: list[int] = []
    records = numbers(10)

    def handler(request: httpx.Request) -> httpx.Response:
        log.append(int(request.url.params["page"]))
        return httpx.Response(200, json={"items": records, "total": 10})

    pages, run = await collect(build(NumberedWire, handler))

    assert 10 == len(ids(pages))
    assert [1, 2] == log
    assert any("only repeated" in note for note in run.stats.notes)


@pytest.mark.anyio
async def test_max_offers_stops_early() -> None:
    """max_offers stops fetching once enough matching offers were delivered: no page is asked for in vain."""
    log: list[int] = []
    pages, _ = await collect(build(NumberedWire, numbered_server(numbers(200), log=log)), max_offers=15)

    assert 15 == len(ids(pages))
    assert [1, 2] == log  # 10 offers a page: page 2 alone can fill the 5 still wanted


@pytest.mark.anyio
async def test_max_offers_keeps_as_many_pages_in_flight_as_could_be_needed() -> None:
    """Pages that could all be needed are fetched concurrently (up to page_concurrency), and no more."""
    log: list[int] = []
    pages, _ = await collect(build(NumberedWire, numbered_server(numbers(200), log=log)), max_offers=45)

    assert 45 == len(ids(pages))
    assert [1, 2, 3, 4, 5] == sorted(log)  # 35 still wanted after page 1: four more pages of 10


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # trio runs new tasks in no set order: within a slice
async def test_without_max_offers_other_pages_are_requested_before_page_one_is_normalized() -> None:
    """The wave leaves first; page 1's normalization overlaps it."""
    log: list[int] = []
    provider = build(NumberedWire, numbered_server(numbers(50), log=log))
    normalized_when: list[int] = []
    original = provider.normalize_record

    def spy(record: Any, query: SearchQuery) -> Any:
        normalized_when.append(len(log))
        return original(record, query)

    provider.normalize_record = spy  # type: ignore[method-assign]
    pages, _ = await collect(provider)

    assert 50 == len(ids(pages))
    assert 5 == normalized_when[0]  # every page had been requested before the first record was normalized


# -- token paging ------------------------------------------------------------------------------


def token_server(
    records: list[dict[str, Any]], *, per_page: int = 10, repeat_at: int | None = None, last_token: str | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params.get("token", "0").removeprefix("t"))
        end = start + per_page
        body: dict[str, Any] = {"items": records[start:end]}
        if end < len(records):
            body["next"] = "t0" if repeat_at is not None and end >= repeat_at else f"t{end}"
        elif last_token is not None:
            body["next"] = last_token
        return httpx.Response(200, json=body)

    return handler


@pytest.mark.anyio
@pytest.mark.parametrize("last_token", [None, ""])
async def test_token_chain_ends_on_missing_or_empty_token(last_token: str | None) -> None:
    """The chain ends when nextPageToken is missing or an empty string."""
    pages, run = await collect(build(TokenWire, token_server(numbers(43), last_token=last_token)))

    assert 43 == len(ids(pages))
    assert 5 == run.stats.pages


@pytest.mark.anyio
async def test_repeated_token_is_an_error_not_a_loop() -> None:
    """A token seen twice raises after delivering the pages before it."""
    delivered: list[Any] = []
    provider = build(TokenWire, token_server(numbers(60), repeat_at=30))

    async def sink(page: Any) -> None:
        delivered.append(page)

    with pytest.raises(ProviderResponseError, match="repeated"):
        async with provider:
            await provider.stream_pages(QUERY, sink)

    # pages 1-3 arrive; page 4 (served for the new token t0) repeats records and then the token t10
    assert 30 == len(ids(delivered))


@pytest.mark.anyio
async def test_token_next_page_is_prefetched_while_normalizing() -> None:
    """The next page's request starts before the current page is handed over."""
    events: list[str] = []
    server = token_server(numbers(30))

    def handler(request: httpx.Request) -> httpx.Response:
        events.append(f"fetch {request.url.params.get('token', 'first')}")
        return server(request)

    provider = build(TokenWire, handler)

    async def sink(page: Any) -> None:
        events.append(f"deliver {page.page}")
        await anyio.sleep(0.01)

    async with provider:
        await provider.stream_pages(QUERY, sink)

    assert events.index("fetch t10") < events.index("deliver 1")


async def requests_while_the_consumer_stalls(provider: Provider, log: list[_T]) -> list[_T]:
    """Stream every page into a consumer that stalls on the first: the requests made by then, then finish."""
    release = anyio.Event()

    async def sink(page: Any) -> None:
        await release.wait()

    async with provider, anyio.create_task_group() as tg:
        tg.start_soon(provider.stream_pages, QUERY, sink)
        await anyio.wait_all_tasks_blocked()
        stalled = list(log)
        release.set()
    return stalled


@pytest.mark.anyio
async def test_token_chain_runs_at_most_two_pages_ahead_of_a_slow_consumer() -> None:
    """Fetched pages wait in a bounded buffer: a consumer that stalls holds the chain, memory stays bounded."""
    fetched: list[str] = []
    server = token_server(numbers(60))

    def handler(request: httpx.Request) -> httpx.Response:
        fetched.append(request.url.params.get("token", "first"))
        return server(request)

    stalled = await requests_while_the_consumer_stalls(build(TokenWire, handler), fetched)

    assert ["first", "t10", "t20"] == stalled  # page 1 with the consumer, page 2 buffered, page 3 waiting
    assert 6 == len(fetched)  # and the rest once it moves on


@pytest.mark.anyio
async def test_a_failing_page_does_not_cancel_page_one_already_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    """Page 1 is normalized while the others are fetched: a later page's failure still lets it arrive."""
    monkeypatch.setattr(
        "numbroker.adapters._normalizing.NORMALIZE_SLICE_SECONDS", 0.0
    )  # page 1 yields after every record
    server = numbered_server(numbers(50))

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params["page"] == "3":
            return httpx.Response(400, json={"error": "bad page"})
        return server(request)

    delivered: list[Any] = []

    async def sink(page: Any) -> None:
        delivered.append(page)

    provider = build(NumberedWire, handler)
    with pytest.raises(BadRequestError):
        async with provider:
            await provider.stream_pages(QUERY, sink)

    assert 1 in [page.page for page in delivered]


class NarrowNumberedWire(NumberedWire):
    page_concurrency = 2


@pytest.mark.anyio
async def test_numbered_pages_run_at_most_two_windows_ahead_of_a_slow_consumer() -> None:
    """Fetched pages never pile up behind a stalled consumer: at most 2 × page_concurrency wait undelivered."""
    log: list[int] = []
    stalled = await requests_while_the_consumer_stalls(
        build(NarrowNumberedWire, numbered_server(numbers(200), log=log)), log
    )

    assert [1, 2, 3, 4, 5] == sorted(stalled)  # page 1 with the consumer; pages 2-5 fetched, waiting for it
    assert list(range(1, 21)) == sorted(log)


@pytest.mark.anyio
async def test_pages_are_normalized_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Concurrent pages never interleave their normalization, even when it yields after every record."""
    monkeypatch.setattr("numbroker.adapters._normalizing.NORMALIZE_SLICE_SECONDS", 0.0)
    provider = build(NumberedWire, numbered_server(numbers(50)))
    order: list[str] = []
    original = provider.normalize_record

    def spy(record: Any, query: SearchQuery) -> Any:
        order.append(record["id"])
        return original(record, query)

    provider.normalize_record = spy  # type: ignore[method-assign]
    pages, _ = await collect(provider)

    assert 50 == len(ids(pages))
    by_page = [[offer.offer_id for offer in page.offers] for page in pages]
    assert order == [offer_id for page in by_page for offer_id in page]


# -- normalization -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_bad_records_are_rejected_with_field_and_reason_good_ones_arrive() -> None:
    """One bad record never breaks the page: each is reported with provider, field, value and reason."""
    records: list[Any] = [
        *numbers(2),
        {"id": "bad-number", "e164": "+15551234567", "country": "US", "monthly": 1},
        {"id": "bad-price", "e164": "+14152000009", "country": "US", "monthly": -1},
        {"id": "bad-country", "e164": "+14165550123", "country": "US", "monthly": 1},
        {"id": "no-number", "country": "US", "monthly": 1},
        "not an object",
    ]
    pages, run = await collect(build(NumberedWire, numbered_server(records)))
    rejected = {r.offer_id: r for p in pages for r in p.rejected}

    assert ["id0", "id1"] == ids(pages)
    assert 5 == run.stats.rejected
    assert "number" == rejected["bad-number"].field
    assert "not a valid US number" in rejected["bad-number"].reason
    assert "monthly" == rejected["bad-price"].field
    assert "negative" in rejected["bad-price"].reason
    assert "belongs to CA" in rejected["bad-country"].reason
    assert "unexpected record shape" in rejected["no-number"].reason
    assert all(r.provider == "wire" for r in rejected.values())


@pytest.mark.anyio
async def test_query_filters_are_applied_and_counted() -> None:
    """Offers failing the number filters are excluded and counted by reason."""
    query = SearchQuery(country="US", prefix="415200000")
    pages, run = await collect(build(NumberedWire, numbered_server(numbers(15))), query)

    assert 10 == len(ids(pages))
    assert 5 == run.stats.excluded["prefix"]


# -- errors and retries ------------------------------------------------------------------------


@pytest.mark.anyio
async def test_retry_after_is_honoured_then_succeeds() -> None:
    """A 429 with Retry-After is retried after waiting, and the retry is counted."""
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(anyio.current_time())
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "0.05"}, json={"error": "slow"})
        return numbered_server(numbers(3))(request)

    # "0.05" is not an integer: servers send whole seconds, so this also checks a bad header falls back to backoff.
    pages, run = await collect(build(NumberedWire, handler))

    assert 3 == len(ids(pages))
    assert 1 == run.stats.retries
    assert 2 == len(calls)


@pytest.mark.anyio
@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_is_retried(status: int) -> None:
    """5xx on a GET is retried."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(status) if calls < 3 else numbered_server(numbers(2))(request)

    pages, run = await collect(build(NumberedWire, handler))

    assert 2 == len(ids(pages))
    assert 2 == run.stats.retries


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "cls"), [(400, BadRequestError), (401, AuthenticationError), (422, BadRequestError)]
)
async def test_client_errors_are_never_retried(status: int, cls: type[Exception]) -> None:
    """400/401/422 are answered once: retrying cannot help."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(status, json={"error": "no"})

    with pytest.raises(cls):
        await collect(build(NumberedWire, handler))

    assert 1 == calls


@pytest.mark.anyio
async def test_retries_are_bounded_by_attempts() -> None:
    """A provider that keeps failing is tried `attempts` times, then the error surfaces."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503)

    with pytest.raises(Exception, match="503"):
        await collect(build(NumberedWire, handler))

    assert FAST.attempts == calls


@pytest.mark.anyio
async def test_retry_never_sleeps_past_the_deadline() -> None:
    """A Retry-After longer than the time left gives up at once instead of sleeping into the deadline."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "30"})

    provider = build(NumberedWire, handler, retry=RetryPolicy(attempts=5))
    started = anyio.current_time()
    with pytest.raises(RateLimitedError), anyio.fail_after(5):
        await collect(provider)

    assert anyio.current_time() - started < 1


@pytest.mark.anyio
async def test_transport_errors_map_into_the_tree() -> None:
    """Timeouts and connection failures become ProviderTimeoutError and ProviderConnectionError."""

    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ProviderTimeoutError):
        await collect(build(NumberedWire, timeout))
    with pytest.raises(ProviderConnectionError):
        await collect(build(NumberedWire, refused))


@pytest.mark.anyio
@pytest.mark.parametrize("body", [b"<html>oops</html>", b'{"items": 3}', b'{"items": [', b"[]"])
async def test_garbage_bodies_are_response_errors(body: bytes) -> None:
    """Unparseable or wrongly shaped bodies raise ProviderResponseError, not a raw exception."""
    with pytest.raises(ProviderResponseError):
        await collect(build(NumberedWire, lambda r: httpx.Response(200, content=body)))


@pytest.mark.anyio
async def test_oversized_body_is_cut_off() -> None:
    """A body over the limit is cut off with a clear error."""
    big = json.dumps({"items": numbers(10), "pad": "x" * 5000}).encode()

    with pytest.raises(ProviderResponseError, match="limit"):
        await collect(build(NumberedWire, lambda r: httpx.Response(200, content=big), max_response_bytes=1000))


@pytest.mark.anyio
async def test_redirects_are_not_followed() -> None:
    """A 3xx is an error: credentials are never sent to another location."""
    hits: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hits.append(str(request.url))
        return httpx.Response(302, headers={"Location": "https://evil.example/steal"})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=True)
    provider = NumberedWire(api_key=SECRET, http_client=client, retry=FAST)
    with pytest.raises(BadRequestError, match="redirect not followed"):
        await collect(provider)

    assert all("evil" not in h for h in hits)


# -- configuration and hygiene -----------------------------------------------------------------


def test_credentials_from_env_and_missing_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing credential names the keyword and the env var; the env var is read when set."""
    with pytest.raises(MissingCredentialsError, match="api_key= \\(or env WIRE_API_KEY\\)"):
        NumberedWire()

    monkeypatch.setenv("WIRE_API_KEY", SECRET)
    provider = NumberedWire()

    assert SECRET not in repr(provider)
    assert NumberedWire.is_configured()


def test_base_url_override_by_argument_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The argument wins over <ID>_BASE_URL, which wins over the default."""
    assert "https://wire.example" == NumberedWire(api_key="canary-key").base_url
    monkeypatch.setenv("WIRE_BASE_URL", "http://127.0.0.1:9000/")
    assert "http://127.0.0.1:9000" == NumberedWire(api_key="canary-key").base_url
    assert (
        "https://other.example/v2" == NumberedWire(api_key="canary-key", base_url="https://other.example/v2").base_url
    )


@pytest.mark.parametrize(
    "url",
    ["http://api.example.com", "ftp://x", "api.example.com", "http://10.0.0.1", "https://u:p@x.example", "https://"],
)
def test_plain_http_is_refused_except_loopback(url: str) -> None:
    """http:// is only allowed to loopback; other schemes and user info are refused."""
    with pytest.raises(ConfigurationError):
        check_base_url(url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost", "http://[::1]:1", "http://127.1.2.3"])
def test_loopback_http_is_allowed(url: str) -> None:
    """The sandbox and tests use http:// on loopback."""
    assert url == check_base_url(url)


@pytest.mark.parametrize("value", ["../admin", "a/b", "", "..", "a b", "x?y", "%2e%2e"])
def test_path_ids_cannot_escape(value: str) -> None:
    """Ids that go into URL paths cannot reach another endpoint."""
    with pytest.raises(ConfigurationError):
        path_segment(value, "VOBIZ_AUTH_ID")


@pytest.mark.anyio
async def test_injected_client_left_open_own_client_closed() -> None:
    """An injected client is the caller's to close; a client the provider created is closed by it."""
    client = httpx.AsyncClient(transport=httpx.MockTransport(numbered_server(numbers(1))))
    async with NumberedWire(api_key="canary-key", http_client=client) as provider:
        await provider.search(QUERY)
    assert not client.is_closed

    own = NumberedWire(api_key="canary-key")
    created = own.client
    await own.aclose()
    assert created.is_closed
    await client.aclose()


@pytest.mark.anyio
async def test_secret_never_in_logs_errors_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    """Credentials are redacted from debug logs, error bodies that echo them, and reprs."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert SECRET in request.headers["Authorization"]
        return httpx.Response(401, json={"error": f"bad key {SECRET}"})

    caplog.set_level(logging.DEBUG, logger="numbroker")
    provider = build(NumberedWire, handler)
    with pytest.raises(AuthenticationError) as info:
        await collect(provider)

    assert SECRET not in str(info.value)
    assert SECRET not in info.value.body
    assert SECRET not in repr(info.value)
    assert SECRET not in repr(provider)
    assert caplog.records
    assert all(SECRET not in r.getMessage() for r in caplog.records)


@pytest.mark.anyio
async def test_rate_limit_spaces_requests_beyond_the_burst() -> None:
    """A provider's documented rate is enforced: after the burst, requests wait for tokens."""
    from numbroker.adapters import RateLimit

    class Limited(NumberedWire):
        rate_limit = RateLimit(requests=4, per=0.2)  # 20/s, bursting to 4

    sent: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(anyio.current_time())
        return numbered_server(numbers(100))(request)

    await collect(build(Limited, handler))

    # 10 full pages, plus one more because a full last page may mean the total lies low.
    assert 11 == len(sent)
    # 11 requests at 20/s with a burst of 4: the last 7 need at least 7/20 s after the first.
    assert sent[-1] - sent[0] >= 0.3


@pytest.mark.anyio
async def test_global_concurrency_limit_caps_requests_in_flight() -> None:
    """The searcher's max_concurrency bounds requests in flight across all providers."""
    from numbroker import Searcher

    probe = InFlight(numbered_server(numbers(80)))

    class Other(NumberedWire):
        id = "other"

    providers = [build(NumberedWire, probe), build(Other, probe)]
    async with Searcher(providers, max_concurrency=3) as searcher:
        result = await searcher.search(QUERY)

    assert 160 == len(result.offers)
    assert 3 == probe.peak


@pytest.mark.anyio
@pytest.mark.parametrize("encoding", ["gzip", "deflate", "identity"])
async def test_compressed_bodies_are_decoded_within_the_limit(encoding: str) -> None:
    """gzip and deflate bodies decode to the same records; the limit applies to the decoded size."""
    import gzip
    import zlib

    body = json.dumps({"items": numbers(5), "total": 5}).encode()
    wire = {"gzip": gzip.compress, "deflate": zlib.compress, "identity": lambda b: b}[encoding](body)
    headers = {} if encoding == "identity" else {"Content-Encoding": encoding}

    class Streamed(httpx.AsyncByteStream):
        """The body in 7-byte network chunks (a class iterator: nothing is left unclosed when cut off)."""

        def __init__(self) -> None:
            self.chunks = [wire[i : i + 7] for i in range(0, len(wire), 7)]

        def __aiter__(self) -> Streamed:
            return self

        async def __anext__(self) -> bytes:
            if not self.chunks:
                raise StopAsyncIteration
            chunk: bytes = self.chunks.pop(0)
            return chunk

    def handler(request: httpx.Request) -> httpx.Response:
        assert "gzip" in request.headers["Accept-Encoding"]
        return httpx.Response(200, headers=headers, stream=Streamed())

    pages, _ = await collect(build(NumberedWire, handler))
    assert 5 == len(ids(pages))
    with pytest.raises(ProviderResponseError, match="limit"):
        await collect(build(NumberedWire, handler, max_response_bytes=len(body) - 1))
