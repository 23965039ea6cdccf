"""The Vobiz adapter, offline: wire shape, normalization, rejections, paging, errors and hygiene."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

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
    ProviderResponseError,
    ProviderUnavailableError,
    QueryFilter,
    RetryPolicy,
    SearchQuery,
)
from numbroker.adapters import ProviderResult, ProviderRun
from numbroker.events import RetryScheduled, SearchEvent
from numbroker.testing import Recorder
from numbroker_providers.vobiz import VobizProvider

FIXTURES = Path(__file__).parent / "fixtures"
AUTH_ID = "MA_TEST4242"
TOKEN = "vobiz-token-canary-7c1e"
PATH = f"/api/v1/account/{AUTH_ID}/inventory/numbers"
FAST = RetryPolicy(attempts=3, initial=0.01, max_delay=0.02, jitter=0.0)
US = SearchQuery(country="US")

Handler = Callable[[httpx.Request], httpx.Response]


def fixture(name: str) -> Any:
    """A fixture payload, parsed."""
    return json.loads((FIXTURES / name).read_text())


class Vendor(Recorder):
    """A mock Vobiz that records every request and answers with ``respond``."""

    def pages(self) -> list[int]:
        return sorted(int(r.url.params["page"]) for r in self.requests)


def record(i: int, **over: Any) -> dict[str, Any]:
    """A valid active US inventory item with a distinct id and number."""
    return {"id": f"id-{i}", "e164": f"+1415{2000000 + i:07d}", **fixture("active_us_item.json"), **over}


def inventory(records: list[Any], *, total: int | None = None, omit_total: bool = False, cap: int = 100) -> Handler:
    """Serve ``records`` by page/per_page (at most ``cap`` a page), echoing page, per_page and a total."""

    def respond(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        size = min(int(request.url.params["per_page"]), cap)
        body: dict[str, Any] = {"items": records[(page - 1) * size : page * size], "page": page, "per_page": size}
        if not omit_total:
            body["total"] = len(records) if total is None else total
        return httpx.Response(200, json=body)

    return respond


def payload(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    """Always answer with ``body`` (JSON) and ``status``."""
    return lambda request: httpx.Response(status, json=body, headers=headers)


async def search(
    vendor: Vendor,
    query: SearchQuery = US,
    *,
    cls: type[VobizProvider] = VobizProvider,
    run: ProviderRun | None = None,
) -> ProviderResult:
    """Run one search against ``vendor`` with a fresh provider."""
    async with httpx.AsyncClient(transport=httpx.MockTransport(vendor)) as client:
        provider = cls(auth_id=AUTH_ID, auth_token=TOKEN, http_client=client, retry=FAST)
        if run is None:
            return await provider.search(query)
        offers: list[Any] = []
        stats = await provider.stream_pages(query, lambda page: _extend(offers, page.offers), run=run)
        return ProviderResult(offers, [], stats)


async def _extend(target: list[Any], items: list[Any]) -> None:
    target.extend(items)


# -- configuration and hygiene ---------------------------------------------------------------------


def test_missing_credentials_name_arguments_and_env_vars() -> None:
    """Without credentials the error names both keyword arguments and both environment variables."""
    with pytest.raises(MissingCredentialsError) as info:
        VobizProvider(env={})

    assert {"auth_id": "VOBIZ_AUTH_ID", "auth_token": "VOBIZ_AUTH_TOKEN"} == info.value.missing


def test_credentials_and_base_url_come_from_the_environment() -> None:
    """VOBIZ_AUTH_ID, VOBIZ_AUTH_TOKEN and VOBIZ_BASE_URL are read when no argument is given."""
    env = {"VOBIZ_AUTH_ID": AUTH_ID, "VOBIZ_AUTH_TOKEN": TOKEN, "VOBIZ_BASE_URL": "https://eu.vobiz.example/api/"}

    provider = VobizProvider(env=env)

    assert "https://eu.vobiz.example/api" == provider.base_url
    assert {"X-Auth-ID": AUTH_ID, "X-Auth-Token": TOKEN} == provider._auth_headers()


def test_default_base_url_is_the_documented_one() -> None:
    """The production base URL is https://api.vobiz.ai/api."""
    assert "https://api.vobiz.ai/api" == VobizProvider(auth_id=AUTH_ID, auth_token=TOKEN).base_url


