"""Fuzzing the Telnyx adapter: structure-aware random answers through the real adapter.

Records start from real sandbox records (valid and defective) and are mutated field by field, nested
fields included (``cost_information.monthly_cost``, ``features.0.name``, ``region_information.1.region_type``).
Queries with no number type fan out to one request per type of the country's plan, all answered alike.
Envelopes (``data``, ``meta``, ``metadata``) are mutated the same way, and some bodies are broken outright.
Hostile values follow. See :class:`numbroker.testing.fuzz.FuzzSuite` for what every outcome must be.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from numbroker import NumberType, SearchQuery
from numbroker.testing.fuzz import FuzzSuite
from numbroker_providers.telnyx import TelnyxProvider


class TestTelnyxFuzz(FuzzSuite):
    provider_class = TelnyxProvider
    credentials: ClassVar[Mapping[str, str]] = {
        "api_key": "KEY" + "C4N4RYF022" * 3 + "AB_canary/telnyx+key"
    }  # at least the minimum length
    base_url = "https://api.telnyx.example/v2"
    fields = (
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
    envelope_keys = ("data", "meta", "metadata")
    records_key = "data"
    query_types = (
        None,
        NumberType.LOCAL,
        NumberType.MOBILE,
        NumberType.TOLL_FREE,
        NumberType.NATIONAL,
        NumberType.SHARED_COST,
    )
    exact_query = SearchQuery(country="GB", number_type=NumberType.LOCAL)
    record_examples = (
        ({"phone_number": "+13125550123", "cost_information": {"monthly_cost": "1", "currency": []}}, "US"),
        ({"phone_number": "+13125550123", "region_information": [{"region_type": [], "region_name": 1}]}, "US"),
    )

    def envelope(self, records: list[Any]) -> dict[str, Any]:
        return {"data": records, "meta": {"total_results": len(records), "best_effort_results": 0}}

    def requests_for(self, query: SearchQuery) -> int:
        """One request per number type the query asks (every type of the country's plan when it names none)."""
        return len(TelnyxProvider(api_key=self.credentials["api_key"]).search_types(query))
