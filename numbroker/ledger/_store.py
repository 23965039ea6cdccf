"""The ledger's operations, written once over a small SQL surface that SQLite and PostgreSQL both speak.

Every state change is one transaction, committed before the call returns: an attempt is ``pending`` on
disk before its purchase request is sent, and its answer is on disk before the run moves on. Amounts are
stored as decimal text and summed with :class:`~decimal.Decimal`, so no float touches money here either.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import socket
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from numbroker._exceptions import ConfigurationError
from numbroker.ledger._records import (
    SPENDING_STATES,
    AttemptState,
    IntentStatus,
    LedgerAttempt,
    LedgerBusyError,
    LedgerError,
    LedgerIntent,
    LedgerRelease,
    ReleaseAction,
    ReleaseState,
    UndecodedAttempt,
)

_T = TypeVar("_T")

__all__ = ["SCHEMA", "Ledger", "PurchaserHold"]

SCHEMA_VERSION = 3

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS numbroker_meta (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS numbroker_intents (
        key TEXT PRIMARY KEY,
        quantity INTEGER NOT NULL,
        budget TEXT,
        currency TEXT NOT NULL,
        status TEXT NOT NULL,
        result TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS numbroker_attempts (
        id {serial},
        intent TEXT NOT NULL REFERENCES numbroker_intents(key),
        run_id TEXT NOT NULL,
        account TEXT NOT NULL,
        provider TEXT NOT NULL,
        e164 TEXT NOT NULL,
        offer_id TEXT NOT NULL,
        amount TEXT NOT NULL,
        currency TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT,
        note TEXT,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        sold TEXT,
        boot_id TEXT,
        boot_seconds TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS numbroker_holder (
        name TEXT PRIMARY KEY,
        token TEXT NOT NULL,
        run_id TEXT NOT NULL,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        session TEXT NOT NULL,
        since TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS numbroker_releases (
        id {serial},
        intent TEXT NOT NULL REFERENCES numbroker_intents(key),
        run_id TEXT NOT NULL,
        account TEXT NOT NULL,
        provider TEXT NOT NULL,
        e164 TEXT NOT NULL,
        action TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT,
        note TEXT,
        monthly TEXT,
        currency TEXT,
        effective_at TEXT,
        undo_until TEXT,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS numbroker_attempts_account ON numbroker_attempts (account, state)",
    "CREATE INDEX IF NOT EXISTS numbroker_releases_account ON numbroker_releases (account, state)",
    "CREATE INDEX IF NOT EXISTS numbroker_attempts_intent ON numbroker_attempts (intent)",
)
"""The tables; ``{serial}`` is each engine's auto-increment primary key."""

_MIGRATIONS = {
    "1": (
        "ALTER TABLE numbroker_attempts ADD COLUMN sold TEXT",
        "ALTER TABLE numbroker_attempts ADD COLUMN boot_id TEXT",
        "ALTER TABLE numbroker_attempts ADD COLUMN boot_seconds TEXT",
    ),
    "2": (),
}
"""Statements that bring a ledger of an older schema to this one (the holder and release tables are created above)."""

_ATTEMPT_FIELDS = (
    "id",
    "intent",
    "run_id",
    "account",
    "provider",
    "e164",
    "offer_id",
    "amount",
    "currency",
    "state",
    "reason",
    "note",
    "host",
    "pid",
    "created_at",
    "updated_at",
    "sold",
    "boot_id",
    "boot_seconds",
)
_ATTEMPT_COLUMNS = ", ".join(_ATTEMPT_FIELDS)
_INTENT_COLUMNS = "key, quantity, budget, currency, status, result, created_at, updated_at"
_TEXT_LIMIT = 2000
_STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_STAMP_LIKE = "____-__-__T__:__:__.______Z"
"""What every stamp looks like (SQL ``LIKE``): a row stamped otherwise is never filtered out by time."""
_CURRENCY = re.compile(r"[A-Z]{3}")
_HOLDER = "purchaser"
_Exec = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


def _stamp(moment: datetime) -> str:
    # Fixed-width UTC text sorts in time order in both engines.
    return moment.astimezone(UTC).strftime(_STAMP_FORMAT)


