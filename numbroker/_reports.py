"""What a search reports: each provider's part, the ranked offers, the whole result. Data only, no I/O.

These values sit below the searcher, the ranker and the events (which all hand them around), and
import only the data modules, so nothing here can close an import cycle.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from numbroker._exceptions import NumbrokerError
from numbroker._models import AvailableNumber, RejectedRecord, SearchQuery
from numbroker._money import Money
from numbroker._pricing import money_json, shown_converted
from numbroker._types import SortKey

__all__ = [
    "IncompleteSearchError",
    "OverallStatus",
    "ProviderReport",
    "ProviderStatus",
    "RankedOffer",
    "SearchResult",
    "overall_status",
    "status_for",
]


class ProviderStatus(StrEnum):
    """What one provider did in a search.

    ``ok`` (offers), ``empty`` (answered, nothing matched), ``error``, ``timeout``, ``rate_limited``
    (still 429 after retries), ``auth_error`` (401/403), ``skipped`` (not configured).
    """

    OK = "ok"
    EMPTY = "empty"
    ERROR = "error"
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    AUTH_ERROR = "auth_error"
    SKIPPED = "skipped"

    @property
    def failed(self) -> bool:
        """True for statuses that mean the provider did not answer fully."""
        return self not in (ProviderStatus.OK, ProviderStatus.EMPTY, ProviderStatus.SKIPPED)


def status_for(error: Exception) -> ProviderStatus:
    """The status a provider that failed with ``error`` is reported with."""
    from numbroker._exceptions import AuthenticationError, ProviderTimeoutError, RateLimitedError

    if isinstance(error, ProviderTimeoutError):
        return ProviderStatus.TIMEOUT
    if isinstance(error, RateLimitedError):
        return ProviderStatus.RATE_LIMITED
    if isinstance(error, AuthenticationError):
        return ProviderStatus.AUTH_ERROR
    return ProviderStatus.ERROR


class OverallStatus(StrEnum):
    """How complete a search is.

    ``complete``: every queried provider answered. ``partial``: some failed. ``failed``: none answered.
    A provider that answered with records known missing says so itself (``truncated``, with a note on how
    to narrow the search): the search's status is about who answered, the provider's flag about what.
    """

    COMPLETE = "complete"
    PARTIAL = "partial"
    FAILED = "failed"


class ProviderReport(BaseModel):
    """A truthful account of one provider's part in a search.

    Attributes:
        provider: the provider id.
        status: see :class:`ProviderStatus`.
        offers: offers delivered that matched the number filters (before price caps and ranking).
        rejected: vendor records rejected as malformed.
        pages: pages fetched and normalized.
        requests: HTTP requests sent (retries included).
        retries: retries of failed idempotent requests.
        elapsed_ms: wall time of this provider's task.
        error: the failure, without secrets (None when it answered).
        error_type: the exception class name of the failure.
        unapplied_filters: query filters the vendor could not apply itself: ``emulated`` (applied by
            numbroker) or ``unsupported`` (no data to decide; such offers are excluded and counted).
        excluded: offers dropped by the number filters, by reason (``capabilities_unknown``, ``prefix``...).
        unpriced: offers with no price for the sort key (ranked last).
        duplicates: records the vendor served twice (delivered once).
        truncated: records are known to be missing: paging stopped at the page cap, or the vendor's pages
            were shorter than asked while its total said more exist (the notes say which). The search is
            then ``partial``, never ``complete``.
        notes: anything else worth knowing (lying totals, repeated pages).
        missing_env: for ``skipped``: the environment variables to set (names only).
    """

    model_config = ConfigDict(extra="forbid")

    provider: str
    status: ProviderStatus
    offers: int = 0
    rejected: int = 0
    pages: int = 0
    requests: int = 0
    retries: int = 0
    elapsed_ms: int = 0
    error: str | None = None
    error_type: str | None = None
    unapplied_filters: dict[str, str] = {}
    excluded: dict[str, int] = {}
    unpriced: int = 0
    duplicates: int = 0
    truncated: bool = False
    notes: list[str] = []
    missing_env: list[str] = []

    @classmethod
    def from_stats(
        cls,
        provider: str,
        status: ProviderStatus,
        stats: Any,
        *,
        elapsed_ms: int,
        error: str | None = None,
        error_type: str | None = None,
        **fields: Any,
    ) -> ProviderReport:
        """A report of one provider's run from its statistics (a :class:`~numbroker.adapters.ProviderStats`).

        ``ok`` with nothing delivered is reported ``empty``; ``fields`` are the report's other fields.
        """
        if status is ProviderStatus.OK and stats.offers == 0:
            status = ProviderStatus.EMPTY
        return cls(
            provider=provider,
            status=status,
            offers=stats.offers,
            rejected=stats.rejected,
            pages=stats.pages,
            requests=stats.requests,
            retries=stats.retries,
            elapsed_ms=elapsed_ms,
            error=error,
            error_type=error_type,
            duplicates=stats.duplicates,
            truncated=stats.truncated,
            **fields,
        )


def overall_status(reports: Iterable[ProviderReport]) -> OverallStatus:
    """``complete`` when every queried provider answered, ``partial`` when some did, else ``failed``.

    Truncation is reported per provider (``ProviderReport.truncated`` and its notes), not here.
    """
    queried = [r for r in reports if r.status is not ProviderStatus.SKIPPED]
    answered = [r for r in queried if not r.status.failed]
    if not queried or not answered:
        return OverallStatus.FAILED
    return OverallStatus.COMPLETE if len(answered) == len(queried) else OverallStatus.PARTIAL


class RankedOffer(BaseModel):
    """An offer in the ranking, with the prices it was ranked by.

    Attributes:
        offer: the offer as the vendor priced it (original currency untouched).
        rank_price: the value ranked by (in ``converted``'s currency when converting), or None if unpriced.
        converted_setup_price: setup price in the target currency, when a target currency was asked for.
        converted_monthly_price: monthly price in the target currency, likewise.
        alternatives: with one offer per number, the same E.164 offered by other providers (dearer or
            not comparable).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    offer: AvailableNumber
    rank_price: Money | None = None
    converted_setup_price: Money | None = None
    converted_monthly_price: Money | None = None
    alternatives: tuple[AvailableNumber, ...] = ()

    @property
    def rank_converted(self) -> bool:
        """True when :attr:`rank_price` was converted from another currency than the offer's own."""
        if self.rank_price is None or (self.converted_setup_price is None and self.converted_monthly_price is None):
            return False
        prices = (self.offer.setup_price, self.offer.monthly_price)
        return any(p is not None and p.currency != self.rank_price.currency for p in prices)

    def to_json_dict(self, *, compact: bool = False) -> dict[str, Any]:
        """The offer's contract fields, with ranking and converted prices beside them.

        Converted amounts are written rounded half-even to 6 decimal places when they have more; the
        order of the ranking was decided on the unrounded amounts.
        """
        data: dict[str, Any] = self.offer.model_dump(mode="json", exclude={"provider_details"} if compact else None)
        data["rank_price"] = money_json(shown_converted(self.rank_price) if self.rank_converted else self.rank_price)
        if self.converted_setup_price is not None or self.converted_monthly_price is not None:
            data["converted"] = {
                "setup_price": money_json(shown_converted(self.converted_setup_price)),
                "monthly_price": money_json(shown_converted(self.converted_monthly_price)),
            }
        if self.alternatives:
            data["alternatives"] = [
                a.model_dump(mode="json", exclude={"provider_details"} if compact else None) for a in self.alternatives
            ]
        return data


class SearchResult(BaseModel):
    """Everything a search found and did.

    Attributes:
        query: the query searched.
        status: ``complete``, ``partial`` or ``failed``.
        offers: ranked offers (best first), each with the prices it was ranked by.
        rejected: malformed vendor records (provider, offer id, field, value, reason).
        providers: one report per provider, skipped ones included.
        sort: the sort key used.
        months: the months used for the ``total`` key.
        currency: the target currency, if prices were converted.
        ranked_per_currency: the currencies ranked separately when offers came in several and no rates
            were given (offers in different currencies are never compared raw); empty otherwise.
        unconverted: offers left out because their currency had no exchange rate.
        excluded: offers left out by price caps, by reason.
        rejected_total: how many records were rejected (``rejected`` keeps at most the first 100 per provider).
    """

    model_config = ConfigDict(extra="forbid")

    query: SearchQuery
    status: OverallStatus
    offers: list[RankedOffer]
    rejected: list[RejectedRecord]
    providers: list[ProviderReport]
    sort: SortKey = SortKey.MONTHLY
    months: int = 12
    currency: str | None = None
    ranked_per_currency: list[str] = []
    unconverted: list[AvailableNumber] = []
    excluded: dict[str, int] = {}
    rejected_total: int = 0

    @property
    def numbers(self) -> list[AvailableNumber]:
        """The ranked offers as plain :class:`AvailableNumber` values."""
        return [r.offer for r in self.offers]

    @property
    def failures(self) -> list[ProviderReport]:
        """Reports of providers that failed."""
        return [r for r in self.providers if r.status.failed]

    def to_json_dict(self, *, compact: bool = False) -> dict[str, Any]:
        """The JSON document for scripts: ``status``, ``query``, ``offers``, ``providers``, ``rejected`` and more."""
        return {
            "status": self.status.value,
            "query": self.query.model_dump(mode="json"),
            "sort": self.sort.value,
            "months": self.months,
            "currency": self.currency,
            "ranked_per_currency": self.ranked_per_currency,
            "offers": [r.to_json_dict(compact=compact) for r in self.offers],
            "providers": [p.model_dump(mode="json") for p in self.providers],
            "rejected": [r.model_dump(mode="json") for r in self.rejected],
            "rejected_total": self.rejected_total,
            "unconverted": [o.model_dump(mode="json") for o in self.unconverted],
            "excluded": self.excluded,
        }


class IncompleteSearchError(NumbrokerError):
    """Raised by a strict search when any provider failed; ``.result`` holds what did arrive.

    A :class:`numbroker.NumbrokerError`, defined beside the result it carries.
    """

    def __init__(self, message: str, result: SearchResult | None = None) -> None:
        super().__init__(message)
        self.result = result

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.result))
