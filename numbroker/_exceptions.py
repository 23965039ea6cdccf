"""The numbroker error tree.

Every error a caller can meet is a :class:`NumbrokerError`::

    NumbrokerError(Exception)
    ├── ConfigurationError(NumbrokerError, ValueError)     bad arguments, query, base URL or id
    │   └── MissingCredentialsError                        names the keyword argument and the env var
    ├── UnknownProviderError(NumbrokerError, LookupError)  registry miss; lists the known ids
    ├── IncompleteSearchError(NumbrokerError)              strict mode: a provider failed (carries the result;
    │                                                      defined in ``_reports`` beside the result it carries)
    ├── ProviderError(NumbrokerError)                      .provider (id) on every instance
    │   ├── ProviderHTTPError                              .status_code, .body (truncated), .headers, .request_id
    │   │   ├── BadRequestError                            400/409/422: the vendor refused the request as asked
    │   │   │   ├── ReservationRequiredError               a purchase refused until the number is reserved
    │   │   │   └── CoolOffError                           a move refused until a cool-off ends; .until
    │   │   ├── AuthenticationError                        401: missing, wrong or expired credentials
    │   │   │   └── PermissionDeniedError                  403: valid credentials lacking a permission
    │   │   ├── InsufficientFundsError                     402 (and vendor-specific balance refusals)
    │   │   ├── NotFoundError                              404: unknown resource, or a number no longer offered
    │   │   │   └── NumberUnavailableError                 a purchase found the number gone or taken (any status)
    │   │   ├── RateLimitedError                           429; .retry_after (seconds, parsed)
    │   │   └── ProviderUnavailableError                   5xx
    │   │       └── DebitFailedError                       a purchase 5xx that says the debit failed
    │   ├── ProviderTimeoutError(ProviderError, TimeoutError)        no answer in time
    │   ├── ProviderConnectionError(ProviderError, ConnectionError)  connection failed or dropped
    │   └── ProviderResponseError                          unparseable or oversized body, runaway paging
    │       └── OtherNumberSoldError                       a purchase answered with another number; .sold
    └── PurchaseError(NumbrokerError)                      buy-cheapest refusals that are not vendor errors
        └── LedgerError                                    the purchase ledger cannot be opened, read or written
            ├── LedgerBusyError                            another run holds the ledger's purchaser lock; .holder
            └── LedgerLockLostError                        this run's purchaser lock is no longer provably held
                                                           (both in :mod:`numbroker.ledger`, beside the ledger)

One error stands outside the tree, because a search's caller never meets it: adapter authors raise it for
a vendor's value the model cannot use, and the provider turns it into a :class:`~numbroker.RejectedRecord`::

    FieldError(ValueError)                                 .field, .value and .reason of the rejection

Messages start with the provider id, bodies are truncated, and credentials are
redacted before they reach any message (see ``Provider.redact``).
Every error survives pickling. ``tests/test_exceptions.py`` reads the drawings above and checks them
against the classes, so they cannot drift.

This module imports nothing from numbroker, so every other module may import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "CoolOffError",
    "DebitFailedError",
    "FieldError",
    "InsufficientFundsError",
    "MissingCredentialsError",
    "NotFoundError",
    "NumberUnavailableError",
    "NumbrokerError",
    "PermissionDeniedError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderHTTPError",
    "ProviderResponseError",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "PurchaseError",
    "RateLimitedError",
    "ReservationRequiredError",
    "UnknownProviderError",
]

_H = TypeVar("_H", bound="ProviderHTTPError")

BODY_LIMIT = 500
"""How many characters of a vendor's error body an exception keeps."""


class NumbrokerError(Exception):
    """Base class of every error numbroker raises on purpose."""


class ConfigurationError(NumbrokerError, ValueError):
    """Raised for invalid arguments: a bad query, base URL, path id or option."""


