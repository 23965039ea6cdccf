"""The results of a buy-cheapest run: its status, each attempt and its outcome, each plan entry and its decision."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from numbroker._models import AvailableNumber
from numbroker._money import Money
from numbroker._reports import OverallStatus, ProviderReport
from numbroker.adapters import PurchaseReceipt

__all__ = ["AttemptOutcome", "BuyResult", "BuyStatus", "LedgerNote", "PlanDecision", "PlanEntry", "PurchaseAttempt"]


class BuyStatus(StrEnum):
    """How a buy-cheapest run ended.

    ``complete``: bought the quantity asked (counting what earlier runs of the same intent bought).
    ``short``: bought some, fewer than asked. ``none``: bought nothing (always so for a dry run).
    ``unknown``: a purchase's outcome could not be confirmed, an attempt is still unresolved in the ledger,
    or a late commit made the run exceed its quantity or budget: a human (or a later run's recovery) must
    settle it before anything else is bought on that account.
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
    answer was ambiguous and the number was then confirmed not owned, after the confirm window.
    ``ambiguous``: the answer was ambiguous and the number was not among the owned numbers yet, within the
    confirm window (an owned list may lag): it counts as spent until a later check settles it.
    ``unknown``: ambiguous and unconfirmable (or interrupted mid-request).
    """

    BOUGHT = "bought"
    CONFIRMED_OWNED = "confirmed_owned"
    GONE = "gone"
    REFUSED = "refused"
    NOT_BOUGHT = "not_bought"
    AMBIGUOUS = "ambiguous"
    UNKNOWN = "unknown"

    @property
    def bought(self) -> bool:
        """True for the outcomes that mean the number is now the account's."""
        return self in (AttemptOutcome.BOUGHT, AttemptOutcome.CONFIRMED_OWNED)

    @property
    def unresolved(self) -> bool:
        """True for the outcomes that leave open whether the number was bought (they count as spent)."""
        return self in (AttemptOutcome.AMBIGUOUS, AttemptOutcome.UNKNOWN)


class PlanDecision(StrEnum):
    """What the run decided about one offer of the plan.

    ``would_buy`` (dry run), ``attempted`` (see the entry's ``outcome``), ``candidate`` (eligible, not
    reached: the quantity was met, the run stopped, or it is a next candidate in a dry run); skipped:
    ``over_monthly_cap``, ``over_first_bill_cap``, ``over_budget``, ``price_unknown``, ``not_comparable``
    (no exchange rate), ``currency_assumed`` (the vendor stated no currency), ``cannot_buy`` (the provider
    has no purchase support), ``provider_dropped`` (refused earlier in the run, or an ambiguous answer
    not confirmed owned), ``same_number`` (this E.164 was already tried in this run, or the ledger says
    this account bought it or may have), ``over_spend_limit`` (the account's spend limit over the spend
    window, across every run sharing the ledger, leaves no room for it).
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
    OVER_SPEND_LIMIT = "over_spend_limit"


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
        ledger_id: the attempt's id in the purchase ledger (``numbroker ledger resolve ID``).
        sold: the number the vendor said it sold instead of ``e164``, if it named another one (that number
            is the one the account may own, and it counts like ``e164`` would have).
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
    ledger_id: int | None = None
    sold: str | None = None


class LedgerNote(BaseModel):
    """An attempt as the purchase ledger holds it (from this run or an earlier one).

    Attributes:
        id: its id in the ledger.
        intent: the intent it belongs to.
        run_id: the run that made it.
        provider: the provider id.
        e164: the number.
        first_bill: its first bill (what it costs if it was bought).
        state: its ledger state (``bought``, ``released``, ``pending``, ``ambiguous``, ``unknown`` ...).
        reason: why, as recorded.
        sold: the number the vendor said it sold instead, if it named another one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    intent: str
    run_id: str
    provider: str
    e164: str
    first_bill: Money
    state: str
    reason: str | None = None
    sold: str | None = None


class PlanEntry(BaseModel):
    """One offer of the plan, cheapest first, with what the run decided about it.

    Attributes:
        offer: the offer as the vendor priced it.
        monthly: its monthly price in the run's currency (None when unknown or not convertible).
        first_bill: setup plus first month in the run's currency (None likewise).
        committed: what buying commits to, in the run's currency: setup plus the longer of one month and
            the offer's minimum commitment (the first bill when it has none). The first-bill cap applies
            to it: an offer whose commitment costs more than the cap is ``over_first_bill_cap``.
        decision: see :class:`PlanDecision`.
        outcome: for ``attempted``: the attempt's outcome.
        reason: a human-readable why, when there is more to say than the decision.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    offer: AvailableNumber
    monthly: Money | None = None
    first_bill: Money | None = None
    committed: Money | None = None
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
        intent: the intent this run worked on (its ``idempotency_key``, or a fresh one per run).
        ledger: where the purchase ledger is (a path, or a database URL without its password).
        earlier_bought: what earlier runs of the same intent bought (counted toward quantity and budget).
        recovered: unresolved attempts of earlier runs this run settled before buying (bought or released).
        unresolved: attempts still unresolved when the run ended: settle them before buying again.
        replayed: the intent was already finished: nothing was searched or bought; this is its result.
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
    intent: str | None = None
    ledger: str | None = None
    earlier_bought: list[LedgerNote] = []
    recovered: list[LedgerNote] = []
    unresolved: list[LedgerNote] = []
    replayed: bool = False

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
