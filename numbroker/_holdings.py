"""What the accounts own: every provider's owned list read at once, summarized, and reconciled with the ledger.

:func:`owned` (and :func:`owned_sync`) collects one portfolio across providers; :func:`stream_owned` hands
each number on as its page arrives and keeps only the summary (bounded memory for large portfolios). Each
provider is read by its owned-list hook with the search's deadline, retries and reports; one provider's
failure is its report's, never the others'. Numbers are sorted by provider then E.164.

The ledger is only read: :meth:`~numbroker.ledger.Ledger.attempts` for each provider's account key.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING, Any

import anyio
from pydantic import BaseModel, ConfigDict, Field, field_validator

from numbroker._exceptions import (
    ConfigurationError,
    ProviderError,
    PurchaseError,
)
from numbroker._inputs import check_seconds
from numbroker._models import RejectedRecord
from numbroker._money import FieldError, Money
from numbroker._owned import OwnedNumber, OwnedQuery, OwnedView, PriceSource
from numbroker._phone import validate_country
from numbroker._pricing import EXACT, ExchangeRates, convert, money_json, shown_converted
from numbroker._reports import OverallStatus, ProviderReport, ProviderStatus, overall_status, status_for
from numbroker._types import NumberType
from numbroker.adapters import OwnedPageResult, Provider, ProviderRun, RequestSlots

if TYPE_CHECKING:
    from numbroker.ledger import Ledger

__all__ = [
    "DEFAULT_RENEWING_WITHIN",
    "OwnedFilters",
    "OwnedResult",
    "OwnedSummary",
    "ProviderHoldings",
    "Reconciliation",
    "ReconciliationEntry",
    "owned",
    "owned_sync",
    "stream_owned",
]

logger = logging.getLogger("numbroker.search")

DEFAULT_RENEWING_WITHIN = 14
"""Days ahead a renewal counts as due soon (a weekly check then flags every renewal before it falls due)."""
DEFAULT_DEADLINE = 60.0
"""Seconds reading every owned list may take by default."""
REJECTED_KEPT = 1000
"""Rejected records kept in a result (all are counted); each owned list hands on at most its first 100."""

NumberSink = Callable[[OwnedNumber], Awaitable[None] | None]


class OwnedFilters(BaseModel):
    """Which owned numbers to show (the summary and the reconciliation always cover every listed number).

    Attributes:
        country: ISO 3166-1 alpha-2 country, or None for all.
        number_type: one kind of number, or None for all.
        unrouted: only numbers known to route nowhere (``routed`` is false).
        renewing_within: the days ahead a renewal counts as due soon (``renewing_soon``); with
            ``renewing_only``, only such numbers are shown.
        renewing_only: only numbers renewing within ``renewing_within`` days.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    country: str | None = None
    number_type: NumberType | None = None
    unrouted: bool = False
    renewing_within: int = Field(default=DEFAULT_RENEWING_WITHIN, ge=0, le=3660)
    renewing_only: bool = False

    @field_validator("country")
    @classmethod
    def _check_country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return validate_country(value)
        except FieldError as exc:
            raise ValueError(exc.reason) from None

    def keeps(self, number: OwnedNumber, today: date) -> bool:
        """True when ``number`` passes every filter."""
        return (
            (self.country is None or number.country == self.country)
            and (self.number_type is None or number.number_type is self.number_type)
            and (not self.unrouted or number.routed is False)
            and (not self.renewing_only or number.renews_within(self.renewing_within, today))
        )


class ProviderHoldings(BaseModel):
    """One provider's part of the summary.

    Attributes:
        numbers: numbers listed.
        monthly: the monthly total per currency (numbers with a known price), exact.
        price_unknown: numbers without a known monthly price.
        unrouted: numbers known to route nowhere.
        renewing_soon: numbers whose renewal falls within the summary's days (or is overdue).
    """

    model_config = ConfigDict(extra="forbid")

    numbers: int = 0
    monthly: dict[str, Decimal] = {}
    price_unknown: int = 0
    unrouted: int = 0
    renewing_soon: int = 0


