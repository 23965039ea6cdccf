"""The Bird adapter: the wire it speaks, the offers it builds, the records it rejects and the errors it maps."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from numbroker import (
    AuthenticationError,
    BadRequestError,
    Capability,
    ConfigurationError,
    FilterSupport,
    MissingCredentialsError,
    Money,
    NumberType,
    PermissionDeniedError,
    ProviderError,
    ProviderResponseError,
    ProviderUnavailableError,
    QueryFilter,
    RetryPolicy,
    SearchQuery,
)
from numbroker.adapters import RateLimit
from numbroker_providers.bird import BirdProvider

FIXTURES = Path(__file__).resolve().parent / "fixtures"
KEY = "bird-canary-key-7c1e"
ORG = "d0b85ccc-b63a-4e81-b698-c359d77d250e"
PATH = f"/organizations/{ORG}/numbers-stock-items"
FAST = RetryPolicy(attempts=3, initial=0.01, max_delay=0.02, jitter=0.0)
US = SearchQuery(country="US")

Handler = Callable[[httpx.Request], httpx.Response]


def fixture(name: str) -> Any:
    """Load one hand-written vendor payload."""
    return json.loads((FIXTURES / name).read_text())


def good_record(**changes: Any) -> dict[str, Any]:
    """The first record of page 1 (a valid US local number), with top-level fields changed."""
    record: dict[str, Any] = copy.deepcopy(fixture("stock_page1.json")["results"][0])
    record.update(changes)
    return record


def page(*records: Any, token: str | None = None) -> httpx.Response:
    """A 200 response carrying one page of stock items."""
    body: dict[str, Any] = {"results": list(records)}
    if token is not None:
        body["nextPageToken"] = token
    return httpx.Response(200, json=body)


def make(handler: Handler, **options: Any) -> tuple[BirdProvider, list[httpx.Request]]:
    """A provider on a mock transport, and the list of requests it sends."""
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return handler(request)

    options.setdefault("retry", FAST)
    client = httpx.AsyncClient(transport=httpx.MockTransport(record))
    provider = BirdProvider(access_key=KEY, organization_id=ORG, http_client=client, **options)
    return provider, sent


def two_pages(request: httpx.Request) -> httpx.Response:
    """Serve page 1 without a token and page 2 for its token."""
    token = request.url.params.get("pageToken")
    name = {None: "stock_page1.json", "page-2-token": "stock_page2.json"}[token]
    return httpx.Response(200, json=fixture(name))


# -- the request --------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_first_request_path_auth_and_params() -> None:
    """The first request hits the organization's stock items with AccessKey auth, limit 99 and no page token."""
    provider, sent = make(lambda r: page())

    await provider.search(US)

    request = sent[0]
    assert ("GET", PATH) == (request.method, request.url.path)
    assert f"AccessKey {KEY}" == request.headers["Authorization"]
    assert "application/json" == request.headers["Accept"]
    assert [("limit", "99"), ("countryCodes", "US")] == list(request.url.params.multi_items())


@pytest.mark.anyio
async def test_auth_header_is_access_key_not_bearer() -> None:
    """Trap 5.2: the access key goes in an `AccessKey` authorization, never `Bearer`."""
    provider, sent = make(lambda r: page())

    await provider.search(US)

    assert not sent[0].headers["Authorization"].startswith("Bearer")


@pytest.mark.anyio
async def test_prefix_sent_in_full_international_format_with_country() -> None:
    """Trap 5.4: the prefix goes out as `+1212`, always together with `countryCodes`."""
    provider, sent = make(lambda r: page())

    await provider.search(SearchQuery(country="US", prefix="212"))

    params = sent[0].url.params
    assert ["+1212"] == params.get_list("prefix")
    assert ["US"] == params.get_list("countryCodes")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("number_type", "wire"),
    [
        (NumberType.LOCAL, ["local"]),
        (NumberType.MOBILE, ["mobile"]),
        (NumberType.TOLL_FREE, ["toll-free"]),
        (NumberType.NATIONAL, ["national"]),
        (NumberType.SHARED_COST, []),
    ],
)
async def test_number_type_mapped_to_bird_types(number_type: NumberType, wire: list[str]) -> None:
    """Trap 5.6: `toll_free` goes out as `toll-free`; a type Bird lacks (`shared_cost`) is not sent."""
    provider, sent = make(lambda r: page())

    await provider.search(SearchQuery(country="US", number_type=number_type))

    assert wire == sent[0].url.params.get_list("types")


