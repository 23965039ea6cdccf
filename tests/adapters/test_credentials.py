"""Credentials from arguments, else environment variables; a missing one named with both."""

from __future__ import annotations

import pytest

from numbroker import (
    MissingCredentialsError,
)

from .vendors import (
    SECRET,
    NumberedWire,
)


def test_credentials_from_env_and_missing_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing credential names the keyword and the env var; the env var is read when set."""
    with pytest.raises(MissingCredentialsError, match="api_key= \\(or env WIRE_API_KEY\\)"):
        NumberedWire()

    monkeypatch.setenv("WIRE_API_KEY", SECRET)
    provider = NumberedWire()

    assert SECRET not in repr(provider)
    assert NumberedWire.is_configured()
