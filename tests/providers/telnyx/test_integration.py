"""The real Telnyx adapter against its sandbox over loopback HTTP."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from numbroker import (
    AuthenticationError,
    BadRequestError,
    Capability,
    NumberType,
    ProviderStatus,
    RetryPolicy,
    Searcher,
    SearchQuery,
)
from numbroker.adapters import decimal_from_string
from numbroker.sandbox import Faults, LoopbackServer, Sandbox, SandboxRecord
from numbroker_providers.telnyx import TelnyxProvider
from numbroker_providers.telnyx.sandbox import BEST_EFFORT_EXTRAS, BUCKETS, create_app

COUNTRIES = sorted({country for country, _ in BUCKETS})
TYPES = {"local": NumberType.LOCAL, "mobile": NumberType.MOBILE, "toll-free": NumberType.TOLL_FREE}
TYPES["national"] = NumberType.NATIONAL
QUICK = RetryPolicy(attempts=8, initial=0.01, max_delay=0.02)
FIELDS = {
    "invalid_number": "phone_number",
    "too_short": "phone_number",
    "country_mismatch": "phone_number",
    "negative_price": "cost_information.monthly_cost",
    "nan_price": "cost_information.monthly_cost",
    "absurd_exponent": "cost_information.monthly_cost",
    "no_currency": "cost_information.currency",
    "bad_currency": "cost_information.currency",
    "bad_features": "features.0",
    "bad_region": "region_information",
}
"""The vendor field each deliberate defect must be rejected with (garbage prices: whichever is garbage)."""


def defect_field(record: SandboxRecord) -> str:
    if record.defect == "garbage_price":
        cost = record.raw["cost_information"]
        for name in ("upfront_cost", "monthly_cost"):
            try:
                decimal_from_string(cost[name])
            except ValueError:
                return f"cost_information.{name}"
    return FIELDS[record.defect or ""]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, str]]:
    sandbox = create_app(seed=7)
    with LoopbackServer(sandbox.app) as server:
        yield sandbox, server.base_url + sandbox.base_path


def provider(sandbox: Sandbox, base_url: str, **options: Any) -> TelnyxProvider:
    options.setdefault("retry", QUICK)
    return TelnyxProvider(base_url=base_url, env=sandbox.env, **options)


def check_inventory(sandbox: Sandbox, offers: list[Any], rejected: list[Any]) -> None:
    """Every valid record exactly once with exact Decimals; every defect rejected once with its field."""
    counts = Counter(o.offer_id for o in offers)
    valid = [r for r in sandbox.records if r.expected_valid]
    assert {r.offer_id: 1 for r in valid} == dict(counts)
    by_id = {o.offer_id: o for o in offers}
    for record in valid:
        offer = by_id[record.offer_id]
        assert (record.e164, record.country, record.region) == (offer.e164, offer.country, offer.region)
        assert TYPES[record.number_type or ""] == offer.number_type
        assert "number_type_inferred" not in offer.provider_details
        assert offer.setup_price is not None and offer.monthly_price is not None
        assert (record.upfront, record.monthly) == (offer.setup_price.amount, offer.monthly_price.amount)
        assert isinstance(offer.monthly_price.amount, Decimal)
        assert (record.currency, record.currency) == (offer.setup_price.currency, offer.monthly_price.currency)
        names = {f["name"] for f in record.raw["features"]}
        assert {c for c in Capability if c.value in names} == set(offer.capabilities or ())
        for flag in ("best_effort", "quickship", "reservable"):
            assert record.raw[flag] == offer.provider_details[flag]
    defects = sorted((r.offer_id, defect_field(r)) for r in sandbox.records if not r.expected_valid)
    assert defects == sorted((r.offer_id or "", r.field or "") for r in rejected)
    assert {"telnyx"} == {r.provider for r in rejected}


@pytest.mark.anyio
async def test_every_stocked_country_arrives_exactly_once(served: tuple[Sandbox, str]) -> None:
    """Each country without a type: every valid record once, exactly priced and typed; every defect rejected."""
    sandbox, base_url = served
    start = len(sandbox.log)
    async with provider(sandbox, base_url) as adapter:
        results = [await adapter.search(SearchQuery(country=country)) for country in COUNTRIES]
        asked = {country: adapter.search_types(SearchQuery(country=country)) for country in COUNTRIES}

    check_inventory(sandbox, [o for r in results for o in r.offers], [x for r in results for x in r.rejected])
    sent = [dict(entry.query) for entry in sandbox.log[start:]]
    assert sum(len(kinds) for kinds in asked.values()) == len(sent)
    assert all("100" == q["filter[limit]"] for q in sent)
    assert not any(r.stats.truncated for r in results)


@pytest.mark.anyio
async def test_survives_rate_limits_and_server_errors() -> None:
    """With 429s (x-ratelimit-reset only) and 5xx injected, retries still deliver the whole inventory once."""
    sandbox = create_app(
        seed=3, faults=Faults(rate_429=0.2, rate_5xx=0.2, retry_after=None, seed=11), ratelimit_reset=0
    )
    with LoopbackServer(sandbox.app) as server:
        async with provider(sandbox, server.base_url + sandbox.base_path) as adapter:
            results = [await adapter.search(SearchQuery(country=country)) for country in COUNTRIES]

    check_inventory(sandbox, [o for r in results for o in r.offers], [x for r in results for x in r.rejected])
    assert {429} <= {entry.status for entry in sandbox.log}
    assert any(entry.status >= 500 for entry in sandbox.log)
    assert sum(r.stats.retries for r in results) >= 2


@pytest.mark.anyio
async def test_best_effort_extras_are_excluded_by_the_prefix(served: tuple[Sandbox, str]) -> None:
    """A US prefix search comes back topped up with best-effort numbers; numbroker's prefix check drops them."""
    sandbox, base_url = served
    query = SearchQuery(country="US", number_type=NumberType.LOCAL, prefix="212")
    start = len(sandbox.log)
    async with provider(sandbox, base_url) as adapter:
        result = await adapter.search(query)

    (entry,) = sandbox.log[start:]
    matching = {
        r.offer_id
        for r in sandbox.records
        if r.expected_valid and r.country == "US" and r.number_type == "local" and r.e164.startswith("+1212")
    }
    assert matching and matching == {o.offer_id for o in result.offers}
    extras = [sandbox.record_by_id(offer_id) for offer_id in entry.offer_ids if offer_id not in matching]
    assert BEST_EFFORT_EXTRAS == len(extras)
    valid_extras = [r for r in extras if r is not None and r.expected_valid]
    assert ({"prefix": len(valid_extras)} if valid_extras else {}) == dict(result.stats.excluded)
    assert len(extras) - len(valid_extras) == len(result.rejected)
    assert ("filter[phone_number][starts_with]", "212") in entry.query


