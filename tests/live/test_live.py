"""Searches against the real provider APIs, marked ``live``: they run whenever their credentials are set.

Each provider's test runs when its credential variables are in the environment pytest was started
with, and is skipped, naming the variables to set, when they are not (so CI, which has none, skips
them all). ``pytest -m live`` runs only these; ``pytest -m "not live"`` leaves them out.
The credentials are read once, when this module is imported: every test's environment is scrubbed of
provider variables (``tests/conftest.py``), so no other test can see them.
"""

from __future__ import annotations

import os

import pytest

from numbroker import ProviderStatus, Searcher, SearchQuery, get_provider_class

pytestmark = [pytest.mark.live, pytest.mark.anyio]

LIVE_ENV = {k: v for k, v in os.environ.items() if k.startswith(("VOBIZ_", "BIRD_", "IDENTITYCALL_"))}
"""The provider variables of the environment pytest was started in."""


@pytest.mark.parametrize("provider_id", ["vobiz", "bird", "identitycall"])
async def test_real_search_answers(provider_id: str) -> None:
    """A real account answers a US search with a report that is ok or empty, never an error."""
    cls = get_provider_class(provider_id)
    if not cls.is_configured(LIVE_ENV):
        pytest.skip(f"live {provider_id} test: set {', '.join(cls.missing_env(LIVE_ENV))} to run it")
    async with Searcher.from_env([provider_id], env=LIVE_ENV, timeout=60) as searcher:
        result = await searcher.search(SearchQuery(country="US", limit=5))

    report = result.providers[0]
    assert report.status in (ProviderStatus.OK, ProviderStatus.EMPTY), report.error
