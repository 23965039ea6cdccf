"""Exact money: the :class:`Money` value and the converters from each wire representation.

A float never touches a price. JSON numbers that arrive as floats are converted through their
shortest ``repr`` (``0.1`` becomes ``Decimal("0.1")``), decimal strings are parsed as written, and
integer-with-exponent prices (``3500000, -6``) are scaled exactly with :meth:`Decimal.scaleb`.
Amounts are never rounded: sub-cent prices exist.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_serializer, field_validator

from numbroker._iso4217 import ISO_4217_CODES

__all__ = [
    "FieldError",
    "Money",
    "decimal_from_json_number",
    "decimal_from_scaled_int",
    "decimal_from_string",
    "money_from_json_number",
    "money_from_scaled_int",
    "money_from_string",
    "validate_currency",
]

MAX_EXPONENT = 30
"""Largest power-of-ten exponent (either sign) accepted from a vendor; anything beyond is garbage."""

_DECIMAL_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


class FieldError(ValueError):
    """A wire value that cannot be turned into what the model needs.

    Raised by the converters; adapters let it propagate and the provider base class turns it
    into a :class:`~numbroker.RejectedRecord` naming the field, the value and the reason.
    """

    def __init__(self, reason: str, *, field: str | None = None, value: object = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.value = value


def _finite_non_negative(value: Decimal, raw: object, field: str | None) -> Decimal:
    if not value.is_finite():
        raise FieldError(f"not a finite number: {raw!r}", field=field, value=raw)
    if value < 0:
        raise FieldError(f"negative amount: {raw!r}", field=field, value=raw)
    return value


def decimal_from_json_number(value: object, *, field: str | None = None) -> Decimal:
    """Convert a JSON number (Python ``int`` or ``float``) to an exact, non-negative Decimal.

    A float goes through its shortest repr, so ``0.1`` gives ``Decimal("0.1")``.
    ``bool`` (JSON ``true``/``false``), strings, ``None``, NaN, infinities and negatives are refused.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise FieldError(f"expected a JSON number, got {type(value).__name__}: {value!r}", field=field, value=value)
    result = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return _finite_non_negative(result, value, field)


def decimal_from_string(value: object, *, field: str | None = None) -> Decimal:
    """Convert a decimal string such as ``"1.00"`` or ``"0.0050"`` to a Decimal, keeping its digits.

    Only plain decimal notation is accepted (no exponents, thousands separators or currency signs).
    """
    if not isinstance(value, str):
        raise FieldError(f"expected a decimal string, got {type(value).__name__}: {value!r}", field=field, value=value)
    text = value.strip()
    if not _DECIMAL_TEXT.fullmatch(text):
        raise FieldError(f"not a decimal string: {value!r}", field=field, value=value)
    try:
        result = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid decimals
        raise FieldError(f"not a decimal string: {value!r}", field=field, value=value) from exc
    return _finite_non_negative(result, value, field)


def decimal_from_scaled_int(
    amount: object, exponent: object, *, field: str | None = None, exponent_field: str | None = None
) -> Decimal:
    """Compute ``amount × 10^exponent`` exactly (``3500000, -6`` gives ``3.500000``).

    ``amount`` may be an int or a string of digits; ``exponent`` an int within ±``MAX_EXPONENT``.
    Errors name ``field`` (the amount) or ``exponent_field`` (default: ``field``).
    """
    exp_field = exponent_field or field
    if isinstance(amount, bool) or not isinstance(amount, int | str):
        raise FieldError(
            f"expected an integer amount, got {type(amount).__name__}: {amount!r}", field=field, value=amount
        )
    if isinstance(amount, str) and not re.fullmatch(r"[+-]?\d+", amount.strip()):
        raise FieldError(f"expected an integer amount, got {amount!r}", field=field, value=amount)
    if isinstance(exponent, bool) or not isinstance(exponent, int):
        raise FieldError(f"expected an integer exponent, got {exponent!r}", field=exp_field, value=exponent)
    if abs(exponent) > MAX_EXPONENT:
        raise FieldError(f"exponent out of range (±{MAX_EXPONENT}): {exponent}", field=exp_field, value=exponent)
    base = Decimal(amount.strip() if isinstance(amount, str) else amount)
    return _finite_non_negative(base.scaleb(exponent), amount, field)


