"""Vendor JSON bodies read with exact numbers: every non-integer number a :class:`~decimal.Decimal`."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from numbroker._exceptions import ProviderResponseError

__all__ = ["loads"]


def loads(provider: str, content: bytes) -> Any:
    """Parse a JSON body with every non-integer number as :class:`Decimal`: a float never touches a price.

    ``NaN`` and ``Infinity`` literals become Decimal NaN/Infinity, which the money converters reject
    per record. Raises :class:`ProviderResponseError` when the body is not JSON.
    """
    try:
        return json.loads(content, parse_float=Decimal, parse_constant=Decimal)
    except (ValueError, RecursionError) as exc:
        raise ProviderResponseError(provider, f"response is not valid JSON ({type(exc).__name__})") from None
