"""The Bird emulator speaks Bird's wire format: AccessKey auth, token paging, filters, buying stock items."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import httpx
import pytest

from numbroker.sandbox import Faults, Sandbox
from numbroker_providers.bird.sandbox import create_app

pytestmark = pytest.mark.anyio


def _headers(sb: Sandbox) -> dict[str, str]:
    return {"Authorization": f"AccessKey {sb.env['BIRD_ACCESS_KEY']}"}


def _search(sb: Sandbox) -> str:
    return f"/organizations/{sb.env['BIRD_ORGANIZATION_ID']}/numbers-stock-items"


def _long_codes(sb: Sandbox) -> str:
    return f"/workspaces/{sb.env['BIRD_WORKSPACE_ID']}/numbers-long-code"


async def _walk(
    client: httpx.AsyncClient, sb: Sandbox, params: Sequence[tuple[str, str]] = (), path: str | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """All pages; returns (items, raw bodies)."""
    items: list[dict[str, Any]] = []
    bodies: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        query: list[tuple[str, str | int | float | bool | None]] = [("limit", "99"), *params]
        if token:
            query.append(("pageToken", token))
        r = await client.get(path or _search(sb), headers=_headers(sb), params=query)
        assert 200 == r.status_code, r.text
        body = r.json()
        bodies.append(body)
        items += body["results"]
        token = body.get("nextPageToken")
        if not token:
            return items, bodies


def test_shape_of_the_sandbox() -> None:
    """Stock items carry Bird's fields, hyphenated types and amount/exponent prices."""
    sb = create_app()

    assert "" == sb.base_path
    assert {"BIRD_ACCESS_KEY", "BIRD_ORGANIZATION_ID", "BIRD_WORKSPACE_ID"} == set(sb.env)
    assert 120 == len(sb.records)
    good = [r for r in sb.records if r.expected_valid]
    assert {"toll-free", "local", "mobile", "national"} == {r.raw["type"] for r in good}
    assert {-6, -2, -3} <= {r.raw["monthlyPrice"]["exponent"] for r in good}
    for r in good:
        price = r.raw["monthlyPrice"]
        assert r.monthly == Decimal(price["amount"]).scaleb(price["exponent"])
        assert set(r.raw["capabilities"]) == {"voice", "sms", "mms"}
    assert any("backOrderStockId" in r.raw for r in sb.records)
    assert {"absurd_exponent", "null_price", "country_mismatch"} <= {r.defect for r in sb.records}


@pytest.mark.parametrize("authorization", [None, "Bearer {key}", "AccessKey wrong", "accesskey {key}"])
async def test_anything_but_accesskey_is_401(authorization: str | None) -> None:
    """Only ``Authorization: AccessKey <key>`` is accepted; the 401 body is {code, message}."""
    sb = create_app()
    headers = {} if authorization is None else {"Authorization": authorization.format(key=sb.env["BIRD_ACCESS_KEY"])}
    async with sb.client() as client:
        r = await client.get(_search(sb), headers=headers)

    assert 401 == r.status_code
    assert "Unauthorized" == r.json()["code"]
    assert r.json()["message"]


async def test_unknown_organization_is_404() -> None:
    """An organization other than the key's is not found."""
    sb = create_app()
    async with sb.client() as client:
        r = await client.get(
            "/organizations/00000000-0000-4000-8000-000000000000/numbers-stock-items", headers=_headers(sb)
        )

    assert 404 == r.status_code


@pytest.mark.parametrize("limit", ["0", "100", "ten"])
async def test_limit_out_of_range_is_422(limit: str) -> None:
    """limit must be 1..99."""
    sb = create_app()
    async with sb.client() as client:
        r = await client.get(_search(sb), headers=_headers(sb), params={"limit": limit})

    assert 422 == r.status_code


async def test_token_walk_ends_with_a_missing_token() -> None:
    """A multi-page walk serves every item once; the last page omits nextPageToken; tokens are opaque."""
    sb = create_app(size=250)
    async with sb.client() as client:
        first = await client.get(_search(sb), headers=_headers(sb))
        items, bodies = await _walk(client, sb)

    assert 10 == len(first.json()["results"])
    assert [r.offer_id for r in sb.records] == [i["id"] for i in items]
    assert 3 == len(bodies)
    assert "nextPageToken" not in bodies[-1]
    tokens = [b["nextPageToken"] for b in bodies[:-1]]
    assert all(t and not t.isdigit() for t in tokens)


async def test_single_page_answer_carries_an_empty_token() -> None:
    """An answer that fits on the first page says ``"nextPageToken": ""``."""
    sb = create_app()
    async with sb.client() as client:
        r = await client.get(_search(sb), headers=_headers(sb), params={"countryCodes": "US", "types": "toll-free"})

    body = r.json()
    assert "" == body["nextPageToken"]
    assert body["results"]
    assert all(i["type"] == "toll-free" and i["countryCode"] == "US" for i in body["results"])


async def test_tokens_are_salted_and_checked() -> None:
    """The same position gets a different token each time; a forged token is a 400."""
    sb = create_app()
    async with sb.client() as client:
        a = await client.get(_search(sb), headers=_headers(sb))
        b = await client.get(_search(sb), headers=_headers(sb))
        bad = await client.get(_search(sb), headers=_headers(sb), params={"pageToken": "MTA="})

    assert a.json()["nextPageToken"] != b.json()["nextPageToken"]
    assert a.json()["results"] == b.json()["results"]
    assert 400 == bad.status_code
    assert "InvalidPageToken" == bad.json()["code"]


