"""What the purchase ledger holds: intents, attempts and their states."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from numbroker._exceptions import PurchaseError

__all__ = [
    "AttemptState",
    "IntentStatus",
    "LedgerAttempt",
    "LedgerBusyError",
    "LedgerError",
    "LedgerIntent",
    "LedgerLockLostError",
    "LedgerRelease",
    "ReleaseAction",
    "ReleaseState",
    "SPENDING_STATES",
    "RELEASE_UNRESOLVED",
    "UndecodedAttempt",
    "UNRESOLVED_STATES",
    "utc_now",
]


class AttemptState(StrEnum):
    """Where one purchase attempt stands. Written before the request is sent and after its answer."""

    PLANNED = "planned"
    """Chosen by a run, no request sent yet (a dry run stops here)."""
    PENDING = "pending"
    """The purchase request is about to be, or has been, sent; no answer recorded yet."""
    BOUGHT = "bought"
    """The vendor said yes, or the number was then found among the account's owned numbers."""
    GONE = "gone"
    """The number was no longer available: nothing was bought."""
    REFUSED = "refused"
    """The vendor refused (funds, permissions, paperwork): nothing was bought."""
    AMBIGUOUS = "ambiguous"
    """The answer did not say (a 5xx, a timeout) and ownership was not confirmed either way yet."""
    UNKNOWN = "unknown"
    """The run was interrupted or could not check: nobody knows whether it was bought."""
    RELEASED = "released"
    """Resolved as not owned: checked against the owned numbers after the confirm window, or by an operator.

    Nothing was bought (the number was never the account's); not a number given back to the carrier.
    """


UNRESOLVED_STATES = frozenset({AttemptState.PENDING, AttemptState.AMBIGUOUS, AttemptState.UNKNOWN})
"""States that must be resolved (by checking ownership) before the same account buys again."""

SPENDING_STATES = UNRESOLVED_STATES | {AttemptState.BOUGHT}
"""States counted against quantities, budgets and spend limits: bought, and whatever might have been."""


class ReleaseAction(StrEnum):
    """What a change to an owned number asks of the vendor."""

    RELEASE = "release"
    """Give the number back (``immediate`` in the attempt's note when the cooldown is skipped)."""
    UNDO = "undo"
    """Cancel a pending release."""
    ASSIGN = "assign"
    """Move the number to a sub-account (the attempt's note names it)."""
    UNASSIGN = "unassign"
    """Move the number back to the parent account (``force`` in the note when the cool-off was overridden)."""


class ReleaseState(StrEnum):
    """Where one release attempt stands. Written ``pending`` before the request is sent and after its answer."""

    PENDING = "pending"
    """The request is about to be, or has been, sent; no answer recorded yet."""
    RELEASED = "released"
    """Given back: the vendor said so, or its owned list no longer shows the number (or shows it released)."""
    PENDING_RELEASE = "pending_release"
    """The vendor deferred it (a cooldown, the end of the paid period): ``effective_at``, ``undo_until``."""
    RESTORED = "restored"
    """A pending release was undone: the number is the account's again."""
    MOVED = "moved"
    """Moved to the sub-account asked for (or back to the parent account)."""
    COOL_OFF = "cool_off"
    """The vendor refused the move until a cool-off ends: nothing changed."""
    REFUSED = "refused"
    """The vendor refused, or its list showed the number unchanged after the confirm window: nothing changed."""
    UNKNOWN = "unknown"
    """Neither the answer nor the owned list could tell; settled by a later run's recovery or by hand."""


RELEASE_UNRESOLVED = frozenset({ReleaseState.PENDING, ReleaseState.UNKNOWN})
"""Release states settled (by reading the owned list) before the same account is changed again."""


@dataclass(frozen=True, slots=True)
class LedgerRelease:
    """One attempt to change one owned number on one account: release it, undo that, or move it."""

    id: int
    intent: str
    run_id: str
    account: str
    provider: str
    e164: str
    action: ReleaseAction
    state: ReleaseState
    reason: str | None
    note: str | None
    monthly: Decimal | None
    """The monthly charge the release saves, in ``currency`` (None when unknown)."""
    currency: str | None
    effective_at: datetime | None
    undo_until: datetime | None
    host: str
    pid: int
    created_at: datetime
    updated_at: datetime

    @property
    def unresolved(self) -> bool:
        """Whether nobody knows yet if this request changed the number."""
        return self.state in RELEASE_UNRESOLVED


