"""Vendor JSON bodies read with exact, bounded numbers and unambiguous keys.

* **Exact numbers.** Every non-integer number is a :class:`~decimal.Decimal`: a float never touches a price.
* **Bounded numbers.** A non-integer number longer than :data:`~numbroker._money.MAX_JSON_NUMBER_LENGTH`
  characters, or whose written exponent is beyond ±:data:`~numbroker._money.MAX_JSON_EXPONENT`, is read as
  an :class:`~numbroker._money.OutOfRangeNumber` without building a Decimal (``1e-999999999`` costs no
  memory); the money converters reject it per record, naming the field and the limit. Integers are read
  by the standard library, which refuses more than 4300 digits (the body is then not valid JSON); a
  long integer in a price or a total is rejected by the converters and the paging engine.
* **Unambiguous keys.** An object with a key written twice with different values is ambiguous (one
  vendor parser takes the first, another the last). A record holding one, at any depth, is marked
  :class:`AmbiguousObject` and rejected by normalization, naming the key; the envelope holding one (an
  object reached from the top without passing through an array) fails the page. Bodies without
  repeated keys (nearly all) pay one length comparison per object; a body with one is read twice.
* **Bounded objects.** A body with more than :data:`MAX_JSON_OBJECTS` opening braces fails the page before
  it is decoded (a 6 MB page of ``{},{},…`` would otherwise become millions of dictionaries): the body
  cap bounds its bytes, this bounds what they expand to once decoded.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from numbroker._exceptions import ProviderResponseError
from numbroker._money import MAX_JSON_EXPONENT, MAX_JSON_NUMBER_LENGTH, OutOfRangeNumber

__all__ = ["AMBIGUOUS", "MAX_JSON_OBJECTS", "AmbiguousObject", "ambiguous_key", "loads"]

MAX_JSON_OBJECTS = 250_000
"""The most JSON objects one vendor body may hold (a page of 1,000 offers holds a few thousand)."""

AMBIGUOUS = "the key is written more than once with different values: ambiguous"
"""Why a record with a repeated key is rejected (vendors' parsers disagree on which value counts)."""

_EXPONENT_DIGITS = len(str(MAX_JSON_EXPONENT))


class AmbiguousObject(dict[str, Any]):
    """A JSON object in which some key, here or in an object inside it, was written twice with different values.

    Attributes:
        repeated: the keys of this object written more than once with different values (the last value
            is the one kept, as the standard library does).
        path: the first ambiguous key, dotted from this object (``monthlyPrice.amount``; ``[0]`` for an array
            element).
    """

    __slots__ = ("path", "repeated")

    def __init__(self, pairs: list[tuple[str, Any]], repeated: tuple[str, ...], path: str) -> None:
        super().__init__(pairs)
        self.repeated = repeated
        self.path = path


def ambiguous_key(value: object) -> str | None:
    """The dotted path of the first ambiguous key in ``value`` (a record as decoded), or None."""
    return value.path if isinstance(value, AmbiguousObject) else None


class _Repeated(Exception):
    """Raised by the fast hook at the first object with a repeated key: read the body again, carefully."""


def _fast_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _Repeated
    return result


def _nested_path(value: Any) -> str | None:
    if isinstance(value, AmbiguousObject):
        return value.path
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, AmbiguousObject):
                return f"[{index}].{item.path}"
    return None


def _careful_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    repeated: tuple[str, ...] = ()
    if len(result) != len(pairs):
        first: dict[str, Any] = {}
        clashing: dict[str, None] = {}
        for key, value in pairs:
            if key in first and first[key] != value:
                clashing[key] = None
            first.setdefault(key, value)
        repeated = tuple(clashing)
    if repeated:
        return AmbiguousObject(pairs, repeated, repeated[0])
    for key, value in result.items():
        nested = _nested_path(value)
        if nested is not None:
            return AmbiguousObject(pairs, (), f"{key}.{nested}" if not nested.startswith("[") else f"{key}{nested}")
    return result


def _exponent_out_of_range(text: str) -> bool:
    mark = max(text.rfind("e"), text.rfind("E"))
    digits = text[mark + 1 :].lstrip("+-").lstrip("0")
    return len(digits) > _EXPONENT_DIGITS or (bool(digits) and int(digits) > MAX_JSON_EXPONENT)


def _bounded_float(text: str, _decimal: type[Decimal] = Decimal, _len: Any = len) -> Decimal | OutOfRangeNumber:
    """A JSON non-integer number as a Decimal, or an OutOfRangeNumber when it is too long or its exponent too large."""
    if _len(text) > MAX_JSON_NUMBER_LENGTH or (("e" in text or "E" in text) and _exponent_out_of_range(text)):
        return OutOfRangeNumber(text)
    return _decimal(text)


def _envelope_path(value: Any, prefix: str = "") -> str | None:
    """The first key written twice with different values in an object reached from the top through objects only."""
    if not isinstance(value, dict):
        return None
    if isinstance(value, AmbiguousObject) and value.repeated:
        return prefix + value.repeated[0]
    for key, item in value.items():
        found = _envelope_path(item, f"{prefix}{key}.")
        if found is not None:
            return found
    return None


def loads(provider: str, content: bytes) -> Any:
    """Parse a JSON body with every non-integer number as a bounded :class:`Decimal` (see the module docstring).

    ``NaN`` and ``Infinity`` literals become Decimal NaN/Infinity, which the money converters reject
    per record.

    Raises:
        ProviderResponseError: the body is not JSON, has more than :data:`MAX_JSON_OBJECTS` opening
            braces, or its envelope has a key written twice with different values.
    """
    # Every object opens with a brace: counting them (one scan in C) bounds the objects before any is built.
    if content.count(b"{") > MAX_JSON_OBJECTS:
        del content  # a traceback's locals never show the vendor's body
        raise ProviderResponseError(
            provider, f"response holds more than {MAX_JSON_OBJECTS} JSON objects: not a page of offers"
        )
    try:
        try:
            return json.loads(
                content, parse_float=_bounded_float, parse_constant=Decimal, object_pairs_hook=_fast_object
            )
        except _Repeated:
            body = json.loads(
                content, parse_float=_bounded_float, parse_constant=Decimal, object_pairs_hook=_careful_object
            )
    except (ValueError, RecursionError) as exc:
        del content  # a traceback's locals never show the vendor's body
        raise ProviderResponseError(provider, f"response is not valid JSON ({type(exc).__name__})") from None
    path = _envelope_path(body)
    if path is not None:
        raise ProviderResponseError(provider, f"response has the key {path!r} twice with different values: ambiguous")
    return body
