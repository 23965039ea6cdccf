"""Normalization: every record an offer or a rejection naming field and reason; repeats and exclusions counted."""

from __future__ import annotations

import decimal
from typing import Any

import httpx
import pytest

from numbroker import (
    OverallStatus,
    Searcher,
    SearchQuery,
)
from numbroker.testing import offer

from .vendors import (
    US,
    NumberedWire,
    Raising,
    build,
    collect,
    good,
    ids,
    numbered_server,
    numbers,
)


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


@pytest.mark.anyio
@pytest.mark.parametrize("error", [decimal.Overflow(), RuntimeError("boom"), LookupError("x")])
async def test_an_unexpected_error_on_a_record_rejects_that_record_alone(error: Exception) -> None:
    records: list[Any] = [{"offer_id": "bad"}, offer("+14155550100", provider="odd")]
    async with Searcher([Raising(records, provider_id="odd", on_record=error), good("fine")]) as searcher:
        result = await searcher.search(US)

    assert OverallStatus.COMPLETE == result.status
    assert 4 == len(result.offers)
    assert ["bad"] == [r.offer_id for r in result.rejected]
