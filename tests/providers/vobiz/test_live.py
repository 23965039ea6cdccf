"""A read-only search against the real Vobiz API (see numbroker.testing.live): runs whenever its credentials are set.

Run with real credentials in the environment: ``pytest -m live tests/providers/vobiz``. Nothing is bought.
"""

from __future__ import annotations

from numbroker import SearchQuery
from numbroker.testing.live import LiveSuite


class TestVobizLive(LiveSuite):
    provider_id = "vobiz"
    query = SearchQuery(country="US", limit=5)
