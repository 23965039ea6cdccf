"""The shared provider contract, run against Plivo served by its sandbox."""

from __future__ import annotations

from numbroker import SearchQuery
from numbroker.testing.contract import SandboxContract


class TestPlivoContract(SandboxContract):
    provider_id = "plivo"
    query = SearchQuery(country="GB")
