"""Shared fixtures of the provider tests: ``numbroker owned --sandbox`` run as a user runs it, and a real adapter
on a sandbox served over loopback."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from numbroker import get_provider_class
from numbroker.adapters import Provider
from numbroker.sandbox import Sandbox
from numbroker.testing.integration import IntegrationSuite


@pytest.fixture
def sandbox_owned_json(tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """``numbroker owned --sandbox --provider PROVIDER --format json [ARGS]``'s document, through the real entry point.

    The environment is the test's (scrubbed of credentials and base URLs) with an empty data folder, so
    the command sees only the sandbox it starts.
    """

    def run(provider: str, *args: str) -> dict[str, Any]:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "numbroker",
                "owned",
                "--sandbox",
                "--provider",
                provider,
                "--format",
                "json",
                *args,
            ],
            env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        document: dict[str, Any] = json.loads(done.stdout)
        return document

    return run


@pytest.fixture
async def served_adapter() -> AsyncIterator[Callable[..., Awaitable[Provider]]]:
    """``await serve(sandbox, **options)``: the sandbox served on loopback and its provider's real adapter on it.

    Every server is stopped and every adapter closed after the test.
    """
    with contextlib.ExitStack() as served:
        opened: list[Provider] = []

        async def serve(sandbox: Sandbox, **options: Any) -> Provider:
            base_url = served.enter_context(IntegrationSuite.serving(sandbox))
            adapter = get_provider_class(sandbox.name)(env=sandbox.env, base_url=base_url, **options)
            opened.append(adapter)
            return adapter

        yield serve
        for adapter in opened:
            await adapter.aclose()
