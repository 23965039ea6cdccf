"""The shared provider contract, run against Bird served by its sandbox."""

from __future__ import annotations

from numbroker.testing.contract import SandboxContract


class TestBirdContract(SandboxContract):
    provider_id = "bird"
