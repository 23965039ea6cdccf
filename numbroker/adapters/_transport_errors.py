"""What a failed connection says: the host and port it tried and why it failed, never a credential.

``connection failed (ConnectError)`` tells nobody what to fix. :func:`describe_connection_failure`
names the origin (host and port only: no path, no query, where a secret could sit) and the cause,
read from the exception chain: refused, TLS spoken to a plain-HTTP port (or a certificate problem),
a host name that does not resolve, or the transport's own message.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Callable

import httpx

__all__ = ["describe_connection_failure"]

_MESSAGE_LIMIT = 200


def describe_connection_failure(request: httpx.Request, exc: httpx.TransportError) -> str:
    """``connection to HOST:PORT failed: CAUSE (ErrorType)`` for a failed request."""
    url = request.url
    port = url.port or (443 if url.scheme == "https" else 80)
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"connection to {host}:{port} failed: {_cause(exc, url.scheme)} ({type(exc).__name__})"


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _caused_by(chain: list[BaseException], kind: type[BaseException]) -> bool:
    return any(isinstance(e, kind) for e in chain)


def _timed_out(chain: list[BaseException]) -> bool:
    return any(isinstance(e, OSError) and e.errno == errno.ETIMEDOUT for e in chain)


_DNS_MARKERS = ("name or service not known", "nodename nor servname", "getaddrinfo failed")

_CAUSES: tuple[tuple[Callable[[list[BaseException], str, str], bool], str], ...] = (
    (
        lambda chain, text, scheme: _caused_by(chain, ConnectionRefusedError) or "connection refused" in text,
        "connection refused (nothing listens on that port)",
    ),
    (
        lambda chain, text, scheme: _caused_by(chain, socket.gaierror) or any(m in text for m in _DNS_MARKERS),
        "the host name does not resolve (DNS)",
    ),
    (
        lambda chain, text, scheme: (
            _caused_by(chain, ssl.SSLCertVerificationError) or "certificate verify failed" in text
        ),
        "the server's TLS certificate was not accepted",
    ),
    (
        lambda chain, text, scheme: scheme == "https" and (_caused_by(chain, ssl.SSLError) or "ssl" in text),
        "TLS handshake failed (is the port plain HTTP? use http:// for a loopback server)",
    ),
    (lambda chain, text, scheme: _timed_out(chain), "the connection timed out"),
)
"""Each recognizable cause, in the order they are tried: (does the exception chain show it, what it says)."""


def _cause(exc: BaseException, scheme: str) -> str:
    chain = _chain(exc)
    text = " ".join(str(e) for e in chain).lower()
    for shows, cause in _CAUSES:
        if shows(chain, text, scheme):
            return cause
    message = " ".join(str(exc).split())[:_MESSAGE_LIMIT]
    return message or "no reason given"
