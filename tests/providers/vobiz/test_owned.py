"""Vobiz's owned numbers over loopback: the sandbox's owned inventory read exactly, sub-accounts, partner views."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from numbroker import (
    Money,
    NotFoundError,
    OwnedNumber,
    OwnedQuery,
    OwnedStatus,
    OwnedView,
    ReleaseMode,
    RetryPolicy,
    SearchQuery,
)
from numbroker.sandbox import Faults, LoopbackServer, Sandbox
from numbroker_providers.vobiz import VobizProvider
from numbroker_providers.vobiz.sandbox import CUSTOMERS, DEFAULT_AUTH_ID, DEFAULT_OWNED, SUB_ACCOUNTS, create_app

STATUSES = {"active": "active", "pending_release": "pending_release"}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, str]]:
    sandbox = create_app(seed=11, owned=230)
    with LoopbackServer(sandbox.app) as server:
        yield sandbox, server.base_url + sandbox.base_path


def adapter(sandbox: Sandbox, base_url: str) -> VobizProvider:
    return VobizProvider(base_url=base_url, env=sandbox.env, retry=RetryPolicy(initial=0.01))


def expected(item: dict[str, Any], *, view: OwnedView = OwnedView.ACCOUNT) -> dict[str, Any]:
    """What the owned record must say, derived from the sandbox's raw item by the documented rules."""
    fee = item.get("monthly_fee")
    billing = item.get("next_billing_date")
    holder = item["account_id"]
    return {
        "provider_number_id": item["e164"],
        "e164": item["e164"],
        "country": item["country"],
        "status": STATUSES[item["status"]],
        "vendor_status": item["status"],
        "monthly_price": None if fee is None else Money(amount=Decimal(str(fee)), currency=item["currency"]),
        "price_source": None if fee is None else "vendor",
        "next_renewal": None if billing is None else date.fromisoformat(billing[:10]),
        "renewal_source": None if billing is None else "vendor",
        "routed": bool(item.get("application_id") or item.get("trunk_group_id")),
        "sub_account": holder if view is OwnedView.ACCOUNT and holder != DEFAULT_AUTH_ID else None,
        "account": holder if view is not OwnedView.ACCOUNT else None,
        "purchased_at": datetime.fromisoformat(item["purchased_at"].replace("Z", "+00:00")),
    }


def seen(number: OwnedNumber) -> dict[str, Any]:
    return {key: getattr(number, key) for key in expected({"account_id": "", **SAMPLE})}


SAMPLE: dict[str, Any] = {
    "e164": "+14155552671",
    "country": "US",
    "status": "active",
    "monthly_fee": 1,
    "currency": "USD",
    "next_billing_date": "2027-01-01T00:00:00Z",
    "purchased_at": "2026-01-01T00:00:00Z",
}


