"""The shared provider contract, run against the Telnyx adapter served by its sandbox in-process."""

from __future__ import annotations

from typing import ClassVar

import httpx

from numbroker import Provider, SearchQuery
from numbroker.testing.contract import ProviderContract
from numbroker_providers.telnyx import TelnyxProvider
from numbroker_providers.telnyx.sandbox import create_app

SANDBOX = create_app(seed=0)


class TestTelnyxContract(ProviderContract):
    """Valid answers come from the Telnyx sandbox; a query without a type fans out over four types."""

    provider_class: ClassVar[type[Provider]] = TelnyxProvider
    query = SearchQuery(country="US")

    def environment(self) -> dict[str, str]:
        return dict(SANDBOX.env)

    def valid_transport(self) -> httpx.AsyncBaseTransport:
        return httpx.ASGITransport(app=SANDBOX.app)

    def base_url(self) -> str:
        return "http://127.0.0.1" + SANDBOX.base_path
