"""Comparing carriers: exact statistics per provider, type and currency; conversion; failures; the rate limit shared."""

from __future__ import annotations

import re
import statistics
import time
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

import anyio
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from numbroker import NumberType, OverallStatus, ProviderUnavailableError, RetryPolicy, Searcher
from numbroker._compare import CompareRow, Comparison, compare, median
from numbroker.adapters import RateLimit
from numbroker.sandbox import IN_PROCESS_ORIGIN, Sandbox, create_sandboxes, in_process_providers
from numbroker.testing import FakeProvider, offer
from numbroker_providers.vobiz import VobizProvider

FAST = RetryPolicy(attempts=1, initial=0.001, max_delay=0.01, jitter=0.0)


def row(comparison: Comparison, provider: str, currency: str | None = None, **where: str) -> CompareRow:
    found = [
        r
        for r in comparison.rows
        if r.provider == provider
        and (currency is None or r.currency == currency)
        and all(getattr(r, k) == v for k, v in where.items())
    ]
    assert len(found) == 1, found
    return found[0]


# -- the median --------------------------------------------------------------------------------------------


def test_median_is_the_middle_or_the_exact_mean_of_the_two_middle_ones() -> None:
    assert Decimal("2") == median([Decimal("3"), Decimal("1"), Decimal("2")])
    assert Decimal("1.5") == median([Decimal("2"), Decimal("1")])
    assert Decimal("0.0055") == median([Decimal("0.006"), Decimal("0.005")])
    with pytest.raises(ValueError):
        median([])


@given(st.lists(st.decimals(min_value=0, max_value=10**9, places=6, allow_nan=False), min_size=1, max_size=40))
def test_median_is_exact(values: list[Decimal]) -> None:
    """Never rounded: the same value as the median of the exact fractions."""
    assert Fraction(median(values)) == statistics.median(Fraction(v) for v in values)


# -- the statistics, on offers whose every figure is known -------------------------------------------------


def fakes() -> list[FakeProvider]:
    cheap = [
        offer("+14155550101", monthly="1.00", setup="0.50"),
        offer("+14155550102", monthly="2.00", setup="0.00"),
        offer("+14155550103", monthly="4.00", setup="1.00"),
        offer("+14155550104", monthly="3.00", setup=None),  # a stated setup left out: no total
        offer("+18005550105", monthly="9.00", setup="0.00", number_type=NumberType.TOLL_FREE),
        offer("+14155550106", monthly="1.10", setup="0.10", currency="EUR"),
    ]
    dear = [
        offer("+14155550201", monthly="1.40", setup="0.00"),
        offer("+14155550202", monthly="1.60", setup="0.00"),
    ]
    return [
        FakeProvider(cheap, provider_id="cheap", retry=FAST),
        FakeProvider(dear, provider_id="dear", retry=FAST),
    ]


@pytest.mark.anyio
async def test_rows_hold_exact_statistics_per_type_and_currency() -> None:
    async with Searcher(fakes()) as searcher:
        comparison = await compare(searcher, ["US"], months=12)

    local = row(comparison, "cheap", "USD", number_type="local")
    assert (4, 1) == (local.offers, local.unpriced)
    assert (Decimal("1.00"), Decimal("2.50"), Decimal("4.00")) == (
        local.monthly_min,
        local.monthly_median,
        local.monthly_max,
    )
    assert Decimal("0.00") == local.setup_min
    assert Decimal("1.50") == local.first_bill_min  # 0.50 + 1.00
    assert Decimal("12.50") == local.total_min  # 0.50 + 12 × 1.00
    assert "+14155550101" == local.cheapest_e164
    toll_free = row(comparison, "cheap", number_type="toll_free")
    assert (1, Decimal("108.00")) == (toll_free.offers, toll_free.total_min)
    euro = row(comparison, "cheap", "EUR")
    assert (1, Decimal("13.30")) == (euro.offers, euro.total_min)
    dear = row(comparison, "dear")
    assert (Decimal("1.50"), Decimal("16.80")) == (dear.monthly_median, dear.total_min)

    assert {("local", "cheap", "USD"), ("toll_free", "cheap", "USD"), ("local", "cheap", "EUR")} == {
        (c.number_type, c.provider, c.currency) for c in comparison.cheapest
    }
    assert OverallStatus.COMPLETE == comparison.status
    document = comparison.to_json_dict()
    assert ["status", "currency", "months", "rows", "cheapest", "providers"] == list(document)
    first = next(r for r in document["rows"] if (r["currency"], r["number_type"]) == ("USD", "local"))
    assert {"min": "1.00", "median": "2.50", "max": "4.00"} == first["monthly"]
    assert "12.50" == first["total_min"]


