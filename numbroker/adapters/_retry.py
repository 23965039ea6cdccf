"""Retrying idempotent requests: which failures may be retried, the backoff policy and ``Retry-After``."""

from __future__ import annotations

import email.utils
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from numbroker._exceptions import (
    ConfigurationError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)
from numbroker._inputs import check_count, check_seconds

__all__ = ["RetryPolicy", "is_retryable", "parse_retry_after"]


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


def is_retryable(exc: ProviderError) -> bool:
    """True for failures an idempotent request may be retried after: 429, 5xx, timeouts, connection errors."""
    return isinstance(exc, RateLimitedError | ProviderUnavailableError | ProviderConnectionError | ProviderTimeoutError)


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

    def __post_init__(self) -> None:
        check_count("retry attempts", self.attempts, maximum=100)
        check_seconds("retry initial", self.initial, allow_zero=True)
        check_seconds("retry max_delay", self.max_delay, allow_zero=True)
        check_seconds("retry max_retry_after", self.max_retry_after, allow_zero=True)
        if isinstance(self.jitter, bool) or not isinstance(self.jitter, int | float) or not 0 <= self.jitter <= 1:
            raise ConfigurationError(f"retry jitter must be a number from 0 to 1, got {self.jitter!r}")

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
