"""The real Plivo adapter against its sandbox, over loopback HTTP (see numbroker.testing.integration)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import ClassVar

import pytest

from numbroker import AuthenticationError, AvailableNumber, Capability, NumberType, ProviderHTTPError, SearchQuery
from numbroker.adapters import ProviderResult
from numbroker.sandbox import Sandbox, SandboxRecord, ServedRequest
from numbroker.testing.integration import NumberedIntegrationSuite, Refusal
from numbroker_providers.plivo.sandbox import COUNTRY_NAMES

TYPES = {
    "local": NumberType.LOCAL,
    "national": NumberType.NATIONAL,
    "mobile": NumberType.MOBILE,
    "toll-free": NumberType.TOLL_FREE,
}
FLAGS = {"voice_enabled": Capability.VOICE, "sms_enabled": Capability.SMS, "mms_enabled": Capability.MMS}


class TestPlivoIntegration(NumberedIntegrationSuite):
    provider_id = "plivo"
    size = 400  # enough records that every stocked country needs several 20-record pages
    defect_fields: ClassVar[Mapping[str, str]] = {
        "invalid_number": "number",
        "too_short": "number",
        "country_mismatch": "number",
        "country_name": "country",
        "negative_price": "monthly_rental_rate",
        "garbage_price": "monthly_rental_rate",
        "typed_price": "monthly_rental_rate",
        "nan_price": "setup_rate",
        "garbage_flag": "sms_enabled",
        "garbage_lata": "lata",
    }
    refusals = (
        Refusal(
            AuthenticationError, env={"PLIVO_AUTH_TOKEN": "sandbox-wrong-token-0000"}, says="Authentication failed"
        ),
    )

    def countries(self, sandbox: Sandbox) -> list[str]:
        return list(COUNTRY_NAMES)

    def check_offer(self, record: SandboxRecord, offer: AvailableNumber) -> None:
        raw = record.raw
        assert (record.e164, record.country, record.region) == (offer.e164, offer.country, offer.region)
        assert offer.setup_price is not None and offer.monthly_price is not None
        assert (record.upfront, record.monthly, "USD", "USD") == (
            offer.setup_price.amount,
            offer.monthly_price.amount,
            offer.setup_price.currency,
            offer.monthly_price.currency,
        )
        assert raw["monthly_rental_rate"] == format(offer.monthly_price.amount, "f")  # five places kept
        assert TYPES[record.number_type or ""] == offer.number_type
        assert "number_type_inferred" not in offer.provider_details
        expected_caps = sorted(FLAGS[k] for k in FLAGS if raw.get(k) is True)
        assert expected_caps == sorted(offer.capabilities or ())
        details = offer.provider_details
        assert (True, raw["sub_type"], raw["restriction"], raw["restriction_text"]) == (
            details["currency_assumed"],
            details["sub_type"],
            details.get("restriction"),
            details.get("restriction_text"),
        )
        if raw.get("lata") is not None:
            assert int(raw["lata"]) == details["lata"]

    def check_requests(
        self, sandbox: Sandbox, sent: Sequence[ServedRequest], results: Sequence[ProviderResult]
    ) -> None:
        """Every country's offsets 0, 20, 40, ... up to its total, each requested exactly once, limit 20."""
        queries = [dict(entry.query) for entry in sent if entry.endpoint == "search"]
        for country in COUNTRY_NAMES:
            listed = sum(1 for r in sandbox.records if r.country == country)
            offsets = sorted(int(q["offset"]) for q in queries if q["country_iso"] == country)
            assert list(range(0, 20 * max(1, math.ceil(listed / 20)), 20)) == offsets
        assert {"20"} == {q["limit"] for q in queries}
        assert {"any"} == {q["type"] for q in queries}
        us = next(r for r, country in zip(results, COUNTRY_NAMES, strict=True) if country == "US")
        assert us.stats.pages >= 5
        assert any(r.shared for r in sandbox.records if r.expected_valid)
        assert any(isinstance(r.raw.get("lata"), str) for r in sandbox.records if r.expected_valid)
        assert any("mms_enabled" not in r.raw for r in sandbox.records if r.expected_valid)

    def check_refusal(self, error: ProviderHTTPError) -> None:
        assert 401 == error.status_code

    @pytest.mark.anyio
    async def test_type_pattern_and_services_narrow_on_the_server(self, served: tuple[Sandbox, str]) -> None:
        """type=tollfree, pattern=<area code>, services=voice,sms: the sandbox filters, results match the truth."""
        sandbox, base_url = served
        valid_us = [r for r in sandbox.records if r.expected_valid and r.country == "US"]
        area = next(r for r in valid_us if r.number_type == "local").e164[2:5]
        async with self.adapter(sandbox, base_url) as adapter:
            start = len(sandbox.log)
            toll_free = await adapter.search(SearchQuery(country="US", number_type=NumberType.TOLL_FREE))
            prefixed = await adapter.search(SearchQuery(country="US", prefix=area))
            texting = await adapter.search(SearchQuery(country="US", capabilities=(Capability.VOICE, Capability.SMS)))
            national = await adapter.search(SearchQuery(country="GB", number_type=NumberType.NATIONAL))

        assert {r.offer_id for r in valid_us if r.number_type == "toll-free"} == {o.offer_id for o in toll_free.offers}
        assert {r.offer_id for r in valid_us if r.e164.startswith("+1" + area)} == {o.offer_id for o in prefixed.offers}
        sms = {r.offer_id for r in valid_us if r.raw["sms_enabled"] is True}
        assert sms == {o.offer_id for o in texting.offers}
        gb = [r for r in sandbox.records if r.expected_valid and r.country == "GB"]
        assert {r.offer_id for r in gb if r.number_type == "national"} == {o.offer_id for o in national.offers}
        assert national.offers
        assert national.stats.excluded["number_type"] == sum(1 for r in gb if r.number_type == "local")
        sent = [dict(entry.query) for entry in sandbox.log[start:]]
        assert {("tollfree", None, None), ("any", area, None), ("any", None, "voice,sms"), ("fixed", None, None)} == {
            (q["type"], q.get("pattern"), q.get("services")) for q in sent
        }
