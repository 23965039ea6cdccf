"""buy-cheapest: search, plan cheapest-first under hard caps, then buy one number at a time, safely.

The rules, each of which protects money:

* **Caps are required** (monthly price and first bill, plus an optional total budget), all in one
  currency. Prices are compared in it, converted with the caller's exchange rates; an offer whose price
  cannot be compared (no rate, no price, a currency the vendor did not state) is never bought.
* **Cheapest first**: by first bill (setup + first month), then monthly price, then provider and number.
* **One purchase at a time**, never more than ``quantity``, never the same E.164 twice in a run,
  never over a cap or the budget (the budget counts the first bills of everything bought).
* **Every failure is classified once** (:func:`~numbroker.classify_purchase_error`): ``gone`` → the next
  candidate; ``provider_refused`` → that provider is not asked again in this run; ``ambiguous`` (timeout,
  dropped connection, 5xx, 429, unreadable 2xx) → never retried: after ``confirm_delay`` seconds the
  account's own numbers are read; owned → success; not owned → the next candidate; cannot tell → the
  whole run stops with status ``unknown``, because guessing risks a double purchase.
  A 5xx whose body says the debit failed (:class:`~numbroker.DebitFailedError`, how one vendor reports an
  insufficient balance) is ambiguous too (the vendor says it was rolled back, but a crash after the commit
  looks the same), and it also drops that provider.
* **A final check**: every "confirmed not owned" number is checked once more at the end of the run, in
  case a slow vendor committed it late; one found owned then counts as bought (and the run reports
  ``unknown`` if that makes it exceed the quantity or the budget).
* **An audit log** (JSON lines, appended, flushed and fsynced): a ``pending`` line before each purchase
  request and a line with its outcome after it, so a crash between the two still leaves a trace.
  Nothing secret is written (every line passes through the providers' redaction).
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Context, Decimal
from enum import StrEnum
from typing import IO, Any

import anyio
import anyio.to_thread
from pydantic import BaseModel, ConfigDict

from numbroker._exceptions import ConfigurationError, NumbrokerError, PurchaseError
from numbroker._models import AvailableNumber, SearchQuery
from numbroker._money import Money
from numbroker._provider import Provider
from numbroker._purchase import FailureKind, PurchaseReceipt, classify_purchase_error, stops_provider
from numbroker._ranking import ExchangeRates
from numbroker._run import run_sync
from numbroker._search import DEFAULT_DEADLINE, OverallStatus, ProviderReport, Searcher
from numbroker._types import FilterSupport, QueryFilter

__all__ = [
    "DEFAULT_CONFIRM_DELAY",
    "AttemptOutcome",
    "BuyResult",
    "BuyStatus",
    "PlanDecision",
    "PlanEntry",
    "PurchaseAttempt",
    "buy_cheapest",
    "buy_cheapest_sync",
]

logger = logging.getLogger("numbroker.buy")

_EXACT = Context(prec=100)
"""Sums of prices: converted amounts carry 34 significant digits; adding them must not round (28 by default)."""

DEFAULT_CONFIRM_DELAY = 2.0
"""Seconds to wait after an ambiguous answer before reading the owned numbers (a slow commit may land)."""


class BuyStatus(StrEnum):
    """How a buy-cheapest run ended.

    ``complete``: bought the quantity asked. ``short``: bought some, fewer than asked. ``none``: bought
    nothing (always so for a dry run). ``unknown``: a purchase's outcome could not be confirmed (or a late
    commit made the run exceed its quantity or budget): a human must look before anything else is bought.
    """

    COMPLETE = "complete"
    SHORT = "short"
    NONE = "none"
    UNKNOWN = "unknown"


class AttemptOutcome(StrEnum):
    """What one purchase attempt came to.

    ``bought``: the vendor said so. ``confirmed_owned``: the answer was ambiguous and the number was then
    found among the account's own. ``gone``: no longer for sale. ``refused``: the provider will not sell
    as configured (balance, permission, credentials, reservation, a rejected request). ``not_bought``: the
    answer was ambiguous and the number was then confirmed not owned. ``unknown``: ambiguous and unconfirmable.
    """

    BOUGHT = "bought"
    CONFIRMED_OWNED = "confirmed_owned"
    GONE = "gone"
    REFUSED = "refused"
    NOT_BOUGHT = "not_bought"
    UNKNOWN = "unknown"

    @property
    def bought(self) -> bool:
        """True for the outcomes that mean the number is now the account's."""
        return self in (AttemptOutcome.BOUGHT, AttemptOutcome.CONFIRMED_OWNED)