@pytest.mark.parametrize("bad", ["../admin", "MA/../x", "MA_1?x=1", "MA 1", "_MA"])
def test_auth_id_must_be_a_safe_path_segment(bad: str) -> None:
    """An auth id that could escape its URL path segment is refused, without echoing it."""
    with pytest.raises(ConfigurationError) as info:
        VobizProvider(auth_id=bad, auth_token=TOKEN)

    assert "VOBIZ_AUTH_ID" in str(info.value)
    assert bad not in str(info.value)


def test_repr_shows_no_secret() -> None:
    """The provider's repr never shows the token."""
    provider = VobizProvider(auth_id=AUTH_ID, auth_token=TOKEN)

    assert TOKEN not in repr(provider)
    assert TOKEN not in str(provider)


# -- the request -----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_request_path_params_and_auth_headers() -> None:
    """A plain search GETs the lowercase /account/ inventory path with country, page and per_page=100."""
    vendor = Vendor(payload(fixture("inventory_seed_int.json")))

    await search(vendor)

    (request,) = vendor.requests
    assert "GET" == request.method
    assert "api.vobiz.ai" == request.url.host
    assert PATH == request.url.path
    assert [("country", "US"), ("page", "1"), ("per_page", "100")] == sorted(request.url.params.multi_items())
    assert AUTH_ID == request.headers["X-Auth-ID"]
    assert TOKEN == request.headers["X-Auth-Token"]
    assert "authorization" not in request.headers


@pytest.mark.anyio
async def test_prefix_sends_calling_code_digits_and_is_rechecked_client_side() -> None:
    """A prefix sends `search=1212` (no '+'); a number merely containing 1212 elsewhere is excluded."""
    vendor = Vendor(
        payload(
            {
                "items": [record(1, e164="+12125550100"), record(2, e164="+13125551212")],
                "page": 1,
                "per_page": 100,
                "total": 2,
            }
        )
    )

    result = await search(vendor, SearchQuery(country="US", prefix="212"))

    assert ["1212"] == vendor.requests[0].url.params.get_list("search")
    assert ["+12125550100"] == [o.e164 for o in result.offers]
    assert 1 == result.stats.excluded["prefix"]


@pytest.mark.anyio
async def test_contains_is_sent_as_the_search_substring() -> None:
    """A contains filter goes on the wire as `search=<digits>` unchanged."""
    vendor = Vendor(payload({"items": [record(1, e164="+12125550100")], "page": 1, "per_page": 100, "total": 1}))

    result = await search(vendor, SearchQuery(country="US", contains="5550"))

    assert ["5550"] == vendor.requests[0].url.params.get_list("search")
    assert 1 == len(result.offers)


@pytest.mark.parametrize(
    ("prefix", "contains", "sent"),
    [
        ("212", "21", "1212"),  # the prefix term already contains `contains`: narrower and still exact
        ("212", "555", "555"),  # otherwise `contains` is sent, exact; the prefix is re-checked client-side
        (None, "44", "44"),
        ("20", None, "120"),
    ],
)
@pytest.mark.anyio
async def test_prefix_and_contains_share_the_single_search_param(
    prefix: str | None, contains: str | None, sent: str
) -> None:
    """Exactly one `search` value is sent, chosen so no matching number can be filtered out server-side."""
    vendor = Vendor(payload({"items": [], "page": 1, "per_page": 100, "total": 0}))

    await search(vendor, SearchQuery(country="US", prefix=prefix, contains=contains))

    assert [sent] == vendor.requests[0].url.params.get_list("search")


@pytest.mark.anyio
async def test_filter_support_declaration_matches_the_wire() -> None:
    """Native filters put a parameter on the wire; emulated and unsupported ones send nothing."""
    query = SearchQuery(
        country="IN",
        number_type=NumberType.MOBILE,
        capabilities=(Capability.SMS,),
        contains="98",
        max_setup_price=Money(amount=Decimal("5"), currency="INR"),
        max_monthly_price=Money(amount=Decimal("5"), currency="INR"),
    )
    vendor = Vendor(payload({"items": [], "page": 1, "per_page": 100, "total": 0}))

    await search(vendor, query)

    assert set(QueryFilter) == set(VobizProvider.filter_support)
    native = {f for f, s in VobizProvider.filter_support.items() if s is FilterSupport.NATIVE}
    assert {QueryFilter.COUNTRY, QueryFilter.CONTAINS} == native
    params = dict(vendor.requests[0].url.params)
    assert {"country": "IN", "search": "98", "page": "1", "per_page": "100"} == params
    assert {
        QueryFilter.NUMBER_TYPE: FilterSupport.EMULATED,
        QueryFilter.CAPABILITIES: FilterSupport.EMULATED,
        QueryFilter.MAX_SETUP_PRICE: FilterSupport.EMULATED,
        QueryFilter.MAX_MONTHLY_PRICE: FilterSupport.EMULATED,
    } == VobizProvider(auth_id=AUTH_ID, auth_token=TOKEN).unapplied_filters(query)


