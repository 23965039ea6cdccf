"""The provider base: configuration from arguments and the environment."""

from __future__ import annotations

import pytest

from .vendors import (
    NumberedWire,
)


def test_base_url_override_by_argument_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The argument wins over <ID>_BASE_URL, which wins over the default."""
    assert "https://wire.example" == NumberedWire(api_key="canary-key").base_url
    monkeypatch.setenv("WIRE_BASE_URL", "http://127.0.0.1:9000/")
    assert "http://127.0.0.1:9000" == NumberedWire(api_key="canary-key").base_url
    assert (
        "https://other.example/v2" == NumberedWire(api_key="canary-key", base_url="https://other.example/v2").base_url
    )
