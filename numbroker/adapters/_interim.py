"""Interim (1xx) answers bounded by count: an endless stream of ``100 Continue`` fails the request at once.

httpcore reads interim responses itself and skips them without limit, so a vendor (or anything between)
answering ``HTTP/1.1 100 Continue`` forever keeps a request reading, and a core busy, until the deadline.
:class:`InterimBoundedTransport` is httpx's own transport over a network backend whose streams read the
header blocks that come back before the final status line and count the interim ones: past
:data:`MAX_INTERIM_RESPONSES` the read fails with a protocol error naming the bound, which the connection
reports as that provider's connection failure. Bodies are never scanned: once the final status line has
arrived, reads pass through untouched until the next request is written.
"""

from __future__ import annotations

import re
import ssl
import typing

import httpcore
import httpx

__all__ = ["MAX_INTERIM_RESPONSES", "InterimBoundedTransport"]

MAX_INTERIM_RESPONSES = 10
"""How many interim (1xx, other than ``101 Switching Protocols``) responses one request may receive.

A server sends one or two (``100 Continue``, ``102 Processing``, ``103 Early Hints``); more is a flood.
"""

_LONGEST_HEAD = 256 * 1024
"""More than h11 takes as one header block: past it, what was read is left to h11 to refuse."""
_HEAD_END = re.compile(rb"\n\r?\n")
_STATUS = re.compile(rb"[\r\n]*HTTP/\d\.\d (\d{3})")


class _CountingStream(httpcore.AsyncNetworkStream):
    """A network stream that counts the interim responses read before each request's final status line."""

    def __init__(self, stream: httpcore.AsyncNetworkStream, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._heads = True  # reading the header blocks before the final status line
        self._pending = b""  # the start of a header block not yet complete
        self._interim = 0

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109 (httpcore's interface)
        data = await self._stream.read(max_bytes, timeout)
        if self._heads and data:
            self._count(data)
        return data

    def _count(self, data: bytes) -> None:
        pending = self._pending + data
        while self._heads:
            end = _HEAD_END.search(pending)
            if end is None:
                break
            status = _STATUS.match(pending)
            code = int(status.group(1)) if status is not None else 0
            if 100 <= code < 200 and code != 101:
                self._interim += 1
                if self._interim > self._limit:
                    raise httpcore.RemoteProtocolError(
                        f"more than {self._limit} interim (1xx) responses before the answer"
                    )
            else:
                self._heads = False  # the final status line (or something h11 will refuse): bodies pass
            pending = pending[end.end() :]
        if len(pending) > _LONGEST_HEAD:
            self._heads = False  # no header block is this long: h11 refuses it, nothing is left to count
        self._pending = pending if self._heads else b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109 (httpcore's interface)
        if not self._heads:  # a new request on a kept-alive connection: its answer's heads are read again
            self._heads, self._pending, self._interim = True, b"", 0
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._stream.start_tls(ssl_context, server_hostname, timeout)
        return _CountingStream(stream, self._limit)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class _CountingBackend(httpcore.AsyncNetworkBackend):
    """httpcore's anyio backend, its streams wrapped in :class:`_CountingStream`."""

    def __init__(self, limit: int) -> None:
        self._backend = httpcore.AnyIOBackend()
        self._limit = limit

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return _CountingStream(stream, self._limit)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_unix_socket(path, timeout, socket_options)
        return _CountingStream(stream, self._limit)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class InterimBoundedTransport(httpx.AsyncHTTPTransport):
    """httpx's HTTP transport whose connections fail a request past ``max_interim`` interim responses."""

    def __init__(
        self, *, verify: ssl.SSLContext, limits: httpx.Limits, max_interim: int = MAX_INTERIM_RESPONSES
    ) -> None:
        """The transport httpx builds for ``verify`` and ``limits``, over the counting network backend."""
        super().__init__(verify=verify, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=verify,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_CountingBackend(max_interim),
        )
