"""Money rules in one place: exact arithmetic, what an offer costs, currency conversion, a price's JSON form.

* **One exact context.** :data:`EXACT` (100 significant digits) is wider than any amount numbroker
  accepts or produces, so what runs in it never rounds: what a buyer is charged (first bills, the
  budget spent) is computed in it.
* **Two rounding rules, each named.** A conversion divides by a rate, which rarely terminates: its
  quotient is rounded to :data:`CONVERSION_DIGITS` (34 significant digits, IEEE decimal128), after
  the product ``amount × rate`` is taken to :data:`RANK_DIGITS`. Ranking keys (``rank_price``) and an
  offer's own :attr:`~numbroker.AvailableNumber.first_bill` and ``total_cost`` are taken to
  :data:`RANK_DIGITS` (28, Python's default decimal precision) at each step. No vendor price comes near
  28 digits, so in practice only sums of converted prices are rounded by it. The contexts are fixed
  here, never the thread's current context, so no caller's ``decimal`` settings change a price.
* **What an offer costs.** :func:`total_cost` (setup + N × monthly) and :func:`first_bill` (N = 1)
  in one currency; :func:`total_cost_in` and :func:`first_bill_in` in another. A missing setup price
  means "no setup charge" only for a vendor that states no setup prices at all
  (``setup_stated=False``); from a vendor that states them it is unknown, and so is the bill.
* **Amounts as shown.** Ranking compares converted amounts at the precision above; what is
  shown and serialized of a converted amount (``converted`` prices, a converted ``rank_price``) is
  :func:`shown_converted`: exactly :data:`CONVERTED_PLACES` (6) decimal places, rounded half-even, so
  ``1.018518518518518518518518518518519`` reads ``1.018519`` and ``0.46`` reads ``0.460000``. That
  rounding happens after the ranking, so it never changes an order. A sum numbroker computes in an
  offer's own currency (a first bill, a total) is :func:`shown_sum`: its value with the places it needs
  and at least two. Vendor prices, caps, first bills and budgets are never rounded.
* **A price's JSON form** is :func:`money_json`: ``{"amount": "1.50", "currency": "EUR"}`` or null.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Context, Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from numbroker._exceptions import ConfigurationError, FieldError, validation_summary
from numbroker._inputs import read_input_file
from numbroker._money import Money, decimal_from_json_number, decimal_from_string, validate_currency

__all__ = [
    "CONVERSION_DIGITS",
    "CONVERTED_PLACES",
    "EXACT",
    "RANK_DIGITS",
    "RANKING",
    "ExchangeRates",
    "committed_months",
    "convert",
    "first_bill",
    "first_bill_in",
    "money_json",
    "shown_converted",
    "shown_sum",
    "total_cost",
    "total_cost_in",
]

EXACT = Context(prec=100)
"""The exact context: 100 significant digits, so sums and products of prices computed in it never round."""

CONVERSION_DIGITS = 34
"""Significant digits a converted amount is rounded to (IEEE decimal128)."""

RANK_DIGITS = 28
"""Significant digits of ranking keys, of an offer's own totals and of the product inside a conversion."""

RANKING = Context(prec=RANK_DIGITS)
"""The context of ranking keys and of :attr:`AvailableNumber.first_bill <numbroker.AvailableNumber.first_bill>`."""

_QUOTIENT = Context(prec=CONVERSION_DIGITS)

CONVERTED_PLACES = 6
"""Decimal places a converted amount is shown and serialized with (rounded half-even when it has more)."""

_CONVERTED_QUANTUM = Decimal(1).scaleb(-CONVERTED_PLACES)

_SUM_PLACES = 2
_SUM_QUANTUM = Decimal(1).scaleb(-_SUM_PLACES)

_RATES_EXAMPLE = '{"base": "EUR", "rates": {"USD": "1.08"}}'


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are each written once (a rate written twice is ambiguous: refused)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        raise ValueError(f"{twice!r} is written more than once: ambiguous")
    return out


