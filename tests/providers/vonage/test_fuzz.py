"""Fuzzing the Vonage adapter: structure-aware random search answers through the real adapter.

Records start from real sandbox records (valid and defective) and are mutated field by field
(``features.0`` too); envelopes (``count``, ``numbers``) are mutated the same way, and some bodies are
broken outright. Hostile values follow. See :class:`numbroker.testing.fuzz.FuzzSuite` for what every
outcome must be. And a stray ``error-code`` in the body: other than 200, it is the HTTP error it names
or a ``ProviderResponseError``, never an empty success.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

import anyio
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from numbroker import ProviderHTTPError, SearchQuery
from numbroker.testing.fuzz import FuzzSuite
from numbroker_providers.vonage import VonageProvider


class TestVonageFuzz(FuzzSuite):
    provider_class = VonageProvider
    credentials: ClassVar[Mapping[str, str]] = {"api_key": "c4n4ry5e", "api_secret": "canary/vonage secret"}
    base_url = "https://rest.vonage.example"
    fields = ("country", "msisdn", "cost", "type", "features", "features.0", "features.1")
    envelope_keys = ("count", "numbers")
    records_key = "numbers"
    exact_query = SearchQuery(country="GB")
    record_settings = settings(max_examples=200, deadline=None)

    def envelope(self, records: list[Any]) -> dict[str, Any]:
        """A short page, so one request answers the search."""
        return {"count": len(records), "numbers": records}

    def countries(self) -> list[str]:
        """The countries the records are listed under, as Vonage writes them."""
        return sorted({str(record.raw["country"]) for record in self.sandbox().records})

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        code=st.one_of(st.text(max_size=6), st.integers(-10, 1000), st.none(), st.booleans()),
        label=st.text(max_size=20),
    )
    @example(code="200", label="success")
    @example(code="401", label="authentication failed")
    @example(code=" 200", label="success?")
    @example(code="201", label="created")
    def test_an_error_code_in_the_body_is_never_an_empty_success(self, code: Any, label: str) -> None:
        """A search answer with an ``error-code`` is that error (or a response error) unless the code is 200."""
        body = json.dumps({"error-code": code, "error-code-label": label}).encode()

        async def search() -> Any:
            async with self.provider(body) as adapter:
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
