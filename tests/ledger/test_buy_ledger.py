"""buy-cheapest on the purchase ledger, in-process against the sandboxes, on SQLite and on PostgreSQL.

Every rule of the ledger flow: pending before the request, idempotent reruns, recovery of what earlier
runs left unresolved, conservative accounting of ambiguous answers, spend limits across runs, never the
same number twice on one account, deadlines, the purchaser lock and the audit log's torn lines.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from numbroker import (
    AttemptOutcome,
    BuyResult,
    BuyStatus,
    BuyTerms,
    ConfigurationError,
    Money,
    PlanDecision,
    Provider,
    PurchaseReceipt,
    RetryPolicy,
    Searcher,
    SearchQuery,
    buy_cheapest,
)
from numbroker.buying._terms import parse_duration
from numbroker.ledger import AttemptState, IntentStatus, Ledger, LedgerBusyError, open_ledger
from numbroker.sandbox import Faults, Sandbox, create_sandboxes, in_process_providers

US = SearchQuery(country="US")
FAST = RetryPolicy(attempts=2, initial=0.01, max_delay=0.02, jitter=0.0)
TERMS = {f.name for f in fields(BuyTerms)}


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def posts(box: Sandbox) -> int:
    return sum(1 for r in box.log if r.endpoint == "purchase")


def account_of(boxes: Mapping[str, Sandbox], pid: str) -> str:
    (provider,) = [p for p in in_process_providers(boxes) if p.id == pid]
    return provider.account_key()


async def buy(
    boxes: Mapping[str, Sandbox], where: str | Ledger, *, providers: list[Provider] | None = None, **options: Any
) -> BuyResult:
    """buy_cheapest over ``boxes`` on the ledger at ``where``, with test defaults (no waiting)."""
    options.setdefault("max_monthly", usd("3"))
    options.setdefault("max_first_bill", usd("4"))
    options.setdefault("confirm_delay", 0)
    options.setdefault("dry_run", False)
    terms = BuyTerms(**{name: options.pop(name) for name in TERMS & options.keys()})
    built = providers if providers is not None else in_process_providers(boxes, retry=FAST)
    async with Searcher(built, own_providers=True) as searcher:
        return await buy_cheapest(searcher, US, terms, ledger=where, **options)


def prior_attempt(
    where: str, account: str, e164: str, state: AttemptState, *, intent: str = "earlier", amount: str = "1"
) -> int:
    """An attempt an earlier run left in the ledger."""
    with open_ledger(where) as ledger:
        ledger.open_intent(intent, quantity=1, budget=None, currency="USD")
        made = ledger.record_attempt(
            intent=intent,
            run_id="earlier-run",
            account=account,
            provider=account.split(":")[0],
            e164=e164,
            offer_id="offer-" + e164,
            amount=Decimal(amount),
            currency="USD",
        )
        if state is not AttemptState.PENDING:
            ledger.update_attempt(made.id, state)
        return made.id


# -- the account key ---------------------------------------------------------------------------------


def test_the_account_key_digests_endpoint_and_credentials_and_reveals_none() -> None:
    """Same endpoint and credentials: same key; another credential or endpoint: another key; no secret in it."""
    (box,) = create_sandboxes(["vobiz"]).values()
    cls = type(in_process_providers({"vobiz": box})[0])
    one = cls(env=box.env, base_url="http://127.0.0.1/v1").account_key()
    assert one == cls(env=dict(box.env), base_url="http://127.0.0.1/v1").account_key()
    assert one.startswith("vobiz:")
    other_token = {**box.env, "VOBIZ_AUTH_TOKEN": box.env["VOBIZ_AUTH_TOKEN"] + "x"}
    assert one != cls(env=other_token, base_url="http://127.0.0.1/v1").account_key()
    assert one != cls(env=box.env, base_url="http://127.0.0.1:9/v1").account_key()
    for secret in box.env.values():
        assert secret not in one


# -- pending before the request, and what a run records ------------------------------------------------


@pytest.mark.anyio
async def test_each_attempt_is_pending_in_the_ledger_before_its_request_is_sent(fresh_ledger: str) -> None:
    """When the purchase request goes out the ledger already holds it pending; after, bought; no secret stored."""
    boxes = create_sandboxes(["vobiz"])
    providers = in_process_providers(boxes, retry=FAST)
    seen: list[list[str]] = []
    for provider in providers:
        send = provider.purchase

        async def watched(offer: Any, send: Any = send) -> PurchaseReceipt:
            with open_ledger(fresh_ledger) as ledger:
                seen.append([f"{a.e164}:{a.state.value}" for a in ledger.attempts()])
            receipt: PurchaseReceipt = await send(offer)
            return receipt

        provider.purchase = watched  # type: ignore[method-assign]

    result = await buy(boxes, fresh_ledger, providers=providers, quantity=2)

    assert BuyStatus.COMPLETE == result.status
    first, second = (a.e164 for a in result.bought)
    assert [[f"{first}:pending"], [f"{first}:bought", f"{second}:pending"]] == seen
    with open_ledger(fresh_ledger) as ledger:
        stored = ledger.attempts()
        assert [AttemptState.BOUGHT, AttemptState.BOUGHT] == [a.state for a in stored]
        assert {result.run_id} == {a.run_id for a in stored}
        assert [a.ledger_id for a in result.attempts] == [a.id for a in stored]
        assert all(a.account == account_of(boxes, "vobiz") for a in stored)
        dump = repr([(a, ledger.intent(a.intent)) for a in stored])
    for secret in boxes["vobiz"].env.values():
        assert secret not in dump
    assert result.intent == f"run-{result.run_id}"
    assert result.ledger is not None


@pytest.mark.anyio
async def test_a_dry_run_plans_against_the_ledger_and_writes_nothing_to_it(fresh_ledger: str) -> None:
    """A dry run skips what the ledger says the account bought, and leaves no intent or attempt behind."""
    boxes = create_sandboxes(["vobiz"])
    plan = await buy(boxes, fresh_ledger, dry_run=True)
    cheapest = plan.would_buy[0].offer.e164
    prior_attempt(fresh_ledger, account_of(boxes, "vobiz"), cheapest, AttemptState.BOUGHT)

    again = await buy(boxes, fresh_ledger, dry_run=True)

    assert cheapest not in [e.offer.e164 for e in again.would_buy]
    skipped = next(e for e in again.plan if e.offer.e164 == cheapest)
    assert PlanDecision.SAME_NUMBER is skipped.decision
    with open_ledger(fresh_ledger) as ledger:
        assert ["earlier"] == [i.key for i in ledger.intents()]
        assert 1 == len(ledger.attempts())
    assert 0 == posts(boxes["vobiz"])


# -- idempotent reruns -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_finished_intent_buys_nothing_and_reports_its_result(fresh_ledger: str) -> None:
    """Same key twice: the second run sends nothing, not even a search, and returns the first result, complete."""
    boxes = create_sandboxes(["vobiz"])

    first = await buy(boxes, fresh_ledger, quantity=2, idempotency_key="nightly-2024-05-01")
    searches = len(boxes["vobiz"].log)
    again = await buy(boxes, fresh_ledger, quantity=2, idempotency_key="nightly-2024-05-01")

    assert (BuyStatus.COMPLETE, BuyStatus.COMPLETE) == (first.status, again.status)
    assert (False, True) == (first.replayed, again.replayed)
    assert [a.e164 for a in first.bought] == [a.e164 for a in again.bought]
    assert first.run_id == again.run_id
    assert searches == len(boxes["vobiz"].log)
    assert 2 == len(boxes["vobiz"].purchases)
    with open_ledger(fresh_ledger) as ledger:
        intent = ledger.intent("nightly-2024-05-01")
        assert intent is not None and IntentStatus.FINISHED is intent.status


@pytest.mark.anyio
async def test_a_rerun_continues_its_intent_counting_what_it_bought(fresh_ledger: str) -> None:
    """The intent already bought one of two (first bill 1 USD of a 2 USD budget): the rerun buys one more, cheaper."""
    boxes = create_sandboxes(["vobiz"])
    account = account_of(boxes, "vobiz")
    prior_attempt(fresh_ledger, account, "+12025550100", AttemptState.BOUGHT, intent="nightly", amount="1")
    with open_ledger(fresh_ledger) as ledger:  # the intent as the earlier run opened it
        ledger._query("UPDATE numbroker_intents SET quantity = 2, budget = '2' WHERE key = 'nightly'")

    result = await buy(boxes, fresh_ledger, quantity=2, budget=usd("2"), idempotency_key="nightly")

    assert BuyStatus.COMPLETE == result.status
    assert 1 == len(result.bought) == len(boxes["vobiz"].purchases)
    assert result.bought[0].first_bill.amount <= Decimal(1)
    assert ["+12025550100"] == [n.e164 for n in result.earlier_bought]
    over = [e for e in result.plan if e.decision is PlanDecision.OVER_BUDGET]
    assert all(e.first_bill is not None and e.first_bill.amount > Decimal(1) for e in over)


@pytest.mark.anyio
async def test_a_key_reused_with_other_terms_is_refused(fresh_ledger: str) -> None:
    """An intent is one quantity, budget and currency: a rerun asking otherwise is an error, before buying."""
    boxes = create_sandboxes(["vobiz"])
    await buy(boxes, fresh_ledger, quantity=1, idempotency_key="k", max_first_bill=usd("0.0001"))

    with pytest.raises(ConfigurationError, match="quantity 1"):
        await buy(boxes, fresh_ledger, quantity=3, idempotency_key="k")
    with pytest.raises(ConfigurationError, match="idempotency key"):
        await buy(boxes, fresh_ledger, idempotency_key="not a key!")
    assert 0 == posts(boxes["vobiz"])


# -- recovery ----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_recovery_counts_an_owned_pending_attempt_and_never_buys_it_again(fresh_ledger: str) -> None:
    """A killed run left a pending attempt whose number the account owns: recorded bought, for its own intent."""
    boxes = create_sandboxes(["vobiz"])
    plan = await buy(boxes, fresh_ledger, dry_run=True)
    cheapest = plan.would_buy[0]
    (provider,) = in_process_providers(boxes, retry=FAST)
    async with provider:
        await provider.purchase(cheapest.offer)  # the request the killed run sent
    killed = prior_attempt(fresh_ledger, provider.account_key(), cheapest.offer.e164, AttemptState.PENDING)

    result = await buy(boxes, fresh_ledger)

    assert BuyStatus.COMPLETE == result.status
    assert [(killed, "bought")] == [(n.id, n.state) for n in result.recovered]
    assert cheapest.offer.e164 not in [a.e164 for a in result.attempts]
    assert 2 == len(boxes["vobiz"].purchases)
    with open_ledger(fresh_ledger) as ledger:
        recovered = ledger.attempt(killed)
        assert recovered is not None and AttemptState.BOUGHT is recovered.state and recovered.intent == "earlier"
        assert result.run_id in (recovered.reason or "")


@pytest.mark.anyio
async def test_recovery_releases_what_is_not_owned_after_the_confirm_window(fresh_ledger: str) -> None:
    """Not owned, and the window has passed: released; the run then buys normally."""
    boxes = create_sandboxes(["vobiz"])
    killed = prior_attempt(fresh_ledger, account_of(boxes, "vobiz"), "+12025550123", AttemptState.AMBIGUOUS)

    result = await buy(boxes, fresh_ledger, confirm_window=0)

    assert [(killed, "released")] == [(n.id, n.state) for n in result.recovered]
    assert BuyStatus.COMPLETE == result.status


@pytest.mark.anyio
@pytest.mark.parametrize("why", ["within the window", "owned list down"])
async def test_an_unsettled_attempt_means_nothing_is_bought_and_it_is_named(fresh_ledger: str, why: str) -> None:
    """Not owned within the confirm window, or the owned list unreadable: no purchase at all, status unknown."""
    boxes = create_sandboxes(["vobiz"])
    killed = prior_attempt(fresh_ledger, account_of(boxes, "vobiz"), "+12025550123", AttemptState.PENDING)
    other = prior_attempt(fresh_ledger, "vobiz:another-account", "+12025550124", AttemptState.PENDING)

    def after_the_search(plan: BuyResult) -> bool:
        if why == "owned list down":
            boxes["vobiz"].faults = Faults(rate_5xx=1.0)
        return True

    result = await buy(boxes, fresh_ledger, confirm_window=3600, confirm=after_the_search)

    assert BuyStatus.UNKNOWN == result.status
    assert [] == result.attempts
    assert 0 == posts(boxes["vobiz"])
    assert [killed] == [n.id for n in result.unresolved]
    assert other not in [n.id for n in result.unresolved]
    assert "+12025550123" == result.unresolved[0].e164
    if why == "within the window":
        assert "confirm window" in (result.unresolved[0].reason or "")
        assert any("nothing was bought" in n for n in result.notes)


# -- conservative accounting ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_an_ambiguous_answer_counts_until_settled_and_stops_that_provider(fresh_ledger: str) -> None:
    """502 with nothing committed, within the confirm window: quantity 2 buys one elsewhere, Vobiz gets no more."""
    boxes = create_sandboxes(["vobiz", "identitycall"])
    boxes["vobiz"].faults = Faults(rate_ambiguous_before_commit=1.0)

    result = await buy(boxes, fresh_ledger, quantity=2, confirm_window=3600)

    vobiz = [a for a in result.attempts if a.provider == "vobiz"]
    assert [AttemptOutcome.AMBIGUOUS] == [a.outcome for a in vobiz]
    assert 1 == posts(boxes["vobiz"])
    assert "vobiz" in result.dropped_providers
    assert 2 == len(result.attempts)
    assert BuyStatus.UNKNOWN == result.status
    assert [vobiz[0].ledger_id] == [n.id for n in result.unresolved]
    with open_ledger(fresh_ledger) as ledger:
        stored = ledger.attempt(vobiz[0].ledger_id or 0)
        assert stored is not None and AttemptState.AMBIGUOUS is stored.state

    # Later (the window over), a rerun of the same intent settles it and buys the one still owed.
    again = await buy(boxes, fresh_ledger, quantity=2, confirm_window=0, idempotency_key=result.intent)
    assert [(vobiz[0].ledger_id, "released")] == [(n.id, n.state) for n in again.recovered]


@pytest.mark.anyio
async def test_a_budget_counts_an_unresolved_attempt_at_its_price(fresh_ledger: str) -> None:
    """An intent's unresolved attempt of 1 USD leaves 0.5 of a 1.5 USD budget: nothing over 0.5 is bought."""
    boxes = create_sandboxes(["identitycall"])
    with open_ledger(fresh_ledger) as ledger:
        ledger.open_intent("k", quantity=3, budget=Decimal("1.5"), currency="USD")
        ledger.record_attempt(
            intent="k", run_id="r0", account="vobiz:elsewhere", provider="vobiz", e164="+12025550199",
            offer_id="o", amount=Decimal(1), currency="USD", state=AttemptState.UNKNOWN,
        )  # fmt: skip

    result = await buy(boxes, fresh_ledger, quantity=3, budget=usd("1.5"), idempotency_key="k")

    assert sum((a.first_bill.amount for a in result.bought), Decimal(0)) <= Decimal("0.5")
    assert BuyStatus.UNKNOWN == result.status  # the unreachable account's attempt is still unresolved
    assert ["+12025550199"] == [n.e164 for n in result.unresolved]


