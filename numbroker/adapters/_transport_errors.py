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


def _cause(exc: BaseException, scheme: str) -> str:
    chain = _chain(exc)
    text = " ".join(str(e) for e in chain).lower()
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "connection refused" in text:
        return "connection refused (nothing listens on that port)"
    if any(isinstance(e, socket.gaierror) for e in chain) or any(
        marker in text for marker in ("name or service not known", "nodename nor servname", "getaddrinfo failed")
    ):
        return "the host name does not resolve (DNS)"
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or "certificate verify failed" in text:
        return "the server's TLS certificate was not accepted"
    if scheme == "https" and (any(isinstance(e, ssl.SSLError) for e in chain) or "ssl" in text):
        return "TLS handshake failed (is the port plain HTTP? use http:// for a loopback server)"
    if any(isinstance(e, OSError) and e.errno == errno.ETIMEDOUT for e in chain):
        return "the connection timed out"
    message = " ".join(str(exc).split())[:_MESSAGE_LIMIT]
    return message or "no reason given"
