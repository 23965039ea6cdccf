"""The real run: on the ledger's purchaser lock, settle what earlier runs left open, then one request per number.

For each planned number, in order: the attempt is written ``pending`` to the ledger (proving the lock is
still held) and to the audit log, then one request is sent (never retried), then its outcome is written:

* the vendor accepted: ``released`` or ``pending_release`` (with ``effective_at`` and ``undo_until``), or
  ``restored`` for an undo;
* the vendor refused (a 4xx, or a 2xx whose body says failure): ``refused`` with its reason;
* anything else (a 5xx, a timeout, a dropped connection, an unreadable answer, "not the account's"): the
  owned list decides, read until the confirm window ends: gone or shown released → ``released``, shown
  pending → ``pending_release``; still shown as it was → ``unknown``.

Before anything is sent, every ``pending``/``unknown`` release attempt on the accounts about to be changed
is settled the same way (the owned list decides; a number still shown as it was after the confirm window
is ``refused``: its request did not take effect). One that cannot be settled stops the run for its account.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import anyio

from numbroker._exceptions import CoolOffError, NotFoundError, ProviderHTTPError, PurchaseError, RateLimitedError
from numbroker._owned import OwnedNumber, OwnedStatus, ReleaseAnswer
from numbroker._pricing import money_json
from numbroker.adapters import OwnedPageResult, Provider, ProviderRun
from numbroker.buying import AuditLog, Books
from numbroker.ledger import (
    RELEASE_UNRESOLVED,
    LedgerError,
    LedgerRelease,
    ReleaseAction,
    ReleaseState,
)
from numbroker.releasing._plan import Change, cooldown_end, read_moment, release_end, target_of
from numbroker.releasing._results import ReleaseOutcome, ReleaseRow

__all__ = ["Releaser", "lookup"]

_OUTCOME = {
    ReleaseState.RELEASED: ReleaseOutcome.RELEASED,
    ReleaseState.PENDING_RELEASE: ReleaseOutcome.PENDING_RELEASE,
    ReleaseState.RESTORED: ReleaseOutcome.RESTORED,
    ReleaseState.MOVED: ReleaseOutcome.MOVED,
    ReleaseState.COOL_OFF: ReleaseOutcome.COOL_OFF,
    ReleaseState.REFUSED: ReleaseOutcome.REFUSED,
    ReleaseState.UNKNOWN: ReleaseOutcome.UNKNOWN,
    ReleaseState.PENDING: ReleaseOutcome.UNKNOWN,
}
_DONE = frozenset({ReleaseState.RELEASED, ReleaseState.PENDING_RELEASE, ReleaseState.RESTORED, ReleaseState.MOVED})


async def lookup(provider: Provider, numbers: Iterable[str], *, within: float) -> dict[str, OwnedNumber]:
    """``numbers`` as ``provider``'s owned list shows them now (absent: not listed), read completely.

    Raises:
        PurchaseError: the list could not be read completely within ``within`` seconds (nothing is proven).
    """
    wanted = set(numbers)
    found: dict[str, OwnedNumber] = {}

    async def sink(page: OwnedPageResult) -> None:
        for number in page.numbers:
            if number.e164 in wanted:
                found.setdefault(number.e164, number)

    run = ProviderRun()
    with anyio.move_on_after(within) as scope:
        await provider.stream_owned(sink, run=run)
    if scope.cancelled_caught or run.stats.truncated:
        raise PurchaseError(f"{provider.id}: the owned list could not be read completely within {within:g} s")
    return found


def _listed_state(number: OwnedNumber | None, action: ReleaseAction, target: str | None = None) -> ReleaseState | None:
    """What the owned list proves about a request on ``number``; None when it still shows it as it was.

    ``target`` is a move's sub-account (None: the parent account).
    """
    if action in (ReleaseAction.ASSIGN, ReleaseAction.UNASSIGN):
        if number is not None and number.sub_account == target:
            return ReleaseState.MOVED
        return None
    if action is ReleaseAction.UNDO:
        if number is not None and number.status is OwnedStatus.ACTIVE:
            return ReleaseState.RESTORED
        return None
    if number is None or number.status is OwnedStatus.INACTIVE:
        return ReleaseState.RELEASED
    if number.status is OwnedStatus.PENDING_RELEASE:
        return ReleaseState.PENDING_RELEASE
    return None


@dataclass(slots=True)
class Releaser:
    """One real run's walk: its ledger books, audit log, and the providers of the planned numbers."""

    books: Books
    audit: AuditLog
    change: Change
    confirm_window: float
    request_timeout: float
    seq: int = 0

    # -- recovery --

    async def recover(self, providers: Mapping[str, Provider]) -> tuple[dict[str, ReleaseRow], set[str]]:
        """Settle the open release attempts on these accounts (account key → provider).

        Returns the rows settled, and the accounts with one left open (nothing is sent on them).
        """
        open_ = await self.books.call(self.books.ledger.releases, accounts=list(providers), states=RELEASE_UNRESOLVED)
        settled: dict[str, ReleaseRow] = {}
        blocked: set[str] = set()
        for attempt in open_:
            provider = providers[attempt.account]
            try:
                listed = await lookup(provider, [attempt.e164], within=self.request_timeout)
            except Exception as exc:
                blocked.add(attempt.account)
                why = f"recovery could not read the owned list: {provider.redact(str(exc))[:300]}"
                await self._settle(attempt, ReleaseState.UNKNOWN, why)
                continue
            number = listed.get(attempt.e164)
            state = _listed_state(number, attempt.action, target_of(attempt.note))
            who = f"recovered by run {self.books.run_id}"
            if state is None:
                age = await self.books.call(self.books.ledger.release_age, attempt)
                if age < self.confirm_window:
                    blocked.add(attempt.account)
                    continue
                state = ReleaseState.REFUSED
                why = f"{who}: still listed as it was {age:.0f} s after the request: it did not take effect"
            else:
                why = f"{who}: the owned list shows it {state.value}"
            pending = state is ReleaseState.PENDING_RELEASE
            ends, until = (release_end(number), cooldown_end(number)) if pending else (None, None)
            done = await self._settle(attempt, state, why, effective_at=ends, undo_until=until)
            self._audit(attempt.provider, attempt.e164, state.value, why, recovery=True, ledger_id=attempt.id)
            if done.state in _DONE:
                settled[attempt.e164] = _row_of(done)
        return settled, blocked

    async def earlier(self) -> dict[str, ReleaseRow]:
        """What this intent's earlier runs already did, by number (a rerun with the key does not resend it)."""
        rows = await self.books.call(self.books.ledger.releases, intent=self.books.intent)
        return {r.e164: _row_of(r) for r in rows if r.state in _DONE and r.action is self.change.action}

    # -- one number --

    async def one(self, row: ReleaseRow, number: OwnedNumber, provider: Provider) -> ReleaseRow:
        """Send one request for ``row`` (pending first, outcome after) and return the row as it ended."""
        saving = row.monthly_saving
        attempt = await self.books.shielded(
            self.books.ledger.record_release,
            intent=self.books.intent,
            run_id=self.books.run_id,
            account=row.account or provider.account_key(),
            provider=provider.id,
            e164=row.e164,
            action=self.change.action,
            monthly=None if saving is None else saving.amount,
            currency=None if saving is None else saving.currency,
            note=self.change.note(),
        )
        row = row.model_copy(update={"ledger_id": attempt.id})
        self._audit(provider.id, row.e164, "pending", None, ledger_id=attempt.id, saving=saving)
        outcome: tuple[ReleaseState, str | None, ReleaseAnswer | None]
        try:
            outcome = await self._send(provider, number)
        except BaseException:
            # Interrupted mid-request (Ctrl-C, SIGTERM): nobody knows; a rerun's recovery settles it.
            why = "interrupted while the request was in flight: the owned list settles it on a rerun"
            await self._settle(attempt, ReleaseState.UNKNOWN, why)
            self._audit(provider.id, row.e164, ReleaseOutcome.UNKNOWN.value, why, ledger_id=attempt.id)
            raise
        state, reason, answer = outcome
        ends = answer.effective_at if answer is not None else None
        until = answer.undo_until if answer is not None else None
        if state is ReleaseState.PENDING_RELEASE and answer is None:
            ends, until = self._last_listed_end, self._last_listed_undo
        done = await self._settle(attempt, state, reason, effective_at=ends, undo_until=until)
        fee = answer.fee if answer is not None else None
        self._audit(provider.id, row.e164, _OUTCOME[state].value, reason, ledger_id=attempt.id, fee=fee, ends=ends)
        return row.model_copy(
            update={
                "outcome": _OUTCOME[done.state],
                "reason": reason,
                "effective_at": ends,
                "undo_until": until,
                "fee": fee,
            }
        )

    _last_listed_end: datetime | None = None
    _last_listed_undo: datetime | None = None

    async def _send(
        self, provider: Provider, number: OwnedNumber
    ) -> tuple[ReleaseState, str | None, ReleaseAnswer | None]:
        change = self.change
        try:
            with anyio.fail_after(self.request_timeout):
                if change.moves:
                    answer = await provider.move_number(number, change.sub_account, force=change.force)
                elif change.action is ReleaseAction.UNDO:
                    answer = await provider.cancel_release(number)
                else:
                    answer = await provider.release(number, immediate=change.immediate)
        except PurchaseError as exc:
            return ReleaseState.REFUSED, f"not sent: {exc}", None
        except CoolOffError as exc:
            return (
                ReleaseState.COOL_OFF,
                _cool_off_reason(provider, exc),
                ReleaseAnswer(state=OwnedStatus.ACTIVE, effective_at=read_moment(exc.until)),
            )
        except NotFoundError as exc:
            return await self._confirm(provider, number, f"the vendor says it is not there: {_said(provider, exc)}")
        except ProviderHTTPError as exc:
            if exc.status_code >= 500 or isinstance(exc, RateLimitedError):
                return await self._confirm(provider, number, _said(provider, exc))
            return ReleaseState.REFUSED, f"the vendor refused: {_said(provider, exc)}", None
        except Exception as exc:  # timeouts, dropped connections, unreadable answers: ambiguous
            return await self._confirm(provider, number, _said(provider, exc))
        return _answered(answer, change.action), answer.message, answer

    async def _confirm(
        self, provider: Provider, number: OwnedNumber, what: str
    ) -> tuple[ReleaseState, str | None, ReleaseAnswer | None]:
        """Read the owned list until it proves the outcome or the confirm window ends (then ``unknown``)."""
        ends = time.monotonic() + self.confirm_window
        problem = "it still shows the number as it was"
        while True:
            try:
                listed = await lookup(provider, [number.e164], within=self.request_timeout)
            except Exception as exc:
                problem = f"it could not be read: {_said(provider, exc)}"
            else:
                shown = listed.get(number.e164)
                state = _listed_state(shown, self.change.action, self.change.sub_account)
                if state is not None:
                    self._last_listed_end, self._last_listed_undo = release_end(shown), cooldown_end(shown)
                    return state, f"{what}; the owned list then showed it {state.value}", None
            if time.monotonic() >= ends:
                why = f"{what}; after {self.confirm_window:g} s the owned list cannot tell: {problem}"
                return ReleaseState.UNKNOWN, why, None
            await anyio.sleep(min(1.0, max(0.05, ends - time.monotonic())))

    # -- writing --

    async def _settle(
        self,
        attempt: LedgerRelease,
        state: ReleaseState,
        reason: str | None,
        *,
        effective_at: datetime | None = None,
        undo_until: datetime | None = None,
    ) -> LedgerRelease:
        try:
            return await self.books.shielded(
                self.books.ledger.update_release,
                attempt.id,
                state,
                reason=reason,
                effective_at=effective_at,
                undo_until=undo_until,
            )
        except LedgerError as exc:
            # The vendor changed (or may have changed) the number; the ledger could not say so.
            return replace(
                attempt, state=ReleaseState.UNKNOWN, reason=f"{reason}; the ledger could not record it: {exc}"
            )

    def _audit(
        self,
        provider: str,
        e164: str,
        outcome: str,
        reason: str | None,
        *,
        ledger_id: int | None = None,
        recovery: bool = False,
        saving: Any = None,
        fee: Any = None,
        ends: datetime | None = None,
    ) -> None:
        self.seq += 1
        line: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "run_id": self.books.run_id,
            "action": self.change.action.value,
            "attempt": self.seq,
            "dry_run": False,
            "provider": provider,
            "e164": e164,
            "immediate": self.change.immediate,
            "monthly_saving": money_json(saving),
            "outcome": outcome,
            "reason": reason,
            "fee": money_json(fee),
            "effective_at": None if ends is None else ends.isoformat(),
            "ledger_id": ledger_id,
        }
        if self.change.moves:
            line["sub_account"] = self.change.sub_account
            line["force"] = self.change.force
        if recovery:
            line["recovery"] = True
        self.audit.write(line)


