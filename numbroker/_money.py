"""Exact money: the :class:`Money` value and the converters from each wire representation.

A float never touches a price. JSON numbers that arrive as floats are converted through their
shortest ``repr`` (``0.1`` becomes ``Decimal("0.1")``), decimal strings are parsed as written, and
integer-with-exponent prices (``3500000, -6``) are scaled exactly with :meth:`Decimal.scaleb`.
Amounts are never rounded: sub-cent prices exist.

**Bounds.** A price read from a vendor has at most :data:`MAX_INTEGER_DIGITS` digits before the decimal
point (it is below 10^12) and at most :data:`MAX_FRACTION_DIGITS` significant digits after it (zeros past
the twelfth place are dropped, the value unchanged); a decimal string is at most :data:`MAX_TEXT_LENGTH`
characters, an integer-with-exponent amount at most :data:`MAX_AMOUNT_DIGITS` digits and its exponent
within ±:data:`MAX_EXPONENT`. Anything else is a :class:`FieldError` naming the field and the limit, so
no arithmetic on a vendor's price (totals, conversions, sort keys) can overflow or grow without bound.
A JSON number whose text is too long or whose written exponent is out of range never becomes a
Decimal at all: :func:`numbroker.adapters._json.loads` reads it as an :class:`OutOfRangeNumber`, which every
converter rejects the same way.
"""

from __future__ import annotations

import functools
import re
from decimal import ROUND_DOWN, Context, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_serializer, field_validator

from numbroker._exceptions import FieldError
from numbroker._iso4217 import ISO_4217_CODES

__all__ = [
    "MAX_EXPONENT",
    "MAX_FRACTION_DIGITS",
    "MAX_INTEGER_DIGITS",
    "MAX_JSON_EXPONENT",
    "MAX_JSON_NUMBER_LENGTH",
    "FieldError",
    "Money",
    "OutOfRangeNumber",
    "check_price",
    "decimal_from_json_number",
    "decimal_from_scaled_int",
    "decimal_from_string",
    "money_from_json_number",
    "money_from_scaled_int",
    "money_from_string",
    "validate_currency",
]

MAX_EXPONENT = 30
"""Largest power-of-ten exponent (either sign) of an integer-with-exponent price; anything beyond is garbage."""

MAX_INTEGER_DIGITS = 12
"""Digits a vendor's price may have before the decimal point: every price is below 10^12."""

MAX_FRACTION_DIGITS = 12
"""Significant digits a vendor's price may have after the decimal point (zeros past them are dropped)."""

MAX_TEXT_LENGTH = 64
"""Characters a price written as a decimal string may have."""

MAX_AMOUNT_DIGITS = 30
"""Digits the integer amount of an integer-with-exponent price may have."""

MONEY_MAX_DIGITS = 40
"""A :class:`Money` amount is below 10^40 (a converted price can exceed a vendor's 10^12)."""

MONEY_MAX_PLACES = 80
"""Decimal places a :class:`Money` amount may have (a conversion's quotient has up to 34 significant digits)."""

_MONEY_TEXT_LENGTH = MONEY_MAX_DIGITS + MONEY_MAX_PLACES + 8

MAX_JSON_NUMBER_LENGTH = 100
"""Characters a JSON number may have to be read as a number (see :class:`OutOfRangeNumber`)."""

MAX_JSON_EXPONENT = 100
"""Largest written exponent (either sign) of a JSON number read as a number (``1e101`` is not)."""

_JSON_LIMITS = f"{MAX_JSON_NUMBER_LENGTH} characters and a written exponent within ±{MAX_JSON_EXPONENT}"
_LIMITS = f"at most {MAX_INTEGER_DIGITS} digits before the decimal point and {MAX_FRACTION_DIGITS} after it"
_SCALE = Decimal(1).scaleb(-MAX_FRACTION_DIGITS)
_ZERO = Decimal(0).quantize(_SCALE)
_WIRE = Context(prec=MAX_AMOUNT_DIGITS + 2 * MAX_EXPONENT, Emax=999_999, Emin=-999_999)
"""Scaling and dropping zeros: wide enough that bounded wire values are never rounded."""

