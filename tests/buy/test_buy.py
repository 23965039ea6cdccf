"""buy-cheapest, the library, against the sandboxes in-process: order, caps, every failure class, the audit log."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import fields
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any, ClassVar

import anyio
import pytest

from numbroker import (
    AttemptOutcome,
    BuyResult,
    BuyStatus,
    BuyTerms,
    ConfigurationError,
    DebitFailedError,
    ExchangeRates,
    InsufficientFundsError,
    MissingCredentialsError,
    Money,
    NumberUnavailableError,
    PermissionDeniedError,
    PlanDecision,
    Provider,
    ProviderConnectionError,
    ProviderResponseError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    PurchaseError,
    PurchaseReceipt,
    RateLimitedError,
    ReservationRequiredError,
    RetryPolicy,
    Searcher,
    SearchQuery,
    buy_cheapest,
    buy_cheapest_sync,
)
from numbroker.buying import FailureKind, classify_purchase_error
from numbroker.buying._outcome import stops_provider
from numbroker.buying._terms import DEFAULT_CONFIRM_DELAY
from numbroker.sandbox import Faults, Sandbox, create_sandboxes, in_process_providers, serve_sandboxes
from numbroker.testing import FakeProvider, offer

US = SearchQuery(country="US")
FAST = RetryPolicy(attempts=3, initial=0.01, max_delay=0.02, jitter=0.0)
RATES = ExchangeRates.model_validate({"base": "USD", "rates": {"EUR": "0.9", "GBP": "0.8", "INR": "85"}})
TERMS = {f.name for f in fields(BuyTerms)}


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def purchase_posts(sandbox: Sandbox) -> int:
    return sum(1 for r in sandbox.log if r.endpoint == "purchase")


def owned_reads(sandbox: Sandbox) -> int:
    return sum(1 for r in sandbox.log if r.endpoint == "owned")


def bought_in(boxes: Mapping[str, Sandbox]) -> set[tuple[str, str]]:
    return {(pid, p.e164) for pid, box in boxes.items() for p in box.purchases}


def secrets(boxes: Mapping[str, Sandbox]) -> list[str]:
    return [value for box in boxes.values() for value in box.env.values()]


async def run_buy(
    boxes: Mapping[str, Sandbox],
    query: SearchQuery = US,
    *,
    before_buying: Callable[[BuyResult], None] | None = None,
    providers: list[Provider] | None = None,
    **options: Any,
) -> BuyResult:
    """buy_cheapest over ``boxes`` with test defaults; ``before_buying`` runs between the search and the buying."""
    options.setdefault("max_monthly", usd("3"))
    options.setdefault("max_first_bill", usd("4"))
    options.setdefault("rates", RATES)
    options.setdefault("confirm_delay", 0)
    options.setdefault("dry_run", False)
    options.setdefault("confirm_window", 0)  # these tests' owned lists never lag: "not owned" is final at once
    confirm = None
    if before_buying is not None:
        hook = before_buying

        def confirm(plan: BuyResult) -> bool:
            hook(plan)
            return True

    terms = BuyTerms(**{name: options.pop(name) for name in TERMS & options.keys()})
    built = providers if providers is not None else in_process_providers(boxes, retry=FAST)
    async with Searcher(built, own_providers=True) as searcher:
        return await buy_cheapest(searcher, query, terms, confirm=confirm, **options)


def take(boxes: Mapping[str, Sandbox], which: int = 0) -> Callable[[BuyResult], None]:
    """A before-buying hook: someone else buys the ``which``-th planned offer first."""

    def hook(plan: BuyResult) -> None:
        entry = plan.would_buy[which]
        box = boxes[entry.offer.provider]
        box.taken.add(entry.offer.offer_id)
        box.invalidate()

    return hook


# -- order, caps and budget -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_buys_the_smallest_first_bills_first_by_the_sandbox_truth() -> None:
    """Vobiz alone, USD only: the three bought are the three smallest setup+monthly (then monthly), by ground truth."""
    boxes = create_sandboxes(["vobiz"])

    result = await run_buy(boxes, quantity=3, rates=None, max_monthly=usd("100"), max_first_bill=usd("100"))

    truth = sorted(
        (r for r in boxes["vobiz"].records if r.expected_valid and r.country == "US" and r.currency == "USD"),
        key=lambda r: (r.upfront + r.monthly, r.monthly, r.e164),  # type: ignore[operator]
    )
    assert BuyStatus.COMPLETE == result.status
    assert [r.e164 for r in truth[:3]] == [a.e164 for a in result.bought]
    assert [r.offer_id for r in truth[:3]] == [p.offer_id for p in boxes["vobiz"].purchases]
    eligible = [e.first_bill.amount for e in result.plan if e.first_bill is not None and e.decision.value in (
        "attempted", "candidate")]  # fmt: skip
    assert sorted(eligible) == eligible


@pytest.mark.anyio
async def test_every_purchase_is_under_both_caps_and_the_budget() -> None:
    """Ten asked, a 2 USD budget: only what fits is bought; over-cap and over-budget offers are skipped, never sent."""
    boxes = create_sandboxes()
    result = await run_buy(boxes, quantity=10, max_monthly=usd("1.00"), max_first_bill=usd("1.20"), budget=usd("2.00"))

    assert BuyStatus.SHORT == result.status
    assert result.bought
    assert all(a.monthly.amount <= Decimal("1.00") and a.first_bill.amount <= Decimal("1.20") for a in result.bought)
    with localcontext(prec=100):
        assert sum(a.first_bill.amount for a in result.bought) == result.spent.amount <= Decimal("2.00")
    decisions = {e.decision for e in result.plan}
    assert {PlanDecision.OVER_MONTHLY_CAP, PlanDecision.OVER_FIRST_BILL_CAP, PlanDecision.OVER_BUDGET} <= decisions
    for entry in result.plan:
        if entry.decision is PlanDecision.OVER_MONTHLY_CAP:
            assert entry.monthly is not None and entry.monthly.amount > Decimal("1.00")
        if entry.decision is PlanDecision.OVER_FIRST_BILL_CAP:
            assert entry.first_bill is not None and entry.first_bill.amount > Decimal("1.20")
    assert {(a.provider, a.e164) for a in result.bought} == bought_in(boxes)


@pytest.mark.anyio
async def test_caps_are_required_before_anything_is_sent() -> None:
    """Without both caps nothing is searched or bought: PurchaseError."""
    boxes = create_sandboxes()

    with pytest.raises(PurchaseError, match="both caps"):
        await run_buy(boxes, max_first_bill=None)

    assert [] == [r for box in boxes.values() for r in box.log]


@pytest.mark.anyio
async def test_a_library_call_buys_only_when_asked_explicitly() -> None:
    """Like the command line without --yes, buy_cheapest plans by default; dry_run=False buys."""
    boxes = create_sandboxes(["vobiz"])
    async with Searcher(in_process_providers(boxes, retry=FAST), own_providers=True) as searcher:
        planned = await buy_cheapest(
            searcher, US, BuyTerms(max_monthly=usd("3"), max_first_bill=usd("4"), confirm_delay=0)
        )
    assert (True, BuyStatus.NONE, []) == (planned.dry_run, planned.status, planned.attempts)
    assert planned.would_buy and [] == boxes["vobiz"].purchases
    assert all(r.method == "GET" for r in boxes["vobiz"].log)


def test_the_sync_form_buys_only_when_asked_explicitly() -> None:
    boxes = create_sandboxes(["vobiz"])
    with serve_sandboxes(boxes) as urls:
        env = {**boxes["vobiz"].env, "VOBIZ_BASE_URL": urls["vobiz"]}
        synced = buy_cheapest_sync(US, BuyTerms(max_monthly=usd("1"), max_first_bill=usd("1")), env=env)
    assert synced.dry_run and [] == boxes["vobiz"].purchases


@pytest.mark.anyio
async def test_a_confirm_callback_without_dry_run_false_is_refused_before_any_request() -> None:
    boxes = create_sandboxes(["vobiz"])
    async with Searcher(in_process_providers(boxes, retry=FAST), own_providers=True) as searcher:
        with pytest.raises(ConfigurationError, match="pass dry_run=False"):
            terms = BuyTerms(max_monthly=usd("3"), max_first_bill=usd("4"))
            await buy_cheapest(searcher, US, terms, confirm=lambda _: True)
    assert [] == boxes["vobiz"].log


@pytest.mark.anyio
@pytest.mark.parametrize("cap", ["max_monthly", "max_first_bill", "budget"])
async def test_a_cap_of_the_wrong_type_is_named_with_what_it_should_be(cap: str) -> None:
    boxes = create_sandboxes(["vobiz"])
    with pytest.raises(ConfigurationError, match=rf"^{cap} must be Money, e\.g\. Money\(.*got str '2'$"):
        options: dict[str, Any] = {cap: "2"}
        await run_buy(boxes, **options)
    assert [] == [r for box in boxes.values() for r in box.log]


@pytest.mark.anyio
async def test_caps_and_budget_must_share_one_currency() -> None:
    """A cap in EUR beside one in USD is a configuration error, raised before any request."""
    boxes = create_sandboxes(["vobiz"])

    with pytest.raises(ConfigurationError, match="one currency"):
        await run_buy(boxes, max_first_bill=Money(amount=Decimal(4), currency="EUR"))

    assert [] == boxes["vobiz"].log


@pytest.mark.anyio
async def test_offers_that_cannot_be_compared_are_never_bought() -> None:
    """Without exchange rates, offers in other currencies are planned as not comparable and never sent."""
    boxes = create_sandboxes(["vobiz"])

    result = await run_buy(boxes, quantity=200, rates=None, max_monthly=usd("100"), max_first_bill=usd("100"))

    skipped = [e for e in result.plan if e.decision is PlanDecision.NOT_COMPARABLE]
    assert skipped
    assert all(e.offer.monthly_price is not None and e.offer.monthly_price.currency != "USD" for e in skipped)
    assert all(a.monthly_price is not None and a.monthly_price.currency == "USD" for a in result.attempts)


@pytest.mark.anyio
async def test_assumed_currencies_are_skipped_unless_allowed() -> None:
    """IdentityCall offers whose currency was assumed are not bought by default, and are candidates when allowed."""
    strict = await run_buy(create_sandboxes(["identitycall"]), quantity=200, dry_run=True)
    lenient = await run_buy(create_sandboxes(["identitycall"]), quantity=200, dry_run=True, allow_assumed_currency=True)

    assumed = {e.offer.offer_id for e in strict.plan if e.decision is PlanDecision.CURRENCY_ASSUMED}
    assert assumed
    assert all(
        e.offer.provider_details.get("currency_assumed") is True for e in strict.plan if e.offer.offer_id in assumed
    )
    assert not {e.offer.offer_id for e in strict.would_buy} & assumed
    assert {e.offer.offer_id for e in lenient.would_buy} & assumed


# -- each failure class ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_number_gone_meanwhile_moves_on_to_the_next_candidate() -> None:
    """Someone buys the cheapest between search and purchase: it is 'gone' and the next one is bought."""
    boxes = create_sandboxes()

    result = await run_buy(boxes, before_buying=take(boxes))

    assert [AttemptOutcome.GONE, AttemptOutcome.BOUGHT] == [a.outcome for a in result.attempts]
    assert "NumberUnavailableError" in (result.attempts[0].reason or "")
    assert BuyStatus.COMPLETE == result.status
    assert {(result.attempts[1].provider, result.attempts[1].e164)} == bought_in(boxes)
    assert result.attempts[0].provider not in result.dropped_providers


@pytest.mark.anyio
@pytest.mark.parametrize(("balance_error", "first_outcome"), [(402, "refused"), (500, "not_bought")])
async def test_insufficient_balance_drops_vobiz_and_buys_elsewhere(balance_error: int, first_outcome: str) -> None:
    """402 is a refusal; 500 is ambiguous, confirmed not owned; either way Vobiz is dropped and IdentityCall sells."""
    boxes = {
        **create_sandboxes(["vobiz"], balance=Decimal(0), balance_error=balance_error),
        **create_sandboxes(["identitycall"]),
    }

    result = await run_buy(boxes)

    first = result.attempts[0]
    assert ("vobiz", first_outcome) == (first.provider, first.outcome.value)
    expected_error = InsufficientFundsError if balance_error == 402 else DebitFailedError
    assert (first.reason or "").startswith(expected_error.__name__)
    assert "vobiz" in result.dropped_providers
    assert 1 == purchase_posts(boxes["vobiz"])
    assert [] == boxes["vobiz"].purchases
    assert (0 if balance_error == 402 else 2) == owned_reads(boxes["vobiz"])  # after the attempt, and a final check
    assert any(e.decision is PlanDecision.PROVIDER_DROPPED and e.offer.provider == "vobiz" for e in result.plan)
    assert BuyStatus.COMPLETE == result.status
    assert ["identitycall"] == [a.provider for a in result.bought]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("vendor", "options", "error"),
    [
        ("bird", {"require_reservation": True}, ReservationRequiredError),
        ("identitycall", {"read_only_key": True}, PermissionDeniedError),
    ],
)
async def test_a_refusing_provider_is_dropped_after_one_request(
    vendor: str, options: dict[str, Any], error: type[Exception]
) -> None:
    """Bird without a reservation, IdentityCall without write permission: one refused request, then no more."""
    boxes = create_sandboxes([vendor], **options)

    result = await run_buy(boxes, quantity=3, allow_assumed_currency=True)

    assert [AttemptOutcome.REFUSED] == [a.outcome for a in result.attempts]
    assert (result.attempts[0].reason or "").startswith(error.__name__)
    assert 1 == purchase_posts(boxes[vendor])
    assert [] == boxes[vendor].purchases
    assert BuyStatus.NONE == result.status


@pytest.mark.anyio
async def test_bird_without_a_workspace_refuses_before_sending() -> None:
    """No BIRD_WORKSPACE_ID: searching works, buying is refused naming the variable, and nothing is sent."""
    boxes = create_sandboxes(["bird"])
    del boxes["bird"].env["BIRD_WORKSPACE_ID"]

    result = await run_buy(boxes)

    assert [AttemptOutcome.REFUSED] == [a.outcome for a in result.attempts]
    assert MissingCredentialsError.__name__ in (result.attempts[0].reason or "")
    assert "BIRD_WORKSPACE_ID" in (result.attempts[0].reason or "")
    assert 0 == purchase_posts(boxes["bird"])


@pytest.mark.anyio
@pytest.mark.parametrize("vendor", ["vobiz", "bird", "identitycall"])
async def test_ambiguous_but_committed_is_a_success_without_a_second_purchase(vendor: str) -> None:
    """The vendor commits, then answers 502/504: the owned list confirms it; one request, one number."""
    boxes = create_sandboxes([vendor], faults=Faults(rate_ambiguous_after_commit=1.0))

    result = await run_buy(boxes)

    assert [AttemptOutcome.CONFIRMED_OWNED] == [a.outcome for a in result.attempts]
    assert BuyStatus.COMPLETE == result.status
    assert 1 == purchase_posts(boxes[vendor])
    assert [(vendor, result.bought[0].e164)] == [(vendor, p.e164) for p in boxes[vendor].purchases]
    assert "ambiguous_after_commit" == boxes[vendor].purchases[0].fault


@pytest.mark.anyio
async def test_ambiguous_and_not_committed_moves_on_without_retrying() -> None:
    """Vobiz answers 502/504 without committing: each attempt is confirmed not owned, never resent; Bird sells."""
    boxes = create_sandboxes(["vobiz", "bird"])
    boxes["vobiz"].faults = Faults(rate_ambiguous_before_commit=1.0)

    result = await run_buy(boxes)

    vobiz = [a for a in result.attempts if a.provider == "vobiz"]
    assert vobiz
    assert all(AttemptOutcome.NOT_BOUGHT is a.outcome for a in vobiz)
    assert len(vobiz) == purchase_posts(boxes["vobiz"])
    assert [] == boxes["vobiz"].purchases
    assert "vobiz" not in result.dropped_providers
    assert BuyStatus.COMPLETE == result.status
    assert ["bird"] == [a.provider for a in result.bought]


@pytest.mark.anyio
async def test_an_unconfirmable_outcome_stops_everything_as_unknown() -> None:
    """Committed, answered 502/504, and the owned list is down: status unknown, nothing else is tried."""
    boxes = create_sandboxes()

    def break_vobiz(plan: BuyResult) -> None:
        boxes["vobiz"].faults = Faults(rate_ambiguous_after_commit=1.0, rate_5xx=1.0)

    result = await run_buy(boxes, quantity=3, before_buying=break_vobiz)

    assert BuyStatus.UNKNOWN == result.status
    assert [AttemptOutcome.UNKNOWN] == [a.outcome for a in result.attempts]
    assert "ownership could not be confirmed" in (result.attempts[0].reason or "")
    assert 1 == sum(purchase_posts(box) for box in boxes.values())
    assert 1 == len(boxes["vobiz"].purchases)  # it did commit: exactly why a human must look
    not_reached = [e for e in result.plan if e.decision is PlanDecision.CANDIDATE]
    assert not_reached
    assert all("not reached" in (e.reason or "") for e in not_reached)


@pytest.mark.anyio
async def test_dry_run_sends_no_purchase_request_at_all(tmp_path: Path) -> None:
    """A dry run only searches: no POST, no owned-list read in any sandbox log; the plan says what it would buy."""
    boxes = create_sandboxes()
    audit = tmp_path / "audit.jsonl"

    result = await run_buy(boxes, quantity=2, dry_run=True, audit_log=audit)

    served = {(r.method, r.endpoint) for box in boxes.values() for r in box.log}
    assert ("GET", "search") in served and not {e for _, e in served} & {"purchase", "owned"}
    assert {"GET"} == {method for method, _ in served}
    assert (True, BuyStatus.NONE, []) == (result.dry_run, result.status, result.attempts)
    assert 2 == len(result.would_buy)
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(e.offer.provider, e.offer.e164) for e in result.would_buy] == [(r["provider"], r["e164"]) for r in lines]
    assert all(r["dry_run"] is True and r["outcome"] == "planned" for r in lines)


# -- the audit log ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_audit_log_has_a_durable_line_before_and_after_every_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pending line fsynced before each purchase request, outcome line after; matches the sandboxes; no secret."""
    boxes = create_sandboxes()
    boxes["vobiz"].faults = Faults(rate_ambiguous_after_commit=1.0)
    audit = tmp_path / "audit.jsonl"
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    providers = in_process_providers(boxes, retry=FAST)
    lines_when_sent: list[int] = []
    for provider in providers:
        send = provider.purchase

        async def watched(offer: Any, send: Any = send) -> PurchaseReceipt:
            lines_when_sent.append(len(audit.read_text().splitlines()))
            receipt: PurchaseReceipt = await send(offer)
            return receipt

        monkeypatch.setattr(provider, "purchase", watched)

    result = await run_buy(boxes, quantity=3, providers=providers, before_buying=take(boxes), audit_log=audit)

    text = audit.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert [1, 3, 5, 7] == lines_when_sent  # every earlier line, plus this attempt's pending line, already on disk
    assert len(lines) == len(synced)
    assert len(lines) == 2 * len(result.attempts)
    for attempt in result.attempts:
        pending, outcome = lines[2 * attempt.attempt - 2], lines[2 * attempt.attempt - 1]
        assert ("pending", attempt.outcome.value) == (pending["outcome"], outcome["outcome"])
        assert (attempt.attempt, attempt.provider, attempt.e164) == (
            outcome["attempt"],
            outcome["provider"],
            outcome["e164"],
        )
        assert attempt.first_bill.model_dump(mode="json") == outcome["first_bill"]
    assert {result.run_id} == {line["run_id"] for line in lines}
    fields = {"time", "run_id", "attempt", "provider", "offer_id", "e164", "setup_price", "monthly_price",
              "first_bill", "outcome", "reason", "request_id", "dry_run"}  # fmt: skip
    assert all(fields <= set(line) for line in lines)
    final = [line for line in lines if line["outcome"] in ("bought", "confirmed_owned")]
    assert {(line["provider"], line["e164"]) for line in final} == bought_in(boxes)
    assert [AttemptOutcome.GONE] == [a.outcome for a in result.attempts if not a.outcome.bought]
    for secret in secrets(boxes):
        assert secret not in text


