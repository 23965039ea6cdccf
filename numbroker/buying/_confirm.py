"""Ownership confirmation: after an ambiguous answer, the account's own numbers say whether a purchase happened."""

from __future__ import annotations

import anyio

from numbroker._models import AvailableNumber
from numbroker._provider import Provider
from numbroker._receipts import PurchaseReceipt
from numbroker.buying._results import AttemptOutcome

__all__ = ["confirm_ownership", "describe"]


def describe(provider: Provider, exc: BaseException) -> str:
    """The exception's type and its message as ``provider`` redacts it, cut to 600 characters."""
    return f"{type(exc).__name__}: {provider.redact(str(exc))[:600]}"


async def confirm_ownership(
    provider: Provider,
    offer: AvailableNumber,
    exc: Exception,
    *,
    reason: str,
    request_id: str | None,
    confirm_delay: float,
) -> tuple[AttemptOutcome, str, PurchaseReceipt | None]:
    """After ``confirm_delay`` seconds, read whether ``offer``'s number is the account's: the attempt's outcome.

    ``confirmed_owned`` (with a receipt built from the owned numbers), ``not_bought``, or ``unknown`` when
    the owned numbers cannot be read; ``reason`` (why the answer was ambiguous) is extended accordingly.
    """
    if confirm_delay > 0:
        await anyio.sleep(confirm_delay)
    try:
        owned = await provider.owns(offer.e164)
    except Exception as check:
        return (
            AttemptOutcome.UNKNOWN,
            f"{reason}; ownership could not be confirmed: {describe(provider, check)}",
            None,
        )
    if owned:
        receipt = PurchaseReceipt(
            provider=provider.id,
            offer_id=offer.offer_id,
            e164=offer.e164,
            request_id=request_id,
            details={"confirmed_by": "owned numbers", "ambiguous_answer": type(exc).__name__},
        )
        return AttemptOutcome.CONFIRMED_OWNED, f"{reason}; then found among the owned numbers", receipt
    return AttemptOutcome.NOT_BOUGHT, f"{reason}; then confirmed not among the owned numbers", None
