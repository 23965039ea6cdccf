"""The shared provider contract, run against Telnyx served by its sandbox (a query without a type fans out)."""

from __future__ import annotations

from numbroker.testing.contract import SandboxContract


class TestTelnyxContract(SandboxContract):
    provider_id = "telnyx"
