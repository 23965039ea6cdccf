"""Typed reads of fields from one raw vendor record, each failure a FieldError naming the field.

Adapters validate page envelopes with pydantic models, but read each *record* with these small checks:
normalization runs once per offer, and these cost a fraction of a model validation while still refusing
a wrong type with the vendor's field name (``record(...)``, then ``text``, ``flag``, ``integer``...).
A missing key and a JSON ``null`` both read as None in every reader but ``record`` (``text`` only with
``optional``).

In ``_fetch_page`` (and an owned list's ``fetch``) they read a page's envelope too: a :class:`FieldError`
there fails the page, naming the field. A field the walk can do without (a page number a vendor echoes, a
total that only adds a note) is read ``lenient``: a value of another type then reads as None instead of
failing. :func:`pick` never fails, for answers the adapter judges itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from numbroker._money import FieldError, decimal_from_json_number, decimal_from_string
from numbroker.adapters._json import AMBIGUOUS, ambiguous_key
from numbroker.adapters._records import raw_record

__all__ = [
    "count",
    "decimal",
    "flag",
    "identifier",
    "integer",
    "items",
    "mapping",
    "pick",
    "record",
    "routing",
    "text",
    "words",
]

_T = TypeVar("_T")


def pick(value: object, key: str, kind: type[_T]) -> _T | None:
    """The value at ``key`` when ``value`` is a JSON object and the value there is a ``kind``; else None.

    Never raises: for an answer whose shape the adapter judges itself (a purchase answer, an error body,
    an owned-list entry), raising its own error or going on without the value. ``kind=int`` never
    accepts ``true``/``false``.
    """
    found = value.get(key) if type(value) is dict or isinstance(value, Mapping) else None
    if isinstance(found, kind) and not (kind is int and isinstance(found, bool)):
        return found
    return None


def record(value: object) -> Mapping[str, Any]:
    """The record itself must be a JSON object, with no key written twice with different values.

    A :class:`~numbroker.adapters.Tagged` record is read as the vendor's own record.
    """
    value = raw_record(value)
    if type(value) is not dict and not isinstance(value, Mapping):  # a plain dict skips the ABC check
        raise FieldError(f"record is not a JSON object but {type(value).__name__}", value=value)
    path = ambiguous_key(value)
    if path is not None:
        raise FieldError(AMBIGUOUS, field=path)
    return value


def text(data: Mapping[str, Any], key: str, *, field: str | None = None, optional: bool = False) -> str | None:
    """A non-empty string (or None when ``optional`` and missing/null)."""
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise FieldError(f"expected a non-empty string, got {value!r}", field=field or key, value=value)
    return value


def words(data: Mapping[str, Any], key: str, *, field: str | None = None) -> str | None:
    """A string with its surrounding blanks removed; missing, null or blank reads None.

    For a field a vendor leaves empty where it does not apply (a US-only field elsewhere, say).
    """
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(f"expected a string, got {value!r}", field=field or key, value=value)
    return value.strip() or None


def flag(data: Mapping[str, Any], key: str, *, field: str | None = None) -> bool | None:
    """A JSON boolean, or None when missing/null."""
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise FieldError(f"expected true or false, got {value!r}", field=field or key, value=value)


def integer(data: Mapping[str, Any], key: str, *, field: str | None = None, lenient: bool = False) -> int | None:
    """A JSON integer (``true`` and ``false`` are not), or None when missing/null.

    Args:
        data: the record or envelope.
        key: the field.
        field: the name a failure gives (default ``key``).
        lenient: a value of another type reads as None instead of failing.
    """
    value = data.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if lenient:
        return None
    raise FieldError(f"expected a whole number, got {value!r}", field=field or key, value=value)


def count(data: Mapping[str, Any], key: str, *, field: str | None = None, lenient: bool = False) -> int | None:
    """A whole number from 0 (records, pages, months): :func:`integer`, and never negative.

    With ``lenient`` a negative number reads as None too.
    """
    value = integer(data, key, field=field, lenient=lenient)
    if value is None or value >= 0:
        return value
    if lenient:
        return None
    raise FieldError(f"expected a whole number from 0, got {value!r}", field=field or key, value=value)


def identifier(data: Mapping[str, Any], key: str) -> str | None:
    """A vendor's id, written as a string or as a whole number, as text; None when it is anything else.

    Never raises: an id names a record in a rejection or a receipt, and a missing one is no reason to fail.
    """
    value = data.get(key)
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)
    return None


def decimal(data: Mapping[str, Any], key: str, *, field: str | None = None) -> Decimal | None:
    """An exact amount written as a JSON number or as a decimal string (``"0.50"``), or None when missing/null.

    For a vendor whose definition allows both forms. The amount is bounded and non-negative like every
    price (see :func:`~numbroker.adapters.decimal_from_string`); a float never touches it.
    """
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return decimal_from_string(value, field=field or key)
    return decimal_from_json_number(value, field=field or key)


def mapping(data: Mapping[str, Any], key: str, *, field: str | None = None) -> Mapping[str, Any] | None:
    """A JSON object, or None when missing/null."""
    value = data.get(key)
    if value is None or type(value) is dict or isinstance(value, Mapping):
        return value
    raise FieldError(f"expected an object, got {value!r}", field=field or key, value=value)


def items(data: Mapping[str, Any], key: str, *, field: str | None = None) -> list[Any] | None:
    """A JSON array, or None when missing/null."""
    value = data.get(key)
    if value is None or isinstance(value, list):
        return value
    raise FieldError(f"expected an array, got {value!r}", field=field or key, value=value)


def routing(data: Mapping[str, Any], keys: Sequence[str]) -> bool | None:
    """Whether any of ``keys`` (ids of where calls or messages go: an application, a connection, a trunk) is set.

    True when one holds an id (a non-empty string or a whole number); False when the record has some of
    them and all are null or ""; None when it has none of them (the vendor does not say).

    Raises:
        FieldError: one of them is neither an id nor null.
    """
    present = [key for key in keys if key in data]
    if not present:
        return None
    for key in present:
        value = data[key]
        if isinstance(value, bool) or (value is not None and not isinstance(value, str | int)):
            raise FieldError(f"{key} must be an id or null", field=key, value=value)
        if value not in (None, ""):
            return True
    return False
