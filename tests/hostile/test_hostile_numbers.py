"""Hostile numbers over real loopback HTTP: each defect is contained to its record or its provider.

Every test serves five sandboxes on loopback, one of them behind a hostile vendor
(:class:`~numbroker.testing.hostile.HostileVendor`) with one defect, and compares with the same sandboxes
served clean: the defective record is rejected naming its field and the limit (or the provider fails, or is
reported truncated with a note), and every other offer, of that provider and of the others, still arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import pytest

from numbroker import BuyResult, Money, OverallStatus, ProviderStatus, RetryPolicy, Searcher, SearchQuery, SearchResult
from numbroker.buying import PlanDecision
from numbroker.sandbox import Sandbox, create_sandboxes, loopback_providers
from numbroker.testing.hostile import HUGE_TOTAL, Defects, Pairs, Raw, find_records, serve_hostile
from numbroker.testing.purchase import buy_cheapest_from

US = SearchQuery(country="US")
QUICK = RetryPolicy(attempts=2, initial=0.01, max_delay=0.02, jitter=0.0)
RATES = {"base": "USD", "rates": {"EUR": "0.92"}}
CAP = Money(amount=Decimal(100), currency="USD")
SIZES = {"vobiz": 600}
"""Vobiz's inventory is made large enough for several pages of 100 US numbers."""


SERVED = ("vobiz", "bird", "identitycall", "vonage", "plivo")
"""The vendors these tests make hostile, and whose complete answers they compare (no vendor here truncates)."""


def boxes() -> dict[str, Sandbox]:
    return create_sandboxes(SERVED, size=SIZES)


async def search(
    sandboxes: Mapping[str, Sandbox], hostile: Mapping[str, Defects] | None = None, **options: Any
) -> SearchResult:
    with serve_hostile(sandboxes, hostile or {}) as urls:
        async with Searcher(loopback_providers(sandboxes, urls, retry=QUICK), own_providers=True) as searcher:
            return await searcher.search(US, **options)


async def plan(sandboxes: Mapping[str, Sandbox], hostile: Mapping[str, Defects] | None = None) -> BuyResult:
    """buy-cheapest's plan (a dry run converting with rates) over the sandboxes, those in ``hostile`` spoiled."""
    with serve_hostile(sandboxes, hostile or {}) as urls:
        providers = loopback_providers(sandboxes, urls, retry=QUICK)
        return await buy_cheapest_from(providers, US, rates=RATES, dry_run=True, max_monthly=CAP, max_first_bill=CAP)


def offers_of(result: SearchResult, provider: str | None = None) -> set[tuple[str, str]]:
    return {
        (r.offer.provider, r.offer.offer_id) for r in result.offers if provider is None or r.offer.provider == provider
    }


def report(result: SearchResult, provider: str) -> Any:
    return next(r for r in result.providers if r.provider == provider)


def plant(change: Callable[[dict[str, Any]], Any]) -> Defects:
    """A defect that changes one record, once: the first of a first page that ``change`` accepts.

    ``change(record)`` returns the new record, or None to leave that record alone and try the next.
    """
    done: list[bool] = []

    def defect(body: Any, query: Mapping[str, str]) -> Any:
        if done or query.get("page", "1") != "1" or "pageToken" in query:
            return None
        records = find_records(body) or []
        for index, record in enumerate(records):
            changed = change(dict(record))
            if changed is not None:
                records[index] = changed
                done.append(True)
                break
        return None

    return Defects(rewrite=defect)


def set_field(key: str, value: Any) -> Any:
    def change(record: dict[str, Any]) -> dict[str, Any]:
        record[key] = value
        return record

    return change


