"""The real Vonage adapter against its sandbox, over loopback HTTP (see numbroker.testing.integration)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import ClassVar

import pytest

from numbroker import AuthenticationError, AvailableNumber, Capability, NumberType, ProviderHTTPError, SearchQuery
from numbroker.adapters import ProviderResult
from numbroker.sandbox import Sandbox, SandboxRecord, ServedRequest
from numbroker.testing.integration import NumberedIntegrationSuite, Refusal

TYPES = {"landline": NumberType.LOCAL, "mobile-lvn": NumberType.MOBILE, "landline-toll-free": NumberType.TOLL_FREE}


class TestVonageIntegration(NumberedIntegrationSuite):
    provider_id = "vonage"
    size = 600  # enough numbers that GB, US and DE each need several pages at size=100
    query = SearchQuery(country="GB")
    defect_fields: ClassVar[Mapping[str, str]] = {
        "invalid_number": "msisdn",
        "too_short": "msisdn",
        "country_mismatch": "msisdn",
        "msisdn_format": "msisdn",
        "negative_price": "cost",
        "garbage_price": "cost",
        "null_price": "cost",
        "nan_price": "cost",
        "absurd_exponent": "cost",
        "features": "features",
    }
    refusals = (Refusal(AuthenticationError, env={"VONAGE_API_SECRET": "WrongSecret00000"}),)

    def countries(self, sandbox: Sandbox) -> list[str]:
        return sorted({str(record.raw["country"]) for record in sandbox.records})

    def check_offer(self, record: SandboxRecord, offer: AvailableNumber) -> None:
        raw = record.raw
        assert ("+" + raw["msisdn"], record.e164, record.country) == (offer.e164, offer.offer_id, offer.country)
        assert offer.monthly_price is not None and offer.setup_price is None
        assert (record.monthly, "EUR") == (offer.monthly_price.amount, offer.monthly_price.currency)
        assert Decimal(raw["cost"]) == offer.monthly_price.amount
        assert str(offer.monthly_price.amount) == raw["cost"]  # the vendor's digits, kept
        assert TYPES[raw["type"]] == offer.number_type
        assert {Capability(f.lower()) for f in raw["features"]} == set(offer.capabilities or ())
        assert {"currency_assumed": True} == offer.provider_details

    # Vonage has no record id: a rejection is named by its number, "+" and the digits served, like an offer.

    def check_requests(
        self, sandbox: Sandbox, sent: Sequence[ServedRequest], results: Sequence[ProviderResult]
    ) -> None:
        """Pages of 100 asked by number, every page of every country exactly once; no credential in the query."""
        queries = [dict(entry.query) for entry in sent]
        assert {"100"} == {q["size"] for q in queries}
        assert all("api_key" not in q and "api_secret" not in q for q in queries)
        for country in self.countries(sandbox):
            listed = sum(1 for r in sandbox.records if r.raw["country"] == country)
            pages = sorted(int(q["index"]) for q in queries if q["country"] == country)
            assert list(range(1, -(-listed // 100) + 1)) == pages, country
        assert max(int(q["index"]) for q in queries) >= 3

    def check_faults_seen(self, sandbox: Sandbox, results: Sequence[ProviderResult]) -> None:
        assert {"rate_limited", "server_error"} <= {entry.fault for entry in sandbox.log}

    def check_refusal(self, error: ProviderHTTPError) -> None:
        assert '"error-code":"401"' in error.body

    @pytest.mark.anyio
    async def test_filters_are_sent_as_vonage_parameters(self, served: tuple[Sandbox, str]) -> None:
        """Type, features, prefix (starts-with with the calling code) and contains go to the vendor; results match."""
        sandbox, base_url = served
        gb = [r for r in sandbox.records if r.expected_valid and r.country == "GB"]
        mobile = next(r for r in gb if r.raw["type"] == "mobile-lvn")
        prefix, contains = mobile.e164[3:6], mobile.e164[-4:]
        queries = [
            SearchQuery(country="GB", number_type=NumberType.MOBILE, capabilities=(Capability.SMS,)),
            SearchQuery(country="GB", prefix=prefix),
            SearchQuery(country="GB", contains=contains),
        ]
        async with self.adapter(sandbox, base_url) as adapter:
            start = len(sandbox.log)
            typed, prefixed, containing = [await adapter.search(q) for q in queries]

        sms_mobiles = {r.offer_id for r in gb if r.raw["type"] == "mobile-lvn" and "SMS" in r.raw["features"]}
        assert sms_mobiles == {o.offer_id for o in typed.offers}
        assert {r.offer_id for r in gb if r.e164.startswith("+44" + prefix)} == {o.offer_id for o in prefixed.offers}
        assert {r.offer_id for r in gb if contains in r.e164[1:]} == {o.offer_id for o in containing.offers}
        sent = [dict(entry.query) for entry in sandbox.log[start:]]
        assert ("mobile-lvn", "SMS") == (sent[0]["type"], sent[0]["features"])
        assert {"pattern": "44" + prefix, "search_pattern": "0"} == {
            k: sent[-2][k] for k in ("pattern", "search_pattern")
        }
        assert {"pattern": contains, "search_pattern": "1"} == {k: sent[-1][k] for k in ("pattern", "search_pattern")}

    @pytest.mark.anyio
    async def test_an_empty_country_is_an_empty_answer(self, served: tuple[Sandbox, str]) -> None:
        """A country with no numbers answers `{}` (no count, no numbers): no offers, no error, one request."""
        sandbox, base_url = served
        async with self.adapter(sandbox, base_url) as adapter:
            start = len(sandbox.log)
            result = await adapter.search(SearchQuery(country="FR"))

        assert ([], [], 1) == (result.offers, result.rejected, len(sandbox.log) - start)
