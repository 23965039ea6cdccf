"""Shared fixture of the provider tests: ``numbroker owned --sandbox`` run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


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
