"""Twilio adapter, offline: the exact requests, the price join, the 30-number cap, capabilities, errors."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import anyio
import httpx
import pytest

from numbroker import (
    AuthenticationError,
    Capability,
    ConfigurationError,
    MissingCredentialsError,
    Money,
    NotFoundError,
    NumberType,
    ProviderResponseError,
    RetryPolicy,
    SearchQuery,
)
from numbroker.adapters import ProviderRun
from numbroker.testing import InFlight
from numbroker_providers.twilio import TwilioProvider

SID = "AC" + "c4a7" * 8  # canary credentials, never real ones
TOKEN = "70ce" * 8
BASIC = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
ACCOUNT = f"/2010-04-01/Accounts/{SID}"
FAST = RetryPolicy(initial=0.001, max_delay=0.002, jitter=0.0)

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


def number(e164: str, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "friendly_name": e164,
        "phone_number": e164,
        "lata": None,
        "locality": None,
        "rate_center": None,
        "latitude": None,
        "longitude": None,
        "region": None,
        "postal_code": None,
        "iso_country": None,
        "address_requirements": "none",
        "beta": False,
        "capabilities": {"voice": True, "SMS": True, "MMS": False, "fax": False},
    }
    record.update(fields)
    return record


def listing(*records: Any, **extra: Any) -> httpx.Response:
    return httpx.Response(200, json={"available_phone_numbers": list(records), "uri": "/x", **extra})


US_PRICES = {
    "country": "United States",
    "iso_country": "US",
    "phone_number_prices": [
        {"number_type": "local", "base_price": "1.15", "current_price": "1.15"},
        {"number_type": "toll free", "base_price": "2.50", "current_price": "2.15"},
    ],
    "price_unit": "USD",
    "url": "https://pricing.twilio.com/v1/PhoneNumbers/Countries/US",
}
US_COUNTRY = {
    "country_code": "US",
    "country": "United States",
    "subresource_uris": {
        "local": f"{ACCOUNT}/AvailablePhoneNumbers/US/Local.json",
        "toll_free": f"{ACCOUNT}/AvailablePhoneNumbers/US/TollFree.json",
    },
}
NY = "+12125550143"
NY2 = "+12125550176"
TOLL_FREE = "+18005550199"


class Vendor:
    """A fake Twilio (both hosts): routes by host and path; records every request."""

    def __init__(self, routes: dict[str, Handler | httpx.Response]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = f"{request.url.host}{request.url.path}"
        handler = self.routes.get(key)
        if handler is None:
            return httpx.Response(404, json={"code": 20404, "message": f"{request.url.path} not found", "status": 404})
        if isinstance(handler, httpx.Response):
            return handler
        answer = handler(request)
        return await answer if not isinstance(answer, httpx.Response) else answer

    @property
    def paths(self) -> list[str]:
        return [f"{r.url.host}{r.url.path}" for r in self.requests]


def api(path: str) -> str:
    return f"api.twilio.com{ACCOUNT}{path}"


PRICING_US = "pricing.twilio.com/v1/PhoneNumbers/Countries/US"


def adapter(vendor: Vendor, **options: Any) -> TwilioProvider:
    options.setdefault("retry", FAST)
    options.setdefault("env", {})
    return TwilioProvider(account_sid=SID, auth_token=TOKEN, transport=httpx.MockTransport(vendor), **options)


async def search(vendor: Vendor, query: SearchQuery, **options: Any) -> tuple[Any, ProviderRun]:
    run = ProviderRun()
    offers: list[Any] = []
    rejected: list[Any] = []

    async def sink(page: Any) -> None:
        offers.extend(page.offers)
        rejected.extend(page.rejected)

    async with adapter(vendor, **options) as twilio:
        await twilio.stream_pages(query, sink, run=run)
    return (offers, rejected), run


# -- the requests ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_typed_search_is_one_request_per_host_pinned_byte_for_byte() -> None:
    """Local.json with the query string exactly as sent, plus the Pricing API's country list; both Basic."""
    every = {"voice": True, "SMS": True, "MMS": True, "fax": True}
    vendor = Vendor(
        {
            api("/AvailablePhoneNumbers/US/Local.json"): listing(number(NY, capabilities=every)),
            PRICING_US: httpx.Response(200, json=US_PRICES),
        }
    )
    query = SearchQuery(
        country="US",
        number_type=NumberType.LOCAL,
        prefix="2125",
        contains="555",
        capabilities=(Capability.SMS, Capability.VOICE, Capability.MMS, Capability.FAX),
    )

    (offers, _), _ = await search(vendor, query)

    assert 2 == len(vendor.requests)
    by_host = {r.url.host: r for r in vendor.requests}
    searched, priced = by_host["api.twilio.com"], by_host["pricing.twilio.com"]
    assert "GET" == searched.method == priced.method
    assert (
        f"https://api.twilio.com{ACCOUNT}/AvailablePhoneNumbers/US/Local.json"
        "?AreaCode=212&Contains=555&FaxEnabled=true&MmsEnabled=true&SmsEnabled=true&VoiceEnabled=true&PageSize=1000"
    ) == str(searched.url)
    assert "https://pricing.twilio.com/v1/PhoneNumbers/Countries/US" == str(priced.url)
    assert BASIC == searched.headers["authorization"] == priced.headers["authorization"]
    assert "application/json" == searched.headers["accept"]
    assert [NY] == [o.e164 for o in offers]


