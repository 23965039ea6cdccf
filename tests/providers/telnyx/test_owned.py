"""Telnyx's owned numbers: the record read field by field (``httpx.MockTransport``), and the sandbox's owned
inventory read exactly over loopback, with its quirks, its paging and its faults."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from numbroker import (
    ConfigurationError,
    NumberType,
    OwnedNumber,
    OwnedQuery,
    OwnedView,
    ProviderResponseError,
    RetryPolicy,
    SearchQuery,
)
from numbroker._cli.owned import SANDBOX_OWNED
from numbroker.sandbox import Faults, LoopbackServer, Sandbox
from numbroker_providers.telnyx import TelnyxProvider
from numbroker_providers.telnyx.sandbox import OWNED_QUIRKS, create_app

KEY = "KEY0123456789ABCDEF0123456789ABCDEF_abcdefghijklmnopqrstuv"
NOT_HELD = {"deleted", "purchase-failed", "ported-out", "port-failed"}
STATUSES = {
    "active": "active",
    "purchase-pending": "pending",
    "port-pending": "pending",
    "provision-pending": "pending",
    "requirement-info-pending": "pending",
    "requirement-info-under-review": "pending",
    "requirement-info-exception": "pending",
    "port-out-pending": "pending_release",
    "deleted": "inactive",
    "purchase-failed": "inactive",
    "ported-out": "inactive",
    "port-failed": "inactive",
    "emergency-only": "other",
    "something-new": "other",
}


def first_of_next_month() -> date:
    today = datetime.now(UTC).date()
    return date(today.year + 1, 1, 1) if today.month == 12 else date(today.year, today.month + 1, 1)


def record(**change: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "1293384261075731499",
        "record_type": "phone_number",
        "phone_number": "+14155550123",
        "status": "active",
        "country_iso_alpha2": "US",
        "phone_number_type": "local",
        "connection_id": "1234567890",
        "messaging_profile_id": None,
        "deletion_lock_enabled": False,
        "purchased_at": "2025-03-04T05:06:07.000Z",
        "tags": ["a"],
    }
    base.update(change)
    return {k: v for k, v in base.items() if v is not ...}


def serving(pages: list[list[dict[str, Any]]], seen: list[httpx.Request] | None = None) -> httpx.MockTransport:
    """``GET /v2/phone_numbers`` answering ``pages`` in order of ``page[number]`` (meta as Telnyx writes it)."""
    total = sum(len(p) for p in pages)

    def answer(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        number = int(request.url.params.get("page[number]", "1"))
        data = pages[number - 1] if number <= len(pages) else []
        size = int(request.url.params["page[size]"])
        meta = {"page_number": number, "page_size": size, "total_pages": len(pages), "total_results": total}
        return httpx.Response(200, json={"data": data, "meta": meta})

    return httpx.MockTransport(answer)


def mocked(transport: httpx.AsyncBaseTransport) -> TelnyxProvider:
    return TelnyxProvider(
        api_key=KEY, base_url="https://api.telnyx.test/v2", transport=transport, retry=RetryPolicy(attempts=1)
    )


async def listed(*records: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    async with mocked(serving([list(records)])) as telnyx:
        numbers, rejected, _ = await telnyx.list_owned()
    return numbers, rejected


# -- the record, field by field ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_each_status_maps_to_the_normalized_vocabulary_and_is_kept() -> None:
    records = [record(id=str(i), phone_number=f"+1415555{i:04d}", status=s) for i, s in enumerate(STATUSES)]
    numbers, rejected = await listed(*records)
    assert rejected == []
    assert {n.vendor_status: n.status.value for n in numbers} == STATUSES


@pytest.mark.anyio
async def test_connection_or_messaging_profile_is_routing() -> None:
    numbers, rejected = await listed(
        record(id="1", phone_number="+14155550001", connection_id="77", messaging_profile_id=None),
        record(id="2", phone_number="+14155550002", connection_id=None, messaging_profile_id="4fd8aa76"),
        record(id="3", phone_number="+14155550003", connection_id=None, messaging_profile_id=""),
        record(id="4", phone_number="+14155550004", connection_id=..., messaging_profile_id=...),
        record(id="5", phone_number="+14155550005", connection_id=["77"]),
    )
    assert {n.provider_number_id: n.routed for n in numbers} == {"1": True, "2": True, "3": False, "4": None}
    assert [(r.offer_id, r.field) for r in rejected] == [("+14155550005", "connection_id")]


@pytest.mark.anyio
async def test_the_record_keeps_its_id_lock_and_purchase_date_with_no_price_and_a_derived_renewal() -> None:
    numbers, _ = await listed(
        record(deletion_lock_enabled=True, connection_name="main", customer_reference="c-1"),
        record(id="2", phone_number="+14155550124", status="purchase-pending"),
    )
    active, pending = numbers
    assert active.provider_number_id == "1293384261075731499"
    assert active.provider_details["deletion_lock_enabled"] is True
    assert (active.provider_details["connection_name"], active.provider_details["customer_reference"]) == (
        "main",
        "c-1",
    )
    assert active.purchased_at == datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert (active.monthly_price, active.price_source) == (None, None)
    assert (active.next_renewal, active.renewal_source) == (first_of_next_month(), "derived")
    assert (pending.next_renewal, pending.renewal_source) == (None, None)
    assert active.sub_account is None and active.capabilities is None


@pytest.mark.anyio
async def test_number_types_are_read_and_an_unknown_one_is_kept_and_inferred() -> None:
    numbers, _ = await listed(
        record(id="1", phone_number="+18005550100", phone_number_type="tollfree"),
        record(id="2", phone_number="+14155550101", phone_number_type="longcode"),
        record(id="3", phone_number="+447700900123", country_iso_alpha2="GB", phone_number_type="mobile"),
    )
    by_id = {n.provider_number_id: n for n in numbers}
    assert [by_id[i].number_type.value for i in "123"] == ["toll_free", "local", "mobile"]
    assert by_id["2"].provider_details == {**by_id["2"].provider_details, "vendor_number_type": "longcode"}
    assert by_id["2"].provider_details["number_type_inferred"] is True


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": None}, "id"),
        ({"id": True}, "id"),
        ({"phone_number": "+1415"}, "phone_number"),
        ({"phone_number": 14155550123}, "phone_number"),
        ({"country_iso_alpha2": "DE"}, "phone_number"),  # the number cannot be German
        ({"deletion_lock_enabled": "yes"}, "deletion_lock_enabled"),
        ({"purchased_at": "last tuesday"}, "purchased_at"),
        ({"status": 7}, "status"),
    ],
)
async def test_a_record_it_cannot_read_is_rejected_naming_the_field(change: dict[str, Any], field: str) -> None:
    numbers, rejected = await listed(record(**change), record(id="9", phone_number="+14155550999"))
    assert [n.provider_number_id for n in numbers] == ["9"]
    assert len(rejected) == 1 and rejected[0].field == field and rejected[0].reason


# -- paging and ownership ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_pages_are_asked_by_number_and_size_until_a_short_page() -> None:
    every = [record(id=str(i), phone_number=f"+1415556{i:04d}") for i in range(253)]
    seen: list[httpx.Request] = []
    async with mocked(serving([every[:250], every[250:]], seen)) as telnyx:
        numbers, _, stats = await telnyx.list_owned()
    assert len(numbers) == 253 and stats.pages == 2 and not stats.truncated
    asked = sorted((r.url.params["page[number]"], r.url.params["page[size]"]) for r in seen)
    assert asked == [("1", "250"), ("2", "250")]
    assert all(r.url.path == "/v2/phone_numbers" and "filter[phone_number]" not in r.url.params for r in seen)


@pytest.mark.anyio
async def test_a_page_other_than_the_one_asked_fails_the_list() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [record()], "meta": {"page_number": 4, "total_results": 1}})

    async with mocked(httpx.MockTransport(answer)) as telnyx:
        with pytest.raises(ProviderResponseError, match="asked for page 1, got page 4"):
            await telnyx.list_owned()


@pytest.mark.anyio
async def test_ownership_narrows_by_digits_and_never_counts_a_number_no_longer_held() -> None:
    seen: list[httpx.Request] = []
    listing = [
        record(id="1", phone_number="+14155550001", status="deleted"),
        record(id="2", phone_number="+14155550002", status="purchase-pending"),
        record(id="3", phone_number="+14155550003", status="purchase-failed"),
    ]
    async with mocked(serving([listing], seen)) as telnyx:
        answers = [await telnyx.owns(n) for n in ("+14155550001", "+14155550002", "+14155550003")]
    assert answers == [False, True, False]
    assert [r.url.params["filter[phone_number]"] for r in seen] == ["14155550001", "14155550002", "14155550003"]


@pytest.mark.anyio
async def test_partner_views_are_refused() -> None:
    async with mocked(serving([[record()]])) as telnyx:
        with pytest.raises(ConfigurationError, match="no partner views"):
            await telnyx.list_owned(query=OwnedQuery(view=OwnedView.PARTNER))


# -- the sandbox over loopback ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, str]]:
    sandbox = create_app(seed=4, owned=520)
    with LoopbackServer(sandbox.app) as server:
        yield sandbox, server.base_url + sandbox.base_path


def adapter(sandbox: Sandbox, base_url: str, **options: Any) -> TelnyxProvider:
    options.setdefault("retry", RetryPolicy(initial=0.01))
    return TelnyxProvider(base_url=base_url, env=sandbox.env, **options)


def expected(entry: dict[str, Any]) -> dict[str, Any]:
    """What the owned record must say, derived from the sandbox's raw entry by the documented rules."""
    active = entry["status"] == "active"
    return {
        "provider_number_id": entry["id"],
        "e164": entry["phone_number"],
        "country": entry["country_iso_alpha2"],
        "status": STATUSES[entry["status"]],
        "vendor_status": entry["status"],
        "monthly_price": None,
        "price_source": None,
        "next_renewal": first_of_next_month() if active else None,
        "renewal_source": "derived" if active else None,
        "routed": bool(entry["connection_id"] or entry["messaging_profile_id"]),
        "sub_account": None,
        "purchased_at": datetime.fromisoformat(entry["purchased_at"]),
        "deletion_lock_enabled": entry["deletion_lock_enabled"],
    }


