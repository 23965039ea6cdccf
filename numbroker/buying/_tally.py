"""The tally of a run: what it bought and spent against its terms, what it tried, dropped, and why it stopped."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from numbroker._money import Money
from numbroker._pricing import EXACT
from numbroker.buying._plan import PlanRow
from numbroker.buying._results import PlanDecision
from numbroker.buying._terms import BuyTerms

__all__ = ["Tally"]


@dataclass(slots=True)
class Tally:
    """Counts one run against its quantity and budget, and decides which candidates it must skip.

    Attributes:
        terms: the run's terms.
        bought: how many numbers are the account's now (or would be, while a dry run plans).
        spent: the sum of their first bills in the run's currency.
        tried: every E.164 asked for (or planned) in this run.
        dropped: provider id → why it is not asked again in this run.
        stopped: why the run stopped before the plan ended, if it did.
    """

    terms: BuyTerms
    bought: int = 0
    spent: Decimal = Decimal(0)
    tried: set[str] = field(default_factory=set)
    dropped: dict[str, str] = field(default_factory=dict)
    stopped: str | None = None

    def skip(self, row: PlanRow) -> bool:
        """Mark ``row`` skipped when its provider was dropped, its number tried, or it breaks the budget."""
        offer = row.offer
        budget = self.terms.budget
        if offer.provider in self.dropped:
            row.decision, row.reason = PlanDecision.PROVIDER_DROPPED, self.dropped[offer.provider]
        elif offer.e164 in self.tried:
            row.decision, row.reason = PlanDecision.SAME_NUMBER, f"{offer.e164} was already tried in this run"
        elif (
            budget is not None
            and row.first_bill is not None
            and (EXACT.add(self.spent, row.first_bill.amount) > budget.amount)
        ):
            left = EXACT.subtract(budget.amount, self.spent)
            row.decision, row.reason = PlanDecision.OVER_BUDGET, f"{left} {self.terms.currency} of the budget left"
        else:
            return False
        return True

    def done(self) -> bool:
        """The run stopped, or bought its quantity."""
        return self.stopped is not None or self.bought >= self.terms.quantity

    def count(self, first_bill: Money) -> None:
        """Count one number bought for ``first_bill``."""
        self.bought += 1
        self.spent = EXACT.add(self.spent, first_bill.amount)

    def overrun(self) -> str | None:
        """Why the run went over its quantity or budget (a late commit can do that), or None."""
        budget = self.terms.budget
        if self.bought <= self.terms.quantity and (budget is None or self.spent <= budget.amount):
            return None
        return (
            f"bought {self.bought} (first bills {self.spent} {self.terms.currency}) against a quantity of "
            f"{self.terms.quantity}"
            + (f" and a budget of {budget}" if budget is not None else "")
            + ": a late commit went over; a human must decide what to release"
        )
