"""Fuzzing the Twilio adapter: random search answers and random price lists through the real adapter.

Search records start from real sandbox records (valid and defective) and are mutated field by field,
nested capability keys included; envelopes are mutated the same way and some bodies broken outright; the
price list asked beside each search is the sandbox's. Hostile values follow. See
:class:`numbroker.testing.fuzz.FuzzSuite` for what every outcome must be. Price lists are fuzzed on their
own: whatever the Pricing API answers, the search still answers, and an offer's price is one the list
states for its type, or none at all.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st

from numbroker import NumberType, ProviderError, ProviderResponseError, RetryPolicy, SearchQuery
from numbroker.adapters import ProviderResult
from numbroker.testing.fuzz import FuzzSuite, mangled_body, mutated_records, safety_net, search_outcome
from numbroker_providers.twilio import TwilioProvider
from numbroker_providers.twilio.sandbox import PRICE_LISTS

CREDENTIALS = {"account_sid": "AC" + "f0" * 16, "auth_token": "canary/twilio token"}
PRICE_FIELDS = (
    "price_unit",
    "phone_number_prices",
    "phone_number_prices.0",
    "phone_number_prices.0.number_type",
    "phone_number_prices.0.current_price",
    "phone_number_prices.0.base_price",
    "phone_number_prices.1.current_price",
    "phone_number_prices.1.number_type",
)
TYPES = (NumberType.LOCAL, NumberType.MOBILE, NumberType.TOLL_FREE, NumberType.NATIONAL)


def price_list(country: str) -> dict[str, Any]:
    unit, rows = PRICE_LISTS[country]
    return {
        "country": country,
        "iso_country": country,
        "price_unit": unit,
        "phone_number_prices": [{"number_type": t, "base_price": str(b), "current_price": str(c)} for t, b, c in rows],
    }


def adapter(search: bytes, pricing: bytes, seen: list[httpx.Request]) -> TwilioProvider:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = pricing if request.url.host.startswith("pricing") else search
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    return TwilioProvider(transport=httpx.MockTransport(handle), retry=RetryPolicy(attempts=1), **CREDENTIALS)


def run(provider: TwilioProvider, query: SearchQuery) -> Any:
    with safety_net() as caught:
        outcome = search_outcome(provider, query)
    assert [] == [r.getMessage() for r in caught]
    return outcome


def stated(body: Any) -> set[Decimal]:
    """Every amount a (possibly mangled) price list states as a current price."""
    rows = body.get("phone_number_prices") if isinstance(body, dict) else None
    out: set[Decimal] = set()
    for row in rows if isinstance(rows, list) else []:
        value = row.get("current_price") if isinstance(row, dict) else None
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            with contextlib.suppress(InvalidOperation):
                out.add(Decimal(str(value).strip()))
    return out


@st.composite
def price_lists(draw: st.DrawFn, country: str) -> tuple[bytes, set[Decimal]]:
    record = draw(mutated_records([price_list(country)], PRICE_FIELDS))
    envelope = record if isinstance(record, dict) else {"junk": record}
    content = mangled_body(draw, envelope, ("price_unit", "phone_number_prices"))
    try:
        parsed = json.loads(content)
    except (ValueError, RecursionError):
        parsed = None
    return content, stated(parsed)


class TestTwilioFuzz(FuzzSuite):
    provider_class = TwilioProvider
    credentials = CREDENTIALS
    fields = (
        "phone_number",
        "friendly_name",
        "iso_country",
        "region",
        "locality",
        "postal_code",
        "lata",
        "rate_center",
        "latitude",
        "address_requirements",
        "beta",
        "capabilities",
        "capabilities.voice",
        "capabilities.SMS",
        "capabilities.MMS",
        "capabilities.fax",
    )
    envelope_keys = ("available_phone_numbers", "uri", "next_page_uri")
    records_key = "available_phone_numbers"
    query_types = TYPES
    hostile_type = NumberType.LOCAL
    exact_query = SearchQuery(country="GB", number_type=NumberType.TOLL_FREE)

    def envelope(self, records: list[Any]) -> dict[str, Any]:
        return {"available_phone_numbers": records, "uri": "/x"}

    def route(self, request: httpx.Request) -> bytes | None:
        """The price list of the country asked, as the Pricing API states it."""
        if not request.url.host.startswith("pricing"):
            return None
        return json.dumps(price_list(request.url.path.rsplit("/", 1)[-1])).encode()

    def requests_for(self, query: SearchQuery) -> int:
        return 2  # the search and the price list

    def pages_for(self, query: SearchQuery) -> int:
        return 1

    def check_outcome(
        self, query: SearchQuery, outcome: ProviderResult | ProviderResponseError, seen: Sequence[httpx.Request]
    ) -> None:
        """The price list is asked even when the search answer fails; no offer has a setup price."""
        assert 2 == len(seen)  # the search and the price list
        for offer in [] if isinstance(outcome, ProviderResponseError) else outcome.offers:
            assert offer.setup_price is None

    def test_any_price_list_leaves_offers_priced_as_stated_or_unpriced(self) -> None:
        """Whatever the Pricing API answers, the search answers; a price is one the list states, or none."""

        @self.page_settings
        @given(data=st.data(), country=st.sampled_from(self.countries()), number_type=st.sampled_from(TYPES))
        def check(data: st.DataObject, country: str, number_type: NumberType) -> None:
            valid = [
                r
                for r in self.sandbox().records
                if r.expected_valid
                and r.country == country
                and r.number_type
                == {
                    NumberType.LOCAL: "local",
                    NumberType.MOBILE: "mobile",
                    NumberType.TOLL_FREE: "toll-free",
                    NumberType.NATIONAL: "national",
                }[number_type]
            ]
            search = json.dumps({"available_phone_numbers": [r.raw for r in valid], "uri": "/x"}).encode()
            pricing, amounts = data.draw(price_lists(country))
            outcome = run(adapter(search, pricing, []), SearchQuery(country=country, number_type=number_type))

            assert not isinstance(outcome, ProviderError)
            assert sorted(r.offer_id for r in valid) == sorted(o.offer_id for o in outcome.offers)
            for offer in outcome.offers:
                if offer.monthly_price is not None:
                    assert offer.monthly_price.amount in amounts
            if any(o.monthly_price is None for o in outcome.offers):
                assert any("unpriced" in note for note in outcome.stats.notes)

        check()

    def test_the_exact_money_sample_is_priced_by_the_price_list(self) -> None:
        """Sanity for the harness: the exact-money page's records are priced 2.00 by the sandbox's price list."""
        query = self.exact_query
        valid = [
            r for r in self.sandbox().records if r.expected_valid and r.country == "GB" and r.number_type == "toll-free"
        ]

        assert query == SearchQuery(country="GB", number_type=NumberType.TOLL_FREE)
        assert {Decimal("2.00")} == {r.monthly for r in valid}
