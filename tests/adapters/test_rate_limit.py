"""A vendor's documented request rate, enforced per provider."""

from __future__ import annotations

import anyio
import httpx
import pytest

from .vendors import (
    NumberedWire,
    build,
    collect,
    numbered_server,
    numbers,
)


@pytest.mark.anyio
async def test_rate_limit_spaces_requests_beyond_the_burst() -> None:
    """A provider's documented rate is enforced: after the burst, requests wait for tokens."""
    from numbroker.adapters import RateLimit

    class Limited(NumberedWire):
        rate_limit = RateLimit(requests=4, per=0.2)  # 20/s, bursting to 4

    sent: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(anyio.current_time())
        return numbered_server(numbers(100))(request)

    await collect(build(Limited, handler))

    # 10 full pages, plus one more because a full last page may mean the total lies low.
    assert 11 == len(sent)
    # 11 requests at 20/s with a burst of 4: the last 7 need at least 7/20 s after the first.
    assert sent[-1] - sent[0] >= 0.3
