"""Fuzzing the Vobiz adapter: structure-aware random inventory pages through the real adapter.

Records start from real sandbox records (valid and defective) and are mutated field by field; envelopes
are mutated the same way, and some bodies are broken outright. Hostile values follow. See
:class:`numbroker.testing.fuzz.FuzzSuite` for what every outcome must be.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from numbroker import SearchQuery
from numbroker.testing.fuzz import FuzzSuite
from numbroker_providers.vobiz import VobizProvider


class TestVobizFuzz(FuzzSuite):
    provider_class = VobizProvider
    credentials: ClassVar[Mapping[str, str]] = {"auth_id": "MA_FUZZ_CANARY", "auth_token": "canary/vobiz+token"}
    base_url = "https://api.vobiz.example/api"
    fields = ("id", "e164", "country", "region", "status", "setup_fee", "monthly_fee", "monthly_cost", "currency")
    envelope_keys = ("items", "page", "per_page", "total")
    records_key = "items"
    exact_query = SearchQuery(country="US")
    record_examples = (
        (
            {
                "id": "x1",
                "e164": "+31654023139",
                "country": "NL",
                "status": "active",
                "monthly_fee": 1.4,
                "currency": [],
            },
            "NL",
        ),  # an unhashable currency (found by this test)
    )

    def envelope(self, records: list[Any]) -> dict[str, Any]:
        """A short page, so one request answers the search."""
        return {"items": records, "page": 1, "per_page": 100, "total": len(records)}
