"""Ledger locations for the flow tests: a fresh SQLite file, or a fresh database on the session's PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

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