@pytest.mark.anyio
async def test_capabilities_never_sent_as_directional_features() -> None:
    """Trap 5.6: a neutral capability is not sent as Bird's directional `features` (it would drop offers)."""
    provider, sent = make(lambda r: page())

    await provider.search(SearchQuery(country="US", capabilities=(Capability.SMS, Capability.VOICE)))

    assert [] == sent[0].url.params.get_list("features")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("flt", "options", "param"),
    [
        (QueryFilter.COUNTRY, {"country": "CA"}, "countryCodes"),
        (QueryFilter.NUMBER_TYPE, {"number_type": NumberType.LOCAL}, "types"),
        (QueryFilter.CAPABILITIES, {"capabilities": (Capability.SMS,)}, None),
        (QueryFilter.PREFIX, {"prefix": "212"}, "prefix"),
        (QueryFilter.CONTAINS, {"contains": "555"}, None),
        (QueryFilter.MAX_SETUP_PRICE, {"max_setup_price": Money(amount=Decimal(1), currency="EUR")}, None),
        (QueryFilter.MAX_MONTHLY_PRICE, {"max_monthly_price": Money(amount=Decimal(1), currency="EUR")}, None),
    ],
)
async def test_filter_support_matches_the_wire(flt: QueryFilter, options: dict[str, Any], param: str | None) -> None:
    """Every native filter puts a parameter on the wire; every other one leaves the request unchanged."""
    provider, sent = make(lambda r: page())
    await provider.search(SearchQuery(country="US"))
    await provider.search(SearchQuery(**{"country": "US", **options}))
    base, filtered = (dict(r.url.params.multi_items()) for r in sent)

    changed = {k for k in base.keys() | filtered.keys() if base.get(k) != filtered.get(k)}

    assert set(QueryFilter) == set(BirdProvider.filter_support)
    assert (param is not None) == (FilterSupport.NATIVE == BirdProvider.filter_support[flt])
    assert ({param} if param else set()) == changed


def test_unapplied_filters_refined_per_value() -> None:
    """`shared_cost` is emulated, fax/WhatsApp are unsupported and a setup-price cap is emulated (none charged)."""
    provider = BirdProvider(access_key=KEY, organization_id=ORG)
    query = SearchQuery(
        country="US",
        number_type=NumberType.SHARED_COST,
        capabilities=(Capability.WHATSAPP,),
        max_setup_price=Money(amount=Decimal(0), currency="EUR"),
    )

    assert {
        QueryFilter.NUMBER_TYPE: FilterSupport.EMULATED,
        QueryFilter.CAPABILITIES: FilterSupport.UNSUPPORTED,
        QueryFilter.MAX_SETUP_PRICE: FilterSupport.EMULATED,
    } == provider.unapplied_filters(query)
    assert {QueryFilter.CAPABILITIES: FilterSupport.EMULATED} == provider.unapplied_filters(
        SearchQuery(country="US", number_type=NumberType.TOLL_FREE, capabilities=(Capability.SMS,), prefix="800")
    )


# -- paging -------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_follows_page_token_until_missing() -> None:
    """Trap 5.5: the next page is asked for with `pageToken`; a page without `nextPageToken` ends the search."""
    provider, sent = make(two_pages)

    result = await provider.search(US)

    assert [None, "page-2-token"] == [r.url.params.get("pageToken") for r in sent]
    assert ["99", "99"] == [r.url.params["limit"] for r in sent]
    assert ["+12125550123", "+18005550199", "+12127363100"] == [o.e164 for o in result.offers]


@pytest.mark.anyio
async def test_empty_token_ends_paging() -> None:
    """An empty-string `nextPageToken` means there are no more pages."""
    provider, sent = make(lambda r: page(good_record(), token=""))

    result = await provider.search(US)

    assert 1 == len(sent)
    assert 1 == len(result.offers)


