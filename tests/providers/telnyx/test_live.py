"""A read-only search against the real Telnyx API (see numbroker.testing.live): runs whenever its key is set.

Run with a real key: ``TELNYX_API_KEY=... pytest -m live tests/providers/telnyx/test_live.py``. Nothing is bought.
"""

from __future__ import annotations

from numbroker import NumberType, SearchQuery, SearchResult
from numbroker.testing.live import LiveSuite


class TestTelnyxLive(LiveSuite):
    provider_id = "telnyx"
    query = SearchQuery(country="US", number_type=NumberType.LOCAL, prefix="312", limit=5)

    def check(self, result: SearchResult) -> None:
        """Every offer is typed local and starts with the prefix asked."""
        for ranked in result.offers:
            assert NumberType.LOCAL == ranked.offer.number_type
            assert ranked.offer.e164.startswith("+1312")