@pytest.mark.anyio
async def test_an_audit_log_that_cannot_be_opened_stops_the_run_before_anything(tmp_path: Path) -> None:
    """The audit log's directory does not exist: PurchaseError, and no request was sent."""
    boxes = create_sandboxes(["vobiz"])

    with pytest.raises(PurchaseError, match="audit log"):
        await run_buy(boxes, audit_log=tmp_path / "missing" / "audit.jsonl")

    assert [] == boxes["vobiz"].log


# -- quantity, the same number, concurrency --------------------------------------------------------


@pytest.mark.anyio
async def test_quantity_above_one_buys_that_many_distinct_numbers_across_providers() -> None:
    """Twelve asked: twelve distinct numbers, each bought once, from several providers, in plan order."""
    boxes = create_sandboxes()

    result = await run_buy(boxes, quantity=12)

    numbers = [a.e164 for a in result.bought]
    assert (BuyStatus.COMPLETE, 12) == (result.status, len(numbers))
    assert len(set(numbers)) == 12
    assert {(a.provider, a.e164) for a in result.bought} == bought_in(boxes)
    assert 12 == sum(len(box.purchases) for box in boxes.values())
    assert len({a.provider for a in result.bought}) > 1
    attempted = [e.offer.e164 for e in result.plan if e.decision is PlanDecision.ATTEMPTED]
    assert numbers == attempted