@pytest.mark.anyio
async def test_the_price_list_is_requested_before_the_search_answers() -> None:
    """The search's answer waits for the pricing request to arrive: it must leave with the search, not after it."""
    pricing_seen = anyio.Event()
    order: list[str] = []

    def pricing(request: httpx.Request) -> httpx.Response:
        order.append("pricing sent")
        pricing_seen.set()
        return httpx.Response(200, json=US_PRICES)

    async def local(request: httpx.Request) -> httpx.Response:
        order.append("search sent")
        with anyio.fail_after(5):  # were the pricing request sent after this answer, it would never arrive
            await pricing_seen.wait()
        order.append("search answered")
        return listing(number(NY))

    vendor = Vendor({api("/AvailablePhoneNumbers/US/Local.json"): local, PRICING_US: pricing})
    (offers, _), _ = await search(vendor, SearchQuery(country="US", number_type=NumberType.LOCAL))

    assert order.index("pricing sent") < order.index("search answered")
    assert [Money(amount=Decimal("1.15"), currency="USD")] == [o.monthly_price for o in offers]


@pytest.mark.anyio
async def test_without_a_type_the_country_resource_names_the_types_asked_concurrently() -> None:
    """US.json first (with the price list alongside), then Local and TollFree at once; merged in type order."""
    local_asked = anyio.Event()

    async def toll_free(request: httpx.Request) -> httpx.Response:
        with anyio.fail_after(5):
            await local_asked.wait()  # both type requests are in flight together
        return listing(number(TOLL_FREE))

    def local(request: httpx.Request) -> httpx.Response:
        local_asked.set()
        return listing(number(NY), number(NY2))

    vendor = Vendor(
        {
            api("/AvailablePhoneNumbers/US.json"): httpx.Response(200, json=US_COUNTRY),
            api("/AvailablePhoneNumbers/US/Local.json"): local,
            api("/AvailablePhoneNumbers/US/TollFree.json"): toll_free,
            PRICING_US: httpx.Response(200, json=US_PRICES),
        }
    )
    (offers, rejected), run = await search(vendor, SearchQuery(country="US"))

    assert [] == rejected
    assert 4 == len(vendor.requests) == run.stats.requests
    assert [PRICING_US, api("/AvailablePhoneNumbers/US.json")] == vendor.paths[:2]  # the price list leaves first
    assert "" == vendor.requests[vendor.paths.index(api("/AvailablePhoneNumbers/US.json"))].url.query.decode()
    assert [NY, NY2, TOLL_FREE] == [o.e164 for o in offers]
    assert [NumberType.LOCAL, NumberType.LOCAL, NumberType.TOLL_FREE] == [o.number_type for o in offers]
    assert [Decimal("1.15")] * 2 + [Decimal("2.15")] == [o.monthly_price.amount for o in offers]
    assert {"base_price": "2.50"}.items() <= offers[2].provider_details.items()
    assert all(o.setup_price is None for o in offers)
    assert not run.stats.truncated


@pytest.mark.anyio
async def test_the_fan_out_stays_within_page_concurrency() -> None:
    """Five listed types, page_concurrency=2: never more than two type requests (plus the price list) at once."""
    kinds = {"local": "Local", "mobile": "Mobile", "toll_free": "TollFree", "national": "National", "voip": "Voip"}
    country = {"country_code": "GB", "subresource_uris": {k: f"/{v}.json" for k, v in kinds.items()}}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/GB.json"):
            return httpx.Response(200, json=country)
        if request.url.host.startswith("pricing"):
            return httpx.Response(200, json={"price_unit": "USD", "phone_number_prices": []})
        return listing()

    probe = InFlight(answer, hold=0.02)

    class Narrow(TwilioProvider):
        page_concurrency = 2

    vendor = Vendor({})
    async with Narrow(account_sid=SID, auth_token=TOKEN, env={}, transport=httpx.MockTransport(probe)) as twilio:
        result = await twilio.search(SearchQuery(country="GB"))

    assert probe.peak <= 3
    assert 1 + 1 + 4 == result.stats.requests  # country, price list, four types (voip has no numbroker type)
    assert any("voip" in note for note in result.stats.notes)
    assert [] == vendor.requests


