"""The plan: each number looked up in the configured accounts' owned lists, and what releasing it means there.

Nothing is sent while planning: the owned lists are read (the portfolio's reader, with its deadline,
retries and reports), and each number asked for becomes one row. A number no configured account lists
is ``not_owned`` (when every list was read completely; otherwise ``unknown``) and is never sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from numbroker._exceptions import ConfigurationError
from numbroker._holdings import stream_owned
from numbroker._money import FieldError
from numbroker._owned import AfterPurchase, OwnedNumber, OwnedStatus, ReleaseMode
from numbroker._phone import parse_e164
from numbroker._reports import ProviderReport
from numbroker.adapters import Provider
from numbroker.ledger import ReleaseAction
from numbroker.releasing._results import ReleaseOutcome, ReleaseRow

__all__ = [
    "DEFAULT_MAX_COUNT",
    "PARENT",
    "Change",
    "Plan",
    "canonical_numbers",
    "cooldown_end",
    "release_end",
    "means",
    "plan_release",
    "read_moment",
    "target_of",
]

DEFAULT_MAX_COUNT = 10
"""How many numbers one run may give back unless it is raised on purpose."""


@dataclass(slots=True)
class Plan:
    """The rows, each listed number's owned record and provider, and the owned lists' reports."""

    rows: list[ReleaseRow]
    owned: dict[str, OwnedNumber] = field(default_factory=dict)
    providers: dict[str, Provider] = field(default_factory=dict)
    reports: list[ProviderReport] = field(default_factory=list)


def canonical_numbers(numbers: Iterable[object], *, max_count: int) -> list[str]:
    """The numbers asked for, canonical E.164, each once, in the order given.

    Raises:
        ConfigurationError: one is not a phone number, none was given, or more than ``max_count``.
    """
    seen: dict[str, None] = {}
    for raw in numbers:
        try:
            seen.setdefault(parse_e164(raw, strictness="possible").e164)
        except FieldError as exc:
            raise ConfigurationError(f"{str(raw)[:40]!r} is not an E.164 number: {exc.reason}") from None
    if not seen:
        raise ConfigurationError("no number given: name the numbers to give back")
    if max_count < 1:
        raise ConfigurationError("the maximum count is at least 1")
    if len(seen) > max_count:
        raise ConfigurationError(
            f"{len(seen)} numbers asked for, more than the maximum of {max_count}: "
            "raise the maximum on purpose (--max-count) to give back more at once"
        )
    return list(seen)


def means(declared: AfterPurchase | None, *, immediate: bool) -> str:
    """What releasing a number means at a vendor, in words: when billing stops, the undo window, the fee."""
    if declared is None:
        return "the vendor does not say what a release means"
    mode = declared.release
    fee = "; the vendor charges a release fee" if declared.release_fee else ""
    if mode is ReleaseMode.COOLDOWN and not immediate:
        window = declared.undo_window
        hours = f"{window.total_seconds() / 3600:g} h" if window is not None else "a while"
        refund = ", refunded by an undo" if declared.release_fee else ""
        return f"pending for a {hours} cooldown, undone with --undo until it ends{fee}{refund}"
    if mode in (ReleaseMode.COOLDOWN, ReleaseMode.IMMEDIATE):
        return f"billing stops now; final through the API{fee}"
    if mode is ReleaseMode.END_OF_PERIOD:
        return f"kept and billed until the paid period ends, then released{fee}"
    return "the API cannot release numbers"


@dataclass(frozen=True, slots=True)
class Change:
    """What a run asks of each number: its action, a move's target sub-account, and the flags."""

    action: ReleaseAction = ReleaseAction.RELEASE
    immediate: bool = False
    sub_account: str | None = None
    force: bool = False

    @property
    def moves(self) -> bool:
        """Whether the change moves numbers between the account and its sub-accounts."""
        return self.action in (ReleaseAction.ASSIGN, ReleaseAction.UNASSIGN)

    def note(self) -> str | None:
        """What the ledger's attempt notes of it (read back by a recovery: see :func:`target_of`)."""
        if self.moves:
            return f"to={self.sub_account or PARENT}" + ("; force" if self.force else "")
        return "immediate" if self.immediate else None


PARENT = "parent"
"""A move's target in the ledger's note when it goes back to the parent account."""


def target_of(note: str | None) -> str | None:
    """The sub-account a recorded move went to (None: the parent account, or not a move)."""
    if note is None or not note.startswith("to="):
        return None
    target = note[3:].split(";", 1)[0].strip()
    return None if target == PARENT else target


async def plan_release(
    providers: Sequence[Provider],
    numbers: Sequence[str],
    *,
    immediate: bool = False,
    undo: bool = False,
    change: Change | None = None,
    deadline: float = 60.0,
) -> Plan:
    """Look every number up in the owned lists of ``providers``; one row per number (nothing is sent).

    ``change`` says what is asked (a release by default: ``immediate``, or an ``undo``; or a move).

    Raises:
        ConfigurationError: a number is listed by two providers (name one), or the ids are not unique.
    """
    if change is None:
        change = Change(action=ReleaseAction.UNDO if undo else ReleaseAction.RELEASE, immediate=immediate)
    wanted = set(numbers)
    found: dict[str, list[OwnedNumber]] = {}

    def keep(number: OwnedNumber) -> None:
        if number.e164 in wanted:
            found.setdefault(number.e164, []).append(number)

    result = await stream_owned(providers, keep, deadline=deadline)
    by_id = {p.id: p for p in providers}
    # A provider that cannot list its numbers (skipped) cannot release them either: it proves nothing missing.
    unread = [r.provider for r in result.providers if r.status.failed or r.truncated]
    twice = {e164: sorted({n.provider for n in listed}) for e164, listed in found.items()}
    for e164, ids in twice.items():
        if len(ids) > 1:
            raise ConfigurationError(f"{e164} is owned by {' and '.join(ids)}: name the one to use with --provider")
    plan = Plan(rows=[], reports=result.providers)
    for e164 in numbers:
        listed = found.get(e164)
        if not listed:
            plan.rows.append(_unlisted(e164, unread))
            continue
        number = listed[0]
        provider = by_id[number.provider]
        plan.owned[e164] = number
        plan.providers[e164] = provider  # also for a row not planned: its account's open attempts are settled
        plan.rows.append(_row(provider, number, change))
    return plan


