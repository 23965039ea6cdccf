"""Vonage's owned numbers: the record read field by field (``httpx.MockTransport``), and the sandbox's owned
inventory read exactly over loopback, with its routing quirks, its page-number paging, ``{}`` pages and faults."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from numbroker import ConfigurationError, OwnedNumber, OwnedQuery, OwnedView, RetryPolicy, SearchQuery
from numbroker._cli.owned import SANDBOX_OWNED
from numbroker.sandbox import Faults, LoopbackServer, Sandbox
from numbroker_providers.vonage import VonageProvider
from numbroker_providers.vonage.sandbox import OWNED_ROUTES, create_app

KEY, SECRET = "abcd1234", "Sbx0123456789abc"
ROUTING = ("app_id", "voiceCallbackValue", "messagesCallbackValue", "moHttpUrl")
CAPABILITIES = {"SMS": "sms", "VOICE": "voice", "MMS": "mms"}
TYPES = {"landline": "local", "mobile-lvn": "mobile", "landline-toll-free": "toll_free"}


def entry(**change: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "country": "GB",
        "msisdn": "447700900123",
        "type": "mobile-lvn",
        "features": ["VOICE", "SMS"],
        "app_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
        "voiceCallbackType": "app",
        "voiceCallbackValue": "",
        "messagesCallbackType": "",
        "messagesCallbackValue": "",
        "moHttpUrl": "",
    }
    base.update(change)
    return {k: v for k, v in base.items() if v is not ...}


def serving(pages: list[list[dict[str, Any]]], seen: list[httpx.Request] | None = None) -> httpx.MockTransport:
    """``GET /account/numbers`` by ``index`` (a page from 1): ``{"count", "numbers"}``, or ``{}`` past the end."""
    total = sum(len(p) for p in pages)

    def answer(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        index = int(request.url.params["index"])
        if index > len(pages) or not pages[index - 1]:
            return httpx.Response(200, json={})
        return httpx.Response(200, json={"count": total, "numbers": pages[index - 1]})

    return httpx.MockTransport(answer)


def mocked(transport: httpx.AsyncBaseTransport) -> VonageProvider:
    return VonageProvider(
        api_key=KEY, api_secret=SECRET, base_url="https://rest.nexmo.test", transport=transport, retry=RetryPolicy(1)
    )


async def listed(*entries: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    async with mocked(serving([list(entries)])) as vonage:
        numbers, rejected, _ = await vonage.list_owned()
    return numbers, rejected


# -- the record, field by field ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_record_becomes_an_owned_number_with_a_plus_and_no_price() -> None:
    (number,), rejected = await listed(entry())
    assert rejected == []
    assert (number.e164, number.provider_number_id, number.country) == ("+447700900123",) * 2 + ("GB",)
    assert (number.number_type.value, [c.value for c in number.capabilities or ()]) == ("mobile", ["sms", "voice"])
    assert (number.status.value, number.vendor_status) == ("active", None)
    assert (number.monthly_price, number.price_source, number.next_renewal, number.renewal_source) == (None,) * 4
    assert (number.sub_account, number.account, number.purchased_at) == (None, None, None)
    assert number.provider_details == {"app_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "voiceCallbackType": "app"}


@pytest.mark.anyio
async def test_an_application_or_any_callback_is_routing() -> None:
    empty = dict.fromkeys(ROUTING, "")
    numbers, rejected = await listed(
        entry(msisdn="447700900001", **{**empty, "app_id": "app-1"}),
        entry(msisdn="447700900002", **{**empty, "voiceCallbackType": "tel", "voiceCallbackValue": "447700900999"}),
        entry(msisdn="447700900003", **{**empty, "messagesCallbackValue": "app-2"}),
        entry(msisdn="447700900004", **{**empty, "moHttpUrl": "https://hooks.example.com/sms"}),
        entry(msisdn="447700900005", **empty),
        entry(msisdn="447700900006", **dict.fromkeys(ROUTING, ...)),
        entry(msisdn="447700900007", app_id=None, voiceCallbackValue=None, messagesCallbackValue=None, moHttpUrl=None),
        entry(msisdn="447700900008", app_id={"id": "x"}),
    )
    routed = {n.e164[-1]: n.routed for n in numbers}
    assert routed == {"1": True, "2": True, "3": True, "4": True, "5": False, "6": None, "7": False}
    assert [(r.offer_id, r.field) for r in rejected] == [("+447700900008", "app_id")]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"msisdn": "+44 7700 900123"}, "msisdn"),
        ({"msisdn": 447700900123}, "msisdn"),
        ({"msisdn": "4477"}, "msisdn"),
        ({"country": "US"}, "msisdn"),  # a British number cannot be American
        ({"features": "VOICE,SMS"}, "features"),
        ({"type": 3}, "type"),
    ],
)
async def test_a_record_it_cannot_read_is_rejected_naming_the_field(change: dict[str, Any], field: str) -> None:
    numbers, rejected = await listed(entry(**change), entry(msisdn="447700900999"))
    assert [n.e164 for n in numbers] == ["+447700900999"]
    assert len(rejected) == 1 and rejected[0].field == field and rejected[0].reason


@pytest.mark.anyio
async def test_an_unknown_type_is_kept_and_the_type_inferred() -> None:
    (number,), _ = await listed(entry(type="landline-premium"))
    assert number.provider_details["vendor_type"] == "landline-premium"
    assert number.provider_details["number_type_inferred"] is True


# -- paging and ownership ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_index_is_a_page_number_and_an_empty_page_is_the_end() -> None:
    every = [entry(msisdn=f"4477009{i:05d}") for i in range(200)]
    seen: list[httpx.Request] = []
    async with mocked(serving([every[:100], every[100:]], seen)) as vonage:
        numbers, _, stats = await vonage.list_owned()
    assert len({n.e164 for n in numbers}) == 200 and not stats.truncated
    assert sorted(r.url.params["index"] for r in seen)[:2] == ["1", "2"]
    assert {r.url.params["size"] for r in seen} == {"100"} and all("pattern" not in r.url.params for r in seen)
    assert all(r.url.path == "/account/numbers" for r in seen)


@pytest.mark.anyio
async def test_an_empty_list_is_an_empty_object() -> None:
    async with mocked(serving([])) as vonage:
        numbers, rejected, stats = await vonage.list_owned()
    assert (numbers, rejected, stats.truncated, stats.pages) == ([], [], False, 1)


@pytest.mark.anyio
async def test_pages_past_the_first_answering_empty_leave_the_list_incomplete() -> None:
    """vonage-node-sdk#928: pages after the first answered ``{}`` while ``count`` said 589."""
    first = [entry(msisdn=f"4477009{i:05d}") for i in range(100)]

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params["index"] != "1":
            return httpx.Response(200, json={})
        return httpx.Response(200, json={"count": 589, "numbers": first})

    async with mocked(httpx.MockTransport(answer)) as vonage:
        numbers, _, stats = await vonage.list_owned()
    assert len(numbers) == 100 and stats.truncated
    assert any("100 of the 589" in note or "100 of 589" in note for note in stats.report_notes())


