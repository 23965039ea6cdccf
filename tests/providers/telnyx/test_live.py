"""A read-only search against the real Telnyx API. Marked ``live``: never run by default or in CI.

Run with a real key: ``TELNYX_API_KEY=... pytest -m live tests/providers/telnyx/test_live.py``. The
credentials are read when this module is imported, before the suite's fixtures scrub the environment.
Nothing is bought.
"""

from __future__ import annotations

import os

import pytest

from numbroker import NumberType, ProviderStatus, Searcher, SearchQuery
from numbroker_providers.telnyx import TelnyxProvider

pytestmark = [pytest.mark.live, pytest.mark.anyio]

LIVE_ENV = {name: os.environ[name] for name in TelnyxProvider.env_vars() if os.environ.get(name)}


async def test_real_search_answers_typed_exact_offers() -> None:
    """A real US local search answers ok or empty; every offer is typed local and priced in a stated currency."""
    if not TelnyxProvider.is_configured(LIVE_ENV):
        pytest.skip(f"set {', '.join(TelnyxProvider.missing_env(LIVE_ENV))} to run")
    provider = TelnyxProvider(env=LIVE_ENV)
    async with Searcher([provider], timeout=60, own_providers=True) as searcher:
        result = await searcher.search(SearchQuery(country="US", number_type=NumberType.LOCAL, prefix="312", limit=5))

    report = result.providers[0]
    assert report.status in (ProviderStatus.OK, ProviderStatus.EMPTY), report.error
    for ranked in result.offers:
        assert NumberType.LOCAL == ranked.offer.number_type
        assert ranked.offer.e164.startswith("+1312")
