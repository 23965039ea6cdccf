"""Exact money: the converters from each wire representation, Money's validation and JSON form."""

from __future__ import annotations

import json
from decimal import Decimal

import pycountry
import pytest

from numbroker import Money
from numbroker._iso4217 import ISO_4217_CODES
from numbroker.adapters import (
    FieldError,
    decimal_from_json_number,
    decimal_from_scaled_int,
    decimal_from_string,
    money_from_json_number,
    money_from_scaled_int,
    money_from_string,
)
from numbroker.adapters._json import loads


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (0, Decimal("0")),
        (1, Decimal("1")),
        (0.1, Decimal("0.1")),
        (1.0, Decimal("1.0")),
        (2.75, Decimal("2.75")),
        (0.07, Decimal("0.07")),
        (300, Decimal("300")),
        (1e-05, Decimal("0.00001")),
        (Decimal("0.1"), Decimal("0.1")),
        (999999999999, Decimal("999999999999")),
    ],
    ids=repr,
)
def test_json_number_converts_exactly(wire: object, expected: Decimal) -> None:
    """Ints and floats become the Decimal their shortest repr denotes, never a binary expansion."""
    result = decimal_from_json_number(wire)

    assert expected == result
    assert str(expected) == str(result)


def test_float_point_one_is_not_binary_noise() -> None:
    """0.1 becomes Decimal('0.1'), not 0.1000000000000000055511151231257827…"""
    assert "0.1" == str(decimal_from_json_number(0.1))


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (True, "expected a JSON number"),
        ("1.00", "expected a JSON number"),
        (None, "expected a JSON number"),
        (float("nan"), "not a finite number"),
        (float("inf"), "not a finite number"),
        (Decimal("NaN"), "not a finite number"),
        (-1, "negative amount"),
        (-0.5, "negative amount"),
        ([1], "expected a JSON number"),
    ],
    ids=repr,
)
def test_json_number_refuses_garbage(wire: object, reason: str) -> None:
    """Bools, strings, None, NaN, infinities and negatives are refused with a reason and the field name."""
    with pytest.raises(FieldError) as info:
        decimal_from_json_number(wire, field="monthly_fee")

    assert reason in info.value.reason
    assert "monthly_fee" == info.value.field


@pytest.mark.parametrize(
    ("wire", "expected"),
    [("1.00", "1.00"), ("0.0050", "0.0050"), ("12", "12"), (" 3.5 ", "3.5"), ("0", "0"), (".5", "0.5"), ("0.5", "0.5")],
)
def test_decimal_string_keeps_its_digits(wire: str, expected: str) -> None:
    """Decimal strings are parsed as written: trailing zeros and sub-cent digits are kept, nothing is rounded."""
    assert Decimal(expected) == decimal_from_string(wire)
    assert expected == str(decimal_from_string(wire))


@pytest.mark.parametrize("wire", ["abc", "", "1,00", "1e5", "NaN", "Infinity", "$1", "-1.00", "1.2.3", 1.5, None])
def test_decimal_string_refuses_garbage(wire: object) -> None:
    """Anything but a plain non-negative decimal string is refused."""
    with pytest.raises(FieldError):
        decimal_from_string(wire)


@pytest.mark.parametrize(
    ("amount", "exponent", "expected"),
    [
        (3500000, -6, Decimal("3.5")),
        (350, -2, Decimal("3.50")),
        (1, 0, Decimal("1")),
        (5, 2, Decimal("500")),
        ("3500000", -6, Decimal("3.5")),
        (0, -6, Decimal("0")),
        (1, -12, Decimal("1E-12")),
        (1000000, -18, Decimal("1E-12")),
        (999999999999, 0, Decimal("999999999999")),
    ],
)
def test_scaled_int_multiplies_by_power_of_ten(amount: object, exponent: int, expected: Decimal) -> None:
    """Bird's value = amount × 10^exponent; the negative exponent shrinks the amount (3500000, -6 → 3.5)."""
    assert expected == decimal_from_scaled_int(amount, exponent)


def test_scaled_int_is_not_division_by_the_exponent() -> None:
    """The trap: amount / 10^exponent would give 3.5 × 10^12 for Bird's example."""
    assert Decimal("3500000") / Decimal(10) ** -6 != decimal_from_scaled_int(3500000, -6)