_DECIMAL_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")


class OutOfRangeNumber:
    """A JSON number too long, or with a written exponent too large, to be read as a number at all.

    :func:`numbroker.adapters._json.loads` puts one where such a number stood, so no Decimal is ever built from
    it; every money converter rejects it with a reason naming the limit. ``text`` is the start of what
    the vendor wrote (at most 40 characters).
    """

    __slots__ = ("length", "text")

    def __init__(self, text: str) -> None:
        self.text = text[:40]
        self.length = len(text)

    def __repr__(self) -> str:
        more = "…" if self.length > len(self.text) else ""
        return f"{self.text}{more}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OutOfRangeNumber) and (self.text, self.length) == (other.text, other.length)

    def __hash__(self) -> int:
        return hash((self.text, self.length))


def _out_of_range(value: OutOfRangeNumber, field: str | None) -> FieldError:
    return FieldError(
        f"number out of range: a JSON number is read with at most {_JSON_LIMITS} (got {value.length} characters)",
        field=field,
        value=value,
    )


def _finite_non_negative(value: Decimal, raw: object, field: str | None) -> Decimal:
    if not value.is_finite():
        raise FieldError(f"not a finite number: {raw!r}", field=field, value=raw)
    if value < 0:
        raise FieldError(f"negative amount: {raw!r}", field=field, value=raw)
    return value


def check_price(value: Decimal, raw: object = None, *, field: str | None = None) -> Decimal:
    """``value`` if it is a finite, non-negative price within the bounds (see the module docstring).

    Zeros past the :data:`MAX_FRACTION_DIGITS`-th place are dropped (the value is unchanged). Costs the
    same whatever the exponent: ``1E-999999999`` is refused without building its digits.

    Raises:
        FieldError: not finite, negative, too large or too precise (naming ``field`` and the limit).
    """
    raw = value if raw is None else raw
    _finite_non_negative(value, raw, field)
    if not value:
        exponent = value.as_tuple().exponent
        return value if isinstance(exponent, int) and exponent >= -MAX_FRACTION_DIGITS else _ZERO
    if value.adjusted() >= MAX_INTEGER_DIGITS:
        raise FieldError(
            f"price out of range: {_LIMITS} (below 10^{MAX_INTEGER_DIGITS})", field=field, value=_short(raw)
        )
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_FRACTION_DIGITS:
        kept = (
            value.quantize(_SCALE, rounding=ROUND_DOWN, context=_WIRE)
            if value.adjusted() >= -MAX_FRACTION_DIGITS
            else None
        )
        if kept is None or kept != value:
            raise FieldError(f"price too precise: {_LIMITS}", field=field, value=_short(raw))
        return kept
    return value


def _short(raw: object) -> object:
    """A wire value as a rejection shows it: a long one cut (no million-digit repr is ever built)."""
    if isinstance(raw, Decimal):
        digits, exponent = raw.as_tuple().digits, raw.as_tuple().exponent
        if len(digits) > 40 or (isinstance(exponent, int) and abs(exponent) > 40):
            return f"{'-' if raw.is_signed() else ''}{''.join(map(str, digits[:20]))}…E{exponent}"
    if isinstance(raw, str) and len(raw) > 60:
        return raw[:60] + "…"
    return raw


def decimal_from_json_number(value: object, *, field: str | None = None) -> Decimal:
    """Convert a JSON number (Python ``int`` or ``float``) to an exact, non-negative Decimal.

    A float goes through its shortest repr, so ``0.1`` gives ``Decimal("0.1")``.
    ``bool`` (JSON ``true``/``false``), strings, ``None``, NaN, infinities and negatives are refused.
    """
    if type(value) is Decimal:  # what numbroker's JSON reader gives: checked as it is (a Decimal is immutable)
        return check_price(value, value, field=field)
    return _json_number(value, field)


