"""The Plivo emulator speaks Plivo's wire format: Basic auth, limit/offset pages, names, filters, purchases."""

from __future__ import annotations

import re
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from numbroker.sandbox import Faults, Sandbox
from numbroker_providers.plivo.sandbox import COUNTRY_NAMES, DEFAULT_SIZE, create_app

pytestmark = pytest.mark.anyio


def auth(sb: Sandbox) -> tuple[str, str]:
    return sb.env["PLIVO_AUTH_ID"], sb.env["PLIVO_AUTH_TOKEN"]


def account(sb: Sandbox, *path: str) -> str:
    return "/v1/Account/" + "/".join((sb.env["PLIVO_AUTH_ID"], *path)) + "/"


def client(sb: Sandbox) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app), base_url="http://plivo.sandbox", auth=auth(sb))


async def walk(http: httpx.AsyncClient, sb: Sandbox, **params: Any) -> list[dict[str, Any]]:
    """Every record of every page, following meta.next."""
    objects: list[dict[str, Any]] = []
    url: str | None = account(sb, "PhoneNumber")
    query: dict[str, Any] | None = params
    while url is not None:
        r = await http.get(url, params=query)
        assert 200 == r.status_code, r.text
        body = r.json()
        objects += body["objects"]
        url, query = body["meta"]["next"], None
    return objects


def test_shape_of_the_sandbox() -> None:
    """Base path /v1, Basic credentials, digits without '+', country names, 5-place rates, deliberate defects."""
    sb = create_app()

    assert "/v1" == sb.base_path
    assert {"PLIVO_AUTH_ID", "PLIVO_AUTH_TOKEN"} == set(sb.env)
    assert DEFAULT_SIZE == len(sb.records)
    assert all(r.raw["number"] == r.e164[1:] for r in sb.records)
    valid = [r for r in sb.records if r.expected_valid]
    assert all(r.raw["country"] == COUNTRY_NAMES[r.country] for r in valid)
    assert all(re.fullmatch(r"\d+\.\d{5}", r.raw["monthly_rental_rate"]) for r in valid)
    assert all(r.currency is None and "currency" not in r.raw for r in sb.records)
    assert 10 == sum(not r.expected_valid for r in sb.records)
    assert {"fixed", "mobile", "tollfree"} == {r.raw["type"] for r in valid}
    assert "national" in {r.raw["sub_type"] for r in valid}
    assert any(r.raw["restriction"] for r in valid)
    assert create_app().records == sb.records  # deterministic per seed
    assert create_app(seed=1).records != sb.records


async def test_search_pages_by_limit_and_offset_with_next_links() -> None:
    """20 records a page at most; meta echoes limit/offset, total_count is the match count; next links chain."""
    sb = create_app(size=300)
    us = [r for r in sb.records if r.country == "US"]
    async with client(sb) as http:
        first = (await http.get(account(sb, "PhoneNumber"), params={"country_iso": "US"})).json()
        odd = (await http.get(account(sb, "PhoneNumber"), params={"country_iso": "US", "limit": 7, "offset": 3})).json()
        everything = await walk(http, sb, country_iso="US", limit=20)

    assert {"api_id", "meta", "objects"} == set(first)
    assert (20, 0, len(us), None) == (
        first["meta"]["limit"],
        first["meta"]["offset"],
        first["meta"]["total_count"],
        first["meta"]["previous"],
    )
    assert first["meta"]["next"].startswith(account(sb, "PhoneNumber") + "?limit=20&offset=20")
    assert [r.raw for r in us[:20]] == first["objects"]
    assert [r.raw for r in us[3:10]] == odd["objects"]
    assert odd["meta"]["previous"].startswith(account(sb, "PhoneNumber") + "?limit=7&offset=0")
    assert [r.raw for r in us] == everything


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "country_iso is required"),
        ({"country_iso": "US", "limit": 21}, "limit must be"),
        ({"country_iso": "US", "limit": 0}, "limit must be"),
        ({"country_iso": "US", "offset": -1}, "offset must be"),
        ({"country_iso": "US", "type": "premium"}, "type must be"),
        ({"country_iso": "US", "pattern": "+1"}, "pattern must be digits"),
        ({"country_iso": "US", "services": "fax"}, "services must be"),
    ],
)
async def test_bad_parameters_are_400_in_plivos_envelope(params: dict[str, Any], message: str) -> None:
    sb = create_app()
    async with client(sb) as http:
        r = await http.get(account(sb, "PhoneNumber"), params=params)

    assert 400 == r.status_code
    assert {"api_id", "error"} == set(r.json())
    assert message in r.json()["error"]


