"""HTTP plumbing shared by every provider: status mapping, Retry-After, retry policy, rate limiting."""

from __future__ import annotations

import email.utils
import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import anyio
import httpx

from numbroker._exceptions import (
    AuthenticationError,
    BadRequestError,
    InsufficientFundsError,
    NotFoundError,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderError,
    ProviderHTTPError,
    ProviderResponseError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)

__all__ = [
    "RateLimit",
    "RateLimiter",
    "RetryPolicy",
    "error_for_status",
    "is_retryable",
    "loads",
    "parse_retry_after",
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


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Parse a ``Retry-After`` header: delta-seconds or an HTTP date. Returns seconds (>= 0) or None."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, delta)


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


def error_for_status(
    provider: str, response: httpx.Response, body: str, *, headers: Mapping[str, str] | None = None
) -> ProviderHTTPError:
    """Build the exception for an error response (``body`` and ``headers`` already redacted)."""
    status = response.status_code
    cls = STATUS_ERRORS.get(status) or (ProviderUnavailableError if status >= 500 else BadRequestError)
    summary, request_id = _error_summary(body)
    reason = response.reason_phrase or "error"
    message = f"HTTP {status} {reason}" + (f": {summary}" if summary else "")
    if 300 <= status < 400:
        message = f"HTTP {status}: redirect not followed (credentials are never sent to another location)"
    headers = dict(headers if headers is not None else response.headers.items())
    if cls is RateLimitedError:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return RateLimitedError(
            provider,
            message,
            status_code=status,
            body=body,
            headers=headers,
            request_id=request_id,
            retry_after=retry_after,
        )
    return cls(provider, message, status_code=status, body=body, headers=headers, request_id=request_id)


def is_retryable(exc: ProviderError) -> bool:
    """True for failures an idempotent request may be retried after: 429, 5xx, timeouts, connection errors."""
    return isinstance(exc, RateLimitedError | ProviderUnavailableError | ProviderConnectionError | ProviderTimeoutError)


def loads(provider: str, content: bytes) -> Any:
    """Parse a JSON body with every non-integer number as :class:`Decimal`: a float never touches a price.

    ``NaN`` and ``Infinity`` literals become Decimal NaN/Infinity, which the money converters reject
    per record. Raises :class:`ProviderResponseError` when the body is not JSON.
    """
    try:
        return json.loads(content, parse_float=Decimal, parse_constant=Decimal)
    except (ValueError, RecursionError) as exc:
        raise ProviderResponseError(provider, f"response is not valid JSON ({type(exc).__name__})") from None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How idempotent GETs are retried (purchases never are).

    Exponential backoff ``initial × 2^(attempt-1)`` capped at ``max_delay``, with ±``jitter`` (a
    fraction) of randomness; a server's ``Retry-After`` wins when it is longer. A retry that would
    sleep past the search deadline, or a ``Retry-After`` above ``max_retry_after``, is not attempted.

    Attributes:
        attempts: total tries including the first (1 disables retries).
        initial: first backoff in seconds.
        max_delay: cap on the computed backoff.
        jitter: fraction of randomness added to or removed from each delay.
        max_retry_after: give up rather than wait longer than this for a server's ``Retry-After``.
    """

    attempts: int = 4
    initial: float = 0.2
    max_delay: float = 5.0
    jitter: float = 0.25
    max_retry_after: float = 60.0

    def delay(self, attempt: int, exc: ProviderError, rng: Callable[[], float] = random.random) -> float | None:
        """Seconds to wait before retry ``attempt + 1`` after ``exc``; None when it must not be retried."""
        if attempt >= self.attempts or not is_retryable(exc):
            return None
        backoff = min(self.max_delay, self.initial * 2.0 ** (attempt - 1))
        backoff *= 1 + self.jitter * (2 * rng() - 1)
        retry_after: float | None = exc.retry_after if isinstance(exc, RateLimitedError) else None
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            backoff = max(backoff, retry_after)
        return max(0.0, backoff)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``requests`` requests per ``per`` seconds to one provider (a token bucket, bursting to ``requests``)."""

    requests: int
    per: float = 1.0


class RateLimiter:
    """A token bucket on anyio primitives (works on asyncio and trio)."""

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self._tokens = float(limit.requests)
        self._updated: float | None = None
        self._lock: anyio.Lock | None = None

    async def acquire(self) -> None:
        """Wait until a request may be sent."""
        if self._lock is None:
            self._lock = anyio.Lock(fast_acquire=True)
        async with self._lock:
            rate = self.limit.requests / self.limit.per
            now = anyio.current_time()
            if self._updated is not None:
                self._tokens = min(float(self.limit.requests), self._tokens + (now - self._updated) * rate)
            self._updated = now
            if self._tokens < 1:
                wait = (1 - self._tokens) / rate
                await anyio.sleep(wait)
                self._tokens = 1.0
                self._updated = anyio.current_time()
            self._tokens -= 1
