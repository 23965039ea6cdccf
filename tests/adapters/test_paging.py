"""Paging engines: numbered pages (totals, page windows, caps), token chains and per-type fan-outs."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import anyio
import httpx
import pytest

from numbroker import BadRequestError, ProviderResponseError, SearchQuery
from numbroker.adapters import Provider

from .vendors import (
    QUERY,
    Capped,
    NumberedWire,
    TokenWire,
    build,
    build_capped,
    collect,
    ids,
    numbered_server,
    numbers,
    token_server,
)


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
async def test_a_walk_stopped_at_max_offers_asks_for_no_page_after_it() -> None:
    """The delivery that reaches max_offers wakes the launcher as it stops the walk: no page is asked after it.

    Whether the launcher is waiting at that moment depends on where the slices fell, so the walk is run
    twenty times (before the launcher checked for the stop, 96 walks in 100 asked for page 6 on asyncio
    and 33 in 100 on trio).
    """
    for _ in range(20):
        log: list[int] = []
        pages, _ = await collect(build(NumberedWire, numbered_server(numbers(200), log=log)), max_offers=45)

        assert 45 == len(ids(pages))
        assert [1, 2, 3, 4, 5] == sorted(log)


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


_T = TypeVar("_T")


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

    async with build_capped(FanOut, lambda r: httpx.Response(200)) as provider:
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

    async with build_capped(FanOut, lambda r: httpx.Response(200)) as provider:
        with pytest.raises(ProviderResponseError, match="unreadable"):
            await provider._fan_out(["a", "b"], fatal, skip=lambda exc: isinstance(exc, BadRequestError))
        with pytest.raises(BadRequestError, match="no a numbers"):
            await provider._fan_out(["a", "b"], refused, skip=lambda exc: isinstance(exc, BadRequestError))
        assert ({}, {}) == await provider._fan_out([], refused)