@pytest.mark.anyio
async def test_empty_first_page() -> None:
    """An empty first page gives no offers, no rejections and one request."""
    provider, sent = make(lambda r: page())

    result = await provider.search(US)

    assert (1, [], []) == (len(sent), result.offers, result.rejected)


@pytest.mark.anyio
async def test_token_sent_verbatim() -> None:
    """An opaque token with URL-special characters reaches Bird unchanged."""
    token = "a/b+c=d&e"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("pageToken") is None:
            return page(good_record(), token=token)
        return page()

    provider, sent = make(handler)
    await provider.search(US)

    assert token == sent[1].url.params["pageToken"]


@pytest.mark.anyio
async def test_repeated_token_is_an_error() -> None:
    """A page token that comes back again stops paging with a ProviderResponseError."""
    provider, sent = make(lambda r: page(good_record(), token="same"))

    with pytest.raises(ProviderResponseError, match="repeated"):
        await provider.search(US)
    assert 2 == len(sent)


# -- normalization ------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_offer_from_documented_record() -> None:
    """The documented stock item becomes one offer keyed by its stock-item id, with Bird's extras kept."""
    provider, _ = make(two_pages)

    offer = (await provider.search(US)).offers[0]

    assert "bird" == offer.provider
    assert "123e4567-e89b-12d3-a456-426614174000" == offer.offer_id
    assert ("+12125550123", "US", NumberType.LOCAL) == (offer.e164, offer.country, offer.number_type)
    assert (Capability.SMS, Capability.VOICE) == offer.capabilities
    assert Money(amount=Decimal("3.500000"), currency="EUR") == offer.monthly_price
    assert offer.setup_price is None
    assert {
        "backOrderRequired": False,
        "backOrderStockId": "bo-stock-1",
        "capability_directions": {
            "voice": {"inbound": True, "outbound": True},
            "sms": {"inbound": True, "outbound": False},
            "mms": {"inbound": False, "outbound": False},
        },
    } == offer.provider_details


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("amount", "exponent", "expected"),
    [
        (3500000, -6, "3.500000"),
        (1250, -2, "12.50"),
        ("99", -3, "0.099"),
        (7, 0, "7"),
        (1, 1, "1E+1"),
        (0, -2, "0.00"),
    ],
)
async def test_price_is_amount_times_ten_to_the_exponent(amount: Any, exponent: int, expected: str) -> None:
    """Trap 5.1: `monthlyPrice` is `amount × 10^exponent`, exact and unrounded (never divided by 10^exponent)."""
    price = {"currencyCode": "eur", "amount": amount, "exponent": exponent}
    provider, _ = make(lambda r: page(good_record(monthlyPrice=price)))

    offer = (await provider.search(US)).offers[0]

    assert offer.monthly_price is not None
    assert (expected, "EUR") == (str(offer.monthly_price.amount), offer.monthly_price.currency)
    assert offer.monthly_price == offer.first_bill


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("local", NumberType.LOCAL),
        ("mobile", NumberType.MOBILE),
        ("toll-free", NumberType.TOLL_FREE),
        ("national", NumberType.NATIONAL),
        ("Toll_Free", NumberType.TOLL_FREE),
    ],
)
async def test_type_mapping(wire: str, expected: NumberType) -> None:
    """Bird's `type` maps onto the neutral number type (`toll-free` → `toll_free`)."""
    provider, _ = make(lambda r: page(good_record(type=wire)))

    offer = (await provider.search(US)).offers[0]

    assert expected == offer.number_type
    assert "vendor_type" not in offer.provider_details


@pytest.mark.anyio
async def test_unknown_type_kept_as_unknown_with_raw_value() -> None:
    """An unknown `type` keeps the offer as `unknown` with the raw value in provider_details."""
    provider, _ = make(lambda r: page(good_record(type="premium-rate")))

    result = await provider.search(US)

    assert [] == result.rejected
    assert NumberType.UNKNOWN == result.offers[0].number_type
    assert "premium-rate" == result.offers[0].provider_details["vendor_type"]


