"""One buy-cheapest run: walks the plan, attempts one purchase at a time, records every attempt.

A run is identified by its ``run_id`` (on the result, on every audit-log line and on every ledger
attempt). Each attempt is written ``pending`` to the ledger, then to the audit log, before its request
is sent, and its outcome to both after; the request has a total deadline (``purchase_timeout``: the
whole response, not one read). A dry run walks the same plan without buying: it marks what would be
bought if every purchase succeeded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal

import anyio

from numbroker._exceptions import NumbrokerError, ProviderTimeoutError
from numbroker._models import AvailableNumber
from numbroker._money import Money
from numbroker._reports import SearchResult
from numbroker.adapters import Provider, PurchaseReceipt
from numbroker.buying._audit import PENDING, AuditLog, audit_record
from numbroker.buying._confirm import checked_owns, confirm_ownership, describe
from numbroker.buying._ledgering import LEDGER_STATE, Books
from numbroker.buying._outcome import FailureKind, classify_purchase_error, stops_provider
from numbroker.buying._plan import PlanRow
from numbroker.buying._results import (
    AttemptOutcome,
    BuyResult,
    BuyStatus,
    LedgerNote,
    PlanDecision,
    PurchaseAttempt,
)
from numbroker.buying._tally import Baseline, Tally
from numbroker.buying._terms import BuyTerms
from numbroker.ledger import LedgerError

__all__ = ["BuyRun"]

logger = logging.getLogger("numbroker.buy")

_Outcome = tuple[AttemptOutcome, str | None, str | None, PurchaseReceipt | None]
"""What came of one attempt: the outcome, the reason, the vendor's request id, the receipt."""


