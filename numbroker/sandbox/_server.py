"""Serving over real loopback HTTP: :class:`LoopbackServer` (uvicorn, background thread) and :func:`serve_sandboxes`.

:func:`serve_sandboxes` serves several sandboxes, **each on its own port** (so every vendor keeps
its real path layout, even an empty base path). uvicorn is imported only when a server starts.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from numbroker.sandbox._types import LOOPBACK_SCOPE_KEY

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from numbroker.sandbox._app import Sandbox

"""ASGI scope key set on requests that arrived over real HTTP (read by the fault pipeline)."""


class _LoopbackMarker:
    """Marks requests as arriving over real HTTP, so faults can cut connections."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, LOOPBACK_SCOPE_KEY: True}
        await self.app(scope, receive, send)


class LoopbackServer:
    """Serve an ASGI app with uvicorn on ``127.0.0.1`` in a background thread.

    Use it as a context manager (``with LoopbackServer(app) as server: server.base_url``) or call
    :meth:`start` / :meth:`stop`. Port 0 (the default) picks a free port. uvicorn's own loggers
    are set to ``log_level`` (default ``critical``: deliberately broken responses are not errors).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ready_timeout: float = 10.0,
        graceful_shutdown: int = 1,
        log_level: str | None = "critical",
    ) -> None:
        self._app = app
        self._host = host
        self._requested_port = port
        self._ready_timeout = ready_timeout
        self._graceful_shutdown = graceful_shutdown
        self._log_level = log_level
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The bound port."""
        if self._port is None:
            raise RuntimeError("LoopbackServer is not running")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self._host}:{self.port}"

    def start(self) -> LoopbackServer:
        """Bind, start serving and wait until ready.

        Returns:
            self.

        Raises:
            OSError: The address cannot be bound; its ``filename`` is the address asked for, ``HOST:PORT``.
            RuntimeError: The server thread died or is already running.
            TimeoutError: The server was not ready within ``ready_timeout``.
        """
        import uvicorn

        if self._thread is not None:
            raise RuntimeError("LoopbackServer is already running")
        # IPPROTO_TCP (not 0) so the server's asyncio transport sets TCP_NODELAY: no 40 ms delayed-ACK stalls.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self._requested_port))
        except OSError as exc:
            sock.close()
            exc.filename = f"{self._host}:{self._requested_port}"
            raise
        config = uvicorn.Config(
            _LoopbackMarker(self._app),
            lifespan="off",
            log_config=None,
            log_level=self._log_level,
            access_log=False,
            http="h11",
            ws="none",
            loop="asyncio",
            timeout_graceful_shutdown=self._graceful_shutdown,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="numbroker-sandbox", daemon=True)
        self._server, self._thread, self._socket = server, thread, sock
        self._port = sock.getsockname()[1]
        thread.start()
        deadline = time.monotonic() + self._ready_timeout
        while not server.started:
            if not thread.is_alive():
                self._cleanup()
                raise RuntimeError("the sandbox server thread exited during startup")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the sandbox server was not ready within {self._ready_timeout}s")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Ask the server to exit and wait for its thread."""
        if self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=self._graceful_shutdown + 10)
        self._cleanup()

    def _cleanup(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None
        self._port = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@contextlib.contextmanager
def serve_sandboxes(sandboxes: Mapping[str, Sandbox], *, port: int = 0, **options: Any) -> Iterator[dict[str, str]]:
    """Serve several sandboxes over loopback, each on its own port; every port is bound before it yields.

    Args:
        sandboxes: Key (e.g. the provider id) -> sandbox.
        port: The first port: the sandboxes get ``port``, ``port + 1``, ... in order (0, the default,
            picks free ports).
        **options: Passed to every :class:`LoopbackServer` (``host=`` among them).

    Yields:
        Key -> the vendor base URL (``http://HOST:PORT`` + the sandbox's ``base_path``).

    Raises:
        OSError: A port cannot be bound (its ``filename`` is the address, ``HOST:PORT``); none stays bound.
    """
    with contextlib.ExitStack() as stack:
        urls: dict[str, str] = {}
        for offset, (key, sandbox) in enumerate(sandboxes.items()):
            server = stack.enter_context(LoopbackServer(sandbox.app, port=port + offset if port else 0, **options))
            urls[key] = server.base_url + sandbox.base_path
        yield urls
