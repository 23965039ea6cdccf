"""The canary: purchases at DEBUG logging with failures injected; no credential appears anywhere."""

from __future__ import annotations

import json
import logging
import pickle
from decimal import Decimal
from pathlib import Path

import pytest

from numbroker import (
    BuyResult,
    BuyTerms,
    ExchangeRates,
    Money,
    ProviderError,
    RetryPolicy,
    Searcher,
    SearchQuery,
    buy_cheapest,
)
from numbroker.sandbox import Faults, create_sandboxes, in_process_providers

FAST = RetryPolicy(attempts=2, initial=0.001, max_delay=0.002, jitter=0.0)
RATES = ExchangeRates.model_validate({"base": "USD", "rates": {"EUR": "0.9", "GBP": "0.8", "INR": "85"}})
USD2, USD3 = Money(amount=Decimal(2), currency="USD"), Money(amount=Decimal(3), currency="USD")


@pytest.mark.anyio
async def test_no_credential_in_any_log_record_error_repr_json_or_audit_line(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """Refusals, ambiguous answers, races and failing reads at DEBUG: every credential stays hidden everywhere."""
    caplog.set_level(logging.DEBUG, logger="numbroker")
    boxes = {
        **create_sandboxes(["vobiz"], balance=Decimal("1.2"), balance_error=500),
        **create_sandboxes(["bird"], require_reservation=True),
        **create_sandboxes(["identitycall"]),
    }
    secrets = [value for box in boxes.values() for value in box.env.values()]
    assert len(secrets) == 6

    def arm(plan: BuyResult) -> bool:
        boxes["vobiz"].faults = Faults(rate_5xx=0.4, rate_ambiguous_before_commit=0.5, seed=1)
        boxes["identitycall"].faults = Faults(rate_race=0.3, rate_ambiguous_after_commit=0.5, rate_5xx=0.3, seed=2)
        return True

    audit = tmp_path / "audit.jsonl"
    providers = in_process_providers(boxes, retry=FAST)
    errors: list[BaseException] = []
    async with Searcher(providers) as searcher:
        result = await buy_cheapest(
            searcher,
            SearchQuery(country="US"),
            BuyTerms(
                quantity=4,
                max_monthly=USD2,
                max_first_bill=USD3,
                confirm_delay=0,
                confirm_window=0,  # the sandboxes' owned lists never lag: "not owned" is final at once
                allow_assumed_currency=True,
            ),
            rates=RATES,
            audit_log=audit,
            confirm=arm,
            dry_run=False,
        )
        # The raw exceptions too, as a caller of Provider.purchase / owns would see them.
        for entry in result.plan[:12]:
            provider = next(p for p in providers if p.id == entry.offer.provider)
            try:
                await provider.purchase(entry.offer)
            except ProviderError as exc:
                errors.append(exc)
            try:
                await provider.owns(entry.offer.e164)
            except ProviderError as exc:
                errors.append(exc)
        shown = [repr(p) for p in providers]
    for provider in providers:
        await provider.aclose()

    assert {a.outcome.value for a in result.attempts} >= {"refused", "not_bought"}
    assert errors
    assert all(box.purchases for box in (boxes["vobiz"], boxes["identitycall"]))  # receipts were made too
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    texts = [formatter.format(record) for record in caplog.records]
    assert any("buying" in t for t in texts)
    texts += (
        [str(e) for e in errors] + [repr(e) for e in errors] + [repr(pickle.loads(pickle.dumps(e))) for e in errors]
    )
    texts += [json.dumps(getattr(e, "headers", {})) + getattr(e, "body", "") for e in errors]
    texts += [*shown, repr(result), json.dumps(result.to_json_dict()), audit.read_text()]
    for text in texts:
        for secret in secrets:
            assert secret not in text
