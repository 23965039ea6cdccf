"""A read-only search against the real Vonage API (see numbroker.testing.live): runs whenever credentials are set.

Run with real credentials in the environment: ``pytest -m live tests/providers/vonage/test_live.py``; skipped
unless ``VONAGE_API_KEY`` and ``VONAGE_API_SECRET`` are set. Nothing is bought.
"""

from __future__ import annotations

from numbroker import SearchQuery, SearchResult
from numbroker.testing.live import LiveSuite


class TestVonageLive(LiveSuite):
    provider_id = "vonage"
    query = SearchQuery(country="GB", limit=5)

    def check(self, result: SearchResult) -> None:
        """Offers are in euros, assumed (Vonage states no currency), with no setup price."""
        for ranked in result.offers:
            offer = ranked.offer
            assert offer.setup_price is None and offer.monthly_price is not None
            assert ("EUR", True) == (offer.monthly_price.currency, offer.provider_details["currency_assumed"])