class ExchangeRates(BaseModel):
    """User-supplied exchange rates: 1 unit of ``base`` = ``rates[X]`` units of X.

    The JSON file form is ``{"base": "EUR", "rates": {"USD": "1.08", "INR": "90.2"}}``; rates may be
    strings or JSON numbers, and are kept as exact Decimals.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)  # validators built on first use

    base: str
    rates: dict[str, Decimal]

    @field_validator("base", mode="before")
    @classmethod
    def _check_base(cls, value: object) -> str:
        return validate_currency(value, field="base")

    @field_validator("rates", mode="before")
    @classmethod
    def _check_rates(cls, value: object) -> dict[str, Decimal]:
        if not isinstance(value, Mapping):
            raise ValueError("rates must be an object of currency code → rate")
        out: dict[str, Decimal] = {}
        for code, rate in value.items():
            currency = validate_currency(code, field=f"rates.{code}")
            amount = decimal_from_string(rate) if isinstance(rate, str) else decimal_from_json_number(rate)
            if amount == 0:
                raise FieldError(f"rate for {currency} must be positive", field=f"rates.{code}", value=rate)
            out[currency] = amount
        return out

    @model_validator(mode="after")
    def _check_base_rate(self) -> ExchangeRates:
        # The base is 1 of itself by definition: a file that also states another rate for it contradicts itself.
        stated = self.rates.get(self.base)
        if stated is not None and stated != 1:
            raise ValueError(
                f"rates.{self.base}: the base {self.base} is 1 {self.base} by definition, "
                f"but the file also states {stated}; drop it or make it 1"
            )
        return self

    @classmethod
    def from_file(cls, path: str | Path) -> ExchangeRates:
        """Load a rates file; raise :class:`ConfigurationError` saying what is wrong with it."""
        text = read_input_file(path, name="exchange rates file")
        try:
            data = json.loads(text, parse_float=Decimal, object_pairs_hook=_unique_keys)
            if not isinstance(data, dict):
                raise ValueError(f"expected an object like {_RATES_EXAMPLE}, got a JSON {type(data).__name__}")
            missing = [key for key in ("base", "rates") if key not in data]
            if missing:
                raise ValueError(f"{' and '.join(map(repr, missing))} missing: write it like {_RATES_EXAMPLE}")
            return cls.model_validate(data)
        except RecursionError:
            raise ConfigurationError(f"invalid exchange rates file {str(path)!r}: nested too deeply") from None
        except ValueError as exc:
            reason = validation_summary(exc)
            raise ConfigurationError(f"invalid exchange rates file {str(path)!r}: {reason}") from None

    def rate(self, currency: str) -> Decimal | None:
        """Units of ``currency`` per 1 unit of the base, or None if unknown."""
        return Decimal(1) if currency == self.base else self.rates.get(currency)

    def convert(self, money: Money, to: str) -> Money | None:
        """Convert ``money`` into currency ``to`` (cross rates go through the base); None when a rate is missing.

        ``amount × rate(to)`` is taken to :data:`RANK_DIGITS`, the quotient by ``rate(from)`` to
        :data:`CONVERSION_DIGITS` significant digits.
        """
        if money.currency == to:
            return money
        source, target = self.rate(money.currency), self.rate(to)
        if source is None or target is None:
            return None
        amount = _QUOTIENT.divide(RANKING.multiply(money.amount, target), source)
        return Money.model_construct(amount=amount, currency=to)


def convert(money: Money, to: str, rates: ExchangeRates | None) -> Money | None:
    """``money`` in currency ``to``: itself when already in it, else converted with ``rates``.

    Returns None when it cannot be converted (no rates, or no rate for one of the two currencies):
    a price is never guessed.
    """
    if money.currency == to:
        return money
    return rates.convert(money, to) if rates is not None else None


def committed_months(months: int, commitment: int | None) -> int:
    """The months a total counts: ``months``, but never fewer than a minimum commitment."""
    return months if commitment is None else max(months, commitment)


def total_cost(
    setup: Money | None, monthly: Money | None, *, months: int, setup_stated: bool, context: Context = EXACT
) -> Money | None:
    """Setup plus ``months`` × monthly in the prices' one currency, computed in ``context``.

    Args:
        setup: the setup price, or None when the offer has none.
        monthly: the monthly price, or None when the offer has none.
        months: how many months of the subscription to count (1 for the first bill).
        setup_stated: whether the vendor states setup prices. When it does not (``False``), a missing
            setup price means buying starts the subscription only; when it does, a missing one is unknown.
        context: :data:`EXACT` (the default: what a buyer is charged) or :data:`RANKING` (ranking keys
            and an offer's own totals).

    Returns:
        The total, or None when monthly is missing, setup is missing and ``setup_stated``, or the two
        prices are in different currencies (they are never added raw).
    """
    if monthly is None:
        return None
    recurring = context.multiply(monthly.amount, months)
    if setup is None:
        if setup_stated:
            return None
        return Money.model_construct(amount=recurring, currency=monthly.currency)
    if setup.currency != monthly.currency:
        return None
    return Money.model_construct(amount=context.add(setup.amount, recurring), currency=monthly.currency)


def first_bill(
    setup: Money | None, monthly: Money | None, *, setup_stated: bool, context: Context = EXACT
) -> Money | None:
    """What buying costs today: setup plus the first month (see :func:`total_cost`)."""
    return total_cost(setup, monthly, months=1, setup_stated=setup_stated, context=context)


def total_cost_in(
    setup: Money | None,
    monthly: Money | None,
    currency: str,
    rates: ExchangeRates | None,
    *,
    months: int,
    setup_stated: bool,
) -> Money | None:
    """:func:`total_cost` expressed in ``currency``, converting with ``rates``, exactly (:data:`EXACT`).

    When setup and monthly share a currency other than ``currency``, their exact total is converted once
    (one rounding rather than one per price); otherwise each price is converted and the results added.

    Returns:
        None when :func:`total_cost` would be, or when a price cannot be converted.
    """
    if monthly is None or (setup is None and setup_stated):
        return None
    if setup is not None and setup.currency == monthly.currency != currency:
        total = total_cost(setup, monthly, months=months, setup_stated=setup_stated)
        return None if total is None else convert(total, currency, rates)
    converted_monthly = convert(monthly, currency, rates)
    converted_setup = None if setup is None else convert(setup, currency, rates)
    if converted_monthly is None or (setup is not None and converted_setup is None):
        return None
    return total_cost(converted_setup, converted_monthly, months=months, setup_stated=setup_stated)


def first_bill_in(
    setup: Money | None, monthly: Money | None, currency: str, rates: ExchangeRates | None, *, setup_stated: bool
) -> Money | None:
    """:func:`first_bill` expressed in ``currency`` (see :func:`total_cost_in`): what a buyer's caps compare."""
    return total_cost_in(setup, monthly, currency, rates, months=1, setup_stated=setup_stated)


def money_json(money: Money | None) -> dict[str, Any] | None:
    """The JSON form of a price: ``{"amount": "1.50", "currency": "EUR"}`` (exact decimal text), or None."""
    if money is None:
        return None
    # What its serializer writes, without a pass through pydantic per price.
    if type(money) is Money and type(money.currency) is str:
        return {"amount": format(money.amount, "f"), "currency": money.currency}
    return money.model_dump(mode="json")


def shown_converted(money: Money | None) -> Money | None:
    """A converted amount as shown and serialized: exactly :data:`CONVERTED_PLACES` places, rounded half-even.

    Every converted amount is written with the same places (``0.460000`` beside ``1.490400``).
    Rankings compare the unrounded amounts; this is applied only to what is written out.
    """
    if money is None:
        return None
    amount = money.amount.quantize(_CONVERTED_QUANTUM, rounding=ROUND_HALF_EVEN, context=EXACT)
    return Money.model_construct(amount=amount, currency=money.currency)


def shown_sum(money: Money | None) -> Money | None:
    """A sum numbroker computed (a first bill, a total) with the places it needs, and at least two.

    Vendors write prices with any places (``0.50000``, ``1.0``); a sum of them keeps the widest, so
    ``0.71000`` or ``83.500`` would be written. The value is unchanged (never rounded): only trailing
    zeros beyond the second place are dropped, and a whole amount gets two (``100.00``).
    """
    if money is None:
        return None
    amount = money.amount.normalize(EXACT)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -_SUM_PLACES:
        amount = amount.quantize(_SUM_QUANTUM, context=EXACT)
    return Money.model_construct(amount=amount, currency=money.currency)
