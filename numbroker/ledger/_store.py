"""The ledger's operations, written once over a small SQL surface that SQLite and PostgreSQL both speak.

Every state change is one transaction, committed before the call returns: an attempt is ``pending`` on
disk before its purchase request is sent, and its answer is on disk before the run moves on. Amounts are
stored as decimal text and summed with :class:`~decimal.Decimal`, so no float touches money here either.
"""

from __future__ import annotations

import os
import socket
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from numbroker._exceptions import ConfigurationError
from numbroker.ledger._records import (
    SPENDING_STATES,
    AttemptState,
    IntentStatus,
    LedgerAttempt,
    LedgerError,
    LedgerIntent,
    utc_now,
)

__all__ = ["SCHEMA", "Ledger"]

SCHEMA_VERSION = 1

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
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS numbroker_attempts_account ON numbroker_attempts (account, state)",
    "CREATE INDEX IF NOT EXISTS numbroker_attempts_intent ON numbroker_attempts (intent)",
)
"""The tables; ``{serial}`` is each engine's auto-increment primary key."""

_ATTEMPT_COLUMNS = (
    "id, intent, run_id, account, provider, e164, offer_id, amount, currency, state, reason, note, host, pid, "
    "created_at, updated_at"
)
_INTENT_COLUMNS = "key, quantity, budget, currency, status, result, created_at, updated_at"
_TEXT_LIMIT = 2000


def _stamp(moment: datetime) -> str:
    # Fixed-width UTC text sorts in time order in both engines.
    return moment.astimezone(utc_now().tzinfo).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _moment(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=utc_now().tzinfo)


def _clip(text: str | None) -> str | None:
    return None if text is None else text[:_TEXT_LIMIT]


def _attempt(row: Sequence[Any]) -> LedgerAttempt:
    return LedgerAttempt(
        id=int(row[0]),
        intent=row[1],
        run_id=row[2],
        account=row[3],
        provider=row[4],
        e164=row[5],
        offer_id=row[6],
        amount=Decimal(row[7]),
        currency=row[8],
        state=AttemptState(row[9]),
        reason=row[10],
        note=row[11],
        host=row[12],
        pid=int(row[13]),
        created_at=_moment(row[14]),
        updated_at=_moment(row[15]),
    )


def _intent(row: Sequence[Any]) -> LedgerIntent:
    return LedgerIntent(
        key=row[0],
        quantity=int(row[1]),
        budget=None if row[2] is None else Decimal(row[2]),
        currency=row[3],
        status=IntentStatus(row[4]),
        result=row[5],
        created_at=_moment(row[6]),
        updated_at=_moment(row[7]),
    )