@pytest.mark.anyio
async def test_a_number_tried_at_one_provider_is_never_tried_at_another() -> None:
    """The same E.164 offered by two providers: gone at the cheaper one, the dearer offer is skipped, not sent."""
    lanes = ["vobiz", "bird", "identitycall"]  # the sandboxes that offer the shared numbers
    boxes = create_sandboxes(lanes)
    dry = await run_buy(create_sandboxes(lanes), quantity=100, dry_run=True)
    shared = next(e for e in dry.would_buy if any(o.offer.e164 == e.offer.e164 and o is not e for o in dry.plan))

    def take_shared(plan: BuyResult) -> None:
        box = boxes[shared.offer.provider]
        box.taken.add(shared.offer.offer_id)
        box.invalidate()

    result = await run_buy(boxes, quantity=100, before_buying=take_shared)

    tried = [a.e164 for a in result.attempts]
    assert len(tried) == len(set(tried))
    assert AttemptOutcome.GONE == next(a.outcome for a in result.attempts if a.e164 == shared.offer.e164)
    others = [e for e in result.plan if e.offer.e164 == shared.offer.e164 and e.offer.provider != shared.offer.provider]
    others = [e for e in others if e.decision is not PlanDecision.CURRENCY_ASSUMED]  # never buyable anyway
    assert others
    assert all(PlanDecision.SAME_NUMBER is e.decision for e in others)
    assert shared.offer.e164 not in {e164 for _, e164 in bought_in(boxes)}