@pytest.mark.anyio
async def test_missing_type_inferred_from_numbering_plan() -> None:
    """A record without `type` gets its type from the numbering plan, flagged as inferred."""
    record = good_record(numberString="+18005550199")
    del record["type"]
    provider, _ = make(lambda r: page(record))

    offer = (await provider.search(US)).offers[0]

    assert NumberType.TOLL_FREE == offer.number_type
    assert True is offer.provider_details["number_type_inferred"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("capabilities", "expected"),
    [
        ({"sms": {"inbound": True, "outbound": False}}, (Capability.SMS,)),
        ({"sms": {"inbound": False, "outbound": True}}, (Capability.SMS,)),
        ({"voice": {"inbound": False, "outbound": False}, "mms": {"outbound": True}}, (Capability.MMS,)),
        ({}, ()),
        (None, None),
    ],
)
async def test_capabilities_present_in_either_direction(capabilities: Any, expected: Any) -> None:
    """A capability is present if either direction is true; a missing `capabilities` object is unknown (None)."""
    provider, _ = make(lambda r: page(good_record(capabilities=capabilities)))

    offer = (await provider.search(US)).offers[0]

    assert expected == offer.capabilities


@pytest.mark.anyio
async def test_missing_capabilities_object_is_unknown_not_empty() -> None:
    """A record without `capabilities` has capabilities None and no direction flags."""
    record = good_record()
    del record["capabilities"]
    provider, _ = make(lambda r: page(record))

    offer = (await provider.search(US)).offers[0]

    assert offer.capabilities is None
    assert "capability_directions" not in offer.provider_details


@pytest.mark.anyio
async def test_capability_filter_emulated_on_either_direction() -> None:
    """A neutral `sms` filter keeps inbound-only and outbound-only numbers and counts unknown ones."""
    unknown = good_record(id="unknown-caps", numberString="+12015550123")
    del unknown["capabilities"]

    def handler(request: httpx.Request) -> httpx.Response:
        return page(*fixture("stock_page1.json")["results"], unknown)

    provider, _ = make(handler)

    result = await provider.search(SearchQuery(country="US", capabilities=(Capability.SMS,)))
    mms = await provider.search(SearchQuery(country="US", capabilities=(Capability.MMS,)))

    assert ["+12125550123", "+18005550199"] == [o.e164 for o in result.offers]
    assert 1 == result.stats.excluded["capabilities_unknown"]
    assert [] == mms.offers


@pytest.mark.anyio
async def test_shared_cost_query_filtered_client_side() -> None:
    """A `shared_cost` search sends no `types` and lets no Bird number through."""
    provider, sent = make(two_pages)

    result = await provider.search(SearchQuery(country="US", number_type=NumberType.SHARED_COST))

    assert [] == result.offers
    assert 3 == result.stats.excluded["number_type"]
    assert [[], []] == [r.url.params.get_list("types") for r in sent]


@pytest.mark.anyio
async def test_back_order_fields_kept() -> None:
    """`backOrderRequired` is kept in provider_details so a buyer sees the number is not in stock."""
    provider, _ = make(two_pages)

    offers = (await provider.search(US)).offers

    assert [False, True, None] == [o.provider_details["backOrderRequired"] for o in offers]


# -- bad records --------------------------------------------------------------------------------------


def _without(field: str) -> dict[str, Any]:
    record = good_record()
    del record[field]
    return record


def _price(**changes: Any) -> dict[str, Any]:
    price = {"currencyCode": "EUR", "amount": 3500000, "exponent": -6, **changes}
    return good_record(monthlyPrice={k: v for k, v in price.items() if v is not ...})


