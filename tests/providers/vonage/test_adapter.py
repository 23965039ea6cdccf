"""The Vonage adapter offline (MockTransport): the exact requests, the answer's shapes, every record rule."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import anyio
import httpx
import pytest

from numbroker import (
    AuthenticationError,
    Capability,
    ConfigurationError,
    FilterSupport,
    MissingCredentialsError,
    NumberType,
    ProviderResponseError,
    QueryFilter,
    RejectedRecord,
    RetryPolicy,
    SearchQuery,
)
from numbroker_providers.vonage import VonageProvider

KEY = "c4n4ry01"
SECRET = "Vonage-Secret-Canary-93f1"
BASIC = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
SEARCH = "https://rest.nexmo.com/number/search"

Handler = Callable[[httpx.Request], httpx.Response]


def record(msisdn: str = "447400123456", **fields: Any) -> dict[str, Any]:
    """A record as the SDK's fixtures show it (``search_available_numbers_basic.json``)."""
    return {"country": "GB", "msisdn": msisdn, "cost": "1.00", "type": "mobile-lvn", "features": ["VOICE", "SMS"]} | (
        fields
    )


def provider(handler: Handler, requests: list[httpx.Request], **options: Any) -> VonageProvider:
    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return handler(request)

    options.setdefault("retry", RetryPolicy(attempts=1))
    return VonageProvider(api_key=KEY, api_secret=SECRET, transport=httpx.MockTransport(answer), **options)


def pool(numbers: list[dict[str, Any]], *, count: int | None = None) -> Handler:
    """Serve ``numbers`` by ``index`` (a page number) and ``size``, as Vonage pages them; ``{}`` past the end."""

    def respond(request: httpx.Request) -> httpx.Response:
        index, size = int(request.url.params["index"]), int(request.url.params["size"])
        chunk = numbers[(index - 1) * size : index * size]
        if not chunk:
            return httpx.Response(200, json={})
        return httpx.Response(200, json={"count": len(numbers) if count is None else count, "numbers": chunk})

    return respond


def gb_numbers(n: int) -> list[dict[str, Any]]:
    return [record(f"4474001{i:05d}", cost=f"{1 + i % 7}.{i % 100:02d}") for i in range(n)]


async def search(handler: Handler, query: SearchQuery | None = None, **options: Any) -> Any:
    requests: list[httpx.Request] = []
    async with provider(handler, requests, **options) as vonage:
        result = await vonage.search(query or SearchQuery(country="GB"))
    return result, requests


# -- the requests ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_first_request_byte_for_byte() -> None:
    """GET /number/search?country=GB&size=100&index=1 with HTTP Basic; no credential in the URL."""
    result, requests = await search(pool(gb_numbers(3)))

    (request,) = requests
    assert ("GET", f"{SEARCH}?country=GB&size=100&index=1") == (request.method, str(request.url))
    assert BASIC == request.headers["authorization"]
    assert "application/json" == request.headers["accept"]
    assert KEY not in str(request.url) and SECRET not in str(request.url)
    assert 3 == len(result.offers)


@pytest.mark.anyio
async def test_index_is_a_page_number_not_an_offset() -> None:
    """250 numbers at size=100 are pages index=1, 2, 3 (never 101 or 201), each asked once; all arrive."""
    numbers = gb_numbers(250)
    result, requests = await search(pool(numbers))

    assert [f"{SEARCH}?country=GB&size=100&index={i}" for i in (1, 2, 3)] == sorted(str(r.url) for r in requests)
    assert [f"+{n['msisdn']}" for n in numbers] == sorted(o.e164 for o in result.offers)
    assert (3, 250) == (result.stats.pages, result.stats.offers)


