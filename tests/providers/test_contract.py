"""The shared provider contract, run against each built-in provider served by its sandbox."""

from __future__ import annotations

from typing import ClassVar

import httpx

from numbroker import Provider, SearchQuery, get_provider_class
from numbroker.sandbox import Sandbox, create_sandboxes
from numbroker.testing.contract import ProviderContract


class SandboxContract(ProviderContract):
    """Serves valid pages from the provider's own sandbox, in-process."""

    provider_id: ClassVar[str]
    _sandbox: ClassVar[Sandbox | None] = None

    @classmethod
    def sandbox(cls) -> Sandbox:
        if cls._sandbox is None or cls._sandbox.name != cls.provider_id:
            cls._sandbox = create_sandboxes([cls.provider_id])[cls.provider_id]
        return cls._sandbox

    def environment(self) -> dict[str, str]:
        return dict(self.sandbox().env)

    def valid_transport(self) -> httpx.AsyncBaseTransport:
        return httpx.ASGITransport(app=self.sandbox().app)

    def base_url(self) -> str:
        return "http://127.0.0.1" + self.sandbox().base_path


class TestVobizContract(SandboxContract):
    provider_id = "vobiz"
    provider_class: ClassVar[type[Provider]] = get_provider_class("vobiz")


class TestBirdContract(SandboxContract):
    provider_id = "bird"
    provider_class: ClassVar[type[Provider]] = get_provider_class("bird")


class TestIdentityCallContract(SandboxContract):
    provider_id = "identitycall"
    provider_class: ClassVar[type[Provider]] = get_provider_class("identitycall")
    query = SearchQuery(country="US")