class MissingCredentialsError(ConfigurationError):
    """Raised when a provider is built without a credential it needs.

    The message names the keyword argument and the environment variable, never a value.
    """

    def __init__(self, provider: str, missing: Mapping[str, str]) -> None:
        self.provider = provider
        self.missing = dict(missing)
        names = ", ".join(f"{kw}= (or env {env})" for kw, env in self.missing.items())
        super().__init__(f"{provider}: missing credentials: {names}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.provider, self.missing))


class UnknownProviderError(NumbrokerError, LookupError):
    """Raised when a provider id is not registered; the message lists the known ids."""


class PurchaseError(NumbrokerError):
    """Raised when a purchase cannot be planned or started (not a vendor refusal)."""


class ProviderError(NumbrokerError):
    """Base class of every failure attributable to one provider; ``.provider`` is its id."""

    def __init__(self, provider: str, message: str) -> None:
        self.provider = provider
        self.detail = message
        super().__init__(f"{provider}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.provider, self.detail))


class ProviderHTTPError(ProviderError):
    """Raised when a provider answers with an HTTP error status.

    Attributes:
        status_code: the HTTP status.
        body: the response body, truncated to ``BODY_LIMIT`` characters and redacted.
        headers: the response headers, names lower-cased.
        request_id: the vendor's request id, when its error envelope gives one.
        vendor_code: the vendor's own error code, when its adapter reads one from the error body.
        vendor_message: the vendor's own account of the failure, as its adapter reads it from the body.
    """

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        status_code: int,
        body: str = "",
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
        vendor_code: str | None = None,
        vendor_message: str | None = None,
    ) -> None:
        super().__init__(provider, message)
        self.status_code = status_code
        self.body = body[:BODY_LIMIT]
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.request_id = request_id
        self.vendor_code = vendor_code
        self.vendor_message = vendor_message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_http_error, (type(self), self.provider, self.detail, self._state()))

    def _state(self) -> dict[str, Any]:
        return {
            "status_code": self.status_code,
            "body": self.body,
            "headers": self.headers,
            "request_id": self.request_id,
            "vendor_code": self.vendor_code,
            "vendor_message": self.vendor_message,
        }

    def recast(self, cls: type[_H], message: str | None = None) -> _H:
        """The same HTTP failure as another class of the tree (status, body, headers and request id kept).

        Adapters use it to say what a vendor-specific answer means, e.g. a purchase's 409 or 422
        "not available" as :class:`NumberUnavailableError`.

        Args:
            cls: the class to rebuild the error as.
            message: a new message (without the provider prefix); default: this error's.
        """
        return cls(self.provider, self.detail if message is None else message, **ProviderHTTPError._state(self))


def _rebuild_http_error(
    cls: type[ProviderHTTPError], provider: str, message: str, state: dict[str, Any]
) -> ProviderHTTPError:
    return cls(provider, message, **state)


class BadRequestError(ProviderHTTPError):
    """Raised on 400, 409 and 422: the vendor refused the request as asked; retrying will not help."""


class ReservationRequiredError(BadRequestError):
    """Raised when a vendor refuses a purchase because the number was not reserved first.

    A vendor may document that an item "must be reserved" before it is bought without documenting how;
    numbroker cannot reserve, so this is a refusal of the provider (buy-cheapest stops using it for the run).
    """


class CoolOffError(BadRequestError):
    """Raised when a vendor refuses to move a number until a cool-off ends (a number used recently, say).

    ``.until`` is when it ends (ISO 8601 text as the vendor wrote it, or None) and ``.remaining_seconds``
    the time left, as the vendor says; nothing was changed.
    """

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        status_code: int = 409,
        until: str | None = None,
        remaining_seconds: int | None = None,
        **state: Any,
    ) -> None:
        super().__init__(provider, message, status_code=status_code, **state)
        self.until = until
        self.remaining_seconds = remaining_seconds

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "until": self.until, "remaining_seconds": self.remaining_seconds}


