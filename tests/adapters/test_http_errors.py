"""Error answers in the error tree: one status table, the vendors' error envelopes, bounded bodies."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping
from typing import Any

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
from numbroker.adapters import ErrorEnvelope, wire
from numbroker.adapters._http_errors import error_for_status

from .vendors import Capped, build_capped


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


# -- the vendor's error envelope ---------------------------------------------------------------------


class Envelope(Capped):
    """A vendor whose errors are ``{"fault": {"id", "text"}, "trace"}``, the text starting with its own title."""

    def _error_envelope(self, body: Any, headers: Mapping[str, str]) -> ErrorEnvelope:
        fault = wire.pick(body, "fault", dict)
        if fault is None:
            return super()._error_envelope(body, headers)
        return ErrorEnvelope(
            message=wire.pick(fault, "text", str),
            code=str(fault["id"]),
            request_id=wire.pick(body, "trace", str),
            titled=True,
        )


def answering(status: int, body: Any, **headers: str) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, json=body, headers=headers)


@pytest.mark.anyio
async def test_the_adapters_envelope_reader_makes_the_message_and_stays_on_the_error() -> None:
    """Its message follows the status (titled: in place of the reason phrase); code and message stay on the error."""
    body = {"fault": {"id": 21422, "text": "Number Gone: +14155550100 was taken"}, "trace": "t-9"}
    async with build_capped(Envelope, answering(409, body)) as provider:
        with pytest.raises(BadRequestError) as caught:
            await provider.connection.get(provider.connection.url("items"))
    error = caught.value

    assert "HTTP 409: Number Gone: +14155550100 was taken" == error.detail
    assert ("21422", "Number Gone: +14155550100 was taken", "t-9") == (
        error.vendor_code,
        error.vendor_message,
        error.request_id,
    )
    clone = pickle.loads(pickle.dumps(error.recast(NotFoundError)))
    assert ("21422", "t-9") == (clone.vendor_code, clone.request_id)


@pytest.mark.anyio
async def test_without_a_reader_of_its_own_a_provider_reads_the_common_shapes() -> None:
    async with build_capped(Capped, answering(404, {"error": {"code": "gone", "message": "no such number"}})) as p:
        with pytest.raises(NotFoundError) as caught:
            await p.connection.get(p.connection.url("items"))

    assert "HTTP 404 Not Found: gone: no such number" == caught.value.detail
    assert "gone: no such number" == caught.value.vendor_message
    assert caught.value.vendor_code is None


class Broken(Capped):
    def _error_envelope(self, body: Any, headers: Mapping[str, str]) -> ErrorEnvelope:
        raise KeyError("fault")


@pytest.mark.anyio
async def test_a_reader_that_cannot_read_a_body_leaves_the_status_line_alone() -> None:
    """A hostile body that makes the adapter's reader fail is still the status's error, never another exception."""
    async with build_capped(Broken, answering(503, {"odd": True})) as provider:
        with pytest.raises(ProviderUnavailableError) as caught:
            await provider.connection.get(provider.connection.url("items"))

    assert "HTTP 503 Service Unavailable" == caught.value.detail


@pytest.mark.anyio
async def test_an_answer_read_as_another_status_is_that_statuss_error_its_body_redacted() -> None:
    """A vendor reporting a failure in a 2xx body's own code: Connection.error reads it as that status."""
    secret = "canary-secret-0b5e"
    answer = httpx.Response(200, json={"error-code": "429", "echo": secret}, headers={"Retry-After": "3"})
    async with build_capped(Capped, answering(200, {})) as provider:
        provider.connection.add_secret(secret)
        error = provider.connection.error(answer, status=429, message="HTTP 200 with error-code '429'")

    assert isinstance(error, RateLimitedError)
    assert (429, 3.0, "HTTP 200 with error-code '429'") == (error.status_code, error.retry_after, error.detail)
    assert secret not in error.body and "***" in error.body