# -- normalization ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "setup", "monthly"),
    [("inventory_seed_int.json", "0", "1"), ("inventory_seed_float.json", "0.0", "1.0")],
)
@pytest.mark.anyio
async def test_seed_example_int_or_float_fees_become_exact_decimals(name: str, setup: str, monthly: str) -> None:
    """The documented item, with int or float fees, normalizes to exact Decimals in the item's INR."""
    result = await search(Vendor(payload(fixture(name))))

    (offer,) = result.offers
    assert [] == result.rejected
    assert "550e8400-e29b-41d4-a716-446655440000" == offer.offer_id
    assert "+14155551234" == offer.e164
    assert ("US", "CA") == (offer.country, offer.region)
    assert (setup, "INR") == (format(offer.setup_price.amount, "f"), offer.setup_price.currency)  # type: ignore[union-attr]
    assert (monthly, "INR") == (format(offer.monthly_price.amount, "f"), offer.monthly_price.currency)  # type: ignore[union-attr]
    assert NumberType.UNKNOWN == offer.number_type
    assert offer.capabilities is None
    assert {
        "status": "active",
        "created_at": "2025-01-15T10:00:00Z",
        "updated_at": "2025-01-15T10:00:00Z",
        "number_type_inferred": True,
    } == offer.provider_details


@pytest.mark.anyio
async def test_monthly_cost_alias_type_inference_and_provider_fields() -> None:
    """`monthly_cost` is read as the monthly fee, types come from the plan, provider/provider_ref are kept."""
    result = await search(Vendor(payload(fixture("inventory_india.json"))), SearchQuery(country="IN"))

    mobile, local = result.offers
    assert (Decimal("100"), Decimal("300"), "INR") == (
        mobile.setup_price.amount,  # type: ignore[union-attr]
        mobile.monthly_price.amount,  # type: ignore[union-attr]
        mobile.monthly_price.currency,  # type: ignore[union-attr]
    )
    assert NumberType.MOBILE == mobile.number_type
    assert "manual" == mobile.provider_details["provider"]
    assert "MY-CARRIER-123" == mobile.provider_details["provider_ref"]
    assert "2025-03-31T18:30:00.705084Z" == mobile.provider_details["created_at"]
    assert ("0.1", "199.99", "INR") == (
        format(local.setup_price.amount, "f"),  # type: ignore[union-attr]
        format(local.monthly_price.amount, "f"),  # type: ignore[union-attr]
        local.monthly_price.currency,  # type: ignore[union-attr]
    )
    assert NumberType.LOCAL == local.number_type
    assert "provider" not in local.provider_details


@pytest.mark.anyio
async def test_missing_or_null_fees_are_none_not_zero() -> None:
    """An item without fees (or with null fees) has no price rather than a zero price; '' region is None."""
    items = [
        record(1, setup_fee=None, monthly_fee=None, currency=None, region=""),
        {k: v for k, v in record(2).items() if k not in ("setup_fee", "monthly_fee", "currency")},
        {k: v for k, v in record(3).items() if k != "setup_fee"},
    ]
    result = await search(Vendor(payload({"items": items, "page": 1, "per_page": 100, "total": 3})))

    assert [(None, None), (None, None), (None, Money(amount=Decimal("1"), currency="USD"))] == [
        (o.setup_price, o.monthly_price) for o in result.offers
    ]
    assert result.offers[0].region is None
    assert [] == result.rejected


@pytest.mark.anyio
async def test_equal_monthly_fee_and_cost_are_accepted() -> None:
    """`monthly_fee: 1` with `monthly_cost: 1.0` is one price, not a conflict."""
    vendor = Vendor(payload({"items": [record(1, monthly_cost=1.0)], "page": 1, "total": 1}))

    result = await search(vendor)

    assert [Money(amount=Decimal("1"), currency="USD")] == [o.monthly_price for o in result.offers]


