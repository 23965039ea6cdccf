"""The Telnyx emulator's wire format, quirks, orders and fault knobs, spoken to with a bare HTTP client."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from numbroker.sandbox import Faults, Sandbox, shared_numbers
from numbroker_providers.identitycall import sandbox as identitycall
from numbroker_providers.telnyx.sandbox import BUCKETS, DEFAULT_LIMIT, DEFAULT_PER_BUCKET, LANE, create_app

SEARCH = "/v2/available_phone_numbers"


def headers(sandbox: Sandbox) -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox.env['TELNYX_API_KEY']}"}


async def get(sandbox: Sandbox, path: str, params: Any = None, **kwargs: Any) -> httpx.Response:
    async with sandbox.client(headers=kwargs.pop("headers", headers(sandbox))) as client:
        return await client.get(path.removeprefix("/v2"), params=params)


async def post(sandbox: Sandbox, path: str, body: Any) -> httpx.Response:
    async with sandbox.client(headers=headers(sandbox)) as client:
        return await client.post(path.removeprefix("/v2"), json=body)


def us_local(limit: int = 100) -> dict[str, Any]:
    return {"filter[country_code]": "US", "filter[phone_number_type]": "local", "filter[limit]": limit}


@pytest.mark.anyio
async def test_search_answers_telnyx_records_without_a_number_type() -> None:
    """{data, meta{total_results, best_effort_results}}; records as the SDK's model, amounts as decimal strings."""
    sandbox = create_app(seed=1)
    response = await get(sandbox, SEARCH, us_local())

    assert 200 == response.status_code
    body = response.json()
    assert {"data", "meta"} == set(body)
    assert {"total_results": len(body["data"]), "best_effort_results": 0} == body["meta"]
    expected = [r.raw for r in sandbox.records if r.country == "US" and r.number_type == "local"]
    assert expected == body["data"]
    for item in body["data"]:
        assert {
            "best_effort",
            "cost_information",
            "features",
            "phone_number",
            "quickship",
            "record_type",
            "region_information",
            "reservable",
            "vanity_format",
        } == set(item)
        assert "number_type" not in item and "phone_number_type" not in item
        cost = item["cost_information"]
        assert all(isinstance(cost.get(k), str) for k in ("upfront_cost", "monthly_cost"))


@pytest.mark.anyio
async def test_unwrapped_filters_are_ignored_like_telnyx_does() -> None:
    """country_code= without filter[...] filters nothing (telnyx-node#289): numbers of every country come back."""
    sandbox = create_app(seed=1)
    unwrapped = await get(sandbox, SEARCH, {"country_code": "US", "phone_number_type": "local", "limit": 500})
    wrapped = await get(sandbox, SEARCH, {"filter[country_code]": "US", "filter[limit]": 500})

    countries = {r.country for r in sandbox.records if r.e164 in {d["phone_number"] for d in unwrapped.json()["data"]}}
    assert DEFAULT_LIMIT == len(unwrapped.json()["data"])  # the limit was not wrapped either
    assert {"US"} == {
        r.country for r in sandbox.records if r.e164 in {d["phone_number"] for d in wrapped.json()["data"]}
    }
    big = await get(sandbox, SEARCH, {"filter[limit]": 1000})
    assert len({r.country for r in sandbox.records}) == len(
        {r.country for r in sandbox.records if r.e164 in {d["phone_number"] for d in big.json()["data"]}}
    )
    assert countries


@pytest.mark.anyio
async def test_filters_match_the_national_number_and_features() -> None:
    """starts_with/contains/ends_with look at the digits after the country code; features must all be there."""
    sandbox = create_app(seed=1)
    params = {**us_local(), "filter[phone_number][starts_with]": "212", "filter[best_effort]": "false"}
    starts = (await get(sandbox, SEARCH, params)).json()["data"]
    featured = (await get(sandbox, SEARCH, {**us_local(), "filter[features]": "sms,fax"})).json()["data"]

    assert starts and all(item["phone_number"].startswith("+1212") for item in starts)
    assert featured and all({"sms", "fax"} <= {f["name"] for f in item["features"]} for item in featured)
    assert len(featured) < len([r for r in sandbox.records if r.country == "US" and r.number_type == "local"])