async def test_repeated_country_type_and_feature_filters() -> None:
    """countryCodes/types are OR-ed repeated keys; every feature must be present."""
    sb = create_app()
    params = [
        ("countryCodes", "NL"),
        ("countryCodes", "GB"),
        ("types", "mobile"),
        ("features", "sms-outbound"),
        ("features", "voice-inbound"),
    ]
    async with sb.client() as client:
        items, _ = await _walk(client, sb, params)

    expected = {
        r.offer_id
        for r in sb.records
        if r.country in ("NL", "GB")
        and r.number_type == "mobile"
        and r.raw["capabilities"]["sms"]["outbound"]
        and r.raw["capabilities"]["voice"]["inbound"]
    }
    assert expected == {i["id"] for i in items}
    assert expected


async def test_prefix_needs_country_codes_and_international_format() -> None:
    """prefix filters on the E.164 start, needs countryCodes and a leading +."""
    sb = create_app()
    async with sb.client() as client:
        alone = await client.get(_search(sb), headers=_headers(sb), params={"prefix": "+1212"})
        national = await client.get(_search(sb), headers=_headers(sb), params={"prefix": "212", "countryCodes": "US"})
        items, _ = await _walk(client, sb, [("countryCodes", "US"), ("prefix", "+1212")])
        bad_type = await client.get(_search(sb), headers=_headers(sb), params={"types": "toll_free"})
        bad_feature = await client.get(_search(sb), headers=_headers(sb), params={"features": "sms"})

    assert (422, 422, 422, 422) == (
        alone.status_code,
        national.status_code,
        bad_type.status_code,
        bad_feature.status_code,
    )
    expected = {r.offer_id for r in sb.records if r.country == "US" and r.e164.startswith("+1212")}
    assert expected == {i["id"] for i in items}
    assert expected


async def test_repeat_token_hands_back_the_used_token() -> None:
    """With repeat_token, a request made with a token gets that same token back."""
    sb = create_app(faults=Faults(repeat_token=True))
    async with sb.client() as client:
        first = await client.get(_search(sb), headers=_headers(sb))
        token = first.json()["nextPageToken"]
        second = await client.get(_search(sb), headers=_headers(sb), params={"pageToken": token})

    assert token == second.json()["nextPageToken"]
    assert first.json()["results"] != second.json()["results"]
    assert "repeat_token" == sb.log[-1].fault
    assert sb.log[-1].offer_ids


async def test_purchase_buys_stock_items_into_the_workspace() -> None:
    """201 with a list of long-code numbers; the items leave the stock and show in the owned list."""
    sb = create_app()
    records = [r for r in sb.records if r.expected_valid][:2]
    ids = [r.offer_id for r in records]
    async with sb.client() as client:
        r = await client.post(_long_codes(sb), headers=_headers(sb), json={"numberStockItemIds": ids})
        again = await client.post(_long_codes(sb), headers=_headers(sb), json={"numberStockItemIds": ids[:1]})
        stock, _ = await _walk(client, sb)
        owned, _ = await _walk(client, sb, path=_long_codes(sb))

    assert 201 == r.status_code
    bought = r.json()
    assert [rec.e164 for rec in records] == [n["numberString"] for n in bought]
    assert {"id", "numberString", "countryCode", "type", "capabilities", "createdAt"} <= set(bought[0])
    assert 409 == again.status_code
    assert not set(ids) & {i["id"] for i in stock}
    assert [n["id"] for n in bought] == [n["id"] for n in owned]
    assert {rec.e164: rec.offer_id for rec in records} == sb.owned


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"numberStockItemIds": ["00000000-0000-4000-8000-000000000000"]}, 404),
        ({"numberStockItemIds": [], "extra": 1}, 422),
        ({"ids": ["x"]}, 422),
        ({"numberStockItemIds": [f"id-{i}" for i in range(26)]}, 422),
    ],
    ids=["unknown", "extra-key", "missing", "too-many"],
)
async def test_purchase_validation(payload: dict[str, Any], status: int) -> None:
    """Unknown items are 404; the body must be exactly {numberStockItemIds: 1..25 ids}."""
    sb = create_app()
    async with sb.client() as client:
        r = await client.post(_long_codes(sb), headers=_headers(sb), json=payload)

    assert status == r.status_code
    assert {"code", "message"} <= set(r.json())
    assert [] == sb.purchases


async def test_purchase_all_or_nothing() -> None:
    """One unavailable item fails the whole batch."""
    sb = create_app()
    a, b = [r for r in sb.records if r.expected_valid][:2]
    async with sb.client() as client:
        await client.post(_long_codes(sb), headers=_headers(sb), json={"numberStockItemIds": [a.offer_id]})
        r = await client.post(
            _long_codes(sb), headers=_headers(sb), json={"numberStockItemIds": [b.offer_id, a.offer_id]}
        )

    assert 409 == r.status_code
    assert [a.offer_id] == [p.offer_id for p in sb.purchases]


async def test_reservation_required_and_race() -> None:
    """require_reservation answers 422 NumberNotReserved; a lost race answers 409 and the item is gone."""
    reserved = create_app(require_reservation=True)
    raced = create_app(faults=Faults(rate_race=1.0))
    record = next(r for r in raced.records if r.expected_valid)
    async with reserved.client() as client:
        r1 = await client.post(
            _long_codes(reserved), headers=_headers(reserved), json={"numberStockItemIds": [record.offer_id]}
        )
    async with raced.client() as client:
        r2 = await client.post(
            _long_codes(raced), headers=_headers(raced), json={"numberStockItemIds": [record.offer_id]}
        )

    assert (422, "NumberNotReserved") == (r1.status_code, r1.json()["code"])
    assert "number stock item must be reserved" == r1.json()["message"]
    assert 409 == r2.status_code
    assert {record.offer_id} == raced.taken
    assert not raced.is_available(record.offer_id)
    assert {} == raced.owned
