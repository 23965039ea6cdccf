"""A failed connection names the host, the port and the cause: refused, TLS to a plain-HTTP port, DNS."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import httpx
import pytest

from numbroker.adapters._transport_errors import describe_connection_failure
from numbroker.sandbox import LoopbackServer, create_sandboxes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def failure(url: str, transport: httpx.BaseTransport | None = None) -> str:
    request = httpx.Request("GET", url)
    with httpx.Client(transport=transport) as client, pytest.raises(httpx.TransportError) as caught:
        client.send(request)
    return describe_connection_failure(request, caught.value)


def test_a_refused_connection_names_host_port_and_cause() -> None:
    port = free_port()
    assert f"connection to 127.0.0.1:{port} failed: connection refused" in failure(f"http://127.0.0.1:{port}/x?k=v")


def test_tls_to_a_plain_http_port_says_so() -> None:
    with LoopbackServer(create_sandboxes(["vobiz"])["vobiz"].app) as server:
        port = server.port
        message = failure(f"https://127.0.0.1:{port}/v1/numbers")
    assert message.startswith(f"connection to 127.0.0.1:{port} failed: TLS handshake failed (is the port plain HTTP?")


def test_a_name_that_does_not_resolve_says_dns() -> None:
    """The resolver's answer, raised as httpx raises it (no lookup leaves this machine)."""

    def handler(request: httpx.Request) -> httpx.Response:
        try:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        except socket.gaierror as exc:
            raise httpx.ConnectError("[Errno -2] Name or service not known", request=request) from exc

    message = failure("https://api.vobiz.invalid/v1", httpx.MockTransport(handler))
    assert "connection to api.vobiz.invalid:443 failed: the host name does not resolve (DNS) (ConnectError)" == message


def test_the_message_never_carries_the_path_or_query() -> None:
    port = free_port()
    message = failure(f"http://127.0.0.1:{port}/Account/SECRET-ID/?token=SECRET-TOKEN")
    assert "SECRET" not in message


def test_the_command_line_reports_where_it_could_not_connect() -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOBIZ_", "BIRD_", "IDENTITYCALL_"))}
    env.update(
        VOBIZ_AUTH_ID="MA0123456789", VOBIZ_AUTH_TOKEN="tok-0123456789", VOBIZ_BASE_URL=f"http://127.0.0.1:{port}"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "numbroker", "search", "--country", "US", "--provider", "vobiz", "--timeout", "5"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert 1 == proc.returncode
    assert f"connection to 127.0.0.1:{port} failed: connection refused" in proc.stderr
    assert "tok-0123456789" not in proc.stderr + proc.stdout