# -- spend limits and never the same number twice -------------------------------------------------------


@pytest.mark.anyio
async def test_a_spend_limit_holds_across_runs_with_different_keys(fresh_ledger: str) -> None:
    """Three runs of two numbers each, limit 1.50 USD a day on the account: together never over 1.50."""
    boxes = create_sandboxes(["vobiz"])
    results = [
        await buy(boxes, fresh_ledger, quantity=2, spend_limit=usd("1.50"), spend_window="24h", idempotency_key=f"k{i}")
        for i in range(3)
    ]

    spent = sum((p.first_bill.amount for p in (a for r in results for a in r.bought)), Decimal(0))
    assert 0 < spent <= Decimal("1.50")
    assert len(boxes["vobiz"].purchases) == sum(len(r.bought) for r in results)
    assert any(e.decision is PlanDecision.OVER_SPEND_LIMIT for e in results[-1].plan)
    bought = [a.e164 for r in results for a in r.bought]
    assert len(bought) == len(set(bought))


@pytest.mark.anyio
async def test_the_spend_window_forgets_older_spending(fresh_ledger: str) -> None:
    """Spending two days ago does not count against a one-day window."""
    boxes = create_sandboxes(["vobiz"])
    done = prior_attempt(fresh_ledger, account_of(boxes, "vobiz"), "+12025550100", AttemptState.BOUGHT, amount="2")
    with open_ledger(fresh_ledger) as ledger:
        ledger._query("UPDATE numbroker_attempts SET created_at = '2000-01-01T00:00:00.000000Z' WHERE id = ?", (done,))

    result = await buy(boxes, fresh_ledger, spend_limit=usd("1"), spend_window=timedelta(days=1))

    assert BuyStatus.COMPLETE == result.status