@pytest.mark.anyio
async def test_pages_after_the_first_are_fetched_concurrently() -> None:
    """Once page 1 gives the count, the other pages are all requested before any of them is answered."""
    numbers = gb_numbers(450)
    waiting: list[int] = []
    gate = anyio.Event()
    serve = pool(numbers)

    async def handle(request: httpx.Request) -> httpx.Response:
        index = int(request.url.params["index"])
        if index > 1:
            waiting.append(index)
            if len(waiting) == 4:
                gate.set()
            with anyio.fail_after(5):
                await gate.wait()
        return serve(request)

    class Transport(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return await handle(request)

    async with VonageProvider(api_key=KEY, api_secret=SECRET, transport=Transport()) as vonage:
        result = await vonage.search(SearchQuery(country="GB"))

    assert [2, 3, 4, 5] == sorted(waiting)
    assert 450 == len(result.offers)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("query", "wire"),
    [
        (SearchQuery(country="US", number_type=NumberType.LOCAL), "country=US&type=landline"),
        (SearchQuery(country="GB", number_type=NumberType.MOBILE), "country=GB&type=mobile-lvn"),
        (SearchQuery(country="US", number_type=NumberType.TOLL_FREE), "country=US&type=landline-toll-free"),
        (SearchQuery(country="GB", capabilities=(Capability.SMS,)), "country=GB&features=SMS"),
        (SearchQuery(country="GB", capabilities=(Capability.VOICE, Capability.SMS)), "country=GB&features=SMS%2CVOICE"),
        (SearchQuery(country="GB", capabilities=(Capability.MMS, Capability.VOICE)), "country=GB&features=VOICE%2CMMS"),
        (
            SearchQuery(country="US", capabilities=(Capability.VOICE, Capability.MMS, Capability.SMS)),
            "country=US&features=SMS%2CMMS%2CVOICE",
        ),
        (SearchQuery(country="US", prefix="212"), "country=US&pattern=1212&search_pattern=0"),
        (SearchQuery(country="GB", contains="7700"), "country=GB&pattern=7700&search_pattern=1"),
        (SearchQuery(country="GB", prefix="20", contains="79"), "country=GB&pattern=4420&search_pattern=0"),
        (
            SearchQuery(country="GB", number_type=NumberType.MOBILE, capabilities=(Capability.SMS,), prefix="77"),
            "country=GB&type=mobile-lvn&features=SMS&pattern=4477&search_pattern=0",
        ),
    ],
)
async def test_filters_become_vonage_parameters(query: SearchQuery, wire: str) -> None:
    """Types, features (the spec's enum spellings), and the pattern with its strategy, in one order."""
    _, requests = await search(pool([]), query)

    assert [f"{SEARCH}?{wire}&size=100&index=1"] == [str(r.url) for r in requests]


def test_unapplied_filters_say_what_numbroker_checks_itself() -> None:
    """Fax is never reported (unsupported); contains next to a prefix is checked client-side; no setup price."""
    vonage = VonageProvider(api_key=KEY, api_secret=SECRET)

    assert {} == vonage.unapplied_filters(SearchQuery(country="GB", contains="77", capabilities=(Capability.SMS,)))
    assert {QueryFilter.CAPABILITIES: FilterSupport.UNSUPPORTED} == vonage.unapplied_filters(
        SearchQuery(country="GB", capabilities=(Capability.FAX,))
    )
    assert {QueryFilter.CONTAINS: FilterSupport.EMULATED} == vonage.unapplied_filters(
        SearchQuery(country="GB", prefix="20", contains="79")
    )
    assert {} == vonage.unapplied_filters(SearchQuery(country="GB", prefix="207", contains="07"))
    assert FilterSupport.EMULATED == VonageProvider.filter_support[QueryFilter.MAX_SETUP_PRICE]
    assert VonageProvider.states_setup_prices is False


@pytest.mark.anyio
async def test_a_type_vonage_does_not_sell_sends_nothing() -> None:
    """National and shared-cost numbers have no Vonage type: no request, no offers, a note says why."""
    result, requests = await search(pool(gb_numbers(3)), SearchQuery(country="GB", number_type=NumberType.NATIONAL))

    assert ([], []) == (requests, result.offers)
    assert ["Vonage sells no national numbers; nothing was requested"] == result.stats.notes


# -- the answer ------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("body", [{}, {"count": 0}, {"count": 0, "numbers": []}, {"numbers": None}])
async def test_empty_answers_are_empty(body: dict[str, Any]) -> None:
    """``{}`` (the SDK's ``nothing.json``) and its variants are no numbers, not an error."""
    result, requests = await search(lambda request: httpx.Response(200, json=body))

    assert ([], [], 1) == (result.offers, result.rejected, len(requests))


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body",
    [
        [],
        "numbers",
        {"count": 2, "numbers": {"msisdn": "447400123456"}},
        {"count": -1, "numbers": []},
        {"count": True, "numbers": []},
        {"count": "2", "numbers": [record()]},
    ],
)
async def test_misshapen_answers_are_response_errors(body: Any) -> None:
    """An answer that is not ``{count, numbers: [...]}`` fails the search (never an empty success)."""
    with pytest.raises(ProviderResponseError) as caught:
        await search(lambda request: httpx.Response(200, json=body))

    assert "vonage" == caught.value.provider


