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
    "SPENDING_STATES",
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
    """Resolved as not bought: checked against the owned numbers after the confirm window, or by an operator."""


UNRESOLVED_STATES = frozenset({AttemptState.PENDING, AttemptState.AMBIGUOUS, AttemptState.UNKNOWN})
"""States that must be resolved (by checking ownership) before the same account buys again."""

SPENDING_STATES = UNRESOLVED_STATES | {AttemptState.BOUGHT}
"""States counted against quantities, budgets and spend limits: bought, and whatever might have been."""


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


class LedgerError(PurchaseError):
    """Raised when the ledger cannot be opened, read or written: nothing further is bought."""


class LedgerBusyError(LedgerError):
    """Raised when another run holds an account's purchaser lock past this run's deadline.

    ``holder`` describes that run (host, process id, run id, since when), as far as the ledger knows.
    """

    def __init__(self, message: str, *, holder: str | None = None) -> None:
        super().__init__(message)
        self.holder = holder


def utc_now() -> datetime:
    """The current time, timezone-aware UTC (what the ledger stores)."""
    return datetime.now(UTC)