class Buyer(FakeProvider):
    """A fake provider that can buy: records purchases, can fail, and can commit 'late' (seen on a later read)."""

    supports_purchase: ClassVar[bool] = True

    def __init__(self, offers: list[Any], *, provider_id: str, fail: Exception | None = None, delay: float = 0.0):
        super().__init__(offers, provider_id=provider_id)
        self.fail = fail
        self.buy_delay = delay
        self.bought: list[str] = []
        self.late: list[str] = []
        self.reads = 0
        self.in_flight = 0
        self.max_in_flight = 0

    async def _purchase(self, offer: Any) -> PurchaseReceipt:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await anyio.sleep(self.buy_delay)
            if self.fail is not None:
                self.late.append(offer.e164)
                raise self.fail
            self.bought.append(offer.e164)
            return PurchaseReceipt(provider=self.id, offer_id=offer.offer_id, e164=offer.e164, vendor_id="n1")
        finally:
            self.in_flight -= 1

    async def _owned_numbers(self) -> AsyncIterator[str]:
        self.reads += 1
        for number in self.bought + (self.late if self.reads > 1 else []):
            yield number


@pytest.mark.anyio
async def test_a_late_commit_found_on_the_final_check_is_counted_and_reported() -> None:
    """Timed out, confirmed not owned, the next one bought; the final check finds the first owned: 2 > 1 is unknown."""
    late = Buyer([offer("+14155552671", provider="late", monthly="0.50")], provider_id="late",
                 fail=ProviderTimeoutError("late", "request timed out"))  # fmt: skip
    fine = Buyer([offer("+14155552672", provider="fine", monthly="0.60")], provider_id="fine")

    result = await run_buy({}, providers=[late, fine])

    assert [("late", AttemptOutcome.CONFIRMED_OWNED), ("fine", AttemptOutcome.BOUGHT)] == [
        (a.provider, a.outcome) for a in result.attempts
    ]
    assert "final check" in (result.attempts[0].reason or "")
    assert BuyStatus.UNKNOWN == result.status
    assert any("late commit" in note for note in result.notes)