async def assert_contained(
    provider: str,
    defect: Defects,
    *,
    field: str,
    reason: str,
    **options: Any,
) -> SearchResult:
    """One record of ``provider`` rejected naming ``field`` and ``reason``; every other offer still arrives."""
    sandboxes = boxes()
    clean = await search(sandboxes, **options)
    result = await search(sandboxes, {provider: defect}, **options)

    assert OverallStatus.COMPLETE == result.status
    rejected = [
        r for r in result.rejected if r.provider == provider and r.reason not in {x.reason for x in clean.rejected}
    ]
    assert 1 == len(rejected), [r.model_dump() for r in result.rejected if r.provider == provider]
    assert field == rejected[0].field
    assert reason in rejected[0].reason
    assert len(rejected[0].reason) < 200
    for other in set(sandboxes) - {provider}:
        assert offers_of(clean, other) == offers_of(result, other)
    lost = offers_of(clean, provider) - offers_of(result, provider)
    assert len(lost) <= 1
    assert len(result.model_dump_json()) < 2 * len(clean.model_dump_json())
    return result


TOTAL_AND_CURRENCY = {"sort": "total", "currency": "USD", "rates": RATES}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1e999999", "written exponent within ±100"),
        ("1e-999999999", "written exponent within ±100"),
        ("1e50", "price out of range: at most 12 digits before the decimal point"),
        ("1e-50", "price too precise"),
        ("1000000000000", "price out of range"),
        ("0.30000000000000004", "price too precise"),
        ("1." + "0" * 120, "at most 100 characters"),
    ],
)
async def test_vobiz_price_out_of_bounds_is_one_rejected_record(text: str, reason: str) -> None:
    """A price beyond the bounds, sorted by total and converted: one rejection, nothing else lost."""
    await assert_contained(
        "vobiz",
        plant(set_field("monthly_fee", Raw(text))),
        field="monthly_fee",
        reason=reason,
        **TOTAL_AND_CURRENCY,
    )


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("key", "value", "field", "reason"),
    [
        ("exponent", 10**9, "monthlyPrice.exponent", "exponent out of range: at most ±30"),
        ("exponent", -(10**9), "monthlyPrice.exponent", "exponent out of range: at most ±30"),
        ("exponent", Raw("1e999999"), "monthlyPrice.exponent", "written exponent within ±100"),
        ("amount", 10**40, "monthlyPrice.amount", "amount out of range: at most 30 digits"),
        ("amount", 10**20, "monthlyPrice.amount", "price out of range"),
    ],
)
async def test_bird_scaled_price_out_of_bounds_names_the_field_and_limit(
    key: str, value: Any, field: str, reason: str
) -> None:
    """Bird's amount × 10^exponent: an exponent of 10^9 is refused by name and limit, not as an Overflow."""

    def change(record: dict[str, Any]) -> dict[str, Any]:
        record["monthlyPrice"] = {**record["monthlyPrice"], key: value}
        return record

    await assert_contained("bird", plant(change), field=field, reason=reason, **TOTAL_AND_CURRENCY)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("value", "reason"),
    [("1e999999", "not a decimal string"), ("1" * 80, "decimal string too long"), ("١.٥٠", "not a decimal string")],
)
async def test_identitycall_price_text_out_of_bounds(value: str, reason: str) -> None:
    """IdentityCall's decimal strings: exponents, over-long text and non-ASCII digits are refused."""

    def change(record: dict[str, Any]) -> dict[str, Any] | None:
        if not isinstance(record.get("cost_information"), dict):
            return None
        record["cost_information"] = {**record["cost_information"], "monthly_cost": value}
        return record

    await assert_contained(
        "identitycall",
        plant(change),
        field="cost_information.monthly_cost",
        reason=reason,
        **TOTAL_AND_CURRENCY,
    )


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("provider", "change", "field"),
    [
        ("vobiz", lambda r: Pairs.repeating(r, "monthly_fee", Decimal("0.01")), "monthly_fee"),
        (
            "bird",
            lambda r: {**r, "monthlyPrice": Pairs.repeating(r["monthlyPrice"], "amount", 1)},
            "monthlyPrice.amount",
        ),
        (
            "identitycall",
            lambda r: (
                {**r, "cost_information": Pairs.repeating(r["cost_information"], "monthly_cost", "0.01")}
                if isinstance(r.get("cost_information"), dict)
                else None
            ),
            "cost_information.monthly_cost",
        ),
    ],
)
async def test_a_repeated_key_rejects_the_record_as_ambiguous(provider: str, change: Any, field: str) -> None:
    """``{"monthly_fee": 0.01, "monthly_fee": 2.35}``: which one the vendor meant is unknown; the record is rejected."""
    await assert_contained(
        provider,
        plant(change),
        field=field,
        reason="ambiguous",
    )


