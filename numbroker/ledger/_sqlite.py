"""The embedded ledger: one SQLite file (stdlib ``sqlite3``, WAL) shared by every run of a user on a host.

Purchaser locks are ``flock`` locks on one small file per account beside the database: held by the open
file, so the kernel releases them when the holder exits or is killed (SIGKILL and the OOM killer
included), and they never expire while the holder lives. The holder writes who it is into the file, so a
run that waits can say who holds the account.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from numbroker.ledger._records import LedgerBusyError, LedgerError, utc_now
from numbroker.ledger._store import Ledger

__all__ = ["SQLiteLedger"]

_POLL_SECONDS = 0.05
_BUSY_TIMEOUT_MS = 30_000


class SQLiteLedger(Ledger):
    """A ledger in one SQLite file; every run of one user on one host can share it without configuration."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        """Open (creating if needed) the ledger file at ``path``; its folder is created too."""
        self.path = Path(path).expanduser()
        self._guard = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            self._create_schema("INTEGER PRIMARY KEY AUTOINCREMENT")
        except (OSError, sqlite3.Error) as exc:
            raise LedgerError(f"cannot open the ledger {self.describe()}: {exc}") from exc

    def describe(self) -> str:
        """The ledger file's path."""
        return str(self.path)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._guard:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    rows = self._db.execute(sql, tuple(params)).fetchall()
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise LedgerError(f"the ledger {self.describe()} failed: {exc}") from exc
            return rows

    def _lock_path(self, account: str) -> Path:
        digest = hashlib.sha256(account.encode()).hexdigest()[:24]
        return self.path.with_name(f"{self.path.name}.locks") / f"{digest}.lock"

    @contextlib.contextmanager
    def purchaser(self, account: str, *, run_id: str, timeout: float) -> Iterator[None]:
        """Hold ``account``'s purchaser lock (an ``flock`` on a file beside the ledger) while the block runs."""
        path = self._lock_path(account)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise LedgerError(f"cannot create the purchaser lock {path}: {exc.strerror}") from exc
        try:
            deadline = time.monotonic() + max(0.0, timeout)
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        holder = _read_holder(path)
                        raise LedgerBusyError(
                            f"another run is buying on {account.split(':')[0]}"
                            + (f" ({holder})" if holder else "")
                            + f"; waited {timeout:g} s",
                            holder=holder,
                        ) from None
                    time.sleep(_POLL_SECONDS)
            who = f"host {self.host}, pid {self.pid}, run {run_id}, since {utc_now():%Y-%m-%d %H:%M:%S}Z"
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                os.pwrite(fd, who.encode(), 0)
            yield
        finally:
            os.close(fd)  # closing the file releases the lock

    def close(self) -> None:
        """Close the database connection."""
        with self._guard, contextlib.suppress(sqlite3.Error):
            self._db.close()


def _read_holder(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    return text[:200] or None