class OwnedSummary(BaseModel):
    """The portfolio in figures: per provider, the monthly totals per currency, and one converted total.

    Attributes:
        renewing_within: the days ahead ``renewing_soon`` counts.
        by_provider: each provider's figures.
        monthly_total: the monthly total per currency across providers (currencies are never added raw).
        currency: the currency asked for the converted total, if any.
        converted_monthly_total: every known monthly price converted to ``currency`` and added; None
            without a currency, or when some currency has no rate (``unconverted`` names them): never a
            partial sum presented as the whole.
        unconverted: the currencies with prices that could not be converted.
    """

    model_config = ConfigDict(extra="forbid")

    renewing_within: int = DEFAULT_RENEWING_WITHIN
    by_provider: dict[str, ProviderHoldings] = {}
    monthly_total: dict[str, Decimal] = {}
    currency: str | None = None
    converted_monthly_total: Money | None = None
    unconverted: list[str] = []

    def add(self, number: OwnedNumber, today: date) -> None:
        """Count one listed number."""
        holdings = self.by_provider.setdefault(number.provider, ProviderHoldings())
        holdings.numbers += 1
        if number.monthly_price is None:
            holdings.price_unknown += 1
        else:
            price = number.monthly_price
            with localcontext(EXACT):
                holdings.monthly[price.currency] = holdings.monthly.get(price.currency, Decimal(0)) + price.amount
        holdings.unrouted += number.routed is False
        holdings.renewing_soon += number.renews_within(self.renewing_within, today)

    def finish(self, currency: str | None, rates: ExchangeRates | None) -> None:
        """Add the per-currency totals, and convert them to ``currency`` when asked."""
        totals: dict[str, Decimal] = {}
        with localcontext(EXACT):
            for holdings in self.by_provider.values():
                for code, amount in holdings.monthly.items():
                    totals[code] = totals.get(code, Decimal(0)) + amount
        self.monthly_total = dict(sorted(totals.items()))
        self.currency = currency
        if currency is None:
            return
        converted = Decimal(0)
        missing: list[str] = []
        with localcontext(EXACT):
            for code, amount in self.monthly_total.items():
                value = convert(Money(amount=amount, currency=code), currency, rates)
                if value is None:
                    missing.append(code)
                else:
                    converted += value.amount
        self.unconverted = missing
        self.converted_monthly_total = None if missing else Money(amount=converted, currency=currency)

    def to_json_dict(self) -> dict[str, Any]:
        """The summary's JSON form: amounts as exact decimal strings."""
        return {
            "renewing_within": self.renewing_within,
            "by_provider": {
                pid: {
                    "numbers": h.numbers,
                    "monthly": {code: str(amount) for code, amount in sorted(h.monthly.items())},
                    "price_unknown": h.price_unknown,
                    "unrouted": h.unrouted,
                    "renewing_soon": h.renewing_soon,
                }
                for pid, h in self.by_provider.items()
            },
            "monthly_total": {code: str(amount) for code, amount in self.monthly_total.items()},
            "currency": self.currency,
            "converted_monthly_total": money_json(shown_converted(self.converted_monthly_total)),
            "unconverted": self.unconverted,
        }


