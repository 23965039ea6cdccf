"""Shared fixtures: every async test runs on asyncio and trio; the environment is scrubbed."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

PROVIDER_ENV_PREFIXES = ("VOBIZ_", "BIRD_", "IDENTITYCALL_", "TWILIO_", "NUMBROKER_")
PROXY_VARS = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run every ``@pytest.mark.anyio`` test on both backends."""
    return str(request.param)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests never see the developer's credentials, base URLs or proxies."""
    for name in list(os.environ):
        if name.startswith(PROVIDER_ENV_PREFIXES) or name in PROXY_VARS:
            monkeypatch.delenv(name, raising=False)
    yield
