"""The terms of a buy-cheapest run: how many numbers, the caps, the budget and the spend limit, checked once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from numbroker._exceptions import ConfigurationError, PurchaseError
from numbroker._inputs import MAX_QUANTITY, check_seconds
from numbroker._money import Money

__all__ = [
    "DEFAULT_CONFIRM_DELAY",
    "DEFAULT_CONFIRM_WINDOW",
    "DEFAULT_PURCHASE_TIMEOUT",
    "DEFAULT_RUN_TIMEOUT",
    "DEFAULT_SPEND_WINDOW",
    "BuyTerms",
    "parse_duration",
]

DEFAULT_CONFIRM_DELAY = 2.0
"""Seconds to wait after an ambiguous answer before reading the owned numbers (a slow commit may land)."""

DEFAULT_CONFIRM_WINDOW = 300.0
"""Seconds after an ambiguous answer during which "not among the owned numbers" proves nothing.

A vendor's owned list may lag its commits; within the window an ambiguous attempt stays unresolved (and
counts as spent); after it, a check that does not find the number releases the attempt.
"""

DEFAULT_PURCHASE_TIMEOUT = 30.0
"""The total deadline, in seconds, of one purchase request (the whole response) and of one ownership check."""

DEFAULT_RUN_TIMEOUT = 300.0
"""The bound, in seconds, on a run's buying: waiting for the purchaser lock, recovery and starting attempts."""

DEFAULT_SPEND_WINDOW = timedelta(hours=24)
"""The window a spend limit sums over."""

_DURATION = re.compile(r"\s*(\d{1,12}(?:\.\d{1,9})?)\s*(s|m|h|d)\s*")

MAX_SPEND_WINDOW = timedelta(days=3660)
"""The longest spend window: ten years (a longer one reaches past what a clock and a ledger can date)."""
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str | timedelta) -> timedelta:
    """A duration such as ``90s``, ``30m``, ``24h`` or ``7d`` (a :class:`timedelta` is returned as is).

    Raises:
        ConfigurationError: not such a duration, not positive, or longer than :data:`MAX_SPEND_WINDOW`.
    """
    if isinstance(text, timedelta):
        value = text
    else:
        match = _DURATION.fullmatch(text)
        if match is None:
            raise ConfigurationError(
                f"a duration is a number and a unit (s, m, h or d), like 30m, 24h or 7d; got {text!r}"
            )
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        if seconds > MAX_SPEND_WINDOW.total_seconds():
            raise ConfigurationError(f"a duration must be at most {MAX_SPEND_WINDOW.days}d (ten years), got {text!r}")
        value = timedelta(seconds=seconds)
    if value <= timedelta(0):
        raise ConfigurationError(f"a duration must be positive, got {text!r}")
    if value > MAX_SPEND_WINDOW:
        raise ConfigurationError(f"a duration must be at most {MAX_SPEND_WINDOW.days}d (ten years), got {text!r}")
    return value


_DAY = 86400.0
"""The longest confirm window or run bound accepted, in seconds."""


@dataclass(frozen=True, slots=True)
class BuyTerms:
    """What the caller asked of one run; every price of the run is compared in ``currency``.

    Attributes:
        quantity: how many numbers to buy (for the intent: earlier runs of it count).
        currency: the currency of the caps, the budget and the spend limit (the run's currency).
        max_monthly: the cap on the monthly price.
        max_first_bill: the cap on setup + first month.
        budget: the cap on the sum of the first bills of everything the intent bought, if any.
        allow_assumed_currency: offers whose vendor stated no currency may be bought too.
        confirm_delay: seconds to wait after an ambiguous answer before reading the owned numbers.
        confirm_window: seconds after an ambiguous answer before "not owned" releases the attempt.
        purchase_timeout: the total deadline of one purchase request and of one ownership check.
        run_timeout: the bound on the buying phase (lock wait, recovery, starting attempts).
        spend_limit: the cap on the first bills bought or unresolved on one account in ``spend_window``,
            across every run sharing the ledger, if any.
        spend_window: the window the spend limit sums over.
    """

    quantity: int
    currency: str
    max_monthly: Money
    max_first_bill: Money
    budget: Money | None
    allow_assumed_currency: bool
    confirm_delay: float
    confirm_window: float = DEFAULT_CONFIRM_WINDOW
    purchase_timeout: float = DEFAULT_PURCHASE_TIMEOUT
    run_timeout: float = DEFAULT_RUN_TIMEOUT
    spend_limit: Money | None = None
    spend_window: timedelta = DEFAULT_SPEND_WINDOW

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
        confirm_window: float = DEFAULT_CONFIRM_WINDOW,
        purchase_timeout: float = DEFAULT_PURCHASE_TIMEOUT,
        run_timeout: float = DEFAULT_RUN_TIMEOUT,
        spend_limit: object = None,
        spend_window: str | timedelta = DEFAULT_SPEND_WINDOW,
    ) -> BuyTerms:
        """The terms, once every argument is known to be usable.

        Raises:
            PurchaseError: a cap is missing (None).
            ConfigurationError: a cap, the budget or the spend limit that is not Money, an invalid quantity,
                limit, delay or duration (each a finite number of seconds in its range: NaN or infinity is
                refused), or caps in more than one currency.
        """
        missing = [
            name for name, cap in (("max_monthly", max_monthly), ("max_first_bill", max_first_bill)) if cap is None
        ]
        if missing:
            raise PurchaseError(f"buying needs both caps: max_monthly and max_first_bill (Money); {missing[0]} is None")
        caps = (("max_monthly", max_monthly), ("max_first_bill", max_first_bill), ("budget", budget))
        for name, cap in (*caps, ("spend_limit", spend_limit)):
            if cap is not None and not isinstance(cap, Money):
                raise ConfigurationError(
                    f"{name} must be Money, e.g. Money(amount=Decimal('2'), currency='USD'); "
                    f"got {type(cap).__name__} {cap!r}"
                )
        assert isinstance(max_monthly, Money) and isinstance(max_first_bill, Money)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
            raise ConfigurationError(f"quantity must be a whole number from 1 to {MAX_QUANTITY}, got {quantity!r}")
        assert budget is None or isinstance(budget, Money)
        assert spend_limit is None or isinstance(spend_limit, Money)
        currency = max_monthly.currency
        others = {m.currency for m in (max_first_bill, budget, spend_limit) if isinstance(m, Money)} - {currency}
        if others:
            raise ConfigurationError(
                "the caps, the budget and the spend limit must be in one currency; "
                f"got {currency} and {', '.join(sorted(others))}"
            )
        confirm_delay = check_seconds("confirm_delay", confirm_delay, allow_zero=True)
        confirm_window = check_seconds("confirm_window", confirm_window, allow_zero=True, maximum=_DAY)
        purchase_timeout = check_seconds("purchase_timeout", purchase_timeout)
        run_timeout = check_seconds("run_timeout", run_timeout, maximum=_DAY)
        return cls(
            quantity=quantity,
            currency=currency,
            max_monthly=max_monthly,
            max_first_bill=max_first_bill,
            budget=budget,
            allow_assumed_currency=allow_assumed_currency,
            confirm_delay=confirm_delay,
            confirm_window=confirm_window,
            purchase_timeout=purchase_timeout,
            run_timeout=run_timeout,
            spend_limit=spend_limit,
            spend_window=parse_duration(spend_window),
        )