def _json_number(value: object, field: str | None) -> Decimal:
    """:func:`decimal_from_json_number` for any value, without its shortcut for a plain Decimal."""
    if isinstance(value, OutOfRangeNumber):
        raise _out_of_range(value, field)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise FieldError(
            f"expected a JSON number, got {type(value).__name__}: {_short(value)!r}", field=field, value=_short(value)
        )
    if isinstance(value, int) and not -(10**MAX_INTEGER_DIGITS) < value < 10**MAX_INTEGER_DIGITS:
        if value < 0:
            raise FieldError("negative amount", field=field, value=_short(str(value)))
        raise FieldError(
            f"price out of range: {_LIMITS} (below 10^{MAX_INTEGER_DIGITS})", field=field, value=_short(str(value))
        )
    result = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return check_price(result, value, field=field)


def decimal_from_string(value: object, *, field: str | None = None) -> Decimal:
    """Convert a decimal string such as ``"1.00"`` or ``"0.0050"`` to a Decimal, keeping its digits.

    Only plain decimal notation with ASCII digits is accepted (no exponents, thousands separators or
    currency signs), at most :data:`MAX_TEXT_LENGTH` characters.
    """
    return check_price(_decimal_text(value, field, MAX_TEXT_LENGTH), value, field=field)


def _decimal_text(value: object, field: str | None, limit: int) -> Decimal:
    """The Decimal a plain ASCII decimal string of at most ``limit`` characters writes (no bounds on its value)."""
    if isinstance(value, OutOfRangeNumber):
        raise _out_of_range(value, field)
    if not isinstance(value, str):
        raise FieldError(
            f"expected a decimal string, got {type(value).__name__}: {_short(value)!r}",
            field=field,
            value=_short(value),
        )
    text = value.strip()
    if len(text) > limit:
        raise FieldError(
            f"decimal string too long: at most {limit} characters (got {len(text)})", field=field, value=_short(value)
        )
    if not _DECIMAL_TEXT.fullmatch(text):
        raise FieldError(f"not a decimal string: {value!r}", field=field, value=value)
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid decimals
        raise FieldError(f"not a decimal string: {value!r}", field=field, value=value) from exc


def decimal_from_scaled_int(
    amount: object, exponent: object, *, field: str | None = None, exponent_field: str | None = None
) -> Decimal:
    """Compute ``amount × 10^exponent`` exactly (``3500000, -6`` gives ``3.500000``).

    ``amount`` may be an int or a string of ASCII digits (at most :data:`MAX_AMOUNT_DIGITS` digits);
    ``exponent`` an int within ±:data:`MAX_EXPONENT`; the result must be a price within the bounds.
    Errors name ``field`` (the amount) or ``exponent_field`` (default: ``field``) and the limit.
    """
    if type(amount) is int and type(exponent) is int and abs(exponent) <= MAX_EXPONENT and abs(amount) < _AMOUNT_LIMIT:
        # the usual wire form (two JSON integers within the bounds): what the checks below accept, unchanged
        return check_price(Decimal(amount).scaleb(exponent, context=_WIRE), amount, field=field)
    return _scaled_int(amount, exponent, field, exponent_field)


def _scaled_int(amount: object, exponent: object, field: str | None, exponent_field: str | None) -> Decimal:
    """:func:`decimal_from_scaled_int` for any values, every check made in turn (no shortcut for plain ints)."""
    exp_field = exponent_field or field
    for value, name in ((amount, field), (exponent, exp_field)):
        if isinstance(value, OutOfRangeNumber):
            raise _out_of_range(value, name)
    whole = _integer_amount(amount, field)
    power = _exponent(exponent, exp_field)
    return check_price(_amount_digits(whole, field).scaleb(power, context=_WIRE), amount, field=field)


_AMOUNT_LIMIT = 10**MAX_AMOUNT_DIGITS


