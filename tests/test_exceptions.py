"""The error tree: builtin mixins, pickling, Retry-After and secrets."""

from __future__ import annotations

import pickle

import pytest

import numbroker
from numbroker import (
    AuthenticationError,
    MissingCredentialsError,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
)


@pytest.mark.parametrize(
    "error",
    [
        ProviderError("bird", "x"),
        ProviderTimeoutError("bird", "slow"),
        ProviderConnectionError("bird", "down"),
        RateLimitedError("bird", "slow down", body="b", headers={"Retry-After": "1"}, retry_after=1.0),
        PermissionDeniedError("bird", "no", status_code=403, body="{}", request_id="r"),
        MissingCredentialsError("bird", {"access_key": "BIRD_ACCESS_KEY"}),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_survive_pickling(error: Exception) -> None:
    """Errors cross process boundaries intact (searches may run in worker processes)."""
    clone = pickle.loads(pickle.dumps(error))

    assert type(error) is type(clone)
    assert str(error) == str(clone)
    assert vars(error) == vars(clone)


def test_builtin_mixins() -> None:
    """Callers can catch TimeoutError, ConnectionError, ValueError and LookupError generically."""
    assert issubclass(ProviderTimeoutError, TimeoutError)
    assert issubclass(ProviderConnectionError, ConnectionError)
    assert issubclass(numbroker.ConfigurationError, ValueError)
    assert issubclass(numbroker.UnknownProviderError, LookupError)
    assert issubclass(PermissionDeniedError, AuthenticationError)


def test_missing_credentials_names_argument_and_variable_not_value() -> None:
    """The message tells the next step: the keyword argument and the environment variable."""
    error = MissingCredentialsError("vobiz", {"auth_token": "VOBIZ_AUTH_TOKEN"})

    assert "auth_token=" in str(error)
    assert "VOBIZ_AUTH_TOKEN" in str(error)
