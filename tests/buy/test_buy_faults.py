"""Buy under faults: seeded random races and ambiguous answers; the invariants that protect money always hold.

Each seed draws fault rates for the three sandboxes, a quantity and a budget, and runs buy-cheapest. Then:

* never more purchases than asked (``sandbox.purchases`` across vendors), never the same E.164 twice;
* exactly one purchase request per attempt (nothing is retried blindly);
* the audit log's outcome lines are the result's attempts, and what they say was bought is exactly what
  the sandboxes committed (an ``unknown`` attempt may or may not have committed: that is why it is unknown);
* an ``unknown`` outcome ends the run, and only then is the status ``unknown``;
* everything bought is under both caps and the budget.

``NUMBROKER_BUY_FAULT_RUNS`` sets the number of seeds (default 12, about 5 s for both backends).
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from numbroker import (
    AttemptOutcome,
    BuyResult,
    BuyStatus,
    BuyTerms,
    ExchangeRates,
    Money,
    RetryPolicy,
    Searcher,
    SearchQuery,
    buy_cheapest,
)
from numbroker.sandbox import Faults, Sandbox, create_sandboxes, in_process_providers

RUNS = int(os.environ.get("NUMBROKER_BUY_FAULT_RUNS", "12"))
FAST = RetryPolicy(attempts=3, initial=0.001, max_delay=0.005, jitter=0.0)
RATES = ExchangeRates.model_validate({"base": "USD", "rates": {"EUR": "0.9", "GBP": "0.8", "INR": "85"}})
MAX_MONTHLY = Money(amount=Decimal("2.50"), currency="USD")
MAX_FIRST_BILL = Money(amount=Decimal("3.00"), currency="USD")


def purchase_faults(rng: random.Random, seed: int) -> Faults:
    return Faults(
        rate_race=rng.choice((0.0, 0.2, 0.5)),
        rate_ambiguous_after_commit=rng.choice((0.0, 0.3, 0.6)),
        rate_ambiguous_before_commit=rng.choice((0.0, 0.3, 0.6)),
        seed=seed,
    )


def read_faults(rng: random.Random, seed: int) -> Faults:
    """Purchase faults plus failing, garbled and rate-limited reads (so ownership is sometimes unconfirmable)."""
    return Faults(
        rate_race=rng.choice((0.0, 0.2)),
        rate_ambiguous_after_commit=rng.choice((0.3, 0.6)),
        rate_ambiguous_before_commit=rng.choice((0.0, 0.3)),
        rate_5xx=rng.choice((0.3, 0.7)),
        rate_malformed=rng.choice((0.0, 0.1)),
        rate_429=rng.choice((0.0, 0.05)),
        retry_after=None,
        seed=seed,
    )


async def run(boxes: Mapping[str, Sandbox], faults: Mapping[str, Faults], rng: random.Random, audit: Path) -> BuyResult:
    """Search cleanly, turn the faults on, then buy."""

    def arm(plan: BuyResult) -> bool:
        for pid, box in boxes.items():
            box.faults = faults[pid]
        return True

    budget = rng.choice((None, "1.50", "4.00", "20"))
    async with Searcher(in_process_providers(boxes, retry=FAST), own_providers=True) as searcher:
        return await buy_cheapest(
            searcher,
            SearchQuery(country=rng.choice(("US", "GB"))),
            BuyTerms(
                quantity=rng.randint(1, 4),
                max_monthly=MAX_MONTHLY,
                max_first_bill=MAX_FIRST_BILL,
                budget=None if budget is None else Money(amount=Decimal(budget), currency="USD"),
                confirm_delay=0,
                confirm_window=0,  # the sandboxes' owned lists never lag: "not owned" is final at once
                allow_assumed_currency=rng.random() < 0.5,
            ),
            rates=RATES,
            audit_log=audit,
            confirm=arm,
            dry_run=False,
        )


def sandboxes(seed: int, rng: random.Random) -> dict[str, Sandbox]:
    """The three sandboxes; Vobiz with a small balance half the time (402, or a 500 after a rollback)."""
    balance = rng.choice((None, Decimal("1.50"), Decimal("5")))
    vobiz = create_sandboxes(["vobiz"], seed=seed, balance=balance, balance_error=rng.choice((402, 500)))
    return {**vobiz, **create_sandboxes(["bird", "identitycall"], seed=seed)}


def check_invariants(result: BuyResult, boxes: Mapping[str, Sandbox], audit: Path) -> None:
    committed = [(pid, p.e164) for pid, box in boxes.items() for p in box.purchases]
    attempts = result.attempts
    unknown = [a for a in attempts if a.outcome is AttemptOutcome.UNKNOWN]
    bought = {(a.provider, a.e164) for a in result.bought}

    # Never more than asked, never the same number twice, never a purchase request resent.
    assert len(committed) <= result.quantity
    assert len({e164 for _, e164 in committed}) == len(committed)
    assert len({a.e164 for a in attempts}) == len(attempts)
    assert len(attempts) == sum(1 for box in boxes.values() for r in box.log if r.endpoint == "purchase")

    # What the run says it bought is what the vendors committed (an unknown one may be either).
    assert bought <= set(committed)
    assert set(committed) - bought <= {(a.provider, a.e164) for a in unknown}
    for attempt in attempts:
        if attempt.outcome in (AttemptOutcome.GONE, AttemptOutcome.REFUSED, AttemptOutcome.NOT_BOUGHT):
            assert (attempt.provider, attempt.e164) not in committed

    # Unknown ends the run and is the only way to an unknown status (the sandboxes never commit late).
    assert (BuyStatus.UNKNOWN == result.status) == bool(unknown)
    if unknown:
        assert [attempts[-1]] == unknown
    elif len(bought) == result.quantity:
        assert BuyStatus.COMPLETE == result.status

    # Caps and budget.
    assert all(
        a.monthly.amount <= MAX_MONTHLY.amount and a.first_bill.amount <= MAX_FIRST_BILL.amount for a in attempts
    )
    if result.budget is not None:
        assert result.spent.amount <= result.budget.amount

    # The audit log: a pending line then an outcome line per attempt, agreeing with the result; no secret.
    text = audit.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 2 * len(attempts)
    outcomes: dict[int, dict[str, Any]] = {}
    for line in lines:
        if line["outcome"] != "pending":
            outcomes[line["attempt"]] = line
    assert [(a.attempt, a.provider, a.e164, a.outcome.value) for a in attempts] == [
        (n, o["provider"], o["e164"], o["outcome"]) for n, o in sorted(outcomes.items())
    ]
    logged = {(o["provider"], o["e164"]) for o in outcomes.values() if o["outcome"] in ("bought", "confirmed_owned")}
    assert logged == bought
    for box in boxes.values():
        for secret in box.env.values():
            assert secret not in text


@pytest.mark.anyio
@pytest.mark.parametrize("seed", range(RUNS))
async def test_buy_under_purchase_faults(seed: int, tmp_path: Path) -> None:
    """Races and ambiguous purchase answers (reads clean): every invariant holds and nothing is ever unknown."""
    rng = random.Random(f"buy-faults:{seed}")
    boxes = sandboxes(seed % 3, rng)
    faults = {pid: purchase_faults(rng, seed * 10 + i) for i, pid in enumerate(boxes)}
    audit = tmp_path / "audit.jsonl"

    result = await run(boxes, faults, rng, audit)

    check_invariants(result, boxes, audit)
    assert BuyStatus.UNKNOWN != result.status


@pytest.mark.anyio
@pytest.mark.parametrize("seed", range(RUNS))
async def test_buy_under_purchase_and_read_faults(seed: int, tmp_path: Path) -> None:
    """The same with failing, garbled and rate-limited reads: ownership may be unconfirmable; invariants still hold."""
    rng = random.Random(f"buy-read-faults:{seed}")
    boxes = sandboxes(seed % 3, rng)
    faults = {pid: read_faults(rng, seed * 10 + i) for i, pid in enumerate(boxes)}
    audit = tmp_path / "audit.jsonl"

    result = await run(boxes, faults, rng, audit)

    check_invariants(result, boxes, audit)
