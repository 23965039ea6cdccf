"""A read-only search against the real Vonage API. Marked ``live``: runs whenever its credentials are set.

Run with real credentials in the environment: ``pytest -m live tests/providers/vonage/test_live.py``;
skipped unless ``VONAGE_API_KEY`` and ``VONAGE_API_SECRET`` are set. Nothing is bought.
"""

from __future__ import annotations

import pytest

from numbroker import ProviderStatus, Searcher, SearchQuery
from numbroker_providers.vonage import VonageProvider

pytestmark = [pytest.mark.live, pytest.mark.anyio]


async def test_a_real_gb_search_answers_in_assumed_euros() -> None:
    """A real account answers a GB search (ok or empty, never an error); offers are EUR, assumed, no setup price."""
    if not VonageProvider.is_configured():
        pytest.skip(f"set {', '.join(VonageProvider.missing_env())} to run")
    async with Searcher.from_env(["vonage"], timeout=60) as searcher:
        result = await searcher.search(SearchQuery(country="GB", limit=5))

    report = result.providers[0]
    assert report.status in (ProviderStatus.OK, ProviderStatus.EMPTY), report.error
    for ranked in result.offers:
        offer = ranked.offer
        assert offer.setup_price is None and offer.monthly_price is not None
        assert ("EUR", True) == (offer.monthly_price.currency, offer.provider_details["currency_assumed"])
