"""Junk pages over loopback: a page of millions of items no record can be made of costs a bounded list.

A vendor serving 10 MiB of ``1,1,1,…`` (or 6 MB of ``{},{},…``) is failed as junk after the first
thousand or so rejected records; at most :data:`~numbroker.adapters._normalizing.REJECTED_KEPT` rejected
records are kept, the rest counted and noted, and every other provider's offers still arrive, in search
and in buy-cheapest.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from numbroker import Money, ProviderStatus, RetryPolicy, Searcher, SearchQuery, buy_cheapest
from numbroker.adapters._json import MAX_JSON_OBJECTS
from numbroker.adapters._normalizing import JUNK_REJECTED, REJECTED_KEPT
from numbroker.adapters._stats import NOTES_KEPT, ProviderStats
from numbroker.buying import BuyTerms, PlanDecision
from numbroker.sandbox import create_sandboxes, loopback_providers
from numbroker.testing.hostile import Defects, serve_hostile

US = SearchQuery(country="US")
QUICK = RetryPolicy(attempts=1)
RATES = {"base": "USD", "rates": {"EUR": "0.92"}}
SERVED = ("vobiz", "bird", "identitycall", "plivo")


async def _search(defects: dict[str, Defects]) -> Any:
    sandboxes = create_sandboxes(SERVED, size=40)
    with serve_hostile(sandboxes, defects) as urls:
        async with Searcher(loopback_providers(sandboxes, urls, retry=QUICK), own_providers=True) as searcher:
            return await searcher.search(US)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("pid", "junk", "size"),
    [("vobiz", "ones", 10 * 1024 * 1024 - 4096), ("bird", "objects", 300_000), ("identitycall", "ones", 100_000)],
)
async def test_a_junk_page_fails_its_provider_with_bounded_records_and_the_others_still_arrive(
    pid: str, junk: Any, size: int
) -> None:
    """The junk provider fails naming the threshold; at most REJECTED_KEPT of its records are kept."""
    clean = await _search({})
    result = await _search({pid: Defects(junk=junk, junk_bytes=size)})

    report = next(r for r in result.providers if r.provider == pid)
    assert ProviderStatus.ERROR == report.status
    assert report.error is not None and "junk" in report.error
    assert JUNK_REJECTED < report.rejected < 2 * JUNK_REJECTED
    kept = [r for r in result.rejected if r.provider == pid]
    assert REJECTED_KEPT == len(kept)
    assert result.rejected_total == sum(r.rejected for r in result.providers)
    assert any(f"{report.rejected - REJECTED_KEPT} more rejected records" in note for note in report.notes)
    _assert_others_arrive(clean, result, pid)


@pytest.mark.anyio
async def test_a_page_of_millions_of_objects_fails_before_they_are_built() -> None:
    """6 MB of ``{}`` items: the body is refused past MAX_JSON_OBJECTS objects, with no record built."""
    clean = await _search({})
    result = await _search({"bird": Defects(junk="objects", junk_bytes=6_000_000)})

    report = next(r for r in result.providers if r.provider == "bird")
    assert ProviderStatus.ERROR == report.status
    assert report.error is not None and f"more than {MAX_JSON_OBJECTS} JSON objects" in report.error
    assert 0 == report.rejected
    _assert_others_arrive(clean, result, "bird")


def _assert_others_arrive(clean: Any, result: Any, pid: str) -> None:
    for other in set(SERVED) - {pid}:
        expected = {o.offer.offer_id for o in clean.offers if o.offer.provider == other}
        assert expected == {o.offer.offer_id for o in result.offers if o.offer.provider == other}
        assert expected


@pytest.mark.anyio
async def test_buy_cheapest_buys_from_the_others_when_one_vendor_sends_junk() -> None:
    """A junk page fails its provider in buy-cheapest's search; the others' offers are still planned."""
    sandboxes = create_sandboxes(SERVED, size=40)
    cap = Money(amount=Decimal(100), currency="USD")
    with serve_hostile(sandboxes, {"vobiz": Defects(junk="ones", junk_bytes=4 * 1024 * 1024)}) as urls:
        async with Searcher(loopback_providers(sandboxes, urls, retry=QUICK), own_providers=True) as searcher:
            terms = BuyTerms(max_monthly=cap, max_first_bill=cap)
            outcome = await buy_cheapest(searcher, US, terms, rates=RATES, dry_run=True)
    planned = [e for e in outcome.plan if e.decision is PlanDecision.WOULD_BUY]
    assert planned
    assert all(e.offer.provider != "vobiz" for e in outcome.plan)
    report = next(r for r in outcome.providers if r.provider == "vobiz")
    assert ProviderStatus.ERROR == report.status


def test_notes_are_bounded_and_counted() -> None:
    """Past NOTES_KEPT notes are counted, each note is cut, and the report says how many were not kept."""
    stats = ProviderStats()
    for index in range(NOTES_KEPT + 7):
        stats.note(f"note {index} " + "x" * 2000)
    assert NOTES_KEPT == len(stats.notes)
    assert all(len(note) <= 500 for note in stats.notes)
    assert "7 more notes were not kept" in stats.report_notes()[-1]
