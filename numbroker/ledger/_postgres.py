"""The fleet ledger: one PostgreSQL database shared by runs on many hosts (psycopg 3).

The purchaser lock is a session-level advisory lock held by the very connection that writes the run's
ledger changes: the server releases it when that session ends, however the holder died, and it has no
time-out that could expire mid-purchase. It cannot be lost silently: every ``pending`` write first
proves, in its own transaction, that ``pg_locks`` shows the lock granted to this backend and that the
holder row written at acquisition still carries this run's token and this backend; a session that was
terminated, or a transaction-mode pooler that moved the connection to another server session, fails
that proof and the run stops buying. The session is kept from being reaped (``idle_session_timeout``
and ``idle_in_transaction_session_timeout`` are 0 on it), and statements are never prepared (a pooler
in front of the server cannot see duplicate prepared statements).

One clock: every stamp is the server's ``clock_timestamp()``, and ages are computed by the server.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from numbroker.ledger._records import LedgerAttempt, LedgerError, LedgerLockLostError
from numbroker.ledger._store import Ledger, PurchaserHold

__all__ = ["PostgresLedger", "redact_url"]

_POLL_SECONDS = 0.05
_CONNECT_TIMEOUT = 10
_SCHEMA_LOCK = int.from_bytes(b"nbschema", "big", signed=True)
"""The advisory lock key taken while the ledger's tables are created."""
_PURCHASER_LOCK = int.from_bytes(hashlib.sha256(b"numbroker purchaser").digest()[:8], "big", signed=True)
"""The advisory lock key of the ledger's purchaser lock (one per database)."""
_NOW = "to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
_SESSION = (
    "(SELECT pg_backend_pid() || '@' || to_char(backend_start, 'YYYYMMDDHH24MISSUS') FROM pg_stat_activity "
    "WHERE pid = pg_backend_pid())"
)
_POOLER = (
    "use a direct or session-pooled PostgreSQL connection for the ledger: a transaction-mode pooler "
    "(PgBouncer pool_mode=transaction) cannot keep the purchaser lock on one server session"
)
_T = TypeVar("_T")
_Exec = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


