"""The shared provider contract, run against Vonage served by its sandbox."""

from __future__ import annotations

from numbroker.testing.contract import SandboxContract


class TestVonageContract(SandboxContract):
    provider_id = "vonage"
    seed = 2
