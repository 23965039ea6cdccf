"""The Vonage emulator speaks Vonage's wire format: auth, page-index paging, filters, body-level purchase results."""

from __future__ import annotations

import base64
import re
from decimal import Decimal
from typing import Any

import httpx
import pytest

from numbroker.sandbox import Faults, Sandbox
from numbroker_providers.vonage.sandbox import ADDRESS_LABEL, create_app

pytestmark = pytest.mark.anyio


def basic(sb: Sandbox, secret: str | None = None) -> dict[str, str]:
    pair = f"{sb.env['VONAGE_API_KEY']}:{secret or sb.env['VONAGE_API_SECRET']}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


async def get(sb: Sandbox, path: str, **params: Any) -> httpx.Response:
    async with sb.client() as client:
        return await client.get(path, headers=basic(sb), params=params)


async def buy(sb: Sandbox, msisdn: str, country: str, **options: Any) -> httpx.Response:
    options.setdefault("data", {"country": country, "msisdn": msisdn})
    async with sb.client() as client:
        return await client.post("/number/buy", headers=basic(sb), **options)


async def walk(sb: Sandbox, country: str, size: int = 100, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every number of every page, asked for by page number; also how many pages had numbers."""
    numbers: list[dict[str, Any]] = []
    index = 1
    while True:
        body = (await get(sb, "/number/search", country=country, size=size, index=index, **params)).json()
        if not body:
            return numbers, index - 1
        numbers += body["numbers"]
        index += 1


def valid(sb: Sandbox, country: str) -> list[Any]:
    return [r for r in sb.records if r.expected_valid and r.country == country]


def test_shape_of_the_sandbox() -> None:
    """Numbers without '+', cost as decimal strings without a currency, Vonage's three types, eleven defects."""
    sb = create_app()

    assert ("", {"VONAGE_API_KEY", "VONAGE_API_SECRET"}, 300) == (sb.base_path, set(sb.env), len(sb.records))
    assert re.fullmatch(r"[0-9a-f]{8}", sb.env["VONAGE_API_KEY"])
    good = [r for r in sb.records if r.expected_valid]
    assert all("+" + r.raw["msisdn"] == r.e164 == r.offer_id for r in good)
    assert all(Decimal(r.raw["cost"]) == r.monthly and r.currency is None and r.upfront is None for r in good)
    assert {"country", "msisdn", "cost", "type", "features"} == {k for r in good for k in r.raw}
    assert {"landline", "mobile-lvn", "landline-toll-free"} == {r.raw["type"] for r in good}
    assert 11 == sum(not r.expected_valid for r in sb.records)
    assert not any(r.shared for r in sb.records)
    assert [r.raw for r in create_app().records] == [r.raw for r in sb.records]  # deterministic
    assert [r.raw for r in create_app(seed=1).records] != [r.raw for r in sb.records]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic !!!"}, {"Authorization": "Bearer abc"}, "wrong-secret"],
    ids=["missing", "not-base64", "bearer", "wrong-secret"],
)
async def test_bad_credentials_get_the_401_envelope(headers: Any) -> None:
    """Missing or wrong credentials: 401 with ``error-code`` 401 and a label."""
    sb = create_app()
    sent = basic(sb, "WrongSecret") if headers == "wrong-secret" else headers
    async with sb.client() as client:
        r = await client.get("/number/search", headers=sent, params={"country": "GB"})

    assert (401, {"error-code": "401", "error-code-label": "authentication failed"}) == (r.status_code, r.json())


async def test_the_spec_query_credentials_are_accepted_too() -> None:
    """``api_key``/``api_secret`` query parameters (the spec's scheme) work like the Basic header."""
    sb = create_app()
    params = {"country": "GB", "api_key": sb.env["VONAGE_API_KEY"], "api_secret": sb.env["VONAGE_API_SECRET"]}
    async with sb.client() as client:
        r = await client.get("/number/search", params=params)

    assert 200 == r.status_code and r.json()["numbers"]


async def test_default_page_is_ten_and_the_count_is_the_whole_match() -> None:
    """Without ``size``/``index``: the first ten numbers of the country and the true count."""
    sb = create_app()
    body = (await get(sb, "/number/search", country="GB")).json()

    gb = [r for r in sb.records if r.raw["country"] == "GB"]
    assert (len(gb), [r.raw for r in gb[:10]]) == (body["count"], body["numbers"])