BAD_RECORDS = [
    ("wrong-country-number", good_record(numberString="+442071838750"), "numberString", "belongs to GB"),
    ("garbage-number", good_record(numberString="call us"), "numberString", "not a phone number"),
    ("no-number", _without("numberString"), "numberString", "expected a phone number string"),
    ("bad-country", good_record(countryCode="ZZ"), "countryCode", "unknown ISO 3166-1"),
    ("no-price", _without("monthlyPrice"), "monthlyPrice", "no monthly price"),
    ("null-price", good_record(monthlyPrice=None), "monthlyPrice", "no monthly price"),
    ("price-not-object", good_record(monthlyPrice="3.50"), "monthlyPrice", "expected an object"),
    ("float-amount", _price(amount=3.5), "monthlyPrice.amount", "expected an integer amount"),
    ("negative-amount", _price(amount=-350), "monthlyPrice.amount", "negative amount"),
    ("bool-amount", _price(amount=True), "monthlyPrice.amount", "expected an integer amount"),
    ("no-amount", _price(amount=...), "monthlyPrice.amount", "expected an integer amount"),
    ("string-exponent", _price(exponent="-6"), "monthlyPrice.exponent", "expected an integer exponent"),
    ("huge-exponent", _price(exponent=400), "monthlyPrice.exponent", "out of range"),
    ("no-exponent", _price(exponent=...), "monthlyPrice.exponent", "expected an integer exponent"),
    ("bad-currency", _price(currencyCode="EURO"), "monthlyPrice.currencyCode", "unknown ISO 4217"),
    ("no-currency", _price(currencyCode=...), "monthlyPrice.currencyCode", "expected an ISO 4217"),
    ("type-not-string", good_record(type=7), "type", "expected a non-empty string"),
    ("caps-not-object", good_record(capabilities=["sms"]), "capabilities", "expected an object"),
    (
        "flag-not-bool",
        good_record(capabilities={"sms": {"inbound": "yes"}}),
        "capabilities.sms.inbound",
        "expected true or false",
    ),
    ("back-order-not-bool", good_record(backOrderRequired="no"), "backOrderRequired", "expected true or false"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("bad", "field", "reason"), [b[1:] for b in BAD_RECORDS], ids=[b[0] for b in BAD_RECORDS])
async def test_bad_record_rejected_good_ones_kept(bad: dict[str, Any], field: str, reason: str) -> None:
    """A bad record becomes a RejectedRecord naming Bird's field and the reason; its page-mates still arrive."""
    good = good_record(id="good-1", numberString="+12015550123")
    provider, _ = make(lambda r: page(good, bad, good_record(id="good-2", numberString="+13125551234")))

    result = await provider.search(US)

    assert ["good-1", "good-2"] == [o.offer_id for o in result.offers]
    assert 1 == len(result.rejected)
    rejected = result.rejected[0]
    assert ("bird", bad["id"], field) == (rejected.provider, rejected.offer_id, rejected.field)
    assert reason in rejected.reason


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("record", "field", "offer_id"),
    [("garbage", None, None), (_without("id"), "id", None), (good_record(id=42), "id", "42")],
)
async def test_record_without_usable_id_rejected(record: Any, field: str | None, offer_id: str | None) -> None:
    """A record that is not an object, or lacks a string id, is rejected rather than dropped."""
    provider, _ = make(lambda r: page(record, good_record()))

    result = await provider.search(US)

    assert 1 == len(result.offers)
    assert [("bird", field, offer_id)] == [(r.provider, r.field, r.offer_id) for r in result.rejected]


# -- envelope and errors ------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body",
    [
        b'{"items": []}',
        b'{"results": null}',
        b'{"results": {"id": "x"}}',
        b'[{"id": "x"}]',
        b'{"results": [], "nextPageToken": 5}',
        b"<html>gateway</html>",
    ],
    ids=["no-results", "null-results", "results-object", "bare-list", "numeric-token", "not-json"],
)
async def test_malformed_envelope(body: bytes) -> None:
    """A page that is not `{"results": [...], "nextPageToken": str?}` raises ProviderResponseError."""
    provider, sent = make(lambda r: httpx.Response(200, content=body))

    with pytest.raises(ProviderResponseError):
        await provider.search(US)
    assert 1 == len(sent)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "error"),
    [(400, BadRequestError), (401, AuthenticationError), (403, PermissionDeniedError), (422, BadRequestError)],
)
async def test_client_errors_not_retried(status: int, error: type[ProviderError]) -> None:
    """401, 403, 400 and 422 map to their errors after exactly one request."""
    provider, sent = make(lambda r: httpx.Response(status, json={"message": "no"}))

    with pytest.raises(error) as caught:
        await provider.search(US)

    assert error is type(caught.value)
    assert 1 == len(sent)


