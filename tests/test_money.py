"""Exact money: the converters from each wire representation, Money's validation and JSON form."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pycountry
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numbroker import Money
from numbroker._iso4217 import ISO_4217_CODES
from numbroker._money import MAX_AMOUNT_DIGITS, MAX_EXPONENT, validate_currency
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


def _converted(convert: Any) -> object:
    """What a conversion gives: the Decimal with its exact digits and exponent, or the refusal's reason and field."""
    try:
        result: Decimal = convert()
    except FieldError as exc:
        return ("refused", exc.reason, exc.field, repr(exc.value))
    return (type(result), result.as_tuple())


_LIMIT = 10**MAX_AMOUNT_DIGITS
_WIRE_INTEGERS = st.one_of(
    st.integers(min_value=-(10**14), max_value=10**14),
    st.integers(min_value=_LIMIT - 3, max_value=_LIMIT + 3),
    st.integers(min_value=-_LIMIT - 3, max_value=-_LIMIT + 3),
    st.integers(),
    st.booleans(),
)


@settings(max_examples=1500, deadline=None)
@given(
    amount=_WIRE_INTEGERS,
    exponent=st.one_of(
        st.integers(min_value=-MAX_EXPONENT - 3, max_value=MAX_EXPONENT + 3), st.integers(), st.booleans()
    ),
    field=st.sampled_from([None, "price"]),
    exponent_field=st.sampled_from([None, "exponent"]),
)
def test_a_scaled_integer_price_is_what_every_check_in_turn_gives(
    amount: int, exponent: int, field: str | None, exponent_field: str | None
) -> None:
    """Two integers of any size (booleans among them): the direct computation for in-bounds ints gives the same
    Decimal, digit for digit and exponent for exponent, or the same refusal, as the checks made one by one."""
    from numbroker._money import _scaled_int

    expected = _converted(lambda: _scaled_int(amount, exponent, field, exponent_field))
    got = _converted(lambda: decimal_from_scaled_int(amount, exponent, field=field, exponent_field=exponent_field))

    assert expected == got


@settings(max_examples=1500, deadline=None)
@given(
    value=st.one_of(
        st.decimals(),
        st.decimals(places=2),
        st.decimals(min_value=-1, max_value=10**13),
        st.builds(
            lambda digits, exponent: Decimal(f"{digits}E{exponent}"),
            st.integers(min_value=-(10**40), max_value=10**40),
            st.integers(min_value=-60, max_value=60),
        ),
    ),
    field=st.sampled_from([None, "price"]),
)
def test_a_decimal_json_number_is_checked_as_any_json_number_is(value: Decimal, field: str | None) -> None:
    """Any Decimal the JSON reader may give (NaN, infinities, negatives, huge, tiny and over-precise ones
    included): checked as it is, it gives what the general conversion gives."""
    from numbroker._money import _json_number

    assert _converted(lambda: _json_number(value, field)) == _converted(
        lambda: decimal_from_json_number(value, field=field)
    )


@settings(max_examples=800, deadline=None)
@given(
    value=st.one_of(
        st.decimals(),
        st.decimals(places=2),
        st.builds(
            lambda digits, exponent: Decimal(f"{digits}E{exponent}"),
            st.integers(min_value=-(10**20), max_value=10**20),
            st.integers(min_value=-40, max_value=40),
        ),
    ),
    currency=st.sampled_from(["USD", "usd", "EUR", "XYZ"]),
)
def test_a_remembered_json_money_is_the_one_the_checks_build(value: Decimal, currency: str) -> None:
    """Asked twice (the second answer remembered), a JSON number's Money is what the checks give: the same
    amount with the same digits and places (``1.0`` stays ``1.0`` after ``1.00`` was asked), or the same
    refusal naming the caller's field."""
    from numbroker._money import _checked_money

    def money(convert: Any) -> object:
        try:
            result: Money = convert()
        except FieldError as exc:
            return ("refused", exc.reason, exc.field, repr(exc.value))
        return (result.amount.as_tuple(), result.currency)

    def checked() -> Money:
        return _checked_money(
            decimal_from_json_number(value, field="fee"), validate_currency(currency, field="currency")
        )

    expected = money(checked)
    assert [expected, expected] == [money(lambda: money_from_json_number(value, currency, field="fee")) for _ in "12"]


def test_a_remembered_json_money_keeps_the_places_it_was_written_with() -> None:
    """Equal amounts written with other places are other prices to show: 1.00, 1.0 and 1 each keep theirs."""
    for written in ("1.00", "1.0", "1", "1.00", "1E+1", "10"):
        assert written == str(money_from_json_number(Decimal(written), "USD").amount)
