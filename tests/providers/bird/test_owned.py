"""Bird's owned numbers: the workspace's ``Number`` list normalized offline, and the sandbox's inventory served."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

import numbroker
from numbroker import Money, OwnedStatus, ProviderResponseError, ReleaseMode, RetryPolicy, SearchQuery
from numbroker._cli.owned import SANDBOX_OWNED
from numbroker.ledger import AttemptState, open_ledger
from numbroker.sandbox import Faults, LoopbackServer, Sandbox
from numbroker_providers.bird import BirdProvider
from numbroker_providers.bird.sandbox import DEFAULT_OWNED, create_app

KEY = "bird-access-key-canary-77bb"
WORKSPACE = "ws-owned-0003"
PATH = f"/workspaces/{WORKSPACE}/numbers"
FAST = RetryPolicy(initial=0.001, attempts=2)


def number(**changes: Any) -> dict[str, Any]:
    """A ``Number`` as Bird's cancel-subscription page documents it, every field set."""
    record: dict[str, Any] = {
        "id": "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
        "number": "+19283764510",
        "country": "US",
        "type": "local",
        "capabilities": {
            "voice": {"inbound": True, "outbound": True},
            "sms": {"inbound": True, "outbound": False},
            "mms": {"inbound": False, "outbound": False},
            "fax": {"inbound": False, "outbound": False},
        },
        "status": "active",
        "monthlyRecurringPrice": {"currencyCode": "USD", "amount": 1150000, "exponent": -6},
        "subscription": {
            "status": "active",
            "subscribedAt": "2025-07-12T02:08:36.925Z",
            "updatedAt": "2025-07-12T02:08:36.925Z",
            "cancelledAt": None,
        },
        "endpointSubscription": {
            "id": "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
            "status": "active",
            "canceledAt": None,
            "startAt": "2026-11-12T02:08:36.925Z",
            "endAt": "2026-12-12T02:08:36.925Z",
        },
        "configurations": {"voice": {"inbound": {"connectorId": "conn-1"}, "outbound": None}},
        "createdAt": "2025-07-12T02:08:36.925Z",
        "activatedAt": "2025-07-12T02:09:00.000Z",
    }
    record.update(changes)
    return record


def provider(handler: Callable[[httpx.Request], httpx.Response], requests: list[httpx.Request]) -> BirdProvider:
    def record(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return handler(request)

    return BirdProvider(
        access_key=KEY,
        organization_id="org-0001",
        workspace_id=WORKSPACE,
        transport=httpx.MockTransport(record),
        retry=FAST,
        env={},
    )


async def listed(*records: Any) -> tuple[list[Any], list[Any]]:
    requests: list[httpx.Request] = []
    page = {"results": list(records), "nextPageToken": ""}
    async with provider(lambda r: httpx.Response(200, json=page), requests) as bird:
        numbers, rejected, _ = await bird.list_owned()
    return numbers, rejected


@pytest.mark.anyio
async def test_a_number_is_normalized_field_by_field() -> None:
    (owned,), rejected = await listed(number())
    assert rejected == []
    assert owned.provider_number_id == "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
    assert (owned.e164, owned.country, owned.number_type.value) == ("+19283764510", "US", "local")
    assert owned.capabilities == ("sms", "voice")
    assert (owned.status, owned.vendor_status) == (OwnedStatus.ACTIVE, "active")
    assert (owned.monthly_price, owned.price_source) == (Money(amount=Decimal("1.15"), currency="USD"), "vendor")
    assert (owned.next_renewal, owned.renewal_source) == (date(2026, 12, 12), "vendor")
    assert (owned.routed, owned.sub_account, owned.account) == (True, None, None)
    assert owned.purchased_at == datetime(2025, 7, 12, 2, 8, 36, 925000, tzinfo=UTC)
    assert owned.provider_details["capability_directions"]["sms"] == {"inbound": True, "outbound": False}
    assert owned.provider_details["activatedAt"] == "2025-07-12T02:09:00.000Z"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("changes", "price"),
    [
        ({"monthlyRecurringPrice": {"currencyCode": "EUR"}}, None),  # a currency and no amount: no price
        ({"monthlyRecurringPrice": None}, None),
        ({}, Money(amount=Decimal("1.15"), currency="USD")),
    ],
)
async def test_a_price_is_the_subscriptions_own_or_none(changes: dict[str, Any], price: Money | None) -> None:
    (owned,), _ = await listed(number(**changes))
    assert (owned.monthly_price, owned.price_source) == (price, None if price is None else "vendor")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"endpointSubscription": {"canceledAt": "2026-12-01T00:00:00Z", "endAt": "2026-12-12"}}, "pending_release"),
        ({"subscription": {"cancelledAt": "2026-12-01T00:00:00Z"}}, "pending_release"),
        ({"status": "pending"}, "pending"),
        ({"status": "Deprovisioned"}, "inactive"),
        ({"status": "quarantined"}, "other"),
        ({"status": None}, "other"),
    ],
)
async def test_the_status_vocabulary_and_a_cancelled_subscription(changes: dict[str, Any], status: str) -> None:
    (owned,), _ = await listed(number(**changes))
    assert owned.status == status
    if status == "pending_release":
        assert owned.provider_details["cancelled_at"] == "2026-12-01T00:00:00+00:00"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("configurations", "routed"),
    [
        ({"voice": {"inbound": {"connectorId": "c"}}}, True),
        ({"sms": {"outbound": {"connectorId": "c"}}, "voice": {"inbound": None}}, True),
        ({"voice": {"inbound": {"connectorId": None}, "outbound": None}}, False),
        ({}, False),
    ],
)
async def test_routed_means_a_connector_is_set(configurations: dict[str, Any], routed: bool) -> None:
    (owned,), _ = await listed(number(configurations=configurations))
    assert owned.routed is routed


