"""Fuzzing the Telnyx adapter: structure-aware random answers through the real adapter.

Records start from real sandbox records (valid and defective) and are mutated field by field, nested
fields included (``cost_information.monthly_cost``, ``features.0.name``, ``region_information.1.region_type``):
deleted, retyped, nulled, made huge, negative, non-finite or unicode. Queries with no number type fan out
to one request per type of the country's plan, all answered alike. Envelopes (``data``, ``meta``,
``metadata``) are mutated the same way, and some bodies are broken outright. The only outcomes allowed are
offers, rejected records, or a ``ProviderResponseError``; every record is accounted for, and no record trips
the base class's "unexpected record shape" safety net.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from numbroker import NumberType, SearchQuery
from numbroker.testing.fuzz import (
    check_exact_prices,
    check_page,
    check_record,
    mangled_body,
    mutated_records,
    replaying,
)
from numbroker_providers.telnyx import TelnyxProvider
from numbroker_providers.telnyx.sandbox import create_app

SANDBOX = create_app(seed=3, size=60)
BASE = [record.raw for record in SANDBOX.records]
COUNTRIES = sorted({record.country for record in SANDBOX.records})
FIELDS = (
    "phone_number",
    "record_type",
    "vanity_format",
    "best_effort",
    "quickship",
    "reservable",
    "features",
    "features.0",
    "features.0.name",
    "region_information",
    "region_information.0",
    "region_information.0.region_type",
    "region_information.0.region_name",
    "region_information.1.region_name",
    "cost_information",
    "cost_information.upfront_cost",
    "cost_information.monthly_cost",
    "cost_information.currency",
)
ENVELOPE = ("data", "meta", "metadata")
TYPES = (None, NumberType.LOCAL, NumberType.MOBILE, NumberType.TOLL_FREE, NumberType.NATIONAL, NumberType.SHARED_COST)
NUMERIC = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def records() -> st.SearchStrategy[Any]:
    """Real records with fields deleted or replaced by junk (see numbroker.testing.fuzz)."""
    return mutated_records(BASE, FIELDS)


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, int]:
    """(a response body, how many records it carries)."""
    items = draw(st.lists(records(), max_size=12))
    envelope: dict[str, Any] = {"data": items, "meta": {"total_results": len(items), "best_effort_results": 0}}
    body = mangled_body(draw, envelope, ENVELOPE)  # mutates the envelope: count what is actually served
    served = envelope.get("data")
    return body, len(served) if isinstance(served, list) else 0


def provider(body: bytes, seen: list[httpx.Request] | None = None) -> TelnyxProvider:
    return replaying(TelnyxProvider, body, seen, api_key="KEYfuzzcanary", base_url="https://api.telnyx.com/v2")


@NUMERIC
@given(body=bodies(), country=st.sampled_from(COUNTRIES), number_type=st.sampled_from(TYPES))
def test_random_answers_give_offers_rejections_or_a_response_error(
    body: tuple[bytes, int], country: str, number_type: NumberType | None
) -> None:
    """Any answer is offers plus rejected records (each record accounted for) or a ProviderResponseError."""
    content, count = body
    query = SearchQuery(country=country, number_type=number_type)
    requests = len(provider(b"").search_types(query))
    seen: list[httpx.Request] = []
    check_page(provider(content, seen), query, served=count, seen=seen, requests=requests, roots=FIELDS)


@settings(max_examples=150, deadline=None)
@given(record=records(), country=st.sampled_from(COUNTRIES))
@example(
    record={"phone_number": "+13125550123", "cost_information": {"monthly_cost": "1", "currency": []}}, country="US"
)
@example(
    record={"phone_number": "+13125550123", "region_information": [{"region_type": [], "region_name": 1}]}, country="US"
)
def test_normalize_record_never_raises(record: Any, country: str) -> None:
    """normalize_record turns any record into an offer or a rejection naming a reason, and never raises."""
    check_record(provider(b""), record, SearchQuery(country=country), FIELDS)


def test_exact_money_survives_the_wire() -> None:
    """Sanity for the harness: an untouched sandbox answer normalizes every valid record, exactly priced."""
    valid = [r for r in SANDBOX.records if r.expected_valid and r.country == "GB" and r.number_type == "local"]
    body = json.dumps({"data": [r.raw for r in valid], "meta": {"total_results": len(valid)}}).encode()

    check_exact_prices(
        provider(body), SearchQuery(country="GB", number_type=NumberType.LOCAL), {r.offer_id: r.monthly for r in valid}
    )