class ReconciliationEntry(BaseModel):
    """One number on which the ledger and a vendor's owned list disagree.

    Attributes:
        provider: the provider id.
        e164: the number.
        ledger_state: the state of the ledger's newest attempt on the number (``bought``, ``released``).
        attempt_id: that attempt's id (``numbroker ledger`` shows it).
        recorded_at: when that attempt was last written.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str
    e164: str
    ledger_state: str
    attempt_id: int
    recorded_at: datetime


class Reconciliation(BaseModel):
    """The ledger against the vendors' owned lists.

    Attributes:
        missing_at_vendor: numbers the ledger says numbroker bought that the vendor no longer lists.
        still_listed: numbers the ledger says were not bought or were given back that the vendor still
            lists: still billed.
        not_in_ledger: per provider, how many listed numbers the ledger has no attempt for.
        unchecked: providers whose owned list was not read completely: nothing is claimed about them.
    """

    model_config = ConfigDict(extra="forbid")

    missing_at_vendor: list[ReconciliationEntry] = []
    still_listed: list[ReconciliationEntry] = []
    not_in_ledger: dict[str, int] = {}
    unchecked: list[str] = []


class OwnedResult(BaseModel):
    """Everything one read of the owned lists found.

    Attributes:
        query: whose numbers were listed.
        filters: which were shown.
        status: ``complete`` when every asked provider answered, ``partial``, or ``failed``.
        numbers: the numbers shown, sorted by provider then E.164 (empty from :func:`stream_owned`).
        providers: one report per provider (``offers`` counts numbers listed).
        rejected: vendor records that could not be read (at most :data:`REJECTED_KEPT`).
        rejected_total: how many records were rejected.
        summary: the figures, over every listed number.
        reconciliation: the ledger against the lists, or None without a ledger.
    """

    model_config = ConfigDict(extra="forbid")

    query: OwnedQuery
    filters: OwnedFilters
    status: OverallStatus
    numbers: list[OwnedNumber]
    providers: list[ProviderReport]
    rejected: list[RejectedRecord]
    rejected_total: int = 0
    summary: OwnedSummary
    reconciliation: Reconciliation | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON document: ``status``, ``numbers``, ``providers``, ``rejected``, ``summary``, ``reconciliation``."""
        return {
            "status": self.status.value,
            "query": self.query.model_dump(mode="json"),
            "numbers": [n.model_dump(mode="json") for n in self.numbers],
            "providers": [p.model_dump(mode="json") for p in self.providers],
            "rejected": [r.model_dump(mode="json") for r in self.rejected],
            "rejected_total": self.rejected_total,
            "summary": self.summary.to_json_dict(),
            "reconciliation": None if self.reconciliation is None else self.reconciliation.model_dump(mode="json"),
        }


@dataclass
class _Portfolio:
    """One read's mutable state."""

    filters: OwnedFilters
    today: date
    summary: OwnedSummary
    keep_listed: bool
    rejected: list[RejectedRecord] = field(default_factory=list)
    listed: dict[str, set[str]] = field(default_factory=dict)


def _asks(provider: Provider, query: OwnedQuery) -> str | None:
    """Why ``provider`` is not asked for ``query`` (None when it is)."""
    declared = provider.after_purchase
    if not provider.lists_owned() or (declared is not None and not declared.can_list):
        return f"{provider.id}: cannot list its numbers"
    if query.view is not OwnedView.ACCOUNT and (declared is None or not declared.partner_views):
        return f"{provider.id}: has no partner views"
    return None


async def _read_owned(
    provider: Provider, sink: Callable[[OwnedPageResult], Awaitable[None]], query: OwnedQuery, run: ProviderRun
) -> tuple[ProviderStatus, str | None, str | None]:
    """Read ``provider``'s owned list into ``sink``: its status, error and error type (a failure contained)."""
    try:
        await provider.stream_owned(sink, query=query, run=run)
    except ProviderError as exc:
        return status_for(exc), str(exc), type(exc).__name__
    except (PurchaseError, ConfigurationError) as exc:  # cannot list, or lacks a setting the list needs
        return ProviderStatus.ERROR, str(exc), type(exc).__name__
    except Exception as exc:
        # Contained to this provider: its data must never take the others' lists down.
        logger.error("%s: unexpected %s while listing owned numbers", provider.id, type(exc).__name__)
        return (
            ProviderStatus.ERROR,
            f"{provider.id}: unexpected error while listing its numbers: {type(exc).__name__}",
            type(exc).__name__,
        )
    return ProviderStatus.OK, None, None


