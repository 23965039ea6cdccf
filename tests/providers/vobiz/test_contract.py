"""The shared provider contract, run against Vobiz served by its sandbox."""

from __future__ import annotations

from numbroker.testing.contract import SandboxContract


class TestVobizContract(SandboxContract):
    provider_id = "vobiz"