async def test_index_is_a_page_number_and_past_the_end_is_empty() -> None:
    """``index=2&size=100`` is numbers 101-200, not an offset; a page past the end is ``{}``."""
    sb = create_app(size=600)
    gb = [r.raw for r in sb.records if r.raw["country"] == "GB"]

    second = (await get(sb, "/number/search", country="GB", size=100, index=2)).json()
    past = await get(sb, "/number/search", country="GB", size=100, index=len(gb) // 100 + 2)
    numbers, pages = await walk(sb, "GB")

    assert gb[100:200] == second["numbers"]
    assert (200, {}) == (past.status_code, past.json())
    assert (gb, -(-len(gb) // 100)) == (numbers, pages)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "country"),
        ({"country": "GB", "size": "101"}, "size"),
        ({"country": "GB", "size": "0"}, "size"),
        ({"country": "GB", "index": "0"}, "index"),
        ({"country": "GB", "index": "x"}, "index"),
        ({"country": "GB", "type": "mobile"}, "type"),
        ({"country": "GB", "features": "SMS,FAX"}, "features"),
        ({"country": "GB", "pattern": "44", "search_pattern": "3"}, "search_pattern"),
        ({"country": "GB", "pattern": "+44"}, "pattern"),
    ],
)
async def test_bad_parameters_are_400_naming_them(params: dict[str, str], field: str) -> None:
    """A missing or out-of-range parameter is a 400 naming it."""
    r = await get(create_app(), "/number/search", **params)

    assert 400 == r.status_code
    assert [field] == list(r.json())


async def test_type_features_and_patterns_filter() -> None:
    """``type`` exact, ``features`` all required, pattern 0/1/2 on the digits with the country code."""
    sb = create_app(size=600)
    gb = valid(sb, "GB")
    one = next(r for r in gb if r.raw["type"] == "landline")
    digits = one.raw["msisdn"]

    landlines, _ = await walk(sb, "GB", type="landline")
    sms_voice, _ = await walk(sb, "GB", features="VOICE,SMS")
    starts, _ = await walk(sb, "GB", pattern=digits[:5], search_pattern=0)
    contains, _ = await walk(sb, "GB", pattern=digits[4:8], search_pattern=1)
    ends, _ = await walk(sb, "GB", pattern=digits[-3:], search_pattern=2)
    default, _ = await walk(sb, "GB", pattern=digits[:5])

    listed = [r.raw for r in sb.records if r.raw["country"] == "GB"]
    assert [n for n in listed if n["type"] == "landline"] == landlines
    assert [n for n in listed if isinstance(n["features"], list) and {"SMS", "VOICE"} <= set(n["features"])] == (
        sms_voice
    )
    assert [n for n in listed if n["msisdn"].startswith(digits[:5])] == starts == default
    assert [n for n in listed if digits[4:8] in n["msisdn"]] == contains
    assert [n for n in listed if n["msisdn"].endswith(digits[-3:])] == ends


async def test_a_purchase_is_decided_in_the_body_and_changes_the_state() -> None:
    """A form purchase answers error-code 200; the number leaves the search and joins the owned list."""
    sb = create_app()
    target = valid(sb, "GB")[0]
    msisdn = target.raw["msisdn"]

    r = await buy(sb, msisdn, "GB")
    again = await buy(sb, msisdn, "GB")
    owned = (await get(sb, "/account/numbers")).json()
    narrowed = (await get(sb, "/account/numbers", pattern=msisdn[2:], search_pattern=1)).json()
    nothing = (await get(sb, "/account/numbers", pattern="999999", search_pattern=1)).json()
    numbers, _ = await walk(sb, "GB")

    assert (200, {"error-code": "200", "error-code-label": "success"}) == (r.status_code, r.json())
    assert (420, {"error-code": "420", "error-code-label": "method failed"}) == (again.status_code, again.json())
    expected = {"country": "GB", "msisdn": msisdn, "type": target.raw["type"], "features": target.raw["features"]}
    assert {"count": 1, "numbers": [expected]} == owned == narrowed
    assert {} == nothing
    assert msisdn not in {n["msisdn"] for n in numbers}
    assert ({target.e164: target.offer_id}, 1) == (sb.owned, len(sb.purchases))
    assert (None, target.monthly, None) == (sb.purchases[0].upfront, sb.purchases[0].monthly, sb.purchases[0].currency)


@pytest.mark.parametrize(
    ("form", "status", "body"),
    [
        ({"msisdn": "447400123456"}, 400, {"country": "Is required."}),
        ({"country": "GB"}, 400, {"msisdn": "Is required."}),
        ({"country": "GB", "msisdn": "447400000001"}, 420, {"error-code": "420", "error-code-label": "method failed"}),
        ({"country": "GB", "msisdn": "+<gb>"}, 420, {"error-code": "420", "error-code-label": "method failed"}),
        ({"country": "DE", "msisdn": "<gb>"}, 420, {"error-code": "420", "error-code-label": "method failed"}),
    ],
    ids=["no-country", "no-msisdn", "not-for-sale", "with-plus", "wrong-country"],
)
async def test_purchase_refusals(form: dict[str, str], status: int, body: dict[str, str]) -> None:
    """Missing fields are 400s naming them; a number not for sale as asked is 420 ``method failed``."""
    sb = create_app()
    gb = valid(sb, "GB")[0].raw["msisdn"]
    sent = {k: v.replace("<gb>", gb) for k, v in form.items()}

    r = await buy(sb, "", "", data=sent)

    assert (status, body) == (r.status_code, r.json())
    assert [] == sb.purchases


async def test_a_json_purchase_body_is_not_read() -> None:
    """The purchase is form-encoded: the same fields as JSON are a 400 (country is required)."""
    sb = create_app()
    msisdn = valid(sb, "GB")[0].raw["msisdn"]

    r = await buy(sb, msisdn, "GB", data=None, json={"country": "GB", "msisdn": msisdn})

    assert (400, {"country": "Is required."}, []) == (r.status_code, r.json(), sb.purchases)


async def test_address_required_countries_are_refused_with_the_specs_label() -> None:
    """A country in ``address_required`` is a 420 whose label says a local address is needed."""
    sb = create_app(address_required=["de"])
    r = await buy(sb, valid(sb, "DE")[0].raw["msisdn"], "DE")

    assert (420, {"error-code": "420", "error-code-label": ADDRESS_LABEL}) == (r.status_code, r.json())
    assert [] == sb.purchases


async def test_refusals_can_come_with_http_200() -> None:
    """With ``refusal_status=200`` a refusal is HTTP 200 and only the body's error-code says it failed."""
    sb = create_app(refusal_status=200)
    r = await buy(sb, "447400000001", "GB")

    assert (200, "420") == (r.status_code, r.json()["error-code"])
    assert [] == sb.purchases


async def test_the_shared_fault_knobs() -> None:
    """429 with Retry-After and 5xx in Vonage's envelope; a lost race is a 420; after-commit faults still commit."""
    sb = create_app(faults=Faults(rate_429=1.0, retry_after="7"))
    limited = await get(sb, "/number/search", country="GB")
    assert (429, "7", "429") == (limited.status_code, limited.headers["retry-after"], limited.json()["error-code"])

    sb = create_app(faults=Faults(rate_5xx=1.0, seed=3))
    failed = [await get(sb, "/number/search", country="GB") for _ in range(8)]
    assert {500, 502, 503, 504} >= {r.status_code for r in failed}
    assert all(r.json()["error-code"] == str(r.status_code) for r in failed if r.status_code in (500, 503))

    sb = create_app(faults=Faults(rate_race=1.0))
    target = valid(sb, "GB")[0]
    raced = await buy(sb, target.raw["msisdn"], "GB")
    assert (420, "method failed", []) == (raced.status_code, raced.json()["error-code-label"], sb.purchases)
    assert target.offer_id in sb.taken

    sb = create_app(faults=Faults(rate_ambiguous_after_commit=1.0))
    target = valid(sb, "GB")[0]
    spoiled = await buy(sb, target.raw["msisdn"], "GB")
    assert spoiled.status_code in (502, 504)
    assert [target.e164] == [p.e164 for p in sb.purchases]
    assert "ambiguous_after_commit" == sb.purchases[0].fault

    sb = create_app(faults=Faults(lying_total=5))
    assert 5 == (await get(sb, "/number/search", country="GB")).json()["count"]
    assert "lying_total" == sb.log[-1].fault