async def stream_owned(
    providers: Sequence[Provider],
    on_number: NumberSink,
    *,
    query: OwnedQuery | None = None,
    filters: OwnedFilters | None = None,
    currency: str | None = None,
    rates: ExchangeRates | None = None,
    ledger: Ledger | None = None,
    deadline: float = DEFAULT_DEADLINE,
    skipped: dict[str, list[str]] | None = None,
    today: date | None = None,
) -> OwnedResult:
    """Read every provider's owned list, handing each number that passes ``filters`` to ``on_number`` as it arrives.

    Only the summary is kept (and, with a ledger, each provider's listed E.164s for the reconciliation),
    so memory stays flat however large the portfolio. The result's ``numbers`` is empty.

    Args:
        providers: the providers to read (ids must be unique); one that cannot list its numbers, or has no
            partner views when ``query`` asks for one, is reported ``skipped`` with the reason.
        on_number: called (or awaited) with each number shown, per provider in page order.
        query: whose numbers (default: the configured accounts').
        filters: which numbers to show; ``renewing_within`` also sets the summary's days.
        currency: convert the summary's monthly total to this currency (ISO 4217).
        rates: the exchange rates for that conversion.
        ledger: reconcile with this purchase ledger (read only); account views only.
        deadline: seconds the whole read may take.
        skipped: provider id → missing environment variables, reported ``skipped``.
        today: the date renewals are counted from (default: today in UTC).

    Raises:
        ConfigurationError: ids are not unique, the deadline is not a positive number, or a ledger was given
            for a partner view.
    """
    query = query or OwnedQuery()
    filters = filters or OwnedFilters()
    ids = [p.id for p in providers]
    if len(ids) != len(set(ids)):
        raise ConfigurationError(f"provider ids must be unique, got {ids}")
    seconds = check_seconds("deadline", deadline)
    if ledger is not None and query.view is not OwnedView.ACCOUNT:
        raise ConfigurationError("the ledger is reconciled with the accounts' own numbers, not a partner's views")
    state = _Portfolio(
        filters=filters,
        today=today or datetime.now(UTC).date(),
        summary=OwnedSummary(renewing_within=filters.renewing_within),
        keep_listed=ledger is not None,
    )
    reports: dict[str, ProviderReport] = {}
    ends = anyio.current_time() + seconds
    limiter = RequestSlots(16)

    async def run(provider: Provider) -> None:
        reason = _asks(provider, query)
        if reason is not None:
            reports[provider.id] = ProviderReport(provider=provider.id, status=ProviderStatus.SKIPPED, error=reason)
            return
        run_state = ProviderRun(limiter=limiter)
        started = anyio.current_time()
        listed = state.listed.setdefault(provider.id, set()) if state.keep_listed else None
        bought = _ledger_prices(ledger, provider) if ledger is not None else {}

        async def sink(page: OwnedPageResult) -> None:
            state.rejected.extend(page.rejected[: max(0, REJECTED_KEPT - len(state.rejected))])
            for number in page.numbers:
                if number.monthly_price is None and (price := bought.get(number.e164)) is not None:
                    number = number.with_price(price, PriceSource.LEDGER)
                state.summary.add(number, state.today)
                if listed is not None and provider._is_held(number):
                    listed.add(number.e164)
                if filters.keeps(number, state.today):
                    result = on_number(number)
                    if result is not None:
                        await result

        with anyio.CancelScope(deadline=ends) as scope:
            status, error, error_type = await _read_owned(provider, sink, query, run_state)
        if scope.cancelled_caught:
            status = ProviderStatus.TIMEOUT
            error = f"{provider.id}: no complete owned list within {seconds:g}s"
            error_type = "ProviderTimeoutError"
        stats = run_state.stats
        reports[provider.id] = ProviderReport.from_stats(
            provider.id,
            status,
            stats,
            elapsed_ms=round((anyio.current_time() - started) * 1000),
            error=provider.redact(error) if error else None,
            error_type=error_type,
            notes=[provider.redact(note) for note in stats.report_notes()],
        )

    async with anyio.create_task_group() as tg:
        for provider in providers:
            tg.start_soon(run, provider)
    ordered = [reports[p.id] for p in providers]
    ordered += [
        ProviderReport(provider=pid, status=ProviderStatus.SKIPPED, missing_env=missing, error="not configured")
        for pid, missing in (skipped or {}).items()
    ]
    state.summary.finish(currency, rates)
    reconciliation = None
    if ledger is not None:
        reconciliation = reconcile(ledger, providers, reports, state.listed)
    return OwnedResult(
        query=query,
        filters=filters,
        status=overall_status(ordered),
        numbers=[],
        providers=ordered,
        rejected=state.rejected,
        rejected_total=sum(report.rejected for report in ordered),  # those counted but not kept too
        summary=state.summary,
        reconciliation=reconciliation,
    )


