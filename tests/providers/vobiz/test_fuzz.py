"""Fuzzing the Vobiz adapter: structure-aware random inventory pages through the real adapter.

Records start from real sandbox records (valid and defective) and are mutated field by field: deleted,
retyped, nulled, made huge, negative, non-finite or unicode. Envelopes are mutated the same way, and
some bodies are broken outright. The only outcomes allowed are offers, rejected records, or a
``ProviderResponseError``; every record is accounted for, and no record trips the base class's
"unexpected record shape" safety net (that would mean the adapter let a bad shape through unjudged).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from numbroker import SearchQuery
from numbroker.testing.fuzz import (
    check_exact_prices,
    check_page,
    check_record,
    mangled_body,
    mutated_records,
    replaying,
)
from numbroker_providers.vobiz import VobizProvider
from numbroker_providers.vobiz.sandbox import create_app

SANDBOX = create_app(seed=3, size=60)
BASE = [record.raw for record in SANDBOX.records]
COUNTRIES = sorted({record.country for record in SANDBOX.records})
FIELDS = ("id", "e164", "country", "region", "status", "setup_fee", "monthly_fee", "monthly_cost", "currency")
ENVELOPE = ("items", "page", "per_page", "total")
NUMERIC = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def records() -> st.SearchStrategy[Any]:
    """Real records with fields deleted or replaced by junk (see numbroker.testing.fuzz)."""
    return mutated_records(BASE, FIELDS)


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, int]:
    """(a response body, how many records it carries); a short page, so one request answers the search."""
    items = draw(st.lists(records(), max_size=12))
    envelope: dict[str, Any] = {"items": items, "page": 1, "per_page": 100, "total": len(items)}
    body = mangled_body(draw, envelope, ENVELOPE)  # mutates the envelope: count what is actually served
    served = envelope.get("items")
    return body, len(served) if isinstance(served, list) else 0


def provider(body: bytes, seen: list[httpx.Request] | None = None) -> VobizProvider:
    return replaying(
        VobizProvider,
        body,
        seen,
        auth_id="MA_FUZZ_ID",
        auth_token="fuzz-token",
        base_url="https://api.vobiz.example/api",
    )


@NUMERIC
@given(body=bodies(), country=st.sampled_from(COUNTRIES))
def test_random_pages_give_offers_rejections_or_a_response_error(body: tuple[bytes, int], country: str) -> None:
    """Any page is offers plus rejected records (each record accounted for) or a ProviderResponseError."""
    content, count = body
    query = SearchQuery(country=country)
    seen: list[httpx.Request] = []
    check_page(provider(content, seen), query, served=count, seen=seen, requests=1, roots=FIELDS)


@settings(max_examples=150, deadline=None)
@given(record=records(), country=st.sampled_from(COUNTRIES))
@example(
    record={
        "id": "x1",
        "e164": "+31654023139",
        "country": "NL",
        "status": "active",
        "monthly_fee": 1.4,
        "currency": [],
    },
    country="NL",
)  # an unhashable currency (found by this test)
def test_normalize_record_never_raises(record: Any, country: str) -> None:
    """normalize_record turns any record into an offer or a rejection naming a reason, and never raises."""
    check_record(provider(b""), record, SearchQuery(country=country), FIELDS)


def test_exact_money_survives_the_wire() -> None:
    """Sanity for the harness: an untouched sandbox page normalizes every valid record, exactly priced."""
    valid = [r for r in SANDBOX.records if r.expected_valid and r.country == "US"]
    body = json.dumps({"items": [r.raw for r in valid], "page": 1, "per_page": 100, "total": len(valid)}).encode()

    check_exact_prices(provider(body), SearchQuery(country="US"), {r.offer_id: r.monthly for r in valid})
