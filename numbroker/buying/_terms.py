"""The terms of a buy-cheapest run: how many numbers, the caps and the budget in one currency, checked once."""

from __future__ import annotations

from dataclasses import dataclass

from numbroker._exceptions import ConfigurationError, PurchaseError
from numbroker._money import Money

__all__ = ["DEFAULT_CONFIRM_DELAY", "BuyTerms"]

DEFAULT_CONFIRM_DELAY = 2.0
"""Seconds to wait after an ambiguous answer before reading the owned numbers (a slow commit may land)."""


@dataclass(frozen=True, slots=True)
class BuyTerms:
    """What the caller asked of one run; every price of the run is compared in ``currency``.

    Attributes:
        quantity: how many numbers to buy.
        currency: the currency of the caps and the budget (the run's currency).
        max_monthly: the cap on the monthly price.
        max_first_bill: the cap on setup + first month.
        budget: the cap on the sum of the first bills of everything bought, if any.
        allow_assumed_currency: offers whose vendor stated no currency may be bought too.
        confirm_delay: seconds to wait after an ambiguous answer before reading the owned numbers.
    """

    quantity: int
    currency: str
    max_monthly: Money
    max_first_bill: Money
    budget: Money | None
    allow_assumed_currency: bool
    confirm_delay: float

    @classmethod
    def checked(
        cls,
        *,
        quantity: int,
        max_monthly: object,
        max_first_bill: object,
        budget: object,
        allow_assumed_currency: bool,
        confirm_delay: float,
    ) -> BuyTerms:
        """The terms, once every argument is known to be usable.

        Raises:
            PurchaseError: a cap is missing (None).
            ConfigurationError: a cap or the budget that is not Money, an invalid quantity or delay, or caps in
                more than one currency.
        """
        missing = [
            name for name, cap in (("max_monthly", max_monthly), ("max_first_bill", max_first_bill)) if cap is None
        ]
        if missing:
            raise PurchaseError(f"buying needs both caps: max_monthly and max_first_bill (Money); {missing[0]} is None")
        for name, cap in (("max_monthly", max_monthly), ("max_first_bill", max_first_bill), ("budget", budget)):
            if cap is not None and not isinstance(cap, Money):
                raise ConfigurationError(
                    f"{name} must be Money, e.g. Money(amount=Decimal('2'), currency='USD'); "
                    f"got {type(cap).__name__} {cap!r}"
                )
        assert isinstance(max_monthly, Money) and isinstance(max_first_bill, Money)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ConfigurationError(f"quantity must be a whole number of at least 1, got {quantity!r}")
        assert budget is None or isinstance(budget, Money)
        currency = max_monthly.currency
        others = {m.currency for m in (max_first_bill, budget) if isinstance(m, Money)} - {currency}
        if others:
            raise ConfigurationError(
                f"the caps and the budget must be in one currency; got {currency} and {', '.join(sorted(others))}"
            )
        if confirm_delay < 0:
            raise ConfigurationError("confirm_delay must not be negative")
        return cls(
            quantity=quantity,
            currency=currency,
            max_monthly=max_monthly,
            max_first_bill=max_first_bill,
            budget=budget,
            allow_assumed_currency=allow_assumed_currency,
            confirm_delay=confirm_delay,
        )
