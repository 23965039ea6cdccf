"""Twilio's owned numbers: IncomingPhoneNumbers across subaccounts, priced and renewed, offline and served."""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import httpx
import phonenumbers
import pytest

from numbroker import Money, OwnedStatus, ProviderResponseError, ReleaseMode, RetryPolicy, SearchQuery
from numbroker._cli.owned import SANDBOX_OWNED
from numbroker.sandbox import Faults, LoopbackServer, Sandbox
from numbroker_providers.twilio import TwilioProvider
from numbroker_providers.twilio._owned import derived_renewal
from numbroker_providers.twilio.sandbox import PRICE_LISTS, create_app

SID = "AC" + "c0de" * 8
SUB = "AC" + "5b5b" * 8
CLOSED = "AC" + "dead" * 8
EMPTY = "AC" + "e0e0" * 8
TOKEN = "70ce" * 8
API = "https://api.twilio.com/2010-04-01"
FAST = RetryPolicy(attempts=2, initial=0.001, max_delay=0.002, jitter=0.0)
US_PRICES = {
    "country": "United States",
    "iso_country": "US",
    "price_unit": "USD",
    "phone_number_prices": [
        {"number_type": "local", "base_price": "1.15", "current_price": "1.15"},
        {"number_type": "toll free", "base_price": "2.50", "current_price": "2.15"},
    ],
}


def incoming(number: str = "+12125550143", **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "sid": "PN" + "0a" * 16,
        "account_sid": SID,
        "phone_number": number,
        "friendly_name": "(212) 555-0143",
        "capabilities": {"voice": True, "SMS": True, "MMS": False, "fax": False},
        "status": "in-use",
        "type": "local",
        "origin": "twilio",
        "date_created": "Mon, 13 Jan 2025 10:00:00 +0000",
        "voice_url": "https://hooks.example.com/voice",
        "sms_url": "",
        "voice_application_sid": None,
        "sms_application_sid": None,
        "trunk_sid": None,
    }
    record.update(changes)
    return record


def page(*records: dict[str, Any], next_page_uri: str | None = None) -> httpx.Response:
    return httpx.Response(200, json={"incoming_phone_numbers": list(records), "next_page_uri": next_page_uri})


def accounts(*entries: tuple[str, str]) -> httpx.Response:
    listed = [{"sid": sid, "status": status, "owner_account_sid": SID} for sid, status in entries]
    return httpx.Response(200, json={"accounts": listed, "next_page_uri": None})


class Vendor:
    """Twilio by path (query ignored unless a handler reads it), every request kept."""

    def __init__(self, routes: dict[str, Callable[[httpx.Request], httpx.Response] | httpx.Response]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get(request.url.path)
        if route is None:
            return httpx.Response(404, json={"code": 20404, "message": "not found", "status": 404})
        return route(request) if callable(route) else route

    @property
    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def provider(vendor: Vendor) -> TwilioProvider:
    return TwilioProvider(account_sid=SID, auth_token=TOKEN, transport=httpx.MockTransport(vendor), retry=FAST, env={})


def path(account: str = SID) -> str:
    return f"/2010-04-01/Accounts/{account}/IncomingPhoneNumbers.json"


PRICING = "/v1/PhoneNumbers/Countries/US"


async def listed(vendor: Vendor) -> tuple[list[Any], list[Any], Any]:
    async with provider(vendor) as twilio:
        return await twilio.list_owned()


def renewal(purchased: date, today: date) -> date:
    """The next monthly bill, computed here by counting days forward (independent of the adapter's arithmetic)."""
    day = today
    while True:
        last = calendar.monthrange(day.year, day.month)[1]
        due = day.day == min(purchased.day, last)
        if due and (day.year, day.month) > (purchased.year, purchased.month):
            return day
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("purchased", "today", "expected"),
    [
        (date(2025, 1, 31), date(2025, 2, 10), date(2025, 2, 28)),  # clamped to the month's end
        (date(2024, 1, 31), date(2024, 2, 10), date(2024, 2, 29)),
        (date(2025, 1, 31), date(2025, 3, 1), date(2025, 3, 31)),  # the day itself again after a short month
        (date(2025, 3, 15), date(2025, 3, 15), date(2025, 4, 15)),  # bought today: billed a month on
        (date(2025, 3, 15), date(2025, 7, 15), date(2025, 7, 15)),  # billed today
        (date(2025, 3, 15), date(2025, 7, 16), date(2025, 8, 15)),
        (date(2024, 12, 20), date(2025, 1, 3), date(2025, 1, 20)),
    ],
)
def test_the_next_renewal_is_the_purchase_day_of_a_month(purchased: date, today: date, expected: date) -> None:
    assert derived_renewal(purchased, today) == expected == renewal(purchased, today)


