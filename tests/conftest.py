"""Shared fixtures: every async test runs on asyncio and trio; the environment is scrubbed."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

PROVIDER_ENV_PREFIXES = ("VOBIZ_", "BIRD_", "IDENTITYCALL_", "TELNYX_", "TWILIO_", "VONAGE_", "PLIVO_", "NUMBROKER_")
PROXY_VARS = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run every ``@pytest.mark.anyio`` test on both backends."""
    return str(request.param)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests never see the developer's credentials, base URLs, proxies or purchase ledger.

    Each test gets a purchase ledger of its own (``$NUMBROKER_LEDGER``, a file in a temporary folder
    beside its ``tmp_path``), inherited by the command-line processes it starts.
    """
    for name in list(os.environ):
        if name.startswith(PROVIDER_ENV_PREFIXES) or name in PROXY_VARS:
            monkeypatch.delenv(name, raising=False)
    ledger = tmp_path_factory.mktemp("ledger") / "ledger.sqlite3"
    monkeypatch.setenv("NUMBROKER_LEDGER", str(ledger))
    yield


# -- a real PostgreSQL server for the ledger tests -------------------------------------------------

REQUIRE_POSTGRES = os.environ.get("NUMBROKER_REQUIRE_POSTGRES") == "1"
"""Set by CI: a missing PostgreSQL fails the ledger tests instead of skipping them."""


def _postgres_bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    return candidates[-1].parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server started for this test session on loopback (and stopped after it).

    PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user. Without
    PostgreSQL the tests that need it are skipped, saying why (failed instead when CI requires it).
    """
    bindir = _postgres_bindir()
    if bindir is None:
        reason = "PostgreSQL not found (no pg_ctl on PATH or in /usr/lib/postgresql/*/bin)"
        if REQUIRE_POSTGRES:
            pytest.fail(reason)
        pytest.skip(reason)
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="numbroker-pg-"))
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    data, port = root / "data", _free_port()
    try:
        subprocess.run(
            [*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "numbroker", "--no-sync"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                *as_user,
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(root / "server.log"),
                "-o",
                f"-h 127.0.0.1 -p {port} -k {root} -F",
                "-w",
                "start",
            ],
            check=True,
            capture_output=True,
        )
    except subprocess.CalledProcessError as exc:
        log = (root / "server.log").read_text(errors="replace") if (root / "server.log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {exc.stderr.decode(errors='replace')}{log}")
    try:
        yield f"postgresql://numbroker@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)
