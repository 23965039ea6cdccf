"""What a release run gives back: one row per number asked for, and the run's status."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from numbroker._money import Money
from numbroker._owned import ReleaseMode
from numbroker._pricing import money_json
from numbroker._reports import ProviderReport

__all__ = ["SETTLED", "ReleaseOutcome", "ReleaseResult", "ReleaseRow", "ReleaseStatus"]


class ReleaseOutcome(StrEnum):
    """What came of one number.

    ``planned``: a dry run would send its request. ``released``: given back (the vendor said so, or its
    owned list no longer shows it or shows it released). ``pending_release``: the vendor deferred it
    (``effective_at``; ``undo_until`` when it can be undone). ``restored``: a pending release was undone.
    ``moved``: moved to the sub-account asked for (or back to the parent). ``cool_off``: the vendor refused
    the move until a cool-off ends (``effective_at``: when it ends).
    ``not_owned``: no configured account lists it: nothing was sent. ``refused``: the vendor refused (its
    reason), or numbroker did not send (the vendor cannot release, a number owned twice...). ``unknown``:
    neither the answer nor the owned list could tell.
    """

    PLANNED = "planned"
    RELEASED = "released"
    PENDING_RELEASE = "pending_release"
    RESTORED = "restored"
    MOVED = "moved"
    COOL_OFF = "cool_off"
    NOT_OWNED = "not_owned"
    REFUSED = "refused"
    UNKNOWN = "unknown"


SETTLED = frozenset(
    {ReleaseOutcome.RELEASED, ReleaseOutcome.PENDING_RELEASE, ReleaseOutcome.RESTORED, ReleaseOutcome.MOVED}
)
"""The outcomes that did what was asked."""


class ReleaseStatus(StrEnum):
    """How a release run ended: ``planned`` (a dry run), ``complete``, ``partial``, ``failed``, ``unknown``."""

    PLANNED = "planned"
    COMPLETE = "complete"
    PARTIAL = "partial"
    FAILED = "failed"
    UNKNOWN = "unknown"


class ReleaseRow(BaseModel):
    """One number of a release run.

    Attributes:
        e164: the number, canonical.
        provider: the provider whose account lists it (None when none does).
        account: that account's key (provider id and a digest; never a credential).
        outcome: what came of it (see :class:`ReleaseOutcome`).
        reason: why, in words (the vendor's own reason for a refusal, shown as data).
        monthly_saving: the monthly charge it stops, when known.
        release: what a release means at that vendor (immediate, cooldown, end of period, unsupported).
        means: the same, in words, with the undo window and fee.
        effective_at: when a deferred release takes effect.
        undo_until: until when it can be undone.
        fee: what the vendor charged for the release (or refunded, for an undo), when it said.
        sub_account: the sub-account holding it, if it is not the account itself.
        ledger_id: the ledger's release attempt, once one was written.
    """

    model_config = ConfigDict(extra="forbid")

    e164: str
    provider: str | None = None
    account: str | None = None
    outcome: ReleaseOutcome
    reason: str | None = None
    monthly_saving: Money | None = None
    release: ReleaseMode | None = None
    means: str | None = None
    effective_at: datetime | None = None
    undo_until: datetime | None = None
    fee: Money | None = None
    sub_account: str | None = None
    ledger_id: int | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """The row as the JSON document's ``results`` item: amounts as exact decimal strings."""
        return {
            "e164": self.e164,
            "provider": self.provider,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "monthly_saving": money_json(self.monthly_saving),
            "release": None if self.release is None else self.release.value,
            "means": self.means,
            "effective_at": None if self.effective_at is None else self.effective_at.isoformat(),
            "undo_until": None if self.undo_until is None else self.undo_until.isoformat(),
            "fee": money_json(self.fee),
            "sub_account": self.sub_account,
            "ledger_id": self.ledger_id,
        }


class ReleaseResult(BaseModel):
    """Everything one release run (or plan) found and did.

    Attributes:
        status: see :class:`ReleaseStatus`.
        dry_run: True when nothing was sent.
        action: ``release``, ``undo``, ``assign`` or ``unassign``.
        sub_account: the sub-account a move is to (None: back to the parent account).
        force: a move back overrides the vendor's cool-off.
        immediate: the cooldown was asked to be skipped.
        run_id: this run's id on the ledger and in the audit log.
        intent: the ledger intent (the idempotency key's, or this run's own).
        replayed: a finished intent's result, given back to a rerun with its key (nothing was sent).
        results: one row per number, in the order asked.
        providers: one report per provider whose owned list was read.
        notes: what else is worth knowing.
    """

    model_config = ConfigDict(extra="forbid")

    status: ReleaseStatus
    dry_run: bool
    action: str = "release"
    immediate: bool = False
    sub_account: str | None = None
    force: bool = False
    run_id: str
    intent: str | None = None
    replayed: bool = False
    results: list[ReleaseRow]
    providers: list[ProviderReport] = []
    notes: list[str] = []

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON document: ``status``, ``dry_run``, ``results`` (``e164``, ``provider``, ``outcome``...)."""
        return {
            "status": self.status.value,
            "dry_run": self.dry_run,
            "action": self.action,
            "immediate": self.immediate,
            "sub_account": self.sub_account,
            "force": self.force,
            "run_id": self.run_id,
            "intent": self.intent,
            "replayed": self.replayed,
            "results": [row.to_json_dict() for row in self.results],
            "providers": [p.model_dump(mode="json") for p in self.providers],
            "notes": self.notes,
        }


def run_status(rows: list[ReleaseRow], *, dry_run: bool) -> ReleaseStatus:
    """A run's status from its rows: a plan is a plan; then any unknown wins; then all, some or none done."""
    if dry_run:
        return ReleaseStatus.PLANNED
    if any(row.outcome is ReleaseOutcome.UNKNOWN for row in rows):
        return ReleaseStatus.UNKNOWN
    done = sum(row.outcome in SETTLED for row in rows)
    if rows and done == len(rows):
        return ReleaseStatus.COMPLETE
    return ReleaseStatus.PARTIAL if done else ReleaseStatus.FAILED