def _integer_amount(amount: object, field: str | None) -> int | str:
    """``amount`` if it is an int (bool is not) or a string of ASCII digits with an optional sign."""
    if isinstance(amount, bool) or not isinstance(amount, int | str):
        raise FieldError(
            f"expected an integer amount, got {type(amount).__name__}: {_short(amount)!r}",
            field=field,
            value=_short(amount),
        )
    if isinstance(amount, str) and not (len(amount) <= MAX_TEXT_LENGTH and _INTEGER_TEXT.fullmatch(amount.strip())):
        raise FieldError(f"expected an integer amount, got {_short(amount)!r}", field=field, value=_short(amount))
    return amount


def _exponent(exponent: object, field: str | None) -> int:
    """An int exponent within ±:data:`MAX_EXPONENT` (bool is not an int here)."""
    if isinstance(exponent, bool) or not isinstance(exponent, int):
        raise FieldError(f"expected an integer exponent, got {_short(exponent)!r}", field=field, value=_short(exponent))
    if abs(exponent) > MAX_EXPONENT:
        shown = exponent if abs(exponent) < 10**20 else _short(str(exponent))
        raise FieldError(f"exponent out of range: at most ±{MAX_EXPONENT}, got {shown}", field=field, value=shown)
    return exponent


def _amount_digits(amount: int | str, field: str | None) -> Decimal:
    """The integer amount as a Decimal, at most :data:`MAX_AMOUNT_DIGITS` digits (leading zeros aside)."""
    if isinstance(amount, int):
        if abs(amount) >= _AMOUNT_LIMIT:
            raise FieldError(
                f"amount out of range: at most {MAX_AMOUNT_DIGITS} digits", field=field, value=_short(str(amount))
            )
        return Decimal(amount)
    text = amount.strip()
    if len(text.lstrip("+-").lstrip("0")) > MAX_AMOUNT_DIGITS:
        raise FieldError(f"amount out of range: at most {MAX_AMOUNT_DIGITS} digits", field=field, value=_short(amount))
    return Decimal(text)


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
    """Route any float through its repr and refuse bools before pydantic sees them.

    Money's own bounds (not the tighter wire bounds of a vendor's price) apply: a converted amount's JSON
    form (34 significant digits) reads back.
    """
    if isinstance(value, bool):
        raise FieldError(f"expected a number, got {value!r}", field="amount", value=value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        return _decimal_text(value, "amount", _MONEY_TEXT_LENGTH)
    return value


class Money(BaseModel):
    """An exact amount in an ISO 4217 currency.

    ``amount`` is a non-negative, finite :class:`~decimal.Decimal` that is never rounded, below
    10^:data:`MONEY_MAX_DIGITS` with at most :data:`MONEY_MAX_PLACES` decimal places: wide enough for
    every converted price, narrow enough that writing one out (``1E-999999999`` as fixed-point) can never
    take gigabytes. Vendor prices are held to the tighter wire bounds above.
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
        _finite_non_negative(value, value, "amount")
        exponent = value.as_tuple().exponent
        if (value and value.adjusted() >= MONEY_MAX_DIGITS) or (
            isinstance(exponent, int) and exponent < -MONEY_MAX_PLACES
        ):
            raise FieldError(
                f"amount out of range: Money holds amounts below 10^{MONEY_MAX_DIGITS} "
                f"with at most {MONEY_MAX_PLACES} decimal places",
                field="amount",
                value=_short(value),
            )
        return value

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
    """Build :class:`Money` from a JSON number (int or float) and a currency code.

    As with :func:`money_from_string`, valid conversions of the Decimals numbroker's JSON reader gives are
    memoized (bounded), keyed by the number as written (``1.0`` and ``1.00`` are different keys: a price
    keeps its places); invalid ones are re-checked and raise.
    """
    if type(value) is Decimal and type(currency) is str:
        try:
            return _money_json(str(value), currency)
        except FieldError:
            pass  # re-raised below with the caller's field name
    amount = decimal_from_json_number(value, field=field)
    return _checked_money(amount, validate_currency(currency, field="currency"))


@functools.lru_cache(maxsize=4096)
def _money_json(value: str, currency: str) -> Money:
    return _checked_money(check_price(Decimal(value)), validate_currency(currency, field="currency"))


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
