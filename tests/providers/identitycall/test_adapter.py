"""IdentityCall adapter: wire format, pass-through entry shapes, number-type fan-out, errors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from numbroker import (
    AuthenticationError,
    AvailableNumber,
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
    RateLimitedError,
    RejectedRecord,
    RetryPolicy,
    SearchQuery,
)
from numbroker._registry import get_provider_class
from numbroker.adapters import RateLimit
from numbroker.adapters._stats import ProviderResult, ProviderRun
from numbroker.events import RetryScheduled, SearchEvent
from numbroker.testing import InFlight
from numbroker_providers.identitycall import IdentityCallProvider

FIXTURES = Path(__file__).parent / "fixtures"
API_KEY = "idc_" + "Zq7" * 10 + "xy"  # fake, 32 alphanumerics after the prefix
PATH = "/api/v1/public/virtual_numbers/available"
ALL_TYPES = ["mobile", "local", "toll-free", "national"]
FAST = RetryPolicy(initial=0.01, jitter=0.0)

Spec = tuple[int, Any, dict[str, str]]
EMPTY: Spec = (200, {"data": []}, {})


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def ok(body: Any) -> Spec:
    return (200, body, {})


def entry(number: str, **fields: Any) -> dict[str, Any]:
    return {"phone_number": number, "upfront_cost": "1.00", "monthly_cost": "2.00", **fields}


class Vendor:
    """A fake IdentityCall: answers per requested number_type (a spec, or a list of specs served in turn)."""

    def __init__(self, by_type: dict[str, Spec | list[Spec]] | None = None, default: Spec = EMPTY) -> None:
        self.by_type = by_type or {}
        self.default = default
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path != PATH:
            return httpx.Response(404, json={"error": "Resource not found"})
        spec = self.by_type.get(request.url.params.get("number_type", ""), self.default)
        if isinstance(spec, list):
            spec = spec.pop(0)
        status, body, headers = spec
        if isinstance(body, bytes):
            return httpx.Response(status, content=body, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    @property
    def types(self) -> list[str | None]:
        return [r.url.params.get("number_type") for r in self.requests]


@asynccontextmanager
async def provider(vendor: Vendor, **options: Any) -> AsyncIterator[IdentityCallProvider]:
    options.setdefault("api_key", API_KEY)
    options.setdefault("retry", FAST)
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(vendor)) as client,
        IdentityCallProvider(http_client=client, **options) as adapter,
    ):
        yield adapter


async def search(vendor: Vendor, query: SearchQuery, **options: Any) -> ProviderResult:
    async with provider(vendor, **options) as adapter:
        return await adapter.search(query)


def us(number_type: NumberType | None = NumberType.LOCAL, **kw: Any) -> SearchQuery:
    return SearchQuery(country="US", number_type=number_type, **kw)


def by_number(offers: list[AvailableNumber]) -> dict[str, AvailableNumber]:
    return {o.e164: o for o in offers}


# -- the request ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_request_carries_bearer_key_country_and_type() -> None:
    """One GET to the documented path with the Bearer key, the country and the asked type."""
    vendor = Vendor({"local": ok(fixture("flat_us_local"))})
    await search(vendor, us())
    assert 1 == len(vendor.requests)
    request = vendor.requests[0]
    assert "GET" == request.method
    assert "https://api.identitycall.ai" + PATH == str(request.url.copy_with(query=None))
    assert [("country", "US"), ("number_type", "local")] == list(request.url.params.multi_items())
    assert f"Bearer {API_KEY}" == request.headers["authorization"]


@pytest.mark.anyio
async def test_toll_free_is_sent_with_a_hyphen() -> None:
    """NumberType.TOLL_FREE goes on the wire as IdentityCall's ``toll-free``."""
    vendor = Vendor()
    await search(vendor, us(NumberType.TOLL_FREE))
    assert ["toll-free"] == vendor.types


