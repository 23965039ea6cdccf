"""The fleet ledger: one PostgreSQL database shared by runs on many hosts (psycopg 3).

Purchaser locks are session-level advisory locks (``pg_try_advisory_lock``) held by a connection of their
own for as long as the run purchases: the server releases them when that connection ends, however the
holder died, and they have no time-out that could expire mid-purchase. Each connection names its run
(``application_name``), so a waiting run can say which host and process holds the account.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from numbroker.ledger._records import LedgerBusyError, LedgerError
from numbroker.ledger._store import Ledger

__all__ = ["PostgresLedger", "redact_url"]

_POLL_SECONDS = 0.05
_CONNECT_TIMEOUT = 10
_SCHEMA_LOCK = int.from_bytes(b"nbschema", "big", signed=True)
"""The advisory lock key taken while the ledger's tables are created."""


def redact_url(url: str) -> str:
    """``url`` with any password removed (for messages and reprs)."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(url)
    except Exception:
        return "postgresql://(unparsable URL)"
    host = parts.get("host") or "localhost"
    port = f":{parts['port']}" if parts.get("port") else ""
    user = f"{parts['user']}@" if parts.get("user") else ""
    return f"postgresql://{user}{host}{port}/{parts.get('dbname') or ''}"


def _lock_key(account: str) -> int:
    # A signed 64-bit key from the account key (advisory locks take a bigint).
    return int.from_bytes(hashlib.sha256(b"numbroker purchaser\0" + account.encode()).digest()[:8], "big", signed=True)


class PostgresLedger(Ledger):
    """A ledger in a PostgreSQL database: every run, on any host, that opens the same URL shares it."""

    def __init__(self, url: str) -> None:
        """Connect to ``url`` (``postgresql://…``) and create the ledger's tables if they are missing."""
        try:
            import psycopg
        except ImportError as exc:
            raise LedgerError("a PostgreSQL ledger needs psycopg: pip install 'numbroker[postgres]'") from exc
        self._psycopg = psycopg
        self._url = url
        self._guard = threading.Lock()
        self._db = self._connect("ledger")
        try:
            # CREATE TABLE IF NOT EXISTS races with itself in PostgreSQL: runs starting together take turns.
            with self._db.transaction():
                self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                self._create_schema("BIGSERIAL PRIMARY KEY")
        except psycopg.Error as exc:
            raise LedgerError(f"cannot open the ledger {self.describe()}: {_first_line(exc)}") from None

    def _connect(self, role: str) -> Any:
        name = f"numbroker {role} {self.host} pid {self.pid}"[:63]
        try:
            return self._psycopg.connect(
                self._url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT, application_name=name
            )
        except self._psycopg.Error as exc:
            raise LedgerError(f"cannot open the ledger {self.describe()}: {_first_line(exc)}") from None

    def describe(self) -> str:
        """The database URL without its password."""
        return redact_url(self._url)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._guard:
            try:
                with self._db.transaction(), self._db.cursor() as cur:
                    cur.execute(sql.replace("?", "%s"), tuple(params))
                    return list(cur.fetchall()) if cur.description is not None else []
            except self._psycopg.Error as exc:
                raise LedgerError(f"the ledger {self.describe()} failed: {_first_line(exc)}") from None

    @contextlib.contextmanager
    def purchaser(self, account: str, *, run_id: str, timeout: float) -> Iterator[None]:
        """Hold ``account``'s purchaser lock (an advisory lock on a session of its own) while the block runs."""
        key = _lock_key(account)
        conn = self._connect(f"purchaser run {run_id}")
        try:
            deadline = time.monotonic() + max(0.0, timeout)
            while not conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
                if time.monotonic() >= deadline:
                    holder = self._holder(conn, key)
                    raise LedgerBusyError(
                        f"another run is buying on {account.split(':')[0]}"
                        + (f" ({holder})" if holder else "")
                        + f"; waited {timeout:g} s",
                        holder=holder,
                    )
                time.sleep(_POLL_SECONDS)
            yield
        except self._psycopg.Error as exc:
            raise LedgerError(f"the ledger {self.describe()} failed: {_first_line(exc)}") from None
        finally:
            with contextlib.suppress(Exception):
                conn.close()  # ending the session releases the lock

    @staticmethod
    def _holder(conn: Any, key: int) -> str | None:
        high, low = (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF
        row = conn.execute(
            "SELECT a.application_name, a.backend_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s::oid AND l.objid = %s::oid "
            "AND l.objsubid = 1 LIMIT 1",
            (high, low),
        ).fetchone()
        if row is None:
            return None
        name, since = row
        return f"{name.removeprefix('numbroker purchaser ')}, since {since:%Y-%m-%d %H:%M:%S}"

    def close(self) -> None:
        """Close the connection."""
        with self._guard, contextlib.suppress(Exception):
            self._db.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
