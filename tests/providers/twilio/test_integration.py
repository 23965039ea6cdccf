"""The real Twilio adapter against its sandbox, over loopback HTTP: every record once, exactly priced.

See numbroker.testing.integration for the suite; Twilio caps a search at about 30 numbers (the answer is
then reported truncated), so its whole stock is seen by country plus one search per US area code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

from numbroker import (
    AuthenticationError,
    AvailableNumber,
    Capability,
    NotFoundError,
    NumberType,
    ProviderStatus,
    RejectedRecord,
    RetryPolicy,
    Searcher,
    SearchQuery,
)
from numbroker.sandbox import Sandbox, SandboxRecord
from numbroker.testing.integration import IntegrationSuite, Refusal
from numbroker_providers.twilio.sandbox import BUCKETS, SEARCH_CAP

COUNTRIES = sorted({country for country, _ in BUCKETS})
TYPES = {
    "local": NumberType.LOCAL,
    "mobile": NumberType.MOBILE,
    "toll-free": NumberType.TOLL_FREE,
    "national": NumberType.NATIONAL,
}


def record_id(value: Any) -> str | None:
    return None if value is None else str(value)


def area_codes(sandbox: Sandbox) -> list[str]:
    """The US area codes of the stocked US Local numbers (each one a search under the cap)."""
    return sorted(
        {r.e164[2:5] for r in sandbox.records if (r.country, r.number_type) == ("US", "local") and r.expected_valid}
    )


class TestTwilioIntegration(IntegrationSuite):
    provider_id = "twilio"
    fault_retry = RetryPolicy(10, initial=0.01)
    defect_fields: ClassVar[Mapping[str, str]] = {
        "invalid_number": "phone_number",
        "country_mismatch": "phone_number",
        "too_short": "phone_number",
        "bad_country": "iso_country",
        "bad_number": "phone_number",
    }
    refusals = (
        Refusal(AuthenticationError, env={"TWILIO_AUTH_TOKEN": "0" * 32}, says="20003"),
        Refusal(NotFoundError, SearchQuery(country="FR"), says="no available numbers for FR"),  # lists nothing
    )

    def countries(self, sandbox: Sandbox) -> list[str]:
        return COUNTRIES

    def defect_field(self, record: SandboxRecord) -> str | None:
        """Each defect's field; a capabilities defect by the root of its field."""
        return self.defect_fields.get(record.defect or "", "capabilities")

    def expected_rejection(self, record: SandboxRecord) -> tuple[str | None, str | None]:
        """A rejection is named by the number as served (Twilio has no record id)."""
        return record_id(record.raw.get("phone_number")), self.defect_field(record)

    def rejection(self, rejected: RejectedRecord) -> tuple[str | None, str | None]:
        return rejected.offer_id, (rejected.field or "").split(".")[0]

    def check_offer(self, record: SandboxRecord, offer: AvailableNumber) -> None:
        """Its type from the path, its monthly price from the price list exactly (no setup price), or none."""
        assert (record.e164, record.country, record.region) == (offer.e164, offer.country, offer.region)
        assert TYPES[record.number_type or ""] == offer.number_type
        assert offer.setup_price is None
        if record.monthly is None:
            assert offer.monthly_price is None
        else:
            assert offer.monthly_price is not None
            assert (record.monthly, record.currency) == (offer.monthly_price.amount, offer.monthly_price.currency)
        caps = {k.lower(): v for k, v in record.raw["capabilities"].items()}
        assert sorted(Capability(k) for k, on in caps.items() if on) == list(offer.capabilities or ())

    @pytest.mark.anyio
    async def test_every_stocked_country_arrives_exactly_once(self, served: tuple[Sandbox, str]) -> None:
        """Country searches (plus one search per US area code, as the cap's note advises) see the whole stock.

        Every valid record becomes one offer with its type from the path, its monthly price from the price
        list exactly (no setup price), or no price where the list has none; every defect is rejected, naming
        its field; the US Local answer, over the cap, is reported truncated.
        """
        sandbox, base_url = served
        start = len(sandbox.log)
        async with self.adapter(sandbox, base_url) as adapter:
            by_country = {country: await adapter.search(SearchQuery(country=country)) for country in COUNTRIES}
            by_area = [
                await adapter.search(SearchQuery(country="US", number_type=NumberType.LOCAL, prefix=code))
                for code in area_codes(sandbox)
            ]
        results = [*by_country.values(), *by_area]
        for result in results:
            assert 1 == max(Counter(o.offer_id for o in result.offers).values(), default=1)  # none twice in one answer
        offers = {o.offer_id: o for result in results for o in result.offers}
        valid = [r for r in sandbox.records if r.expected_valid]
        assert {r.offer_id for r in valid} == set(offers)
        for record in valid:
            self.check_offer(record, offers[record.offer_id])
        assert any(r.monthly is None for r in valid) and any(r.monthly is not None for r in valid)
        self.check_rejected(sandbox, [r for result in by_country.values() for r in result.rejected])

        assert by_country["US"].stats.truncated
        assert any("narrow the search" in note for note in by_country["US"].stats.notes)
        assert not any(by_country[c].stats.truncated for c in COUNTRIES if c != "US")
        assert not any(r.stats.truncated for r in by_area)
        assert any("Mobile offers for DE are unpriced" in n for n in by_country["DE"].stats.notes)
        assert any("National offers for NL are unpriced" in n for n in by_country["NL"].stats.notes)

        served_log = sandbox.log[start:]
        assert len(COUNTRIES) + len(by_area) == sum(1 for r in served_log if r.endpoint == "pricing")
        assert all(r.status == 200 for r in served_log)
        searches = [dict(r.query) for r in served_log if r.endpoint == "search"]
        assert all("1000" == q["PageSize"] for q in searches)
        assert sorted(area_codes(sandbox)) == sorted(q["AreaCode"] for q in searches if "AreaCode" in q)

    @pytest.mark.anyio
    async def test_survives_rate_limits_and_server_errors(self) -> None:
        """With 20429s and 5xx injected on every route (the price list's too), retries still deliver it all."""
        sandbox = self.create_sandbox(seed=3, faults=self.retry_faults)
        with self.serving(sandbox) as base_url:
            async with self.adapter(sandbox, base_url, retry=self.fault_retry) as adapter:
                results = [await adapter.search(SearchQuery(country=c)) for c in ("GB", "NL")]
        offers = {o.offer_id: o for result in results for o in result.offers}
        valid = [r for r in sandbox.records if r.expected_valid and r.country in ("GB", "NL")]
        assert {r.offer_id: r.monthly for r in valid} == {
            k: (o.monthly_price.amount if o.monthly_price else None) for k, o in offers.items()
        }
        self.check_faults_seen(sandbox, results)
        assert all(len(r.offers) <= 4 * SEARCH_CAP for r in results)

    @pytest.mark.anyio
    async def test_capabilities_and_contains_are_asked_of_twilio(self, served: tuple[Sandbox, str]) -> None:
        """FaxEnabled=true and Contains go on the wire; every offer has fax and the digits."""
        sandbox, base_url = served
        start = len(sandbox.log)
        query = SearchQuery(country="US", number_type=NumberType.LOCAL, capabilities=(Capability.FAX,), contains="21")
        async with self.adapter(sandbox, base_url) as adapter:
            result = await adapter.search(query)

        assert result.offers
        assert all(Capability.FAX in (o.capabilities or ()) and "21" in o.e164[1:] for o in result.offers)
        (search,) = [r for r in sandbox.log[start:] if r.endpoint == "search"]
        assert (("Contains", "21"), ("FaxEnabled", "true"), ("PageSize", "1000")) == search.query

    @pytest.mark.anyio
    async def test_a_failing_pricing_api_leaves_offers_unpriced_and_the_search_ok(
        self, served: tuple[Sandbox, str]
    ) -> None:
        """A price list that 404s: the search still answers, every offer unpriced, and the report says why."""
        sandbox, base_url = served
        async with (
            self.adapter(sandbox, base_url, pricing_base_url="/no-such-pricing") as adapter,
            Searcher([adapter]) as searcher,
        ):
            result = await searcher.search(SearchQuery(country="GB"))

        (report,) = result.providers
        assert ProviderStatus.OK == report.status
        assert result.offers and all(r.offer.monthly_price is None for r in result.offers)
        assert len(result.offers) == report.unpriced
        assert any("unpriced" in n and "Pricing API failed" in n for n in report.notes)