class PlanDecision(StrEnum):
    """What the run decided about one offer of the plan.

    ``would_buy`` (dry run), ``attempted`` (see the entry's ``outcome``), ``candidate`` (eligible, not
    reached: the quantity was met, the run stopped, or it is a next candidate in a dry run); skipped:
    ``over_monthly_cap``, ``over_first_bill_cap``, ``over_budget``, ``price_unknown``, ``not_comparable``
    (no exchange rate), ``currency_assumed`` (the vendor stated no currency), ``cannot_buy`` (the provider
    has no purchase support), ``provider_dropped`` (refused earlier in the run), ``same_number`` (this
    E.164 was already tried at another provider).
    """

    WOULD_BUY = "would_buy"
    ATTEMPTED = "attempted"
    CANDIDATE = "candidate"
    OVER_MONTHLY_CAP = "over_monthly_cap"
    OVER_FIRST_BILL_CAP = "over_first_bill_cap"
    OVER_BUDGET = "over_budget"
    PRICE_UNKNOWN = "price_unknown"
    NOT_COMPARABLE = "not_comparable"
    CURRENCY_ASSUMED = "currency_assumed"
    CANNOT_BUY = "cannot_buy"
    PROVIDER_DROPPED = "provider_dropped"
    SAME_NUMBER = "same_number"


class PurchaseAttempt(BaseModel):
    """One purchase request and its outcome.

    Attributes:
        attempt: 1-based sequence number in the run (as in the audit log).
        provider: the provider id.
        offer_id: the offer asked for.
        e164: the number asked for.
        setup_price: the setup price as offered (original currency), or None.
        monthly_price: the monthly price as offered (original currency).
        monthly: the monthly price in the run's currency.
        first_bill: setup plus the first month in the run's currency (what the budget counts).
        outcome: see :class:`AttemptOutcome`.
        reason: why, for every outcome but a plain ``bought`` (no secrets).
        request_id: the vendor's request id, when it gave one.
        receipt: the receipt, for ``bought`` and ``confirmed_owned``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    attempt: int
    provider: str
    offer_id: str
    e164: str
    setup_price: Money | None
    monthly_price: Money | None
    monthly: Money
    first_bill: Money
    outcome: AttemptOutcome
    reason: str | None = None
    request_id: str | None = None
    receipt: PurchaseReceipt | None = None


class PlanEntry(BaseModel):
    """One offer of the plan, cheapest first, with what the run decided about it.

    Attributes:
        offer: the offer as the vendor priced it.
        monthly: its monthly price in the run's currency (None when unknown or not convertible).
        first_bill: setup plus first month in the run's currency (None likewise).
        decision: see :class:`PlanDecision`.
        outcome: for ``attempted``: the attempt's outcome.
        reason: a human-readable why, when there is more to say than the decision.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    offer: AvailableNumber
    monthly: Money | None = None
    first_bill: Money | None = None
    decision: PlanDecision
    outcome: AttemptOutcome | None = None
    reason: str | None = None


class BuyResult(BaseModel):
    """Everything a buy-cheapest run did, bought and skipped.

    Attributes:
        run_id: this run's id (also on every audit-log line).
        status: see :class:`BuyStatus`.
        dry_run: nothing was (or was to be) bought: the plan shows what would be.
        quantity: how many numbers were asked for.
        currency: the currency of the caps, the budget and every converted price.
        max_monthly: the cap on the monthly price.
        max_first_bill: the cap on the first bill (setup + first month).
        budget: the cap on the sum of first bills, if any.
        spent: the sum of the first bills of the numbers bought.
        attempts: every purchase attempt, in order.
        plan: every offer found, cheapest first (eligible ones first), with the decision about it.
        search_status: ``complete``, or ``partial``/``failed`` when providers failed (cheaper numbers may exist).
        providers: the search's report of each provider.
        dropped_providers: provider id → why it was not asked again in this run.
        notes: anything else worth knowing (a partial search, a late commit, an audit-log failure).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    status: BuyStatus
    dry_run: bool
    quantity: int
    currency: str
    max_monthly: Money
    max_first_bill: Money
    budget: Money | None = None
    spent: Money
    attempts: list[PurchaseAttempt] = []
    plan: list[PlanEntry] = []
    search_status: OverallStatus
    providers: list[ProviderReport] = []
    dropped_providers: dict[str, str] = {}
    notes: list[str] = []

    @property
    def bought(self) -> list[PurchaseAttempt]:
        """The attempts that bought a number, in order."""
        return [a for a in self.attempts if a.outcome.bought]

    @property
    def would_buy(self) -> list[PlanEntry]:
        """Dry run: the plan entries that would be bought, in order."""
        return [e for e in self.plan if e.decision is PlanDecision.WOULD_BUY]

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON document for scripts: the model's fields plus ``bought`` (amounts are strings)."""
        data = self.model_dump(mode="json")
        data["bought"] = [a.model_dump(mode="json") for a in self.bought]
        return data