async def test_filters_type_pattern_services_and_region() -> None:
    """type (local read as fixed), pattern after the country code, every service asked, region or city text."""
    sb = create_app(size=300)
    us = [r for r in sb.records if r.country == "US"]
    area = next(r for r in us if r.expected_valid and r.number_type == "local").e164[2:5]
    async with client(sb) as http:
        fixed = await walk(http, sb, country_iso="US", type="fixed")
        local = await walk(http, sb, country_iso="US", type="local")
        toll = await walk(http, sb, country_iso="US", type="tollfree")
        patterned = await walk(http, sb, country_iso="US", pattern=area)
        texting = await walk(http, sb, country_iso="US", services="voice,sms")
        london = await walk(http, sb, country_iso="GB", region="london")

    assert fixed == local == [r.raw for r in us if r.number_type in ("local", "national")]
    assert [r.raw for r in us if r.number_type == "toll-free"] == toll
    assert [r.raw for r in us if r.e164.startswith("+1" + area)] == patterned
    assert [r.raw for r in us if r.raw["voice_enabled"] is True and r.raw["sms_enabled"] is True] == texting
    assert london and all("LONDON" in (o["region"] + str(o["city"])).upper() for o in london)


async def test_basic_auth_must_match_the_path_account() -> None:
    """No auth, a wrong token, or another account's path: 401 {api_id, error}."""
    sb = create_app()
    user, token = auth(sb)
    url = account(sb, "PhoneNumber")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app), base_url="http://plivo.sandbox") as http:
        answers = [
            await http.get(url, params={"country_iso": "US"}),
            await http.get(url, params={"country_iso": "US"}, auth=(user, "wrong")),
            await http.get(url.replace(user, "MAOTHER"), params={"country_iso": "US"}, auth=(user, token)),
            await http.get(url, params={"country_iso": "US"}, headers={"Authorization": "Basic !!!"}),
        ]

    assert [401] * 4 == [r.status_code for r in answers]
    assert all("error" in r.json() for r in answers)


async def test_purchase_commits_and_the_number_is_owned() -> None:
    """POST PhoneNumber/{number}/: 201 fulfilled, Success; it leaves the search and is listed and looked up."""
    sb = create_app(verification_countries=())
    record = next(r for r in sb.records if r.expected_valid and r.country == "US")
    digits = record.e164[1:]
    async with client(sb) as http:
        bought = await http.post(account(sb, "PhoneNumber", digits), json={})
        again = await http.post(account(sb, "PhoneNumber", digits), json={})
        lookup = await http.get(account(sb, "Number", digits))
        listed = await http.get(account(sb, "Number"), params={"limit": 20, "offset": 0})
        missing = await http.get(account(sb, "Number", "14155550000"))
        remaining = await walk(http, sb, country_iso="US")

    assert 201 == bought.status_code
    assert {"number": digits, "status": "Success"} == bought.json()["numbers"][0]
    assert ("fulfilled", "created") == (bought.json()["status"], bought.json()["message"])
    assert (404, "not found") == (again.status_code, again.json()["error"])
    assert (200, digits, True) == (lookup.status_code, lookup.json()["number"], lookup.json()["active"])
    assert [digits] == [o["number"] for o in listed.json()["objects"]]
    assert 1 == listed.json()["meta"]["total_count"]
    assert (404, "not found") == (missing.status_code, missing.json()["error"])
    assert digits not in {o["number"] for o in remaining}
    assert {record.e164: record.offer_id} == sb.owned
    (purchase,) = sb.purchases
    assert (record.upfront, record.monthly, "USD") == (purchase.upfront, purchase.monthly, purchase.currency)


async def test_restricted_and_verification_country_numbers_are_bought_pending() -> None:
    """A restricted number, or one in a verification country, answers 'pending' under a 'fulfilled' order."""
    sb = create_app(size=300)
    restricted = next(r for r in sb.records if r.expected_valid and r.raw["restriction"])
    german = next(r for r in sb.records if r.expected_valid and r.country == "DE")
    async with client(sb) as http:
        answers = [await http.post(account(sb, "PhoneNumber", r.e164[1:])) for r in (restricted, german)]
        owned = [await http.get(account(sb, "Number", r.e164[1:])) for r in (restricted, german)]

    assert [201, 201] == [a.status_code for a in answers]
    assert [("fulfilled", "pending")] * 2 == [(a.json()["status"], a.json()["numbers"][0]["status"]) for a in answers]
    assert [False, False] == [o.json()["active"] for o in owned]
    assert {restricted.e164, german.e164} == set(sb.owned)


async def test_substitute_assigns_another_number_of_the_same_kind() -> None:
    """substitute=True: the answer names another number of the same country and type, and that one is owned."""
    sb = create_app(substitute=True, verification_countries=())
    asked = next(r for r in sb.records if r.expected_valid and r.country == "US" and r.number_type == "local")
    async with client(sb) as http:
        answer = await http.post(account(sb, "PhoneNumber", asked.e164[1:]), json={})

    (entry,) = answer.json()["numbers"]
    assigned = sb.record_by_e164("+" + entry["number"])
    assert assigned is not None and assigned.e164 != asked.e164
    assert (assigned.country, assigned.number_type) == (asked.country, asked.number_type)
    assert [assigned.e164] == list(sb.owned)


