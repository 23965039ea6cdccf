"""Oversized, endless and compression-bomb response bodies are cut off at ``max_response_bytes``, memory bounded.

A tiny raw ASGI app served by ``LoopbackServer`` streams a body that never ends (plain, or a gzip
bomb) until the client hangs up; tracemalloc measures the client's peak while it reads.
"""

from __future__ import annotations

import logging
import tracemalloc
import zlib
from collections.abc import Iterator
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from starlette.types import Receive, Scope, Send

from numbroker import ProviderResponseError, RetryPolicy, SearchQuery
from numbroker.adapters._connection import DEFAULT_MAX_RESPONSE_BYTES
from numbroker.sandbox import LoopbackServer
from numbroker_providers.vobiz import VobizProvider

MiB = 2**20
CAP = 512 * MiB
"""The server gives up after this much (a client that never stops reading must not hang the test)."""
PIECE = b"[" + b"0," * 32_768


def _bomb() -> bytes:
    """A gzip member of 256 MiB of spaces, flushed but never finished: about 250 KB on the wire."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return compressor.compress(b"[" + b" " * (256 * MiB)) + compressor.flush(zlib.Z_SYNC_FLUSH)


def endless(*, status: int = 200, gzip: bool = False, sent: list[int] | None = None) -> Any:
    """A raw ASGI app answering every request with a body that never ends (until the client disconnects)."""
    body = _bomb() if gzip else PIECE

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert "http" == scope["type"]
        gone = anyio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        headers = [(b"content-type", b"application/json")] + ([(b"content-encoding", b"gzip")] if gzip else [])
        await send({"type": "http.response.start", "status": status, "headers": headers})
        async with anyio.create_task_group() as tg:
            tg.start_soon(watch)
            total = 0
            while not gone.is_set() and total < CAP:
                await send({"type": "http.response.body", "body": body, "more_body": True})
                total += len(body)
                await anyio.lowlevel.checkpoint()
            tg.cancel_scope.cancel()
        if sent is not None:
            sent.append(total)

    return app


@pytest.fixture
def quiet_asyncio() -> Iterator[None]:
    """The server writing into a socket the client closed is expected here; keep asyncio from logging it."""
    logger = logging.getLogger("asyncio")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


def search_peak(base_url: str, **options: Any) -> tuple[BaseException | None, float]:
    """Search Vobiz at ``base_url`` with tracemalloc on: (the exception raised, the peak in MiB)."""

    async def search() -> BaseException | None:
        async with VobizProvider(
            auth_id="MA_LIMITS", auth_token="limits-token", base_url=base_url, retry=RetryPolicy(attempts=1), **options
        ) as adapter:
            try:
                await adapter.search(SearchQuery(country="US"))
            except ProviderResponseError as exc:
                return exc
        return None

    tracemalloc.start()
    try:
        error = anyio.run(search)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return error, peak / MiB


@pytest.mark.usefixtures("quiet_asyncio")
def test_endless_body_is_cut_off_at_the_default_limit_with_bounded_memory() -> None:
    """An endless 200 body stops at the 10 MiB default with a ProviderResponseError; peak memory stays near it."""
    with LoopbackServer(endless()) as server:
        error, peak = search_peak(server.base_url)

    assert isinstance(error, ProviderResponseError)
    assert f"exceeds the {DEFAULT_MAX_RESPONSE_BYTES}-byte limit" in str(error)
    assert peak <= 2 * DEFAULT_MAX_RESPONSE_BYTES / MiB + 8, f"peak {peak:.1f} MiB"


@pytest.mark.usefixtures("quiet_asyncio")
@pytest.mark.parametrize("status", [200, 503], ids=["ok", "server-error"])
def test_a_smaller_limit_is_honoured_for_success_and_error_bodies(status: int) -> None:
    """With max_response_bytes=64 KiB an endless body, even an error page, is cut off just past 64 KiB."""
    sent: list[int] = []
    with LoopbackServer(endless(status=status, sent=sent)) as server:
        error, peak = search_peak(server.base_url, max_response_bytes=64 * 1024)

    assert isinstance(error, ProviderResponseError)
    assert "exceeds the 65536-byte limit" in str(error)
    assert peak <= 8, f"peak {peak:.1f} MiB"
    assert sent and sent[0] < CAP


@pytest.mark.usefixtures("quiet_asyncio")
def test_gzip_bomb_is_cut_off_with_bounded_memory() -> None:
    """A gzip bomb is cut off at the decompressed limit without ever holding much more than the limit."""
    with LoopbackServer(endless(gzip=True)) as server:
        error, peak = search_peak(server.base_url, max_response_bytes=MiB)

    assert isinstance(error, ProviderResponseError)
    assert "exceeds the 1048576-byte limit" in str(error)
    assert peak <= 2 + 8, f"peak {peak:.1f} MiB"
