"""The Twilio sandbox's wire format and knobs, spoken to directly (in-process, no adapter)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from numbroker.sandbox import Faults, Sandbox
from numbroker_providers.twilio.sandbox import BASE_PATH, BUCKETS, SEARCH_CAP, create_app


def auth(sandbox: Sandbox, token: str | None = None) -> dict[str, str]:
    pair = f"{sandbox.env['TWILIO_ACCOUNT_SID']}:{token or sandbox.env['TWILIO_AUTH_TOKEN']}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


@pytest.fixture
async def client() -> AsyncIterator[tuple[Sandbox, httpx.AsyncClient]]:
    sandbox = create_app(seed=4)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app), base_url="http://twilio.sandbox", headers=auth(sandbox)
    ) as http:
        yield sandbox, http


def account(sandbox: Sandbox, path: str) -> str:
    return f"{BASE_PATH}/Accounts/{sandbox.env['TWILIO_ACCOUNT_SID']}{path}"


@pytest.mark.anyio
async def test_search_answers_at_most_30_whatever_the_page_size_and_no_next_page(
    client: tuple[Sandbox, httpx.AsyncClient],
) -> None:
    """US Local holds more than 30; PageSize=1000 still gets 30, PageSize=5 five, and no paging keys at all."""
    sandbox, http = client
    stocked = [r for r in sandbox.records if (r.country, r.number_type) == ("US", "local")]
    assert len(stocked) > SEARCH_CAP
    url = account(sandbox, "/AvailablePhoneNumbers/US/Local.json")

    big = (await http.get(url, params={"PageSize": 1000})).json()
    small = (await http.get(url, params={"PageSize": 5})).json()

    assert SEARCH_CAP == len(big["available_phone_numbers"])
    assert 5 == len(small["available_phone_numbers"])
    assert {"available_phone_numbers", "uri"} == set(big)
    assert [r.raw for r in stocked[:5]] == small["available_phone_numbers"]
    assert url + "?PageSize=1000" == big["uri"]


@pytest.mark.anyio
async def test_records_speak_twilio_capitalization_and_carry_no_price(
    client: tuple[Sandbox, httpx.AsyncClient],
) -> None:
    """Capability keys are mostly voice/SMS/MMS/fax (some in the definition's lower case); no price, no type."""
    sandbox, http = client
    records = [
        r
        for c, k in BUCKETS
        for r in (await http.get(account(sandbox, f"/AvailablePhoneNumbers/{c}/{k}.json"))).json()[
            "available_phone_numbers"
        ]
    ]
    keys = [tuple(r["capabilities"]) for r in records if isinstance(r.get("capabilities"), dict)]
    assert ("voice", "SMS", "MMS", "fax") in keys and ("voice", "sms", "mms", "fax") in keys
    assert keys.count(("voice", "SMS", "MMS", "fax")) > keys.count(("voice", "sms", "mms", "fax"))
    assert not any("price" in k or "type" in k for r in records for k in r)
    assert all(isinstance(r["latitude"], str) for r in records if r["latitude"] is not None)


@pytest.mark.anyio
async def test_filters_narrow_the_answer(client: tuple[Sandbox, httpx.AsyncClient]) -> None:
    """AreaCode, Contains (with Twilio's wildcards), the capability flags and Beta filter the stock."""
    sandbox, http = client
    url = account(sandbox, "/AvailablePhoneNumbers/US/Local.json")

    async def numbers(**params: Any) -> list[dict[str, Any]]:
        response = await http.get(url, params={"PageSize": 1000, **params})
        assert 200 == response.status_code, response.text
        return list(response.json()["available_phone_numbers"])

    assert all(r["phone_number"].startswith("+1212") for r in await numbers(AreaCode="212"))
    assert all("41" in r["phone_number"] for r in await numbers(Contains="41"))
    anchored = await numbers(Contains="+1415%")
    assert anchored and all(r["phone_number"].startswith("+1415") for r in anchored)
    assert all(r["phone_number"].endswith("47") for r in await numbers(Contains="%47$"))
    assert all(
        r["capabilities"].get("fax", r["capabilities"].get("FAX")) is True for r in await numbers(FaxEnabled="true")
    )
    assert not any(r["beta"] for r in await numbers(Beta="false"))
    for bad in ({"Contains": "1"}, {"Contains": "%7$"}, {"AreaCode": "21"}, {"SmsEnabled": "yes"}, {"PageSize": "0"}):
        response = await http.get(url, params=bad)
        assert 400 == response.status_code
        assert {"code", "message", "more_info", "status"} == set(response.json())


@pytest.mark.anyio
async def test_the_country_resource_and_404s(client: tuple[Sandbox, httpx.AsyncClient]) -> None:
    """US.json names local and toll_free; Mobile.json in the US and FR.json are 404 code 20404."""
    sandbox, http = client
    country = (await http.get(account(sandbox, "/AvailablePhoneNumbers/US.json"))).json()
    assert {"local", "toll_free"} == set(country["subresource_uris"])
    for path in ("/AvailablePhoneNumbers/US/Mobile.json", "/AvailablePhoneNumbers/FR.json"):
        response = await http.get(account(sandbox, path))
        assert (404, 20404) == (response.status_code, response.json()["code"])


@pytest.mark.anyio
async def test_the_price_list_lives_at_its_own_path(client: tuple[Sandbox, httpx.AsyncClient]) -> None:
    """/v1/PhoneNumbers/Countries/GB: toll free with a space, prices as strings; CA as numbers and 'usd'."""
    sandbox, http = client
    gb = (await http.get("/v1/PhoneNumbers/Countries/GB")).json()
    ca = (await http.get("/v1/PhoneNumbers/Countries/CA")).json()

    assert "/v1" == sandbox.env["TWILIO_PRICING_BASE_URL"]
    assert {"local", "mobile", "toll free", "national"} == {p["number_type"] for p in gb["phone_number_prices"]}
    assert {"number_type": "toll free", "base_price": "2.50", "current_price": "2.00"} in gb["phone_number_prices"]
    assert ("usd", float) == (ca["price_unit"], type(ca["phone_number_prices"][0]["current_price"]))
    assert 404 == (await http.get("/v1/PhoneNumbers/Countries/FR")).status_code
    assert 404 == (await http.get(f"{BASE_PATH}/PhoneNumbers/Countries/GB")).status_code  # another host's path


@pytest.mark.anyio
async def test_credentials_are_checked_everywhere(client: tuple[Sandbox, httpx.AsyncClient]) -> None:
    """A wrong token is 401 code 20003 on both APIs; another account's SID in the path is 404."""
    sandbox, http = client
    wrong = auth(sandbox, "0" * 32)
    for url in (account(sandbox, "/AvailablePhoneNumbers/US.json"), "/v1/PhoneNumbers/Countries/US"):
        response = await http.get(url, headers=wrong)
        assert (401, 20003) == (response.status_code, response.json()["code"])
    other = f"{BASE_PATH}/Accounts/AC{'0' * 32}/AvailablePhoneNumbers/US.json"
    assert 404 == (await http.get(other)).status_code


@pytest.mark.anyio
async def test_purchases_need_a_form_and_change_the_stock_and_the_owned_list(
    client: tuple[Sandbox, httpx.AsyncClient],
) -> None:
    """A form POST buys (201 PN…); JSON is not a form; a second purchase is 21422; the owned list pages by token."""
    sandbox, http = client
    url = account(sandbox, "/IncomingPhoneNumbers.json")
    first, second, third = [r for r in sandbox.records if r.expected_valid and r.country == "GB"][:3]

    as_json = await http.post(url, json={"PhoneNumber": first.e164})
    assert (400, 21451) == (as_json.status_code, as_json.json()["code"])
    bought = await http.post(url, data={"PhoneNumber": first.e164})
    assert 201 == bought.status_code
    assert (first.e164, "in-use") == (bought.json()["phone_number"], bought.json()["status"])
    assert bought.json()["sid"].startswith("PN") and bought.headers["twilio-request-id"].startswith("RQ")
    again = await http.post(url, data={"PhoneNumber": first.e164})
    assert (400, 21422) == (again.status_code, again.json()["code"])
    invalid = await http.post(url, data={"PhoneNumber": "not a number"})
    assert (400, 21421) == (invalid.status_code, invalid.json()["code"])
    assert [first.e164] == [p.e164 for p in sandbox.purchases]
    assert not sandbox.is_available(first.offer_id)
    for record in (second, third):
        assert 201 == (await http.post(url, data={"PhoneNumber": record.e164})).status_code

    page = (await http.get(url, params={"PageSize": 2})).json()
    assert [first.e164, second.e164] == [n["phone_number"] for n in page["incoming_phone_numbers"]]
    rest = (await http.get(page["next_page_uri"])).json()
    assert ([third.e164], None) == ([n["phone_number"] for n in rest["incoming_phone_numbers"]], rest["next_page_uri"])
    one = (await http.get(url, params={"PhoneNumber": second.e164})).json()
    assert [second.e164] == [n["phone_number"] for n in one["incoming_phone_numbers"]]


@pytest.mark.anyio
async def test_address_demands_and_fault_knobs() -> None:
    """address_required_countries answers 21631; rate_429 is 20429 with Retry-After; the log names endpoints."""
    sandbox = create_app(address_required_countries=["DE"], faults=Faults(rate_429=1.0, retry_after="2"))
    de = next(r for r in sandbox.records if r.expected_valid and r.country == "DE")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app), base_url="http://twilio.sandbox", headers=auth(sandbox)
    ) as http:
        limited = await http.get("/v1/PhoneNumbers/Countries/DE")
        sandbox.faults = Faults()
        refused = await http.post(account(sandbox, "/IncomingPhoneNumbers.json"), data={"PhoneNumber": de.e164})
        allowed = await http.post(
            account(sandbox, "/IncomingPhoneNumbers.json"), data={"PhoneNumber": de.e164, "AddressSid": "AD" + "1" * 32}
        )

    assert (429, 20429, "2") == (limited.status_code, limited.json()["code"], limited.headers["retry-after"])
    assert (400, 21631) == (refused.status_code, refused.json()["code"])
    assert 201 == allowed.status_code
    assert ["pricing", "purchase", "purchase"] == [r.endpoint for r in sandbox.log]
    assert ["rate_limited", None, None] == [r.fault for r in sandbox.log]


def test_the_same_seed_gives_the_same_stock_and_credentials() -> None:
    """Inventories and credentials are deterministic per seed and differ between seeds."""
    a, b, c = create_app(seed=9), create_app(seed=9), create_app(seed=10)
    assert [r.raw for r in a.records] == [r.raw for r in b.records] and a.env == b.env
    assert [r.e164 for r in a.records] != [r.e164 for r in c.records] and a.env != c.env
