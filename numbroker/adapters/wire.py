"""Typed reads of fields from one raw vendor record, each failure a FieldError naming the field.

Adapters validate page envelopes with pydantic models, but read each *record* with these small checks:
normalization runs once per offer, and these cost a fraction of a model validation while still refusing
a wrong type with the vendor's field name (``record(...)``, then ``text``, ``flag``, ``mapping``...).
A missing key and a JSON ``null`` both read as None in the ``optional`` forms.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from numbroker._money import FieldError
from numbroker.adapters._json import AMBIGUOUS, ambiguous_key

__all__ = ["flag", "items", "mapping", "record", "text"]


def record(value: object) -> Mapping[str, Any]:
    """The record itself must be a JSON object, with no key written twice with different values."""
    if not isinstance(value, Mapping):
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


def flag(data: Mapping[str, Any], key: str, *, field: str | None = None) -> bool | None:
    """A JSON boolean, or None when missing/null."""
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise FieldError(f"expected true or false, got {value!r}", field=field or key, value=value)


def mapping(data: Mapping[str, Any], key: str, *, field: str | None = None) -> Mapping[str, Any] | None:
    """A JSON object, or None when missing/null."""
    value = data.get(key)
    if value is None or isinstance(value, Mapping):
        return value
    raise FieldError(f"expected an object, got {value!r}", field=field or key, value=value)


def items(data: Mapping[str, Any], key: str, *, field: str | None = None) -> list[Any] | None:
    """A JSON array, or None when missing/null."""
    value = data.get(key)
    if value is None or isinstance(value, list):
        return value
    raise FieldError(f"expected an array, got {value!r}", field=field or key, value=value)