@pytest.mark.anyio
async def test_purchases_never_overlap() -> None:
    """However slow each purchase, a run has at most one in flight."""
    slow_a = Buyer(
        [offer(f"+1415555{i:04d}", provider="a", monthly="1") for i in range(3)], provider_id="a", delay=0.05
    )
    slow_b = Buyer(
        [offer(f"+1212555{i:04d}", provider="b", monthly="1") for i in range(3)], provider_id="b", delay=0.05
    )

    result = await run_buy({}, providers=[slow_a, slow_b], quantity=6)

    assert 6 == len(result.bought)
    assert (1, 1) == (slow_a.max_in_flight, slow_b.max_in_flight)


@pytest.mark.anyio
async def test_a_provider_without_purchase_support_is_planned_but_never_asked() -> None:
    """Offers from a provider that cannot buy are listed as cannot_buy."""
    plain = FakeProvider([offer("+14155552671", monthly="0.10")])

    result = await run_buy({}, providers=[plain])

    assert [PlanDecision.CANNOT_BUY] == [e.decision for e in result.plan]
    assert (BuyStatus.NONE, []) == (result.status, result.attempts)


def test_the_sync_wrapper_buys_through_providers_from_the_environment() -> None:
    """buy_cheapest_sync builds providers from env (here: sandboxes on loopback) and buys."""
    boxes = create_sandboxes(["vobiz"])
    with serve_sandboxes(boxes) as urls:
        env = {**boxes["vobiz"].env, "VOBIZ_BASE_URL": urls["vobiz"]}

        result = buy_cheapest_sync(
            US,
            BuyTerms(max_monthly=usd("1"), max_first_bill=usd("1"), confirm_delay=0),
            env=env,
            backend="trio",
            dry_run=False,
        )

    assert BuyStatus.COMPLETE == result.status
    assert [result.bought[0].e164] == [p.e164 for p in boxes["vobiz"].purchases]