def seen_as(number: Any) -> dict[str, Any]:
    fields = {k: getattr(number, k) for k in expected(record()) if k != "deletion_lock_enabled"}
    return {**fields, "deletion_lock_enabled": number.provider_details["deletion_lock_enabled"]}


@pytest.mark.anyio
async def test_the_owned_list_is_the_sandbox_inventory_exactly(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    async with adapter(sandbox, base_url) as telnyx:
        numbers, rejected, stats = await telnyx.list_owned()
    entries = sandbox.options["owned"]
    assert (rejected, stats.truncated, stats.pages) == ([], False, 3)
    assert {n.provider_number_id: seen_as(n) for n in numbers} == {e["id"]: expected(e) for e in entries}


@pytest.mark.anyio
async def test_the_seeded_quirks_all_show(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    async with adapter(sandbox, base_url) as telnyx:
        numbers, _, _ = await telnyx.list_owned()
        seeded = {n.e164: n for n in numbers}
        quirky = [seeded[e["phone_number"]] for e in sandbox.options["owned"][: len(OWNED_QUIRKS)]]
        held = [await telnyx.owns(n.e164) for n in quirky]
    assert [n.vendor_status for n in quirky] == [q[0] for q in OWNED_QUIRKS]
    assert {n.routed for n in quirky} == {True, False} and any(
        n.provider_details["deletion_lock_enabled"] for n in quirky
    )
    assert any(n.provider_details.get("vendor_number_type") == "longcode" for n in quirky)
    assert {s.value for n in quirky for s in [n.status]} == {
        "active",
        "pending",
        "pending_release",
        "inactive",
        "other",
    }
    assert held == [n.vendor_status not in NOT_HELD for n in quirky]
    assert all(n.monthly_price is None for n in numbers)


@pytest.mark.anyio
async def test_a_bought_number_joins_the_list_and_is_owned() -> None:
    sandbox = create_app(seed=5, owned=3, order_polls=0)
    with LoopbackServer(sandbox.app) as server:
        async with adapter(sandbox, server.base_url + sandbox.base_path) as telnyx:
            offer = (await telnyx.search(SearchQuery(country="US", number_type=NumberType.LOCAL))).offers[0]
            await telnyx.purchase(offer)
            numbers, _, _ = await telnyx.list_owned()
            owned = await telnyx.owns(offer.e164)
    bought = [n for n in numbers if n.e164 == offer.e164]
    assert owned and len(numbers) == 4 and [n.status.value for n in bought] == ["active"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("faults", "check"),
    [
        (Faults(lying_total=2000), lambda stats, n: stats.truncated and n == 520),
        (Faults(rate_5xx=0.5, seed=3), lambda stats, n: not stats.truncated and n == 520 and stats.retries > 0),
    ],
)
async def test_the_fault_knobs_reach_the_owned_list(faults: Faults, check: Callable[[Any, int], bool]) -> None:
    sandbox = create_app(seed=4, owned=520, faults=faults)
    with LoopbackServer(sandbox.app) as server:
        retry = RetryPolicy(attempts=8, initial=0.01, max_delay=0.02)
        async with adapter(sandbox, server.base_url + sandbox.base_path, retry=retry) as telnyx:
            numbers, _, stats = await telnyx.list_owned()
    assert check(stats, len(numbers)), json.dumps(stats.report_notes())


def test_the_commands_json_is_the_sandboxs_inventory_exactly(sandbox_owned_json: Callable[..., Any]) -> None:
    """``numbroker owned --sandbox --provider telnyx --format json``: every number the sandbox starts with, exactly."""
    document = sandbox_owned_json("telnyx")
    entries = create_app(owned=SANDBOX_OWNED).options["owned"]  # what --sandbox starts the account with
    numbers = [OwnedNumber.model_validate(n) for n in document["numbers"]]
    assert [n.e164 for n in numbers] == sorted(e["phone_number"] for e in entries)
    assert {n.provider_number_id: seen_as(n) for n in numbers} == {e["id"]: expected(e) for e in entries}
    assert (document["status"], document["rejected"], document["reconciliation"]) == ("complete", [], None)
    summary = document["summary"]["by_provider"]["telnyx"]
    assert (summary["numbers"], summary["price_unknown"]) == (len(entries), len(entries))
    assert summary["unrouted"] == sum(not (e["connection_id"] or e["messaging_profile_id"]) for e in entries)
