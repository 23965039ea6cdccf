"""Each search records on its own run: statistics are never shared between searches."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, ClassVar

import anyio
import httpx
import pytest

from numbroker import AvailableNumber, Provider, RetryPolicy, SearchQuery
from numbroker.adapters import Cursor, ProviderRun, RawPage, make_offer
from numbroker.adapters._stats import current_run, running

QUERY = SearchQuery(country="US")


class Counting(Provider):
    """Three numbered pages of two records, then an empty one; each fetch is counted here and noted on the run."""

    id: ClassVar[str] = "counting"
    display_name: ClassVar[str] = "Counting"
    default_base_url: ClassVar[str] = "https://counting.example"
    credentials: ClassVar[Mapping[str, str]] = {}
    paging = "numbered"
    per_page = 2

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.fetched = 0

    def _auth_headers(self) -> dict[str, str]:
        return {}

    async def _fetch_page(self, query: SearchQuery, cursor: Cursor) -> RawPage:
        self.fetched += 1
        self._note(f"page {cursor}")
        data = self.connection.json(await self.connection.get(self.connection.url("items"), params={"page": cursor}))
        return RawPage(records=data["items"], total=data["total"])

    def _normalize(self, record: Any, query: SearchQuery) -> AvailableNumber:
        return make_offer(provider=self.id, offer_id=record, number=f"+1415{record}", country="US")


def server() -> httpx.MockTransport:
    failed = False

    async def handle(request: httpx.Request) -> httpx.Response:
        nonlocal failed
        await anyio.sleep(0.001)  # both searches are in flight at once
        if not failed:
            failed = True
            return httpx.Response(429, headers={"Retry-After": "0"})
        page = int(request.url.params["page"])
        items = [f"{2000000 + 2 * (page - 1) + i:07d}" for i in range(2)] if page <= 3 else []
        return httpx.Response(200, json={"items": items, "total": 6})

    return httpx.MockTransport(handle)


@pytest.mark.anyio
async def test_two_searches_on_one_provider_count_only_their_own_requests_retries_and_notes() -> None:
    provider = Counting(transport=server(), retry=RetryPolicy(attempts=3, initial=0.0, jitter=0.0))
    runs = [ProviderRun(), ProviderRun()]
    offers: list[list[str]] = [[], []]

    async def search(index: int) -> None:
        async def sink(page: Any) -> None:
            offers[index].extend(o.offer_id for o in page.offers)

        await provider.stream_pages(QUERY, sink, run=runs[index])

    async with provider, anyio.create_task_group() as tg:
        tg.start_soon(search, 0)
        tg.start_soon(search, 1)

    assert [3, 3] == [run.stats.pages for run in runs]
    assert [0, 1] == sorted(run.stats.retries for run in runs)
    assert [4, 5] == sorted(run.stats.requests for run in runs)
    assert [["page 1", "page 2", "page 3", "page 4"]] * 2 == [sorted(run.stats.notes) for run in runs]
    assert offers[0] and sorted(offers[0]) == sorted(offers[1])


@pytest.mark.anyio
async def test_what_a_hook_sets_during_a_search_is_the_providers_own() -> None:
    provider = Counting(transport=server(), retry=RetryPolicy(attempts=3, initial=0.0, jitter=0.0))

    async with provider:
        result = await provider.search(QUERY)

    assert 4 == provider.fetched
    assert 6 == len(result.offers)


def test_outside_a_search_no_run_records_anything() -> None:
    """current_run is the run set for the calling code, and only while it is set."""
    run = ProviderRun()

    assert current_run() is None
    with running(run):
        assert run is current_run()
        with running(inner := ProviderRun()):
            assert inner is current_run()
        assert run is current_run()
    assert current_run() is None


@pytest.mark.anyio
async def test_tasks_a_hook_starts_record_on_its_search_and_a_later_request_on_none() -> None:
    """Requests made in tasks the hook starts count on the search; a request after the search counts nowhere."""
    provider = Counting(transport=server(), retry=RetryPolicy(attempts=3, initial=0.0, jitter=0.0))
    run = ProviderRun()
    url = provider.connection.url("items")

    async def concurrently() -> None:
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(functools.partial(provider.connection.get, url, params={"page": 9}))

    async with provider:
        with running(run):
            await concurrently()
        await provider.connection.get(url, params={"page": 9})

    assert 4 == run.stats.requests  # three, and the one 429 retried once
    assert 1 == run.stats.retries