def test_renewals_agree_with_counting_days_over_two_years() -> None:
    start = date(2024, 1, 1)
    for offset in range(0, 760, 7):
        purchased = start + timedelta(days=offset % 400)
        today = purchased + timedelta(days=offset)
        assert derived_renewal(purchased, today) == renewal(purchased, today)


@pytest.mark.anyio
async def test_a_number_is_normalized_priced_and_renewed() -> None:
    vendor = Vendor(
        {
            path(): page(incoming()),
            "/2010-04-01/Accounts.json": accounts((SID, "active")),
            PRICING: httpx.Response(200, json=US_PRICES),
        }
    )
    (owned,), rejected, stats = await listed(vendor)
    assert (rejected, stats.truncated, stats.notes) == ([], False, [])
    assert (owned.provider_number_id, owned.e164, owned.country) == ("PN" + "0a" * 16, "+12125550143", "US")
    assert (owned.number_type.value, owned.capabilities) == ("local", ("sms", "voice"))
    assert (owned.status, owned.vendor_status) == (OwnedStatus.ACTIVE, "in-use")
    assert (owned.monthly_price, owned.price_source) == (Money(amount=Decimal("1.15"), currency="USD"), "price_list")
    assert owned.renewal_source == "derived"
    assert owned.next_renewal == renewal(date(2025, 1, 13), datetime.now(UTC).date())
    assert (owned.routed, owned.sub_account, owned.purchased_at) == (
        True,
        None,
        datetime(2025, 1, 13, 10, 0, tzinfo=UTC),
    )
    assert owned.provider_details["friendly_name"] == "(212) 555-0143"


@pytest.mark.anyio
async def test_the_charged_price_is_kept_and_a_discount_noted() -> None:
    record = incoming("+18005550100", type="tollfree")
    vendor = Vendor(
        {path(): page(record), "/2010-04-01/Accounts.json": accounts(), PRICING: httpx.Response(200, json=US_PRICES)}
    )
    (owned,), _, _ = await listed(vendor)
    assert owned.monthly_price == Money(amount=Decimal("2.15"), currency="USD")
    assert owned.provider_details["base_price"] == "2.50"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("changes", "routed"),
    [
        ({"voice_url": ""}, False),
        ({"voice_url": None, "sms_url": "https://hooks.example.com/sms"}, True),
        ({"voice_url": "", "voice_application_sid": "AP" + "1" * 32}, True),
        ({"voice_url": "", "sms_application_sid": "AP" + "1" * 32}, True),
        ({"voice_url": "  ", "trunk_sid": "TK" + "1" * 32}, True),
    ],
)
async def test_routed_means_a_url_an_application_or_a_trunk(changes: dict[str, Any], routed: bool) -> None:
    vendor = Vendor({path(): page(incoming(**changes)), "/2010-04-01/Accounts.json": accounts()})
    (owned,), _, _ = await listed(vendor)
    assert owned.routed is routed


@pytest.mark.anyio
async def test_unknown_routing_status_and_type_are_said_so_never_guessed() -> None:
    record = {k: v for k, v in incoming().items() if not k.endswith(("_url", "_sid")) or k == "account_sid"}
    record.update(status="porting", type=None, sid="PN" + "1b" * 16)
    vendor = Vendor({path(): page(record), "/2010-04-01/Accounts.json": accounts()})
    (owned,), _, stats = await listed(vendor)
    assert (owned.routed, owned.status, owned.vendor_status) == (None, OwnedStatus.OTHER, "porting")
    assert (owned.monthly_price, owned.number_type.value) == (None, "local")  # typed by the plan, never priced
    assert owned.provider_details["number_type_inferred"] is True
    assert PRICING not in vendor.paths and stats.notes == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"sid": None}, "sid"),
        ({"voice_url": 5}, "voice_url"),
        ({"date_created": "yesterday"}, "date_created"),
        ({"capabilities": {"voice": "yes"}}, "capabilities.voice"),
        ({"phone_number": "+1555"}, None),
    ],
)
async def test_a_bad_record_is_rejected_naming_its_field(changes: dict[str, Any], field: str | None) -> None:
    good = incoming("+12125550144", sid="PN" + "2c" * 16)
    vendor = Vendor({path(): page(incoming(**changes), good), "/2010-04-01/Accounts.json": accounts()})
    numbers, rejected, _ = await listed(vendor)
    assert [n.e164 for n in numbers] == ["+12125550144"] and len(rejected) == 1
    if field is not None:
        assert rejected[0].field == field