@pytest.mark.anyio
async def test_best_effort_tops_up_pattern_searches_in_us_and_ca_only() -> None:
    """A US pattern search gets nearby numbers flagged best_effort; filter[best_effort]=false or GB gets none."""
    sandbox = create_app(seed=1)
    pattern = {**us_local(), "filter[phone_number][starts_with]": "212"}
    topped = (await get(sandbox, SEARCH, pattern)).json()
    strict = (await get(sandbox, SEARCH, {**pattern, "filter[best_effort]": "false"})).json()
    gb = {"filter[country_code]": "GB", "filter[phone_number][starts_with]": "20", "filter[limit]": 100}
    british = (await get(sandbox, SEARCH, gb)).json()

    near = [item for item in topped["data"] if item["best_effort"]]
    assert 3 == len(near) == topped["meta"]["best_effort_results"]
    assert not any(item["phone_number"].startswith("+1212") for item in near)
    assert strict["data"] == [item for item in topped["data"] if not item["best_effort"]]
    assert british["data"] and not any(item["best_effort"] for item in british["data"])


@pytest.mark.anyio
async def test_errors_use_telnyx_envelope() -> None:
    """401 10009 for a wrong key; 400 10015 naming the parameter for a refused country or a bad type."""
    sandbox = create_app(seed=1)
    wrong = await get(sandbox, SEARCH, us_local(), headers={"Authorization": "Bearer KEY" + "0" * 32 + "_" + "a" * 22})
    refused = await get(sandbox, SEARCH, {"filter[country_code]": "KP"})
    bad_type = await get(sandbox, SEARCH, {"filter[phone_number_type]": "landline"})

    assert 401 == wrong.status_code
    assert "10009" == wrong.json()["errors"][0]["code"]
    assert 400 == refused.status_code
    assert {"parameter": "filter[country_code]"} == refused.json()["errors"][0]["source"]
    assert ("10015", "Bad Request") == (refused.json()["errors"][0]["code"], refused.json()["errors"][0]["title"])
    assert {"parameter": "filter[phone_number_type]"} == bad_type.json()["errors"][0]["source"]
    empty = await get(sandbox, SEARCH, {"filter[country_code]": "FR", "filter[phone_number_type]": "shared_cost"})
    assert {"data": [], "meta": {"total_results": 0, "best_effort_results": 0}} == empty.json()


@pytest.mark.anyio
@pytest.mark.parametrize(("retry_after", "reset"), [("3", 1), (None, 5)])
async def test_429_carries_x_ratelimit_headers(retry_after: str | None, reset: int) -> None:
    """The shared 429 knob answers Telnyx's 10011 with x-ratelimit-* headers (and Retry-After when set)."""
    sandbox = create_app(seed=1, faults=Faults(rate_429=1.0, retry_after=retry_after), ratelimit_reset=reset)
    response = await get(sandbox, SEARCH, us_local())

    assert 429 == response.status_code
    assert "10011" == response.json()["errors"][0]["code"]
    assert ("100", "0", str(reset)) == tuple(
        response.headers[f"x-ratelimit-{k}"] for k in ("limit", "remaining", "reset")
    )
    assert retry_after == response.headers.get("retry-after")
    assert "rate_limited" == sandbox.log[-1].fault


@pytest.mark.anyio
async def test_read_fault_knobs_spoil_searches() -> None:
    """5xx, malformed and truncated answers come from the shared knobs, logged with their label."""
    knobs = (
        (Faults(rate_5xx=1.0), "server_error"),
        (Faults(rate_malformed=1.0), "malformed"),
        (Faults(rate_truncated=1.0), "truncated"),
    )
    for faults, label in knobs:
        sandbox = create_app(seed=1, faults=faults)
        await get(sandbox, SEARCH, us_local())
        assert label == sandbox.log[-1].fault
        assert () == sandbox.log[-1].offer_ids


async def searched_number(sandbox: Sandbox, country: str = "US") -> str:
    params = {"filter[country_code]": country, "filter[phone_number_type]": "local", "filter[limit]": 100}
    data = (await get(sandbox, SEARCH, params)).json()["data"]
    valid = {r.e164 for r in sandbox.records if r.expected_valid}
    return str(next(item["phone_number"] for item in data if item["phone_number"] in valid))