@pytest.mark.parametrize(
    ("amount", "exponent"),
    [(1.5, -2), (True, 0), (1, 1.5), (1, True), (1, 31), (1, -31), (-100, -2), ("12a", -2), (None, -2), (1, None)],
)
def test_scaled_int_refuses_garbage(amount: object, exponent: object) -> None:
    """Floats, bools, out-of-range exponents, negatives and non-digits are refused."""
    with pytest.raises(FieldError):
        decimal_from_scaled_int(amount, exponent)


def test_money_builders_validate_currency() -> None:
    """Each builder upper-cases and checks the ISO 4217 code."""
    assert Money(amount=Decimal("1"), currency="INR") == money_from_json_number(1, "inr")
    assert Money(amount=Decimal("1.00"), currency="USD") == money_from_string("1.00", "USD")
    assert Money(amount=Decimal("3.5"), currency="EUR") == money_from_scaled_int(3500000, -6, "EUR")
    for bad in ("XYZ", "EURO", "", None, 978):
        with pytest.raises(FieldError):
            money_from_string("1.00", bad)


def test_money_json_form_has_amount_as_string() -> None:
    """Money serializes as {"amount": "1.50", "currency": "EUR"} and round-trips exactly."""
    money = Money(amount=Decimal("1.50"), currency="EUR")

    dumped = money.model_dump_json()

    assert {"amount": "1.50", "currency": "EUR"} == json.loads(dumped)
    assert money == Money.model_validate_json(dumped)


def test_money_json_never_uses_exponent_notation() -> None:
    """Tiny and huge amounts are written in plain notation."""
    assert "0.000001" == Money(amount=decimal_from_scaled_int(1, -6), currency="EUR").model_dump()["amount"]
    assert "500" == Money(amount=decimal_from_scaled_int(5, 2), currency="EUR").model_dump()["amount"]


@pytest.mark.parametrize("amount", [Decimal("NaN"), Decimal("Infinity"), Decimal("-1"), "-0.01", "abc", True])
def test_money_rejects_nan_infinity_negative(amount: object) -> None:
    """A Money can never hold NaN, an infinity, a negative amount or garbage."""
    with pytest.raises(ValueError):
        Money(amount=amount, currency="USD")  # type: ignore[arg-type]


def test_money_float_input_goes_through_repr() -> None:
    """Even a float handed to Money directly becomes its shortest-repr Decimal."""
    assert Decimal("0.1") == Money(amount=0.1, currency="USD").amount  # type: ignore[arg-type]


def test_money_is_frozen() -> None:
    """Money is immutable."""
    money = Money(amount=Decimal("1"), currency="USD")
    with pytest.raises(ValueError):
        money.amount = Decimal("2")  # type: ignore[misc]


def test_wire_json_parses_numbers_as_decimal() -> None:
    """Vendor bodies are parsed with Decimal numbers, so a float never exists, even transiently."""
    body = loads("vobiz", b'{"setup_fee": 0.1, "monthly_fee": 1, "x": NaN}')

    assert Decimal("0.1") == body["setup_fee"]
    assert isinstance(body["setup_fee"], Decimal)
    assert 1 == body["monthly_fee"]
    with pytest.raises(FieldError):
        decimal_from_json_number(body["x"])


def test_iso4217_table_matches_pycountry() -> None:
    """The built-in ISO 4217 table equals pycountry's maintained data (regenerate numbroker/_iso4217.py if not)."""
    maintained = {c.alpha_3 for c in pycountry.currencies}

    assert maintained == set(ISO_4217_CODES), (
        "ISO 4217 data changed: regenerate numbroker/_iso4217.py from pycountry; "
        f"added={sorted(maintained - ISO_4217_CODES)} removed={sorted(ISO_4217_CODES - maintained)}"
    )


def test_converter_money_is_indistinguishable_from_validated_money() -> None:
    """The converters' fast-built Money equals, hashes, prints, dumps and pickles like a validated one."""
    import pickle

    fast = money_from_string("1.50", "EUR")
    validated = Money(amount=Decimal("1.50"), currency="EUR")

    assert validated == fast
    assert hash(validated) == hash(fast)
    assert repr(validated) == repr(fast)
    assert validated.model_dump_json() == fast.model_dump_json()
    assert validated == pickle.loads(pickle.dumps(fast))
    assert validated.model_fields_set == fast.model_fields_set
    assert Money.model_validate(fast.model_dump()) == fast