def _answered(answer: ReleaseAnswer, action: ReleaseAction) -> ReleaseState:
    if action in (ReleaseAction.ASSIGN, ReleaseAction.UNASSIGN):
        return ReleaseState.MOVED
    if action is ReleaseAction.UNDO:
        return ReleaseState.RESTORED
    if answer.state is OwnedStatus.PENDING_RELEASE:
        return ReleaseState.PENDING_RELEASE
    return ReleaseState.RELEASED


def _cool_off_reason(provider: Provider, exc: CoolOffError) -> str:
    """One line naming when the cool-off ends and the time left."""
    left = exc.remaining_seconds
    spent = "" if left is None else f" ({left // 86400} d {left % 86400 // 3600} h left)"
    until = exc.until or "a date the vendor did not give"
    return provider.redact(f"the cool-off runs until {until}{spent}: nothing changed (--force overrides it)")[:300]


def _said(provider: Provider, exc: BaseException) -> str:
    """An exception in one line, with the vendor's words as data and nothing secret."""
    if isinstance(exc, ProviderHTTPError) and exc.vendor_message:
        text = f"HTTP {exc.status_code}: {exc.vendor_message}"
    else:
        text = str(exc) or type(exc).__name__
    return provider.redact(text)[:300]


def _row_of(attempt: LedgerRelease) -> ReleaseRow:
    """A row as the ledger recorded it (for a rerun, or a recovery)."""
    from numbroker._money import Money

    saving = (
        None
        if attempt.monthly is None or attempt.currency is None
        else Money.model_construct(amount=attempt.monthly, currency=attempt.currency)
    )
    return ReleaseRow(
        e164=attempt.e164,
        provider=attempt.provider,
        account=attempt.account,
        outcome=_OUTCOME[attempt.state],
        reason=attempt.reason,
        monthly_saving=saving,
        effective_at=attempt.effective_at,
        undo_until=attempt.undo_until,
        ledger_id=attempt.id,
    )


def by_account(rows: Sequence[ReleaseRow], providers: Mapping[str, Provider]) -> dict[str, Provider]:
    """Account key → provider, for the planned rows."""
    return {row.account: providers[row.e164] for row in rows if row.account is not None and row.e164 in providers}