# -- planning ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    """A plan entry while the run is deciding (PlanEntry is frozen)."""

    offer: AvailableNumber
    monthly: Money | None
    first_bill: Money | None
    decision: PlanDecision
    outcome: AttemptOutcome | None = None
    reason: str | None = None

    def entry(self) -> PlanEntry:
        return PlanEntry(
            offer=self.offer,
            monthly=self.monthly,
            first_bill=self.first_bill,
            decision=self.decision,
            outcome=self.outcome,
            reason=self.reason,
        )


def _convert(money: Money, currency: str, rates: ExchangeRates | None) -> Money | None:
    if money.currency == currency:
        return money
    return rates.convert(money, currency) if rates is not None else None


def _row(
    offer: AvailableNumber,
    provider: Provider | None,
    *,
    currency: str,
    rates: ExchangeRates | None,
    max_monthly: Money,
    max_first_bill: Money,
    allow_assumed_currency: bool,
) -> _Row:
    """Price one offer in the run's currency and decide whether it may be bought at all."""
    monthly: Money | None = None
    first_bill: Money | None = None
    price_problem: tuple[PlanDecision, str] | None = None
    if offer.monthly_price is None:
        price_problem = (PlanDecision.PRICE_UNKNOWN, "no monthly price")
    else:
        monthly = _convert(offer.monthly_price, currency, rates)
        setup: Money | None
        if offer.setup_price is not None:
            setup = _convert(offer.setup_price, currency, rates)
        elif (
            provider is not None
            and provider.filter_support.get(QueryFilter.MAX_SETUP_PRICE) is FilterSupport.UNSUPPORTED
        ):
            # The vendor has no setup price at all (its setup filter is unsupported): buying starts the
            # subscription only. Elsewhere a missing setup price is unknown, not zero.
            setup = Money.model_construct(amount=Decimal(0), currency=currency)
        else:
            setup = None
            price_problem = (
                PlanDecision.PRICE_UNKNOWN,
                "no setup price: the first bill cannot be proven under the cap",
            )
        if monthly is None or (offer.setup_price is not None and setup is None):
            unconvertible = {p.currency for p in (offer.setup_price, offer.monthly_price) if p is not None} - {currency}
            monthly = None
            price_problem = (
                PlanDecision.NOT_COMPARABLE,
                f"no exchange rate from {', '.join(sorted(unconvertible))} to {currency}",
            )
        elif setup is not None:
            original = offer.setup_price
            if original is not None and original.currency == offer.monthly_price.currency != currency:
                # One conversion of the exact sum, rather than a sum of two rounded conversions.
                total = Money.model_construct(
                    amount=_EXACT.add(original.amount, offer.monthly_price.amount), currency=original.currency
                )
                first_bill = _convert(total, currency, rates)
            else:
                first_bill = Money.model_construct(amount=_EXACT.add(setup.amount, monthly.amount), currency=currency)
    if price_problem is None and (monthly is None or first_bill is None):  # pragma: no cover - defensive
        price_problem = (PlanDecision.NOT_COMPARABLE, f"the price could not be expressed in {currency}")
    row = _Row(offer, monthly, first_bill, PlanDecision.CANDIDATE)
    if provider is None or not provider.supports_purchase:
        row.decision, row.reason = PlanDecision.CANNOT_BUY, f"{offer.provider} cannot buy numbers"
    elif offer.provider_details.get("currency_assumed") is True and not allow_assumed_currency:
        row.decision, row.reason = PlanDecision.CURRENCY_ASSUMED, "the vendor stated no currency; it was assumed"
    elif price_problem is not None:
        row.decision, row.reason = price_problem
    elif monthly is not None and monthly.amount > max_monthly.amount:
        row.decision = PlanDecision.OVER_MONTHLY_CAP
    elif first_bill is not None and first_bill.amount > max_first_bill.amount:
        row.decision = PlanDecision.OVER_FIRST_BILL_CAP
    return row


