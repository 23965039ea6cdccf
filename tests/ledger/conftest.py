"""Ledger locations for the flow tests: a fresh SQLite file, or a fresh database on the session's PostgreSQL."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest


def fresh_database(server: str) -> str:
    """A new, empty database on the PostgreSQL server at ``server``; its URL."""
    import psycopg

    name = f"flow_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return server.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty ledger on each engine: its path or URL."""
    if request.param == "sqlite":
        yield str(tmp_path / "flow-ledger" / "ledger.sqlite3")
        return
    yield fresh_database(request.getfixturevalue("postgres_url"))


def _pgbouncer() -> str | None:
    return shutil.which("pgbouncer") or next(
        (str(p) for p in (Path("/usr/sbin/pgbouncer"), Path("/usr/bin/pgbouncer")) if p.exists()), None
    )


@pytest.fixture
def pgbouncer_url(postgres_url: str) -> Iterator[str]:
    """A fresh database on the session's PostgreSQL, reached through PgBouncer in transaction pooling with one
    server connection (so every client shares one server session); PgBouncer started on a free loopback port
    (as the ``postgres`` user when root) and stopped after. Skipped without PgBouncer (failed in CI)."""
    binary = _pgbouncer()
    if binary is None:
        reason = "PgBouncer not found (Debian package pgbouncer)"
        if os.environ.get("NUMBROKER_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    direct = fresh_database(postgres_url)
    server = urlsplit(postgres_url)
    root = Path(tempfile.mkdtemp(prefix="numbroker-pgbouncer-"))  # readable by the postgres user
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    (root / "users.txt").write_text('"numbroker" ""\n', encoding="utf-8")
    (root / "pgbouncer.ini").write_text(
        textwrap.dedent(
            f"""
            [databases]
            * = host=127.0.0.1 port={server.port}
            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = {port}
            unix_socket_dir =
            auth_type = trust
            auth_file = {root / "users.txt"}
            pool_mode = transaction
            default_pool_size = 1
            max_client_conn = 50
            ignore_startup_parameters = extra_float_digits
            logfile = {root / "pgbouncer.log"}
            """
        ),
        encoding="utf-8",
    )
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
        for name in ("users.txt", "pgbouncer.ini"):
            shutil.chown(root / name, "postgres")
    process = subprocess.Popen([*as_user, binary, str(root / "pgbouncer.ini")], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    log = (
                        (root / "pgbouncer.log").read_text(errors="replace")
                        if (root / "pgbouncer.log").exists()
                        else ""
                    )
                    pytest.fail(f"PgBouncer did not start: {log[-2000:]}")
                time.sleep(0.05)
        yield f"postgresql://numbroker@127.0.0.1:{port}/{direct.rsplit('/', 1)[1]}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(root, ignore_errors=True)
