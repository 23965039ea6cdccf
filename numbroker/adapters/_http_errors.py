"""The error answers of every vendor, mapped onto the error tree: one status → exception table.

Each vendor writes its error bodies its own way. An adapter says how to read its own with the
``_error_envelope(body, headers)`` hook, returning an :class:`ErrorEnvelope`; the base class reads the
common shapes (:func:`read_error_envelope`). The envelope's message follows the HTTP status in the
error's message, and its code and message stay on the error (``vendor_code``, ``vendor_message``) for the
adapter to tell one refusal from another without reading the body again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from numbroker._exceptions import (
    AuthenticationError,
    BadRequestError,
    InsufficientFundsError,
    NotFoundError,
    PermissionDeniedError,
    ProviderHTTPError,
    ProviderUnavailableError,
    RateLimitedError,
)
from numbroker.adapters._retry import parse_retry_after

__all__ = [
    "STATUS_ERRORS",
    "ErrorEnvelope",
    "error_for_status",
    "error_json",
    "read_error_envelope",
    "retry_after_header",
]

STATUS_ERRORS: dict[int, type[ProviderHTTPError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientFundsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: BadRequestError,
    422: BadRequestError,
    429: RateLimitedError,
}
"""The one status → exception table. Other 4xx → BadRequestError, 5xx → ProviderUnavailableError."""


@dataclass(frozen=True, slots=True)
class ErrorEnvelope:
    """What a vendor's error answer says of itself, as its adapter reads it.

    Attributes:
        message: the vendor's account of the failure (its code, title, message), shown after the status:
            ``HTTP 404 Not Found: <message>``; None when the body says nothing readable.
        code: the vendor's own error code (a number not available, say), kept on the error as ``vendor_code``.
        request_id: the vendor's request id, kept on the error (and in the purchase audit log).
        titled: the message starts with the vendor's own title for the status (``10011 Too many requests``),
            which then stands in for HTTP's reason phrase: ``HTTP 429: <message>``.
    """

    message: str | None = None
    code: str | None = None
    request_id: str | None = None
    titled: bool = False


def error_json(body: str) -> Any:
    """The JSON value of an error body, or None when it is not JSON (an HTML page, a cut-off body)."""
    try:
        return json.loads(body)
    except ValueError:
        return None


def _common_message(data: Mapping[str, Any], error: Any) -> str | None:
    """``error: {code, message}``, ``error: "..."``, ``errors: [...]`` or ``{code?, message}``."""
    if isinstance(error, dict):
        return ": ".join(str(p) for p in (error.get("code"), error.get("message")) if p) or None
    if isinstance(error, str):
        return error or None
    errors = data.get("errors")
    if isinstance(errors, list):
        return "; ".join(str(e) for e in errors) or None
    message = data.get("message")
    if isinstance(message, str):
        code = data.get("code")
        return (f"{code}: {message}" if code else message) or None
    return None


def read_error_envelope(body: Any) -> ErrorEnvelope:
    """The common error shapes, read leniently: the default of ``Provider._error_envelope``.

    ``{"error": {"code", "message"}}``, ``{"error": "..."}``, ``{"errors": [...]}`` or ``{"code", "message"}``,
    with a request id at ``requestId``/``request_id`` (or inside ``error``).
    """
    if not isinstance(body, dict):
        return ErrorEnvelope()
    error = body.get("error")
    nested: Mapping[str, Any] = error if isinstance(error, dict) else {}
    request_id = body.get("requestId") or body.get("request_id") or nested.get("request_id") or nested.get("requestId")
    return ErrorEnvelope(message=_common_message(body, error), request_id=str(request_id) if request_id else None)


def retry_after_header(response: httpx.Response) -> float | None:
    """The seconds a response's ``Retry-After`` header asks to wait (delta-seconds or an HTTP date), or None."""
    return parse_retry_after(response.headers.get("retry-after"))


def error_for_status(
    provider: str,
    response: httpx.Response,
    body: str,
    *,
    headers: Mapping[str, str] | None = None,
    retry_after: Callable[[httpx.Response], float | None] | None = None,
    envelope: ErrorEnvelope | None = None,
    status: int | None = None,
    message: str | None = None,
) -> ProviderHTTPError:
    """Build the exception for an error response (``body`` and ``headers`` already redacted).

    Args:
        provider: the provider's id.
        response: the answer.
        body: its body (redacted, cut).
        headers: its headers (redacted; default the answer's own).
        retry_after: reads the seconds a 429 asks to wait (default: the ``Retry-After`` header).
        envelope: what the adapter read in the body (default: the common shapes, read from ``body``).
        status: read the answer as this status (a vendor reporting a failure in a 2xx body's own code).
        message: the message, instead of ``HTTP <status> <reason>: <the vendor's message>``.
    """
    code = response.status_code if status is None else status
    envelope = envelope if envelope is not None else read_error_envelope(error_json(body))
    cls = STATUS_ERRORS.get(code) or (ProviderUnavailableError if code >= 500 else BadRequestError)
    state: dict[str, Any] = {
        "status_code": code,
        "body": body,
        "headers": dict(headers if headers is not None else response.headers.items()),
        "request_id": envelope.request_id,
        "vendor_code": envelope.code,
        "vendor_message": envelope.message,
    }
    line = message if message is not None else _status_line(code, response.reason_phrase, envelope)
    if cls is RateLimitedError:
        wait = retry_after(response) if retry_after is not None else retry_after_header(response)
        return RateLimitedError(provider, line, retry_after=wait, **state)
    return cls(provider, line, **state)


def _status_line(status: int, reason: str, envelope: ErrorEnvelope) -> str:
    """``HTTP 404 Not Found: <the vendor's message>`` (see :attr:`ErrorEnvelope.titled`)."""
    if 300 <= status < 400:
        return f"HTTP {status}: redirect not followed (credentials are never sent to another location)"
    if envelope.message and envelope.titled:
        return f"HTTP {status}: {envelope.message}"
    return f"HTTP {status} {reason or 'error'}" + (f": {envelope.message}" if envelope.message else "")
