"""The plan: every offer found, priced in the run's currency, judged against the caps, cheapest first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Any

from numbroker._models import AvailableNumber
from numbroker._money import Money
from numbroker._provider import Provider
from numbroker._ranking import ExchangeRates
from numbroker._types import FilterSupport, QueryFilter
from numbroker.buying._results import AttemptOutcome, PlanDecision, PlanEntry
from numbroker.buying._terms import BuyTerms

__all__ = ["EXACT", "PlanRow", "make_plan", "plan_order", "plan_row"]

EXACT = Context(prec=100)
"""Sums of prices: converted amounts carry 34 significant digits; adding them must not round (28 by default)."""


@dataclass(slots=True)
class PlanRow:
    """A plan entry while the run is deciding (:class:`PlanEntry` is frozen)."""

    offer: AvailableNumber
    monthly: Money | None
    first_bill: Money | None
    decision: PlanDecision
    outcome: AttemptOutcome | None = None
    reason: str | None = None

    def entry(self) -> PlanEntry:
        """The frozen entry of the result."""
        return PlanEntry(
            offer=self.offer,
            monthly=self.monthly,
            first_bill=self.first_bill,
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


def _convert(money: Money, currency: str, rates: ExchangeRates | None) -> Money | None:
    if money.currency == currency:
        return money
    return rates.convert(money, currency) if rates is not None else None


def _price(offer: AvailableNumber, provider: Provider | None, currency: str, rates: ExchangeRates | None) -> _Priced:
    """The monthly price and the first bill (setup + first month) of ``offer`` in ``currency``."""
    monthly: Money | None = None
    first_bill: Money | None = None
    price_problem: tuple[PlanDecision, str] | None = None
    if offer.monthly_price is None:
        price_problem = (PlanDecision.PRICE_UNKNOWN, "no monthly price")
    else:
        monthly = _convert(offer.monthly_price, currency, rates)
        setup: Money | None
        if offer.setup_price is not None:
            setup = _convert(offer.setup_price, currency, rates)
        elif (
            provider is not None
            and provider.filter_support.get(QueryFilter.MAX_SETUP_PRICE) is FilterSupport.UNSUPPORTED
        ):
            # The vendor has no setup price at all (its setup filter is unsupported): buying starts the
            # subscription only. Elsewhere a missing setup price is unknown, not zero.
            setup = Money.model_construct(amount=Decimal(0), currency=currency)
        else:
            setup = None
            price_problem = (
                PlanDecision.PRICE_UNKNOWN,
                "no setup price: the first bill cannot be proven under the cap",
            )
        if monthly is None or (offer.setup_price is not None and setup is None):
            unconvertible = {p.currency for p in (offer.setup_price, offer.monthly_price) if p is not None} - {currency}
            monthly = None
            price_problem = (
                PlanDecision.NOT_COMPARABLE,
                f"no exchange rate from {', '.join(sorted(unconvertible))} to {currency}",
            )
        elif setup is not None:
            original = offer.setup_price
            if original is not None and original.currency == offer.monthly_price.currency != currency:
                # One conversion of the exact sum, rather than a sum of two rounded conversions.
                total = Money.model_construct(
                    amount=EXACT.add(original.amount, offer.monthly_price.amount), currency=original.currency
                )
                first_bill = _convert(total, currency, rates)
            else:
                first_bill = Money.model_construct(amount=EXACT.add(setup.amount, monthly.amount), currency=currency)
    if price_problem is None and (monthly is None or first_bill is None):  # pragma: no cover - defensive
        price_problem = (PlanDecision.NOT_COMPARABLE, f"the price could not be expressed in {currency}")
    return _Priced(monthly, first_bill, price_problem)


def plan_row(
    offer: AvailableNumber, provider: Provider | None, *, terms: BuyTerms, rates: ExchangeRates | None
) -> PlanRow:
    """Price one offer in the run's currency and decide whether it may be bought at all."""
    priced = _price(offer, provider, terms.currency, rates)
    monthly, first_bill = priced.monthly, priced.first_bill
    row = PlanRow(offer, monthly, first_bill, PlanDecision.CANDIDATE)
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