@pytest.mark.anyio
async def test_ownership_narrows_by_pattern_and_compares_exactly() -> None:
    seen: list[httpx.Request] = []
    listing = [entry(msisdn="447700900123"), entry(msisdn="447700900125")]
    async with mocked(serving([listing], seen)) as vonage:
        assert await vonage.owns("+447700900123")
        assert not await vonage.owns("+447700900124")
    assert [(r.url.params["pattern"], r.url.params["search_pattern"]) for r in seen] == [
        ("447700900123", "1"),
        ("447700900124", "1"),
    ]


@pytest.mark.anyio
async def test_partner_views_are_refused() -> None:
    async with mocked(serving([[entry()]])) as vonage:
        with pytest.raises(ConfigurationError, match="no partner views"):
            await vonage.list_owned(query=OwnedQuery(view=OwnedView.CUSTOMER, customer="abc"))


# -- the sandbox over loopback ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, str]]:
    sandbox = create_app(seed=7, owned=234)
    with LoopbackServer(sandbox.app) as server:
        yield sandbox, server.base_url + sandbox.base_path


def adapter(sandbox: Sandbox, base_url: str) -> VonageProvider:
    return VonageProvider(base_url=base_url, env=sandbox.env, retry=RetryPolicy(initial=0.01))


def expected(item: dict[str, Any]) -> dict[str, Any]:
    """What the owned record must say, derived from the sandbox's raw item by the documented rules."""
    present = [k for k in ROUTING if k in item]
    return {
        "provider_number_id": "+" + item["msisdn"],
        "e164": "+" + item["msisdn"],
        "country": item["country"],
        "number_type": TYPES[item["type"]],
        "capabilities": sorted(CAPABILITIES[f] for f in item["features"]),
        "status": "active",
        "monthly_price": None,
        "next_renewal": None,
        "routed": any(item[k] for k in present) if present else None,
        "sub_account": None,
    }