@pytest.mark.anyio
async def test_no_type_fans_out_to_every_vendor_type() -> None:
    """without a type, every vendor type is asked explicitly (never the ``mobile`` default)."""
    vendor = Vendor(
        {
            "mobile": ok({"data": [entry("+13105550101")]}),
            "local": ok({"data": [entry("+12125550147")]}),
            "toll-free": ok({"data": [entry("+18885550111")]}),
            "national": ok({"data": []}),
        }
    )
    result = await search(vendor, us(None))
    assert sorted(ALL_TYPES) == sorted(t for t in vendor.types if t is not None)
    assert 4 == len(vendor.requests)
    # Merged in vendor-type order; entries without number_type get the type they were requested with.
    assert [
        ("+13105550101", NumberType.MOBILE),
        ("+12125550147", NumberType.LOCAL),
        ("+18885550111", NumberType.TOLL_FREE),
    ] == [(o.e164, o.number_type) for o in result.offers]
    assert 1 == result.stats.pages


@pytest.mark.anyio
async def test_fan_out_dedupes_a_number_listed_under_two_types() -> None:
    """A number returned for two types becomes one offer and is counted as a duplicate."""
    same = entry("+12125550147", number_type="local")
    vendor = Vendor({"mobile": ok({"data": [same]}), "local": ok({"data": [same]})})
    result = await search(vendor, us(None))
    assert ["+12125550147"] == [o.e164 for o in result.offers]
    assert 1 == result.stats.duplicates


@pytest.mark.anyio
@pytest.mark.parametrize(("page_concurrency", "most_at_once"), [(8, 4), (2, 2), (1, 1)])
async def test_fan_out_keeps_at_most_page_concurrency_requests_in_flight(
    page_concurrency: int, most_at_once: int
) -> None:
    """The four per-type requests go at once by default; ``page_concurrency`` bounds them like numbered pages."""
    vendor = Vendor()
    probe = InFlight(vendor)
    cls = type("Narrow", (IdentityCallProvider,), {"page_concurrency": page_concurrency})
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(probe)) as client,
        cls(http_client=client, api_key=API_KEY, retry=FAST) as adapter,
    ):
        await adapter.search(us(None))

    assert sorted(ALL_TYPES) == sorted(t or "" for t in vendor.types)
    assert most_at_once == probe.peak


@pytest.mark.anyio
async def test_shared_cost_is_not_searchable_and_sends_nothing() -> None:
    """IdentityCall has no shared-cost type: no request, no offers, and a note says why."""
    vendor = Vendor()
    result = await search(vendor, SearchQuery(country="GB", number_type=NumberType.SHARED_COST))
    assert [] == vendor.requests
    assert [] == result.offers
    assert any("shared_cost" in note for note in result.stats.notes)


def test_filter_support_declaration() -> None:
    """Country and type are native; the rest is applied client-side by numbroker."""
    assert {
        QueryFilter.COUNTRY: FilterSupport.NATIVE,
        QueryFilter.NUMBER_TYPE: FilterSupport.NATIVE,
        QueryFilter.CAPABILITIES: FilterSupport.EMULATED,
        QueryFilter.PREFIX: FilterSupport.EMULATED,
        QueryFilter.CONTAINS: FilterSupport.EMULATED,
        QueryFilter.MAX_SETUP_PRICE: FilterSupport.EMULATED,
        QueryFilter.MAX_MONTHLY_PRICE: FilterSupport.EMULATED,
    } == dict(IdentityCallProvider.filter_support)


@pytest.mark.anyio
async def test_filter_support_matches_the_wire() -> None:
    """Native filters are query params; emulated ones add no param and are applied to the entries."""
    data = {
        "data": [
            entry("+12125550147", number_type="local", features=["voice", "sms"]),
            entry("+13105550188", number_type="local", features=["voice", "sms"]),
            entry("+12125550148", number_type="local", features=["voice"]),
        ]
    }
    vendor = Vendor({"local": ok(data)})
    query = us(prefix="212", contains="0147", capabilities=(Capability.SMS,))
    result = await search(vendor, query)
    native = {f for f, s in IdentityCallProvider.filter_support.items() if s is FilterSupport.NATIVE}
    assert {QueryFilter.COUNTRY, QueryFilter.NUMBER_TYPE} == native
    assert {"country": "US", "number_type": "local"} == dict(vendor.requests[0].url.params)
    assert ["+12125550147"] == [o.e164 for o in result.offers]
    assert {"prefix": 1, "capabilities": 1} == dict(result.stats.excluded)