async def assert_provider_fails(provider: str, defect: Defects, message: str, **options: Any) -> SearchResult:
    """``provider`` fails with ``message``; every other provider's offers still arrive, unchanged."""
    sandboxes = boxes()
    clean = await search(sandboxes, **options)
    result = await search(sandboxes, {provider: defect}, **options)

    failed = report(result, provider)
    assert ProviderStatus.ERROR == failed.status
    assert failed.error is not None and message in failed.error
    assert len(failed.error) < 300
    for other in set(sandboxes) - {provider}:
        assert ProviderStatus.OK == report(result, other).status
        assert offers_of(clean, other) == offers_of(result, other)
    return result


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("total", "message"),
    [
        (HUGE_TOTAL, "total out of range: at most 1000000000 (10^9), got a 401-digit number"),
        (str(10**9 + 1), "total out of range"),
        ("1e999999", "total"),
        ("-5", "total"),
    ],
)
async def test_a_total_out_of_range_fails_that_provider_alone(total: str, message: str) -> None:
    """``total: 10^400`` cannot crash the page-count arithmetic: Vobiz fails, naming the field and the limit."""
    await assert_provider_fails("vobiz", Defects(total=total), message, **TOTAL_AND_CURRENCY)


@pytest.mark.anyio
@pytest.mark.parametrize("provider", ["vonage", "plivo"], ids=["vonage-count", "plivo-total_count"])
async def test_every_numbered_vendors_total_is_bounded(provider: str) -> None:
    """Vonage's ``count`` and Plivo's ``meta.total_count`` of 10^400: that provider fails, naming the limit."""
    await assert_provider_fails(provider, Defects(total=HUGE_TOTAL), "total out of range: at most 1000000000 (10^9)")


@pytest.mark.anyio
async def test_a_repeated_envelope_key_fails_that_provider_alone() -> None:
    """Two different totals in one envelope: the page cannot be read unambiguously."""

    def defect(body: Any, query: Mapping[str, str]) -> Any:
        return Pairs([("total", 10), *body.items()])

    await assert_provider_fails("vobiz", Defects(rewrite=defect), "'total' twice with different values: ambiguous")


@pytest.mark.anyio
async def test_an_integer_beyond_the_parser_limit_fails_that_provider_alone() -> None:
    """A 5000-digit integer makes the body unreadable as JSON: that provider fails, the others do not."""
    await assert_provider_fails(
        "vobiz", plant(set_field("monthly_fee", Raw("9" * 5000))), "not valid JSON", **TOTAL_AND_CURRENCY
    )


@pytest.mark.anyio
async def test_a_vendor_paging_by_its_own_size_is_read_to_the_end() -> None:
    """Vobiz pages by 25 (per_page ignored) and echoes per_page=100 falsely: every record is still read."""
    sandboxes = boxes()
    clean = await search(sandboxes)
    assert report(clean, "vobiz").pages >= 2

    result = await search(sandboxes, {"vobiz": Defects(page_size=25)})  # asks per_page=25, says 100

    vobiz = report(result, "vobiz")
    assert ProviderStatus.OK == vobiz.status
    assert not vobiz.truncated
    assert any("asked for 100 records a page, got 25" in note for note in vobiz.notes)
    assert offers_of(clean) == offers_of(result)