@pytest.mark.anyio
async def test_an_order_is_pending_then_succeeds_and_the_number_is_listed() -> None:
    """POST answers pending and commits; the order settles after order_polls reads; the owned list follows."""
    sandbox = create_app(seed=1, order_polls=2)
    number = await searched_number(sandbox)
    placed = await post(sandbox, "/v2/number_orders", {"phone_numbers": [{"phone_number": number}]})

    assert 200 == placed.status_code
    order = placed.json()["data"]
    assert ("number_order", "pending") == (order["record_type"], order["status"])
    assert [(number, "pending")] == [(n["phone_number"], n["status"]) for n in order["phone_numbers"]]
    assert number in sandbox.owned and 1 == len(sandbox.purchases)
    owned = (await get(sandbox, "/v2/phone_numbers", {"filter[phone_number]": number[1:]})).json()["data"]
    assert [(number, "purchase-pending")] == [(n["phone_number"], n["status"]) for n in owned]

    first = (await get(sandbox, f"/v2/number_orders/{order['id']}")).json()["data"]
    second = (await get(sandbox, f"/v2/number_orders/{order['id']}")).json()["data"]
    assert ("pending", "success") == (first["status"], second["status"])
    owned = (await get(sandbox, "/v2/phone_numbers", {"filter[phone_number]": number[1:]})).json()["data"]
    assert ["active"] == [n["status"] for n in owned]
    missing = await get(sandbox, "/v2/number_orders/no-such-order")
    assert (404, "10005") == (missing.status_code, missing.json()["errors"][0]["code"])


@pytest.mark.anyio
async def test_orders_fail_or_stay_pending_as_configured() -> None:
    """failing_numbers settle to failure (not ours any more); requirement countries without a group stay pending."""
    sandbox = create_app(seed=1, order_polls=0, requirement_countries=["GB"])
    us = await searched_number(sandbox)
    gb = await searched_number(sandbox, "GB")
    failing = create_app(seed=1, order_polls=0, failing_numbers=[us])
    await searched_number(failing)

    failed = (await post(failing, "/v2/number_orders", {"phone_numbers": [{"phone_number": us}]})).json()["data"]
    assert "failure" == failed["status"]
    assert us not in failing.owned and "order_failed" == failing.purchases[0].fault
    listed = (await get(failing, "/v2/phone_numbers", {"filter[phone_number]": us[1:]})).json()["data"]
    assert ["purchase-failed"] == [n["status"] for n in listed]

    held = (await post(sandbox, "/v2/number_orders", {"phone_numbers": [{"phone_number": gb}]})).json()["data"]
    assert ("pending", False) == (held["status"], held["requirements_met"])
    again = (await get(sandbox, f"/v2/number_orders/{held['id']}")).json()["data"]
    assert "pending" == again["status"]
    grouped = {"phone_numbers": [{"phone_number": us, "requirement_group_id": "rg-1"}]}
    assert "success" == (await post(sandbox, "/v2/number_orders", grouped)).json()["data"]["status"]


@pytest.mark.anyio
async def test_only_searched_and_available_numbers_can_be_ordered() -> None:
    """A number no search served, one already ordered and one lost to a race are 422 'not available'."""
    sandbox = create_app(seed=1, order_polls=0)
    unseen = next(r.e164 for r in sandbox.records if r.expected_valid and r.country == "DE")
    refused = await post(sandbox, "/v2/number_orders", {"phone_numbers": [{"phone_number": unseen}]})
    number = await searched_number(sandbox)
    await post(sandbox, "/v2/number_orders", {"phone_numbers": [{"phone_number": number}]})
    twice = await post(sandbox, "/v2/number_orders", {"phone_numbers": [{"phone_number": number}]})
    malformed = await post(sandbox, "/v2/number_orders", {"phone_numbers": [{"phone_number": "12125550100"}]})

    assert (422, 422) == (refused.status_code, twice.status_code)
    assert "not available" in refused.json()["errors"][0]["detail"]
    assert "not available" in twice.json()["errors"][0]["detail"]
    assert {"pointer": "/phone_numbers/0/phone_number"} == malformed.json()["errors"][0]["source"]

    racing = create_app(seed=1, faults=Faults(rate_race=1.0))
    raced = await searched_number(racing)
    lost = await post(racing, "/v2/number_orders", {"phone_numbers": [{"phone_number": raced}]})
    assert 422 == lost.status_code and "no longer available" in lost.json()["errors"][0]["detail"]
    assert not racing.owned and racing.taken