class AuthenticationError(ProviderHTTPError):
    """Raised on 401: credentials are missing, wrong, revoked or expired."""


class PermissionDeniedError(AuthenticationError):
    """Raised on 403: the credentials are valid but lack a permission (e.g. write, to buy)."""


class InsufficientFundsError(ProviderHTTPError):
    """Raised on 402 and on vendor-specific balance refusals: the account cannot pay."""


class NotFoundError(ProviderHTTPError):
    """Raised on 404: the resource does not exist, e.g. a number no longer in inventory."""


class NumberUnavailableError(NotFoundError):
    """Raised when a purchase finds the number gone: already taken, released or never stocked.

    Whatever the vendor's status (404, 409, or a 422 saying "not available"), nothing was bought, so
    buy-cheapest goes on with the next candidate.
    """


class RateLimitedError(ProviderHTTPError):
    """Raised on 429; ``.retry_after`` is the parsed ``Retry-After`` in seconds, or None."""

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        status_code: int = 429,
        body: str = "",
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
        vendor_code: str | None = None,
        vendor_message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            provider,
            message,
            status_code=status_code,
            body=body,
            headers=headers,
            request_id=request_id,
            vendor_code=vendor_code,
            vendor_message=vendor_message,
        )
        self.retry_after = retry_after

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "retry_after": self.retry_after}


class ProviderUnavailableError(ProviderHTTPError):
    """Raised on 5xx: the vendor failed; safe to retry for reads, ambiguous for purchases."""


class DebitFailedError(ProviderUnavailableError):
    """Raised on a purchase's 5xx whose body says the account could not be debited.

    One vendor documents that an insufficient balance "currently surfaces as a 500" after the purchase
    was rolled back. A 5xx is also what a crash after the commit looks like, so buy-cheapest still treats
    the outcome as ambiguous (it confirms ownership before going on), and stops using the provider.
    """


class ProviderTimeoutError(ProviderError, TimeoutError):
    """Raised when a provider does not answer within its timeout or the search deadline."""


class ProviderConnectionError(ProviderError, ConnectionError):
    """Raised when the connection to a provider fails or drops mid-response."""


class ProviderResponseError(ProviderError):
    """Raised when a response cannot be used: unparseable, wrongly shaped, oversized, or looping pages."""


class OtherNumberSoldError(ProviderResponseError):
    """Raised when a purchase was answered with another number than the one asked for.

    ``sold`` is that number in canonical E.164 (None when the vendor's text is not a phone number): the
    account may own it, so a purchase run records and counts it, and never releases it while it is owned.
    """

    def __init__(self, provider: str, message: str, *, sold: str | None = None) -> None:
        super().__init__(provider, message)
        self.sold = sold

    def __reduce__(self) -> tuple[Any, ...]:
        return (_other_number_sold, (self.provider, self.detail, self.sold))


def _other_number_sold(provider: str, message: str, sold: str | None) -> OtherNumberSoldError:
    return OtherNumberSoldError(provider, message, sold=sold)


class FieldError(ValueError):
    """A wire value that cannot be turned into what the model needs.

    Raised by the converters; adapters let it propagate and the provider base class turns it
    into a :class:`~numbroker.RejectedRecord` naming the field, the value and the reason.
    """

    def __init__(self, reason: str, *, field: str | None = None, value: object = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.value = value


def validation_summary(exc: Exception) -> str:
    """A validation error as one line, ``field: reason; field: reason``, for a message that says what to fix.

    A pydantic ``ValidationError`` loses its input dump, documentation URL and the ``Value error, ``
    prefix; any other exception is its own message. Whitespace runs become single spaces.
    """
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = []
        for error in errors(include_url=False, include_input=False):
            message = str(error.get("msg", "")).removeprefix("Value error, ")
            location = ".".join(str(part) for part in error.get("loc", ()))
            parts.append(f"{location}: {message}" if location else message)
        text = "; ".join(parts)
    else:
        text = str(exc)
    return " ".join(text.split())
