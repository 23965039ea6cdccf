"""The error responses of every vendor, mapped onto the error tree: one status → exception table."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

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

__all__ = ["STATUS_ERRORS", "error_for_status", "retry_after_header"]

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


def _error_summary(body: str) -> tuple[str | None, str | None]:
    """Pull a message and a request id out of any of the vendors' error envelopes, leniently."""
    try:
        data = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    message: str | None = None
    error = data.get("error")
    if isinstance(error, dict):
        code, msg = error.get("code"), error.get("message")
        message = ": ".join(str(p) for p in (code, msg) if p)
    elif isinstance(error, str):
        message = error
    elif isinstance(data.get("errors"), list):
        message = "; ".join(str(e) for e in data["errors"])
    elif isinstance(data.get("message"), str):
        code = data.get("code")
        message = f"{code}: {data['message']}" if code else data["message"]
    nested = error if isinstance(error, dict) else {}
    request_id = data.get("requestId") or data.get("request_id") or nested.get("request_id") or nested.get("requestId")
    return message or None, str(request_id) if request_id else None


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
) -> ProviderHTTPError:
    """Build the exception for an error response (``body`` and ``headers`` already redacted).

    ``retry_after`` reads the seconds a 429 asks to wait (default: the ``Retry-After`` header).
    """
    status = response.status_code
    cls = STATUS_ERRORS.get(status) or (ProviderUnavailableError if status >= 500 else BadRequestError)
    summary, request_id = _error_summary(body)
    reason = response.reason_phrase or "error"
    message = f"HTTP {status} {reason}" + (f": {summary}" if summary else "")
    if 300 <= status < 400:
        message = f"HTTP {status}: redirect not followed (credentials are never sent to another location)"
    headers = dict(headers if headers is not None else response.headers.items())
    if cls is RateLimitedError:
        wait = retry_after(response) if retry_after is not None else retry_after_header(response)
        return RateLimitedError(
            provider,
            message,
            status_code=status,
            body=body,
            headers=headers,
            request_id=request_id,
            retry_after=wait,
        )
    return cls(provider, message, status_code=status, body=body, headers=headers, request_id=request_id)