def _moment(text: object) -> datetime:
    if not isinstance(text, str):
        raise ValueError(f"not a time stamp: {text!r}"[:120])
    return datetime.strptime(text, _STAMP_FORMAT).replace(tzinfo=UTC)


def _clip(text: str | None) -> str | None:
    return None if text is None else text[:_TEXT_LIMIT]


def _money_columns(what: str, amount: Decimal | None, currency: str | None) -> tuple[str | None, str | None]:
    """An amount and its currency as the ledger stores them (exact decimal text, an ISO 4217-shaped code).

    Raises:
        LedgerError: refusing ``what``: an amount that is not finite and non-negative, or a currency that
            is not a code.
    """
    try:
        text = None if amount is None else str(checked_amount(amount))
    except ValueError as exc:
        raise LedgerError(f"the ledger refuses {what}: {exc}") from None
    if currency is not None and not _CURRENCY.fullmatch(currency):
        raise LedgerError(f"the ledger refuses {what}: currency {currency!r} is not a currency code")
    return text, currency


def checked_amount(value: object) -> Decimal:
    """An amount the ledger accepts: a finite, non-negative decimal (stored as text, never a float)."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value)) if isinstance(value, (str, int)) else None
    except ArithmeticError:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0:
        raise ValueError(f"not a finite, non-negative amount: {value!r}"[:120])
    return amount


def _text(value: object, name: str, *, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} is not text: {value!r}"[:120])
    return value


def _integer(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{name} is not an integer: {value!r}"[:120])
    return int(value)


def _seconds(value: object) -> float | None:
    if value is None:
        return None
    seconds = float(_text(value, "boot_seconds"))
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"boot_seconds is not a finite, non-negative number: {value!r}"[:120])
    return seconds


def _decode_attempt(row: Sequence[Any]) -> LedgerAttempt:
    """One attempt row as typed values (ValueError naming the field that does not decode)."""
    state = _text(row[9], "state")
    if state not in AttemptState._value2member_map_:
        raise ValueError(f"unknown state {state!r}"[:120])
    currency = _text(row[8], "currency")
    if not _CURRENCY.fullmatch(currency):
        raise ValueError(f"currency is not a currency code: {currency!r}"[:120])
    try:
        amount = checked_amount(row[7])
    except ValueError as exc:
        raise ValueError(f"amount: {exc}") from None
    try:
        created, updated = _moment(row[14]), _moment(row[15])
    except ValueError as exc:
        raise ValueError(f"time stamp: {exc}") from None
    return LedgerAttempt(
        id=_integer(row[0], "id"),
        intent=_text(row[1], "intent"),
        run_id=_text(row[2], "run_id"),
        account=_text(row[3], "account"),
        provider=_text(row[4], "provider"),
        e164=_text(row[5], "e164"),
        offer_id=_text(row[6], "offer_id"),
        amount=amount,
        currency=currency,
        state=AttemptState(state),
        reason=_text(row[10], "reason", optional=True),
        note=_text(row[11], "note", optional=True),
        host=_text(row[12], "host"),
        pid=_integer(row[13], "pid"),
        created_at=created,
        updated_at=updated,
        sold=_text(row[16], "sold", optional=True),
        boot_id=_text(row[17], "boot_id", optional=True),
        boot_seconds=_seconds(row[18]),
    )


_RELEASE_FIELDS = (
    "id",
    "intent",
    "run_id",
    "account",
    "provider",
    "e164",
    "action",
    "state",
    "reason",
    "note",
    "monthly",
    "currency",
    "effective_at",
    "undo_until",
    "host",
    "pid",
    "created_at",
    "updated_at",
)
_RELEASE_COLUMNS = ", ".join(_RELEASE_FIELDS)


def _optional_moment(value: object) -> datetime | None:
    return None if value is None else _moment(value)


def _decode_release(row: Sequence[Any]) -> LedgerRelease:
    """One release row as typed values (ValueError naming the field that does not decode)."""
    action, state = _text(row[6], "action"), _text(row[7], "state")
    if action not in ReleaseAction._value2member_map_ or state not in ReleaseState._value2member_map_:
        raise ValueError(f"unknown action or state {action!r}/{state!r}"[:120])
    currency = _text(row[11], "currency", optional=True)
    if currency is not None and not _CURRENCY.fullmatch(currency):
        raise ValueError(f"currency is not a currency code: {currency!r}"[:120])
    return LedgerRelease(
        id=_integer(row[0], "id"),
        intent=_text(row[1], "intent"),
        run_id=_text(row[2], "run_id"),
        account=_text(row[3], "account"),
        provider=_text(row[4], "provider"),
        e164=_text(row[5], "e164"),
        action=ReleaseAction(action),
        state=ReleaseState(state),
        reason=_text(row[8], "reason", optional=True),
        note=_text(row[9], "note", optional=True),
        monthly=None if row[10] is None else checked_amount(row[10]),
        currency=currency,
        effective_at=_optional_moment(row[12]),
        undo_until=_optional_moment(row[13]),
        host=_text(row[14], "host"),
        pid=_integer(row[15], "pid"),
        created_at=_moment(row[16]),
        updated_at=_moment(row[17]),
    )


def _undecoded(row: Sequence[Any], problem: str) -> UndecodedAttempt:
    try:
        ident: int | None = _integer(row[0], "id")
    except (ValueError, TypeError):
        ident = None
    return UndecodedAttempt(
        id=ident,
        problem=problem,
        fields={name: str(value)[:200] for name, value in zip(_ATTEMPT_FIELDS, row, strict=False)},
    )


def _intent(row: Sequence[Any]) -> LedgerIntent:
    return LedgerIntent(
        key=_text(row[0], "key"),
        quantity=_integer(row[1], "quantity"),
        budget=None if row[2] is None else checked_amount(row[2]),
        currency=_text(row[3], "currency"),
        status=IntentStatus(row[4]),
        result=_text(row[5], "result", optional=True),
        created_at=_moment(row[6]),
        updated_at=_moment(row[7]),
    )


def _narrowing(
    *,
    intent: str | None,
    accounts: Iterable[str] | None,
    states: Iterable[Any] | None,
    every: type[AttemptState] | type[ReleaseState],
) -> tuple[list[str], list[Any]] | None:
    """The ``WHERE`` terms and parameters of an intent, account and state filter; None when nothing can match.

    A state filter excludes by name every known state not asked for, so a row of a state this numbroker does
    not know is kept (and its decoding refuses it): a malformed row never slips through a filter.
    """
    where: list[str] = []
    params: list[Any] = []
    if accounts is not None:
        chosen = sorted(set(accounts))
        if not chosen:
            return None
        where.append(f"account IN ({', '.join('?' for _ in chosen)})")
        params.extend(chosen)
    if states is not None:
        wanted = {every(s) for s in states}
        if not wanted:
            return None
        others = sorted(s.value for s in every if s not in wanted)
        if others:
            where.append(f"state NOT IN ({', '.join('?' for _ in others)})")
            params.extend(others)
    if intent is not None:
        where.append("intent = ?")
        params.append(intent)
    return where, params


@dataclass(frozen=True, slots=True)
class PurchaserHold:
    """This process's hold on a ledger's purchaser lock: its token, and the session holding it."""

    token: str
    run_id: str
    session: str
    """What holds the lock: the database file (device and inode), or the server session (pid and start)."""


class Ledger(ABC):
    """The durable record of purchase intents and attempts, shared by every run that opens it.

    Open one with :func:`numbroker.ledger.open_ledger`; use it as a context manager or call
    :meth:`close`. Methods are synchronous and each commits before it returns (call them from a worker
    thread in async code). ``describe()`` names the ledger without any password.

    Everything that changes what an account holds runs inside :meth:`purchaser`, the ledger's single
    purchaser lock; while it is held, :meth:`record_attempt` first proves it still is (in the same
    transaction as its write) and raises :class:`LedgerLockLostError` when it is not.
    """

    _hold: PurchaserHold | None = None

    @property
    def host(self) -> str:
        """This machine's name, recorded with every attempt."""
        return socket.gethostname()

    @property
    def pid(self) -> int:
        """This process's id, recorded with every attempt."""
        return os.getpid()

    # -- what an engine provides --

    @abstractmethod
    def describe(self) -> str:
        """Where this ledger is, for messages (a path, or a database URL without its password)."""

    @abstractmethod
    def _transact(self, work: Callable[[_Exec], _T]) -> _T:
        """Run ``work`` in one transaction; it executes statements (``?`` placeholders) through its argument."""

    @abstractmethod
    def _stamps(self, execute: _Exec) -> tuple[str, str | None, str | None]:
        """The ledger clock's time stamp now, and the boot id and boot-clock seconds beside it (or None)."""

    @abstractmethod
    def _acquire(self, run_id: str, timeout: float) -> PurchaserHold:
        """Take the purchaser lock (waiting at most ``timeout`` s) and write the holder row; the hold."""

    @abstractmethod
    def _release(self, hold: PurchaserHold) -> None:
        """Clear the holder row (if it is still this hold's) and release the lock."""

    @abstractmethod
    def _prove(self, execute: _Exec, hold: PurchaserHold) -> None:
        """Raise :class:`LedgerLockLostError` unless ``hold`` is still this process's, inside a transaction."""

    @abstractmethod
    def age(self, attempt: LedgerAttempt) -> float:
        """Seconds since ``attempt`` was last stamped, on the ledger's clock (0 for a stamp in the future)."""

    @abstractmethod
    def now(self) -> datetime:
        """The ledger clock's current time (the server's for PostgreSQL, this host's for SQLite)."""

    @abstractmethod
    def close(self) -> None:
        """Close the ledger's connections (locks held through it are released)."""

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement in its own transaction and return its rows."""
        return self._transact(lambda execute: execute(sql, params))

    # -- the purchaser lock --

    @contextlib.contextmanager
    def purchaser(self, *, run_id: str, timeout: float) -> Iterator[PurchaserHold]:
        """Hold the ledger's purchaser lock: one run changes what accounts hold at a time.

        Taken before anything a purchase depends on is read (the intent, its attempts, spend totals,
        unresolved attempts), held until the run's last write. The lock is held by an open file
        (SQLite: ``flock`` on the database file itself) or the session that writes the ledger
        (PostgreSQL: an advisory lock), never a lease with a time-out; the operating system or the
        server frees it when the holder dies. Waits at most ``timeout`` seconds, then raises
        :class:`LedgerBusyError` naming the holder.
        """
        if self._hold is not None:
            raise LedgerError(f"the purchaser lock of {self.describe()} is already held by this process")
        hold = self._acquire(run_id, timeout)
        self._hold = hold
        try:
            yield hold
        finally:
            self._hold = None
            self._release(hold)

    def holder(self) -> str | None:
        """Who holds (or last held) the purchaser lock, as its holder row says: host, pid, run, since."""
        try:
            rows = self._query("SELECT host, pid, run_id, since FROM numbroker_holder WHERE name = ?", (_HOLDER,))
        except LedgerError:
            return None
        if not rows:
            return None
        host, pid, run, since = rows[0]
        return f"host {str(host)[:64]}, pid {pid}, run {str(run)[:40]}, since {str(since)[:19].replace('T', ' ')}Z"

    def _busy(self, timeout: float) -> LedgerBusyError:
        """The error of a run that waited ``timeout`` seconds for the purchaser lock, naming its holder."""
        holder = self.holder()
        return LedgerBusyError(
            f"another run is buying on the ledger {self.describe()}"
            + (f" ({holder})" if holder else "")
            + f"; waited {timeout:g} s",
            holder=holder,
        )

    def _write_holder(self, execute: _Exec, hold: PurchaserHold) -> None:
        since = self._stamps(execute)[0]
        execute(
            "INSERT INTO numbroker_holder (name, token, run_id, host, pid, session, since) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET token = excluded.token, run_id = excluded.run_id, host = excluded.host, "
            "pid = excluded.pid, session = excluded.session, since = excluded.since",
            (_HOLDER, hold.token, hold.run_id[:200], self.host, self.pid, hold.session, since),
        )

    def _holder_row(self, execute: _Exec) -> tuple[str, str] | None:
        """The holder row's token and session, if there is one."""
        rows = execute("SELECT token, session FROM numbroker_holder WHERE name = ?", (_HOLDER,))
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    def _clear_holder(self, execute: _Exec, hold: PurchaserHold) -> None:
        execute("DELETE FROM numbroker_holder WHERE name = ? AND token = ?", (_HOLDER, hold.token))

    @staticmethod
    def _new_token() -> str:
        return uuid.uuid4().hex

    # -- intents --

    def intent(self, key: str) -> LedgerIntent | None:
        """The intent named ``key``, if any run has opened it."""
        rows = self._query(f"SELECT {_INTENT_COLUMNS} FROM numbroker_intents WHERE key = ?", (key,))
        return self._decoded_intent(rows[0]) if rows else None

    def _decoded_intent(self, row: Sequence[Any]) -> LedgerIntent:
        try:
            return _intent(row)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise LedgerError(
                f"the intent {str(row[0])[:200]!r} in {self.describe()} does not decode ({exc}): fix or remove that row"
            ) from None

    def open_intent(self, key: str, *, quantity: int, budget: Decimal | None, currency: str) -> LedgerIntent:
        """Open the intent ``key``, or return it unchanged if a run already opened it (a rerun continues it)."""
        if budget is not None:
            checked_amount(budget)

        def work(execute: _Exec) -> None:
            now = self._stamps(execute)[0]
            execute(
                "INSERT INTO numbroker_intents (key, quantity, budget, currency, status, result, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, NULL, ?, ?) ON CONFLICT (key) DO NOTHING",
                (key, quantity, None if budget is None else str(budget), currency, IntentStatus.OPEN.value, now, now),
            )

        self._transact(work)
        found = self.intent(key)
        if found is None:  # pragma: no cover - the insert above or an earlier one made it
            raise LedgerError(f"the intent {key!r} could not be recorded in {self.describe()}")
        return found

    def finish_intent(self, key: str, result: str) -> None:
        """Mark the intent finished, keeping the run's JSON result for reruns."""

        def work(execute: _Exec) -> None:
            now = self._stamps(execute)[0]
            execute(
                "UPDATE numbroker_intents SET status = ?, result = ?, updated_at = ? WHERE key = ?",
                (IntentStatus.FINISHED.value, result, now, key),
            )

        self._transact(work)

    def intents(self, *, limit: int = 100) -> list[LedgerIntent]:
        """The most recently updated intents, newest first."""
        rows = self._query(
            f"SELECT {_INTENT_COLUMNS} FROM numbroker_intents ORDER BY updated_at DESC LIMIT ?", (int(limit),)
        )
        return [self._decoded_intent(r) for r in rows]

    # -- attempts --

    def record_attempt(
        self,
        *,
        intent: str,
        run_id: str,
        account: str,
        provider: str,
        e164: str,
        offer_id: str,
        amount: Decimal,
        currency: str,
        state: AttemptState = AttemptState.PENDING,
    ) -> LedgerAttempt:
        """Write a new attempt (by default ``pending``: call this before the purchase request is sent).

        While this process holds the purchaser lock, the write first proves the lock is still held, in
        the same transaction.

        Raises:
            LedgerLockLostError: the purchaser lock this process took is no longer provably held.
            LedgerError: the write failed, or an amount that is not finite and non-negative, or an
                unknown state.
        """
        price, code = _money_columns(f"attempt {e164}", amount, currency)
        try:
            state = AttemptState(state)
        except ValueError as exc:
            raise LedgerError(f"the ledger refuses attempt {e164}: {exc}") from None
        row: dict[str, str | None] = {"intent": intent, "run_id": run_id, "account": account, "e164": e164}
        row["provider"] = provider
        row |= {"offer_id": offer_id, "amount": price, "currency": code, "state": state.value}
        return self._decoded(self._insert("numbroker_attempts", row, _ATTEMPT_COLUMNS, boot=True))

    def update_attempt(
        self,
        attempt_id: int,
        state: AttemptState,
        *,
        reason: str | None = None,
        note: str | None = None,
        sold: str | None = None,
    ) -> LedgerAttempt:
        """Record ``attempt_id``'s new state (its reason, an operator's note, the number the vendor sold).

        A recorded sold number is never replaced, and a reason that names it is kept (the new reason is
        added after it).
        """
        state = AttemptState(state)

        def work(execute: _Exec) -> list[tuple[Any, ...]]:
            found = execute("SELECT sold, reason FROM numbroker_attempts WHERE id = ?", (int(attempt_id),))
            if not found:
                return []
            was_sold, was_reason = found[0]
            text = reason
            names_sold = isinstance(was_sold, str) and isinstance(was_reason, str) and was_sold in was_reason
            if reason is not None and names_sold and str(was_sold) not in reason:
                text = f"{was_reason}; {reason}"
            now, boot_id, boot_seconds = self._stamps(execute)
            return execute(
                "UPDATE numbroker_attempts SET state = ?, reason = COALESCE(?, reason), note = COALESCE(?, note), "
                "sold = COALESCE(sold, ?), updated_at = ?, boot_id = ?, boot_seconds = ? "
                f"WHERE id = ? RETURNING {_ATTEMPT_COLUMNS}",
                (state.value, _clip(text), _clip(note), sold, now, boot_id, boot_seconds, int(attempt_id)),
            )

        rows = self._transact(work)
        if not rows:
            raise LedgerError(f"no attempt {attempt_id} in {self.describe()}")
        return self._decoded(rows[0])

    def _insert(self, table: str, row: dict[str, str | None], returning: str, *, boot: bool) -> tuple[Any, ...]:
        """Insert ``row`` (column: value; the columns it leaves out stay NULL) into ``table``; the new row.

        Stamped with this host, process and the ledger's clock (and the boot stamps when ``boot``). While
        this process holds the purchaser lock, the write first proves it still does, in the same transaction.
        """
        hold = self._hold

        def work(execute: _Exec) -> list[tuple[Any, ...]]:
            if hold is not None:
                self._prove(execute, hold)
            now, boot_id, boot_seconds = self._stamps(execute)
            values: dict[str, object] = {**row, "host": self.host, "pid": self.pid, "created_at": now}
            values["updated_at"] = now
            if boot:
                values |= {"boot_id": boot_id, "boot_seconds": boot_seconds}
            columns, marks = ", ".join(values), ", ".join("?" * len(values))
            sql = f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING {returning}"
            return execute(sql, tuple(values.values()))

        return self._transact(work)[0]

    def _decoded(self, row: Sequence[Any]) -> LedgerAttempt:
        try:
            return _decode_attempt(row)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise LedgerError(
                f"attempt {str(row[0])[:20]} in {self.describe()} does not decode ({exc}): nothing is bought "
                "while the ledger holds a row it cannot read; check it with `numbroker ledger`, then fix or "
                "remove that row"
            ) from None

    def resolve(self, attempt_id: int, state: AttemptState, *, note: str, timeout: float = 10.0) -> LedgerAttempt:
        """Settle an unresolved attempt by hand: what someone found in the vendor's account, with a note.

        ``state`` is ``bought`` (the account owns the number: it counts toward its intent and the spend
        limit) or ``released`` (the account does not own it: nothing was bought, they are freed). The
        ledger's purchaser lock is held meanwhile, so this never races a run that is buying (which may be
        settling this very attempt); the reason recorded names this host and the state the attempt had.

        Raises:
            ConfigurationError: ``state`` is neither, there is no attempt ``attempt_id``, or it is not (or
                no longer) unresolved.
            LedgerBusyError: a run held the ledger's purchaser lock for ``timeout`` seconds.
            LedgerError: the ledger cannot be read or written.
        """
        if state not in (AttemptState.BOUGHT, AttemptState.RELEASED):
            raise ConfigurationError(f"an attempt is resolved by hand as bought or released, not {state}")
        found = self.attempt(attempt_id)
        if found is None:
            raise ConfigurationError(f"no attempt {attempt_id} in {self.describe()}")
        if not found.unresolved:
            raise ConfigurationError(f"attempt {attempt_id} is already {found.state.value}: nothing to resolve")
        with self.purchaser(run_id=f"resolve-{attempt_id}", timeout=timeout):
            current = self.attempt(attempt_id)
            if current is None or not current.unresolved:
                raise ConfigurationError(
                    f"attempt {attempt_id} was settled meanwhile: {current and current.state.value}"
                )
            reason = f"resolved by hand on {self.host} (was {found.state.value})"
            return self.update_attempt(attempt_id, state, reason=reason, note=note)

    def attempt(self, attempt_id: int) -> LedgerAttempt | None:
        """One attempt by its id."""
        rows = self._query(f"SELECT {_ATTEMPT_COLUMNS} FROM numbroker_attempts WHERE id = ?", (int(attempt_id),))
        return self._decoded(rows[0]) if rows else None

    def _attempt_rows(
        self,
        *,
        intent: str | None,
        accounts: Iterable[str] | None,
        states: Iterable[AttemptState] | None,
        since: datetime | None,
        limit: int | None,
    ) -> list[tuple[Any, ...]]:
        # Rows are narrowed in SQL only in ways a malformed row cannot slip through: a state filter keeps
        # every state it does not know (excluding only the known states not asked for), a time filter keeps
        # every stamp that is not in the ledger's format; decoding then refuses them.
        narrowed = _narrowing(intent=intent, accounts=accounts, states=states, every=AttemptState)
        if narrowed is None:
            return []
        where, params = narrowed
        if since is not None:
            where.append("(created_at >= ? OR created_at NOT LIKE ?)")
            params.extend((_stamp(since), _STAMP_LIKE))
        sql = f"SELECT {_ATTEMPT_COLUMNS} FROM numbroker_attempts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        if limit is not None:
            sql = f"SELECT * FROM ({sql} ORDER BY id DESC LIMIT ?) AS newest"
            params.append(int(limit))
        return self._query(sql + " ORDER BY id", params)

    def attempts(
        self,
        *,
        intent: str | None = None,
        accounts: Iterable[str] | None = None,
        states: Iterable[AttemptState] | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[LedgerAttempt]:
        """Attempts matching every given filter, oldest first (the newest ``limit`` when a limit is given).

        Raises:
            LedgerError: a row that could match does not decode (the message names the attempt).
        """
        rows = self._attempt_rows(intent=intent, accounts=accounts, states=states, since=since, limit=limit)
        return [self._decoded(r) for r in rows]

    def listing(
        self,
        *,
        intent: str | None = None,
        states: Iterable[AttemptState] | None = None,
        limit: int | None = None,
    ) -> list[LedgerAttempt | UndecodedAttempt]:
        """Like :meth:`attempts`, for reading by a person: a row that does not decode is listed as such."""
        out: list[LedgerAttempt | UndecodedAttempt] = []
        for row in self._attempt_rows(intent=intent, accounts=None, states=states, since=None, limit=limit):
            try:
                out.append(_decode_attempt(row))
            except (ValueError, TypeError, ArithmeticError) as exc:
                out.append(_undecoded(row, str(exc)))
        return out

    def spent(self, account: str | None, *, currency: str, window: timedelta) -> tuple[Decimal, set[str]]:
        """First bills bought or unresolved in the last ``window`` (on the ledger's clock), in ``currency``.

        All accounts when ``account`` is None. Returns the sum and the other currencies found in that
        window (which cannot be added to it: a caller enforcing a limit treats them as a reason to stop,
        never as zero).
        """
        total = Decimal(0)
        others: set[str] = set()
        for attempt in self.attempts(
            accounts=None if account is None else [account], states=SPENDING_STATES, since=self.now() - window
        ):
            if attempt.currency == currency:
                total += attempt.amount
            else:
                others.add(attempt.currency)
        return total, others

    def owned_numbers(self, account: str) -> set[str]:
        """Numbers this ledger says the account bought (or may have bought: unresolved attempts)."""
        return {n for a in self.attempts(accounts=[account], states=SPENDING_STATES) for n in a.numbers}

    # -- releases: the same lock and clock as purchases, in a table of their own --

    def record_release(
        self,
        *,
        intent: str,
        run_id: str,
        account: str,
        provider: str,
        e164: str,
        action: ReleaseAction = ReleaseAction.RELEASE,
        monthly: Decimal | None = None,
        currency: str | None = None,
        note: str | None = None,
    ) -> LedgerRelease:
        """Write a new release attempt ``pending``: call this before the request is sent.

        While this process holds the purchaser lock, the write first proves it still does, in the same
        transaction (a buy and a release on one ledger never interleave).

        Raises:
            LedgerLockLostError: the purchaser lock this process took is no longer provably held.
            LedgerError: the write failed, or a saving that is not a finite, non-negative amount.
        """
        saving, currency = _money_columns(f"the release of {e164}", monthly, currency)
        try:
            action = ReleaseAction(action)
        except ValueError as exc:
            raise LedgerError(f"the ledger refuses the release of {e164}: {exc}") from None
        row: dict[str, str | None] = {"intent": intent, "run_id": run_id, "account": account, "e164": e164}
        row["provider"] = provider
        row |= {"action": action.value, "state": ReleaseState.PENDING.value, "note": _clip(note)}
        row |= {"monthly": saving, "currency": currency}
        return self._decoded_release(self._insert("numbroker_releases", row, _RELEASE_COLUMNS, boot=False))

    def update_release(
        self,
        release_id: int,
        state: ReleaseState,
        *,
        reason: str | None = None,
        effective_at: datetime | None = None,
        undo_until: datetime | None = None,
    ) -> LedgerRelease:
        """Record what came of release attempt ``release_id``.

        With its reason and, for a deferred release, when it takes effect and until when it can be undone.
        """
        state = ReleaseState(state)

        def work(execute: _Exec) -> list[tuple[Any, ...]]:
            now = self._stamps(execute)[0]
            return execute(
                "UPDATE numbroker_releases SET state = ?, reason = COALESCE(?, reason), "
                "effective_at = COALESCE(?, effective_at), undo_until = COALESCE(?, undo_until), updated_at = ? "
                f"WHERE id = ? RETURNING {_RELEASE_COLUMNS}",
                (
                    state.value,
                    _clip(reason),
                    None if effective_at is None else _stamp(effective_at),
                    None if undo_until is None else _stamp(undo_until),
                    now,
                    int(release_id),
                ),
            )

        rows = self._transact(work)
        if not rows:
            raise LedgerError(f"no release attempt {release_id} in {self.describe()}")
        return self._decoded_release(rows[0])

    def releases(
        self,
        *,
        intent: str | None = None,
        accounts: Iterable[str] | None = None,
        states: Iterable[ReleaseState] | None = None,
    ) -> list[LedgerRelease]:
        """Release attempts matching every given filter, oldest first.

        Raises:
            LedgerError: a row that could match does not decode (the message names it).
        """
        narrowed = _narrowing(intent=intent, accounts=accounts, states=states, every=ReleaseState)
        if narrowed is None:
            return []
        where, params = narrowed
        sql = f"SELECT {_RELEASE_COLUMNS} FROM numbroker_releases"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [self._decoded_release(r) for r in self._query(sql + " ORDER BY id", params)]

    def release_age(self, release: LedgerRelease) -> float:
        """Seconds since ``release`` was last written, on the ledger's clock (0 for a stamp in the future)."""
        return max(0.0, (self.now() - release.updated_at).total_seconds())

    def _decoded_release(self, row: Sequence[Any]) -> LedgerRelease:
        try:
            return _decode_release(row)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise LedgerError(
                f"release attempt {str(row[0])[:20]} in {self.describe()} does not decode ({exc}): nothing is "
                "released while the ledger holds a row it cannot read; fix or remove that row"
            ) from None

    # -- set-up --

    def _create_schema(self, serial: str) -> None:
        """Create the tables, or bring an older ledger's up to this schema (one transaction)."""

        def work(execute: _Exec) -> None:
            for statement in SCHEMA:
                execute(statement.format(serial=serial), ())
            execute(
                "INSERT INTO numbroker_meta (name, value) VALUES ('schema', ?) ON CONFLICT (name) DO NOTHING",
                (str(SCHEMA_VERSION),),
            )
            found = execute("SELECT value FROM numbroker_meta WHERE name = 'schema'", ())
            version = str(found[0][0]) if found else "?"
            if version in _MIGRATIONS:
                for statement in _MIGRATIONS[version]:
                    execute(statement, ())
                execute("UPDATE numbroker_meta SET value = ? WHERE name = 'schema'", (str(SCHEMA_VERSION),))
            elif version != str(SCHEMA_VERSION):
                raise LedgerError(
                    f"{self.describe()} has ledger schema {version}; this numbroker reads schema "
                    f"{SCHEMA_VERSION}: upgrade numbroker, or use another ledger"
                )

        self._transact(work)
