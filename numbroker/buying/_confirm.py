"""Ownership confirmation: after an ambiguous answer, the account's own numbers say whether a purchase happened."""

from __future__ import annotations

import anyio

from numbroker._exceptions import ProviderTimeoutError
from numbroker._models import AvailableNumber
from numbroker.adapters import Provider, PurchaseReceipt
from numbroker.buying._results import AttemptOutcome

__all__ = ["checked_owns", "confirm_ownership", "describe"]


def describe(provider: Provider, exc: BaseException) -> str:
    """The exception's type and its message as ``provider`` redacts it, cut to 600 characters."""
    return f"{type(exc).__name__}: {provider.redact(str(exc))[:600]}"


async def checked_owns(provider: Provider, e164: str, *, within: float) -> bool:
    """:meth:`Provider.owns` with a total deadline of ``within`` seconds over every page and retry.

    Raises:
        ProviderTimeoutError: the owned numbers were not read completely within ``within`` seconds.
        Exception: whatever :meth:`Provider.owns` raises.
    """
    try:
        with anyio.fail_after(within):
            return await provider.owns(e164)
    except TimeoutError:
        raise ProviderTimeoutError(
            provider.id, f"the owned numbers were not read within the {within:g} s deadline"
        ) from None


async def confirm_ownership(
    provider: Provider,
    offer: AvailableNumber,
    exc: Exception,
    *,
    reason: str,
    request_id: str | None,
    confirm_delay: float,
    confirm_window: float = 0.0,
    within: float = 30.0,
) -> tuple[AttemptOutcome, str, PurchaseReceipt | None]:
    """After ``confirm_delay`` seconds, read whether ``offer``'s number is the account's: the attempt's outcome.

    ``confirmed_owned`` (with a receipt built from the owned numbers); when it is not owned,
    ``not_bought`` if the confirm window (``confirm_window`` seconds after the answer) has passed, else
    ``ambiguous`` (an owned list may lag: it proves nothing yet); ``unknown`` when the owned numbers
    cannot be read within ``within`` seconds. ``reason`` (why the answer was ambiguous) is extended.
    """
    if confirm_delay > 0:
        await anyio.sleep(confirm_delay)
    try:
        owned = await checked_owns(provider, offer.e164, within=within)
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
    if confirm_delay < confirm_window:
        return (
            AttemptOutcome.AMBIGUOUS,
            f"{reason}; not among the owned numbers {confirm_delay:g} s later, within the {confirm_window:g} s "
            "confirm window (an owned list may lag): counted as spent until a later check settles it",
            None,
        )
    return AttemptOutcome.NOT_BOUGHT, f"{reason}; then confirmed not among the owned numbers", None