def _order(row: _Row) -> tuple[Any, ...]:
    """Eligible first; then by first bill, monthly, provider, number and offer id."""
    unpriced = row.first_bill is None or row.monthly is None
    return (
        row.decision is not PlanDecision.CANDIDATE,
        unpriced,
        row.first_bill.amount if row.first_bill is not None else Decimal(0),
        row.monthly.amount if row.monthly is not None else Decimal(0),
        row.offer.provider,
        row.offer.e164,
        row.offer.offer_id,
    )


# -- the audit log ----------------------------------------------------------------------------------


class _AuditLog:
    """Appends one JSON object per line; every line is flushed and fsynced before ``write`` returns.

    The path is checked when the run starts (so a bad path fails before anything is searched or bought),
    but the file is only created by the first line: a run that buys nothing and plans nothing leaves none.
    """

    def __init__(self, path: str | os.PathLike[str] | None, redact: Callable[[str], str]) -> None:
        self.path = None if path is None else os.fspath(path)
        self._redact = redact
        self._file: IO[str] | None = None
        if self.path is not None:
            target = self.path
            if os.path.isdir(target):
                raise PurchaseError(f"the audit log {target!r} is a directory")
            where = target if os.path.exists(target) else (os.path.dirname(target) or ".")
            if not os.path.isdir(os.path.dirname(target) or ".") or not os.access(where, os.W_OK):
                raise PurchaseError(f"cannot write the audit log {target!r}")

    def write(self, record: Mapping[str, Any]) -> None:
        """Append ``record`` durably. Raises OSError when the disk refuses."""
        if self.path is None:
            return
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the run
        line = self._redact(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        self._file.write(line + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _money_json(money: Money | None) -> dict[str, Any] | None:
    return None if money is None else money.model_dump(mode="json")


# -- the run ----------------------------------------------------------------------------------------


class _Run:
    """The mutable state of one run: walks the plan, records attempts, writes the audit log."""

    def __init__(
        self,
        *,
        providers: Mapping[str, Provider],
        quantity: int,
        budget: Money | None,
        currency: str,
        audit: _AuditLog,
        confirm_delay: float,
        run_id: str,
        dry_run: bool,
    ) -> None:
        self.providers = providers
        self.quantity = quantity
        self.budget = budget
        self.currency = currency
        self.audit = audit
        self.confirm_delay = confirm_delay
        self.run_id = run_id
        self.dry_run = dry_run
        self.attempts: list[PurchaseAttempt] = []
        self.rows_by_attempt: dict[int, _Row] = {}
        self.bought = 0
        self.spent = Decimal(0)
        self.tried: set[str] = set()
        self.dropped: dict[str, str] = {}
        self.stopped: str | None = None
        self.notes: list[str] = []

    # -- shared by the walk and the dry run --

    def _skip(self, row: _Row) -> bool:
        """Mark ``row`` skipped when its provider was dropped, its number tried, or it breaks the budget."""
        offer = row.offer
        if offer.provider in self.dropped:
            row.decision, row.reason = PlanDecision.PROVIDER_DROPPED, self.dropped[offer.provider]
        elif offer.e164 in self.tried:
            row.decision, row.reason = PlanDecision.SAME_NUMBER, f"{offer.e164} was already tried in this run"
        elif (
            self.budget is not None
            and row.first_bill is not None
            and (_EXACT.add(self.spent, row.first_bill.amount) > self.budget.amount)
        ):
            left = _EXACT.subtract(self.budget.amount, self.spent)
            row.decision, row.reason = PlanDecision.OVER_BUDGET, f"{left} {self.currency} of the budget left"
        else:
            return False
        return True

    def _done(self) -> bool:
        return self.stopped is not None or self.bought >= self.quantity

    def plan_only(self, rows: Sequence[_Row]) -> None:
        """Dry run: mark what the walk would attempt if every purchase succeeded."""
        for row in rows:
            if row.decision is not PlanDecision.CANDIDATE or self._done() or self._skip(row):
                continue
            row.decision = PlanDecision.WOULD_BUY
            self.tried.add(row.offer.e164)
            self.bought += 1
            assert row.first_bill is not None
            self.spent = _EXACT.add(self.spent, row.first_bill.amount)
            self._log(len(self.tried), row, outcome="planned")
        self.bought, self.spent = 0, Decimal(0)

    async def walk(self, rows: Sequence[_Row]) -> None:
        """Attempt the candidates in order until the quantity is bought, the plan ends or the run stops."""
        for row in rows:
            if row.decision is not PlanDecision.CANDIDATE or self._done() or self._skip(row):
                continue
            await self._attempt(row)

    # -- one attempt --

    def _log(
        self,
        seq: int,
        row: _Row,
        *,
        outcome: str,
        reason: str | None = None,
        request_id: str | None = None,
        receipt: PurchaseReceipt | None = None,
    ) -> bool:
        offer = row.offer
        record = {
            "time": _now(),
            "run_id": self.run_id,
            "attempt": seq,
            "dry_run": self.dry_run,
            "provider": offer.provider,
            "offer_id": offer.offer_id,
            "e164": offer.e164,
            "setup_price": _money_json(offer.setup_price),
            "monthly_price": _money_json(offer.monthly_price),
            "monthly": _money_json(row.monthly),
            "first_bill": _money_json(row.first_bill),
            "outcome": outcome,
            "reason": reason,
            "request_id": request_id,
            "vendor_id": receipt.vendor_id if receipt is not None else None,
        }
        try:
            self.audit.write(record)
        except OSError as exc:
            note = f"the audit log could not be written ({exc.strerror}); stopped before any further purchase"
            if note not in self.notes:
                self.notes.append(note)
            self.stopped = self.stopped or "audit log"
            logger.error("audit log write failed: %s", exc.strerror)
            return False
        return True

    def _describe(self, provider: Provider, exc: BaseException) -> str:
        return f"{type(exc).__name__}: {self._redact(provider, str(exc))}"

    @staticmethod
    def _redact(provider: Provider, text: str) -> str:
        return provider.redact(text)[:600]

    async def _attempt(self, row: _Row) -> None:
        offer = row.offer
        provider = self.providers[offer.provider]
        seq = len(self.attempts) + 1
        if not self._log(seq, row, outcome="pending"):
            row.reason = "not attempted: the audit log could not be written"
            return
        self.tried.add(offer.e164)
        row.decision = PlanDecision.ATTEMPTED
        outcome = AttemptOutcome.UNKNOWN
        reason: str | None = "interrupted before the outcome was known"
        request_id: str | None = None
        receipt: PurchaseReceipt | None = None
        try:
            try:
                receipt = await provider.purchase(offer)
                outcome, reason, request_id = AttemptOutcome.BOUGHT, None, receipt.request_id
            except Exception as exc:
                outcome, reason, request_id, receipt = await self._after_failure(provider, offer, exc)
        finally:
            # Recorded whatever happens, cancellation included (the outcome is then unknown).
            self._record(seq, row, outcome, reason, request_id, receipt)

    def _record(
        self,
        seq: int,
        row: _Row,
        outcome: AttemptOutcome,
        reason: str | None,
        request_id: str | None,
        receipt: PurchaseReceipt | None,
    ) -> None:
        offer = row.offer
        assert row.monthly is not None and row.first_bill is not None
        attempt = PurchaseAttempt(
            attempt=seq,
            provider=offer.provider,
            offer_id=offer.offer_id,
            e164=offer.e164,
            setup_price=offer.setup_price,
            monthly_price=offer.monthly_price,
            monthly=row.monthly,
            first_bill=row.first_bill,
            outcome=outcome,
            reason=reason,
            request_id=request_id,
            receipt=receipt,
        )
        if seq <= len(self.attempts):
            self.attempts[seq - 1] = attempt
        else:
            self.attempts.append(attempt)
        self.rows_by_attempt[seq] = row
        row.outcome, row.reason = outcome, reason
        if outcome.bought:
            self.bought += 1
            self.spent = _EXACT.add(self.spent, row.first_bill.amount)
        if outcome is AttemptOutcome.UNKNOWN:
            self.stopped = f"the outcome of buying {offer.e164} at {offer.provider} is unknown"
        logger.info("%s %s: %s%s", offer.provider, offer.e164, outcome.value, f" ({reason})" if reason else "")
        self._log(seq, row, outcome=outcome.value, reason=reason, request_id=request_id, receipt=receipt)

    async def _after_failure(
        self, provider: Provider, offer: AvailableNumber, exc: Exception
    ) -> tuple[AttemptOutcome, str, str | None, PurchaseReceipt | None]:
        kind = classify_purchase_error(exc)
        request_id = getattr(exc, "request_id", None)
        request_id = request_id if isinstance(request_id, str) else None
        reason = self._describe(provider, exc)
        if not isinstance(exc, NumbrokerError):
            logger.warning("%s: unexpected %s while buying; treated as ambiguous", provider.id, type(exc).__name__)
        if kind is FailureKind.GONE:
            return AttemptOutcome.GONE, reason, request_id, None
        if kind is FailureKind.PROVIDER_REFUSED:
            self.dropped[provider.id] = reason
            return AttemptOutcome.REFUSED, reason, request_id, None
        if stops_provider(exc):
            self.dropped[provider.id] = reason
        if self.confirm_delay > 0:
            await anyio.sleep(self.confirm_delay)
        try:
            owned = await provider.owns(offer.e164)
        except Exception as check:
            return (
                AttemptOutcome.UNKNOWN,
                f"{reason}; ownership could not be confirmed: {self._describe(provider, check)}",
                request_id,
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
            return AttemptOutcome.CONFIRMED_OWNED, f"{reason}; then found among the owned numbers", request_id, receipt
        return AttemptOutcome.NOT_BOUGHT, f"{reason}; then confirmed not among the owned numbers", request_id, None

    async def final_check(self) -> None:
        """Look once more for every number confirmed not owned after an ambiguous answer (late commits)."""
        pending = [a for a in self.attempts if a.outcome is AttemptOutcome.NOT_BOUGHT]
        if not pending:
            return
        if self.confirm_delay > 0:
            await anyio.sleep(self.confirm_delay)
        for attempt in pending:
            provider = self.providers[attempt.provider]
            try:
                owned = await provider.owns(attempt.e164)
            except Exception as exc:
                self.notes.append(
                    f"the final ownership check of {attempt.e164} at {attempt.provider} failed "
                    f"({self._describe(provider, exc)}); the check right after the attempt said not owned"
                )
                continue
            if not owned:
                continue
            row = self.rows_by_attempt[attempt.attempt]
            receipt = PurchaseReceipt(
                provider=attempt.provider,
                offer_id=attempt.offer_id,
                e164=attempt.e164,
                request_id=attempt.request_id,
                details={"confirmed_by": "owned numbers (final check)"},
            )
            reason = f"{attempt.reason}; found owned on the final check (a late commit)"
            self.notes.append(f"{attempt.e164} at {attempt.provider} was committed late and is owned")
            self._record(attempt.attempt, row, AttemptOutcome.CONFIRMED_OWNED, reason, attempt.request_id, receipt)

    def status(self) -> BuyStatus:
        if any(a.outcome is AttemptOutcome.UNKNOWN for a in self.attempts):
            return BuyStatus.UNKNOWN
        if self.bought > self.quantity or (self.budget is not None and self.spent > self.budget.amount):
            self.notes.append(
                f"bought {self.bought} (first bills {self.spent} {self.currency}) against a quantity of "
                f"{self.quantity}"
                + (f" and a budget of {self.budget}" if self.budget is not None else "")
                + ": a late commit went over; a human must decide what to release"
            )
            return BuyStatus.UNKNOWN
        if self.bought == 0:
            return BuyStatus.NONE
        return BuyStatus.SHORT if self.bought < self.quantity else BuyStatus.COMPLETE


# -- the entry points -------------------------------------------------------------------------------


def _check_arguments(
    quantity: int, max_monthly: object, max_first_bill: object, budget: object, confirm_delay: float
) -> str:
    if not isinstance(max_monthly, Money) or not isinstance(max_first_bill, Money):
        raise PurchaseError("buying needs both caps: max_monthly and max_first_bill (Money)")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise ConfigurationError(f"quantity must be a whole number of at least 1, got {quantity!r}")
    if budget is not None and not isinstance(budget, Money):
        raise ConfigurationError("budget must be Money or None")
    currency = max_monthly.currency
    others = {m.currency for m in (max_first_bill, budget) if isinstance(m, Money)} - {currency}
    if others:
        raise ConfigurationError(
            f"the caps and the budget must be in one currency; got {currency} and {', '.join(sorted(others))}"
        )
    if confirm_delay < 0:
        raise ConfigurationError("confirm_delay must not be negative")
    return currency


async def buy_cheapest(
    searcher: Searcher,
    query: SearchQuery,
    *,
    max_monthly: Money,
    max_first_bill: Money,
    quantity: int = 1,
    budget: Money | None = None,
    rates: ExchangeRates | Mapping[str, Any] | None = None,
    audit_log: str | os.PathLike[str] | None = None,
    dry_run: bool = False,
    confirm: Callable[[BuyResult], bool] | None = None,
    allow_assumed_currency: bool = False,
    confirm_delay: float = DEFAULT_CONFIRM_DELAY,
) -> BuyResult:
    """Search, then buy the ``quantity`` cheapest numbers that fit every cap, one at a time.

    See the module documentation of ``numbroker._buy`` for the rules; in short: cheapest first by first
    bill then monthly price, sequential purchases, never over a cap or the budget, never the same number
    twice, and an ambiguous outcome is confirmed against the account's own numbers, never retried.

    Example:
        >>> async with Searcher.from_env() as searcher:                            # doctest: +SKIP
        ...     result = await buy_cheapest(
        ...         searcher, SearchQuery(country="US", prefix="212"),
        ...         max_monthly=Money(amount="2", currency="USD"),
        ...         max_first_bill=Money(amount="3", currency="USD"),
        ...         audit_log="numbroker-audit.jsonl",
        ...     )
        ...     print(result.status, [a.e164 for a in result.bought])

    Args:
        searcher: the providers to search and buy from (purchases go through the same instances).
        query: what to look for (a partial search is allowed; ``search_status`` says so).
        max_monthly: the hard cap on the monthly price; its currency is the run's currency.
        max_first_bill: the hard cap on setup + first month, in the same currency.
        quantity: how many numbers to buy.
        budget: a cap on the sum of the first bills of everything bought, in the same currency.
        rates: exchange rates for prices in other currencies (without one, such offers are never bought).
        audit_log: a JSON-lines file to append to (created if missing); a dry run writes ``planned`` lines.
        dry_run: plan only: nothing is bought and no purchase request is sent.
        confirm: called (in a worker thread) with the dry-run result before anything is bought; buying
            goes ahead only if it returns True (the command line's terminal prompt).
        allow_assumed_currency: also buy offers whose vendor stated no currency (it was assumed).
        confirm_delay: seconds to wait after an ambiguous answer before reading the owned numbers.

    Returns:
        The run's result (it never raises for a vendor's failure; see ``status``).

    Raises:
        PurchaseError: a cap is missing, or the audit log cannot be opened.
        ConfigurationError: an invalid argument (quantity, mixed currencies, rates).
    """
    currency = _check_arguments(quantity, max_monthly, max_first_bill, budget, confirm_delay)
    exchange = ExchangeRates.model_validate(rates) if isinstance(rates, Mapping) else rates
    providers = {p.id: p for p in searcher.providers}

    def redact(text: str) -> str:
        for provider in providers.values():
            text = provider.redact(text)
        return text

    audit = _AuditLog(audit_log, redact)
    run_id = uuid.uuid4().hex
    try:
        found = await searcher.search(query, rates=exchange, strict=False)
        rows = [
            _row(
                ranked.offer,
                providers.get(ranked.offer.provider),
                currency=currency,
                rates=exchange,
                max_monthly=max_monthly,
                max_first_bill=max_first_bill,
                allow_assumed_currency=allow_assumed_currency,
            )
            for ranked in found.offers
        ]
        rows.sort(key=_order)
        notes: list[str] = []
        if found.status is not OverallStatus.COMPLETE:
            failed = ", ".join(f"{r.provider} ({r.status.value})" for r in found.failures) or "none answered"
            notes.append(f"the search was {found.status.value}: {failed}; cheaper numbers may exist there")

        def make_run(is_dry: bool) -> _Run:
            return _Run(
                providers=providers,
                quantity=quantity,
                budget=budget,
                currency=currency,
                audit=audit,
                confirm_delay=confirm_delay,
                run_id=run_id,
                dry_run=is_dry,
            )

        def finish(run: _Run, final_rows: Sequence[_Row], is_dry: bool) -> BuyResult:
            status = BuyStatus.NONE if is_dry else run.status()
            for row in final_rows:
                if row.decision is PlanDecision.CANDIDATE and row.reason is None and run.stopped is not None:
                    row.reason = f"not reached: the run stopped ({run.stopped})"
            return BuyResult(
                run_id=run_id,
                status=status,
                dry_run=is_dry,
                quantity=quantity,
                currency=currency,
                max_monthly=max_monthly,
                max_first_bill=max_first_bill,
                budget=budget,
                spent=Money.model_construct(amount=run.spent, currency=currency),
                attempts=run.attempts,
                plan=[row.entry() for row in final_rows],
                search_status=found.status,
                providers=found.providers,
                dropped_providers=run.dropped,
                notes=notes + run.notes,
            )

        if dry_run or confirm is not None:
            preview_rows = [replace(row) for row in rows]
            preview = make_run(True)
            preview.audit = audit if dry_run else _AuditLog(None, redact)
            preview.plan_only(preview_rows)
            planned = finish(preview, preview_rows, True)
            if dry_run:
                return planned
            assert confirm is not None
            if not await anyio.to_thread.run_sync(confirm, planned):
                return planned.model_copy(update={"notes": [*planned.notes, "not confirmed: nothing was bought"]})
        run = make_run(False)
        await run.walk(rows)
        await run.final_check()
        return finish(run, rows, False)
    finally:
        audit.close()


def buy_cheapest_sync(
    query: SearchQuery | None = None,
    /,
    *,
    max_monthly: Money,
    max_first_bill: Money,
    quantity: int = 1,
    budget: Money | None = None,
    providers: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_DEADLINE,
    rates: ExchangeRates | Mapping[str, Any] | None = None,
    audit_log: str | os.PathLike[str] | None = None,
    dry_run: bool = False,
    allow_assumed_currency: bool = False,
    confirm_delay: float = DEFAULT_CONFIRM_DELAY,
    backend: str = "asyncio",
    **query_fields: Any,
) -> BuyResult:
    """Run :func:`buy_cheapest` synchronously over the providers configured in the environment.

    Example:
        >>> result = numbroker.buy_cheapest_sync(                                   # doctest: +SKIP
        ...     country="US", prefix="212",
        ...     max_monthly=Money(amount="2", currency="USD"), max_first_bill=Money(amount="3", currency="USD"),
        ...     audit_log="numbroker-audit.jsonl",
        ... )

    Args:
        query: a :class:`SearchQuery`, or leave it out and give its fields as keywords (``country=`` ...).
        max_monthly: see :func:`buy_cheapest`.
        max_first_bill: see :func:`buy_cheapest`.
        quantity: see :func:`buy_cheapest`.
        budget: see :func:`buy_cheapest`.
        providers: provider ids to use (default: every configured one).
        env: where credentials are read from (default ``os.environ``).
        timeout: the search's global deadline in seconds.
        rates: see :func:`buy_cheapest`.
        audit_log: see :func:`buy_cheapest`.
        dry_run: see :func:`buy_cheapest`.
        allow_assumed_currency: see :func:`buy_cheapest`.
        confirm_delay: see :func:`buy_cheapest`.
        backend: the anyio backend to run on (``asyncio`` or ``trio``).
        **query_fields: :class:`SearchQuery` fields when ``query`` is not given.
    """
    if query is None:
        query = SearchQuery.model_validate(query_fields)
    elif query_fields:
        raise ConfigurationError("give either a SearchQuery or its fields as keywords, not both")
    final = query

    async def main() -> BuyResult:
        async with Searcher.from_env(providers, env=env, timeout=timeout) as searcher:
            return await buy_cheapest(
                searcher,
                final,
                max_monthly=max_monthly,
                max_first_bill=max_first_bill,
                quantity=quantity,
                budget=budget,
                rates=rates,
                audit_log=audit_log,
                dry_run=dry_run,
                allow_assumed_currency=allow_assumed_currency,
                confirm_delay=confirm_delay,
            )

    return run_sync(main, backend=backend)