@pytest.mark.anyio
async def test_rate_limited_then_succeeds() -> None:
    """A 429 with Retry-After is retried and the search then succeeds."""
    responses = [httpx.Response(429, headers={"Retry-After": "0"}, json={"message": "slow down"})]
    provider, sent = make(lambda r: responses.pop(0) if responses else page(good_record()))

    result = await provider.search(US)

    assert 2 == len(sent)
    assert 1 == len(result.offers)
    assert 1 == result.stats.retries


@pytest.mark.anyio
async def test_server_error_retried_then_succeeds() -> None:
    """5xx responses are retried (Bird: safe to retry) until a page arrives."""
    responses = [httpx.Response(500), httpx.Response(503)]
    provider, sent = make(lambda r: responses.pop(0) if responses else page(good_record()))

    result = await provider.search(US)

    assert 3 == len(sent)
    assert 1 == len(result.offers)


@pytest.mark.anyio
async def test_server_error_gives_up_after_attempts() -> None:
    """A persistent 502 raises ProviderUnavailableError after the policy's attempts."""
    provider, sent = make(lambda r: httpx.Response(502))

    with pytest.raises(ProviderUnavailableError):
        await provider.search(US)
    assert FAST.attempts == len(sent)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("shape", "message", "request_id"),
    [
        ("flat", "InvalidParameter: prefix requires countryCodes", "req-flat-7"),
        # The core reads only a top-level request id, not `error.request_id` (see the adapter report).
        ("nested", "parameter_invalid: countryCodes is not a valid ISO 3166-1 code", None),
    ],
)
async def test_error_bodies_give_useful_messages(shape: str, message: str, request_id: str | None) -> None:
    """Both a flat `{code, message}` and a nested `{error: {...}}` body put the vendor's message in the error."""
    body = fixture("errors.json")[shape]
    provider, _ = make(lambda r: httpx.Response(422, json=body))

    with pytest.raises(BadRequestError) as caught:
        await provider.search(SearchQuery(country="US", prefix="212"))

    assert f"bird: HTTP 422 Unprocessable Entity: {message}" == str(caught.value)
    if request_id is not None:
        assert request_id == caught.value.request_id


@pytest.mark.anyio
async def test_echoed_secret_redacted_from_errors() -> None:
    """An access key echoed in an error body never reaches the error's message, body or repr."""
    provider, _ = make(lambda r: httpx.Response(401, json={"message": f"AccessKey {KEY} is revoked"}))

    with pytest.raises(AuthenticationError) as caught:
        await provider.search(US)

    for text in (str(caught.value), repr(caught.value), caught.value.body, repr(provider)):
        assert KEY not in text
    assert "AccessKey *** is revoked" in str(caught.value)


# -- configuration -------------------------------------------------------------------------------------


def test_credentials_from_environment() -> None:
    """Credentials and the workspace come from BIRD_* variables when not passed."""
    env = {"BIRD_ACCESS_KEY": KEY, "BIRD_ORGANIZATION_ID": ORG, "BIRD_WORKSPACE_ID": "ws-000001"}

    provider = BirdProvider(env=env)

    assert ("AccessKey " + KEY, "ws-000001") == (provider._auth_headers()["Authorization"], provider._workspace_id)
    assert KEY not in repr(provider)


def test_missing_credentials_named() -> None:
    """Missing credentials raise naming each keyword argument and environment variable, no values."""
    with pytest.raises(MissingCredentialsError) as caught:
        BirdProvider(env={})

    assert {"access_key": "BIRD_ACCESS_KEY", "organization_id": "BIRD_ORGANIZATION_ID"} == caught.value.missing


@pytest.mark.parametrize(
    "options",
    [{"organization_id": "../workspaces/x"}, {"organization_id": ORG, "workspace_id": "ws/../../admin"}],
)
def test_path_ids_validated(options: dict[str, str]) -> None:
    """Organization and workspace ids that could escape their URL path segment are refused."""
    with pytest.raises(ConfigurationError, match="URL path"):
        BirdProvider(access_key=KEY, **options)


def test_declared_limits() -> None:
    """Bird pages hold at most 99 items and allow 50 GETs per second."""
    assert (99, RateLimit(50, 1.0), "token") == (BirdProvider.per_page, BirdProvider.rate_limit, BirdProvider.paging)
