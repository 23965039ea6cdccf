"""The plan: every offer found, priced in the run's currency, judged against the caps, cheapest first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from numbroker._models import AvailableNumber
from numbroker._money import Money
from numbroker._pricing import ExchangeRates, committed_months, convert, first_bill_in, shown_sum, total_cost_in
from numbroker.adapters import Provider
from numbroker.buying._results import AttemptOutcome, PlanDecision, PlanEntry
from numbroker.buying._terms import BuyTerms

__all__ = ["PlanRow", "make_plan", "plan_order", "plan_row"]


@dataclass(slots=True)
class PlanRow:
    """A plan entry while the run is deciding (:class:`PlanEntry` is frozen)."""

    offer: AvailableNumber
    monthly: Money | None
    first_bill: Money | None
    decision: PlanDecision
    outcome: AttemptOutcome | None = None
    reason: str | None = None
    committed: Money | None = None

    def entry(self) -> PlanEntry:
        """The frozen entry of the result."""
        return PlanEntry(
            offer=self.offer,
            monthly=self.monthly,
            first_bill=self.first_bill,
            committed=self.committed,
            decision=self.decision,
            outcome=self.outcome,
            reason=self.reason,
        )


@dataclass(frozen=True, slots=True)
class _Priced:
    """An offer's prices in the run's currency, or why they cannot be compared there."""

    monthly: Money | None
    first_bill: Money | None
    problem: tuple[PlanDecision, str] | None
    committed: Money | None = None


def _price(offer: AvailableNumber, provider: Provider | None, currency: str, rates: ExchangeRates | None) -> _Priced:
    """The monthly price and the first bill (setup + first month) of ``offer`` in ``currency``.

    The money rules are :mod:`numbroker._pricing`'s: a missing setup price is unknown unless the vendor
    states none at all (``Provider.states_setup_prices``), and conversions use the run's rates only.
    The committed cost counts the longer of one month and the offer's minimum commitment.
    """
    if offer.monthly_price is None:
        return _Priced(None, None, (PlanDecision.PRICE_UNKNOWN, "no monthly price"))
    setup_stated = provider is None or provider.states_setup_prices
    monthly = convert(offer.monthly_price, currency, rates)
    bill = first_bill_in(offer.setup_price, offer.monthly_price, currency, rates, setup_stated=setup_stated)
    if monthly is None or (offer.setup_price is not None and bill is None):
        unconvertible = {p.currency for p in (offer.setup_price, offer.monthly_price) if p is not None} - {currency}
        return _Priced(
            None,
            None,
            (PlanDecision.NOT_COMPARABLE, f"no exchange rate from {', '.join(sorted(unconvertible))} to {currency}"),
        )
    if bill is None:
        return _Priced(
            monthly, None, (PlanDecision.PRICE_UNKNOWN, "no setup price: the first bill cannot be proven under the cap")
        )
    months = committed_months(1, offer.minimum_commitment_months)
    committed: Money | None = bill
    if months > 1:
        committed = total_cost_in(
            offer.setup_price, offer.monthly_price, currency, rates, months=months, setup_stated=setup_stated
        )
    return _Priced(monthly, shown_sum(bill), None, shown_sum(committed))


def plan_row(
    offer: AvailableNumber, provider: Provider | None, *, terms: BuyTerms, rates: ExchangeRates | None
) -> PlanRow:
    """Price one offer in the run's currency and decide whether it may be bought at all.

    An offer whose prices raise an ``ArithmeticError`` is ``price_unknown`` with the reason; the others'
    rows are unaffected.
    """
    try:
        priced = _price(offer, provider, terms.currency, rates)
    except ArithmeticError as exc:
        reason = f"the price cannot be computed with ({type(exc).__name__})"
        priced = _Priced(None, None, (PlanDecision.PRICE_UNKNOWN, reason))
    monthly, first_bill, committed = priced.monthly, priced.first_bill, priced.committed
    row = PlanRow(offer, monthly, first_bill, PlanDecision.CANDIDATE, committed=committed)
    if provider is None or not provider.supports_purchase:
        row.decision, row.reason = PlanDecision.CANNOT_BUY, f"{offer.provider} cannot buy numbers"
    elif offer.provider_details.get("currency_assumed") is True and not terms.allow_assumed_currency:
        row.decision, row.reason = PlanDecision.CURRENCY_ASSUMED, "the vendor stated no currency; it was assumed"
    elif priced.problem is not None:
        row.decision, row.reason = priced.problem
    elif monthly is not None and monthly.amount > terms.max_monthly.amount:
        row.decision = PlanDecision.OVER_MONTHLY_CAP
    elif first_bill is not None and first_bill.amount > terms.max_first_bill.amount:
        row.decision = PlanDecision.OVER_FIRST_BILL_CAP
    elif committed is not None and committed.amount > terms.max_first_bill.amount:
        # A minimum commitment binds the buyer to its months: the first-bill cap bounds what buying commits to.
        row.decision = PlanDecision.OVER_FIRST_BILL_CAP
        months = offer.minimum_commitment_months
        row.reason = f"a {months}-month minimum commitment: {committed.amount} {committed.currency} committed"
    return row


def plan_order(row: PlanRow) -> tuple[Any, ...]:
    """Eligible first; then by first bill, monthly, provider, number and offer id."""
    unpriced = row.first_bill is None or row.monthly is None
    return (
        row.decision is not PlanDecision.CANDIDATE,
        unpriced,
        row.first_bill.amount if row.first_bill is not None else Decimal(0),
        row.monthly.amount if row.monthly is not None else Decimal(0),
        row.offer.provider,
        row.offer.e164,
        row.offer.offer_id,
    )


def make_plan(
    offers: Iterable[AvailableNumber],
    providers: Mapping[str, Provider],
    *,
    terms: BuyTerms,
    rates: ExchangeRates | None,
) -> list[PlanRow]:
    """The plan of a run: a row per offer (each with its provider's instance, if any), in :func:`plan_order`."""
    rows = [plan_row(offer, providers.get(offer.provider), terms=terms, rates=rates) for offer in offers]
    rows.sort(key=plan_order)
    return rows