# -- normalization ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_flat_shape_prices_are_exact_decimals_in_the_assumed_currency() -> None:
    """flat decimal-string costs keep every digit; no currency means the default, flagged."""
    result = await search(Vendor({"local": ok(fixture("flat_us_local"))}), us())
    offers = by_number(result.offers)
    assert ["+12125550147", "+13105550188"] == [o.e164 for o in result.offers]
    first = offers["+12125550147"]
    assert "+12125550147" == first.offer_id
    assert "identitycall" == first.provider
    assert "US" == first.country
    assert "NY" == first.region
    assert NumberType.LOCAL == first.number_type
    assert (Capability.MMS, Capability.SMS, Capability.VOICE) == first.capabilities
    assert Money(amount=Decimal("1.00"), currency="USD") == first.setup_price
    assert first.monthly_price is not None
    assert ("0.0050", "USD") == (str(first.monthly_price.amount), first.monthly_price.currency)
    assert {"currency_assumed": True} == first.provider_details
    assert Money(amount=Decimal("0"), currency="USD") == offers["+13105550188"].setup_price
    assert [] == result.rejected


@pytest.mark.anyio
async def test_telnyx_nested_shape() -> None:
    """cost_information, {name} features, rate_center region and vendor currency are read."""
    vendor = Vendor({"local": ok(fixture("telnyx_nested_de"))})
    result = await search(vendor, SearchQuery(country="DE", number_type=NumberType.LOCAL))
    assert [] == result.rejected
    [offer] = result.offers
    assert "+493012345678" == offer.offer_id
    assert "DE" == offer.country  # no country_code: the request's country
    assert NumberType.LOCAL == offer.number_type  # no number_type: the requested type
    assert "Berlin" == offer.region  # the country_code region item is skipped
    assert (Capability.SMS, Capability.VOICE) == offer.capabilities
    assert Money(amount=Decimal("3.21"), currency="EUR") == offer.setup_price
    assert Money(amount=Decimal("6.54"), currency="EUR") == offer.monthly_price
    assert {
        "best_effort": False,
        "quickship": True,
        "reservable": True,
        "other_features": ["emergency", "hd_voice"],
    } == offer.provider_details


@pytest.mark.anyio
async def test_top_level_currency_is_used() -> None:
    """A top-level ``currency`` wins over the configured default and nothing is flagged assumed."""
    vendor = Vendor({"local": ok({"data": [entry("+12125550147", currency="cad")]})})
    [offer] = (await search(vendor, us(), currency="EUR")).offers
    assert Money(amount=Decimal("2.00"), currency="CAD") == offer.monthly_price
    assert {} == offer.provider_details


@pytest.mark.anyio
async def test_configured_currency_from_argument_and_env() -> None:
    """The ``currency`` setting (argument, then IDENTITYCALL_CURRENCY) prices entries that state none."""
    vendor = Vendor({"local": ok({"data": [entry("+12125550147")]})})
    [by_arg] = (await search(vendor, us(), currency="eur")).offers
    [by_env] = (await search(vendor, us(), env={"IDENTITYCALL_CURRENCY": "GBP"})).offers
    assert "EUR" == (by_arg.monthly_price and by_arg.monthly_price.currency)
    assert "GBP" == (by_env.monthly_price and by_env.monthly_price.currency)
    assert True is by_env.provider_details["currency_assumed"]


def test_bad_configured_currency_is_a_configuration_error() -> None:
    """A non-ISO-4217 currency setting fails at construction."""
    with pytest.raises(ConfigurationError, match="IDENTITYCALL_CURRENCY"):
        IdentityCallProvider(api_key=API_KEY, currency="dollars")