def test_durations() -> None:
    """30m, 24h, 7d and seconds; anything else is one clear error."""
    assert timedelta(minutes=30) == parse_duration("30m")
    assert timedelta(hours=24) == parse_duration("24h")
    assert timedelta(days=7) == parse_duration("7d")
    assert timedelta(seconds=90) == parse_duration("90s")
    for bad in ("", "24", "1w", "-1h", "0h", "h"):
        with pytest.raises(ConfigurationError, match="duration"):
            parse_duration(bad)


# -- deadlines and the purchaser lock --------------------------------------------------------------


@pytest.mark.anyio
async def test_a_purchase_and_its_check_that_never_answer_are_bounded_by_their_deadline(fresh_ledger: str) -> None:
    """Every request stalls for a minute; the purchase and the ownership check each give up at their deadline."""
    boxes = create_sandboxes(["vobiz"])
    providers = in_process_providers(boxes, retry=FAST, timeout=120)

    def stall(plan: BuyResult) -> bool:
        boxes["vobiz"].faults = Faults(rate_stall=1.0, stall_seconds=60)
        return True

    async with Searcher(providers, own_providers=True) as searcher:
        terms = BuyTerms(max_monthly=usd("3"), max_first_bill=usd("4"), confirm_delay=0, purchase_timeout=0.3)
        result = await buy_cheapest(searcher, US, terms, ledger=fresh_ledger, confirm=stall, dry_run=False)

    assert BuyStatus.UNKNOWN == result.status
    (attempt,) = result.attempts
    assert AttemptOutcome.UNKNOWN is attempt.outcome
    assert "0.3 s deadline" in (attempt.reason or "")
    assert "owned numbers were not read within" in (attempt.reason or "")
    with open_ledger(fresh_ledger) as ledger:
        assert [AttemptState.UNKNOWN] == [a.state for a in ledger.attempts()]