class BuyRun:
    """The mutable state of one run: walks the plan, records attempts, writes the audit log."""

    def __init__(
        self,
        *,
        providers: Mapping[str, Provider],
        terms: BuyTerms,
        audit: AuditLog,
        run_id: str,
        dry_run: bool,
        books: Books | None = None,
        accounts: Mapping[str, str] | None = None,
        base: Baseline | None = None,
        deadline: float | None = None,
    ) -> None:
        self.providers = providers
        self.terms = terms
        self.audit = audit
        self.run_id = run_id
        self.dry_run = dry_run
        self.books = books
        self.accounts = dict(accounts or {})
        self.deadline = deadline
        self.tally = Tally(terms, accounts=self.accounts, base=base or Baseline())
        self.attempts: list[PurchaseAttempt] = []
        self.rows_by_attempt: dict[int, PlanRow] = {}
        self.answered_at: dict[int, float] = {}
        self.notes: list[str] = []
        self.earlier: list[LedgerNote] = []
        self.recovered: list[LedgerNote] = []
        self.unresolved: list[LedgerNote] = []

    # -- walking the plan --

    def plan_only(self, rows: Sequence[PlanRow]) -> None:
        """Dry run: mark what the walk would attempt if every purchase succeeded."""
        tally = self.tally
        for row in rows:
            if row.decision is not PlanDecision.CANDIDATE or tally.done() or tally.skip(row):
                continue
            row.decision = PlanDecision.WOULD_BUY
            tally.tried.add(row.offer.e164)
            assert row.first_bill is not None
            tally.hold(row)
            tally.settle(row, bought=True)
            self._log(len(tally.tried), row, outcome="planned")
        tally.bought, tally.spent, tally.account_spent = 0, Decimal(0), {}

    async def walk(self, rows: Sequence[PlanRow]) -> None:
        """Attempt the candidates in order until the quantity is bought, the plan ends or the run stops."""
        tally = self.tally
        for row in rows:
            if row.decision is not PlanDecision.CANDIDATE or tally.done() or tally.skip(row):
                continue
            if self.deadline is not None and time.monotonic() >= self.deadline:
                tally.stopped = f"the run's {self.terms.run_timeout:g} s deadline passed"
                self.notes.append(f"the run's {self.terms.run_timeout:g} s deadline passed: no further purchase")
                continue
            await self._attempt(row)

    # -- one attempt --

    def _log(
        self,
        seq: int,
        row: PlanRow,
        *,
        outcome: str,
        reason: str | None = None,
        request_id: str | None = None,
        receipt: PurchaseReceipt | None = None,
    ) -> bool:
        """Write one audit-log line; when the disk refuses, note it and stop the run (False)."""
        record = audit_record(
            run_id=self.run_id,
            seq=seq,
            dry_run=self.dry_run,
            row=row,
            outcome=outcome,
            reason=reason,
            request_id=request_id,
            receipt=receipt,
        )
        try:
            self.audit.write(record)
        except OSError as exc:
            note = f"the audit log could not be written ({exc.strerror}); stopped before any further purchase"
            if note not in self.notes:
                self.notes.append(note)
            self.tally.stopped = self.tally.stopped or "audit log"
            logger.error("audit log write failed: %s", exc.strerror)
            return False
        return True

    def _stop_for_ledger(self, exc: LedgerError) -> None:
        note = f"the ledger could not be written ({exc}); stopped before any further purchase"
        if note not in self.notes:
            self.notes.append(note)
        self.tally.stopped = self.tally.stopped or "ledger"
        logger.error("ledger write failed: %s", exc)

    async def _attempt(self, row: PlanRow) -> None:
        offer = row.offer
        provider = self.providers[offer.provider]
        seq = len(self.attempts) + 1
        ledger_id: int | None = None
        if self.books is not None:
            try:
                ledger_id = await self.books.pending(row, self.accounts[offer.provider], self.terms.currency)
            except LedgerError as exc:
                self._stop_for_ledger(exc)
                row.reason = "not attempted: the ledger could not be written"
                return
        if not self._log(seq, row, outcome=PENDING):
            row.reason = "not attempted: the audit log could not be written"
            if self.books is not None and ledger_id is not None:
                try:
                    await self.books.settle(ledger_id, LEDGER_STATE[AttemptOutcome.NOT_BOUGHT], row.reason)
                except LedgerError as exc:
                    self._stop_for_ledger(exc)
            return
        self.tally.tried.add(offer.e164)
        self.tally.hold(row)
        row.decision = PlanDecision.ATTEMPTED
        outcome = AttemptOutcome.UNKNOWN
        reason: str | None = "interrupted before the outcome was known"
        request_id: str | None = None
        receipt: PurchaseReceipt | None = None
        try:
            try:
                receipt = await self._purchase(provider, offer)
                outcome, reason, request_id = AttemptOutcome.BOUGHT, None, receipt.request_id
            except Exception as exc:
                self.answered_at[seq] = time.monotonic()
                outcome, reason, request_id, receipt = await self._after_failure(provider, offer, exc)
        finally:
            # Recorded whatever happens, cancellation included (the outcome is then unknown).
            await self._record(seq, row, (outcome, reason, request_id, receipt), ledger_id=ledger_id)

    async def _purchase(self, provider: Provider, offer: AvailableNumber) -> PurchaseReceipt:
        """One purchase request, with a total deadline over the whole response (a slow drip included)."""
        timeout = self.terms.purchase_timeout
        try:
            with anyio.fail_after(timeout):
                return await provider.purchase(offer)
        except TimeoutError as exc:
            if isinstance(exc, ProviderTimeoutError):
                raise  # the provider's own timeout (an order still pending, say) keeps its meaning and message
            raise ProviderTimeoutError(
                provider.id, f"the purchase was not answered completely within the {timeout:g} s deadline"
            ) from None

    async def _after_failure(self, provider: Provider, offer: AvailableNumber, exc: Exception) -> _Outcome:
        """Classify a failed purchase once: gone, refused (the provider is dropped), or ambiguous (confirmed)."""
        kind = classify_purchase_error(exc)
        request_id = getattr(exc, "request_id", None)
        request_id = request_id if isinstance(request_id, str) else None
        reason = describe(provider, exc)
        if not isinstance(exc, NumbrokerError):
            logger.warning("%s: unexpected %s while buying; treated as ambiguous", provider.id, type(exc).__name__)
        if kind is FailureKind.GONE:
            return AttemptOutcome.GONE, reason, request_id, None
        if kind is FailureKind.PROVIDER_REFUSED:
            self.tally.dropped[provider.id] = reason
            return AttemptOutcome.REFUSED, reason, request_id, None
        if stops_provider(exc):
            self.tally.dropped[provider.id] = reason
        outcome, reason, receipt = await confirm_ownership(
            provider,
            offer,
            exc,
            reason=reason,
            request_id=request_id,
            confirm_delay=self.terms.confirm_delay,
            confirm_window=self.terms.confirm_window,
            within=self.terms.purchase_timeout,
        )
        if outcome is AttemptOutcome.AMBIGUOUS:
            self.tally.dropped[provider.id] = (
                f"an ambiguous answer for {offer.e164} is not confirmed owned yet: no further purchase there "
                "in this run"
            )
        return outcome, reason, request_id, receipt

    async def _record(self, seq: int, row: PlanRow, result: _Outcome, *, ledger_id: int | None) -> None:
        """Record attempt ``seq`` (or replace it, after the final check): ledger, attempts, row, tally, log."""
        outcome, reason, request_id, receipt = result
        previous = self.attempts[seq - 1].outcome if seq <= len(self.attempts) else None
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
            ledger_id=ledger_id,
        )
        if seq <= len(self.attempts):
            self.attempts[seq - 1] = attempt
        else:
            self.attempts.append(attempt)
        self.rows_by_attempt[seq] = row
        row.outcome, row.reason = outcome, reason
        self._count(row, previous, outcome)
        if self.books is not None and ledger_id is not None:
            try:
                await self.books.settle(ledger_id, LEDGER_STATE[outcome], reason)
            except LedgerError as exc:
                self._stop_for_ledger(exc)
        if outcome is AttemptOutcome.UNKNOWN:
            self.tally.stopped = f"the outcome of buying {offer.e164} at {offer.provider} is unknown"
        logger.info("%s %s: %s%s", offer.provider, offer.e164, outcome.value, f" ({reason})" if reason else "")
        self._log(seq, row, outcome=outcome.value, reason=reason, request_id=request_id, receipt=receipt)

    def _count(self, row: PlanRow, previous: AttemptOutcome | None, outcome: AttemptOutcome) -> None:
        """Count an attempt's outcome against the terms (``previous``: its outcome before the final check).

        What was held is settled; a number released, then found owned after all, is held and settled as bought.
        """
        held = previous is None or previous.unresolved
        if held and not outcome.unresolved:
            self.tally.settle(row, bought=outcome.bought)
        elif not held and outcome.bought and previous is not None and not previous.bought:
            self.tally.hold(row)
            self.tally.settle(row, bought=True)

    # -- the end of the run --

    async def final_check(self) -> None:
        """Look once more for every number not found owned after an ambiguous answer (late commits).

        An ``ambiguous`` attempt not found again is released (``not_bought``) once its confirm window has
        passed; within the window it stays unresolved.
        """
        pending = [a for a in self.attempts if a.outcome in (AttemptOutcome.NOT_BOUGHT, AttemptOutcome.AMBIGUOUS)]
        if not pending:
            return
        if self.terms.confirm_delay > 0:
            await anyio.sleep(self.terms.confirm_delay)
        for attempt in pending:
            provider = self.providers[attempt.provider]
            try:
                owned = await checked_owns(provider, attempt.e164, within=self.terms.purchase_timeout)
            except Exception as exc:
                self.notes.append(
                    f"the final ownership check of {attempt.e164} at {attempt.provider} failed "
                    f"({describe(provider, exc)}); the check right after the attempt said not owned"
                )
                continue
            row = self.rows_by_attempt[attempt.attempt]
            if not owned:
                since = time.monotonic() - self.answered_at.get(attempt.attempt, time.monotonic())
                if attempt.outcome is AttemptOutcome.AMBIGUOUS and since >= self.terms.confirm_window:
                    reason = f"{attempt.reason}; still not owned on the final check, after the confirm window"
                    await self._record(
                        attempt.attempt,
                        row,
                        (AttemptOutcome.NOT_BOUGHT, reason, attempt.request_id, None),
                        ledger_id=attempt.ledger_id,
                    )
                continue
            receipt = PurchaseReceipt(
                provider=attempt.provider,
                offer_id=attempt.offer_id,
                e164=attempt.e164,
                request_id=attempt.request_id,
                details={"confirmed_by": "owned numbers (final check)"},
            )
            reason = f"{attempt.reason}; found owned on the final check (a late commit)"
            self.notes.append(f"{attempt.e164} at {attempt.provider} was committed late and is owned")
            await self._record(
                attempt.attempt,
                row,
                (AttemptOutcome.CONFIRMED_OWNED, reason, attempt.request_id, receipt),
                ledger_id=attempt.ledger_id,
            )

    def status(self) -> BuyStatus:
        """How the run ended (a dry run's status is always ``none``)."""
        if self.dry_run:
            return BuyStatus.NONE
        if any(a.outcome.unresolved for a in self.attempts) or self.unresolved:
            return BuyStatus.UNKNOWN
        overrun = self.tally.overrun()
        if overrun is not None:
            self.notes.append(overrun)
            return BuyStatus.UNKNOWN
        bought = self.tally.total_bought()
        if bought == 0:
            return BuyStatus.NONE
        return BuyStatus.SHORT if bought < self.terms.quantity else BuyStatus.COMPLETE

    def result(self, rows: Sequence[PlanRow], search: SearchResult, notes: Sequence[str]) -> BuyResult:
        """The run's result: its status, attempts and ``rows`` as the plan; ``notes`` (the search's) come first."""
        terms = self.terms
        status = self.status()
        stopped = self.tally.stopped
        for row in rows:
            if row.decision is PlanDecision.CANDIDATE and row.reason is None and stopped is not None:
                row.reason = f"not reached: the run stopped ({stopped})"
        return BuyResult(
            run_id=self.run_id,
            status=status,
            dry_run=self.dry_run,
            quantity=terms.quantity,
            currency=terms.currency,
            max_monthly=terms.max_monthly,
            max_first_bill=terms.max_first_bill,
            budget=terms.budget,
            spent=Money.model_construct(amount=self.tally.spent, currency=terms.currency),
            attempts=self.attempts,
            plan=[row.entry() for row in rows],
            search_status=search.status,
            providers=search.providers,
            dropped_providers=self.tally.dropped,
            notes=[*notes, *self.notes],
            intent=self.books.intent if self.books is not None else None,
            ledger=self.books.ledger.describe() if self.books is not None else None,
            earlier_bought=self.earlier,
            recovered=self.recovered,
            unresolved=self.unresolved,
        )