@pytest.mark.anyio
async def test_bad_records_are_rejected_with_field_and_reason_while_good_ones_arrive() -> None:
    """Every kind of bad item becomes a RejectedRecord naming the Vobiz field; the good items still arrive."""
    result = await search(Vendor(payload(fixture("inventory_mixed.json"))))

    assert [
        ("good-1", Decimal("2.5"), Decimal("1.15")),
        ("good-2", Decimal("0"), Decimal("0.75")),
    ] == [(o.offer_id, o.setup_price.amount, o.monthly_price.amount) for o in result.offers]  # type: ignore[union-attr]
    got = {(r.offer_id, r.field): r.reason for r in result.rejected}
    expected = {
        ("blocked-1", "status"): "'blocked', not 'active'",
        ("pending-1", "status"): "'pending_purchase', not 'active'",
        ("nostatus-1", "status"): "status is missing",
        ("strfee-1", "monthly_fee"): "expected a JSON number",
        ("negfee-1", "setup_fee"): "negative amount",
        ("boolfee-1", "monthly_fee"): "expected a JSON number",
        ("badcur-1", "currency"): "unknown ISO 4217 currency code",
        ("nocur-1", "currency"): "expected an ISO 4217 currency code",
        ("disagree-1", "monthly_cost"): "disagree",
        ("badnum-1", "e164"): "not a valid US number",
        ("wrongcountry-1", "e164"): "belongs to IN",
        ("nocountry-1", "country"): "country code",
        (None, "id"): "Field required",
        (None, None): "valid dictionary",
    }
    assert set(expected) == set(got)
    for key, fragment in expected.items():
        assert fragment in got[key], (key, got[key])
    assert {"vobiz"} == {r.provider for r in result.rejected}


@pytest.mark.anyio
async def test_nan_and_infinite_fees_are_rejected() -> None:
    """NaN or Infinity literals in a fee are rejected per record, never turned into a price."""
    body = (
        '{"items": ['
        '{"id": "nan", "e164": "+12125550100", "country": "US", "status": "active",'
        ' "monthly_fee": NaN, "currency": "USD"},'
        '{"id": "inf", "e164": "+12125550101", "country": "US", "status": "active", "setup_fee": Infinity,'
        ' "monthly_fee": 1, "currency": "USD"},'
        '{"id": "ok", "e164": "+12125550102", "country": "US", "status": "active", "monthly_fee": 1, "currency": "USD"}'
        '], "page": 1, "per_page": 100, "total": 3}'
    )
    result = await search(Vendor(lambda request: httpx.Response(200, content=body.encode())))

    assert ["ok"] == [o.offer_id for o in result.offers]
    assert [("nan", "monthly_fee"), ("inf", "setup_fee")] == [(r.offer_id, r.field) for r in result.rejected]


@pytest.mark.anyio
async def test_number_type_is_emulated_from_the_numbering_plan() -> None:
    """A type query keeps inferred matches and counts plan-ambiguous US numbers as type unknown."""
    india = await search(
        Vendor(payload(fixture("inventory_india.json"))), SearchQuery(country="IN", number_type=NumberType.MOBILE)
    )
    us = await search(
        Vendor(payload(fixture("inventory_seed_int.json"))), SearchQuery(country="US", number_type=NumberType.LOCAL)
    )

    assert ["+919876543210"] == [o.e164 for o in india.offers]
    assert 1 == india.stats.excluded["number_type"]
    assert [] == us.offers
    assert 1 == us.stats.excluded["number_type_unknown"]


@pytest.mark.anyio
async def test_capability_query_excludes_inventory_as_unknown() -> None:
    """Inventory has no capabilities, so a capability query excludes every item as capabilities_unknown."""
    result = await search(
        Vendor(payload(fixture("inventory_seed_int.json"))), SearchQuery(country="US", capabilities=(Capability.VOICE,))
    )

    assert [] == result.offers
    assert 1 == result.stats.excluded["capabilities_unknown"]


@pytest.mark.anyio
async def test_items_of_another_country_are_excluded_not_offered() -> None:
    """A vendor that ignores `country=` cannot leak another country's numbers into the offers."""
    result = await search(Vendor(payload(fixture("inventory_india.json"))), US)

    assert [] == result.offers
    assert 2 == result.stats.excluded["country"]


# -- paging ----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_numbered_pages_are_fetched_until_the_total() -> None:
    """250 items at per_page=100 take pages 1, 2 and 3, and every item arrives exactly once."""
    vendor = Vendor(inventory([record(i) for i in range(250)]))

    result = await search(vendor)

    assert [1, 2, 3] == vendor.pages()
    assert {"100"} == {r.url.params["per_page"] for r in vendor.requests}
    assert [f"id-{i}" for i in range(250)] == sorted((o.offer_id for o in result.offers), key=lambda s: int(s[3:]))