# -- the classification ----------------------------------------------------------------------------


def _http(cls: type[Any], status: int) -> Any:
    return cls("x", "failed", status_code=status)


@pytest.mark.parametrize(
    ("error", "kind", "stops"),
    [
        (_http(NumberUnavailableError, 409), FailureKind.GONE, False),
        (_http(InsufficientFundsError, 402), FailureKind.PROVIDER_REFUSED, True),
        (_http(PermissionDeniedError, 403), FailureKind.PROVIDER_REFUSED, True),
        (_http(ReservationRequiredError, 422), FailureKind.PROVIDER_REFUSED, True),
        (MissingCredentialsError("bird", {"workspace_id": "BIRD_WORKSPACE_ID"}), FailureKind.PROVIDER_REFUSED, True),
        (ProviderTimeoutError("x", "timed out"), FailureKind.AMBIGUOUS, False),
        (ProviderConnectionError("x", "dropped"), FailureKind.AMBIGUOUS, False),
        (_http(ProviderUnavailableError, 504), FailureKind.AMBIGUOUS, False),
        (_http(DebitFailedError, 500), FailureKind.AMBIGUOUS, True),
        (_http(RateLimitedError, 429), FailureKind.AMBIGUOUS, True),
        (ProviderResponseError("x", "2xx body unreadable"), FailureKind.AMBIGUOUS, False),
        (KeyError("bug after sending"), FailureKind.AMBIGUOUS, False),
    ],
)
def test_one_classification_of_purchase_failures(error: Exception, kind: FailureKind, stops: bool) -> None:
    """Each failure class maps to exactly one meaning, and says whether the provider is dropped."""
    assert (kind, stops) == (classify_purchase_error(error), stops_provider(error))


def test_the_default_confirm_delay_gives_a_slow_commit_time() -> None:
    """Real runs wait a little before reading the owned list after an ambiguous answer."""
    assert DEFAULT_CONFIRM_DELAY >= 1.0


@pytest.fixture(autouse=True)
def _no_stray_audit_logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests run in a temporary directory, so no default audit log can land in the checkout."""
    monkeypatch.chdir(tmp_path)
    yield
