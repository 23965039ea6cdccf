"""Read-only searches against the real Twilio API. Marked ``live``: never run by default or in CI.

Run with a real account in the environment: ``TWILIO_ACCOUNT_SID=AC… TWILIO_AUTH_TOKEN=… pytest -m live
tests/providers/twilio``. Nothing is bought; skipped unless both variables are set. The variables are read
when this module is imported, before the suite's fixture hides provider variables from every test.
"""

from __future__ import annotations

import os

import pytest

from numbroker import NumberType, ProviderStatus, Searcher, SearchQuery
from numbroker_providers.twilio import TwilioProvider

pytestmark = [pytest.mark.live, pytest.mark.anyio]

ENV = {k: v for k, v in os.environ.items() if k.startswith("TWILIO_")}


async def test_a_real_local_search_is_priced_from_the_pricing_api() -> None:
    """A US Local search answers ok (or empty), capped at about 30 numbers, each priced by the price list."""
    if not TwilioProvider.is_configured(ENV):
        pytest.skip(f"set {', '.join(TwilioProvider.missing_env(ENV))} to run")
    async with Searcher([TwilioProvider(env=ENV)], timeout=60, own_providers=True) as searcher:
        result = await searcher.search(SearchQuery(country="US", number_type=NumberType.LOCAL))

    (report,) = result.providers
    assert report.status in (ProviderStatus.OK, ProviderStatus.EMPTY), report.error
    assert report.offers <= 40
    if report.offers >= 30:
        assert report.truncated
    for ranked in result.offers:
        assert ranked.offer.setup_price is None
        assert ranked.offer.number_type is NumberType.LOCAL
    if result.offers and not any("unpriced" in note for note in report.notes):
        assert all(r.offer.monthly_price is not None for r in result.offers)
