"""The embedded ledger: one SQLite file (stdlib ``sqlite3``, WAL) shared by every run of a user on a host.

The purchaser lock is an ``flock`` on the database file itself, so every name for the file (a symlink,
a hard link, a relative path) reaches one lock: the kernel keys it on the file, not the name. It is held
by an open file descriptor, so the kernel releases it when the holder exits or is killed (SIGKILL and
the OOM killer included), and it never expires while the holder lives. The holder writes who it is
into the ledger's holder row, so a run that waits can say who holds it.

The descriptor stays open until the ledger is closed (after SQLite's own connection): closing any
descriptor of a database file would drop the POSIX locks SQLite holds on it in this process.

One clock: every stamp carries the host's boot id and its ``CLOCK_BOOTTIME`` seconds beside the wall
time, so an age between two stamps of one boot is measured on a clock no wall-clock step or offset
moves; only across a reboot is the wall time compared.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from numbroker.ledger._records import LedgerAttempt, LedgerError, LedgerLockLostError
from numbroker.ledger._store import Ledger, PurchaserHold

__all__ = ["SQLiteLedger", "boot_id"]

_POLL_SECONDS = 0.05
_BUSY_TIMEOUT_MS = 30_000
_T = TypeVar("_T")
_Exec = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


def boot_id() -> str | None:
    """This host's boot id (Linux), or None where the system has none."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip() or None
    except OSError:
        return None


def _boot_seconds() -> float | None:
    clock = getattr(time, "CLOCK_BOOTTIME", None)
    return None if clock is None else time.clock_gettime(clock)


class SQLiteLedger(Ledger):
    """A ledger in one SQLite file; every run of one user on one host can share it without configuration."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True) -> None:
        """Open the ledger file at ``path``; with ``create`` (the default) it and its folder are made if missing.

        Raises:
            LedgerError: the file cannot be opened, or is missing and ``create`` is False.
        """
        self.path = Path(path).expanduser()
        self._guard = threading.Lock()
        self._lock_fd: int | None = None
        self._boot_id = boot_id()
        if not create and not self.path.exists():
            raise LedgerError(
                f"no ledger at {self.describe()}: check the path, or create one with `numbroker ledger init PATH`"
            )
        try:
            if create:
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
        """The ledger file's path (resolved: a symlink names the file it points to)."""
        try:
            return os.path.realpath(self.path)
        except OSError:  # pragma: no cover - realpath does not fail on Linux
            return str(self.path)

    def _transact(self, work: Callable[[_Exec], _T]) -> _T:
        def execute(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
            return self._db.execute(sql, tuple(params)).fetchall()

        with self._guard:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    result = work(execute)
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise LedgerError(f"the ledger {self.describe()} failed: {exc}") from exc
            return result

    def _stamps(self, execute: _Exec) -> tuple[str, str | None, str | None]:
        seconds = _boot_seconds()
        return (
            datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            self._boot_id,
            None if seconds is None or self._boot_id is None else repr(seconds),
        )

    def now(self) -> datetime:
        """This host's wall clock (spend windows; ages use the boot clock, see :meth:`age`)."""
        return datetime.now(UTC)

    def age(self, attempt: LedgerAttempt) -> float:
        """Seconds since ``attempt`` was stamped: on the boot clock within one boot, else the wall clock."""
        seconds = _boot_seconds()
        if attempt.boot_id is not None and attempt.boot_id == self._boot_id and attempt.boot_seconds is not None:
            assert seconds is not None
            return max(0.0, seconds - attempt.boot_seconds)
        return max(0.0, (datetime.now(UTC) - attempt.updated_at).total_seconds())

    # -- the purchaser lock --

    def _lock_descriptor(self) -> int:
        if self._lock_fd is None:
            try:
                self._lock_fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
            except OSError as exc:
                raise LedgerError(f"cannot open the ledger {self.describe()} to lock it: {exc.strerror}") from exc
        return self._lock_fd

    def _session(self, fd: int) -> str:
        info = os.fstat(fd)
        return f"file {info.st_dev}:{info.st_ino}"

    def _acquire(self, run_id: str, timeout: float) -> PurchaserHold:
        fd = self._lock_descriptor()
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise self._busy(timeout) from None
                time.sleep(_POLL_SECONDS)
        hold = PurchaserHold(token=self._new_token(), run_id=run_id, session=self._session(fd))
        try:
            self._transact(lambda execute: self._write_holder(execute, hold))
        except BaseException:
            fcntl.flock(fd, fcntl.LOCK_UN)
            raise
        return hold

    def _release(self, hold: PurchaserHold) -> None:
        fd = self._lock_fd
        try:
            self._transact(lambda execute: self._clear_holder(execute, hold))
        except LedgerError:
            pass  # the next holder overwrites the row
        finally:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _prove(self, execute: _Exec, hold: PurchaserHold) -> None:
        fd = self._lock_fd
        try:
            same_file = fd is not None and self._session(fd) == hold.session == f"file {_file_id(self.path)}"
        except OSError:
            same_file = False
        if not same_file:
            raise LedgerLockLostError(
                f"the purchaser lock on {self.describe()} was lost: the ledger file was replaced or removed "
                "while this run held it; nothing more is bought"
            )
        row = self._holder_row(execute)
        if row is None or row[0] != hold.token:
            raise LedgerLockLostError(
                f"the purchaser lock on {self.describe()} was lost: its holder row names another run; nothing "
                "more is bought"
            )

    def close(self) -> None:
        """Close the database connection, then the lock's descriptor (releasing the lock)."""
        with self._guard:
            with contextlib.suppress(sqlite3.Error, AttributeError):
                self._db.close()
            if self._lock_fd is not None:
                with contextlib.suppress(OSError):
                    os.close(self._lock_fd)
                self._lock_fd = None


def _file_id(path: Path) -> str:
    info = os.stat(path)
    return f"{info.st_dev}:{info.st_ino}"
