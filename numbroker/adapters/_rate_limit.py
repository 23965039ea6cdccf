"""A vendor's documented request rate, enforced per provider: a token bucket."""

from __future__ import annotations

from dataclasses import dataclass

import anyio

__all__ = ["RateLimit", "RateLimiter"]


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
                await anyio.sleep((1 - self._tokens) / rate)
                # Credit the whole time slept: a sleep that overran (a busy event loop) must not slow the
                # rate below the limit for good. Tokens still only accrue at ``rate``, up to the burst.
                now = anyio.current_time()
                self._tokens = min(float(self.limit.requests), self._tokens + (now - self._updated) * rate)
                self._updated = now
            self._tokens -= 1
