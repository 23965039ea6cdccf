"""Dates and timestamps read from vendor records, each failure a FieldError naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from numbroker._money import FieldError

__all__ = ["read_date", "read_timestamp"]

_MAX_TEXT = 64


def read_timestamp(data: Mapping[str, Any], key: str, *, field: str | None = None) -> datetime | None:
    """An ISO 8601 timestamp (or an RFC 2822 one, as some vendors write), in UTC; None when missing, null or "".

    A timestamp without a zone is read as UTC.

    Raises:
        FieldError: the value is not a string holding a timestamp.
    """
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > _MAX_TEXT:
        raise FieldError(f"expected a timestamp, got {value!r}"[:200], field=field or key, value=value)
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        try:
            stamp = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            raise FieldError(f"not a timestamp: {value!r}", field=field or key, value=value) from None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def read_date(data: Mapping[str, Any], key: str, *, field: str | None = None) -> date | None:
    """A calendar date: ``YYYY-MM-DD``, or the UTC date of a timestamp; None when missing, null or "".

    Raises:
        FieldError: the value is neither a date nor a timestamp.
    """
    value = data.get(key)
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise FieldError(f"not a date: {value!r}", field=field or key, value=value) from None
    stamp = read_timestamp(data, key, field=field)
    return None if stamp is None else stamp.date()
