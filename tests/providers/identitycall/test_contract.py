"""The shared provider contract, run against IdentityCall served by its sandbox."""

from __future__ import annotations

from numbroker.testing.contract import SandboxContract


class TestIdentityCallContract(SandboxContract):
    provider_id = "identitycall"