@pytest.mark.anyio
async def test_no_configurations_and_no_subscription_are_unknown_not_guessed() -> None:
    record = number()
    for key in ("configurations", "endpointSubscription", "subscription", "monthlyRecurringPrice"):
        del record[key]
    (owned,), _ = await listed(record)
    assert (owned.routed, owned.next_renewal, owned.monthly_price) == (None, None, None)
    assert owned.purchased_at == datetime(2025, 7, 12, 2, 8, 36, 925000, tzinfo=UTC)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"monthlyRecurringPrice": {"currencyCode": "USD", "amount": "abc", "exponent": -6}}, "amount"),
        ({"configurations": {"voice": "conn-1"}}, "configurations.voice"),
        ({"endpointSubscription": {"endAt": "soon"}}, "endpointSubscription.endAt"),
        ({"number": "+1555"}, None),
        ({"id": None}, "id"),
    ],
)
async def test_a_bad_record_is_rejected_naming_its_field_and_the_rest_listed(
    changes: dict[str, Any], field: str | None
) -> None:
    good = number(id="good-1", number="+19283764511")
    numbers, rejected = await listed(number(**changes), good)
    assert [n.provider_number_id for n in numbers] == ["good-1"] and len(rejected) == 1
    if field is not None:
        assert field in (rejected[0].field or "")


@pytest.mark.anyio
async def test_the_list_follows_the_token_chain_and_ownership_reads_it() -> None:
    pages = {
        None: {"results": [number(id="a", number="+12125550001")], "nextPageToken": "t1"},
        "t1": {"results": [number(id="b", number="19283764510")]},
    }
    requests: list[httpx.Request] = []
    async with provider(lambda r: httpx.Response(200, json=pages[r.url.params.get("pageToken")]), requests) as bird:
        numbers, _, stats = await bird.list_owned()
        found = await bird.owns("+19283764510")
        absent = await bird.owns("+442079460000")
    assert [n.e164 for n in numbers] == ["+12125550001", "+19283764510"] and stats.pages == 2
    assert (found, absent) == (True, False)
    assert {(r.method, r.url.path, r.url.params["limit"]) for r in requests} == {("GET", PATH, "99")}
    assert "AccessKey " + KEY == requests[0].headers["authorization"]
    # The list is read whole; an ownership check narrows it to the numbers holding the digits asked for.
    assert [r.url.params.get("searchTerm") for r in requests if "pageToken" not in r.url.params] == [
        None,
        "19283764510",
        "442079460000",
    ]


@pytest.mark.anyio
async def test_a_repeated_token_cannot_prove_absence() -> None:
    body = {"results": [number(number="+12125550001")], "nextPageToken": "again"}
    async with provider(lambda r: httpx.Response(200, json=body), []) as bird:
        with pytest.raises(ProviderResponseError, match="repeated"):
            await bird.owns("+19283764510")


# -- the sandbox over loopback ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, str]]:
    sandbox = create_app(seed=7, owned=230)
    with LoopbackServer(sandbox.app) as server:
        yield sandbox, server.base_url + sandbox.base_path