@pytest.mark.anyio
async def test_a_type_twilio_does_not_list_is_an_empty_answer_with_a_note() -> None:
    """Mobile.json 404s; the country resource shows US has no mobile numbers: nothing, and a note saying so."""
    vendor = Vendor(
        {
            api("/AvailablePhoneNumbers/US.json"): httpx.Response(200, json=US_COUNTRY),
            PRICING_US: httpx.Response(200, json=US_PRICES),
        }
    )

    (offers, rejected), run = await search(vendor, SearchQuery(country="US", number_type=NumberType.MOBILE))

    assert ([], []) == (offers, rejected)
    assert ["Twilio lists no Mobile numbers for US"] == run.stats.notes


@pytest.mark.anyio
async def test_a_404_on_a_listed_type_or_an_unknown_country_on_a_wrong_path_fails() -> None:
    """A 404 the country resource cannot explain is a NotFoundError; so is a 404 country the account cannot confirm."""
    vendor = Vendor({api("/AvailablePhoneNumbers/US.json"): httpx.Response(200, json=US_COUNTRY)})
    async with adapter(vendor) as twilio:
        with pytest.raises(NotFoundError):
            await twilio.search(SearchQuery(country="US", number_type=NumberType.LOCAL))
        with pytest.raises(NotFoundError, match="no available numbers for KP"):
            await twilio.search(SearchQuery(country="KP"))


@pytest.mark.anyio
@pytest.mark.parametrize("number_type", [None, NumberType.LOCAL])
async def test_a_country_twilio_does_not_stock_is_an_empty_answer(number_type: NumberType | None) -> None:
    """JP's country resource 404s while the account's own numbers answer: none here, empty with a note, no error."""
    owned: dict[str, Any] = {"incoming_phone_numbers": [], "next_page_uri": None}
    vendor = Vendor({api("/IncomingPhoneNumbers.json"): httpx.Response(200, json=owned)})

    (offers, rejected), run = await search(vendor, SearchQuery(country="JP", number_type=number_type))

    assert ([], []) == (offers, rejected)
    assert "Twilio stocks no numbers in JP (its country resource answered 404)" in run.stats.notes
    assert api("/IncomingPhoneNumbers.json") in vendor.paths


@pytest.mark.anyio
async def test_a_shared_cost_search_goes_to_its_own_path_and_unknown_types_send_nothing() -> None:
    """SharedCost.json for shared_cost; the prefix outside North America is applied by numbroker only."""
    vendor = Vendor({api("/AvailablePhoneNumbers/GB/SharedCost.json"): listing()})
    await search(vendor, SearchQuery(country="GB", number_type=NumberType.SHARED_COST, prefix="345", contains="7"))

    searched = next(r for r in vendor.requests if r.url.host == "api.twilio.com")
    assert "PageSize=1000" == searched.url.query.decode()  # no AreaCode abroad; a 1-digit Contains cannot be sent


# -- the 30-number cap ----------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(("count", "truncated"), [(29, False), (30, True), (31, True)])
async def test_an_answer_at_the_cap_is_truncated_with_advice(count: int, truncated: bool) -> None:
    """30 numbers (or more) and no next page: more may exist; the note says how to narrow the search."""
    records = [number(f"+1212555{i:04d}") for i in range(count)]
    vendor = Vendor(
        {
            api("/AvailablePhoneNumbers/US/Local.json"): listing(*records),
            PRICING_US: httpx.Response(200, json=US_PRICES),
        }
    )

    (offers, _), run = await search(vendor, SearchQuery(country="US", number_type=NumberType.LOCAL))

    assert count == len(offers)
    assert truncated is run.stats.truncated
    notes = [n for n in run.stats.notes if "narrow the search" in n]
    assert (1 if truncated else 0) == len(notes)


@pytest.mark.anyio
async def test_a_next_page_is_not_followed_but_reported() -> None:
    """Twilio's search has no next page; should one appear it is named in a note and the run is truncated."""
    vendor = Vendor(
        {api("/AvailablePhoneNumbers/US/Local.json"): listing(number(NY), next_page_uri="/2010-04-01/x?Page=1")}
    )

    (offers, _), run = await search(vendor, SearchQuery(country="US", number_type=NumberType.LOCAL))

    assert 1 == len(offers) and run.stats.truncated
    assert any("not followed" in n for n in run.stats.notes)
    assert 2 == len(vendor.requests)