@pytest.mark.anyio
async def test_months_count_a_minimum_commitment_and_setup_as_a_total_search_does() -> None:
    committed = offer("+14155550301", monthly="1.00", setup="0.00").model_copy(update={"minimum_commitment_months": 24})
    plain = offer("+14155550302", monthly="1.50", setup="2.00")
    async with Searcher([FakeProvider([committed, plain], retry=FAST)]) as searcher:
        six = await compare(searcher, ["US"], months=6)
        thirty = await compare(searcher, ["US"], months=30)

    assert (Decimal("11.00"), "+14155550302") == (six.rows[0].total_min, six.rows[0].cheapest_e164)  # 2 + 6 × 1.5
    assert (Decimal("30.00"), "+14155550301") == (thirty.rows[0].total_min, thirty.rows[0].cheapest_e164)


@pytest.mark.anyio
async def test_conversion_lists_currencies_without_a_rate_apart_and_never_names_them_cheapest() -> None:
    offers = [
        offer("+14155550401", monthly="1.00", setup="0.00", currency="EUR"),
        offer("+14155550402", monthly="0.10", setup="0.00", currency="JPY"),
    ]
    rates = {"base": "USD", "rates": {"EUR": "0.8"}}
    async with Searcher([FakeProvider(offers, retry=FAST)]) as searcher:
        comparison = await compare(searcher, ["US"], currency="USD", rates=rates)

    converted = row(comparison, "fake", "USD")
    assert converted.converted and Decimal("1.25") == converted.monthly_min  # 1 EUR = 1.25 USD
    assert "1.250000" == converted.to_json_dict()["monthly"]["min"]
    assert "15.000000" == converted.to_json_dict()["total_min"]
    apart = row(comparison, "fake", "JPY")
    assert not apart.converted and Decimal("1.20") == apart.total_min
    assert comparison.rows.index(converted) < comparison.rows.index(apart)
    assert [("fake", "USD")] == [(c.provider, c.currency) for c in comparison.cheapest]


@pytest.mark.anyio
async def test_a_failing_provider_never_hides_the_others() -> None:
    broken = FakeProvider(
        [offer("+14155550501")],
        provider_id="broken",
        error=ProviderUnavailableError("broken", "down", status_code=503),
        retry=FAST,
    )
    async with Searcher([*fakes()[:1], broken]) as searcher:
        comparison = await compare(searcher, ["US"])

    assert OverallStatus.PARTIAL == comparison.status
    assert {"cheap"} == {r.provider for r in comparison.rows}
    assert {("US", "broken", "error")} <= {
        (p.country, p.report.provider, p.report.status.value) for p in comparison.providers
    }


@pytest.mark.anyio
async def test_each_asked_type_is_searched_and_countries_keep_their_order() -> None:
    async with Searcher(in_process_providers(create_sandboxes(["vobiz", "telnyx"])), own_providers=True) as searcher:
        comparison = await compare(searcher, ["gb", "US", "GB"], number_types=["toll_free", NumberType.LOCAL])

    assert ("GB", "US") == comparison.countries
    assert ["GB", "US"] == list(dict.fromkeys(r.country for r in comparison.rows))
    assert {"local", "toll_free"} == {r.number_type for r in comparison.rows}
    assert 8 == len(comparison.providers)  # 2 countries × 2 types × 2 providers


# -- against the sandboxes' own inventories --------------------------------------------------------------

ASSUMED = {"vonage": "EUR", "plivo": "USD", "identitycall": "USD"}
"""The currency each adapter documents for records that state none."""

INDEPENDENT = ("vobiz", "bird", "identitycall", "telnyx", "vonage", "plivo")
"""The sandboxes whose records carry every price (Twilio's monthly prices come from a separate price list)."""


