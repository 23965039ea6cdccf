"""Recovery: before a run buys on an account, every unresolved attempt there is settled by checking ownership.

An attempt is unresolved when an earlier run was killed mid-request (``pending``), got an ambiguous
answer it could not settle within the confirm window (``ambiguous``), or could not check (``unknown``).
For each, oldest first, the account's owned numbers are read (each check with its total deadline):

* found owned: recorded ``bought``; it counts toward its intent (a rerun with the same key continues it);
* not owned (neither the number asked for nor one the vendor said it sold instead), and the confirm
  window since the attempt has passed on the ledger's clock: recorded ``released`` (not owned);
* not owned within the window: it stays unresolved (a lagging owned list proves nothing yet);
* the check fails (within its deadline, bounded by the run's): it stays unresolved.

When one stays unresolved the run buys nothing and names it (exit 4 on the command line).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from numbroker.adapters import Provider
from numbroker.buying._confirm import checked_owns, describe
from numbroker.buying._ledgering import Books, ledger_note
from numbroker.buying._results import LedgerNote
from numbroker.buying._terms import BuyTerms
from numbroker.ledger import AttemptState, LedgerAttempt, LedgerError

__all__ = ["Recovery", "recover"]


@dataclass(slots=True)
class Recovery:
    """What recovery did: the attempts it settled, and the ones it could not (then nothing is bought)."""

    recovered: list[LedgerNote] = field(default_factory=list)
    unsettled: list[LedgerNote] = field(default_factory=list)


async def recover(
    books: Books,
    providers: Mapping[str, Provider],
    attempts: Sequence[LedgerAttempt],
    *,
    terms: BuyTerms,
    deadline: float,
) -> Recovery:
    """Settle ``attempts`` (unresolved; this run holds the ledger's purchaser lock) by their owned numbers.

    ``providers`` maps account keys to the provider instances that read them.
    """
    done = Recovery()
    for attempt in attempts:
        provider = providers.get(attempt.account)
        if provider is None:
            done.unsettled.append(ledger_note(attempt))
            continue
        settled = await _settle(books, provider, attempt, terms=terms, deadline=deadline)
        (done.recovered if settled.state in ("bought", "released") else done.unsettled).append(settled)
    return done


async def _settle(
    books: Books, provider: Provider, attempt: LedgerAttempt, *, terms: BuyTerms, deadline: float
) -> LedgerNote:
    who = f"recovered by run {books.run_id}"
    try:  # the number asked for, and the one the vendor said it sold instead
        owned = [
            number
            for number in attempt.numbers
            if await checked_owns(provider, number, within=min(terms.purchase_timeout, _left(deadline)))
        ]
    except Exception as exc:
        why = f"{who}: ownership could not be checked: {describe(provider, exc)}"
        return await _write(books, attempt, attempt.state, why)
    if owned:
        return await _write(
            books, attempt, AttemptState.BOUGHT, f"{who}: {', '.join(owned)} found among the owned numbers"
        )
    try:
        age = await books.call(books.ledger.age, attempt)
    except LedgerError as exc:
        return ledger_note(attempt).model_copy(update={"reason": f"its age could not be read: {exc}"})
    if age >= terms.confirm_window:
        why = (
            f"{who}: {' nor '.join(attempt.numbers)} not among the owned numbers {age:.0f} s after the attempt "
            f"(confirm window {terms.confirm_window:g} s, on the ledger's clock)"
        )
        return await _write(books, attempt, AttemptState.RELEASED, why)
    left = terms.confirm_window - age
    return ledger_note(attempt).model_copy(
        update={
            "reason": (
                f"not among the owned numbers yet, {age:.0f} s after the attempt: within the confirm window "
                f"({terms.confirm_window:g} s) an owned list may lag; a run in {left:.0f} s or later "
                "releases it if it is still not owned, or resolve it by hand"
            )
        }
    )


async def _write(books: Books, attempt: LedgerAttempt, state: AttemptState, reason: str) -> LedgerNote:
    try:
        return ledger_note(await books.settle(attempt.id, state, reason))
    except LedgerError as exc:
        return ledger_note(attempt).model_copy(update={"reason": f"{reason}; the ledger could not record it: {exc}"})


def _left(deadline: float) -> float:
    return max(0.1, deadline - time.monotonic())