def validate_currency(code: object, *, field: str | None = None) -> str:
    """Return the upper-cased ISO 4217 alphabetic code, or raise :class:`FieldError`."""
    if isinstance(code, str) and code in ISO_4217_CODES:
        return code
    if not isinstance(code, str):
        raise FieldError(f"expected an ISO 4217 currency code, got {code!r}", field=field, value=code)
    upper = code.strip().upper()
    if upper not in ISO_4217_CODES:
        raise FieldError(f"unknown ISO 4217 currency code: {code!r}", field=field, value=code)
    return upper


def _money_amount(value: Any) -> Any:
    """Route any float through its repr and refuse bools before pydantic sees them."""
    if isinstance(value, float | bool):
        return decimal_from_json_number(value)
    if isinstance(value, str):
        return decimal_from_string(value)
    return value


class Money(BaseModel):
    """An exact amount in an ISO 4217 currency.

    ``amount`` is a non-negative, finite :class:`~decimal.Decimal` that is never rounded.
    The JSON form is ``{"amount": "1.50", "currency": "EUR"}``: the amount is a string so that no
    JSON parser turns it into a float.

    Example:
        >>> Money(amount=Decimal("1.50"), currency="eur")
        Money(amount=Decimal('1.50'), currency='EUR')
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Annotated[Decimal, BeforeValidator(_money_amount)]
    currency: str

    @field_validator("amount")
    @classmethod
    def _check_amount(cls, value: Decimal) -> Decimal:
        return _finite_non_negative(value, value, "amount")

    @field_validator("currency", mode="before")
    @classmethod
    def _check_currency(cls, value: object) -> str:
        return validate_currency(value, field="currency")

    @field_serializer("amount")
    def _amount_as_text(self, value: Decimal) -> str:
        return format(value, "f")

    def __str__(self) -> str:
        return f"{format(self.amount, 'f')} {self.currency}"


def _checked_money(amount: Decimal, currency: str, _new: Any = object.__new__, _set: Any = object.__setattr__) -> Money:
    """A Money from an amount and a code the caller has already validated (the converters' fast path).

    Normalization builds two Money per offer; pydantic's generic ``model_construct`` costs more than the
    checks themselves. This fills the same instance state directly; ``tests/test_money.py`` pins that the
    result is indistinguishable from a validated ``Money`` (equality, hash, JSON, pickling, repr).
    """
    money: Money = _new(Money)
    _set(money, "__dict__", {"amount": amount, "currency": currency})
    _set(money, "__pydantic_fields_set__", {"amount", "currency"})
    _set(money, "__pydantic_extra__", None)
    _set(money, "__pydantic_private__", None)
    return money


def money_from_json_number(value: object, currency: object, *, field: str | None = None) -> Money:
    """Build :class:`Money` from a JSON number (int or float) and a currency code."""
    amount = decimal_from_json_number(value, field=field)
    return _checked_money(amount, validate_currency(currency, field="currency"))


@functools.lru_cache(maxsize=4096)
def _money_text(value: str, currency: str) -> Money:
    return _checked_money(decimal_from_string(value), validate_currency(currency, field="currency"))


def money_from_string(value: object, currency: object, *, field: str | None = None) -> Money:
    """Build :class:`Money` from a decimal string and a currency code.

    Vendors repeat a handful of price strings ("1.00") across thousands of offers, and Money is
    immutable, so valid conversions are memoized (bounded); invalid ones are re-checked and raise.
    """
    if isinstance(value, str) and isinstance(currency, str):
        try:
            return _money_text(value, currency)
        except FieldError:
            pass  # re-raised below with the caller's field name
    amount = decimal_from_string(value, field=field)
    return _checked_money(amount, validate_currency(currency, field="currency"))


def money_from_scaled_int(
    amount: object,
    exponent: object,
    currency: object,
    *,
    field: str | None = None,
    exponent_field: str | None = None,
    currency_field: str = "currency",
) -> Money:
    """Build :class:`Money` from ``amount × 10^exponent`` and a currency code (errors name each field)."""
    value = decimal_from_scaled_int(amount, exponent, field=field, exponent_field=exponent_field)
    return _checked_money(value, validate_currency(currency, field=currency_field))