def _ledger_prices(ledger: Ledger, provider: Provider) -> dict[str, Money]:
    """The monthly price the ledger recorded for each number numbroker bought on ``provider``'s account.

    The ledger records a purchase's first bill. Only where the vendor states no setup fee
    (``states_setup_prices`` is False: none is charged) is that first bill the monthly price; for any
    other vendor it may include a setup fee, so no price is taken from it (never a guess).
    """
    from numbroker.ledger import AttemptState

    if provider.states_setup_prices:
        return {}
    prices: dict[str, Money] = {}
    for attempt in ledger.attempts(accounts=[provider.account_key()], states=[AttemptState.BOUGHT]):
        for e164 in attempt.numbers:  # oldest first: the newest purchase of a number wins
            prices[e164] = Money(amount=attempt.amount, currency=attempt.currency)
    return prices


def reconcile(
    ledger: Ledger, providers: Iterable[Provider], reports: dict[str, ProviderReport], listed: dict[str, set[str]]
) -> Reconciliation:
    """The ledger's newest attempt on each number against what each vendor lists (the ledger is only read).

    A provider whose list was not read completely (failed, truncated, or not asked) is ``unchecked``: a
    number missing from a partial list proves nothing.
    """
    from numbroker.ledger import AttemptState

    result = Reconciliation()
    for provider in providers:
        report = reports.get(provider.id)
        if report is None or report.status.failed or report.status is ProviderStatus.SKIPPED or report.truncated:
            if report is not None and report.status is not ProviderStatus.SKIPPED:
                result.unchecked.append(provider.id)
            continue
        numbers = listed.get(provider.id, set())
        newest = {attempt.e164: attempt for attempt in ledger.attempts(accounts=[provider.account_key()])}
        for e164, attempt in sorted(newest.items()):
            entry = ReconciliationEntry(
                provider=provider.id,
                e164=e164,
                ledger_state=attempt.state.value,
                attempt_id=attempt.id,
                recorded_at=attempt.updated_at,
            )
            if attempt.state is AttemptState.BOUGHT and e164 not in numbers:
                result.missing_at_vendor.append(entry)
            elif attempt.state is not AttemptState.BOUGHT and not attempt.unresolved and e164 in numbers:
                result.still_listed.append(entry)
        result.not_in_ledger[provider.id] = len(numbers - newest.keys())
    return result


async def owned(
    providers: Sequence[Provider],
    *,
    query: OwnedQuery | None = None,
    filters: OwnedFilters | None = None,
    currency: str | None = None,
    rates: ExchangeRates | None = None,
    ledger: Ledger | None = None,
    deadline: float = DEFAULT_DEADLINE,
    skipped: dict[str, list[str]] | None = None,
    today: date | None = None,
) -> OwnedResult:
    """Every owned number across ``providers``, sorted by provider then E.164, with the summary.

    Takes the arguments of :func:`stream_owned` (and raises the same), keeping the numbers shown.
    """
    numbers: list[OwnedNumber] = []
    result = await stream_owned(
        providers,
        numbers.append,
        query=query,
        filters=filters,
        currency=currency,
        rates=rates,
        ledger=ledger,
        deadline=deadline,
        skipped=skipped,
        today=today,
    )
    numbers.sort(key=lambda n: (n.provider, n.e164, n.provider_number_id))
    return result.model_copy(update={"numbers": numbers})


def owned_sync(providers: Sequence[Provider], **options: Any) -> OwnedResult:
    """:func:`owned` for synchronous code (runs its own event loop; not from inside one).

    The providers are closed at the end: their HTTP clients belong to the event loop this ran.
    """
    from numbroker._sync import run_sync

    async def main() -> OwnedResult:
        try:
            return await owned(providers, **options)
        finally:
            for provider in providers:
                await provider.aclose()

    return run_sync(main)
