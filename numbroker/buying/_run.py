"""One buy-cheapest run: walks the plan, attempts one purchase at a time, records every attempt.

A run is identified by its ``run_id`` (on the result and on every audit-log line). A dry run walks the
same plan without buying: it marks what would be bought if every purchase succeeded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal

import anyio

from numbroker._exceptions import NumbrokerError
from numbroker._models import AvailableNumber
from numbroker._money import Money
from numbroker._provider import Provider
from numbroker._receipts import PurchaseReceipt
from numbroker._reports import SearchResult
from numbroker.buying._audit import AuditLog, audit_record
from numbroker.buying._confirm import confirm_ownership, describe
from numbroker.buying._outcome import FailureKind, classify_purchase_error, stops_provider
from numbroker.buying._plan import PlanRow
from numbroker.buying._results import AttemptOutcome, BuyResult, BuyStatus, PlanDecision, PurchaseAttempt
from numbroker.buying._tally import Tally
from numbroker.buying._terms import BuyTerms

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
    ) -> None:
        self.providers = providers
        self.terms = terms
        self.audit = audit
        self.run_id = run_id
        self.dry_run = dry_run
        self.tally = Tally(terms)
        self.attempts: list[PurchaseAttempt] = []
        self.rows_by_attempt: dict[int, PlanRow] = {}
        self.notes: list[str] = []

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
            tally.count(row.first_bill)
            self._log(len(tally.tried), row, outcome="planned")
        tally.bought, tally.spent = 0, Decimal(0)

    async def walk(self, rows: Sequence[PlanRow]) -> None:
        """Attempt the candidates in order until the quantity is bought, the plan ends or the run stops."""
        tally = self.tally
        for row in rows:
            if row.decision is not PlanDecision.CANDIDATE or tally.done() or tally.skip(row):
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

    async def _attempt(self, row: PlanRow) -> None:
        offer = row.offer
        provider = self.providers[offer.provider]
        seq = len(self.attempts) + 1
        if not self._log(seq, row, outcome="pending"):
            row.reason = "not attempted: the audit log could not be written"
            return
        self.tally.tried.add(offer.e164)
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
            self._record(seq, row, (outcome, reason, request_id, receipt))

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
            provider, offer, exc, reason=reason, request_id=request_id, confirm_delay=self.terms.confirm_delay
        )
        return outcome, reason, request_id, receipt

    def _record(self, seq: int, row: PlanRow, result: _Outcome) -> None:
        """Record attempt ``seq`` (or replace it, after the final check): the attempts, the row, the tally, the log."""
        outcome, reason, request_id, receipt = result
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
            self.tally.count(row.first_bill)
        if outcome is AttemptOutcome.UNKNOWN:
            self.tally.stopped = f"the outcome of buying {offer.e164} at {offer.provider} is unknown"
        logger.info("%s %s: %s%s", offer.provider, offer.e164, outcome.value, f" ({reason})" if reason else "")
        self._log(seq, row, outcome=outcome.value, reason=reason, request_id=request_id, receipt=receipt)

    # -- the end of the run --

    async def final_check(self) -> None:
        """Look once more for every number confirmed not owned after an ambiguous answer (late commits)."""
        pending = [a for a in self.attempts if a.outcome is AttemptOutcome.NOT_BOUGHT]
        if not pending:
            return
        if self.terms.confirm_delay > 0:
            await anyio.sleep(self.terms.confirm_delay)
        for attempt in pending:
            provider = self.providers[attempt.provider]
            try:
                owned = await provider.owns(attempt.e164)
            except Exception as exc:
                self.notes.append(
                    f"the final ownership check of {attempt.e164} at {attempt.provider} failed "
                    f"({describe(provider, exc)}); the check right after the attempt said not owned"
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
            self._record(attempt.attempt, row, (AttemptOutcome.CONFIRMED_OWNED, reason, attempt.request_id, receipt))

    def status(self) -> BuyStatus:
        """How the run ended (a dry run's status is always ``none``)."""
        if self.dry_run:
            return BuyStatus.NONE
        if any(a.outcome is AttemptOutcome.UNKNOWN for a in self.attempts):
            return BuyStatus.UNKNOWN
        overrun = self.tally.overrun()
        if overrun is not None:
            self.notes.append(overrun)
            return BuyStatus.UNKNOWN
        if self.tally.bought == 0:
            return BuyStatus.NONE
        return BuyStatus.SHORT if self.tally.bought < self.terms.quantity else BuyStatus.COMPLETE

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
        )
