"""Vobiz as its official SDK documents it: capabilities, buyer fields, ``exclude``, ``/Account/`` and Bearer.

Unit tests on ``httpx.MockTransport`` pin the adapter; the sandbox over loopback pins the emulator (an SDK
request shape is answered, ``exclude`` filters and ``total`` counts what is left).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import phonenumbers
import pytest

from numbroker import Capability, NumberType, SearchQuery
from numbroker.adapters import ProviderResult
from numbroker.sandbox import LoopbackServer
from numbroker_providers.vobiz import VobizProvider
from numbroker_providers.vobiz._adapter import NANP_TOLL_FREE
from numbroker_providers.vobiz.sandbox import create_app

AUTH_ID = "MA_TEST4242"
TOKEN = "vobiz-token-canary-7c1e"
US = SearchQuery(country="US")
CAPS = {"voice": True, "sms": True, "mms": False, "fax": False}


def item(i: int, **over: Any) -> dict[str, Any]:
    """A valid active US inventory item with a distinct id and number."""
    base = json.loads((Path(__file__).parent / "fixtures" / "active_us_item.json").read_text())
    return {"id": f"id-{i}", "e164": f"+1415{2000000 + i:07d}", **base, **over}


async def search(items: list[Any], query: SearchQuery = US, seen: list[httpx.Request] | None = None) -> ProviderResult:
    def respond(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(200, json={"items": items, "page": 1, "per_page": 100, "total": len(items)})

    async with VobizProvider(auth_id=AUTH_ID, auth_token=TOKEN, transport=httpx.MockTransport(respond)) as provider:
        return await provider.search(query)


@pytest.mark.anyio
async def test_capabilities_are_read_when_stated_and_unknown_when_not() -> None:
    """``{voice, sms, mms, fax}`` becomes the offer's capabilities; an item without it stays unknown."""
    result = await search([item(1, capabilities=CAPS), item(2), item(3, capabilities={**CAPS, "voice": False})])

    caps = {o.offer_id: o.capabilities for o in result.offers}
    assert {
        "id-1": (Capability.SMS, Capability.VOICE),
        "id-2": None,
        "id-3": (Capability.SMS,),
    } == caps


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("capabilities", "reason"),
    [
        ({"voice": True, "sms": True, "mms": False}, "lacks fax"),
        ({**CAPS, "sms": "yes"}, "capabilities.sms is not a boolean"),
        (["voice"], "must be an object of booleans"),
    ],
)
async def test_malformed_capabilities_are_a_rejected_record(capabilities: Any, reason: str) -> None:
    """Capabilities that do not say true or false for each of the four are rejected, naming the field."""
    result = await search([item(1, capabilities=capabilities), item(2)])

    assert ["id-2"] == [o.offer_id for o in result.offers]
    (rejected,) = result.rejected
    assert ("id-1", "capabilities") == (rejected.offer_id, rejected.field)
    assert reason in rejected.reason


@pytest.mark.anyio
async def test_a_capability_query_keeps_what_is_stated_and_counts_the_unknown() -> None:
    """A capability query is checked against stated capabilities; items stating none are counted unknown."""
    query = SearchQuery(country="US", capabilities=(Capability.SMS,))
    items = [item(1, capabilities=CAPS), item(2), item(3, capabilities={**CAPS, "sms": False})]

    result = await search(items, query)

    assert ["id-1"] == [o.offer_id for o in result.offers]
    assert 1 == result.stats.excluded["capabilities_unknown"]
    assert 1 == result.stats.excluded["capabilities"]


@pytest.mark.anyio
async def test_buyer_fields_are_kept_with_their_declared_types() -> None:
    """The SDK's buyer-relevant fields reach provider_details when typed as declared, and are left out otherwise."""
    flags = {"is_trial_number": True, "aadhaar_verification_required": False, "is_blocked": False}
    result = await search([item(1, minimum_commitment_months=12, **flags), item(2, is_trial_number="yes")])

    details = {o.offer_id: o.provider_details for o in result.offers}
    assert {"minimum_commitment_months": 12, **flags}.items() <= details["id-1"].items()
    assert "is_trial_number" not in details["id-2"]