@pytest.mark.anyio
async def test_short_first_page_under_a_stale_high_total_is_truncated() -> None:
    """A first page shorter than per_page while `total` claims more: page 2 is asked once, then truncated."""
    vendor = Vendor(inventory([record(i) for i in range(40)], total=500))

    result = await search(vendor)

    assert [1, 2] == vendor.pages()
    assert 40 == len(result.offers)
    assert result.stats.truncated
    assert any("page 2 was empty while the total 500" in note for note in result.stats.notes)


@pytest.mark.anyio
async def test_stale_high_total_with_empty_pages_ends_cleanly() -> None:
    """A total of 400 over 150 real items: empty trailing pages end paging with all 150 offers."""
    vendor = Vendor(inventory([record(i) for i in range(150)], total=400))

    result = await search(vendor)

    assert [1, 2, 3, 4] == vendor.pages()
    assert 150 == len(result.offers)


@pytest.mark.anyio
async def test_low_total_is_walked_past_while_pages_are_full() -> None:
    """A total of 100 over 130 real items: the full last page makes paging continue to the short page."""
    vendor = Vendor(inventory([record(i) for i in range(130)], total=100))

    result = await search(vendor)

    assert [1, 2] == vendor.pages()
    assert 130 == len(result.offers)


@pytest.mark.anyio
async def test_missing_total_walks_until_a_short_page() -> None:
    """Without `total` pages are walked one by one until a short page."""
    vendor = Vendor(inventory([record(i) for i in range(230)], omit_total=True))

    result = await search(vendor)

    assert [1, 2, 3] == vendor.pages()
    assert 230 == len(result.offers)


@pytest.mark.anyio
async def test_empty_inventory_is_one_request() -> None:
    """An empty inventory is one request and no offers."""
    vendor = Vendor(inventory([]))

    result = await search(vendor)

    assert ([1], [], []) == (vendor.pages(), result.offers, result.rejected)


@pytest.mark.anyio
async def test_page_cap_truncates_and_says_so() -> None:
    """A huge total stops at the page cap and marks the run truncated."""

    class Capped(VobizProvider):
        max_pages: ClassVar[int] = 3

    vendor = Vendor(inventory([record(i) for i in range(300)], total=100_000))

    result = await search(vendor, cls=Capped)

    assert [1, 2, 3] == vendor.pages()
    assert result.stats.truncated
    assert 300 == len(result.offers)


@pytest.mark.anyio
async def test_item_repeated_on_a_later_page_is_offered_once() -> None:
    """Inventory shifting between page fetches can repeat an item; it is offered once and counted."""
    items = [record(i) for i in range(100)] + [record(99), *(record(i) for i in range(100, 120))]
    vendor = Vendor(inventory(items))

    result = await search(vendor)

    assert 120 == len(result.offers)
    assert 1 == result.stats.duplicates


@pytest.mark.anyio
async def test_vendor_ignoring_per_page_fails_loudly_instead_of_skipping_records() -> None:
    """A vendor paging by 25 (its default) despite per_page=100 would make page 2 skip items 26-100: error."""
    vendor = Vendor(inventory([record(i) for i in range(500)], cap=25))

    with pytest.raises(ProviderResponseError, match="per_page=100"):
        await search(vendor)

    assert 1 == len(vendor.requests)


@pytest.mark.parametrize("total", [None, 300])
@pytest.mark.anyio
async def test_vendor_ignoring_page_fails_loudly(total: int | None) -> None:
    """A vendor that answers page 2 or 3 with page 1 is an error, walked one by one or fetched concurrently."""

    def respond(request: httpx.Request) -> httpx.Response:
        items = [record(i) for i in range(100)] if request.url.params["page"] == "1" else [record(100)]
        return httpx.Response(200, json={"items": items, "page": 1, "per_page": 100, "total": total})

    with pytest.raises(ProviderResponseError, match=r"asked for page [23], got page 1"):
        await search(Vendor(respond))


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_401_is_an_authentication_error_with_the_request_id() -> None:
    """The documented error envelope on 401 gives AuthenticationError with code, message and requestId."""
    vendor = Vendor(payload(fixture("error_401.json"), status=401))

    with pytest.raises(AuthenticationError) as info:
        await search(vendor)

    assert type(info.value) is AuthenticationError
    assert (401, "req_7a8b9c0d1e2f") == (info.value.status_code, info.value.request_id)
    assert "INVALID_CREDENTIALS: Invalid auth id or token" in str(info.value)
    assert 1 == len(vendor.requests)


