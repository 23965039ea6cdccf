"""What a purchase returns: the receipt, and the JSON-safe copy of vendor values that its details hold."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, JsonValue

from numbroker._money import OutOfRangeNumber
from numbroker._redaction import Redactor

__all__ = ["PurchaseReceipt", "json_safe", "redact_receipt"]


class PurchaseReceipt(BaseModel):
    """Proof that a number was bought.

    Attributes:
        provider: the provider id.
        offer_id: the offer bought (the vendor's inventory or stock-item id, or the number).
        e164: the number bought, canonical E.164.
        vendor_id: the vendor's id of the number now owned, when its answer gives one.
        request_id: the vendor's request id, when it gives one.
        details: a few fields of the vendor's answer (JSON-safe, never a credential).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)  # validators built on first use

    provider: str
    offer_id: str
    e164: str
    vendor_id: str | None = None
    request_id: str | None = None
    details: dict[str, JsonValue] = {}


def json_safe(value: Any, *, depth: int = 4) -> JsonValue:
    """A JSON-safe copy of a parsed vendor value: Decimals become strings, other odd values are dropped.

    A number out of range (see :class:`~numbroker._money.OutOfRangeNumber`) is shown by the start of
    its text; a Decimal read from a vendor has a bounded exponent, so its fixed-point text is short.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, OutOfRangeNumber):
        return repr(value)
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else str(value)
    if depth <= 0:
        return None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v, depth=depth - 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v, depth=depth - 1) for v in value]
    return None


def redact_receipt(redactor: Redactor, receipt: PurchaseReceipt) -> PurchaseReceipt:
    """A purchase receipt with any secret the vendor echoed in its answer masked (the same object if none)."""
    texts = (receipt.vendor_id, receipt.request_id, receipt.details)
    if not redactor or not redactor.shows_secret(repr(texts)):
        return receipt
    return receipt.model_copy(
        update={
            "vendor_id": redactor.redact(receipt.vendor_id) if receipt.vendor_id is not None else None,
            "request_id": redactor.redact(receipt.request_id) if receipt.request_id is not None else None,
            "details": redactor.redact_json(receipt.details),
        }
    )
