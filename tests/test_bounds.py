"""Bounded numbers and containment, unit by unit: what no vendor value can make the library do."""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest

from numbroker import (
    AvailableNumber,
    BuyTerms,
    Money,
    OverallStatus,
    Searcher,
    SearchQuery,
)
from numbroker._money import OutOfRangeNumber, check_price
from numbroker.adapters import FieldError, decimal_from_json_number, decimal_from_scaled_int, decimal_from_string
from numbroker.buying._plan import plan_row
from numbroker.buying._results import PlanDecision
from numbroker.testing import FakeProvider, offer

US = SearchQuery(country="US")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("999999999999.999999999999"), Decimal("999999999999.999999999999")),
        (Decimal("0.000000000001"), Decimal("0.000000000001")),
        (Decimal("1.50000000000000000000"), Decimal("1.500000000000")),
        (Decimal("0E-999999999"), Decimal("0E-12")),
        (Decimal("0"), Decimal("0")),
    ],
)
def test_prices_at_the_bounds_are_kept_exactly(value: Decimal, expected: Decimal) -> None:
    """12 digits either side of the point are kept; zeros past the twelfth place are dropped, the value unchanged."""
    result = check_price(value, field="f")
    assert expected == result
    assert str(expected) == str(result)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (Decimal("1000000000000"), "price out of range"),
        (Decimal("1E+999999"), "price out of range"),
        (Decimal("1E+999999999999999999"), "price out of range"),
        (Decimal("0.0000000000001"), "price too precise"),
        (Decimal("1E-999999999"), "price too precise"),
        (Decimal("0.30000000000000004"), "price too precise"),
    ],
)
def test_prices_beyond_the_bounds_are_refused_naming_the_limit(value: Decimal, reason: str) -> None:
    """Beyond 10^12, or with a digit past the twelfth place: refused, naming the field and the limit."""
    with pytest.raises(FieldError) as info:
        check_price(value, field="monthly_fee")
    assert reason in info.value.reason
    assert "12 digits before the decimal point and 12 after it" in info.value.reason
    assert "monthly_fee" == info.value.field
    assert len(repr(info.value.value)) < 80


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (10**12, "price out of range"),
        (10**4000, "price out of range"),
        (OutOfRangeNumber("1e-999999999"), "written exponent within ±100"),
    ],
    ids=["13 digits", "4001 digits", "out of range text"],
)
def test_json_numbers_beyond_the_bounds(wire: object, reason: str) -> None:
    with pytest.raises(FieldError, match=reason):
        decimal_from_json_number(wire, field="f")


def test_strings_need_ascii_digits_and_bounded_length() -> None:
    for text in ["١.٥", "１.５", "1" * 65]:
        with pytest.raises(FieldError):
            decimal_from_string(text, field="f")
    assert Decimal("0.000000000001") == decimal_from_string("0.000000000001")


@pytest.mark.parametrize(
    ("amount", "exponent", "field", "reason"),
    [
        (1, 10**9, "e", "exponent out of range: at most ±30, got 1000000000"),
        (1, 10**400, "e", "exponent out of range: at most ±30"),
        (10**31, 0, "a", "amount out of range: at most 30 digits"),
        ("9" * 31, 0, "a", "amount out of range: at most 30 digits"),
        ("١٢", 0, "a", "expected an integer amount"),
        (1, -13, "a", "price too precise"),
        (1, 12, "a", "price out of range"),
    ],
)
def test_scaled_prices_name_the_field_and_the_limit(amount: object, exponent: object, field: str, reason: str) -> None:
    with pytest.raises(FieldError) as info:
        decimal_from_scaled_int(amount, exponent, field="a", exponent_field="e")
    assert reason in info.value.reason
    assert field == info.value.field


def test_scaled_prices_ignore_the_callers_decimal_context() -> None:
    """A caller's low precision never rounds a vendor's price."""
    with decimal.localcontext(decimal.Context(prec=3)):
        assert Decimal("123456.789012") == decimal_from_scaled_int(123456789012, -6)


# -- containment ---------------------------------------------------------------------------------

HUGE = Money.model_construct(amount=Decimal("9E+999999"), currency="USD")
"""A price no converter lets through, built past them: what an adapter bug could hand the ranking."""


def unbounded(e164: str = "+14155552671") -> AvailableNumber:
    return offer(e164, offer_id="huge").model_copy(update={"monthly_price": HUGE, "setup_price": HUGE})


def good(pid: str) -> FakeProvider:
    return FakeProvider([offer(f"+1415555{i:04d}", provider=pid) for i in range(3)], provider_id=pid)


@pytest.mark.anyio
@pytest.mark.parametrize("sort", ["monthly", "total", "first-bill"])
async def test_a_price_the_ranking_cannot_compute_with_is_excluded_not_fatal(sort: str) -> None:
    """An ArithmeticError while converting or totalling one offer leaves it out, counted; the rest are ranked."""
    rates = {"base": "EUR", "rates": {"USD": "0.000000000001"}}
    huge = FakeProvider([unbounded()], provider_id="huge")
    async with Searcher([huge, good("fine")]) as searcher:
        result = await searcher.search(US, sort=sort, currency="EUR", rates=rates)

    assert OverallStatus.COMPLETE == result.status
    assert {"fine"} == {r.offer.provider for r in result.offers}
    assert 3 == len(result.offers)
    assert {"price_not_computable": 1} == result.excluded


class Buyer(FakeProvider):
    supports_purchase = True


def test_a_plan_row_whose_price_cannot_be_computed_is_price_unknown() -> None:
    from numbroker._pricing import ExchangeRates

    cap = Money(amount=Decimal(5), currency="EUR")
    terms = BuyTerms(max_monthly=cap, max_first_bill=cap, confirm_delay=0)
    rates = ExchangeRates.model_validate({"base": "EUR", "rates": {"USD": "0.000000000001"}})
    row = plan_row(unbounded(), Buyer(), terms=terms, rates=rates)

    assert PlanDecision.PRICE_UNKNOWN == row.decision
    assert row.reason is not None and "cannot be computed" in row.reason


@pytest.mark.parametrize("amount", ["1E-999999999", "1E+40", "0E-81"])
def test_money_refuses_amounts_no_output_could_write(amount: str) -> None:
    """1E-999999999 written as fixed-point is a gigabyte of zeros: Money refuses it at construction."""
    with pytest.raises(ValueError, match="amount out of range: Money holds amounts below 10\\^40"):
        Money(amount=Decimal(amount), currency="USD")


def test_a_converted_amount_reads_back_from_its_json_form() -> None:
    """Money's own bounds are wider than a vendor price's: a 34-digit conversion round-trips through JSON."""
    from numbroker._pricing import ExchangeRates

    rates = ExchangeRates.model_validate({"base": "EUR", "rates": {"USD": "1.08"}})
    converted = rates.convert(Money(amount=Decimal("999999999999.999999999999"), currency="USD"), "EUR")
    assert converted is not None

    assert converted == Money.model_validate_json(converted.model_dump_json())


@pytest.mark.parametrize("text", ["+1２１２２３９１２７６", "+١٢١٢٢٣٩١٢٧٦", "２１２２３９１２７６"])
def test_phone_numbers_need_ascii_digits(text: str) -> None:
    """A number written in fullwidth or Arabic-Indic digits is refused, never kept as an odd-looking E.164."""
    from numbroker.adapters import parse_e164

    with pytest.raises(FieldError, match="not a phone number"):
        parse_e164(text, country="US")
