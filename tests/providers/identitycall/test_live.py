"""A read-only search against the real IdentityCall API (see numbroker.testing.live), whenever credentials are set.

Run with real credentials in the environment: ``pytest -m live tests/providers/identitycall``. Nothing is bought.
"""

from __future__ import annotations

from numbroker import SearchQuery
from numbroker.testing.live import LiveSuite


class TestIdentityCallLive(LiveSuite):
    provider_id = "identitycall"
    query = SearchQuery(country="US", limit=5)
