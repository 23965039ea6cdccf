"""Searches against the real provider APIs. Marked `live`: never run by default or in CI.

Run with real credentials in the environment: ``pytest -m live tests/live``. Each provider is skipped
unless its credential variables are set.
"""

from __future__ import annotations

import pytest

from numbroker import ProviderStatus, Searcher, SearchQuery, get_provider_class

pytestmark = [pytest.mark.live, pytest.mark.anyio]


@pytest.mark.parametrize("provider_id", ["vobiz", "bird", "identitycall"])
async def test_real_search_answers(provider_id: str) -> None:
    """A real account answers a US search with a report that is ok or empty, never an error."""
    cls = get_provider_class(provider_id)
    if not cls.is_configured():
        pytest.skip(f"set {', '.join(cls.missing_env())} to run")
    async with Searcher.from_env([provider_id], timeout=60) as searcher:
        result = await searcher.search(SearchQuery(country="US", limit=5))

    report = result.providers[0]
    assert report.status in (ProviderStatus.OK, ProviderStatus.EMPTY), report.error
