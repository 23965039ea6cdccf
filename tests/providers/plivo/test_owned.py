"""Plivo's owned numbers over loopback: the sandbox's owned inventory read exactly, with its quirks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from numbroker import ConfigurationError, Money, OwnedQuery, OwnedView, ReleaseMode, RetryPolicy, SearchQuery
from numbroker.sandbox import Faults, LoopbackServer, Sandbox
from numbroker_providers.plivo import PlivoProvider
from numbroker_providers.plivo.sandbox import SUB_ACCOUNT, create_app


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, str]]:
    sandbox = create_app(seed=6, owned=47)
    with LoopbackServer(sandbox.app) as server:
        yield sandbox, server.base_url + sandbox.base_path


def adapter(sandbox: Sandbox, base_url: str) -> PlivoProvider:
    return PlivoProvider(base_url=base_url, env=sandbox.env, retry=RetryPolicy(initial=0.01))


def expected(entry: dict[str, Any]) -> dict[str, Any]:
    """What the owned record must say, derived from the sandbox's raw entry by the documented rules."""
    rate = entry.get("monthly_rental_rate")
    renewal = entry["renewal_date"]
    return {
        "provider_number_id": "+" + entry["number"],
        "e164": "+" + entry["number"],
        "status": "active" if entry["active"] else "pending",
        "monthly_price": None if rate is None else Money(amount=Decimal(rate), currency="USD"),
        "price_source": None if rate is None else "vendor",
        "next_renewal": None if renewal is None else date.fromisoformat(renewal),
        "renewal_source": None if renewal is None else "vendor",
        "routed": entry["application"] is not None,
        "sub_account": entry["sub_account"],
        "account": None,
        "purchased_at": datetime.fromisoformat(entry["added_on"]).replace(tzinfo=UTC),
    }


@pytest.mark.anyio
async def test_the_owned_list_is_the_sandbox_inventory_exactly(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    async with adapter(sandbox, base_url) as plivo:
        numbers, rejected, stats = await plivo.list_owned()
    entries = list(sandbox.options["owned"].values())
    assert (rejected, stats.truncated, stats.pages) == ([], False, 3)
    seen = {n.e164: {k: getattr(n, k) for k in expected(entries[0])} for n in numbers}
    assert seen == {"+" + e["number"]: expected(e) for e in entries}
    assert all(n.provider_details.get("currency_assumed") for n in numbers if n.monthly_price is not None)


@pytest.mark.anyio
async def test_the_seeded_quirks_all_show(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    async with adapter(sandbox, base_url) as plivo:
        numbers, _, _ = await plivo.list_owned()
    today = datetime.now(UTC).date()
    assert {n.sub_account for n in numbers} == {None, SUB_ACCOUNT}
    assert any(n.routed is False for n in numbers) and any(n.monthly_price is None for n in numbers)
    assert any(n.renews_within(7, today) for n in numbers) and any(n.next_renewal is None for n in numbers)
    assert any(n.status == "pending" for n in numbers)


@pytest.mark.anyio
async def test_a_bought_number_joins_the_list_and_partner_views_are_refused() -> None:
    sandbox = create_app(seed=5, owned=2)
    with LoopbackServer(sandbox.app) as server:
        async with adapter(sandbox, server.base_url + sandbox.base_path) as plivo:
            offer = (await plivo.search(SearchQuery(country="US"))).offers[0]
            await plivo.purchase(offer)
            numbers, _, _ = await plivo.list_owned()
            with pytest.raises(ConfigurationError, match="no partner views"):
                await plivo.list_owned(query=OwnedQuery(view=OwnedView.PARTNER))
    assert offer.e164 in {n.e164 for n in numbers} and len(numbers) == 3


@pytest.mark.anyio
async def test_a_lying_total_is_reported_truncated() -> None:
    sandbox = create_app(seed=2, owned=30, faults=Faults(lying_total=100))
    with LoopbackServer(sandbox.app) as server:
        async with adapter(sandbox, server.base_url + sandbox.base_path) as plivo:
            numbers, _, stats = await plivo.list_owned()
    assert stats.truncated and len(numbers) == 30


def test_what_plivo_can_do_after_purchase() -> None:
    declared = PlivoProvider.after_purchase
    assert declared is not None and PlivoProvider.lists_owned()
    assert (declared.release, declared.states_prices, declared.states_renewals) == (ReleaseMode.IMMEDIATE, True, True)
