"""A read-only search against the real Plivo API. Marked `live`: runs whenever its credentials are set.

Run with real credentials: ``PLIVO_AUTH_ID=… PLIVO_AUTH_TOKEN=… pytest -m live tests/providers/plivo``. The
variables are read when this module is imported (the suite scrubs provider variables from every test's
environment), and the test is skipped without them. Nothing is bought.
"""

from __future__ import annotations

import os

import pytest

from numbroker import SearchQuery
from numbroker_providers.plivo import PlivoProvider

pytestmark = [pytest.mark.live, pytest.mark.anyio]

LIVE_ENV = {name: value for name, value in os.environ.items() if name.startswith("PLIVO_")}


async def test_a_real_us_search_pages_and_normalizes() -> None:
    """Two pages of US numbers: valid offers in assumed USD, every record an offer or a named rejection."""
    if not PlivoProvider.is_configured(LIVE_ENV):
        pytest.skip(f"set {', '.join(PlivoProvider.missing_env(LIVE_ENV))} to run")
    async with PlivoProvider(env=LIVE_ENV, timeout=60) as provider:
        result = await provider.search(SearchQuery(country="US"), max_offers=30)

    assert result.offers, result.rejected
    assert all(o.provider == "plivo" and o.country == "US" for o in result.offers)
    assert all(o.monthly_price is None or o.monthly_price.currency == "USD" for o in result.offers)
    assert all(o.provider_details.get("currency_assumed") is True for o in result.offers)
    assert all(r.field and r.reason for r in result.rejected)