def redact_url(url: str) -> str:
    """``url`` with any password removed (for messages and reprs); never raises, never echoes the input."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        parts = conninfo_to_dict(url)
    except Exception:
        return "postgresql://(unparsable connection string)"
    host = str(parts.get("host") or "localhost")
    port = f":{parts['port']}" if parts.get("port") else ""
    user = f"{parts['user']}@" if parts.get("user") else ""
    return f"postgresql://{user}{host}{port}/{parts.get('dbname') or ''}"


def _lock_parts(key: int) -> tuple[int, int]:
    return (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF


class PostgresLedger(Ledger):
    """A ledger in a PostgreSQL database: every run, on any host, that opens the same database shares it."""

    def __init__(self, url: str) -> None:
        """Connect to ``url`` (a ``postgresql://`` URL or a libpq ``key=value`` string); create missing tables."""
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
            raise LedgerError(f"cannot open the ledger {self.describe()}: {self._first_line(exc)}") from None

    def _connect(self, role: str) -> Any:
        # PostgreSQL keeps 63 bytes of an application name: the pid first, the host last.
        name = f"numbroker {role} pid {self.pid} host {self.host}"[:63]
        try:
            conn = self._psycopg.connect(
                self._url,
                autocommit=True,
                connect_timeout=_CONNECT_TIMEOUT,
                application_name=name,
                prepare_threshold=None,
            )
        except self._psycopg.Error as exc:
            raise LedgerError(f"cannot open the ledger {self.describe()}: {self._first_line(exc)}") from None
        for setting in ("idle_session_timeout", "idle_in_transaction_session_timeout"):
            with contextlib.suppress(self._psycopg.Error):  # older servers have no idle_session_timeout
                conn.execute(f"SET {setting} = 0")
        return conn

    def describe(self) -> str:
        """The database URL without its password."""
        return redact_url(self._url)

    def _first_line(self, exc: BaseException) -> str:
        text = str(exc).strip().splitlines()
        line = text[0] if text else type(exc).__name__
        password = _password(self._url)
        if password:
            line = line.replace(password, "***")
            with contextlib.suppress(Exception):
                from urllib.parse import quote

                line = line.replace(quote(password, safe=""), "***")
        return line

    def _transact(self, work: Callable[[_Exec], _T]) -> _T:
        def execute(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
            with self._db.cursor() as cur:
                cur.execute(sql.replace("?", "%s"), tuple(params))
                return list(cur.fetchall()) if cur.description is not None else []

        with self._guard:
            try:
                with self._db.transaction():
                    return work(execute)
            except self._psycopg.Error as exc:
                ended = self._db.closed or getattr(self._db, "broken", False)
                if self._hold is not None and (ended or isinstance(exc, self._psycopg.OperationalError)):
                    raise LedgerLockLostError(
                        f"the purchaser lock on {self.describe()} was lost: the ledger's session ended "
                        f"({self._first_line(exc)}); nothing more is bought"
                    ) from None
                raise LedgerError(f"the ledger {self.describe()} failed: {self._first_line(exc)}") from None

    def _stamps(self, execute: _Exec) -> tuple[str, str | None, str | None]:
        return str(execute(f"SELECT {_NOW}", ())[0][0]), None, None

    def now(self) -> datetime:
        """The server's clock."""
        return self._query("SELECT clock_timestamp()")[0][0].astimezone(UTC)  # type: ignore[no-any-return]

    def age(self, attempt: LedgerAttempt) -> float:
        """Seconds since ``attempt`` was stamped, computed by the server on its own clock."""
        rows = self._query(
            "SELECT EXTRACT(EPOCH FROM clock_timestamp() - CAST(updated_at AS timestamptz)) "
            "FROM numbroker_attempts WHERE id = ?",
            (attempt.id,),
        )
        return max(0.0, float(rows[0][0])) if rows else 0.0

    # -- the purchaser lock --

    def _acquire(self, run_id: str, timeout: float) -> PurchaserHold:
        token = self._new_token()
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            hold = self._transact(lambda execute: self._try_acquire(execute, token, run_id))
            if hold is not None:
                return hold
            if time.monotonic() >= deadline:
                raise self._busy(timeout)
            time.sleep(_POLL_SECONDS)

    def _try_acquire(self, execute: _Exec, token: str, run_id: str) -> PurchaserHold | None:
        # One transaction: the lock, the check that no other run's hold lives on this very session (a
        # transaction-mode pooler hands one server session to many clients, and advisory locks are
        # re-entrant per session), and the holder row.
        if not execute("SELECT pg_try_advisory_lock(?)", (_PURCHASER_LOCK,))[0][0]:
            return None
        session = str(execute(f"SELECT {_SESSION}", ())[0][0])
        row = self._holder_row(execute)
        if row is not None and row[1] == session:
            execute("SELECT pg_advisory_unlock(?)", (_PURCHASER_LOCK,))
            raise LedgerError(
                f"the ledger {self.describe()} is reached through a server session that already holds another "
                f"run's purchaser lock: {_POOLER}"
            )
        hold = PurchaserHold(token=token, run_id=run_id, session=session)
        self._write_holder(execute, hold)
        return hold

    def _release(self, hold: PurchaserHold) -> None:
        def work(execute: _Exec) -> None:
            self._clear_holder(execute, hold)
            session = str(execute(f"SELECT {_SESSION}", ())[0][0])
            if session == hold.session:
                execute("SELECT pg_advisory_unlock(?)", (_PURCHASER_LOCK,))

        with contextlib.suppress(LedgerError):
            self._transact(work)

    def _prove(self, execute: _Exec, hold: PurchaserHold) -> None:
        high, low = _lock_parts(_PURCHASER_LOCK)
        granted, session = execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND pid = pg_backend_pid() AND classid = CAST(? AS oid) AND objid = CAST(? AS oid) AND objsubid = 1), "
            f"{_SESSION}",
            (high, low),
        )[0]
        row = self._holder_row(execute)
        if session != hold.session:
            raise LedgerLockLostError(
                f"the purchaser lock on {self.describe()} is no longer this run's: the ledger's connection "
                f"reached another server session; {_POOLER}; nothing more is bought"
            )
        if not granted or row is None or row != (hold.token, hold.session):
            raise LedgerLockLostError(
                f"the purchaser lock on {self.describe()} was lost (its server session no longer holds it for "
                "this run); nothing more is bought"
            )

    def close(self) -> None:
        """Close the connection (the server releases any lock it held)."""
        with self._guard, contextlib.suppress(Exception):
            self._db.close()


_URL_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:([^@]+)@")
_KEYWORD_PASSWORD = re.compile(r"password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def _password(url: str) -> str | None:
    """The password in ``url`` (a URL or a libpq string), found even when the rest does not parse."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        value = conninfo_to_dict(url).get("password")
    except Exception:
        value = None
    if value:
        return str(value)
    found = _URL_PASSWORD.match(url.strip()) or _KEYWORD_PASSWORD.search(url)
    return found.group(1).strip("'") if found else None
