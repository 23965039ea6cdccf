"""A run's hold on the purchase ledger: its intent, its attempts, the purchaser lock, what the caps start from.

The ledger's methods are synchronous and commit before they return; :class:`Books` calls them from a
worker thread. State changes that record what happened to a purchase request are shielded from
cancellation, so an interrupted run (Ctrl-C, SIGTERM, SIGHUP) still writes ``unknown`` for the attempt
it had in flight.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from decimal import Decimal
from functools import partial
from typing import TypeVar

import anyio
import anyio.lowlevel
import anyio.to_thread

from numbroker._exceptions import ConfigurationError
from numbroker._money import Money
from numbroker._pricing import EXACT
from numbroker.buying._plan import PlanRow
from numbroker.buying._results import AttemptOutcome, LedgerNote
from numbroker.buying._tally import Baseline
from numbroker.buying._terms import BuyTerms
from numbroker.ledger import (
    SPENDING_STATES,
    UNRESOLVED_STATES,
    AttemptState,
    IntentStatus,
    Ledger,
    LedgerAttempt,
    LedgerBusyError,
    LedgerIntent,
)

__all__ = ["LEDGER_STATE", "Books", "ledger_note"]

_T = TypeVar("_T")

LEDGER_STATE: Mapping[AttemptOutcome, AttemptState] = {
    AttemptOutcome.BOUGHT: AttemptState.BOUGHT,
    AttemptOutcome.CONFIRMED_OWNED: AttemptState.BOUGHT,
    AttemptOutcome.GONE: AttemptState.GONE,
    AttemptOutcome.REFUSED: AttemptState.REFUSED,
    AttemptOutcome.NOT_BOUGHT: AttemptState.RELEASED,
    AttemptOutcome.AMBIGUOUS: AttemptState.AMBIGUOUS,
    AttemptOutcome.UNKNOWN: AttemptState.UNKNOWN,
}
"""The ledger state an attempt's outcome is recorded as."""

_LOCK_SLICE = 0.25
"""Seconds of one wait for a purchaser lock; the wait is repeated until the run's deadline (cancellable)."""


def ledger_note(attempt: LedgerAttempt) -> LedgerNote:
    """The result's view of one ledger attempt."""
    return LedgerNote(
        id=attempt.id,
        intent=attempt.intent,
        run_id=attempt.run_id,
        provider=attempt.provider,
        e164=attempt.e164,
        first_bill=Money.model_construct(amount=attempt.amount, currency=attempt.currency),
        state=attempt.state.value,
        reason=attempt.reason,
        sold=attempt.sold if attempt.sold != attempt.e164 else None,
    )