def seen_as(number: Any) -> dict[str, Any]:
    fields = {k: getattr(number, k) for k in expected(entry())}
    return {**fields, "capabilities": [c.value for c in number.capabilities]}


@pytest.mark.anyio
async def test_the_owned_list_is_the_sandbox_inventory_exactly(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    async with adapter(sandbox, base_url) as vonage:
        numbers, rejected, stats = await vonage.list_owned()
    items = sandbox.options["owned"]
    assert (rejected, stats.truncated, stats.pages) == ([], False, 3)
    assert {n.e164: seen_as(n) for n in numbers} == {"+" + i["msisdn"]: expected(i) for i in items}
    assert len(numbers) == 234


@pytest.mark.anyio
async def test_the_seeded_routes_all_show(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    async with adapter(sandbox, base_url) as vonage:
        numbers, _, _ = await vonage.list_owned()
    by_number = {n.e164: n for n in numbers}
    seeded = [by_number["+" + i["msisdn"]] for i in sandbox.options["owned"][: len(OWNED_ROUTES)]]
    assert [n.routed for n in seeded] == [True, True, True, True, True, False, None]
    assert str(seeded[1].provider_details["voiceCallbackValue"]).startswith("sip:")
    assert str(seeded[4].provider_details["moHttpUrl"]).startswith("https://")


@pytest.mark.anyio
async def test_a_bought_number_joins_the_list_and_is_owned() -> None:
    sandbox = create_app(seed=5, owned=100)
    with LoopbackServer(sandbox.app) as server:
        async with adapter(sandbox, server.base_url + sandbox.base_path) as vonage:
            offer = (await vonage.search(SearchQuery(country="GB"))).offers[0]
            await vonage.purchase(offer)
            numbers, _, stats = await vonage.list_owned()
            owned = await vonage.owns(offer.e164)
    assert owned and len(numbers) == 101 and stats.pages == 2 and offer.e164 in {n.e164 for n in numbers}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("options", "numbers"), [({"faults": Faults(lying_total=900)}, 234), ({"empty_after_first": True}, 100)]
)
async def test_a_lying_count_or_empty_later_pages_are_reported_truncated(options: dict[str, Any], numbers: int) -> None:
    sandbox = create_app(seed=7, owned=234, **options)
    with LoopbackServer(sandbox.app) as server:
        async with adapter(sandbox, server.base_url + sandbox.base_path) as vonage:
            listed_numbers, _, stats = await vonage.list_owned()
    assert stats.truncated and len(listed_numbers) == numbers


def test_the_commands_json_is_the_sandboxs_inventory_exactly(sandbox_owned_json: Callable[..., Any]) -> None:
    """``numbroker owned --sandbox --provider vonage --format json``: every number the sandbox starts with, exactly."""
    document = sandbox_owned_json("vonage")
    items = create_app(owned=SANDBOX_OWNED).options["owned"]  # what --sandbox starts the account with
    numbers = [OwnedNumber.model_validate(n) for n in document["numbers"]]
    assert [n.e164 for n in numbers] == sorted("+" + i["msisdn"] for i in items)
    assert {n.e164: seen_as(n) for n in numbers} == {"+" + i["msisdn"]: expected(i) for i in items}
    assert (document["status"], document["rejected"], document["reconciliation"]) == ("complete", [], None)
    summary = document["summary"]["by_provider"]["vonage"]
    assert (summary["numbers"], summary["price_unknown"]) == (len(items), len(items))
    assert summary["unrouted"] == sum(expected(i)["routed"] is False for i in items)