def adapter(sandbox: Sandbox, base_url: str) -> BirdProvider:
    return BirdProvider(base_url=base_url, env=sandbox.env, retry=RetryPolicy(initial=0.01))


def expected(item: dict[str, Any]) -> dict[str, Any]:
    """What an owned ``Number`` must become, by the documented rules, from the sandbox's raw item."""
    price = item["monthlyRecurringPrice"]
    amount = None if price.get("amount") is None else Decimal(price["amount"]).scaleb(price["exponent"])
    plan = item["endpointSubscription"]
    cancelled = plan["canceledAt"] is not None
    configurations = item.get("configurations")
    connectors = [
        s["connectorId"] for d in (configurations or {}).values() for s in d.values() if s and s.get("connectorId")
    ]
    status = {"active": "pending_release" if cancelled else "active", "pending": "pending"}[item["status"]]
    return {
        "provider_number_id": item["id"],
        "country": item["country"],
        "status": status,
        "vendor_status": item["status"],
        "monthly_price": None if amount is None else Money(amount=amount, currency=price["currencyCode"]),
        "next_renewal": None if plan["endAt"] is None else date.fromisoformat(plan["endAt"][:10]),
        "routed": None if configurations is None else bool(connectors),
        "sub_account": None,
        "purchased_at": datetime.fromisoformat(item["subscription"]["subscribedAt"].replace("Z", "+00:00")),
    }


