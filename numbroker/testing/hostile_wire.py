"""Hostile vendors below HTTP: raw loopback sockets writing what no ASGI app can (a flood of interim answers).

:func:`serve_interim_flood` answers every request with ``HTTP/1.1 100 Continue`` header blocks, without
end, until the client hangs up (or a cap, so a client that never stops reading cannot hang a test): what
an HTTP library that skips interim responses without counting them reads until its deadline.
:func:`serve_interim_then` sends a set number of them before a real answer, on a kept-alive connection.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

__all__ = ["FloodServer", "serve_interim_flood", "serve_interim_then"]

INTERIM = b"HTTP/1.1 100 Continue\r\n\r\n"
FLOOD_CAP = 50_000_000
"""Interim answers one connection is sent at most (about 1.25 GB): the server then hangs up."""


@dataclass
class FloodServer:
    """A running flood: where it listens, and what it did.

    Attributes:
        base_url: ``http://127.0.0.1:PORT``.
        connections: connections accepted so far.
        sent: interim answers written to each connection, once it ended (the client hung up or the cap).
    """

    base_url: str
    connections: int = 0
    sent: list[int] = field(default_factory=list)


def _read_request(conn: socket.socket) -> bool:
    """Read one request's head (requests here carry no body); False once the client hung up."""
    received = b""
    while b"\r\n\r\n" not in received and len(received) < 65_536:
        chunk = conn.recv(4096)
        if not chunk:
            return False
        received += chunk
    return True


def _flood(conn: socket.socket, server: FloodServer) -> None:
    """Interim answers without end (to :data:`FLOOD_CAP`) once the request is read."""
    if not _read_request(conn):
        return
    batch = INTERIM * 1000
    sent = 0
    try:
        while sent < FLOOD_CAP:
            conn.sendall(batch)
            sent += 1000
    finally:
        server.sent.append(sent)


def _interim_then(count: int, body: bytes) -> Callable[[socket.socket, FloodServer], None]:
    """``count`` interim answers, then ``200`` with ``body``, for each request on a kept-alive connection."""
    final = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)

    def answer(conn: socket.socket, server: FloodServer) -> None:
        while _read_request(conn):
            conn.sendall(INTERIM * count + final)
            server.sent.append(count)

    return answer


@contextlib.contextmanager
def _serve(handler: Callable[[socket.socket, FloodServer], None]) -> Iterator[FloodServer]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    server = FloodServer(base_url=f"http://127.0.0.1:{listener.getsockname()[1]}")
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(10)
            handler(conn, server)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server.connections += 1
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join()
        listener.close()


def serve_interim_flood() -> contextlib.AbstractContextManager[FloodServer]:
    """Listen on loopback; answer every request with interim answers until the client hangs up.

    Returns:
        A context manager yielding the :class:`FloodServer` (its base URL, and counts to check after).
    """
    return _serve(_flood)


def serve_interim_then(count: int, body: bytes) -> contextlib.AbstractContextManager[FloodServer]:
    """Listen on loopback; answer every request with ``count`` interim answers, then ``200`` and ``body``.

    Connections are kept alive: several requests on one connection each get the same answer.
    """
    return _serve(_interim_then(count, body))
