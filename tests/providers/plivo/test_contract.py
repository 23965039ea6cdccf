"""The shared provider contract, run against the Plivo adapter served by its sandbox in-process."""

from __future__ import annotations

from typing import ClassVar

import httpx

from numbroker import Provider, SearchQuery
from numbroker.sandbox import Sandbox
from numbroker.testing.contract import ProviderContract
from numbroker_providers.plivo import PlivoProvider
from numbroker_providers.plivo.sandbox import create_app

SANDBOX: Sandbox = create_app()


class TestPlivoContract(ProviderContract):
    provider_class: ClassVar[type[Provider]] = PlivoProvider
    query = SearchQuery(country="GB")

    def environment(self) -> dict[str, str]:
        return dict(SANDBOX.env)

    def valid_transport(self) -> httpx.AsyncBaseTransport:
        return httpx.ASGITransport(app=SANDBOX.app)

    def base_url(self) -> str:
        return "http://127.0.0.1" + SANDBOX.base_path