@pytest.mark.anyio
async def test_the_owned_list_is_the_sandbox_inventory_exactly(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    async with adapter(sandbox, base_url) as vobiz:
        numbers, rejected, stats = await vobiz.list_owned()
    inventory = sandbox.options["owned"]
    assert (rejected, stats.truncated, stats.pages) == ([], False, 3)
    by_number = {n.e164: n for n in numbers}
    assert len(by_number) == len(numbers) == len(inventory) == 230
    for item in inventory:
        assert seen(by_number[item["e164"]]) == expected(item), item["e164"]
        assert by_number[item["e164"]].provider_details["id"] == item["id"]


@pytest.mark.anyio
async def test_the_seeded_quirks_all_show(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    async with adapter(sandbox, base_url) as vobiz:
        numbers, _, _ = await vobiz.list_owned()
    today = datetime.now(UTC).date()
    assert {n.sub_account for n in numbers} == {None, *SUB_ACCOUNTS}
    assert any(not n.routed for n in numbers if n.sub_account is None)
    assert any(n.routed and n.provider_details.get("trunk_group_id") for n in numbers)
    assert any(n.monthly_price is None and n.price_source is None for n in numbers)
    assert any(n.next_renewal is None for n in numbers)
    assert any(n.renews_within(7, today) for n in numbers)
    assert any(n.status is OwnedStatus.PENDING_RELEASE for n in numbers)
    assert all(n.monthly_price is None or n.monthly_price.currency in {"INR", "USD"} for n in numbers)


@pytest.mark.anyio
async def test_a_master_account_asks_for_its_sub_accounts_numbers_explicitly(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    async with adapter(sandbox, base_url) as vobiz:
        await vobiz.list_owned()
    owned = [entry for entry in sandbox.log if entry.endpoint == "owned"]
    assert owned and all(("include_subaccounts", "true") in entry.query for entry in owned)


@pytest.mark.anyio
async def test_a_bought_number_joins_the_owned_list_unrouted() -> None:
    sandbox = create_app(seed=5, owned=3)
    with LoopbackServer(sandbox.app) as server:
        async with adapter(sandbox, server.base_url + sandbox.base_path) as vobiz:
            offer = (await vobiz.search(SearchQuery(country="US"))).offers[0]
            await vobiz.purchase(offer)
            numbers, _, _ = await vobiz.list_owned()
            assert await vobiz.owns(offer.e164)
    (bought,) = [n for n in numbers if n.e164 == offer.e164]
    assert len(numbers) == 4
    assert (bought.routed, bought.status, bought.price_source) == (False, OwnedStatus.ACTIVE, "vendor")
    assert bought.monthly_price == offer.monthly_price


@pytest.mark.anyio
async def test_partner_views_list_each_customers_numbers(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    partner = sandbox.options["partner"]
    async with adapter(sandbox, base_url) as vobiz:
        everyone, _, _ = await vobiz.list_owned(query=OwnedQuery(view=OwnedView.PARTNER))
        one, _, _ = await vobiz.list_owned(query=OwnedQuery(view=OwnedView.CUSTOMER, customer=CUSTOMERS[1]))
        with pytest.raises(NotFoundError):
            await vobiz.list_owned(query=OwnedQuery(view=OwnedView.CUSTOMER, customer="MA_NOBODY"))
    items = [item for customer in CUSTOMERS for item in partner[customer]]
    assert sorted((seen(n) for n in everyone), key=lambda d: d["e164"]) == sorted(
        (expected(i, view=OwnedView.PARTNER) for i in items), key=lambda d: d["e164"]
    )
    assert {n.account for n in everyone} == set(CUSTOMERS)
    assert sorted(n.e164 for n in one) == sorted(i["e164"] for i in partner[CUSTOMERS[1]])
    assert {n.account for n in one} == {CUSTOMERS[1]}


@pytest.mark.anyio
async def test_a_lying_total_is_reported_truncated_and_ownership_unprovable() -> None:
    sandbox = create_app(seed=2, owned=150, faults=Faults(lying_total=400))
    with LoopbackServer(sandbox.app) as server:
        async with adapter(sandbox, server.base_url + sandbox.base_path) as vobiz:
            numbers, _, stats = await vobiz.list_owned()
            assert stats.truncated and any("missing" in note for note in stats.notes)
            assert len(numbers) == 150
            with pytest.raises(Exception, match="not read completely"):
                await vobiz.owns("+442079460999")


def test_what_vobiz_can_do_after_purchase() -> None:
    declared = VobizProvider.after_purchase
    assert declared is not None
    assert (declared.release, declared.states_prices, declared.states_renewals, declared.partner_views) == (
        ReleaseMode.COOLDOWN,
        True,
        True,
        True,
    )
    assert VobizProvider.lists_owned()


def test_renewal_dates_are_relative_to_the_sandbox_start() -> None:
    sandbox = create_app(seed=1, owned=DEFAULT_OWNED)
    soon = datetime.now(UTC) + timedelta(days=14)
    due = [i for i in sandbox.options["owned"] if i["next_billing_date"] and i["next_billing_date"] <= soon.isoformat()]
    assert due  # the guide's 14-day check always has something to flag