@pytest.mark.anyio
async def test_missing_features_means_unknown_capabilities() -> None:
    """No ``features`` → capabilities None (not empty), so a capability query counts it as unknown."""
    data = {"data": [entry("+12125550147"), entry("+13105550188", features=[])]}
    plain = await search(Vendor({"local": ok(data)}), us())
    assert [None, ()] == [o.capabilities for o in plain.offers]
    filtered = await search(Vendor({"local": ok(data)}), us(capabilities=(Capability.VOICE,)))
    assert [] == filtered.offers
    assert {"capabilities_unknown": 1, "capabilities": 1} == dict(filtered.stats.excluded)


@pytest.mark.anyio
async def test_vendor_type_vocabulary() -> None:
    """``toll-free`` and Telnyx's ``toll_free`` both map; an unknown name is kept and inferred."""
    data = {
        "data": [
            entry("+18885550111", number_type="toll-free"),
            entry("+18005550199", number_type="TOLL_FREE"),
            entry("+12125550147", number_type="premium"),
        ]
    }
    result = await search(Vendor({"mobile": ok(data)}), us(None))
    offers = by_number(result.offers)
    assert NumberType.TOLL_FREE == offers["+18885550111"].number_type
    assert NumberType.TOLL_FREE == offers["+18005550199"].number_type
    assert NumberType.LOCAL == offers["+12125550147"].number_type  # US geographic: fixed or mobile, local
    assert {
        "vendor_number_type": "premium",
        "number_type_inferred": True,
        "number_type_fixed_or_mobile": True,
        "currency_assumed": True,
    } == offers["+12125550147"].provider_details


@pytest.mark.anyio
async def test_entry_of_another_type_is_excluded_not_relabelled() -> None:
    """An entry whose own number_type differs from the asked type keeps its type and is excluded."""
    vendor = Vendor({"local": ok({"data": [entry("+13105550101", number_type="mobile")]})})
    result = await search(vendor, us())
    assert [] == result.offers
    assert {"number_type": 1} == dict(result.stats.excluded)


@pytest.mark.anyio
async def test_number_without_plus_is_normalized_to_e164() -> None:
    """a number without ``+`` is read in its country and the offer id is canonical E.164."""
    vendor = Vendor({"local": ok({"data": [entry("1 (212) 555-0147")]})})
    [offer] = (await search(vendor, us())).offers
    assert ("+12125550147", "+12125550147") == (offer.e164, offer.offer_id)


@pytest.mark.anyio
async def test_seed_placeholder_numbers_are_rejected_not_invented() -> None:
    """The seed's +1555… example numbers are invalid, so they are rejected with the vendor field named."""
    result = await search(Vendor({"local": ok(fixture("seed_example"))}), us())
    assert [] == result.offers
    assert [("+15551234567", "phone_number"), ("+15551234568", "phone_number")] == [
        (r.offer_id, r.field) for r in result.rejected
    ]


@pytest.mark.anyio
async def test_each_bad_record_is_rejected_and_the_good_one_arrives() -> None:
    """Every kind of bad entry becomes a RejectedRecord naming the vendor field; the good entry survives."""
    result = await search(Vendor({"local": ok(fixture("bad_records"))}), us())
    assert ["+12125550147"] == [o.e164 for o in result.offers]
    assert {"identitycall"} == {r.provider for r in result.rejected}
    got = [(r.offer_id, r.field) for r in result.rejected]
    assert [
        (None, "phone_number"),  # missing
        ("+15551234567", "phone_number"),  # not a valid number
        ("+13105550101", "monthly_cost"),  # not a decimal string
        ("+13105550102", "upfront_cost"),  # a JSON number, not a decimal string
        ("+13105550103", "upfront_cost"),  # negative
        ("+13105550104", "currency"),  # not ISO 4217
        ("+13105550105", "monthly_cost"),  # flat and nested disagree
        ("+13105550106", "features.1"),  # not a feature name
        ("+13105550107", "country_code"),  # unknown country
        ("+13105550108", "features"),  # not a list
        ("+13105550109", "currency"),  # top-level and nested currencies disagree
        (None, None),  # not an object
        ("+13105550111", "number_type"),  # not a name
        ("+13105550112", "monthly_cost"),  # NaN
    ] == got
    reasons = {r.offer_id: r.reason for r in result.rejected}
    assert "decimal string" in reasons["+13105550102"]
    assert "negative" in reasons["+13105550103"]
    assert "disagrees" in reasons["+13105550105"]
    assert all(isinstance(r, RejectedRecord) and r.reason for r in result.rejected)