@pytest.mark.anyio
async def test_a_run_waits_for_the_account_then_names_the_holder(fresh_ledger: str) -> None:
    """Another run holds the account's purchaser lock past the run's deadline: nothing is bought; the holder named."""
    boxes = create_sandboxes(["vobiz"])
    account = account_of(boxes, "vobiz")
    with (
        open_ledger(fresh_ledger) as other,
        other.purchaser(account, run_id="night-run", timeout=1),
        pytest.raises(LedgerBusyError) as busy,
    ):
        await buy(boxes, fresh_ledger, run_timeout=0.3)
    assert "another run is buying on vobiz" in str(busy.value)
    assert "night-run" in (busy.value.holder or "")
    assert 0 == posts(boxes["vobiz"])

    after = await buy(boxes, fresh_ledger)  # released: the next run buys
    assert BuyStatus.COMPLETE == after.status


# -- the audit log ------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_line_is_never_glued_onto_a_torn_one(tmp_path: Path, fresh_ledger: str) -> None:
    """An earlier run's torn last line stays alone on its line; every new line parses."""
    boxes = create_sandboxes(["vobiz"])
    audit = tmp_path / "audit.jsonl"
    audit.write_text('{"outcome":"pending"}\n{"run_id":"torn', encoding="utf-8")

    result = await buy(boxes, fresh_ledger, audit_log=audit)

    lines = audit.read_text(encoding="utf-8").split("\n")
    assert ['{"outcome":"pending"}', '{"run_id":"torn'] == lines[:2]
    assert "" == lines[-1]
    assert ["pending", "bought"] == [json.loads(line)["outcome"] for line in lines[2:-1]]
    assert BuyStatus.COMPLETE == result.status


@pytest.mark.anyio
async def test_an_audit_log_that_cannot_be_written_stops_buying_and_the_result_stays_true(fresh_ledger: str) -> None:
    """/dev/full: no purchase request is sent, the ledger attempt is released, the run says so (no exception)."""
    boxes = create_sandboxes(["vobiz"])

    result = await buy(boxes, fresh_ledger, audit_log="/dev/full")

    assert BuyStatus.NONE == result.status
    assert 0 == posts(boxes["vobiz"])
    assert any("audit log could not be written" in n for n in result.notes)
    with open_ledger(fresh_ledger) as ledger:
        assert [AttemptState.RELEASED] == [a.state for a in ledger.attempts()]
