"""Read-only searches against the real Twilio API (see numbroker.testing.live): run whenever credentials are set.

Run with a real account in the environment: ``TWILIO_ACCOUNT_SID=AC… TWILIO_AUTH_TOKEN=… pytest -m live
tests/providers/twilio``. Nothing is bought.
"""

from __future__ import annotations

from numbroker import NumberType, SearchQuery, SearchResult
from numbroker.testing.live import LiveSuite


class TestTwilioLive(LiveSuite):
    provider_id = "twilio"
    query = SearchQuery(country="US", number_type=NumberType.LOCAL)

    def check(self, result: SearchResult) -> None:
        """Capped at about 30 numbers (then reported truncated), each local, priced by the price list."""
        (report,) = result.providers
        assert report.offers <= 40
        if report.offers >= 30:
            assert report.truncated
        for ranked in result.offers:
            assert ranked.offer.setup_price is None
            assert ranked.offer.number_type is NumberType.LOCAL
        if result.offers and not any("unpriced" in note for note in report.notes):
            assert all(r.offer.monthly_price is not None for r in result.offers)