@pytest.mark.anyio
async def test_pages_cut_short_while_the_total_says_more_are_reported_truncated() -> None:
    """Each page cut to 10 records (offsets still by 100) under the true total: truncated with a note."""
    sandboxes = boxes()
    clean = await search(sandboxes)

    def cut(body: Any, query: Mapping[str, str]) -> Any:
        del (find_records(body) or [])[10:]
        return None

    result = await search(sandboxes, {"vobiz": Defects(rewrite=cut)})

    vobiz = report(result, "vobiz")
    assert vobiz.truncated
    assert any("are missing" in note for note in vobiz.notes)
    shown = next(p for p in result.to_json_dict()["providers"] if p["provider"] == "vobiz")
    assert shown["truncated"] is True  # what a script reads: this provider's list is known incomplete
    for other in ("bird", "identitycall"):
        assert offers_of(clean, other) == offers_of(result, other)


@pytest.mark.anyio
async def test_buy_cheapest_plans_every_other_offer_past_a_hostile_price() -> None:
    """buy-cheapest (a dry run, converting with rates) is not taken down by one vendor's out-of-range price."""
    sandboxes = boxes()
    clean = await plan(sandboxes)
    result = await plan(sandboxes, {"vobiz": plant(set_field("monthly_fee", Raw("1e999999")))})

    planned = {(e.offer.provider, e.offer.offer_id) for e in result.plan}
    assert {(e.offer.provider, e.offer.offer_id) for e in clean.plan} - planned <= {
        (e.offer.provider, e.offer.offer_id) for e in clean.plan if e.offer.provider == "vobiz"
    }
    assert len(planned) >= len(clean.plan) - 1
    assert [e for e in result.plan if e.decision is PlanDecision.WOULD_BUY]
    assert all(report.status is ProviderStatus.OK for report in result.providers)


@pytest.mark.anyio
async def test_buy_cheapest_finds_the_cheapest_offer_a_lying_pager_hides_past_page_one() -> None:
    """Vobiz pages by 25 while claiming 100: the cheapest offer, wherever it is, is the one planned."""
    sandboxes = boxes()
    clean = await plan(sandboxes)
    result = await plan(sandboxes, {"vobiz": Defects(page_size=25)})  # asks per_page=25, says 100

    def chosen(outcome: Any) -> list[tuple[str, str]]:
        return [(e.offer.provider, e.offer.offer_id) for e in outcome.plan if e.decision is PlanDecision.WOULD_BUY]

    assert chosen(clean) == chosen(result)
    assert len(clean.plan) == len(result.plan)


@pytest.mark.anyio
async def test_a_vendor_paging_by_its_own_size_and_saying_so_never_looks_complete() -> None:
    """Vobiz pages by 25 and echoes per_page=25 truthfully: either every record arrives or the report says not."""
    sandboxes = boxes()
    clean = await search(sandboxes)

    def by_25(query: dict[str, str]) -> dict[str, str]:
        return {**query, "per_page": "25"}

    result = await search(sandboxes, {"vobiz": Defects(query=by_25)})

    vobiz = report(result, "vobiz")
    if offers_of(clean, "vobiz") != offers_of(result, "vobiz"):
        assert vobiz.status is not ProviderStatus.OK or vobiz.truncated
        assert OverallStatus.COMPLETE != result.status
        assert vobiz.error or vobiz.notes
    for other in ("bird", "identitycall"):
        assert offers_of(clean, other) == offers_of(result, other)


FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.mark.anyio
@pytest.mark.parametrize("digits", [FULLWIDTH, ARABIC_INDIC], ids=["fullwidth", "arabic-indic"])
async def test_a_number_in_non_ascii_digits_is_one_rejected_record(digits: dict[int, str]) -> None:
    """A vendor's +1２１２… is no E.164: rejected by field, never an offer that can match no filter."""

    def change(record: dict[str, Any]) -> dict[str, Any]:
        record["e164"] = "+" + record["e164"][1:].translate(digits)
        return record

    await assert_contained("vobiz", plant(change), field="e164", reason="not a phone number")
