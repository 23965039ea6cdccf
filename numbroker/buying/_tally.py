"""The tally of a run: what it and the intent bought, what may have been bought, and what every cap leaves.

The tally starts from the ledger (what earlier runs of the same intent bought or left unresolved, what
each account spent in the spend window, and which numbers each account bought or may have bought) and
counts this run's attempts on top. An unresolved attempt (ambiguous, unknown) counts against the
quantity, the budget and the spend limit exactly like a bought one, until a check settles it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from numbroker._money import Money
from numbroker._pricing import EXACT
from numbroker.buying._plan import PlanRow
from numbroker.buying._results import PlanDecision
from numbroker.buying._terms import BuyTerms

__all__ = ["Baseline", "Tally"]


@dataclass(slots=True)
class Baseline:
    """What the ledger holds before this run buys (empty without a ledger, and for a fresh intent).

    Attributes:
        bought: numbers earlier runs of the intent bought.
        bought_spent: their first bills.
        held: attempts of the intent still unresolved (they may have bought).
        held_spent: their first bills.
        account_spent: account key → first bills bought or unresolved there in the spend window.
        account_blocked: account key → why its spending cannot be summed (another currency in the window).
        known: account key → numbers the ledger says it bought or may have bought.
    """

    bought: int = 0
    bought_spent: Decimal = Decimal(0)
    held: int = 0
    held_spent: Decimal = Decimal(0)
    account_spent: dict[str, Decimal] = field(default_factory=dict)
    account_blocked: dict[str, str] = field(default_factory=dict)
    known: dict[str, set[str]] = field(default_factory=dict)


@dataclass(slots=True)
class Tally:
    """Counts one run against its quantity, budget and spend limit, and decides which candidates it skips.

    Attributes:
        terms: the run's terms.
        accounts: provider id → its account key (what the ledger and the spend limit count by).
        base: what the ledger held before this run.
        bought: how many numbers this run bought (or would, while a dry run plans).
        spent: the sum of their first bills in the run's currency.
        held: this run's attempts in flight or unresolved (ambiguous, unknown): they may have bought.
        held_spent: their first bills.
        account_spent: account key → this run's bought or held first bills there.
        tried: every E.164 asked for (or planned) in this run.
        dropped: provider id → why it is not asked again in this run.
        stopped: why the run stopped before the plan ended, if it did.
    """

    terms: BuyTerms
    accounts: Mapping[str, str] = field(default_factory=dict)
    base: Baseline = field(default_factory=Baseline)
    bought: int = 0
    spent: Decimal = Decimal(0)
    held: int = 0
    held_spent: Decimal = Decimal(0)
    account_spent: dict[str, Decimal] = field(default_factory=dict)
    tried: set[str] = field(default_factory=set)
    dropped: dict[str, str] = field(default_factory=dict)
    stopped: str | None = None

    # -- the sums every cap is checked against --

    def committed(self) -> Decimal:
        """First bills bought or possibly bought by the intent (earlier runs and this one)."""
        return EXACT.add(
            EXACT.add(self.base.bought_spent, self.base.held_spent), EXACT.add(self.spent, self.held_spent)
        )

    def account_total(self, account: str) -> Decimal:
        """First bills bought or possibly bought on ``account`` in the spend window, across every run."""
        return EXACT.add(self.base.account_spent.get(account, Decimal(0)), self.account_spent.get(account, Decimal(0)))

    def total_bought(self) -> int:
        """Numbers the intent bought (earlier runs and this one)."""
        return self.base.bought + self.bought

    def skip(self, row: PlanRow) -> bool:
        """Mark ``row`` skipped when any rule forbids it (see :class:`PlanDecision`); False if it may be bought."""
        offer = row.offer
        budget = self.terms.budget
        limit = self.terms.spend_limit
        account = self.accounts.get(offer.provider)
        if offer.provider in self.dropped:
            row.decision, row.reason = PlanDecision.PROVIDER_DROPPED, self.dropped[offer.provider]
        elif offer.e164 in self.tried:
            row.decision, row.reason = PlanDecision.SAME_NUMBER, f"{offer.e164} was already tried in this run"
        elif account is not None and offer.e164 in self.base.known.get(account, set()):
            row.decision = PlanDecision.SAME_NUMBER
            row.reason = f"the ledger says this {offer.provider} account bought {offer.e164} (or may have)"
        elif (
            budget is not None
            and row.first_bill is not None
            and (EXACT.add(self.committed(), row.first_bill.amount) > budget.amount)
        ):
            left = EXACT.subtract(budget.amount, self.committed())
            row.decision, row.reason = PlanDecision.OVER_BUDGET, f"{left} {self.terms.currency} of the budget left"
        elif limit is not None and account is not None and account in self.base.account_blocked:
            row.decision, row.reason = PlanDecision.OVER_SPEND_LIMIT, self.base.account_blocked[account]
        elif (
            limit is not None
            and account is not None
            and row.first_bill is not None
            and EXACT.add(self.account_total(account), row.first_bill.amount) > limit.amount
        ):
            left = EXACT.subtract(limit.amount, self.account_total(account))
            row.decision = PlanDecision.OVER_SPEND_LIMIT
            row.reason = (
                f"{max(left, Decimal(0))} {self.terms.currency} of the {offer.provider} account's spend limit "
                f"left in the last {_window(self.terms)}"
            )
        else:
            return False
        return True

    def done(self) -> bool:
        """The run stopped, or the intent's bought and unresolved attempts reach its quantity."""
        return self.stopped is not None or self.total_bought() + self.base.held + self.held >= self.terms.quantity

    # -- counting one attempt --

    def hold(self, row: PlanRow) -> None:
        """Count an attempt about to be sent: until it is settled it may have bought."""
        assert row.first_bill is not None
        self.held += 1
        self.held_spent = EXACT.add(self.held_spent, row.first_bill.amount)
        self._account_add(row, row.first_bill.amount)

    def settle(self, row: PlanRow, *, bought: bool) -> None:
        """A held attempt is settled: bought (counted as such) or not (its hold is lifted)."""
        assert row.first_bill is not None
        self.held -= 1
        self.held_spent = EXACT.subtract(self.held_spent, row.first_bill.amount)
        if bought:
            self.count(row.first_bill)
        else:
            self._account_add(row, -row.first_bill.amount)

    def count(self, first_bill: Money) -> None:
        """Count one number bought by this run for ``first_bill``."""
        self.bought += 1
        self.spent = EXACT.add(self.spent, first_bill.amount)

    def _account_add(self, row: PlanRow, amount: Decimal) -> None:
        account = self.accounts.get(row.offer.provider)
        if account is not None:
            self.account_spent[account] = EXACT.add(self.account_spent.get(account, Decimal(0)), amount)

    def overrun(self) -> str | None:
        """Why the intent went over its quantity or budget (a late commit can do that), or None."""
        budget = self.terms.budget
        bought = self.total_bought()
        spent = EXACT.add(self.base.bought_spent, self.spent)
        if bought <= self.terms.quantity and (budget is None or spent <= budget.amount):
            return None
        return (
            f"bought {bought} (first bills {spent} {self.terms.currency}) against a quantity of "
            f"{self.terms.quantity}"
            + (f" and a budget of {budget}" if budget is not None else "")
            + ": a late commit went over; a human must decide what to release"
        )


def _window(terms: BuyTerms) -> str:
    seconds = int(terms.spend_window.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