@pytest.mark.anyio
async def test_native_filters_narrow_on_the_server(served: tuple[Sandbox, str]) -> None:
    """Features and contains are applied by the sandbox; what comes back already matches."""
    sandbox, base_url = served
    query = SearchQuery(country="GB", capabilities=(Capability.MMS,), contains="7")
    async with provider(sandbox, base_url) as adapter:
        result = await adapter.search(query)

    expected = {
        r.offer_id
        for r in sandbox.records
        if r.expected_valid
        and r.country == "GB"
        and "mms" in {f["name"] for f in r.raw["features"]}
        and "7" in r.e164[3:]
    }
    assert expected and expected == {o.offer_id for o in result.offers}
    assert not result.stats.excluded


@pytest.mark.anyio
async def test_an_answer_as_long_as_the_limit_is_reported_truncated(served: tuple[Sandbox, str]) -> None:
    """With filter[limit]=5, each type answers 5 numbers: the report says truncated and how to narrow."""
    sandbox, base_url = served
    cls = type("Five", (TelnyxProvider,), {"per_page": 5})
    adapter = cls(base_url=base_url, env=sandbox.env, retry=QUICK)
    async with Searcher([adapter], own_providers=True) as searcher:
        result = await searcher.search(SearchQuery(country="GB"))

    (report,) = result.providers
    assert ProviderStatus.OK == report.status
    assert report.truncated
    assert 4 == sum("filter[limit]=5" in note for note in report.notes)  # GB stocks four types


@pytest.mark.anyio
async def test_refused_country_and_wrong_key(served: tuple[Sandbox, str]) -> None:
    """A country Telnyx refuses is a BadRequestError (every type refused); a wrong key an AuthenticationError."""
    sandbox, base_url = served
    async with provider(sandbox, base_url) as adapter:
        with pytest.raises(BadRequestError, match="10015 Bad Request: Country 'KP' is not supported"):
            await adapter.search(SearchQuery(country="KP"))
    wrong = "KEY" + "0" * 32 + "_" + "a" * 22
    async with TelnyxProvider(base_url=base_url, api_key=wrong, retry=QUICK) as adapter:
        with pytest.raises(AuthenticationError, match="10009"):
            await adapter.search(SearchQuery(country="US"))
