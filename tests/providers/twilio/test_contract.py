"""The shared provider contract, run against the Twilio adapter served by its sandbox in-process."""

from __future__ import annotations

from typing import ClassVar

import httpx

from numbroker import Provider, SearchQuery
from numbroker.sandbox import Sandbox
from numbroker.testing.contract import ProviderContract
from numbroker_providers.twilio import TwilioProvider
from numbroker_providers.twilio.sandbox import create_app

SANDBOX: Sandbox = create_app(seed=2)


class TestTwilioContract(ProviderContract):
    """Valid pages come from the sandbox: the search path and the price list on one in-process app."""

    provider_class: ClassVar[type[Provider]] = TwilioProvider
    query = SearchQuery(country="GB")

    def environment(self) -> dict[str, str]:
        return dict(SANDBOX.env)

    def valid_transport(self) -> httpx.AsyncBaseTransport:
        return httpx.ASGITransport(app=SANDBOX.app)

    def base_url(self) -> str:
        return "http://127.0.0.1" + SANDBOX.base_path
