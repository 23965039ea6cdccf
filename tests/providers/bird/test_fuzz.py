"""Fuzzing the Bird adapter: structure-aware random numbers-stock-items pages through the real adapter.

Records start from real sandbox stock items (valid and defective) and are mutated field by field, nested
fields included (``monthlyPrice.exponent``, ``capabilities.sms.inbound``); envelopes are mutated the same
way (a last page, or one whose token repeats), and some bodies are broken outright. Hostile values follow.
See :class:`numbroker.testing.fuzz.FuzzSuite` for what every outcome must be.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from hypothesis import strategies as st

from numbroker import SearchQuery
from numbroker.testing.fuzz import FuzzSuite
from numbroker_providers.bird import BirdProvider


class TestBirdFuzz(FuzzSuite):
    provider_class = BirdProvider
    credentials: ClassVar[Mapping[str, str]] = {"access_key": "canary/bird+key=", "organization_id": "org-fuzz-canary"}
    base_url = "https://api.bird.example"
    fields = (
        "id",
        "countryCode",
        "type",
        "numberString",
        "capabilities",
        "capabilities.voice",
        "capabilities.sms.inbound",
        "capabilities.mms.outbound",
        "monthlyPrice",
        "monthlyPrice.currencyCode",
        "monthlyPrice.amount",
        "monthlyPrice.exponent",
        "backOrderRequired",
        "backOrderStockId",
    )
    extra_roots = ("monthly_price", "currency")
    envelope_keys = ("results", "nextPageToken")
    records_key = "results"
    exact_query = SearchQuery(country="NL")
    record_examples = (
        (
            {
                "id": "x1",
                "numberString": "+31205660577",
                "countryCode": "NL",
                "monthlyPrice": {"currencyCode": [], "amount": 1, "exponent": 0},
            },
            "NL",
        ),  # an unhashable currency (found by this test)
    )

    def envelope(self, records: list[Any]) -> dict[str, Any]:
        return {"results": records, "nextPageToken": ""}

    def envelopes(self, records: list[Any]) -> st.SearchStrategy[dict[str, Any]]:
        """A last page (an empty token, or none), or a page whose token repeats."""
        return st.sampled_from(
            [{"results": records, "nextPageToken": "tok"}, self.envelope(records), {"results": records}]
        )