@pytest.mark.anyio
async def test_the_walk_follows_next_pages_then_each_open_subaccount() -> None:
    def main(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("PageToken") == "PA1":
            return page(incoming("+12125550102", sid="PN" + "02" * 16))
        return page(incoming(), next_page_uri=f"{path()}?PageSize=250&Page=1&PageToken=PA1")

    sub = incoming("+12125550103", sid="PN" + "03" * 16, account_sid=SUB, voice_url="")
    vendor = Vendor(
        {
            path(): main,
            path(EMPTY): page(),
            path(SUB): page(sub),
            "/2010-04-01/Accounts.json": accounts(
                (SID, "active"), (EMPTY, "active"), (CLOSED, "closed"), (SUB, "suspended")
            ),
            PRICING: httpx.Response(200, json=US_PRICES),
        }
    )
    numbers, _, stats = await listed(vendor)
    assert [(n.e164, n.sub_account) for n in numbers] == [
        ("+12125550143", None),
        ("+12125550102", None),
        ("+12125550103", SUB),
    ]
    assert stats.pages == 3 and not stats.truncated
    incoming_asked = [str(r.url) for r in vendor.requests if r.url.path.endswith("IncomingPhoneNumbers.json")]
    assert incoming_asked == [
        f"{API}/Accounts/{SID}/IncomingPhoneNumbers.json?PageSize=250",
        f"{API}/Accounts/{SID}/IncomingPhoneNumbers.json?PageSize=250&Page=1&PageToken=PA1",
        f"{API}/Accounts/{EMPTY}/IncomingPhoneNumbers.json?PageSize=250",
        f"{API}/Accounts/{SUB}/IncomingPhoneNumbers.json?PageSize=250",
    ]
    assert vendor.paths.count(PRICING) == 1  # one price list per country per walk
    assert vendor.paths[0] == "/2010-04-01/Accounts.json"


@pytest.mark.anyio
async def test_subaccounts_that_cannot_be_listed_leave_the_list_incomplete() -> None:
    forbidden = httpx.Response(403, json={"code": 20403, "message": "Forbidden", "status": 403})
    vendor = Vendor({path(): page(incoming()), "/2010-04-01/Accounts.json": forbidden})
    numbers, _, stats = await listed(vendor)
    assert len(numbers) == 1 and stats.truncated
    assert any("subaccounts could not be listed" in note for note in stats.notes)


@pytest.mark.anyio
async def test_a_price_list_that_fails_leaves_numbers_unpriced_with_a_note() -> None:
    failing = httpx.Response(500, json={"code": 20500, "message": "Internal Server Error", "status": 500})
    vendor = Vendor({path(): page(incoming()), "/2010-04-01/Accounts.json": accounts(), PRICING: failing})
    (owned,), _, stats = await listed(vendor)
    assert owned.monthly_price is None and owned.next_renewal is not None
    assert any(note.startswith("numbers in US are unpriced: the Pricing API failed") for note in stats.notes)


@pytest.mark.anyio
async def test_a_next_page_elsewhere_is_refused() -> None:
    vendor = Vendor(
        {
            path(): page(incoming(), next_page_uri="https://evil.example/2010-04-01/x.json?PageToken=PA1"),
            "/2010-04-01/Accounts.json": accounts(),
        }
    )
    with pytest.raises(ProviderResponseError, match="points elsewhere"):
        await listed(vendor)
    assert {r.url.host for r in vendor.requests} == {"api.twilio.com", "pricing.twilio.com"}


@pytest.mark.anyio
async def test_a_page_token_served_again_under_a_new_page_number_stops_the_walk() -> None:
    """The page number moves on while the token stays: the same page for ever, so the list fails."""

    def main(request: httpx.Request) -> httpx.Response:
        at = int(request.url.params.get("Page", "0"))
        return page(incoming(f"+1212555{at:04d}"), next_page_uri=f"{path()}?PageSize=250&Page={at + 1}&PageToken=PA1")

    vendor = Vendor({path(): main, "/2010-04-01/Accounts.json": accounts()})
    with pytest.raises(ProviderResponseError, match="repeated the page token"):
        await listed(vendor)
    assert vendor.paths.count(path()) == 2


@pytest.mark.anyio
async def test_ownership_reads_the_hook_for_the_buying_account_only() -> None:
    def main(request: httpx.Request) -> httpx.Response:
        wanted = request.url.params.get("PhoneNumber")
        return page(*([incoming()] if wanted == "+12125550143" else []))

    vendor = Vendor({path(): main, path(SUB): page(incoming("+12125550199", account_sid=SUB))})
    async with provider(vendor) as twilio:
        assert await twilio.owns("+1 212 555 0143")
        assert not await twilio.owns("+12125550199")  # a subaccount's number is not this account's
    assert set(vendor.paths) == {path()}


# -- the sandbox over loopback ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, str]]:
    sandbox = create_app(seed=4, owned=2300)
    with LoopbackServer(sandbox.app) as server:
        yield sandbox, server.base_url + sandbox.base_path


def adapter(sandbox: Sandbox, base_url: str) -> TwilioProvider:
    return TwilioProvider(base_url=base_url, env=sandbox.env, retry=RetryPolicy(initial=0.01))


ROUTES = ("voice_url", "sms_url", "voice_application_sid", "sms_application_sid", "trunk_sid")


def phone_country(e164: str) -> str | None:
    """The country a number's own numbering plan names (phonenumbers, independent of numbroker's reading)."""
    return phonenumbers.region_code_for_number(phonenumbers.parse(e164))


def listed_price(item: dict[str, Any], country: str) -> Money | None:
    """The price list's charged price for the item's type, from the sandbox's table (None: not priced)."""
    if item["type"] is None:
        return None
    unit, rows = PRICE_LISTS[country]
    wanted = item["type"].replace(" ", "")
    for kind, _base, current in rows:
        if kind.replace(" ", "") == wanted:
            try:
                return Money(amount=Decimal(str(current)), currency=unit.upper())
            except ArithmeticError:
                return None
    return None


def expected(item: dict[str, Any], country: str, main: str) -> dict[str, Any]:
    created = datetime.strptime(item["date_created"], "%a, %d %b %Y %H:%M:%S %z").astimezone(UTC)
    price = listed_price(item, country)
    return {
        "provider_number_id": item["sid"],
        "status": "active",
        "monthly_price": price,
        "price_source": None if price is None else "price_list",
        "next_renewal": renewal(created.date(), datetime.now(UTC).date()),
        "renewal_source": "derived",
        "routed": any(
            item[k] for k in ("voice_url", "sms_url", "voice_application_sid", "sms_application_sid", "trunk_sid")
        ),
        "sub_account": None if item["account_sid"] == main else item["account_sid"],
        "purchased_at": created,
    }


@pytest.mark.anyio
async def test_the_owned_list_is_the_sandbox_inventory_exactly(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    async with adapter(sandbox, base_url) as twilio:
        numbers, rejected, stats = await twilio.list_owned()
    items = sandbox.options["owned"]
    main = sandbox.env["TWILIO_ACCOUNT_SID"]
    assert (rejected, stats.truncated) == ([], False)
    assert stats.pages == 12  # 2,296 of the account's at 250 a page (10), one active and one suspended subaccount's
    countries = {n.e164: n.country for n in numbers}
    seen = {n.e164: {k: getattr(n, k) for k in expected(items[0], "US", main)} for n in numbers}
    assert seen == {i["phone_number"]: expected(i, countries[i["phone_number"]], main) for i in items}
    assert len(seen) == len(items)


@pytest.mark.anyio
async def test_the_seeded_quirks_all_show(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    async with adapter(sandbox, base_url) as twilio:
        numbers, _, stats = await twilio.list_owned()
    today = datetime.now(UTC).date()
    subs = {sid for sid, status in sandbox.options["subaccounts"].items() if status != "closed"}
    assert {n.sub_account for n in numbers} == {None, *subs}
    assert any(n.routed is False for n in numbers) and any(n.renews_within(5, today) for n in numbers)
    assert sum(n.monthly_price is None for n in numbers) >= 3
    assert sorted(stats.notes) == [
        "mobile numbers in DE are unpriced: the price list has no such type",
        "national numbers in NL are unpriced: phone_number_prices[3].current_price: not a decimal string: 'n/a'",
    ]


@pytest.mark.anyio
async def test_a_bought_number_joins_the_list_unrouted_and_is_owned() -> None:
    sandbox = create_app(seed=5, owned=3)
    with LoopbackServer(sandbox.app) as server:
        async with adapter(sandbox, server.base_url + sandbox.base_path) as twilio:
            offer = (await twilio.search(SearchQuery(country="US"))).offers[0]
            await twilio.purchase(offer)
            numbers, _, _ = await twilio.list_owned()
            assert await twilio.owns(offer.e164)
    (bought,) = [n for n in numbers if n.e164 == offer.e164]
    assert len(numbers) == 4 and bought.routed is False
    assert (bought.monthly_price, bought.price_source) == (offer.monthly_price, "price_list")


@pytest.mark.anyio
async def test_faults_a_repeated_token_fails_and_errors_are_retried() -> None:
    sandbox = create_app(seed=3, owned=2100, faults=Faults(repeat_token=True))
    with LoopbackServer(sandbox.app) as server:
        async with adapter(sandbox, server.base_url + sandbox.base_path) as twilio:
            with pytest.raises(ProviderResponseError, match="repeated"):
                await twilio.list_owned()
            sandbox.faults = Faults(rate_5xx=0.3, seed=2)
            numbers, _, _ = await twilio.list_owned()
    assert len(numbers) == 2100


@pytest.mark.anyio
async def test_a_stamp_made_now_renews_next_month() -> None:
    now = datetime.now(UTC)
    vendor = Vendor(
        {path(): page(incoming(date_created=format_datetime(now))), "/2010-04-01/Accounts.json": accounts()}
    )
    (owned,), _, _ = await listed(vendor)
    assert owned.next_renewal == renewal(now.date(), now.date()) and owned.next_renewal > now.date()


def test_what_twilio_can_do_after_purchase() -> None:
    declared = TwilioProvider.after_purchase
    assert declared is not None and TwilioProvider.lists_owned() and TwilioProvider.owned_paging == "token"
    assert (declared.release, declared.states_prices, declared.states_renewals) == (ReleaseMode.IMMEDIATE, False, False)


# -- the command line's JSON -------------------------------------------------------------------------


def test_the_commands_json_is_the_sandboxs_inventory_exactly(sandbox_owned_json: Callable[..., Any]) -> None:
    document = sandbox_owned_json("twilio")
    sandbox = create_app(owned=SANDBOX_OWNED)  # what --sandbox starts the account with
    main = sandbox.env["TWILIO_ACCOUNT_SID"]
    items = {i["phone_number"]: i for i in sandbox.options["owned"]}
    assert [n["e164"] for n in document["numbers"]] == sorted(items)
    for number in document["numbers"]:
        item = items[number["e164"]]
        want = expected(item, number["country"], main)
        price = number["monthly_price"]
        assert {
            "provider_number_id": number["provider_number_id"],
            "status": number["status"],
            "monthly_price": None
            if price is None
            else Money(amount=Decimal(price["amount"]), currency=price["currency"]),
            "price_source": number["price_source"],
            "next_renewal": date.fromisoformat(number["next_renewal"]),
            "renewal_source": number["renewal_source"],
            "routed": number["routed"],
            "sub_account": number["sub_account"],
            "purchased_at": datetime.fromisoformat(number["purchased_at"].replace("Z", "+00:00")),
        } == want
        assert number["country"] == phone_country(item["phone_number"])
        assert (number["provider"], number["account"], number["vendor_status"]) == ("twilio", None, "in-use")
    summary = document["summary"]["by_provider"]["twilio"]
    assert summary["numbers"] == len(items) == SANDBOX_OWNED
    assert summary["price_unknown"] == sum(n["monthly_price"] is None for n in document["numbers"]) >= 3
    assert summary["unrouted"] == sum(not any(i[k] for k in ROUTES) for i in items.values())
    assert document["status"] == "complete" and document["rejected"] == []
    (report,) = [p for p in document["providers"] if p["provider"] == "twilio"]
    assert len(report["notes"]) == 2  # DE mobile and NL national are not priced by the price list
