"""Fuzzing the IdentityCall adapter: structure-aware random answers through the real adapter.

Entries start from real sandbox entries of both shapes (flat and Telnyx-nested, valid and defective)
and are mutated field by field, nested fields included (``cost_information.monthly_cost``,
``features.0``, ``region_information.0.region_name``). Queries with no number type fan out to four
requests, all answered alike. Hostile values follow. See :class:`numbroker.testing.fuzz.FuzzSuite` for
what every outcome must be.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from numbroker import NumberType, SearchQuery
from numbroker.testing.fuzz import FuzzSuite
from numbroker_providers.identitycall import IdentityCallProvider

REQUESTS = {None: 4, NumberType.SHARED_COST: 0}
"""Requests a query sends by number type (one otherwise): no type fans out over the four vendor types."""


class TestIdentityCallFuzz(FuzzSuite):
    provider_class = IdentityCallProvider
    credentials: ClassVar[Mapping[str, str]] = {"api_key": 'idc_canary/"key"'}
    base_url = "https://api.identitycall.example/api/v1/public"
    fields = (
        "phone_number",
        "country_code",
        "number_type",
        "upfront_cost",
        "monthly_cost",
        "currency",
        "features",
        "features.0",
        "features.1.name",
        "region_information",
        "region_information.0",
        "region_information.0.region_type",
        "region_information.0.region_name",
        "cost_information",
        "cost_information.upfront_cost",
        "cost_information.monthly_cost",
        "cost_information.currency",
        "best_effort",
        "quickship",
    )
    envelope_keys = ("data",)
    records_key = "data"
    query_types = (
        None,
        NumberType.MOBILE,
        NumberType.LOCAL,
        NumberType.TOLL_FREE,
        NumberType.NATIONAL,
        NumberType.SHARED_COST,
    )
    hostile_type = NumberType.LOCAL
    exact_query = SearchQuery(country="NL", number_type=NumberType.LOCAL)
    record_examples = (
        (
            {"phone_number": "+12126450955", "country_code": "US", "monthly_cost": "1.00", "currency": []},
            "US",
        ),  # an unhashable currency (found by this test)
    )

    def envelope(self, records: list[Any]) -> dict[str, Any]:
        return {"data": records}

    def requests_for(self, query: SearchQuery) -> int:
        return REQUESTS.get(query.number_type, 1)