@pytest.mark.anyio
async def test_an_error_code_in_a_200_search_answer_is_that_error() -> None:
    """A 200 whose body says ``error-code: 401`` is an AuthenticationError, not an empty page."""
    body = {"error-code": "401", "error-code-label": "authentication failed"}
    with pytest.raises(AuthenticationError) as caught:
        await search(lambda request: httpx.Response(200, json=body))

    assert 401 == caught.value.status_code
    assert "authentication failed" in str(caught.value)


@pytest.mark.anyio
async def test_a_short_page_with_a_bigger_count_is_read_on_then_reported_truncated() -> None:
    """Vonage does not echo the page size: a short page under a bigger count is read on (page 2 is empty here),
    and the run is truncated, its notes saying count disagreed."""
    result, requests = await search(pool(gb_numbers(10), count=8353))

    assert (2, 10) == (len(requests), len(result.offers))
    assert result.stats.truncated
    assert "page 1 held 10 numbers (size=100) while count=8353 says more exist" == result.stats.notes[0].split(";")[0]
    assert any("page 2 was empty while the total 8353" in note for note in result.stats.notes)


@pytest.mark.anyio
async def test_without_a_count_pages_are_walked_until_a_short_one() -> None:
    """No ``count``: page after page until one holds fewer than size numbers."""
    numbers = gb_numbers(230)

    def respond(request: httpx.Request) -> httpx.Response:
        index = int(request.url.params["index"])
        return httpx.Response(200, json={"numbers": numbers[(index - 1) * 100 : index * 100]})

    result, requests = await search(respond)

    assert ["1", "2", "3"] == [r.url.params["index"] for r in requests]
    assert 230 == len(result.offers)


# -- records ---------------------------------------------------------------------------------------


def normalize(raw: Any, country: str = "GB") -> Any:
    return VonageProvider(api_key=KEY, api_secret=SECRET).normalize_record(raw, SearchQuery(country=country))


def test_a_record_becomes_an_offer_in_assumed_euros() -> None:
    """``msisdn`` without ``+`` is the E.164; ``cost`` is the exact monthly EUR price; no setup price."""
    offer = normalize(record(cost="0.8500"))

    assert ("+447400123456", "+447400123456", "GB") == (offer.e164, offer.offer_id, offer.country)
    assert (NumberType.MOBILE, (Capability.SMS, Capability.VOICE)) == (offer.number_type, offer.capabilities)
    assert offer.setup_price is None
    assert (Decimal("0.8500"), "EUR", "0.8500") == (
        offer.monthly_price.amount,
        offer.monthly_price.currency,
        str(offer.monthly_price.amount),
    )
    assert {"currency_assumed": True} == offer.provider_details


def test_vendor_words_numbroker_lacks_are_kept() -> None:
    """An unknown type is ``unknown`` with ``vendor_type``; unknown features go to ``other_features``."""
    offer = normalize(record(type="landline-premium", features=["VOICE", "FAX2EMAIL", "voice", "SMS"]))

    assert NumberType.UNKNOWN == offer.number_type
    assert (Capability.SMS, Capability.VOICE) == offer.capabilities
    assert {"currency_assumed": True, "vendor_type": "landline-premium", "other_features": ["FAX2EMAIL"]} == (
        offer.provider_details
    )


def test_missing_type_features_and_country() -> None:
    """No type: inferred from the plan; no features: unknown (not none); no country: the query's."""
    raw = record()
    for name in ("type", "features", "country"):
        raw.pop(name)
    offer = normalize(raw)

    assert (NumberType.MOBILE, None, "GB") == (offer.number_type, offer.capabilities, offer.country)
    assert offer.provider_details["number_type_inferred"] is True


def test_a_plus_is_tolerated() -> None:
    """Vonage writes no ``+``, but a number that has one is read the same."""
    assert "+447400123456" == normalize(record("+447400123456")).e164


