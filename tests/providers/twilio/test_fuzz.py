"""Fuzzing the Twilio adapter: random search answers and random price lists through the real adapter.

Search records start from real sandbox records (valid and defective) and are mutated field by field,
nested capability keys included; envelopes are mutated the same way and some bodies broken outright.
The only outcomes allowed are offers, rejected records naming a field Twilio sent, or a
``ProviderResponseError``; every record is accounted for, and none trips the base class's "unexpected
record shape" safety net. Price lists are fuzzed on their own: whatever the Pricing API answers, the
search still answers, and an offer's price is one the list states for its type, or none at all.
"""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal, InvalidOperation
from typing import Any

import anyio
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from numbroker import NumberType, ProviderResponseError, RetryPolicy, SearchQuery
from numbroker.testing.fuzz import (
    check_exact_prices,
    check_offer,
    check_record,
    check_rejected,
    mangled_body,
    mutated_records,
    safety_net,
)
from numbroker_providers.twilio import TwilioProvider
from numbroker_providers.twilio.sandbox import PRICE_LISTS, create_app

SANDBOX = create_app(seed=3, size=60)
BASE = [record.raw for record in SANDBOX.records]
COUNTRIES = sorted({record.country for record in SANDBOX.records})
FIELDS = (
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
ENVELOPE = ("available_phone_numbers", "uri", "next_page_uri")
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
NUMERIC = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CREDENTIALS: dict[str, Any] = {"account_sid": "AC" + "f0" * 16, "auth_token": "fuzz-token", "env": {}}


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
    async def search() -> Any:
        async with provider:
            try:
                return await provider.search(query)
            except ProviderResponseError as exc:
                return exc

    with safety_net() as caught:
        outcome = anyio.run(search)
    assert [] == [r.getMessage() for r in caught]
    return outcome


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, int]:
    """(a search answer, how many records it carries)."""
    items = draw(st.lists(mutated_records(BASE, FIELDS), max_size=12))
    envelope: dict[str, Any] = {"available_phone_numbers": items, "uri": "/x"}
    body = mangled_body(draw, envelope, ENVELOPE)  # mutates the envelope: count what is actually served
    served = envelope.get("available_phone_numbers")
    return body, len(served) if isinstance(served, list) else 0


@NUMERIC
@given(body=bodies(), country=st.sampled_from(COUNTRIES), number_type=st.sampled_from(TYPES))
def test_random_answers_give_offers_rejections_or_a_response_error(
    body: tuple[bytes, int], country: str, number_type: NumberType
) -> None:
    """Any answer is offers plus rejected records (each record accounted for) or a ProviderResponseError."""
    content, count = body
    query = SearchQuery(country=country, number_type=number_type)
    seen: list[httpx.Request] = []
    outcome = run(adapter(content, json.dumps(price_list(country)).encode(), seen), query)

    assert 2 == len(seen)  # the search and the price list
    if isinstance(outcome, ProviderResponseError):
        assert "twilio" == outcome.provider
        return
    stats = outcome.stats
    assert count == stats.offers + stats.rejected + stats.duplicates + sum(stats.excluded.values())
    for offer in outcome.offers:
        check_offer(offer, "twilio", query)
        assert offer.setup_price is None
    for rejected in outcome.rejected:
        check_rejected(rejected, "twilio", FIELDS)


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


@NUMERIC
@given(data=st.data(), country=st.sampled_from(COUNTRIES), number_type=st.sampled_from(TYPES))
def test_any_price_list_leaves_offers_priced_as_stated_or_unpriced(
    data: st.DataObject, country: str, number_type: NumberType
) -> None:
    """Whatever the Pricing API answers, the search answers; a price is one the list states, or none."""
    valid = [
        r
        for r in SANDBOX.records
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

    assert not isinstance(outcome, ProviderResponseError)
    assert sorted(r.offer_id for r in valid) == sorted(o.offer_id for o in outcome.offers)
    for offer in outcome.offers:
        if offer.monthly_price is not None:
            assert offer.monthly_price.amount in amounts
    if any(o.monthly_price is None for o in outcome.offers):
        assert any("unpriced" in note for note in outcome.stats.notes)


@settings(max_examples=150, deadline=None)
@given(record=mutated_records(BASE, FIELDS), country=st.sampled_from(COUNTRIES))
def test_normalize_record_never_raises(record: Any, country: str) -> None:
    """normalize_record turns any record into an offer or a rejection naming a reason, and never raises."""
    check_record(TwilioProvider(**CREDENTIALS), record, SearchQuery(country=country), FIELDS)


def test_exact_money_survives_the_wire() -> None:
    """Sanity for the harness: an untouched answer and price list give every valid record its exact price."""
    valid = [r for r in SANDBOX.records if r.expected_valid and r.country == "GB" and r.number_type == "toll-free"]
    search = json.dumps({"available_phone_numbers": [r.raw for r in valid]}).encode()
    provider = adapter(search, json.dumps(price_list("GB")).encode(), [])

    check_exact_prices(
        provider, SearchQuery(country="GB", number_type=NumberType.TOLL_FREE), {r.offer_id: r.monthly for r in valid}
    )
    assert {Decimal("2.00")} == {r.monthly for r in valid}
