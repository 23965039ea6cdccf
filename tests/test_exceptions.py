"""The error tree: builtin mixins, pickling, Retry-After and secrets."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

import httpx
import pytest

import numbroker
from numbroker import (
    AuthenticationError,
    BadRequestError,
    InsufficientFundsError,
    MissingCredentialsError,
    NotFoundError,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderError,
    ProviderHTTPError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)
from numbroker.adapters import parse_retry_after
from numbroker.adapters._http_errors import error_for_status


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (402, InsufficientFundsError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, BadRequestError),
        (418, BadRequestError),
        (422, BadRequestError),
        (429, RateLimitedError),
        (500, ProviderUnavailableError),
        (503, ProviderUnavailableError),
        (302, BadRequestError),
    ],
)
def test_one_status_table(status: int, cls: type[ProviderHTTPError]) -> None:
    """Every status maps to exactly one class of the tree, carrying provider and status."""
    error = error_for_status("vobiz", httpx.Response(status), "")

    assert cls is type(error)
    assert "vobiz" == error.provider
    assert status == error.status_code
    assert str(error).startswith("vobiz: ")


def test_vendor_envelopes_give_message_and_request_id() -> None:
    """Vobiz's, IdentityCall's and Bird's error bodies all yield a readable message."""
    vobiz = '{"status":"error","error":{"code":"INSUFFICIENT_BALANCE","message":"too low"},"requestId":"req_1"}'
    error = error_for_status("vobiz", httpx.Response(402), vobiz)
    assert "INSUFFICIENT_BALANCE: too low" in str(error)
    assert "req_1" == error.request_id
    assert "bad country" in str(error_for_status("identitycall", httpx.Response(422), '{"error": "bad country"}'))
    assert "a; b" in str(error_for_status("identitycall", httpx.Response(422), '{"errors": ["a", "b"]}'))
    assert "X: y" in str(error_for_status("bird", httpx.Response(400), '{"code": "X", "message": "y"}'))


def test_retry_after_seconds_and_http_date() -> None:
    """Retry-After is parsed from delta-seconds and from an HTTP date."""
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)

    assert 3.0 == parse_retry_after("3")
    assert 120.0 == parse_retry_after("Thu, 01 Jan 2026 12:02:00 GMT", now=now)
    assert 0.0 == parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_rate_limited_error_carries_retry_after() -> None:
    """A 429 exposes the parsed Retry-After in seconds."""
    error = error_for_status("bird", httpx.Response(429, headers={"Retry-After": "7"}), "")

    assert isinstance(error, RateLimitedError)
    assert 7.0 == error.retry_after


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


def test_body_is_truncated() -> None:
    """Vendor bodies kept on errors are bounded."""
    error = error_for_status("vobiz", httpx.Response(500), "x" * 5000)

    assert len(error.body) <= 500