class Ledger(ABC):
    """The durable record of purchase intents and attempts, shared by every run that opens it.

    Open one with :func:`numbroker.ledger.open_ledger`; use it as a context manager or call
    :meth:`close`. Methods are synchronous and each commits before it returns (call them from a worker
    thread in async code). ``describe()`` names the ledger without any password.
    """

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
    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement in its own transaction (``?`` placeholders) and return its rows."""

    @abstractmethod
    def purchaser(self, account: str, *, run_id: str, timeout: float) -> AbstractContextManager[None]:
        """Hold ``account``'s purchaser lock: one purchasing run per account at a time.

        The lock is held by an open file or a database session, never a lease with a time-out: it cannot
        expire while a purchase is in flight, and the operating system or the server frees it when the
        holder dies. Waits at most ``timeout`` seconds, then raises :class:`LedgerBusyError` naming the
        holder.
        """

    @abstractmethod
    def close(self) -> None:
        """Close the ledger's connections (locks held through it are released)."""

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"

    # -- intents --

    def intent(self, key: str) -> LedgerIntent | None:
        """The intent named ``key``, if any run has opened it."""
        rows = self._query(f"SELECT {_INTENT_COLUMNS} FROM numbroker_intents WHERE key = ?", (key,))
        return _intent(rows[0]) if rows else None

    def open_intent(self, key: str, *, quantity: int, budget: Decimal | None, currency: str) -> LedgerIntent:
        """Open the intent ``key``, or return it unchanged if a run already opened it (a rerun continues it)."""
        now = _stamp(utc_now())
        self._query(
            "INSERT INTO numbroker_intents (key, quantity, budget, currency, status, result, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, NULL, ?, ?) ON CONFLICT (key) DO NOTHING",
            (key, quantity, None if budget is None else str(budget), currency, IntentStatus.OPEN.value, now, now),
        )
        found = self.intent(key)
        if found is None:  # pragma: no cover - the insert above or an earlier one made it
            raise LedgerError(f"the intent {key!r} could not be recorded in {self.describe()}")
        return found

    def finish_intent(self, key: str, result: str) -> None:
        """Mark the intent finished, keeping the run's JSON result for reruns."""
        self._query(
            "UPDATE numbroker_intents SET status = ?, result = ?, updated_at = ? WHERE key = ?",
            (IntentStatus.FINISHED.value, result, _stamp(utc_now()), key),
        )

    def intents(self, *, limit: int = 100) -> list[LedgerIntent]:
        """The most recently updated intents, newest first."""
        rows = self._query(
            f"SELECT {_INTENT_COLUMNS} FROM numbroker_intents ORDER BY updated_at DESC LIMIT ?", (int(limit),)
        )
        return [_intent(r) for r in rows]

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
        """Write a new attempt (by default ``pending``: call this before the purchase request is sent)."""
        now = _stamp(utc_now())
        rows = self._query(
            "INSERT INTO numbroker_attempts (intent, run_id, account, provider, e164, offer_id, amount, currency, "
            "state, reason, note, host, pid, created_at, updated_at) "
            f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, ?) RETURNING {_ATTEMPT_COLUMNS}",
            (
                intent,
                run_id,
                account,
                provider,
                e164,
                offer_id,
                str(amount),
                currency,
                state.value,
                self.host,
                self.pid,
                now,
                now,
            ),
        )
        return _attempt(rows[0])

    def update_attempt(
        self, attempt_id: int, state: AttemptState, *, reason: str | None = None, note: str | None = None
    ) -> LedgerAttempt:
        """Record ``attempt_id``'s new state (its reason, and an operator's note when given)."""
        rows = self._query(
            "UPDATE numbroker_attempts SET state = ?, reason = COALESCE(?, reason), note = COALESCE(?, note), "
            f"updated_at = ? WHERE id = ? RETURNING {_ATTEMPT_COLUMNS}",
            (state.value, _clip(reason), _clip(note), _stamp(utc_now()), int(attempt_id)),
        )
        if not rows:
            raise LedgerError(f"no attempt {attempt_id} in {self.describe()}")
        return _attempt(rows[0])

    def resolve(self, attempt_id: int, state: AttemptState, *, note: str, timeout: float = 10.0) -> LedgerAttempt:
        """Settle an unresolved attempt by hand: what someone found in the vendor's account, with a note.

        ``state`` is ``bought`` (the account owns the number: it counts toward its intent and the spend
        limit) or ``released`` (nothing was bought: they are freed). The account's purchaser lock is held
        meanwhile, so this never races a run buying on that account (which may be settling this very
        attempt); the reason recorded names this host and the state the attempt had.

        Raises:
            ConfigurationError: ``state`` is neither, there is no attempt ``attempt_id``, or it is not (or
                no longer) unresolved.
            LedgerBusyError: a run held the account's purchaser lock for ``timeout`` seconds.
            LedgerError: the ledger cannot be read or written.
        """
        if state not in (AttemptState.BOUGHT, AttemptState.RELEASED):
            raise ConfigurationError(f"an attempt is resolved by hand as bought or released, not {state}")
        found = self.attempt(attempt_id)
        if found is None:
            raise ConfigurationError(f"no attempt {attempt_id} in {self.describe()}")
        if not found.unresolved:
            raise ConfigurationError(f"attempt {attempt_id} is already {found.state.value}: nothing to resolve")
        with self.purchaser(found.account, run_id=f"resolve-{attempt_id}", timeout=timeout):
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
        return _attempt(rows[0]) if rows else None

    def attempts(
        self,
        *,
        intent: str | None = None,
        accounts: Iterable[str] | None = None,
        states: Iterable[AttemptState] | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[LedgerAttempt]:
        """Attempts matching every given filter, oldest first (the newest ``limit`` when a limit is given)."""
        where: list[str] = []
        params: list[Any] = []
        for column, values in (("account", accounts), ("state", states)):
            if values is not None:
                chosen = sorted({str(v) for v in values})
                if not chosen:
                    return []
                where.append(f"{column} IN ({', '.join('?' for _ in chosen)})")
                params.extend(chosen)
        if intent is not None:
            where.append("intent = ?")
            params.append(intent)
        if since is not None:
            where.append("created_at >= ?")
            params.append(_stamp(since))
        sql = f"SELECT {_ATTEMPT_COLUMNS} FROM numbroker_attempts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        if limit is not None:
            sql = f"SELECT * FROM ({sql} ORDER BY id DESC LIMIT ?) AS newest"
            params.append(int(limit))
        rows = self._query(sql + " ORDER BY id", params)
        return [_attempt(r) for r in rows]

    def spent(self, account: str | None, *, currency: str, window: timedelta) -> tuple[Decimal, set[str]]:
        """First bills bought or unresolved in the last ``window``, in ``currency`` (all accounts if None).

        Returns the sum and the other currencies found in that window (which cannot be added to it: a
        caller enforcing a limit treats them as a reason to stop, never as zero).
        """
        total = Decimal(0)
        others: set[str] = set()
        for attempt in self.attempts(
            accounts=None if account is None else [account], states=SPENDING_STATES, since=utc_now() - window
        ):
            if attempt.currency == currency:
                total += attempt.amount
            else:
                others.add(attempt.currency)
        return total, others

    def owned_numbers(self, account: str) -> set[str]:
        """Numbers this ledger says the account bought (or may have bought: unresolved attempts)."""
        return {a.e164 for a in self.attempts(accounts=[account], states=SPENDING_STATES)}

    # -- set-up --

    def _create_schema(self, serial: str) -> None:
        for statement in SCHEMA:
            self._query(statement.format(serial=serial))
        self._query(
            "INSERT INTO numbroker_meta (name, value) VALUES ('schema', ?) ON CONFLICT (name) DO NOTHING",
            (str(SCHEMA_VERSION),),
        )
        found = self._query("SELECT value FROM numbroker_meta WHERE name = 'schema'")
        if not found or found[0][0] != str(SCHEMA_VERSION):
            raise LedgerError(
                f"{self.describe()} has ledger schema {found[0][0] if found else '?'}; this numbroker reads "
                f"schema {SCHEMA_VERSION}: upgrade numbroker, or use another ledger"
            )
