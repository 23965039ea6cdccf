"""The real Telnyx adapter against its sandbox over loopback HTTP (see numbroker.testing.integration)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import ClassVar

import pytest

from numbroker import (
    AuthenticationError,
    AvailableNumber,
    BadRequestError,
    Capability,
    NumberType,
    ProviderStatus,
    RetryPolicy,
    Searcher,
    SearchQuery,
)
from numbroker.adapters import ProviderResult, decimal_from_string
from numbroker.sandbox import Faults, Sandbox, SandboxRecord, ServedRequest
from numbroker.testing.integration import IntegrationSuite, Refusal
from numbroker_providers.telnyx import TelnyxProvider
from numbroker_providers.telnyx.sandbox import BEST_EFFORT_EXTRAS, BUCKETS

COUNTRIES = sorted({country for country, _ in BUCKETS})
TYPES = {"local": NumberType.LOCAL, "mobile": NumberType.MOBILE, "toll-free": NumberType.TOLL_FREE}
TYPES["national"] = NumberType.NATIONAL
QUICK = RetryPolicy(attempts=8, initial=0.01, max_delay=0.02)


class TestTelnyxIntegration(IntegrationSuite):
    provider_id = "telnyx"
    sandbox_options: ClassVar[Mapping[str, int]] = {"ratelimit_reset": 0}  # a 429 says to wait 0 s, by header only
    retry = QUICK
    fault_retry = QUICK
    retry_faults = Faults(rate_429=0.2, rate_5xx=0.2, retry_after=None, seed=11)  # x-ratelimit-reset only
    defect_fields: ClassVar[Mapping[str, str]] = {
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
    refusals = (
        Refusal(AuthenticationError, env={"TELNYX_API_KEY": "KEY" + "0" * 32 + "_" + "a" * 22}, says="10009"),
        Refusal(BadRequestError, SearchQuery(country="KP"), says="10015 Bad Request: Country 'KP' is not supported"),
    )

    def countries(self, sandbox: Sandbox) -> list[str]:
        return COUNTRIES

    def defect_field(self, record: SandboxRecord) -> str | None:
        """Each deliberate defect's field (a garbage price: whichever of the two is garbage)."""
        if record.defect == "garbage_price":
            cost = record.raw["cost_information"]
            for name in ("upfront_cost", "monthly_cost"):
                try:
                    decimal_from_string(cost[name])
                except ValueError:
                    return f"cost_information.{name}"
        return super().defect_field(record)

    def check_offer(self, record: SandboxRecord, offer: AvailableNumber) -> None:
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

    def check_requests(
        self, sandbox: Sandbox, sent: Sequence[ServedRequest], results: Sequence[ProviderResult]
    ) -> None:
        """One request of 100 per number type of each country's plan; no answer was cut at the limit."""
        kinds = TelnyxProvider(env=sandbox.env)
        asked = {country: kinds.search_types(SearchQuery(country=country)) for country in COUNTRIES}
        queries = [dict(entry.query) for entry in sent]
        assert sum(len(types) for types in asked.values()) == len(queries)
        assert all("100" == q["filter[limit]"] for q in queries)
        assert not any(r.stats.truncated for r in results)

    def check_faults_seen(self, sandbox: Sandbox, results: Sequence[ProviderResult]) -> None:
        assert {429} <= {entry.status for entry in sandbox.log}
        assert any(entry.status >= 500 for entry in sandbox.log)
        assert sum(r.stats.retries for r in results) >= 2

    @pytest.mark.anyio
    async def test_best_effort_extras_are_excluded_by_the_prefix(self, served: tuple[Sandbox, str]) -> None:
        """A US prefix search comes back topped up with best-effort numbers; numbroker's prefix check drops them."""
        sandbox, base_url = served
        query = SearchQuery(country="US", number_type=NumberType.LOCAL, prefix="212")
        start = len(sandbox.log)
        async with self.adapter(sandbox, base_url) as adapter:
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
    async def test_native_filters_narrow_on_the_server(self, served: tuple[Sandbox, str]) -> None:
        """Features and contains are applied by the sandbox; what comes back already matches."""
        sandbox, base_url = served
        query = SearchQuery(country="GB", capabilities=(Capability.MMS,), contains="7")
        async with self.adapter(sandbox, base_url) as adapter:
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
    async def test_an_answer_as_long_as_the_limit_is_reported_truncated(self, served: tuple[Sandbox, str]) -> None:
        """With filter[limit]=5, each type answers 5 numbers: the report says truncated and how to narrow."""
        sandbox, base_url = served
        cls = type("Five", (TelnyxProvider,), {"per_page": 5})
        adapter = cls(base_url=base_url, env=sandbox.env, retry=self.retry)
        async with Searcher([adapter], own_providers=True) as searcher:
            result = await searcher.search(SearchQuery(country="GB"))

        (report,) = result.providers
        assert ProviderStatus.OK == report.status
        assert report.truncated
        assert 4 == sum("filter[limit]=5" in note for note in report.notes)  # GB stocks four types
