"""The one place that decides what a failed purchase means.

Adapters translate vendor-specific answers into the error tree (a 404, a 409 or a 422 "not available"
on a purchase all become :class:`NumberUnavailableError`); everything after that is vendor-neutral and
lives here:

* ``gone``: the number is not for sale any more; nothing was bought; try the next candidate.
* ``provider_refused``: the vendor will not sell to this account as configured (no balance, no write
  permission, bad credentials, no reservation, a request it rejects); nothing was bought; stop using it.
* ``ambiguous``: the request may or may not have been carried out (timeout after sending, dropped
  connection, 5xx, 429, a 2xx whose body cannot be read, an unexpected error): never retry it blindly;
  confirm ownership first.
"""

from __future__ import annotations

from enum import StrEnum

from numbroker._exceptions import (
    DebitFailedError,
    NotFoundError,
    NumbrokerError,
    ProviderError,
    ProviderHTTPError,
    ProviderUnavailableError,
    RateLimitedError,
)

__all__ = ["FailureKind", "classify_purchase_error", "stops_provider"]


class FailureKind(StrEnum):
    """What a failed purchase means: see :func:`classify_purchase_error`."""

    GONE = "gone"
    PROVIDER_REFUSED = "provider_refused"
    AMBIGUOUS = "ambiguous"


def classify_purchase_error(exc: BaseException) -> FailureKind:
    """Say what an exception raised by :meth:`Provider.purchase <numbroker.Provider.purchase>` means.

    * :class:`NotFoundError` (and its :class:`NumberUnavailableError`): ``gone``.
    * :class:`ProviderTimeoutError`, :class:`ProviderConnectionError`, :class:`ProviderUnavailableError`
      (5xx, including :class:`DebitFailedError`), :class:`RateLimitedError`, :class:`ProviderResponseError`
      (e.g. a 2xx whose body cannot be read), any other :class:`ProviderError` and any exception that is
      not numbroker's: ``ambiguous``, because the request may have been carried out.
    * Every other HTTP error (402 :class:`InsufficientFundsError`, 401/403, :class:`ReservationRequiredError`
      and other :class:`BadRequestError`) and numbroker's own refusals raised before anything was sent
      (:class:`ConfigurationError`, :class:`PurchaseError`): ``provider_refused``.

    A 429 counts as ambiguous although vendors say a rate-limited request was not processed: confirming
    ownership costs one read, and a wrong guess costs a number.
    """
    if isinstance(exc, NotFoundError):
        return FailureKind.GONE
    if isinstance(exc, RateLimitedError | ProviderUnavailableError):
        return FailureKind.AMBIGUOUS
    if isinstance(exc, ProviderHTTPError):
        return FailureKind.PROVIDER_REFUSED
    if isinstance(exc, ProviderError):
        # Timeouts, dropped connections, unreadable answers, and any other provider failure.
        return FailureKind.AMBIGUOUS
    if isinstance(exc, NumbrokerError):
        return FailureKind.PROVIDER_REFUSED
    return FailureKind.AMBIGUOUS


def stops_provider(exc: BaseException) -> bool:
    """True when, after this failure, the provider is not asked to sell anything else in the same run.

    Every ``provider_refused`` failure, plus two ambiguous ones: :class:`DebitFailedError` (the vendor
    says the balance could not be debited) and :class:`RateLimitedError`.
    """
    return classify_purchase_error(exc) is FailureKind.PROVIDER_REFUSED or isinstance(
        exc, DebitFailedError | RateLimitedError
    )