class IntentStatus(StrEnum):
    """Where one intent (a named "buy N numbers within these caps") stands."""

    OPEN = "open"
    FINISHED = "finished"


@dataclass(frozen=True, slots=True)
class LedgerIntent:
    """One intent: what a run (or the reruns sharing its idempotency key) set out to buy."""

    key: str
    quantity: int
    budget: Decimal | None
    currency: str
    status: IntentStatus
    result: str | None
    """The finished run's JSON result, replayed to a rerun of a finished intent."""
    created_at: datetime
    updated_at: datetime

    def to_json_dict(self) -> dict[str, Any]:
        """The intent as JSON-ready data (``numbroker ledger --format json``): the budget as exact decimal text.

        The finished run's ``result`` is left out: it is a whole result document of its own.
        """
        return {
            "key": self.key,
            "status": self.status.value,
            "quantity": self.quantity,
            "budget": None if self.budget is None else str(self.budget),
            "currency": self.currency,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class LedgerAttempt:
    """One purchase attempt of one number on one account."""

    id: int
    intent: str
    run_id: str
    account: str
    """The account key (provider id and a digest of the account identity: never a credential)."""
    provider: str
    e164: str
    """The number asked for."""
    offer_id: str
    amount: Decimal
    """The attempt's first bill in ``currency``: what it costs if it was bought."""
    currency: str
    state: AttemptState
    reason: str | None
    note: str | None
    host: str
    pid: int
    created_at: datetime
    updated_at: datetime
    sold: str | None = None
    """The number the vendor said it sold, when that is not ``e164`` (it is the one the account may own)."""
    boot_id: str | None = None
    """The host's boot id when ``updated_at`` was stamped (SQLite), so an age is read on one clock."""
    boot_seconds: float | None = None
    """``CLOCK_BOOTTIME`` seconds when ``updated_at`` was stamped (SQLite)."""

    @property
    def unresolved(self) -> bool:
        """Whether nobody knows yet if this attempt bought the number."""
        return self.state in UNRESOLVED_STATES

    def to_json_dict(self) -> dict[str, Any]:
        """The attempt as JSON-ready data (``numbroker ledger --format json``): the amount as exact decimal text."""
        return {
            "id": self.id,
            "intent": self.intent,
            "run_id": self.run_id,
            "provider": self.provider,
            "account": self.account,
            "e164": self.e164,
            "sold": self.sold,
            "offer_id": self.offer_id,
            "amount": str(self.amount),
            "currency": self.currency,
            "state": self.state.value,
            "unresolved": self.unresolved,
            "reason": self.reason,
            "note": self.note,
            "host": self.host,
            "pid": self.pid,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }

    @property
    def numbers(self) -> tuple[str, ...]:
        """The numbers this attempt may have made the account's: the one asked for, and the one sold."""
        return (self.e164,) if self.sold is None or self.sold == self.e164 else (self.e164, self.sold)


@dataclass(frozen=True, slots=True)
class UndecodedAttempt:
    """A ledger row that does not decode into a :class:`LedgerAttempt` (listed, never trusted).

    ``fields`` is the row's text as stored (cut short); ``problem`` says which field is wrong.
    """

    id: int | None
    problem: str
    fields: dict[str, str]


class LedgerError(PurchaseError):
    """Raised when the ledger cannot be opened, read or written: nothing further is bought."""


class LedgerLockLostError(LedgerError):
    """Raised when the purchaser lock this run took is no longer provably held: nothing more is bought."""


class LedgerBusyError(LedgerError):
    """Raised when another run holds the ledger's purchaser lock past this run's deadline.

    ``holder`` describes that run (host, process id, run id, since when), as far as the ledger knows.
    """

    def __init__(self, message: str, *, holder: str | None = None) -> None:
        super().__init__(message)
        self.holder = holder


def utc_now() -> datetime:
    """The current time, timezone-aware UTC (what the ledger stores)."""
    return datetime.now(UTC)
