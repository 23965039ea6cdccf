"""Retries of idempotent requests: what is retried, how long it waits, and never past the deadline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import anyio
import httpx
import pytest

from numbroker import AuthenticationError, BadRequestError, RateLimitedError
from numbroker.adapters import Provider, RetryPolicy, parse_retry_after

from .vendors import FAST, Capped, NumberedWire, build, build_capped, collect, ids, numbered_server, numbers


@pytest.mark.anyio
async def test_retry_after_is_honoured_then_succeeds() -> None:
    """A 429 with Retry-After is retried after waiting, and the retry is counted."""
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(anyio.current_time())
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "0.05"}, json={"error": "slow"})
        return numbered_server(numbers(3))(request)

    # "0.05" is not an integer: servers send whole seconds, so this also checks a bad header falls back to backoff.
    pages, run = await collect(build(NumberedWire, handler))

    assert 3 == len(ids(pages))
    assert 1 == run.stats.retries
    assert 2 == len(calls)


@pytest.mark.anyio
@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_is_retried(status: int) -> None:
    """5xx on a GET is retried."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(status) if calls < 3 else numbered_server(numbers(2))(request)

    pages, run = await collect(build(NumberedWire, handler))

    assert 2 == len(ids(pages))
    assert 2 == run.stats.retries


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "cls"), [(400, BadRequestError), (401, AuthenticationError), (422, BadRequestError)]
)
async def test_client_errors_are_never_retried(status: int, cls: type[Exception]) -> None:
    """400/401/422 are answered once: retrying cannot help."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(status, json={"error": "no"})

    with pytest.raises(cls):
        await collect(build(NumberedWire, handler))

    assert 1 == calls


@pytest.mark.anyio
async def test_retries_are_bounded_by_attempts() -> None:
    """A provider that keeps failing is tried `attempts` times, then the error surfaces."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503)

    with pytest.raises(Exception, match="503"):
        await collect(build(NumberedWire, handler))

    assert FAST.attempts == calls


@pytest.mark.anyio
async def test_retry_never_sleeps_past_the_deadline() -> None:
    """A Retry-After longer than the time left gives up at once instead of sleeping into the deadline."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "30"})

    provider = build(NumberedWire, handler, retry=RetryPolicy(attempts=5))
    started = anyio.current_time()
    with pytest.raises(RateLimitedError), anyio.fail_after(5):
        await collect(provider)

    assert anyio.current_time() - started < 1


class OwnWait(Capped):
    def _retry_after(self, response: httpx.Response) -> float | None:
        wait = super()._retry_after(response)
        return wait if wait is not None else float(response.headers.get("x-wait", "0"))


def limited_then_ok(headers: dict[str, str]) -> Callable[[httpx.Request], httpx.Response]:
    calls = iter([httpx.Response(429, headers=headers), httpx.Response(200, json={"items": [], "capped": False})])
    return lambda request: next(calls)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("cls", "headers", "wait"),
    [
        (Capped, {"Retry-After": "7"}, 7.0),
        (Capped, {"x-wait": "3"}, None),
        (OwnWait, {"x-wait": "3"}, 3.0),
        (OwnWait, {"Retry-After": "5", "x-wait": "3"}, 5.0),
    ],
)
async def test_the_retry_engine_waits_what_the_wait_hook_reads(
    cls: type[Provider], headers: dict[str, str], wait: float | None
) -> None:
    """_retry_after(response) sets a 429's wait (default Retry-After); the retry waits at least that long."""
    async with build_capped(cls, limited_then_ok(headers), retry=RetryPolicy(attempts=1)) as provider:
        with pytest.raises(RateLimitedError) as caught:
            await provider.connection.get(provider.connection.url("items"))
    assert wait == caught.value.retry_after
    policy = RetryPolicy(attempts=2, initial=0.0, max_delay=0.0, jitter=0.0)
    assert (wait or 0.0) == policy.delay(1, caught.value)


def test_retry_after_seconds_and_http_date() -> None:
    """Retry-After is parsed from delta-seconds and from an HTTP date."""
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)

    assert 3.0 == parse_retry_after("3")
    assert 120.0 == parse_retry_after("Thu, 01 Jan 2026 12:02:00 GMT", now=now)
    assert 0.0 == parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
