"""Typed reads of a vendor record's fields: each failure a FieldError naming the field, None for missing or null."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from numbroker.adapters import FieldError, Tagged, wire
from numbroker.adapters._json import loads


@pytest.mark.parametrize(("value", "expected"), [(7, 7), (-3, -3), (0, 0), (None, None)])
def test_integer_reads_whole_numbers_and_null(value: Any, expected: int | None) -> None:
    """A JSON integer is read as it is; null is None."""
    assert expected == wire.integer({"n": value}, "n")


@pytest.mark.parametrize("value", [True, False, "7", 7.5, Decimal("7.0"), [7]])
def test_integer_refuses_anything_else_naming_the_field(value: Any) -> None:
    """A boolean is not a number, nor is a string of digits: the error names the vendor's field."""
    with pytest.raises(FieldError, match="expected a whole number") as caught:
        wire.integer({"n": value}, "n", field="meta.n")

    assert "meta.n" == caught.value.field
    assert wire.integer({"n": value}, "n", lenient=True) is None


def test_a_missing_key_reads_as_none_in_every_optional_reader() -> None:
    """A key the record does not have is None, never an error."""
    empty: dict[str, Any] = {}

    assert [None] * 6 == [
        wire.integer(empty, "k"),
        wire.count(empty, "k"),
        wire.decimal(empty, "k"),
        wire.words(empty, "k"),
        wire.identifier(empty, "k"),
        wire.pick(empty, "k", str),
    ]


def test_count_refuses_a_negative_number_unless_lenient() -> None:
    """A count (records, pages, months) is never negative; read leniently, a negative one is None."""
    assert 0 == wire.count({"total": 0}, "total")
    with pytest.raises(FieldError, match="from 0") as caught:
        wire.count({"total": -1}, "total")

    assert "total" == caught.value.field
    assert wire.count({"total": -1}, "total", lenient=True) is None
    assert wire.count({"total": "12"}, "total", lenient=True) is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [(b'{"p": "0.50"}', Decimal("0.50")), (b'{"p": 0.5}', Decimal("0.5")), (b'{"p": 3}', Decimal(3))],
)
def test_decimal_reads_a_string_or_a_json_number_exactly(body: bytes, expected: Decimal) -> None:
    """Both forms a vendor may write a price in give the exact Decimal, digits kept."""
    value = wire.decimal(loads("p", body), "p")

    assert expected == value
    assert str(expected) == str(value)


@pytest.mark.parametrize(
    ("value", "reason"), [("-1.00", "negative"), ("abc", "decimal"), (True, "JSON number"), ("1e5", "decimal")]
)
def test_decimal_refuses_what_no_price_can_be(value: Any, reason: str) -> None:
    with pytest.raises(FieldError, match=reason) as caught:
        wire.decimal({"price": value}, "price", field="cost.price")

    assert "cost.price" == caught.value.field


def test_words_strips_and_reads_blank_as_none() -> None:
    """A text a vendor leaves blank where it does not apply is None; any other type names the field."""
    assert "Springfield" == wire.words({"city": "  Springfield "}, "city")
    assert wire.words({"city": "   "}, "city") is None
    with pytest.raises(FieldError, match="expected a string, got 1") as caught:
        wire.words({"iso_country": 1}, "iso_country")

    assert "iso_country" == caught.value.field


@pytest.mark.parametrize(("value", "expected"), [("PN12", "PN12"), (42, "42"), ("", ""), (True, None), (1.5, None)])
def test_identifier_is_text_or_none_never_an_error(value: Any, expected: str | None) -> None:
    """An id written as a string or a whole number is its text; a boolean or anything else is no id."""
    assert expected == wire.identifier({"id": value}, "id")


def test_pick_reads_a_value_of_the_kind_asked_or_none() -> None:
    """pick never raises: another kind, a boolean for int, or a body that is no object all read None."""
    answer = {"data": {"id": "o-1"}, "count": True, "items": [1]}

    assert {"id": "o-1"} == wire.pick(answer, "data", dict)
    assert [1] == wire.pick(answer, "items", list)
    assert wire.pick(answer, "data", list) is None
    assert wire.pick(answer, "count", int) is None
    assert wire.pick(["data"], "data", dict) is None
    assert wire.pick(None, "data", dict) is None


def test_record_reads_a_tagged_record_as_the_vendors_own() -> None:
    """A record tagged by a fan-out is read as the record the vendor sent."""
    raw = {"phone_number": "+14155550100"}

    assert raw is wire.record(Tagged(raw, "local"))
    with pytest.raises(FieldError, match="not a JSON object but list"):
        wire.record(Tagged(["+14155550100"], "local"))
