"""The terms of a buy-cheapest run (:class:`BuyTerms`): how many numbers, the caps, the budget and the spend limit."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from numbroker._exceptions import ConfigurationError, PurchaseError
from numbroker._inputs import MAX_SECONDS, check_seconds
from numbroker._money import Money
from numbroker._pricing import money_json

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

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str | timedelta) -> timedelta:
    """A duration such as ``90s``, ``30m``, ``24h`` or ``7d`` (a :class:`timedelta` is returned as is).

    Raises:
        ConfigurationError: not such a duration, or not positive.
    """
    if isinstance(text, timedelta):
        value = text
    else:
        match = _DURATION.fullmatch(text)
        if match is None:
            raise ConfigurationError(
                f"a duration is a number and a unit (s, m, h or d), like 30m, 24h or 7d; got {text!r}"
            )
        value = timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    if value <= timedelta(0):
        raise ConfigurationError(f"a duration must be positive, got {text!r}")
    return value


_DAY = 86400.0
"""The longest confirm window or run bound accepted, in seconds."""

_SECONDS = (
    ("confirm_delay", True, MAX_SECONDS),
    ("confirm_window", True, _DAY),
    ("purchase_timeout", False, MAX_SECONDS),
    ("run_timeout", False, _DAY),
)
"""Each number of seconds of the terms: whether 0 is allowed, and the most accepted."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BuyTerms:
    """What one buy-cheapest run may buy: how many numbers, the caps, the budget, the spend limit and its waits.

    Built with keyword arguments and checked once, when built: a ``BuyTerms`` that exists is usable, and
    :func:`~numbroker.buy_cheapest` and :func:`~numbroker.buy_cheapest_sync` take it as it is. Every
    price of the run is compared in :attr:`currency`, the caps' currency. Its JSON form
    (:meth:`to_json_dict`, read back by :meth:`from_json_dict`) keeps every amount as exact decimal text.

    Example:
        >>> terms = BuyTerms(
        ...     max_monthly=Money(amount="2", currency="USD"),
        ...     max_first_bill=Money(amount="3", currency="USD"),
        ...     quantity=2,
        ...     budget=Money(amount="5", currency="USD"),
        ... )
        >>> terms.currency
        'USD'

    Attributes:
        max_monthly: the hard cap on the monthly price; its currency is the run's currency.
        max_first_bill: the hard cap on setup + first month, in the same currency.
        quantity: how many numbers the intent buys (what earlier runs of it bought counts).
        budget: a cap on the sum of the first bills of everything the intent bought, if any.
        allow_assumed_currency: offers whose vendor stated no currency (it was assumed) may be bought too.
        confirm_delay: seconds to wait after an ambiguous answer before reading the owned numbers.
        confirm_window: seconds after an ambiguous answer during which "not owned" proves nothing (an
            owned list may lag): the attempt stays unresolved and counts as spent.
        purchase_timeout: the total deadline in seconds of each purchase request (the whole response)
            and of each ownership check; a purchase that misses it is ambiguous.
        run_timeout: the bound in seconds on the buying phase: the wait for purchaser locks, recovery,
            and starting attempts (an attempt under way finishes within its own deadlines).
        spend_limit: a cap on the first bills bought, plus unresolved attempts at their price, on one
            account within ``spend_window``, across every run sharing the ledger, if any.
        spend_window: the window of the spend limit (text such as ``30m``, ``24h`` or ``7d`` is read as one).

    Raises:
        PurchaseError: a cap is missing (None).
        ConfigurationError: a cap, the budget or the spend limit that is not Money, an invalid quantity,
            delay, timeout or duration (each a finite number of seconds in its range: NaN or infinity is
            refused), or amounts in more than one currency.
    """

    max_monthly: Money
    max_first_bill: Money
    quantity: int = 1
    budget: Money | None = None
    allow_assumed_currency: bool = False
    confirm_delay: float = DEFAULT_CONFIRM_DELAY
    confirm_window: float = DEFAULT_CONFIRM_WINDOW
    purchase_timeout: float = DEFAULT_PURCHASE_TIMEOUT
    run_timeout: float = DEFAULT_RUN_TIMEOUT
    spend_limit: Money | None = None
    spend_window: timedelta = DEFAULT_SPEND_WINDOW

    def __post_init__(self) -> None:
        self._check_amounts()
        quantity: object = self.quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ConfigurationError(f"quantity must be a whole number of at least 1, got {quantity!r}")
        amounts = (self.max_first_bill, self.budget, self.spend_limit)
        others = {m.currency for m in amounts if m is not None} - {self.currency}
        if others:
            raise ConfigurationError(
                "the caps, the budget and the spend limit must be in one currency; "
                f"got {self.currency} and {', '.join(sorted(others))}"
            )
        for name, allow_zero, maximum in _SECONDS:
            seconds = check_seconds(name, getattr(self, name), allow_zero=allow_zero, maximum=maximum)
            object.__setattr__(self, name, seconds)
        object.__setattr__(self, "spend_window", parse_duration(self.spend_window))

    def _check_amounts(self) -> None:
        """Both caps given, and every amount Money."""
        caps: dict[str, object] = {"max_monthly": self.max_monthly, "max_first_bill": self.max_first_bill}
        missing = [name for name, cap in caps.items() if cap is None]
        if missing:
            raise PurchaseError(f"buying needs both caps: max_monthly and max_first_bill (Money); {missing[0]} is None")
        for name, amount in {**caps, "budget": self.budget, "spend_limit": self.spend_limit}.items():
            if amount is not None and not isinstance(amount, Money):
                raise ConfigurationError(
                    f"{name} must be Money, e.g. Money(amount=Decimal('2'), currency='USD'); "
                    f"got {type(amount).__name__} {amount!r}"
                )

    @property
    def currency(self) -> str:
        """The run's currency: the caps', the budget's and the spend limit's."""
        return self.max_monthly.currency

    def to_json_dict(self) -> dict[str, Any]:
        """The terms as JSON-ready data: amounts as exact decimal text, durations in seconds."""
        return {
            "max_monthly": money_json(self.max_monthly),
            "max_first_bill": money_json(self.max_first_bill),
            "quantity": self.quantity,
            "budget": money_json(self.budget),
            "allow_assumed_currency": self.allow_assumed_currency,
            "confirm_delay": self.confirm_delay,
            "confirm_window": self.confirm_window,
            "purchase_timeout": self.purchase_timeout,
            "run_timeout": self.run_timeout,
            "spend_limit": money_json(self.spend_limit),
            "spend_window": self.spend_window.total_seconds(),
        }

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> BuyTerms:
        """The terms :meth:`to_json_dict` wrote, checked again.

        Raises:
            PurchaseError, ConfigurationError: as when built (see the class); KeyError: a field is missing.
        """
        return cls(
            max_monthly=Money.model_validate(data["max_monthly"]),
            max_first_bill=Money.model_validate(data["max_first_bill"]),
            quantity=data["quantity"],
            budget=_money(data["budget"]),
            allow_assumed_currency=data["allow_assumed_currency"],
            confirm_delay=data["confirm_delay"],
            confirm_window=data["confirm_window"],
            purchase_timeout=data["purchase_timeout"],
            run_timeout=data["run_timeout"],
            spend_limit=_money(data["spend_limit"]),
            spend_window=timedelta(seconds=data["spend_window"]),
        )


def _money(data: object) -> Money | None:
    return None if data is None else Money.model_validate(data)
