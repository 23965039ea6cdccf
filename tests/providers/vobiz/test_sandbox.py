"""The Vobiz emulator speaks Vobiz's wire format: auth, paging, filters, purchase state."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

import httpx
import pytest

from numbroker.sandbox import Faults, Sandbox
from numbroker_providers.vobiz.sandbox import create_app

pytestmark = pytest.mark.anyio


def _headers(sb: Sandbox) -> dict[str, str]:
    return {"X-Auth-ID": sb.env["VOBIZ_AUTH_ID"], "X-Auth-Token": sb.env["VOBIZ_AUTH_TOKEN"]}


def _inventory(sb: Sandbox) -> str:
    return f"/v1/account/{sb.env['VOBIZ_AUTH_ID']}/inventory/numbers"


def _purchase(sb: Sandbox) -> str:
    return f"/v1/account/{sb.env['VOBIZ_AUTH_ID']}/numbers/purchase-from-inventory"


def _owned(sb: Sandbox) -> str:
    return f"/v1/account/{sb.env['VOBIZ_AUTH_ID']}/numbers"


async def _walk(client: httpx.AsyncClient, sb: Sandbox, **params: Any) -> list[dict[str, Any]]:
    """Every item of every page at per_page=100."""
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        r = await client.get(_inventory(sb), headers=_headers(sb), params={"per_page": 100, "page": page, **params})
        assert 200 == r.status_code
        body = r.json()
        items += body["items"]
        if page * body["per_page"] >= body["total"]:
            return items
        page += 1


def test_shape_of_the_sandbox() -> None:
    """The sandbox exposes the base path, credentials and a Vobiz-shaped inventory."""
    sb = create_app()

    assert "/api" == sb.base_path
    assert {"VOBIZ_AUTH_ID", "VOBIZ_AUTH_TOKEN"} == set(sb.env)
    assert 150 == len(sb.records)
    assert all(r.raw["e164"] == r.e164 for r in sb.records)
    assert 8 == sum(not r.expected_valid for r in sb.records)
    assert any(r.raw["currency"] == "INR" and r.country == "US" for r in sb.records)
    assert any("monthly_cost" in r.raw for r in sb.records)
    fees = [r.raw.get("monthly_fee") for r in sb.records if r.expected_valid]
    assert any(isinstance(f, int) for f in fees)
    assert any(isinstance(f, float) for f in fees)
    assert {"INR", "USD", "EUR"} <= {r.raw["currency"] for r in sb.records}


@pytest.mark.parametrize(
    ("headers", "path_id"),
    [
        ({}, None),
        ({"X-Auth-ID": "MA_SANDBOX", "X-Auth-Token": "wrong"}, None),
        ({"X-Auth-ID": "MA_OTHER", "X-Auth-Token": "<token>"}, "MA_OTHER"),
        ({"X-Auth-ID": "MA_SANDBOX", "X-Auth-Token": "<token>"}, "MA_OTHER"),
        ({"Authorization": "Bearer <token>"}, None),
    ],
    ids=["missing", "wrong-token", "unknown-id", "path-mismatch", "bearer"],
)
async def test_bad_credentials_get_the_vobiz_401_envelope(headers: dict[str, str], path_id: str | None) -> None:
    """Missing or wrong credentials, or a path auth id other than X-Auth-ID, get 401 INVALID_CREDENTIALS."""
    sb = create_app()
    headers = {k: v.replace("<token>", sb.env["VOBIZ_AUTH_TOKEN"]) for k, v in headers.items()}
    async with sb.client() as client:
        r = await client.get(f"/v1/account/{path_id or 'MA_SANDBOX'}/inventory/numbers", headers=headers)

    assert 401 == r.status_code
    body = r.json()
    assert "error" == body["status"]
    assert "INVALID_CREDENTIALS" == body["error"]["code"]
    assert body["error"]["message"]
    assert body["requestId"].startswith("req_")
    assert body["timestamp"].endswith("Z")


async def test_default_page_and_total() -> None:
    """Without paging params the first 25 items come back with the true total."""
    sb = create_app()
    async with sb.client() as client:
        r = await client.get(_inventory(sb), headers=_headers(sb))

    body = r.json()
    assert (1, 25, 150) == (body["page"], body["per_page"], body["total"])
    assert [rec.raw for rec in sb.records[:25]] == body["items"]


@pytest.mark.parametrize("params", [{"per_page": "101"}, {"per_page": "0"}, {"page": "0"}, {"page": "x"}])
async def test_paging_out_of_range_is_422(params: dict[str, str]) -> None:
    """per_page above 100 (or another bad paging value) is a 422 VALIDATION_ERROR envelope."""
    sb = create_app()
    async with sb.client() as client:
        r = await client.get(_inventory(sb), headers=_headers(sb), params=params)

    assert 422 == r.status_code
    assert "VALIDATION_ERROR" == r.json()["error"]["code"]


async def test_walking_every_page_serves_every_record_once() -> None:
    """Page/per_page walk at the cap covers the inventory exactly once; a page past the end is empty."""
    sb = create_app(size=250)
    async with sb.client() as client:
        items = await _walk(client, sb)
        past = await client.get(_inventory(sb), headers=_headers(sb), params={"per_page": 100, "page": 4})

    assert [r.offer_id for r in sb.records] == [i["id"] for i in items]
    assert [] == past.json()["items"]
    assert 250 == past.json()["total"]
    served = [oid for entry in sb.log for oid in entry.offer_ids]
    assert sorted(served) == sorted(r.offer_id for r in sb.records)


async def test_country_and_search_filters() -> None:
    """country filters on the listed country; search is a substring of the E.164 (not a prefix)."""
    sb = create_app()
    async with sb.client() as client:
        indian = await _walk(client, sb, country="in")
        r = await client.get(_inventory(sb), headers=_headers(sb), params={"search": "80", "per_page": 100})

    assert {r.offer_id for r in sb.records if r.country == "IN"} == {i["id"] for i in indian}
    found = r.json()["items"]
    assert {r.offer_id for r in sb.records if "80" in r.e164} == {i["id"] for i in found}
    assert any(not i["e164"].startswith("+80") for i in found)


async def test_only_one_non_active_record_leaks() -> None:
    """The server lists active numbers plus exactly one non-active record (a defect to skip)."""
    sb = create_app()
    async with sb.client() as client:
        items = await _walk(client, sb)

    non_active = [i for i in items if i["status"] != "active"]
    assert 1 == len(non_active)
    (leak,) = [r for r in sb.records if r.defect == "status"]
    assert leak.offer_id == non_active[0]["id"]
    hidden = sb.options["hidden"]
    assert hidden
    assert not {h["e164"] for h in hidden} & {i["e164"] for i in items}


async def test_purchase_moves_a_number_from_inventory_to_owned() -> None:
    """A purchase answers 200, debits setup+monthly, leaves inventory and shows in the owned list."""
    sb = create_app(owned=0)
    record = next(r for r in sb.records if r.expected_valid and r.upfront and r.upfront > 0)
    before = sb.balance
    assert before is not None and record.upfront is not None and record.monthly is not None
    async with sb.client() as client:
        r = await client.post(_purchase(sb), headers=_headers(sb), json={"e164": record.e164})
        again = await client.post(_purchase(sb), headers=_headers(sb), json={"e164": record.e164})
        items = await _walk(client, sb)
        owned = await client.get(_owned(sb), headers=_headers(sb))

    assert 200 == r.status_code
    body = r.json()
    assert "Number purchased successfully" == body["message"]
    assert record.e164 == body["number"]["e164"]
    assert [record.raw] == body["items"]
    assert before - record.upfront - record.monthly == sb.balance
    assert {record.e164: record.offer_id} == sb.owned
    assert [record.offer_id] == [p.offer_id for p in sb.purchases]
    assert 404 == again.status_code
    assert "NOT_FOUND" == again.json()["error"]["code"]
    assert record.offer_id not in {i["id"] for i in items}
    assert (1, 1) == (owned.json()["total"], len(owned.json()["items"]))
    assert record.e164 == owned.json()["items"][0]["e164"]


async def test_purchase_of_an_unknown_or_hidden_number_is_404() -> None:
    """A number never stocked, or stocked but not for sale, is not in inventory."""
    sb = create_app()
    hidden = sb.options["hidden"][0]["e164"]
    async with sb.client() as client:
        for e164 in ("+12125550000", hidden):
            r = await client.post(_purchase(sb), headers=_headers(sb), json={"e164": e164})
            assert 404 == r.status_code
        bad = await client.post(_purchase(sb), headers=_headers(sb), json={"number": "x"})

    assert 422 == bad.status_code
    assert [] == sb.purchases


@pytest.mark.parametrize("balance_error", [402, 500])
async def test_running_out_of_balance(balance_error: Literal[402, 500]) -> None:
    """Insufficient balance is 402 INSUFFICIENT_BALANCE, or a 500 with rollback; nothing is bought."""
    sb = create_app(balance="1.00", balance_error=balance_error)
    record = next(r for r in sb.records if r.expected_valid and r.monthly is not None and r.monthly > 1)
    async with sb.client() as client:
        r = await client.post(_purchase(sb), headers=_headers(sb), json={"e164": record.e164})

    assert balance_error == r.status_code
    error = r.json()["error"]
    if balance_error == 402:
        assert "INSUFFICIENT_BALANCE" == error["code"]
        assert 1.0 == error["details"]["available"]
    assert Decimal("1.00") == sb.balance
    assert {} == sb.owned
    assert sb.is_available(record.offer_id)


async def test_race_loses_the_number_to_someone_else() -> None:
    """With rate_race the number vanishes just before our purchase: 404, not ours, gone from inventory."""
    sb = create_app(faults=Faults(rate_race=1.0))
    record = next(r for r in sb.records if r.expected_valid)
    async with sb.client() as client:
        r = await client.post(_purchase(sb), headers=_headers(sb), json={"e164": record.e164})
        items = await _walk(client, sb)

    assert 404 == r.status_code
    assert {} == sb.owned
    assert {record.offer_id} == sb.taken
    assert record.offer_id not in {i["id"] for i in items}
    assert "race" == sb.log[0].fault


@pytest.mark.parametrize(
    ("knob", "committed"), [("rate_ambiguous_after_commit", True), ("rate_ambiguous_before_commit", False)]
)
async def test_ambiguous_purchase_outcomes(knob: str, committed: bool) -> None:
    """A 502/504 may hide a committed purchase (after) or an uncommitted one (before)."""
    faults: dict[str, Any] = {knob: 1.0}
    sb = create_app(faults=Faults(**faults))
    record = next(r for r in sb.records if r.expected_valid)
    async with sb.client() as client:
        r = await client.post(_purchase(sb), headers=_headers(sb), json={"e164": record.e164})

    assert r.status_code in (502, 504)
    assert committed == (record.e164 in sb.owned)
    assert committed == (len(sb.purchases) == 1)
    if committed:
        assert "ambiguous_after_commit" == sb.purchases[0].fault
    assert knob.removeprefix("rate_") == sb.log[-1].fault


async def test_lying_total() -> None:
    """lying_total replaces the reported total; the items stay true."""
    sb = create_app(faults=Faults(lying_total=10_000))
    async with sb.client() as client:
        r = await client.get(_inventory(sb), headers=_headers(sb), params={"page": 3, "per_page": 100})

    assert 10_000 == r.json()["total"]
    assert [] == r.json()["items"]
    assert "lying_total" == sb.log[-1].fault


async def test_owned_list_accepts_limit_offset() -> None:
    """The owned list pages by page/per_page and by limit/offset alike."""
    sb = create_app(owned=0)
    records = [r for r in sb.records if r.expected_valid][:3]
    async with sb.client() as client:
        for record in records:
            await client.post(_purchase(sb), headers=_headers(sb), json={"e164": record.e164})
        second = await client.get(_owned(sb), headers=_headers(sb), params={"page": 2, "per_page": 2})
        offset = await client.get(_owned(sb), headers=_headers(sb), params={"limit": 2, "offset": 2})

    assert second.json() == offset.json()
    assert [records[2].e164] == [i["e164"] for i in second.json()["items"]]
    assert (3, 2) == (second.json()["total"], second.json()["page"])
