"""A read-only search against the real Plivo API (see numbroker.testing.live): runs whenever its credentials are set.

Run with real credentials: ``PLIVO_AUTH_ID=… PLIVO_AUTH_TOKEN=… pytest -m live tests/providers/plivo``. Nothing
is bought.
"""

from __future__ import annotations

from numbroker import SearchQuery, SearchResult
from numbroker.testing.live import LiveSuite


class TestPlivoLive(LiveSuite):
    provider_id = "plivo"
    query = SearchQuery(country="US")
    per_provider_limit = 30  # two pages of 20

    def check(self, result: SearchResult) -> None:
        """Two pages of US numbers: valid offers in assumed USD, every record an offer or a named rejection."""
        offers = [ranked.offer for ranked in result.offers]
        assert offers, result.rejected
        assert all(o.provider == "plivo" and o.country == "US" for o in offers)
        assert all(o.monthly_price is None or o.monthly_price.currency == "USD" for o in offers)
        assert all(o.provider_details.get("currency_assumed") is True for o in offers)
        assert all(r.field and r.reason for r in result.rejected)