# -- errors -----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_422_on_one_type_of_a_fan_out_keeps_the_other_types() -> None:
    """a carrier refusal for toll-free does not hide mobile/local offers; a note says so."""
    refused: Spec = (422, {"error": "No toll-free numbers available in DE"}, {})
    vendor = Vendor(
        {
            "toll-free": refused,
            "mobile": ok({"data": [entry("+4917612345678")]}),
            "local": ok({"data": [entry("+493012345678")]}),
        }
    )
    result = await search(vendor, SearchQuery(country="DE"))
    assert ["+4917612345678", "+493012345678"] == [o.e164 for o in result.offers]
    assert 4 == len(vendor.requests)  # a 422 is not retried
    assert any("toll-free" in n and "No toll-free numbers available in DE" in n for n in result.stats.notes)


@pytest.mark.anyio
async def test_422_for_the_asked_type_is_a_bad_request_sent_once() -> None:
    """a 422 for the one asked type is a non-retryable BadRequestError with the vendor's text."""
    vendor = Vendor({"toll-free": (422, {"error": "No toll-free numbers available in DE"}, {})})
    with pytest.raises(BadRequestError, match="No toll-free numbers available in DE") as info:
        await search(vendor, SearchQuery(country="DE", number_type=NumberType.TOLL_FREE))
    assert 1 == len(vendor.requests)
    assert 422 == info.value.status_code


@pytest.mark.anyio
async def test_422_errors_array_when_every_type_is_refused() -> None:
    """When every type is refused (e.g. unsupported country) the search fails with the vendor's errors list."""
    vendor = Vendor(default=(422, {"errors": ["Country is invalid", "Provider rejected search"]}, {}))
    with pytest.raises(BadRequestError, match="Country is invalid; Provider rejected search"):
        await search(vendor, SearchQuery(country="KP"))
    assert 4 == len(vendor.requests)


@pytest.mark.anyio
async def test_other_failure_in_a_fan_out_fails_the_search() -> None:
    """Only a 422 is tolerated in a fan-out: a 401 on one type fails the whole search."""
    vendor = Vendor({"local": (401, {"error": "Invalid or expired API key"}, {})})
    with pytest.raises(AuthenticationError):
        await search(vendor, us(None))


@pytest.mark.anyio
async def test_401_is_an_authentication_error_without_the_secret() -> None:
    """A 401 maps to AuthenticationError, is not retried, and never shows the key."""
    vendor = Vendor(default=(401, {"error": f"Invalid or expired API key {API_KEY}"}, {}))
    async with provider(vendor) as adapter:
        with pytest.raises(AuthenticationError) as info:
            await adapter.search(us())
        assert API_KEY not in repr(adapter)
    exc = info.value
    assert 1 == len(vendor.requests)
    assert not isinstance(exc, PermissionDeniedError)
    for text in (str(exc), repr(exc), exc.body, str(exc.args)):
        assert API_KEY not in text
    assert "Invalid or expired API key ***" in str(exc)


@pytest.mark.anyio
async def test_403_is_permission_denied() -> None:
    """A 403 (key without read permission) maps to PermissionDeniedError."""
    vendor = Vendor(default=(403, {"error": "Read permission required"}, {}))
    with pytest.raises(PermissionDeniedError, match="Read permission required"):
        await search(vendor, us())
    assert 1 == len(vendor.requests)


@pytest.mark.anyio
async def test_429_honours_retry_after_then_succeeds() -> None:
    """a 429 is retried after its Retry-After, then the offers arrive."""
    limited: Spec = (429, {"error": "Rate limit exceeded"}, {"Retry-After": "1"})
    vendor = Vendor({"local": [limited, ok({"data": [entry("+12125550147")]})]})
    events: list[SearchEvent] = []
    offers: list[AvailableNumber] = []

    async def sink(page: Any) -> None:
        offers.extend(page.offers)

    async with provider(vendor) as adapter:
        stats = await adapter.stream_pages(us(), sink, run=ProviderRun(emit=events.append))
    assert ["+12125550147"] == [o.e164 for o in offers]
    assert 2 == len(vendor.requests)
    assert 1 == stats.retries
    [retry] = [e for e in events if isinstance(e, RetryScheduled)]
    assert 1.0 <= retry.delay


