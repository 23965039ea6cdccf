"""The real Vobiz adapter against its sandbox, over loopback HTTP (see numbroker.testing.integration)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import pytest

from numbroker import AuthenticationError, AvailableNumber, Capability, NumberType, ProviderHTTPError, SearchQuery
from numbroker.adapters import ProviderResult
from numbroker.sandbox import Sandbox, SandboxRecord, ServedRequest
from numbroker.testing.integration import NumberedIntegrationSuite, Refusal

TYPES = {"local": NumberType.LOCAL, "mobile": NumberType.MOBILE, "toll-free": NumberType.TOLL_FREE}


class TestVobizIntegration(NumberedIntegrationSuite):
    provider_id = "vobiz"
    size = 600  # enough records that the biggest countries need a second page at per_page=100
    defect_fields: ClassVar[Mapping[str, str]] = {
        "invalid_number": "e164",
        "too_short": "e164",
        "country_mismatch": "e164",
        "negative_price": "monthly_fee",
        "garbage_price": "monthly_fee",
        "nan_price": "setup_fee",
        "status": "status",
    }
    refusals = (Refusal(AuthenticationError, env={"VOBIZ_AUTH_TOKEN": "sandbox-wrong-token-0000"}),)

    def check_offer(self, record: SandboxRecord, offer: AvailableNumber) -> None:
        assert (record.e164, record.country, record.region or None) == (offer.e164, offer.country, offer.region)
        assert offer.setup_price is not None and offer.monthly_price is not None
        assert (record.upfront, record.monthly, record.currency, record.currency) == (
            offer.setup_price.amount,
            offer.monthly_price.amount,
            offer.setup_price.currency,
            offer.monthly_price.currency,
        )
        # No type on the wire: inferred from the plan, which cannot tell NANP fixed from mobile.
        nanp_geographic = record.country in ("US", "CA") and record.number_type != "toll-free"
        expected_type = NumberType.UNKNOWN if nanp_geographic else TYPES[record.number_type or ""]
        assert (expected_type, True) == (offer.number_type, offer.provider_details["number_type_inferred"])
        stated = record.raw.get("capabilities")
        expected_caps = None if stated is None else tuple(sorted(Capability(k) for k, v in stated.items() if v))
        assert expected_caps == offer.capabilities  # as the item states them; unknown when it states none
        for flag in ("minimum_commitment_months", "is_trial_number", "aadhaar_verification_required"):
            assert record.raw.get(flag) == offer.provider_details.get(flag)
        assert ("active", record.raw["created_at"]) == (
            offer.provider_details["status"],
            offer.provider_details["created_at"],
        )

    def check_requests(
        self, sandbox: Sandbox, sent: Sequence[ServedRequest], results: Sequence[ProviderResult]
    ) -> None:
        queries = [dict(entry.query) for entry in sent]
        assert {"100"} == {q["per_page"] for q in queries}
        assert any(q["page"] == "2" for q in queries)
        assert any(r.raw.get("monthly_cost") is not None for r in sandbox.records if r.expected_valid)

    def check_refusal(self, error: ProviderHTTPError) -> None:
        """A refusal carries the request id."""
        assert (error.request_id or "").startswith("req_")

    @pytest.mark.anyio
    async def test_prefix_and_contains_narrow_through_search(self, served: tuple[Sandbox, str]) -> None:
        """A prefix sends `search=<calling code><prefix>`, `contains` its digits; results match the ground truth."""
        sandbox, base_url = served
        us = next(r for r in sandbox.records if r.expected_valid and r.country == "US" and r.number_type == "local")
        prefix, contains = us.e164[2:5], us.e164[6:10]
        async with self.adapter(sandbox, base_url) as adapter:
            start = len(sandbox.log)
            prefixed = await adapter.search(SearchQuery(country="US", prefix=prefix))
            containing = await adapter.search(SearchQuery(country="US", contains=contains))

        valid_us = [r for r in sandbox.records if r.expected_valid and r.country == "US"]
        assert {r.offer_id for r in valid_us if r.e164.startswith("+1" + prefix)} == {
            o.offer_id for o in prefixed.offers
        }
        assert {r.offer_id for r in valid_us if contains in r.e164[1:]} == {o.offer_id for o in containing.offers}
        assert ["1" + prefix, contains] == [dict(entry.query)["search"] for entry in sandbox.log[start:]]
