"""Vendor JSON read with bounded numbers and unambiguous keys."""

from __future__ import annotations

from decimal import Decimal

import pytest

from numbroker import (
    ProviderResponseError,
)
from numbroker._money import OutOfRangeNumber
from numbroker.adapters._json import AmbiguousObject, loads


def test_json_reads_out_of_range_numbers_without_building_them() -> None:
    body = loads("p", b'{"a": 1e-999999999, "b": 1e100, "c": 1E+101, "d": ' + b"1." + b"0" * 120 + b"}")
    assert isinstance(body["a"], OutOfRangeNumber)
    assert Decimal("1E+100") == body["b"]
    assert isinstance(body["c"], OutOfRangeNumber)
    assert isinstance(body["d"], OutOfRangeNumber)
    assert "1e-999999999" == repr(body["a"])


def test_json_marks_records_with_a_repeated_key() -> None:
    body = loads(
        "p",
        b'{"items": [{"id": "a", "fee": 1, "fee": 2}, {"id": "b", "price": {"amount": 1, "amount": 2}},'
        b' {"id": "c", "fee": 1, "fee": 1}, {"id": "d", "tags": [{"n": 1, "n": 2}]}], "total": 4}',
    )
    first, second, third, fourth = body["items"]
    assert isinstance(first, AmbiguousObject) and "fee" == first.path
    assert isinstance(second, AmbiguousObject) and "price.amount" == second.path
    assert not isinstance(third, AmbiguousObject)  # the same value twice is not ambiguous
    assert isinstance(fourth, AmbiguousObject) and "tags[0].n" == fourth.path
    assert 2 == first["fee"]


def test_json_refuses_an_envelope_with_a_repeated_key() -> None:
    with pytest.raises(ProviderResponseError, match=r"'meta\.total' twice with different values: ambiguous"):
        loads("p", b'{"items": [], "meta": {"total": 1, "total": 1000}}')