@pytest.mark.anyio
async def test_purchase_fault_knobs() -> None:
    """Ambiguity before the commit buys nothing; after it, the number is ours although the answer is a 502/504."""
    before = create_app(seed=1, faults=Faults(rate_ambiguous_before_commit=1.0))
    after = create_app(seed=1, faults=Faults(rate_ambiguous_after_commit=1.0))
    for sandbox in (before, after):
        number = await searched_number(sandbox)
        response = await post(sandbox, "/v2/number_orders", {"phone_numbers": [{"phone_number": number}]})
        assert response.status_code in (502, 504)

    assert not before.owned and not before.purchases
    assert after.owned and "ambiguous_after_commit" == after.purchases[0].fault


@pytest.mark.anyio
async def test_owned_list_filter_and_pages() -> None:
    """filter[phone_number] matches digits only ('+' matches nothing); page[number]/page[size] with meta."""
    sandbox = create_app(seed=1, order_polls=0)
    params = {"filter[country_code]": "US", "filter[limit]": 100}
    bought = [item["phone_number"] for item in (await get(sandbox, SEARCH, params)).json()["data"][:5]]
    for number in bought:
        await post(sandbox, "/v2/number_orders", {"phone_numbers": [{"phone_number": number}]})

    plus = (await get(sandbox, "/v2/phone_numbers", {"filter[phone_number]": bought[0]})).json()
    digits = (await get(sandbox, "/v2/phone_numbers", {"filter[phone_number]": bought[0][1:]})).json()
    page2 = (await get(sandbox, "/v2/phone_numbers", {"page[number]": 2, "page[size]": 2})).json()
    short = await get(sandbox, "/v2/phone_numbers", {"filter[phone_number]": "12"})

    assert [] == plus["data"]
    assert [bought[0]] == [n["phone_number"] for n in digits["data"]]
    assert bought[2:4] == [n["phone_number"] for n in page2["data"]]
    assert {"total_pages": 3, "total_results": 5, "page_number": 2, "page_size": 2} == page2["meta"]
    assert 400 == short.status_code
    sandbox.faults = Faults(lying_total=2)
    lying = (await get(sandbox, "/v2/phone_numbers", {"page[size]": 2})).json()
    assert 2 == lying["meta"]["total_results"] and "lying_total" == sandbox.log[-1].fault


def test_inventory_is_deterministic_and_sized() -> None:
    """Same seed, same inventory; size spreads over the buckets; defects are tagged; shared numbers are cheaper."""
    first, again, other = create_app(seed=4), create_app(seed=4), create_app(seed=5)

    assert [r.raw for r in first.records] == [r.raw for r in again.records]
    assert [r.raw for r in first.records] != [r.raw for r in other.records]
    assert DEFAULT_PER_BUCKET * len(BUCKETS) == len(first.records)
    assert 50 == len(create_app(seed=4, size=50).records)
    assert [] == create_app(seed=4, size=0).records
    with pytest.raises(ValueError):
        create_app(size=-1)
    assert len({r.e164 for r in first.records}) == len(first.records)
    assert {(r.country, r.number_type) for r in first.records} == set(BUCKETS)
    defects = {r.defect for r in first.records if not r.expected_valid}
    assert {"invalid_number", "country_mismatch", "garbage_price", "no_currency", "bad_features"} <= defects
    resold = {r.e164: r for r in identitycall.create_app(seed=4).records}
    shared = [s for s in shared_numbers(4) if LANE in s.lanes and (s.country, s.number_type) in set(BUCKETS)]
    assert shared
    for number in shared:
        mine = first.record_by_e164(number.e164)
        assert mine is not None and mine.shared and mine.monthly is not None
        theirs = resold[number.e164].monthly
        assert theirs is not None and mine.monthly < theirs
    assert all(isinstance(r.monthly, Decimal) for r in first.records if r.expected_valid)
