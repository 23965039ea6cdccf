"""A read-only search against the real Bird API (see numbroker.testing.live): runs whenever its credentials are set.

Run with real credentials in the environment: ``pytest -m live tests/providers/bird``. Nothing is bought.
"""

from __future__ import annotations

from numbroker import SearchQuery
from numbroker.testing.live import LiveSuite


class TestBirdLive(LiveSuite):
    provider_id = "bird"
    query = SearchQuery(country="US", limit=5)