@pytest.mark.anyio
async def test_429_without_retries_exposes_retry_after() -> None:
    """With retries off, a 429 surfaces as RateLimitedError carrying the parsed Retry-After."""
    vendor = Vendor(default=(429, {"error": "Rate limit exceeded"}, {"Retry-After": "7"}))
    with pytest.raises(RateLimitedError) as info:
        await search(vendor, us(), retry=RetryPolicy(attempts=1))
    assert 7.0 == info.value.retry_after


@pytest.mark.anyio
async def test_5xx_is_retried_then_succeeds() -> None:
    """A 500 then a 200: retried once, the offers arrive."""
    vendor = Vendor({"local": [(500, {"error": "boom"}, {}), ok({"data": [entry("+12125550147")]})]})
    result = await search(vendor, us())
    assert ["+12125550147"] == [o.e164 for o in result.offers]
    assert 2 == len(vendor.requests)


@pytest.mark.anyio
async def test_persistent_5xx_gives_up_after_the_policy() -> None:
    """A 503 on every try raises ProviderUnavailableError after ``attempts`` requests."""
    vendor = Vendor(default=(503, {"error": "down"}, {}))
    with pytest.raises(ProviderUnavailableError):
        await search(vendor, us(), retry=RetryPolicy(attempts=3, initial=0.01))
    assert 3 == len(vendor.requests)


@pytest.mark.parametrize(
    "body",
    [b"not json", [], {"items": []}, {"data": {"phone_number": "+12125550147"}}, {"data": None}],
    ids=["not-json", "list", "no-data", "data-object", "data-null"],
)
@pytest.mark.anyio
async def test_malformed_envelope_is_a_response_error(body: Any) -> None:
    """A body that is not ``{"data": [...]}`` raises ProviderResponseError (and is not retried)."""
    vendor = Vendor(default=ok(body))
    with pytest.raises(ProviderResponseError):
        await search(vendor, us())
    assert 1 == len(vendor.requests)


# -- configuration ----------------------------------------------------------------------------------


def test_missing_key_names_the_env_var() -> None:
    """Without a key the error names the argument and IDENTITYCALL_API_KEY."""
    with pytest.raises(MissingCredentialsError, match="IDENTITYCALL_API_KEY"):
        IdentityCallProvider(env={})


@pytest.mark.anyio
async def test_key_and_com_host_from_env() -> None:
    """the key and the ``.com`` base URL can come from the environment."""
    vendor = Vendor()
    env = {"IDENTITYCALL_API_KEY": API_KEY, "IDENTITYCALL_BASE_URL": "https://api.identitycall.com/api/v1/public"}
    async with httpx.AsyncClient(transport=httpx.MockTransport(vendor)) as client:
        adapter = IdentityCallProvider(env=env, http_client=client)
        await adapter.search(us())
    assert "https://api.identitycall.com" + PATH == str(vendor.requests[0].url.copy_with(query=None))
    assert f"Bearer {API_KEY}" == vendor.requests[0].headers["authorization"]
    assert API_KEY not in repr(adapter)


def test_class_attributes_and_registry() -> None:
    """Identity, paging, rate limit (bursts of 60, 1/s refill) and the registry entry are as documented."""
    cls = IdentityCallProvider
    assert cls is get_provider_class("identitycall")
    assert ("identitycall", "none", RateLimit(60, 60.0)) == (cls.id, cls.paging, cls.rate_limit)
    assert "https://api.identitycall.ai/api/v1/public" == cls.default_base_url
    assert "numbroker_providers.identitycall.sandbox:create_app" == cls.sandbox
    assert (
        "IDENTITYCALL_API_KEY",
        "IDENTITYCALL_CURRENCY",
        "IDENTITYCALL_REQUIREMENT_GROUP_ID",
        "IDENTITYCALL_BASE_URL",
    ) == cls.env_vars()