@pytest.mark.anyio
async def test_403_is_permission_denied_and_not_retried() -> None:
    """403 maps to PermissionDeniedError after exactly one request."""
    body = {"status": "error", "error": {"code": "FORBIDDEN", "message": "no access"}, "requestId": "req_403"}
    vendor = Vendor(payload(body, status=403))

    with pytest.raises(PermissionDeniedError) as info:
        await search(vendor)

    assert "req_403" == info.value.request_id
    assert 1 == len(vendor.requests)


@pytest.mark.anyio
async def test_422_is_a_bad_request_sent_once() -> None:
    """A 422 validation error is a non-retryable BadRequestError: exactly one request is sent."""
    body = {"status": "error", "error": {"code": "VALIDATION_ERROR", "message": "bad country", "details": {}}}
    vendor = Vendor(payload(body, status=422))

    with pytest.raises(BadRequestError, match="VALIDATION_ERROR: bad country"):
        await search(vendor)

    assert 1 == len(vendor.requests)


@pytest.mark.anyio
async def test_429_with_retry_after_is_retried_then_succeeds() -> None:
    """429 with Retry-After: 1 waits at least that long, retries once and returns the offers."""
    answers = [
        httpx.Response(429, json={"status": "error", "error": {"code": "RATE_LIMITED"}}, headers={"Retry-After": "1"}),
        httpx.Response(200, json=fixture("inventory_seed_int.json")),
    ]
    vendor = Vendor(lambda request: answers.pop(0))
    events: list[SearchEvent] = []

    result = await search(vendor, run=ProviderRun(emit=events.append))

    assert 2 == len(vendor.requests)
    assert 1 == len(result.offers)
    assert [1.0] == [e.delay for e in events if isinstance(e, RetryScheduled)]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.anyio
async def test_5xx_is_retried_then_succeeds(status: int) -> None:
    """A 5xx on a search GET is retried and the later success is used."""
    answers = [
        httpx.Response(status),
        httpx.Response(status),
        httpx.Response(200, json=fixture("inventory_seed_int.json")),
    ]
    vendor = Vendor(lambda request: answers.pop(0))

    result = await search(vendor)

    assert 3 == len(vendor.requests)
    assert 1 == len(result.offers)


@pytest.mark.anyio
async def test_persistent_5xx_surfaces_after_the_retry_budget() -> None:
    """A 5xx that never clears surfaces as ProviderUnavailableError after `attempts` requests."""
    vendor = Vendor(payload({"status": "error", "error": {"code": "INTERNAL"}, "requestId": "req_500"}, status=500))

    with pytest.raises(ProviderUnavailableError) as info:
        await search(vendor)

    assert (FAST.attempts, "req_500") == (len(vendor.requests), info.value.request_id)


@pytest.mark.anyio
async def test_secrets_never_appear_in_errors() -> None:
    """A vendor echoing the credentials in an error body has them redacted from str, repr and body."""
    body = {"status": "error", "error": {"code": "INVALID_CREDENTIALS", "message": f"bad token {TOKEN} for {AUTH_ID}"}}
    vendor = Vendor(payload(body, status=401))

    with pytest.raises(AuthenticationError) as info:
        await search(vendor)

    for text in (str(info.value), repr(info.value), info.value.body, info.value.detail):
        assert TOKEN not in text
        assert AUTH_ID not in text


@pytest.mark.parametrize(
    "content",
    [
        b'{"status": "success", "data": {"numbers": []}}',  # the legacy catalog envelope
        b'{"items": null, "page": 1, "total": 0}',
        b'{"items": {"id": "x"}, "page": 1}',
        b'{"items": [], "page": 1, "total": "many"}',
        b'{"items": [], "page": 1, "total": -1}',
        b"[]",
        b"<html>maintenance</html>",
    ],
)
@pytest.mark.anyio
async def test_malformed_envelope_is_a_response_error(content: bytes) -> None:
    """A body that is not the inventory envelope raises ProviderResponseError after one request."""
    vendor = Vendor(lambda request: httpx.Response(200, content=content))

    with pytest.raises(ProviderResponseError):
        await search(vendor)

    assert 1 == len(vendor.requests)
