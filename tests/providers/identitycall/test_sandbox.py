"""The IdentityCall emulator: Bearer idc_ keys, unpaged mixed-shape entries, purchase by number."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from numbroker.sandbox import Faults, Sandbox
from numbroker_providers.identitycall.sandbox import BUCKETS, create_app

pytestmark = pytest.mark.anyio

AVAILABLE = "/virtual_numbers/available"
PURCHASE = "/virtual_numbers/purchase"
OWNED = "/virtual_numbers"


def _headers(sb: Sandbox) -> dict[str, str]:
    return {"Authorization": f"Bearer {sb.env['IDENTITYCALL_API_KEY']}"}


def test_shape_of_the_sandbox() -> None:
    """40 entries per (country, type) by default, both entry shapes mixed, key in idc_ format."""
    sb = create_app()

    assert "/api/v1/public" == sb.base_path
    assert re.fullmatch(r"idc_[A-Za-z0-9]{32}", sb.env["IDENTITYCALL_API_KEY"])
    assert 40 * len(BUCKETS) == len(sb.records)
    raws = [r.raw for r in sb.records]
    flat = [r for r in raws if "upfront_cost" in r]
    nested = [r for r in raws if "cost_information" in r]
    assert flat and nested and len(flat) + len(nested) == len(raws)
    assert any("country_code" not in r for r in flat) and any("number_type" not in r for r in flat)
    assert any("currency" in r for r in flat)
    assert all(isinstance(f, str) for r in flat for f in r["features"])
    assert all(isinstance(f, dict) for r in nested for f in r["features"])
    assert all(r["record_type"] == "available_phone_number" for r in nested)
    costs = [r.get("monthly_cost") or r["cost_information"]["monthly_cost"] for r in raws]
    assert all(isinstance(c, str) for c in costs if c is not None)
    assert any(len(c.split(".")[-1]) == 4 for c in costs if isinstance(c, str))
    for rec in sb.records:
        if rec.expected_valid:
            cost = rec.raw.get("monthly_cost") or rec.raw["cost_information"]["monthly_cost"]
            assert rec.monthly == Decimal(cost)


@pytest.mark.parametrize("authorization", [None, "Bearer idc_short", "Bearer idc_" + "a" * 32, "Token {key}", "{key}"])
async def test_bad_keys_get_401(authorization: str | None) -> None:
    """A missing, malformed or unknown key is 401 {"error": "Invalid or expired API key"}."""
    sb = create_app()
    headers = (
        {} if authorization is None else {"Authorization": authorization.format(key=sb.env["IDENTITYCALL_API_KEY"])}
    )
    async with sb.client() as client:
        r = await client.get(AVAILABLE, headers=headers)

    assert 401 == r.status_code
    assert {"error": "Invalid or expired API key"} == r.json()


async def test_defaults_are_us_mobile_and_country_is_case_insensitive() -> None:
    """No params means country=US, number_type=mobile; country is case-insensitive."""
    sb = create_app()
    async with sb.client() as client:
        default = await client.get(AVAILABLE, headers=_headers(sb))
        explicit = await client.get(AVAILABLE, headers=_headers(sb), params={"country": "us", "number_type": "mobile"})

    assert default.json() == explicit.json()
    data = default.json()["data"]
    assert {r.offer_id for r in sb.records if (r.country, r.number_type) == ("US", "mobile")} == {
        e["phone_number"] for e in data
    }
    assert "+15551234567" in {e["phone_number"] for e in data}  # the docs' placeholder, served as a defect
    assert set(default.json()) == {"data"}


@pytest.mark.parametrize(
    ("country", "number_type"), [("GB", "national"), ("DE", "toll-free"), ("NL", "local"), ("IN", "mobile")]
)
async def test_each_query_serves_its_bucket(country: str, number_type: str) -> None:
    """The server filters by country and number_type itself."""
    sb = create_app()
    async with sb.client() as client:
        r = await client.get(AVAILABLE, headers=_headers(sb), params={"country": country, "number_type": number_type})

    expected = [rec.raw for rec in sb.records if (rec.country, rec.number_type) == (country, number_type)]
    assert expected == r.json()["data"]
    assert len(expected) >= 39


async def test_unsupported_country_and_type() -> None:
    """An unknown country is 422 Provider error; a bad type is 422 errors[]; a country without stock is empty."""
    sb = create_app()
    async with sb.client() as client:
        country = await client.get(AVAILABLE, headers=_headers(sb), params={"country": "ZZ"})
        refused = await client.get(AVAILABLE, headers=_headers(sb), params={"country": "KP"})
        kind = await client.get(AVAILABLE, headers=_headers(sb), params={"number_type": "toll_free"})
        empty = await client.get(AVAILABLE, headers=_headers(sb), params={"country": "FR"})

    assert 422 == country.status_code
    assert country.json()["error"].startswith("Provider error: ")
    assert 422 == refused.status_code
    assert 422 == kind.status_code
    assert isinstance(kind.json()["errors"], list)
    assert {"data": []} == empty.json()


async def test_size_spreads_over_buckets() -> None:
    """size is the total number of entries."""
    sb = create_app(size=len(BUCKETS) * 3)

    assert len(BUCKETS) * 3 == len(sb.records)


async def test_purchase_and_owned_list() -> None:
    """201 with an integer id; the number leaves search results and appears in the owned list."""
    sb = create_app()
    record = next(r for r in sb.records if r.expected_valid and r.country == "GB")
    async with sb.client() as client:
        r = await client.post(PURCHASE, headers=_headers(sb), json={"phone_number": record.e164, "name": "Sales"})
        again = await client.post(PURCHASE, headers=_headers(sb), json={"phone_number": record.e164})
        search = await client.get(
            AVAILABLE, headers=_headers(sb), params={"country": "GB", "number_type": record.number_type}
        )
        owned = await client.get(OWNED, headers=_headers(sb))

    assert 201 == r.status_code
    data = r.json()["data"]
    assert isinstance(data["id"], int)
    assert (record.e164, "GB", True, "Sales") == (
        data["phone_number"],
        data["country_code"],
        data["active"],
        data["name"],
    )
    assert (422, {"errors": ["phone_number is not available"]}) == (again.status_code, again.json())
    assert record.e164 not in {e["phone_number"] for e in search.json()["data"]}
    assert [data] == owned.json()["data"]
    assert {"current_page": 1, "total_pages": 1, "total_count": 1, "per_page": 25} == owned.json()["meta"]


async def test_purchase_validation_and_permissions() -> None:
    """phone_number is required, requirement_group_id must be an int, a read-only key gets 403."""
    sb = create_app(requirement_group_countries=["DE"])
    readonly = create_app(read_only_key=True)
    german = next(r for r in sb.records if r.expected_valid and r.country == "DE")
    async with sb.client() as client:
        missing = await client.post(PURCHASE, headers=_headers(sb), json={})
        bad_group = await client.post(
            PURCHASE, headers=_headers(sb), json={"phone_number": german.e164, "requirement_group_id": "7"}
        )
        no_group = await client.post(PURCHASE, headers=_headers(sb), json={"phone_number": german.e164})
        ok = await client.post(
            PURCHASE, headers=_headers(sb), json={"phone_number": german.e164, "requirement_group_id": 7}
        )
    async with readonly.client() as client:
        denied = await client.post(PURCHASE, headers=_headers(readonly), json={"phone_number": german.e164})

    assert {"errors": ["phone_number is required"]} == missing.json()
    assert (422, 422, 201) == (bad_group.status_code, no_group.status_code, ok.status_code)
    assert (403, {"error": "Write permission required"}) == (denied.status_code, denied.json())
    assert [] == readonly.purchases


async def test_race_and_ambiguity() -> None:
    """A lost race is the vendor's 'not available'; ambiguous-after commits behind a 502/504."""
    raced = create_app(faults=Faults(rate_race=1.0))
    after = create_app(faults=Faults(rate_ambiguous_after_commit=1.0))
    record = next(r for r in raced.records if r.expected_valid)
    async with raced.client() as client:
        r1 = await client.post(PURCHASE, headers=_headers(raced), json={"phone_number": record.e164})
    async with after.client() as client:
        r2 = await client.post(PURCHASE, headers=_headers(after), json={"phone_number": record.e164})

    assert (422, {"errors": ["phone_number is not available"]}) == (r1.status_code, r1.json())
    assert {} == raced.owned
    assert r2.status_code in (502, 504)
    assert {record.e164: record.offer_id} == after.owned
