"""Fuzzing the Vonage adapter: structure-aware random search answers through the real adapter.

Records start from real sandbox records (valid and defective) and are mutated field by field: deleted,
retyped, nulled, made huge, negative, non-finite or unicode (``features.0`` too). Envelopes (``count``,
``numbers``, and a stray ``error-code``) are mutated the same way, and some bodies are broken outright.
The only outcomes allowed are offers, rejected records naming a Vonage field, or a ``ProviderResponseError``
(an ``error-code`` other than 200 in the body may also be the HTTP error it names); every record is
accounted for, and none trips the base class's "unexpected record shape" safety net.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from numbroker import ProviderHTTPError, SearchQuery
from numbroker.testing.fuzz import (
    check_exact_prices,
    check_page,
    check_record,
    mangled_body,
    mutated_records,
    replaying,
)
from numbroker_providers.vonage import VonageProvider
from numbroker_providers.vonage.sandbox import create_app

SANDBOX = create_app(seed=3, size=60)
BASE = [record.raw for record in SANDBOX.records]
COUNTRIES = sorted({str(record.raw["country"]) for record in SANDBOX.records})
FIELDS = ("country", "msisdn", "cost", "type", "features", "features.0", "features.1")
ENVELOPE = ("count", "numbers")
NUMERIC = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def records() -> st.SearchStrategy[Any]:
    """Real records with fields deleted or replaced by junk (see numbroker.testing.fuzz)."""
    return mutated_records(BASE, FIELDS)


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, int]:
    """(a response body, how many records it carries); a short page, so one request answers the search."""
    numbers = draw(st.lists(records(), max_size=12))
    envelope: dict[str, Any] = {"count": len(numbers), "numbers": numbers}
    body = mangled_body(draw, envelope, ENVELOPE)  # mutates the envelope: count what is actually served
    served = envelope.get("numbers")
    return body, len(served) if isinstance(served, list) else 0


def provider(body: bytes, seen: list[httpx.Request] | None = None) -> VonageProvider:
    return replaying(
        VonageProvider, body, seen, api_key="fuzzkey1", api_secret="fuzz-secret", base_url="https://rest.example"
    )


@NUMERIC
@given(body=bodies(), country=st.sampled_from(COUNTRIES))
def test_random_pages_give_offers_rejections_or_a_response_error(body: tuple[bytes, int], country: str) -> None:
    """Any page is offers plus rejected records (each record accounted for) or a ProviderResponseError."""
    content, count = body
    query = SearchQuery(country=country)
    seen: list[httpx.Request] = []
    check_page(provider(content, seen), query, served=count, seen=seen, requests=1, roots=FIELDS)


@NUMERIC
@given(
    code=st.one_of(st.text(max_size=6), st.integers(-10, 1000), st.none(), st.booleans()), label=st.text(max_size=20)
)
@example(code="200", label="success")
@example(code="401", label="authentication failed")
@example(code=" 200", label="success?")
@example(code="201", label="created")
def test_an_error_code_in_the_body_is_never_an_empty_success(code: Any, label: str) -> None:
    """A search answer with an ``error-code`` is that error (or a response error) unless the code is 200."""
    body = json.dumps({"error-code": code, "error-code-label": label}).encode()

    async def search() -> Any:
        async with provider(body) as adapter:
            try:
                return await adapter.search(SearchQuery(country="GB"))
            except ProviderHTTPError as exc:
                return exc
            except Exception as exc:  # only ProviderResponseError is allowed besides the HTTP errors
                assert "ProviderResponseError" == type(exc).__name__, exc
                return exc

    outcome = anyio.run(search)

    if code is None or str(code) == "200":
        assert ([], []) == (outcome.offers, outcome.rejected)
    else:
        assert isinstance(outcome, Exception)
    if isinstance(outcome, ProviderHTTPError):
        assert str(code).strip() == str(outcome.status_code)
        assert 300 <= outcome.status_code <= 599


@settings(max_examples=200, deadline=None)
@given(record=records(), country=st.sampled_from(COUNTRIES))
def test_normalize_record_never_raises(record: Any, country: str) -> None:
    """normalize_record turns any record into an offer or a rejection naming a reason, and never raises."""
    check_record(provider(b""), record, SearchQuery(country=country), FIELDS)


def test_exact_money_survives_the_wire() -> None:
    """Sanity for the harness: an untouched sandbox page normalizes every valid record, exactly priced."""
    valid = [r for r in SANDBOX.records if r.expected_valid and r.country == "GB"]
    body = json.dumps({"count": len(valid), "numbers": [r.raw for r in valid]}).encode()

    check_exact_prices(provider(body), SearchQuery(country="GB"), {r.offer_id: r.monthly for r in valid})
