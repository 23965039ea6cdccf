"""The real IdentityCall adapter against its sandbox, over loopback HTTP (see numbroker.testing.integration)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from numbroker import AuthenticationError, AvailableNumber, BadRequestError, NumberType, SearchQuery
from numbroker.adapters import ProviderResult, decimal_from_string
from numbroker.sandbox import Sandbox, SandboxRecord, ServedRequest
from numbroker.testing.integration import IntegrationSuite, Refusal
from numbroker_providers.identitycall.sandbox import BUCKETS

COUNTRIES = sorted({country for country, _ in BUCKETS})
TYPES = {"mobile": NumberType.MOBILE, "local": NumberType.LOCAL, "toll-free": NumberType.TOLL_FREE}
TYPES["national"] = NumberType.NATIONAL
PRICE_DEFECTS = ("garbage_price", "nan_price", "negative_price")


def readable(value: Any) -> bool:
    with contextlib.suppress(ValueError):
        decimal_from_string(value)
        return True
    return False


class TestIdentityCallIntegration(IntegrationSuite):
    provider_id = "identitycall"
    refusals = (
        Refusal(AuthenticationError, env={"IDENTITYCALL_API_KEY": "idc_" + "0" * 32}),
        Refusal(BadRequestError, SearchQuery(country="KP", number_type=NumberType.LOCAL), says="not supported"),
        Refusal(BadRequestError, SearchQuery(country="KP"), says="not supported"),  # refused for every type
    )

    def countries(self, sandbox: Sandbox) -> list[str]:
        return COUNTRIES

    def defect_field(self, record: SandboxRecord) -> str | None:
        """A bad number is rejected on ``phone_number``; a bad price on the price, where the entry's shape has it."""
        if record.defect not in PRICE_DEFECTS:
            return "phone_number"
        nested = isinstance(record.raw.get("cost_information"), dict)
        prices = record.raw["cost_information"] if nested else record.raw
        name = "monthly_cost"
        if record.defect == "garbage_price":
            name = next(name for name in ("upfront_cost", "monthly_cost") if not readable(prices.get(name)))
        return f"cost_information.{name}" if nested else name

    def check_offer(self, record: SandboxRecord, offer: AvailableNumber) -> None:
        assert (record.e164, record.country, record.region) == (offer.e164, offer.country, offer.region)
        assert TYPES[record.number_type or ""] == offer.number_type
        assert offer.setup_price is not None and offer.monthly_price is not None
        assert (record.upfront, record.monthly) == (offer.setup_price.amount, offer.monthly_price.amount)
        currency = record.currency or "USD"
        assert (currency, currency) == (offer.setup_price.currency, offer.monthly_price.currency)
        assert (record.currency is None) == bool(offer.provider_details.get("currency_assumed"))

    def check_requests(
        self, sandbox: Sandbox, sent: Sequence[ServedRequest], results: Sequence[ProviderResult]
    ) -> None:
        """One request per country and vendor number type."""
        queries = [dict(entry.query) for entry in sent]
        assert all(q["number_type"] in TYPES for q in queries)
        assert len(COUNTRIES) * len(TYPES) == len(queries)