# -- prices ---------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("pricing", "note"),
    [
        (
            httpx.Response(500, json={"code": 20500, "message": "Internal Server Error", "status": 500}),
            "Pricing API failed",
        ),
        (httpx.Response(404, json={"code": 20404, "message": "not found", "status": 404}), "Pricing API failed"),
        (httpx.Response(200, content=b"<html>"), "Pricing API failed"),
        (httpx.Response(200, json={"price_unit": "USD"}), "no phone_number_prices"),
        (httpx.Response(200, json={**US_PRICES, "price_unit": "dollars"}), "price_unit"),
        (
            httpx.Response(200, json={**US_PRICES, "phone_number_prices": US_PRICES["phone_number_prices"][1:]}),
            "no such type",
        ),
        (
            httpx.Response(
                200, json={**US_PRICES, "phone_number_prices": [{"number_type": "local", "current_price": "-1"}]}
            ),
            "negative",
        ),
        (
            httpx.Response(
                200,
                json={
                    **US_PRICES,
                    "phone_number_prices": [
                        {"number_type": "local", "current_price": "1.15"},
                        {"number_type": "Local", "current_price": "1.25"},
                    ],
                },
            ),
            "second, different price",
        ),
    ],
)
async def test_without_a_usable_price_the_offers_stay_unpriced_and_a_note_says_why(
    pricing: httpx.Response, note: str
) -> None:
    """A Pricing API failure or an unreadable list never fails the search and never invents a price."""
    vendor = Vendor({api("/AvailablePhoneNumbers/US/Local.json"): listing(number(NY)), PRICING_US: pricing})

    (offers, rejected), run = await search(vendor, SearchQuery(country="US", number_type=NumberType.LOCAL))

    assert ([NY], []) == ([o.e164 for o in offers], rejected)
    assert (None, None) == (offers[0].setup_price, offers[0].monthly_price)
    assert any(note in n and "unpriced" in n for n in run.stats.notes), run.stats.notes


@pytest.mark.anyio
async def test_prices_as_json_numbers_and_a_lower_case_unit_are_exact() -> None:
    """``price_unit`` "usd" and a JSON number 1.15 give exactly Decimal("1.15") USD; "toll free" joins TollFree."""
    content = (
        b'{"price_unit": "usd", "phone_number_prices": '
        b'[{"number_type": "toll free", "base_price": 2.15, "current_price": 2.15}]}'
    )
    vendor = Vendor(
        {
            api("/AvailablePhoneNumbers/US/TollFree.json"): listing(number(TOLL_FREE)),
            PRICING_US: httpx.Response(200, content=content, headers={"content-type": "application/json"}),
        }
    )

    (offers, _), run = await search(vendor, SearchQuery(country="US", number_type=NumberType.TOLL_FREE))

    assert [Money(amount=Decimal("2.15"), currency="USD")] == [o.monthly_price for o in offers]
    assert "2.15" == format(offers[0].monthly_price.amount, "f")
    assert [] == run.stats.notes


@pytest.mark.anyio
async def test_a_retried_price_list_still_joins() -> None:
    """The price list is a GET: a 20429 (too many concurrent requests) is retried like any read."""
    answers = [
        httpx.Response(
            429, json={"code": 20429, "message": "Too Many Requests", "status": 429}, headers={"Retry-After": "0"}
        ),
        httpx.Response(200, json=US_PRICES),
    ]
    vendor = Vendor(
        {api("/AvailablePhoneNumbers/US/Local.json"): listing(number(NY)), PRICING_US: lambda r: answers.pop(0)}
    )

    (offers, _), run = await search(vendor, SearchQuery(country="US", number_type=NumberType.LOCAL))

    assert Decimal("1.15") == offers[0].monthly_price.amount
    assert 1 == run.stats.retries


# -- records --------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_capability_keys_are_read_in_either_case() -> None:
    """``SMS``/``MMS`` as the live API sends them and ``sms``/``mms`` as the definition says; missing is false."""
    vendor = Vendor(
        {
            api("/AvailablePhoneNumbers/US/Local.json"): listing(
                number(NY, capabilities={"voice": True, "SMS": True, "MMS": True, "fax": False}),
                number(NY2, capabilities={"voice": False, "sms": True, "mms": False}),
                number("+12125550110", capabilities=None),
            )
        }
    )
    (offers, _), _ = await search(vendor, SearchQuery(country="US", number_type=NumberType.LOCAL))

    assert [
        (Capability.MMS, Capability.SMS, Capability.VOICE),
        (Capability.SMS,),
        None,
    ] == [o.capabilities for o in offers]