@pytest.mark.anyio
async def test_the_owned_list_is_the_sandbox_inventory_exactly(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    async with adapter(sandbox, base_url) as bird:
        numbers, rejected, stats = await bird.list_owned()
    items = sandbox.options["owned"]
    assert (rejected, stats.truncated, stats.pages) == ([], False, 3)  # 230 numbers at 99 a page
    seen = {n.e164: {k: getattr(n, k) for k in expected(items[0])} for n in numbers}
    assert seen == {i["number"]: expected(i) for i in items}


@pytest.mark.anyio
async def test_the_seeded_quirks_all_show(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    async with adapter(sandbox, base_url) as bird:
        numbers, _, _ = await bird.list_owned()
    today = datetime.now(UTC).date()
    assert {n.routed for n in numbers} == {True, False, None}
    assert any(n.monthly_price is None for n in numbers) and any(n.renews_within(7, today) for n in numbers)
    assert {n.status for n in numbers} == {"active", "pending", "pending_release"}
    assert any(n.next_renewal is None for n in numbers)


@pytest.mark.anyio
async def test_an_ownership_check_reads_one_narrowed_page_not_the_whole_list(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    target = sandbox.options["owned"][-1]["number"]  # on the list's last page of three
    async with adapter(sandbox, base_url) as bird:
        before = len(sandbox.log)
        assert await bird.owns(target)
        assert len(sandbox.log) - before == 1
        assert not await bird.owns("+442079460000")


@pytest.mark.anyio
async def test_a_bought_number_joins_the_list_unrouted_and_is_owned_through_it() -> None:
    sandbox = create_app(seed=5, owned=3)
    with LoopbackServer(sandbox.app) as server:
        async with adapter(sandbox, server.base_url + sandbox.base_path) as bird:
            offer = (await bird.search(SearchQuery(country="US"))).offers[0]
            await bird.purchase(offer)
            numbers, _, _ = await bird.list_owned()
            before = len(sandbox.log)
            assert await bird.owns(offer.e164)
            asked = {entry.endpoint for entry in sandbox.log[before:]}
    (bought,) = [n for n in numbers if n.e164 == offer.e164]
    assert len(numbers) == 4 and asked == {"owned"}
    assert (bought.monthly_price, bought.routed, bought.status) == (offer.monthly_price, False, "active")


@pytest.mark.anyio
async def test_a_repeated_token_fault_fails_the_list_and_errors_are_retried() -> None:
    sandbox = create_app(seed=3, owned=150, faults=Faults(repeat_token=True))
    with LoopbackServer(sandbox.app) as server:
        async with adapter(sandbox, server.base_url + sandbox.base_path) as bird:
            with pytest.raises(ProviderResponseError, match="repeated"):
                await bird.list_owned()
            sandbox.faults = Faults(rate_5xx=0.3, seed=4)
            numbers, _, _ = await bird.list_owned()
    assert len(numbers) == 150


def test_what_bird_can_do_after_purchase() -> None:
    declared = BirdProvider.after_purchase
    assert declared is not None and BirdProvider.lists_owned() and BirdProvider.owned_paging == "token"
    assert (declared.release, declared.states_prices, declared.states_renewals) == (
        ReleaseMode.END_OF_PERIOD,
        True,
        True,
    )


# -- the command line's JSON -------------------------------------------------------------------------


def as_json(expected_number: dict[str, Any]) -> dict[str, Any]:
    """An expected number's values as the JSON document writes them (amounts compared as decimals)."""
    price = expected_number["monthly_price"]
    renewal = expected_number["next_renewal"]
    return {
        **expected_number,
        "monthly_price": None if price is None else (price.amount, price.currency),
        "next_renewal": None if renewal is None else renewal.isoformat(),
        "purchased_at": expected_number["purchased_at"],
    }


def read_back(number: dict[str, Any], keys: Any) -> dict[str, Any]:
    price = number["monthly_price"]
    out = {k: number[k] for k in keys}
    out["monthly_price"] = None if price is None else (Decimal(price["amount"]), price["currency"])
    out["purchased_at"] = datetime.fromisoformat(number["purchased_at"].replace("Z", "+00:00"))
    return out


def test_the_commands_json_is_the_sandboxs_inventory_exactly(sandbox_owned_json: Callable[..., Any]) -> None:
    document = sandbox_owned_json("bird")
    items = create_app(owned=SANDBOX_OWNED).options["owned"]  # what --sandbox starts the workspace with
    wanted = {i["number"]: as_json({**expected(i), "e164": i["number"], "price_source": None}) for i in items}
    for number in wanted.values():
        number["price_source"] = None if number["monthly_price"] is None else "vendor"
        number["renewal_source"] = None if number["next_renewal"] is None else "vendor"
        number["provider"], number["account"] = "bird", None
    got = {n["e164"]: read_back(n, wanted[n["e164"]]) for n in document["numbers"] if n["e164"] in wanted}
    assert [n["e164"] for n in document["numbers"]] == sorted(wanted)
    assert got == wanted
    assert (document["status"], document["rejected"], document["reconciliation"]) == ("complete", [], None)
    summary = document["summary"]["by_provider"]["bird"]
    today = datetime.now(UTC).date()
    soon = [
        w for w in wanted.values() if w["next_renewal"] and (date.fromisoformat(w["next_renewal"]) - today).days <= 14
    ]
    assert summary["numbers"] == len(items) and summary["renewing_soon"] == len(soon)
    assert summary["price_unknown"] == sum(w["monthly_price"] is None for w in wanted.values())
    assert summary["unrouted"] == sum(w["routed"] is False for w in wanted.values())


@pytest.mark.anyio
async def test_a_number_the_subscription_leaves_unpriced_takes_the_ledgers_price(tmp_path: Path) -> None:
    """Bird states no setup fee, so the first bill the ledger recorded is the month's price; a stated price wins."""
    sandbox = create_app(seed=11, owned=DEFAULT_OWNED)
    unpriced = next(i["number"] for i in sandbox.options["owned"] if "amount" not in i["monthlyRecurringPrice"])
    priced = next(i for i in sandbox.options["owned"] if "amount" in i["monthlyRecurringPrice"])
    ledger = open_ledger(tmp_path / "ledger.sqlite3")
    with LoopbackServer(sandbox.app) as server:
        async with adapter(sandbox, server.base_url + sandbox.base_path) as bird:
            for e164, amount in ((unpriced, "4.25"), (priced["number"], "99.00")):
                ledger.record_attempt(
                    intent="i", run_id="r", account=bird.account_key(), provider="bird", e164=e164, offer_id="o",
                    amount=Decimal(amount), currency="EUR", state=AttemptState.BOUGHT,
                )  # fmt: skip
            result = await numbroker.owned([bird], ledger=ledger)
            bare = await numbroker.owned([bird])
    ledger.close()
    by_number = {n.e164: n for n in result.numbers}
    assert (by_number[unpriced].monthly_price, by_number[unpriced].price_source) == (
        Money(amount=Decimal("4.25"), currency="EUR"),
        "ledger",
    )
    assert by_number[priced["number"]].price_source == "vendor"
    assert by_number[priced["number"]].monthly_price != Money(amount=Decimal("99.00"), currency="EUR")
    assert {n.e164 for n in bare.numbers if n.monthly_price is None} == {unpriced}
    assert result.summary.by_provider["bird"].price_unknown == 0
