"""One portfolio across providers: reports, filters, the summary's figures, conversion, and the ledger read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

import numbroker
from numbroker import (
    ExchangeRates,
    Money,
    NumberType,
    OverallStatus,
    OwnedFilters,
    OwnedNumber,
    OwnedQuery,
    OwnedView,
    ProviderStatus,
    RetryPolicy,
)
from numbroker.adapters import Provider
from numbroker.ledger import AttemptState, open_ledger
from numbroker.sandbox import Faults, LoopbackServer, Sandbox
from numbroker_providers.bird import BirdProvider
from numbroker_providers.vobiz import VobizProvider
from numbroker_providers.vobiz.sandbox import create_app

FAST = RetryPolicy(attempts=2, initial=0.001, max_delay=0.01, jitter=0.0)
TODAY = datetime.now(UTC).date()
"""The day renewals are counted from, here and in every search that counts them (one clock, even at midnight)."""


@pytest.fixture
def served() -> Iterator[tuple[Sandbox, str]]:
    sandbox = create_app(seed=4, owned=40)
    with LoopbackServer(sandbox.app) as server:
        yield sandbox, server.base_url + sandbox.base_path


def vobiz(sandbox: Sandbox, base_url: str, **options: Any) -> VobizProvider:
    return VobizProvider(base_url=base_url, env=sandbox.env, retry=FAST, **options)


def figures(items: list[dict[str, Any]], days: int) -> dict[str, Any]:
    """The summary's figures computed straight from the sandbox's raw items."""
    monthly: dict[str, Decimal] = {}
    for item in items:
        if "monthly_fee" in item:
            monthly[item["currency"]] = monthly.get(item["currency"], Decimal(0)) + Decimal(str(item["monthly_fee"]))
    due = [
        i
        for i in items
        if i["next_billing_date"] and (date.fromisoformat(i["next_billing_date"][:10]) - TODAY).days <= days
    ]
    return {
        "numbers": len(items),
        "monthly": {code: str(amount) for code, amount in sorted(monthly.items())},
        "price_unknown": sum("monthly_fee" not in i for i in items),
        "unrouted": sum(not (i["application_id"] or i["trunk_group_id"]) for i in items),
        "renewing_soon": len(due),
    }


@pytest.mark.anyio
async def test_the_summary_is_the_inventory_in_figures(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    async with vobiz(sandbox, base_url) as provider:
        result = await numbroker.owned([provider], filters=OwnedFilters(renewing_within=10), today=TODAY)
    items = sandbox.options["owned"]
    document = result.to_json_dict()
    assert document["summary"]["by_provider"] == {"vobiz": figures(items, 10)}
    assert document["summary"]["monthly_total"] == figures(items, 10)["monthly"]
    assert (result.status, document["reconciliation"]) == (OverallStatus.COMPLETE, None)
    assert [n.e164 for n in result.numbers] == sorted(i["e164"] for i in items)


@pytest.mark.anyio
async def test_filters_choose_what_is_shown_never_what_is_summed(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    items = sandbox.options["owned"]
    async with vobiz(sandbox, base_url) as provider:
        unrouted = await numbroker.owned([provider], filters=OwnedFilters(unrouted=True))
        soon = await numbroker.owned(
            [provider], filters=OwnedFilters(renewing_within=7, renewing_only=True), today=TODAY
        )
        indian = await numbroker.owned([provider], filters=OwnedFilters(country="IN", number_type=NumberType.MOBILE))
    assert {n.e164 for n in unrouted.numbers} == {
        i["e164"] for i in items if not (i["application_id"] or i["trunk_group_id"])
    }
    assert {n.e164 for n in soon.numbers} == {
        i["e164"]
        for i in items
        if i["next_billing_date"] and (date.fromisoformat(i["next_billing_date"][:10]) - TODAY).days <= 7
    }
    assert indian.numbers and all(n.country == "IN" and n.number_type is NumberType.MOBILE for n in indian.numbers)
    assert unrouted.summary.by_provider["vobiz"].numbers == soon.summary.by_provider["vobiz"].numbers == len(items)


@pytest.mark.anyio
async def test_one_converted_total_or_none_with_the_currencies_that_lack_a_rate(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    totals = {code: Decimal(v) for code, v in figures(sandbox.options["owned"], 14)["monthly"].items()}
    rates = ExchangeRates(base="USD", rates={"INR": Decimal("80")})
    async with vobiz(sandbox, base_url) as provider:
        converted = await numbroker.owned([provider], currency="USD", rates=rates)
        missing = await numbroker.owned([provider], currency="EUR", rates=rates)
    expected = totals["USD"] + totals["INR"] / Decimal(80)
    assert converted.summary.converted_monthly_total == Money(amount=expected, currency="USD")
    assert (missing.summary.converted_monthly_total, missing.summary.unconverted) == (None, ["INR", "USD"])


@pytest.mark.anyio
async def test_a_failing_provider_is_its_own_report_and_one_that_cannot_list_is_skipped(
    served: tuple[Sandbox, str],
) -> None:
    sandbox, base_url = served
    broken = VobizProvider(
        env={"VOBIZ_AUTH_ID": "MA_BROKEN", "VOBIZ_AUTH_TOKEN": "broken-token-123456789"},
        transport=httpx.MockTransport(lambda request: httpx.Response(503)),
        retry=FAST,
    )
    broken_id = type("BrokenVobiz", (VobizProvider,), {"id": "brokenvobiz"})
    other = broken_id(
        env={"VOBIZ_AUTH_ID": "MA_BROKEN", "VOBIZ_AUTH_TOKEN": "broken-token-123456789"},
        transport=httpx.MockTransport(lambda request: httpx.Response(503)),
        retry=FAST,
    )
    await broken.aclose()
    # An adapter without the owned-list hook (a third party's, say) cannot list its numbers.
    unlisted = type(
        "UnlistedBird", (BirdProvider,), {"id": "unlisted", "_fetch_owned_page": Provider._fetch_owned_page}
    )
    lister = unlisted(env={"BIRD_ACCESS_KEY": "bird-key-123456789012", "BIRD_ORGANIZATION_ID": "org-1234567"})
    nowhere = BirdProvider(env={"BIRD_ACCESS_KEY": "bird-key-123456789012", "BIRD_ORGANIZATION_ID": "org-1234567"})
    async with vobiz(sandbox, base_url) as provider, other, lister, nowhere:
        result = await numbroker.owned([provider, other, lister, nowhere], skipped={"plivo": ["PLIVO_AUTH_ID"]})
    statuses = {r.provider: r.status for r in result.providers}
    assert statuses == {
        "vobiz": ProviderStatus.OK,
        "brokenvobiz": ProviderStatus.ERROR,
        "unlisted": ProviderStatus.SKIPPED,
        "bird": ProviderStatus.ERROR,  # no workspace to list: said as such, never an unexpected error
        "plivo": ProviderStatus.SKIPPED,
    }
    (bird,) = [r for r in result.providers if r.provider == "bird"]
    assert bird.error is not None and "BIRD_WORKSPACE_ID" in bird.error
    assert result.status is OverallStatus.PARTIAL
    assert len(result.numbers) == len(sandbox.options["owned"])


@pytest.mark.anyio
async def test_stream_owned_hands_numbers_on_and_keeps_none(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    seen: list[OwnedNumber] = []
    async with vobiz(sandbox, base_url) as provider:
        result = await numbroker.stream_owned([provider], seen.append)
    assert result.numbers == []
    assert sorted(n.e164 for n in seen) == sorted(i["e164"] for i in sandbox.options["owned"])


@pytest.mark.anyio
async def test_partner_views_ask_only_providers_that_have_them(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    async with vobiz(sandbox, base_url) as provider:
        result = await numbroker.owned([provider], query=OwnedQuery(view=OwnedView.PARTNER))
        with pytest.raises(numbroker.ConfigurationError, match="partner"):
            await numbroker.owned([provider], query=OwnedQuery(view=OwnedView.PARTNER), ledger=object())  # type: ignore[arg-type]
    assert {n.account for n in result.numbers} == set(sandbox.options["partner"])


@pytest.mark.anyio
async def test_the_ledger_is_reconciled_read_only(served: tuple[Sandbox, str], tmp_path: Path) -> None:
    sandbox, base_url = served
    items = sandbox.options["owned"]
    ledger = open_ledger(tmp_path / "ledger.sqlite3")
    async with vobiz(sandbox, base_url) as provider:
        account = provider.account_key()

        def attempt(e164: str, state: AttemptState) -> int:
            return ledger.record_attempt(
                intent="i", run_id="r", account=account, provider="vobiz", e164=e164, offer_id="o",
                amount=Decimal(1), currency="USD", state=state,
            ).id  # fmt: skip

        gone = attempt("+442079460123", AttemptState.BOUGHT)  # bought, no longer listed
        kept = attempt(items[0]["e164"], AttemptState.BOUGHT)
        released = attempt(items[1]["e164"], AttemptState.RELEASED)  # given back, still listed: still billed
        attempt(items[2]["e164"], AttemptState.AMBIGUOUS)  # unresolved: neither
        before = [(a.id, a.state) for a in ledger.attempts()]
        result = await numbroker.owned([provider], ledger=ledger)
    found = result.reconciliation
    assert found is not None
    assert [(e.e164, e.attempt_id, e.ledger_state) for e in found.missing_at_vendor] == [
        ("+442079460123", gone, "bought")
    ]
    assert [(e.e164, e.attempt_id) for e in found.still_listed] == [(items[1]["e164"], released)]
    assert found.not_in_ledger == {"vobiz": len(items) - 3}
    assert kept not in {e.attempt_id for e in [*found.missing_at_vendor, *found.still_listed]}
    assert [(a.id, a.state) for a in ledger.attempts()] == before  # read, never written
    ledger.close()


@pytest.mark.anyio
async def test_an_incomplete_list_is_never_reconciled(tmp_path: Path) -> None:
    sandbox = create_app(seed=2, owned=150, faults=Faults(lying_total=400))
    ledger = open_ledger(tmp_path / "ledger.sqlite3")
    with LoopbackServer(sandbox.app) as server:
        async with vobiz(sandbox, server.base_url + sandbox.base_path) as provider:
            ledger.record_attempt(
                intent="i", run_id="r", account=provider.account_key(), provider="vobiz", e164="+442079460123",
                offer_id="o", amount=Decimal(1), currency="USD", state=AttemptState.BOUGHT,
            )  # fmt: skip
            result = await numbroker.owned([provider], ledger=ledger)
    assert result.reconciliation is not None
    assert (result.reconciliation.missing_at_vendor, result.reconciliation.unchecked) == ([], ["vobiz"])
    ledger.close()


def test_owned_sync_runs_from_synchronous_code(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    result = numbroker.owned_sync([vobiz(sandbox, base_url)], deadline=30)
    assert len(result.numbers) == len(sandbox.options["owned"])
    with pytest.raises(numbroker.ConfigurationError):
        numbroker.owned_sync([vobiz(sandbox, base_url), vobiz(sandbox, base_url)])
