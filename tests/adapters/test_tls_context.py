"""The connection's TLS context: certificates always verified, the CA bundle loaded only when TLS is used.

Real connections on loopback: a plain-HTTP vendor and a TLS one whose certificate is self-signed (made
with the ``openssl`` command line), each answering one fixed JSON body.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from anyio.abc import ByteStream
from anyio.streams.tls import TLSListener

from numbroker import ProviderConnectionError
from numbroker.adapters import Connection, RetryPolicy, _connection
from numbroker.adapters._connection import VerifyingContext

pytestmark = pytest.mark.anyio

ANSWER = (
    b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{"ok":true}'
)


def _self_signed(folder: Path, address: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``address`` and its key, written in ``folder``."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command line is not installed")
    cert, key = folder / f"{address}.pem", folder / f"{address}.key"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={address}"]
    command += ["-addext", f"subjectAltName=IP:{address}", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(
        command,
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    return _self_signed(tmp_path, "127.0.0.1")


async def _answer(stream: ByteStream) -> None:
    async with stream:
        received = b""
        while b"\r\n\r\n" not in received:
            received += await stream.receive()
        await stream.send(ANSWER)


@asynccontextmanager
async def _vendor(tls: ssl.SSLContext | None) -> AsyncIterator[str]:
    """A loopback vendor answering every request with ``ANSWER``; its base URL (https when ``tls`` is given)."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    served = TLSListener(listener, tls, standard_compatible=False) if tls is not None else listener
    async with served, anyio.create_task_group() as tg:
        tg.start_soon(served.serve, _answer)
        yield f"{'https' if tls is not None else 'http'}://127.0.0.1:{port}"
        tg.cancel_scope.cancel()


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def context(monkeypatch: pytest.MonkeyPatch) -> VerifyingContext:
    """A fresh shared context for the connections this test creates (the process-wide one may be loaded)."""
    fresh = VerifyingContext()
    monkeypatch.setattr(_connection, "_tls_context", lambda: fresh)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return fresh


async def _get(base_url: str) -> object:
    connection = Connection("tls", base_url, auth_headers=dict, timeout=10, retry=RetryPolicy(attempts=1))
    try:
        response = await connection.get(connection.url("numbers"))
        return connection.json(response)
    finally:
        await connection.aclose()


def _why_refused(exc: BaseException | None) -> str:
    """The verification failure behind ``exc`` (its cause chain), as OpenSSL put it."""
    while exc is not None:
        if isinstance(exc, ssl.SSLCertVerificationError):
            return str(exc.verify_message)
        exc = exc.__cause__ or exc.__context__
    raise AssertionError("no certificate verification failure in the chain")


def test_the_context_verifies_like_httpx_default() -> None:
    import httpx

    ours, theirs = VerifyingContext(), httpx.create_ssl_context()
    assert ours.verify_mode is ssl.CERT_REQUIRED and ours.check_hostname
    assert (ours.options, ours.verify_flags, ours.minimum_version) == (
        theirs.options,
        theirs.verify_flags,
        theirs.minimum_version,
    )
    assert ours.get_ciphers() == theirs.get_ciphers()
    assert not ours.loaded and ours.cert_store_stats()["x509_ca"] == 0


async def test_plain_http_never_loads_the_ca_bundle(context: VerifyingContext) -> None:
    async with _vendor(None) as base_url:
        assert await _get(base_url) == {"ok": True}
    assert not context.loaded
    assert context.cert_store_stats()["x509_ca"] == 0


async def test_https_loads_the_bundle_and_refuses_an_untrusted_certificate(
    context: VerifyingContext, certificate: tuple[Path, Path]
) -> None:
    async with _vendor(_server_context(certificate)) as base_url:
        with pytest.raises(ProviderConnectionError, match="TLS certificate was not accepted") as raised:
            await _get(base_url)
    assert "self-signed certificate" in _why_refused(raised.value)
    assert context.loaded
    assert context.cert_store_stats()["x509_ca"] > 100  # certifi's bundle


async def test_https_trusts_what_ssl_cert_file_names(
    context: VerifyingContext, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    async with _vendor(_server_context(certificate)) as base_url:
        assert await _get(base_url) == {"ok": True}
    assert context.loaded
    assert context.cert_store_stats()["x509_ca"] == 1


async def test_a_certificate_for_another_host_is_refused(
    context: VerifyingContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = _self_signed(tmp_path, "127.0.0.2")
    monkeypatch.setenv("SSL_CERT_FILE", str(elsewhere[0]))  # trusted, but not for the address asked
    async with _vendor(_server_context(elsewhere)) as base_url:
        with pytest.raises(ProviderConnectionError, match="TLS certificate was not accepted") as raised:
            await _get(base_url)
    assert "IP address mismatch" in _why_refused(raised.value)