@pytest.mark.parametrize(
    ("fields", "field", "value"),
    [
        ({"msisdn": "0447400123456"}, "msisdn", "'0447400123456'"),
        ({"msisdn": "44 7400 123456"}, "msisdn", "'44 7400 123456'"),
        ({"msisdn": 447400123456}, "msisdn", "447400123456"),
        ({"msisdn": "4477009"}, "msisdn", "'4477009'"),
        ({"msisdn": "14165550123"}, "msisdn", "'14165550123'"),
        ({"msisdn": "١٢٣٤٥٦٧٨"}, "msisdn", "'١٢٣٤٥٦٧٨'"),
        ({"cost": None}, "cost", None),
        ({"cost": 1.25}, "cost", "Decimal('1.25')"),
        ({"cost": "-1.00"}, "cost", "'-1.00'"),
        ({"cost": "1,00"}, "cost", "'1,00'"),
        ({"cost": "Infinity"}, "cost", "'Infinity'"),
        ({"features": "VOICE,SMS"}, "features", "'VOICE,SMS'"),
        ({"features": ["VOICE", 7]}, "features.1", "7"),
        ({"type": 3}, "type", "3"),
        ({"country": "UK"}, "country", "'UK'"),
    ],
)
def test_bad_records_are_rejected_naming_the_vendor_field(fields: dict[str, Any], field: str, value: str) -> None:
    """Each bad field is a rejection naming Vonage's field and the value as served."""
    raw = record(**fields)
    if field == "cost" and isinstance(fields["cost"], float):
        raw["cost"] = Decimal("1.25")  # what the adapter's JSON reader makes of 1.25
    rejected = normalize(raw, "US" if fields.get("msisdn") == "14165550123" else "GB")

    assert isinstance(rejected, RejectedRecord)
    assert ("vonage", field) == (rejected.provider, rejected.field)
    if value is not None:
        assert value == rejected.value
    assert rejected.reason


# -- credentials -----------------------------------------------------------------------------------


def test_credentials_come_from_the_environment_and_are_named_when_missing() -> None:
    """Both variables are read; a missing one is named (never a value)."""
    vonage = VonageProvider(env={"VONAGE_API_KEY": KEY, "VONAGE_API_SECRET": SECRET})
    assert {"Authorization": BASIC} == vonage._auth_headers()
    assert ("https://rest.nexmo.com", "VONAGE_BASE_URL") == (vonage.base_url, vonage.base_url_env)

    with pytest.raises(MissingCredentialsError) as caught:
        VonageProvider(env={"VONAGE_API_KEY": KEY})
    assert "VONAGE_API_SECRET" in str(caught.value) and KEY not in str(caught.value)

    env = {"VONAGE_API_KEY": KEY, "VONAGE_API_SECRET": SECRET, "VONAGE_BASE_URL": "https://eu.example.invalid"}
    assert "https://eu.example.invalid" == VonageProvider(env=env).base_url


def test_a_key_basic_auth_cannot_carry_is_a_configuration_error() -> None:
    """A ``:`` would split the Basic credentials elsewhere: refused, without showing the key."""
    with pytest.raises(ConfigurationError) as caught:
        VonageProvider(api_key="ab:cd1234", api_secret=SECRET)

    assert "ab:cd1234" not in str(caught.value)


@pytest.mark.anyio
async def test_no_credential_reaches_a_log_an_error_or_a_repr(caplog: pytest.LogCaptureFixture) -> None:
    """Debug logs of httpx, httpcore and numbroker, errors (the vendor echoing everything) and reprs stay clean."""
    echo = f"key={KEY} secret={SECRET} header={BASIC} token={BASIC.split()[1]}"
    answers = iter(
        [
            httpx.Response(200, json={"count": 1, "numbers": [record()]}),
            httpx.Response(401, json={"error-code": "401", "error-code-label": echo}, headers={"x-echo": echo}),
        ]
    )
    requests: list[httpx.Request] = []
    caplog.set_level(logging.DEBUG)
    async with provider(lambda request: next(answers), requests) as vonage:
        ok = await vonage.search(SearchQuery(country="GB"))
        with pytest.raises(AuthenticationError) as caught:
            await vonage.search(SearchQuery(country="GB"))
        shown = [
            repr(vonage),
            str(caught.value),
            repr(caught.value),
            caught.value.body,
            str(caught.value.headers),
            ok.offers[0].model_dump_json(),
            *(r.getMessage() for r in caplog.records),
            *(str(r.url) for r in requests),
        ]

    assert any("number/search" in r.getMessage() for r in caplog.records)  # the logs were captured
    for secret in (KEY, SECRET, BASIC.split()[1]):
        assert all(secret not in text for text in shown), secret


@pytest.mark.parametrize(
    ("msisdn", "offer_id"),
    [("447400123456", "+447400123456"), ("44 7400 123456", "+447400123456"), (447400123456, "+447400123456"),
     (None, None), ("", None), (True, None)],
)  # fmt: skip
def test_a_rejection_is_named_by_its_number_like_an_offer(msisdn: Any, offer_id: str | None) -> None:
    """Vonage has no record id: a rejected record's id is '+' and the digits it was served with (the offer id form)."""
    rejected = normalize(record(cost="bad") | {"msisdn": msisdn})

    assert isinstance(rejected, RejectedRecord)
    assert offer_id == rejected.offer_id