@pytest.mark.anyio
async def test_bad_records_are_rejected_naming_the_wire_field() -> None:
    """Each defect is one rejected record with Twilio's field name; the good record still arrives."""
    vendor = Vendor(
        {
            api("/AvailablePhoneNumbers/US/Local.json"): listing(
                number(NY, region="NY", locality="New York", iso_country="US", beta=True),
                number("+15551234567"),
                number("+14165550123", iso_country="US"),
                number(NY2, capabilities={"voice": "yes"}),
                number("+12125550111", capabilities={"sms": True, "SMS": False}),
                number("+12125550112", capabilities=["voice"]),
                number("+12125550113", iso_country=1),
                {**number(NY), "phone_number": None},
                number("+12125550114", beta="no"),
                "not an object",
            )
        }
    )
    (offers, rejected), _ = await search(vendor, SearchQuery(country="US", number_type=NumberType.LOCAL))

    assert [NY] == [o.e164 for o in offers]
    assert ("NY", {"locality": "New York", "address_requirements": "none", "beta": True}) == (
        offers[0].region,
        offers[0].provider_details,
    )
    assert [
        "phone_number",
        "phone_number",
        "capabilities.voice",
        "capabilities.SMS",
        "capabilities",
        "iso_country",
        "phone_number",
        "beta",
        None,
    ] == [r.field for r in rejected]
    assert ["+15551234567", "+14165550123", NY2] == [r.offer_id for r in rejected[:3]]


# -- errors and configuration ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_wrong_token_is_an_authentication_error_without_the_token() -> None:
    """401 code 20003 is an AuthenticationError; neither credential shows in it."""
    denied = httpx.Response(401, json={"code": 20003, "message": f"Authenticate {SID} {TOKEN}", "status": 401})
    vendor = Vendor({api("/AvailablePhoneNumbers/US/Local.json"): denied})
    async with adapter(vendor) as twilio:
        with pytest.raises(AuthenticationError) as info:
            await twilio.search(SearchQuery(country="US", number_type=NumberType.LOCAL))
    shown = f"{info.value} {info.value!r} {info.value.body} {twilio!r}"
    assert "20003" in shown
    assert SID not in shown and TOKEN not in shown and BASIC.split()[1] not in shown


@pytest.mark.anyio
async def test_a_wrongly_shaped_answer_is_a_response_error() -> None:
    """An answer without ``available_phone_numbers`` fails the search (a type's answer is not optional)."""
    vendor = Vendor({api("/AvailablePhoneNumbers/US/Local.json"): httpx.Response(200, json={"numbers": []})})
    async with adapter(vendor) as twilio:
        with pytest.raises(ProviderResponseError, match="available_phone_numbers"):
            await twilio.search(SearchQuery(country="US", number_type=NumberType.LOCAL))


def test_credentials_settings_and_urls() -> None:
    """Both credentials are required; the pricing URL is a setting validated like the base URL."""
    with pytest.raises(MissingCredentialsError, match="TWILIO_AUTH_TOKEN"):
        TwilioProvider(env={"TWILIO_ACCOUNT_SID": SID})
    env = {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN}
    default = TwilioProvider(env=env)
    assert ("https://api.twilio.com/2010-04-01", "https://pricing.twilio.com/v1") == (
        default.base_url,
        default.pricing_base_url,
    )
    assert (
        "https://pricing.example/v1"
        == TwilioProvider(env={**env, "TWILIO_PRICING_BASE_URL": "https://pricing.example/v1/"}).pricing_base_url
    )
    assert (
        "http://127.0.0.1:8080/v1"
        == TwilioProvider(env=env, base_url="http://127.0.0.1:8080/2010-04-01", pricing_base_url="/v1").pricing_base_url
    )
    with pytest.raises(ConfigurationError, match="TWILIO_PRICING_BASE_URL"):
        TwilioProvider(env={**env, "TWILIO_PRICING_BASE_URL": "http://pricing.example/v1"})
    with pytest.raises(ConfigurationError, match="pricing_base_url"):
        TwilioProvider(env=env, pricing_base_url="http://10.0.0.1/v1")
    with pytest.raises(ConfigurationError, match="account_sid"):
        TwilioProvider(env={**env, "TWILIO_ACCOUNT_SID": "AC../../x"})
    assert SID not in repr(default) and TOKEN not in repr(default)
    assert "pricing.twilio.com" in repr(default)
