"""The real Bird adapter against its sandbox, over loopback HTTP (see numbroker.testing.integration)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import pytest

from numbroker import (
    AuthenticationError,
    AvailableNumber,
    Capability,
    NotFoundError,
    NumberType,
    ProviderResponseError,
    SearchQuery,
)
from numbroker.adapters import ProviderResult
from numbroker.sandbox import Faults, Sandbox, SandboxRecord, ServedRequest
from numbroker.testing.integration import IntegrationSuite, Refusal, Spoiled

TYPES = {
    "local": NumberType.LOCAL,
    "mobile": NumberType.MOBILE,
    "toll-free": NumberType.TOLL_FREE,
    "national": NumberType.NATIONAL,
}


class TestBirdIntegration(IntegrationSuite):
    provider_id = "bird"
    size = 600  # enough stock items that the biggest countries need a second page at limit=99
    defect_fields: ClassVar[Mapping[str, str]] = {
        "invalid_number": "numberString",
        "too_short": "numberString",
        "country_mismatch": "numberString",
        "negative_price": "monthlyPrice.amount",
        "garbage_price": "monthlyPrice.amount",
        "null_price": "monthlyPrice.amount",
        "nan_price": "monthlyPrice.amount",
        "absurd_exponent": "monthlyPrice.exponent",
    }
    spoiled = (
        *IntegrationSuite.spoiled,
        Spoiled(Faults(repeat_token=True), ProviderResponseError, "repeated"),
    )
    refusals = (
        Refusal(AuthenticationError, env={"BIRD_ACCESS_KEY": "sandbox-wrong-key-0000"}),
        Refusal(NotFoundError, env={"BIRD_ORGANIZATION_ID": "00000000-0000-0000-0000-000000000000"}),  # unknown
    )

    def check_offer(self, record: SandboxRecord, offer: AvailableNumber) -> None:
        assert (record.e164, record.country) == (offer.e164, offer.country)
        assert TYPES[record.number_type or ""] == offer.number_type
        assert offer.setup_price is None and offer.monthly_price is not None
        assert (record.monthly, record.currency) == (offer.monthly_price.amount, offer.monthly_price.currency)
        flags = record.raw["capabilities"]
        expected = tuple(sorted(Capability(c) for c, d in flags.items() if d["inbound"] or d["outbound"]))
        assert expected == offer.capabilities
        assert flags == offer.provider_details["capability_directions"]
        assert record.raw["backOrderRequired"] == offer.provider_details["backOrderRequired"]

    def check_requests(
        self, sandbox: Sandbox, sent: Sequence[ServedRequest], results: Sequence[ProviderResult]
    ) -> None:
        """Pages of 99, chained by token."""
        queries = [dict(entry.query) for entry in sent]
        assert {"99"} == {q["limit"] for q in queries}
        assert any("pageToken" in q for q in queries)

    @pytest.mark.anyio
    async def test_native_type_and_prefix_filters(self, served: tuple[Sandbox, str]) -> None:
        """`types=toll-free` and a `+44…` prefix are filtered by the sandbox and match its ground truth."""
        sandbox, base_url = served
        gb_local = next(
            r for r in sandbox.records if r.expected_valid and r.country == "GB" and r.number_type == "local"
        )
        prefix = gb_local.e164[3:6]
        async with self.adapter(sandbox, base_url) as adapter:
            toll_free = await adapter.search(SearchQuery(country="US", number_type=NumberType.TOLL_FREE))
            start = len(sandbox.log)
            prefixed = await adapter.search(SearchQuery(country="GB", prefix=prefix))

        expected_toll_free = {
            r.offer_id
            for r in sandbox.records
            if r.expected_valid and r.country == "US" and r.number_type == "toll-free"
        }
        assert expected_toll_free == {o.offer_id for o in toll_free.offers}
        expected_prefixed = {
            r.offer_id
            for r in sandbox.records
            if r.expected_valid and r.country == "GB" and r.e164.startswith("+44" + prefix)
        }
        assert expected_prefixed == {o.offer_id for o in prefixed.offers}
        assert ("+44" + prefix, "GB") == (
            dict(sandbox.log[start].query)["prefix"],
            dict(sandbox.log[start].query)["countryCodes"],
        )