class Books:
    """One run's use of the ledger: the intent it works on and every attempt it records."""

    def __init__(self, ledger: Ledger, *, intent: str, run_id: str) -> None:
        self.ledger = ledger
        self.intent = intent
        self.run_id = run_id
        self.failed: str | None = None
        """Why the ledger could not be written mid-run (the run then buys nothing more), if it could not."""

    async def call(self, fn: Callable[..., _T], *args: object, **kwargs: object) -> _T:
        """Run one ledger method in a worker thread."""
        return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))

    async def shielded(self, fn: Callable[..., _T], *args: object, **kwargs: object) -> _T:
        """Run one ledger method in a worker thread, even while the run is being cancelled."""
        with anyio.CancelScope(shield=True):
            result = await self.call(fn, *args, **kwargs)
        return result

    # -- the intent --

    async def open_intent(self, terms: BuyTerms) -> LedgerIntent:
        """Open the intent, or find the one a run with the same key opened; its terms must match this run's.

        Raises:
            ConfigurationError: the intent was opened with another quantity, budget or currency.
        """
        budget = terms.budget.amount if terms.budget is not None else None
        found = await self.call(
            self.ledger.open_intent, self.intent, quantity=terms.quantity, budget=budget, currency=terms.currency
        )
        self._same_terms(found, terms)
        return found

    def _same_terms(self, found: LedgerIntent, terms: BuyTerms) -> None:
        budget = terms.budget.amount if terms.budget is not None else None
        same_budget = (found.budget is None) == (budget is None) and (
            found.budget is None or budget is None or found.budget == budget
        )
        if found.quantity != terms.quantity or found.currency != terms.currency or not same_budget:
            which = "a finished" if found.status is IntentStatus.FINISHED else "an"
            raise ConfigurationError(
                f"the idempotency key {self.intent!r} names {which} intent of quantity {found.quantity}"
                + (f", budget {found.budget} {found.currency}" if found.budget is not None else ", no budget")
                + f" in {found.currency}; rerun it with the same terms, or use another key"
            )

    async def finished(self, terms: BuyTerms) -> LedgerIntent | None:
        """The intent, if a run already finished it (with this run's terms).

        Raises:
            ConfigurationError: it was finished with other terms.
        """
        found = await self.call(self.ledger.intent, self.intent)
        if found is None or found.status is not IntentStatus.FINISHED:
            return None
        self._same_terms(found, terms)
        return found

    async def finish(self, result_json: str) -> None:
        """Mark the intent finished with the run's JSON result."""
        await self.shielded(self.ledger.finish_intent, self.intent, result_json)

    # -- what the caps start from --

    async def baseline(self, accounts: Iterable[str], terms: BuyTerms) -> tuple[Baseline, list[LedgerAttempt]]:
        """What the ledger holds for this intent and these accounts; also the intent's earlier attempts."""
        earlier = await self.call(self.ledger.attempts, intent=self.intent, states=SPENDING_STATES)
        base = Baseline()
        for attempt in earlier:
            if attempt.currency != terms.currency:  # pragma: no cover - open_intent refuses another currency
                continue
            if attempt.state is AttemptState.BOUGHT:
                base.bought += 1
                base.bought_spent = EXACT.add(base.bought_spent, attempt.amount)
            else:
                base.held += 1
                base.held_spent = EXACT.add(base.held_spent, attempt.amount)
        for account in sorted(set(accounts)):
            base.known[account] = await self.call(self.ledger.owned_numbers, account)
            if terms.spend_limit is not None:
                spent, others = await self.call(
                    self.ledger.spent, account, currency=terms.currency, window=terms.spend_window
                )
                base.account_spent[account] = spent
                if others:
                    base.account_blocked[account] = (
                        f"this account spent in {', '.join(sorted(others))} in the spend window too; "
                        f"a {terms.currency} spend limit cannot add that up"
                    )
        return base, earlier

    # -- attempts --

    async def pending(self, row: PlanRow, account: str, currency: str) -> int:
        """Write the attempt ``pending`` before its request is sent; its ledger id."""
        assert row.first_bill is not None
        offer = row.offer
        attempt = await self.shielded(
            self.ledger.record_attempt,
            intent=self.intent,
            run_id=self.run_id,
            account=account,
            provider=offer.provider,
            e164=offer.e164,
            offer_id=offer.offer_id,
            amount=row.first_bill.amount,
            currency=currency,
        )
        return attempt.id

    async def settle(
        self, attempt_id: int, state: AttemptState, reason: str | None, *, sold: str | None = None
    ) -> LedgerAttempt:
        """Record what came of attempt ``attempt_id`` (shielded: an interrupted run still records it)."""
        return await self.shielded(self.ledger.update_attempt, attempt_id, state, reason=reason, sold=sold)

    async def unresolved(self, accounts: Iterable[str]) -> list[LedgerAttempt]:
        """Every unresolved attempt on ``accounts``, from any run, oldest first."""
        return await self.call(self.ledger.attempts, accounts=list(accounts), states=UNRESOLVED_STATES)

    async def intent_unresolved(self) -> list[LedgerAttempt]:
        """This intent's unresolved attempts (on any account)."""
        return await self.call(self.ledger.attempts, intent=self.intent, states=UNRESOLVED_STATES)

    # -- the purchaser lock --

    @contextlib.asynccontextmanager
    async def purchaser(self, *, deadline: float) -> AsyncIterator[None]:
        """Hold the ledger's purchaser lock, waiting until ``deadline`` (monotonic) at most.

        Raises:
            LedgerBusyError: another run held it past the deadline (the message names it).
        """
        waited_from = time.monotonic()
        while True:
            left = deadline - time.monotonic()
            lock = self.ledger.purchaser(run_id=self.run_id, timeout=max(0.0, min(_LOCK_SLICE, left)))
            try:
                await self.call(lock.__enter__)
            except LedgerBusyError as busy:
                if time.monotonic() >= deadline:
                    raise LedgerBusyError(
                        f"{str(busy).split('; waited')[0]}; waited {time.monotonic() - waited_from:.0f} s "
                        "(the run's deadline)",
                        holder=busy.holder,
                    ) from None
                await anyio.lowlevel.checkpoint()
                continue
            break
        try:
            yield
        finally:
            await self.shielded(lock.__exit__, None, None, None)


def spent_of(attempts: Iterable[LedgerAttempt]) -> Decimal:
    """The sum of the attempts' first bills."""
    total = Decimal(0)
    for attempt in attempts:
        total = EXACT.add(total, attempt.amount)
    return total