@pytest.mark.anyio
@pytest.mark.parametrize("months", [-1, 1.5, "12", True, 10**30])
async def test_a_commitment_that_is_not_a_month_count_is_rejected(months: Any) -> None:
    """A minimum commitment that is not a whole number of months in range is a rejected record."""
    result = await search([item(1, minimum_commitment_months=months), item(2)])

    assert ["id-2"] == [o.offer_id for o in result.offers]
    assert "minimum_commitment_months" == result.rejected[0].field


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("query", "sent"),
    [
        (SearchQuery(country="US", number_type=NumberType.LOCAL), ",".join(NANP_TOLL_FREE)),
        (SearchQuery(country="CA", number_type=NumberType.MOBILE), ",".join(NANP_TOLL_FREE)),
        (SearchQuery(country="US", number_type=NumberType.TOLL_FREE), None),
        (SearchQuery(country="US"), None),
        (SearchQuery(country="IN", number_type=NumberType.MOBILE), None),
    ],
)
async def test_exclude_is_sent_where_the_query_can_use_it(query: SearchQuery, sent: str | None) -> None:
    """A non-toll-free type in the North American plan excludes its toll-free codes; nothing else sends it."""
    seen: list[httpx.Request] = []

    await search([], query, seen)

    assert ([sent] if sent else []) == seen[0].url.params.get_list("exclude")


def test_the_excluded_codes_are_the_plans_toll_free_codes() -> None:
    """Each excluded code is toll-free in phonenumbers' metadata, and every toll-free code there is excluded."""
    for code in NANP_TOLL_FREE:
        number = phonenumbers.parse(f"+{code}2345678")
        assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.TOLL_FREE, code
    for area in range(200, 1000):
        number = phonenumbers.parse(f"+1{area}2345678")
        if phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.TOLL_FREE:
            assert f"1{area}" in NANP_TOLL_FREE


@pytest.mark.anyio
async def test_a_404_on_the_reference_path_is_asked_again_as_the_sdks_and_kept() -> None:
    """If only ``/v1/Account/`` answers, the adapter finds it once and uses it from then on."""
    seen: list[str] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if "/v1/account/" in request.url.path:
            return httpx.Response(404, json={"status": "error", "error": {"code": "NOT_FOUND", "message": "no route"}})
        return httpx.Response(200, json={"items": [item(1)], "page": 1, "per_page": 100, "total": 1})

    async with VobizProvider(auth_id=AUTH_ID, auth_token=TOKEN, transport=httpx.MockTransport(respond)) as provider:
        first = await provider.search(US)
        second = await provider.search(US)

    assert 1 == len(first.offers) == len(second.offers)
    path = f"/api/v1/%s/{AUTH_ID}/inventory/numbers"
    assert [path % "account", path % "Account", path % "Account"] == seen


# -- the emulator, over loopback --------------------------------------------------------------------


def test_the_sandbox_answers_the_sdks_request_shape_and_filters_exclude() -> None:
    """The SDK's request (``/Account/``, Bearer beside X-Auth-*) is answered; ``exclude`` drops prefixes."""
    sandbox = create_app(seed=3, size=60)
    auth = sandbox.env["VOBIZ_AUTH_ID"]
    token = sandbox.env["VOBIZ_AUTH_TOKEN"]
    headers = {"X-Auth-ID": auth, "X-Auth-Token": token, "Authorization": f"Bearer {token}"}
    with LoopbackServer(sandbox.app) as server, httpx.Client(base_url=server.base_url) as client:
        url = f"/api/v1/Account/{auth}/inventory/numbers"
        everything = client.get(url, params={"per_page": 100}, headers=headers).json()
        prefixes = sorted({i["e164"][:4] for i in everything["items"]})[:2]
        kept = client.get(url, params={"per_page": 100, "exclude": ",".join(prefixes)}, headers=headers).json()
        repeated = client.get(
            url,
            params=[("per_page", 100), ("exclude", prefixes[0]), ("exclude", "+" + prefixes[1][1:])],
            headers=headers,
        )
        wrong = client.get(url, headers={**headers, "Authorization": "Bearer not-the-token"})

    assert everything["items"]
    assert not any(i["e164"].startswith(tuple(prefixes)) for i in kept["items"])
    expected = [i for i in everything["items"] if not i["e164"].startswith(tuple(prefixes))]
    assert len(expected) == kept["total"] == len(kept["items"])
    assert kept == json.loads(repeated.text)
    assert 401 == wrong.status_code
    assert any("capabilities" in i for i in everything["items"])
    assert any("capabilities" not in i for i in everything["items"])
