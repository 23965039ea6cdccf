"""The shared provider contract, run against the Vonage adapter served by its sandbox in-process."""

from __future__ import annotations

from typing import ClassVar

import httpx

from numbroker import Provider
from numbroker.testing.contract import ProviderContract
from numbroker_providers.vonage import VonageProvider
from numbroker_providers.vonage.sandbox import create_app

SANDBOX = create_app(seed=2)


class TestVonageContract(ProviderContract):
    provider_class: ClassVar[type[Provider]] = VonageProvider

    def environment(self) -> dict[str, str]:
        return dict(SANDBOX.env)

    def valid_transport(self) -> httpx.AsyncBaseTransport:
        return httpx.ASGITransport(app=SANDBOX.app)

    def base_url(self) -> str:
        return "http://127.0.0.1" + SANDBOX.base_path
