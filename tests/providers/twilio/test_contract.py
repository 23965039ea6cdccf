"""The shared provider contract, run against Twilio served by its sandbox (the search and the price list)."""

from __future__ import annotations

from numbroker import SearchQuery
from numbroker.testing.contract import SandboxContract


class TestTwilioContract(SandboxContract):
    provider_id = "twilio"
    seed = 2
    query = SearchQuery(country="GB")