async def test_purchase_fault_knobs() -> None:
    """rate_race: 404 and the number is gone for good; ambiguous after commit: 502/504 yet owned."""
    sb = create_app(faults=Faults(rate_race=1.0))
    record = next(r for r in sb.records if r.expected_valid and r.country == "US")
    async with client(sb) as http:
        lost = await http.post(account(sb, "PhoneNumber", record.e164[1:]))
    assert 404 == lost.status_code
    assert not sb.is_available(record.offer_id) and not sb.owned

    sb = create_app(faults=Faults(rate_ambiguous_after_commit=1.0))
    async with client(sb) as http:
        spoiled = await http.post(account(sb, "PhoneNumber", record.e164[1:]))
        lookup = await http.get(account(sb, "Number", record.e164[1:]))
    assert spoiled.status_code in (502, 504)
    assert (200, [record.e164]) == (lookup.status_code, list(sb.owned))
    assert "ambiguous_after_commit" == sb.purchases[0].fault


async def test_read_fault_knobs_and_lying_totals() -> None:
    """429 in Plivo's envelope with Retry-After, 5xx, malformed 200s; lying_total changes total_count only."""
    sb = create_app(faults=Faults(rate_429=1.0, retry_after="2"))
    async with client(sb) as http:
        limited = await http.get(account(sb, "PhoneNumber"), params={"country_iso": "US"})
    assert (429, "2", "too many requests") == (
        limited.status_code,
        limited.headers["retry-after"],
        limited.json()["error"],
    )

    sb = create_app(faults=Faults(rate_5xx=1.0))
    async with client(sb) as http:
        failed = [await http.get(account(sb, "PhoneNumber"), params={"country_iso": "US"}) for _ in range(12)]
    assert {r.status_code for r in failed} <= {500, 502, 503, 504}
    assert all("error" in r.json() for r in failed if r.status_code in (500, 503))
    assert all(e.fault == "server_error" and not e.offer_ids for e in sb.log)

    sb = create_app(faults=Faults(rate_malformed=1.0))
    async with client(sb) as http:
        spoiled = await http.get(account(sb, "PhoneNumber"), params={"country_iso": "US"})
    assert (200, "malformed", ()) == (spoiled.status_code, sb.log[-1].fault, sb.log[-1].offer_ids)

    sb = create_app(faults=Faults(lying_total=7))
    async with client(sb) as http:
        page = (await http.get(account(sb, "PhoneNumber"), params={"country_iso": "US"})).json()
    assert (7, 20) == (page["meta"]["total_count"], len(page["objects"]))
    assert "lying_total" == sb.log[-1].fault


def test_size_and_shared_numbers() -> None:
    """size sets the count (down to 0); the shared US numbers are offered at Plivo's own price."""
    assert 0 == len(create_app(size=0).records)
    assert 3 == len(create_app(size=3).records)
    with pytest.raises(ValueError, match="negative"):
        create_app(size=-1)
    sb = create_app(seed=4)
    shared = [r for r in sb.records if r.shared]
    assert shared and all(r.country == "US" for r in shared)
    assert all(r.monthly is not None and r.monthly.as_tuple().exponent == -5 for r in shared)
    assert all(r.monthly != Decimal(0) for r in shared)


async def test_the_owned_list_and_lookup_lag_behind_the_commit() -> None:
    """Faults.owned_list_lag_seconds: a bought number is the account's at once, but the owned list and its
    lookup show it only once the lag in force at its commit has passed."""
    sb = create_app(verification_countries=(), faults=Faults(owned_list_lag_seconds=600))
    first, second = [r for r in sb.records if r.expected_valid and r.country == "US"][:2]
    async with client(sb) as http:
        assert 201 == (await http.post(account(sb, "PhoneNumber", first.e164[1:]), json={})).status_code
        lagging = await http.get(account(sb, "Number"), params={"limit": 20, "offset": 0})
        lookup = await http.get(account(sb, "Number", first.e164[1:]))
        sb.listed_from[first.e164] = time.monotonic()  # as if the lag had passed
        sb.faults = Faults()  # a later purchase is listed at once
        assert 201 == (await http.post(account(sb, "PhoneNumber", second.e164[1:]), json={})).status_code
        listed = await http.get(account(sb, "Number"), params={"limit": 20, "offset": 0})
        found = await http.get(account(sb, "Number", first.e164[1:]))

    assert ([], 0) == (lagging.json()["objects"], lagging.json()["meta"]["total_count"])
    assert (404, "not found") == (lookup.status_code, lookup.json()["error"])
    assert [first.e164[1:], second.e164[1:]] == [o["number"] for o in listed.json()["objects"]]
    assert (200, first.e164[1:]) == (found.status_code, found.json()["number"])
    assert {first.e164, second.e164} == set(sb.owned)