def cooldown_end(number: OwnedNumber | None) -> datetime | None:
    """When a pending release of ``number`` takes effect, as its owned record says (``cooldown_ends_at``)."""
    if number is None:
        return None
    ends = number.provider_details.get("cooldown_ends_at")
    return read_moment(ends if isinstance(ends, str) else None)


def release_end(number: OwnedNumber | None) -> datetime | None:
    """When a pending release of ``number`` takes effect, as its owned record says (None when it does not).

    That is the end of a cooldown (``cooldown_ends_at``), or of the paid period an end-of-period vendor keeps the
    number for (``releases_at``).
    """
    if number is None:
        return None
    ends = number.provider_details.get("releases_at")
    return cooldown_end(number) or read_moment(ends if isinstance(ends, str) else None)


def read_moment(text: str | None) -> datetime | None:
    """An ISO 8601 time a vendor wrote (``Z`` or an offset; none is UTC), or None when it is not one."""
    if text is None:
        return None
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def _unlisted(e164: str, unread: list[str]) -> ReleaseRow:
    if unread:
        return ReleaseRow(
            e164=e164,
            outcome=ReleaseOutcome.UNKNOWN,
            reason=f"not among the numbers listed; the list of {', '.join(unread)} could not be read: nothing sent",
        )
    return ReleaseRow(
        e164=e164, outcome=ReleaseOutcome.NOT_OWNED, reason="no configured account lists it: nothing sent"
    )


def _row(provider: Provider, number: OwnedNumber, change: Change) -> ReleaseRow:
    declared = provider.after_purchase
    if change.moves:
        target = change.sub_account or "the parent account"
        return ReleaseRow(
            e164=number.e164,
            provider=provider.id,
            account=provider.account_key(),
            outcome=ReleaseOutcome.PLANNED,
            means=f"moved to {target}" + ("; the cool-off overridden (--force)" if change.force else ""),
            sub_account=number.sub_account,
        ).model_copy(update=_move_refusal(provider, number, change) or {})
    immediate, undo = change.immediate, change.action is ReleaseAction.UNDO
    row = ReleaseRow(
        e164=number.e164,
        provider=provider.id,
        account=provider.account_key(),
        outcome=ReleaseOutcome.PLANNED,
        monthly_saving=number.monthly_price,
        release=None if declared is None else declared.release,
        means=means(declared, immediate=immediate),
        sub_account=number.sub_account,
    )
    refusal = _refusal(provider, number, immediate=immediate, undo=undo)
    if refusal is not None:
        return row.model_copy(update=refusal)
    return row


def _move_refusal(provider: Provider, number: OwnedNumber, change: Change) -> Mapping[str, object] | None:
    """What a move's row is instead of planned, when nothing is to be sent for it."""
    if not provider.moves_numbers():
        return {"outcome": ReleaseOutcome.REFUSED, "reason": f"{provider.id}: numbers cannot be moved here"}
    held = number.sub_account
    if change.action is ReleaseAction.ASSIGN:
        if held == change.sub_account:
            return {"outcome": ReleaseOutcome.MOVED, "reason": f"held by {held} already"}
        if held is not None:
            return {"outcome": ReleaseOutcome.REFUSED, "reason": f"held by {held}: move it back to the parent first"}
    elif held is None:
        return {"outcome": ReleaseOutcome.MOVED, "reason": "in the parent account already"}
    return None


def _refusal(provider: Provider, number: OwnedNumber, *, immediate: bool, undo: bool) -> Mapping[str, object] | None:
    """What the row is instead of planned, when nothing is to be sent for it."""
    status = number.status
    if undo:
        if not provider.undoes_releases():
            return {"outcome": ReleaseOutcome.REFUSED, "reason": f"{provider.id}: a release cannot be undone here"}
        if status is not OwnedStatus.PENDING_RELEASE:
            return {"outcome": ReleaseOutcome.REFUSED, "reason": f"not pending release (it is {status.value})"}
        return None
    if not provider.releases_numbers():
        return {
            "outcome": ReleaseOutcome.REFUSED,
            "reason": f"{provider.id}: the API cannot release numbers (unsupported): nothing sent",
        }
    if status is OwnedStatus.INACTIVE:
        return {"outcome": ReleaseOutcome.RELEASED, "reason": "the owned list shows it released already"}
    if status is OwnedStatus.PENDING_RELEASE and not immediate:
        return {
            "outcome": ReleaseOutcome.PENDING_RELEASE,
            "reason": "the owned list shows its release pending already",
            "effective_at": release_end(number),
            "undo_until": cooldown_end(number),
        }
    return None