def expected_rows(sandboxes: dict[str, Sandbox], country: str, months: int) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The statistics computed from the ground truth alone: per (type, provider, currency)."""
    groups: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
    for pid in INDEPENDENT:
        for record in sandboxes[pid].records:
            if record.country == country and record.expected_valid:
                currency = record.currency or ASSUMED[pid]
                groups[(str(record.number_type).replace("-", "_"), pid, currency)].append(record)
    out = {}
    for key, records in groups.items():
        monthly = sorted(r.monthly for r in records)
        setup = [r.upfront if r.upfront is not None else Decimal(0) for r in records]
        totals = []
        for r, s in zip(records, setup, strict=True):
            commitment = r.raw.get("minimum_commitment_months") or 0
            totals.append((s + r.monthly * max(months, commitment), s, r.e164))
        middle = len(monthly) // 2
        exact_median = monthly[middle] if len(monthly) % 2 else (monthly[middle - 1] + monthly[middle]) / 2
        best = min(totals)
        out[key] = {
            "offers": len(records),
            "monthly": (min(monthly), exact_median, max(monthly)),
            "setup_min": min(setup),
            "first_bill_min": min(s + r.monthly for r, s in zip(records, setup, strict=True)),
            "total_min": best[0],
            "cheapest_e164": best[2],
        }
    return out


def actual_rows(rows: Iterable[CompareRow]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {
        (r.number_type, r.provider, r.currency): {
            "offers": r.offers,
            "monthly": (r.monthly_min, r.monthly_median, r.monthly_max),
            "setup_min": r.setup_min,
            "first_bill_min": r.first_bill_min,
            "total_min": r.total_min,
            "cheapest_e164": r.cheapest_e164,
        }
        for r in rows
        if r.provider in INDEPENDENT
    }


@pytest.mark.anyio
@pytest.mark.parametrize("months", [12, 2])
async def test_the_statistics_match_the_sandboxes_inventories(months: int) -> None:
    sandboxes = create_sandboxes()
    async with Searcher(in_process_providers(sandboxes), own_providers=True) as searcher:
        comparison = await compare(searcher, ["US", "GB"], months=months)

    assert OverallStatus.COMPLETE == comparison.status
    for country in ("US", "GB"):
        expected = expected_rows(sandboxes, country, months)
        assert expected == actual_rows(r for r in comparison.rows if r.country == country)
    assert all(r.unpriced == 0 for r in comparison.rows)


# -- one rate limit per vendor, however many countries are searched at once --------------------------------


class _Limited(VobizProvider):
    rate_limit: ClassVar[RateLimit | None] = RateLimit(2, 0.2)  # bursts of 2, then 10 requests a second


@pytest.mark.anyio
async def test_concurrent_countries_share_each_vendors_rate_limit() -> None:
    """Eight countries at once: the requests keep to the one bucket (separate buckets would all burst at once)."""
    sandbox = create_sandboxes(["vobiz"])["vobiz"]
    sent: list[float] = []
    inner = httpx.ASGITransport(app=sandbox.app)

    class Clocked(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            sent.append(time.monotonic())
            return await inner.handle_async_request(request)

    provider = _Limited(env=sandbox.env, base_url=IN_PROCESS_ORIGIN + sandbox.base_path, transport=Clocked())
    countries = ["US", "GB", "DE", "FR", "IN", "CA", "AU", "NL"]
    async with Searcher([provider], own_providers=True) as searcher:
        # Warm up first (the HTTP client is built on the first request, after its token was taken), then
        # let the bucket fill again: each measured request leaves as soon as the bucket lets it.
        await compare(searcher, ["US"])
        await anyio.sleep(0.3)
        sent.clear()
        comparison = await compare(searcher, countries)

    assert len(sent) >= len(countries)
    # A token bucket of 2 refilled at 10/s lets the n-th request leave no sooner than (n - 2) / 10 s after the first.
    assert max(sent) - min(sent) >= (len(sent) - 2) / 10 * 0.95
    assert {"US", "GB"} <= {r.country for r in comparison.rows}


@pytest.mark.anyio
async def test_no_country_is_a_configuration_error() -> None:
    from numbroker import ConfigurationError

    async with Searcher(fakes()) as searcher:
        with pytest.raises(ConfigurationError):
            await compare(searcher, [])


# -- the README ---------------------------------------------------------------------------------------------

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
SECTION = README.split("## Comparing carriers", 1)[1].split("\n## ", 1)[0]


def test_the_readme_demo_and_example_are_what_the_tests_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        "```sh\nnumbroker compare --sandbox --country US --country GB --format html --output report.html\n```"
        in SECTION
    )
    assert (Path(__file__).parent.parent / "benchmarks" / "figures" / "compare-report.png").stat().st_size < 200_000
    example = re.search(r"```python\n(.*?)```", SECTION, re.S)
    assert example is not None
    exec(compile(example.group(1), "README.md", "exec"), {})  # the README's own example, run as written

    lines = capsys.readouterr().out.splitlines()
    assert lines and {"US", "GB"} == {line.split()[0] for line in lines}


@pytest.mark.anyio
async def test_an_unknown_country_or_type_is_a_configuration_error() -> None:
    from numbroker import ConfigurationError

    async with Searcher(fakes()) as searcher:
        with pytest.raises(ConfigurationError, match="did you mean GB"):
            await compare(searcher, ["UK"])
        with pytest.raises(ConfigurationError, match="number_types"):
            await compare(searcher, ["US"], number_types=["landline"])


@pytest.mark.anyio
async def test_a_truncated_listing_marks_only_the_rows_it_cut() -> None:
    """Twilio answers at most 30 numbers a search: its US local rows are bounds, its toll-free ones are whole."""
    async with Searcher(in_process_providers(create_sandboxes(["twilio"])), own_providers=True) as searcher:
        by_type = await compare(searcher, ["US"], number_types=["local", "toll_free"])
        all_types = await compare(searcher, ["US"])

    assert {("local", True), ("toll_free", False)} == {(r.number_type, r.truncated) for r in by_type.rows}
    assert {("local", True), ("toll_free", True)} == {(r.number_type, r.truncated) for r in all_types.rows}
    assert {True} == {p.report.truncated for p in all_types.providers}
