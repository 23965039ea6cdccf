"""Error answers in the error tree: one status table, the vendors' error envelopes, bounded bodies."""

from __future__ import annotations

import httpx
import pytest

from numbroker import (
    AuthenticationError,
    BadRequestError,
    InsufficientFundsError,
    NotFoundError,
    PermissionDeniedError,
    ProviderHTTPError,
    ProviderUnavailableError,
    RateLimitedError,
)
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


def test_rate_limited_error_carries_retry_after() -> None:
    """A 429 exposes the parsed Retry-After in seconds."""
    error = error_for_status("bird", httpx.Response(429, headers={"Retry-After": "7"}), "")

    assert isinstance(error, RateLimitedError)
    assert 7.0 == error.retry_after


def test_body_is_truncated() -> None:
    """Vendor bodies kept on errors are bounded."""
    error = error_for_status("vobiz", httpx.Response(500), "x" * 5000)

    assert len(error.body) <= 500
