"""Fuzzing the Plivo adapter: structure-aware random search pages through the real adapter.

Records start from real sandbox records (valid and defective) and are mutated field by field; envelopes
(``api_id``, ``meta``, ``objects``) are mutated the same way, and some bodies are broken outright. Hostile
values follow. See :class:`numbroker.testing.fuzz.FuzzSuite` for what every outcome must be.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from numbroker import SearchQuery
from numbroker.testing.fuzz import FuzzSuite
from numbroker_providers.plivo import PlivoProvider


class TestPlivoFuzz(FuzzSuite):
    provider_class = PlivoProvider
    credentials: ClassVar[Mapping[str, str]] = {"auth_id": "MAFUZZCANARY01", "auth_token": "canary/plivo token"}
    base_url = "https://api.plivo.example/v1"
    size = 80
    fields = (
        "number",
        "country",
        "region",
        "city",
        "rate_center",
        "prefix",
        "lata",
        "type",
        "sub_type",
        "setup_rate",
        "monthly_rental_rate",
        "voice_enabled",
        "sms_enabled",
        "mms_enabled",
        "restriction",
        "restriction_text",
        "currency",
    )
    envelope_keys = ("api_id", "meta", "objects")
    records_key = "objects"
    exact_query = SearchQuery(country="US")
    exact_count = 19  # one short page
    record_examples = (
        ({"number": "14155552671", "country": "UNITED STATES", "currency": []}, "US"),
        ({"number": "14155552671", "country": "UNITED STATES", "lata": 1.5, "region": {}}, "US"),
    )

    def envelope(self, records: list[Any]) -> dict[str, Any]:
        """A short page, so one request answers the search."""
        meta = {"limit": 20, "next": None, "offset": 0, "previous": None, "total_count": len(records)}
        return {"api_id": "fuzz", "meta": meta, "objects": records}
