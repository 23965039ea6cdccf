"""The Telnyx adapter against httpx.MockTransport: the exact requests (query strings byte for byte), the
per-type fan-out, truncation, normalization and Telnyx's error envelope."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from numbroker import (
    AuthenticationError,
    BadRequestError,
    Capability,
    ConfigurationError,
    MissingCredentialsError,
    NumberType,
    ProviderResponseError,
    ProviderUnavailableError,
    RateLimitedError,
    RetryPolicy,
    Searcher,
    SearchQuery,
)
from numbroker.testing import InFlight
from numbroker_providers.telnyx import TelnyxProvider

API_KEY = "KEY" + "0123456789ABCDEF" * 2 + "_" + "fakeTelnyxKeyForTests"
BASE = "https://api.telnyx.com/v2"
PATH = "/v2/available_phone_numbers"
NO_RETRY = RetryPolicy(attempts=1)
FAST = RetryPolicy(attempts=3, initial=0.001, max_delay=0.002, jitter=0.0)


def record(number: str, **changes: Any) -> dict[str, Any]:
    """A record as Telnyx writes one (the shape of the number-search docs' sample)."""
    base: dict[str, Any] = {
        "best_effort": False,
        "cost_information": {"currency": "USD", "monthly_cost": "1.00000", "upfront_cost": "1.00000"},
        "features": [{"name": "fax"}, {"name": "voice"}, {"name": "sms"}],
        "phone_number": number,
        "quickship": True,
        "record_type": "available_phone_number",
        "region_information": [
            {"region_name": "US", "region_type": "country_code"},
            {"region_name": "IL", "region_type": "state"},
            {"region_name": "CHICAGO ZONE 11", "region_type": "rate_center"},
        ],
        "reservable": False,
        "vanity_format": None,
    }
    base.update(changes)
    return base


def answer(*records: dict[str, Any], total: int | None = None) -> dict[str, Any]:
    count = len(records) if total is None else total
    return {"data": list(records), "meta": {"total_results": count, "best_effort_results": 0}}


class Vendor:
    """Answers each search from a per-type table and records every request."""

    def __init__(self, by_type: dict[str, Any] | None = None, default: Any = None) -> None:
        self.by_type = by_type or {}
        self.default = default if default is not None else answer()
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        spec = self.by_type.get(request.url.params.get("filter[phone_number_type]", ""), self.default)
        if isinstance(spec, httpx.Response):
            return spec
        return httpx.Response(200, json=spec)

    def queries(self) -> list[bytes]:
        return [r.url.query for r in self.requests]


def adapter(vendor: Any, cls: type[TelnyxProvider] = TelnyxProvider, **options: Any) -> TelnyxProvider:
    options.setdefault("retry", NO_RETRY)
    return cls(api_key=API_KEY, base_url=BASE, transport=httpx.MockTransport(vendor), **options)


# -- the requests ------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_typed_search_sends_one_deep_object_query_byte_for_byte() -> None:
    """Country, type, comma-joined features, starts_with, contains and limit, percent-encoded like Telnyx's SDK."""
    vendor = Vendor(default=answer(record("+13125550123")))
    query = SearchQuery(
        country="US",
        number_type=NumberType.LOCAL,
        capabilities=(Capability.VOICE, Capability.SMS),
        prefix="312",
        contains="55",
    )
    async with adapter(vendor) as provider:
        await provider.search(query)

    (request,) = vendor.requests
    assert "GET" == request.method
    assert "https://api.telnyx.com/v2/available_phone_numbers" == str(request.url.copy_with(query=None))
    assert (
        b"filter%5Bcountry_code%5D=US"
        b"&filter%5Bphone_number_type%5D=local"
        b"&filter%5Bfeatures%5D=sms%2Cvoice"
        b"&filter%5Bphone_number%5D%5Bstarts_with%5D=312"
        b"&filter%5Bphone_number%5D%5Bcontains%5D=55"
        b"&filter%5Blimit%5D=100"
    ) == request.url.query
    assert f"Bearer {API_KEY}" == request.headers["authorization"]
    assert "application/json" == request.headers["accept"]


@pytest.mark.anyio
async def test_no_type_asks_each_type_of_the_numbering_plan_concurrently() -> None:
    """US has fixed, mobile, toll-free and personal numbers: four requests, one per Telnyx type, nothing else."""
    vendor = Vendor()
    async with adapter(vendor) as provider:
        await provider.search(SearchQuery(country="US"))

    assert sorted(
        f"filter%5Bcountry_code%5D=US&filter%5Bphone_number_type%5D={t}&filter%5Blimit%5D=100".encode()
        for t in ("local", "mobile", "toll_free", "national")
    ) == sorted(vendor.queries())
    plan = TelnyxProvider(api_key=API_KEY).search_types
    local, mobile, free, national, shared = (
        NumberType.LOCAL,
        NumberType.MOBILE,
        NumberType.TOLL_FREE,
        NumberType.NATIONAL,
        NumberType.SHARED_COST,
    )
    assert [local, mobile, free, national] == plan(SearchQuery(country="US"))
    assert [local, mobile, free, national, shared] == plan(SearchQuery(country="DE"))
    assert [local, mobile] == plan(SearchQuery(country="KP"))
    assert [shared] == plan(SearchQuery(country="GB", number_type=shared))


@pytest.mark.anyio
@pytest.mark.parametrize("page_concurrency", [1, 2, 5])
async def test_the_type_fan_out_respects_page_concurrency(page_concurrency: int) -> None:
    """At most page_concurrency of one search's type requests are in flight at once."""
    probe = InFlight(Vendor())
    cls = type("Narrow", (TelnyxProvider,), {"page_concurrency": page_concurrency})
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(probe)) as client,
        cls(api_key=API_KEY, base_url=BASE, http_client=client, retry=NO_RETRY) as provider,
    ):
        await provider.search(SearchQuery(country="DE"))  # five types in Germany's plan

    assert 5 == len(provider.search_types(SearchQuery(country="DE")))
    assert min(page_concurrency, 5) == probe.peak


@pytest.mark.anyio
async def test_filter_limit_is_always_sent_and_follows_per_page() -> None:
    """filter[limit] has no documented default: it is sent with every request, as per_page."""
    vendor = Vendor()
    cls = type("Small", (TelnyxProvider,), {"per_page": 7})
    async with adapter(vendor, cls) as provider:
        await provider.search(SearchQuery(country="GB", number_type=NumberType.MOBILE))

    assert [b"filter%5Bcountry_code%5D=GB&filter%5Bphone_number_type%5D=mobile&filter%5Blimit%5D=7"] == vendor.queries()


@pytest.mark.anyio
async def test_contains_that_may_touch_the_calling_code_is_not_sent() -> None:
    """Telnyx matches contains in the national number: '4420' (maybe '+44 20…') is applied by numbroker."""
    vendor = Vendor(default=answer(record("+442079460123", region_information=[])))
    async with adapter(vendor) as provider:
        result = await provider.search(SearchQuery(country="GB", number_type=NumberType.LOCAL, contains="4420"))
        inside = await provider.search(SearchQuery(country="GB", number_type=NumberType.LOCAL, contains="946"))

    assert (
        b"filter%5Bcountry_code%5D=GB&filter%5Bphone_number_type%5D=local&filter%5Blimit%5D=100"
        == (vendor.queries()[0])
    )
    assert b"filter%5Bphone_number%5D%5Bcontains%5D=946" in vendor.queries()[1]
    assert ["+442079460123"] == [o.e164 for o in result.offers]
    assert any("contains=4420" in note for note in result.stats.notes)
    assert not inside.stats.notes


@pytest.mark.anyio
async def test_whatsapp_and_unsold_types_send_nothing_and_say_so() -> None:
    """Telnyx has no whatsapp feature: no request, an empty answer and a note."""
    vendor = Vendor()
    async with adapter(vendor) as provider:
        result = await provider.search(SearchQuery(country="US", capabilities=(Capability.WHATSAPP,)))

    assert [] == vendor.requests
    assert [] == result.offers
    assert ["Telnyx lists no whatsapp feature; nothing was requested"] == result.stats.notes


# -- answers -----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_records_become_exact_offers_typed_by_the_request() -> None:
    """Decimal strings stay exact; the type is the one asked; flags and non-capability features are kept."""
    vendor = Vendor(
        {
            "local": answer(record("+13125550123")),
            "toll_free": answer(
                record(
                    "+18885550199",
                    cost_information={"currency": "usd", "monthly_cost": "0.0050", "upfront_cost": "0"},
                    features=[{"name": "voice"}, {"name": "hd_voice"}, {"name": "SMS"}],
                    region_information=[{"region_name": "US", "region_type": "country_code"}],
                    best_effort=True,
                    reservable=True,
                )
            ),
        }
    )
    async with adapter(vendor) as provider:
        result = await provider.search(SearchQuery(country="US"))

    local, free = sorted(result.offers, key=lambda o: o.e164)
    assert ("+13125550123", NumberType.LOCAL, "IL") == (local.e164, local.number_type, local.region)
    assert (Decimal("1.00000"), Decimal("1.00000"), "USD") == (
        local.setup_price.amount,  # type: ignore[union-attr]
        local.monthly_price.amount,  # type: ignore[union-attr]
        local.monthly_price.currency,  # type: ignore[union-attr]
    )
    assert (Capability.FAX, Capability.SMS, Capability.VOICE) == local.capabilities
    assert {"best_effort": False, "quickship": True, "reservable": False} == local.provider_details
    assert "+13125550123" == local.offer_id
    assert (NumberType.TOLL_FREE, None) == (free.number_type, free.region)
    assert "0.0050" == str(free.monthly_price.amount)  # type: ignore[union-attr]
    assert (Capability.SMS, Capability.VOICE) == free.capabilities
    assert {
        "best_effort": True,
        "quickship": True,
        "reservable": True,
        "other_features": ["hd_voice"],
    } == free.provider_details
    assert [] == result.rejected


@pytest.mark.anyio
async def test_bad_records_are_rejected_naming_the_telnyx_field() -> None:
    """Each defect is a rejected record with the vendor's field; the good record still arrives."""
    cost = {"currency": "USD", "monthly_cost": "1.00000", "upfront_cost": "0"}
    bad: list[Any] = [
        record("+15551234567"),
        record("+13125550100", cost_information={**cost, "monthly_cost": "-1"}),
        record("+13125550101", cost_information={**cost, "upfront_cost": "1,50"}),
        record("+13125550102", cost_information={"monthly_cost": "1.00000"}),
        record("+13125550103", cost_information={**cost, "currency": "US$"}),
        record("+13125550104", features=["sms"]),
        record("+13125550105", region_information=[{"region_type": "country_code", "region_name": "Illinois"}]),
        record("+13125550106", quickship="yes"),
        "not an object",
    ]
    vendor = Vendor(default=answer(record("+13125550199"), *bad))
    async with adapter(vendor) as provider:
        result = await provider.search(SearchQuery(country="US", number_type=NumberType.LOCAL))

    assert ["+13125550199"] == [o.e164 for o in result.offers]
    assert [
        ("+15551234567", "phone_number"),
        ("+13125550100", "cost_information.monthly_cost"),
        ("+13125550101", "cost_information.upfront_cost"),
        ("+13125550102", "cost_information.currency"),
        ("+13125550103", "cost_information.currency"),
        ("+13125550104", "features.0"),
        ("+13125550105", "region_information"),
        ("+13125550106", "quickship"),
        (None, None),
    ] == [(r.offer_id, r.field) for r in result.rejected]


@pytest.mark.anyio
async def test_no_cost_information_means_no_prices_not_zero() -> None:
    """A record without cost information is offered unpriced (None), never at an invented zero."""
    vendor = Vendor(default=answer(record("+13125550123", cost_information=None)))
    async with adapter(vendor) as provider:
        (offer,) = (await provider.search(SearchQuery(country="US", number_type=NumberType.LOCAL))).offers

    assert (None, None) == (offer.setup_price, offer.monthly_price)


@pytest.mark.anyio
async def test_best_effort_results_are_decided_by_numbroker_filters() -> None:
    """A best-effort number that does not start with the prefix is excluded (counted), one that does is kept."""
    near = record("+13135550123", best_effort=True)
    exact = record("+13125550123", best_effort=True)
    vendor = Vendor(default=answer(exact, near))
    async with adapter(vendor) as provider:
        result = await provider.search(SearchQuery(country="US", number_type=NumberType.LOCAL, prefix="312"))

    assert ["+13125550123"] == [o.e164 for o in result.offers]
    assert result.offers[0].provider_details["best_effort"] is True
    assert {"prefix": 1} == dict(result.stats.excluded)


@pytest.mark.anyio
@pytest.mark.parametrize(("served", "total", "truncated"), [(3, None, True), (2, None, False), (2, 40, True)])
async def test_an_answer_that_fills_the_limit_is_truncated_with_a_note(
    served: int, total: int | None, truncated: bool
) -> None:
    """No paging: as many numbers as filter[limit] (or a larger stated total) means more may exist."""
    numbers = [record(f"+1312555010{i}") for i in range(served)]
    vendor = Vendor(default=answer(*numbers, total=total))
    cls = type("Three", (TelnyxProvider,), {"per_page": 3})
    async with adapter(vendor, cls) as provider:
        result = await provider.search(SearchQuery(country="US", number_type=NumberType.LOCAL))
        async with Searcher([provider]) as searcher:
            report = (await searcher.search(SearchQuery(country="US", number_type=NumberType.LOCAL))).providers[0]

    assert served == len(result.offers)
    assert truncated is result.stats.truncated is report.truncated
    assert truncated == any("filter[limit]=3" in note and "narrow" in note for note in report.notes)


@pytest.mark.anyio
async def test_a_refused_type_of_the_fan_out_is_noted_and_the_others_arrive() -> None:
    """A 4xx on one type (no coverage for it) leaves a note; the other types' numbers still arrive."""
    refusal = httpx.Response(
        400,
        json={"errors": [{"code": "10015", "title": "Bad Request", "detail": "No national numbers in US"}]},
    )
    vendor = Vendor({"national": refusal, "local": answer(record("+13125550123"))})
    async with adapter(vendor) as provider:
        result = await provider.search(SearchQuery(country="US"))

    assert ["+13125550123"] == [o.e164 for o in result.offers]
    assert [
        "phone_number_type=national was refused and is missing: HTTP 400: 10015 Bad Request: No national numbers in US"
    ] == result.stats.notes


@pytest.mark.anyio
async def test_every_type_refused_or_a_fatal_failure_fails_the_search() -> None:
    """All types refused is the refusal; a 401 or a 5xx on any type fails the whole search."""
    refusal = httpx.Response(400, json={"errors": [{"code": "10015", "title": "Bad Request", "detail": "KP"}]})
    async with adapter(Vendor(default=refusal)) as provider:
        with pytest.raises(BadRequestError, match="10015 Bad Request: KP"):
            await provider.search(SearchQuery(country="US"))
    denied = httpx.Response(401, json={"errors": [{"code": "10009", "title": "Authentication failed"}]})
    async with adapter(Vendor({"mobile": denied})) as provider:
        with pytest.raises(AuthenticationError, match="10009 Authentication failed"):
            await provider.search(SearchQuery(country="US"))
    async with adapter(Vendor({"toll_free": httpx.Response(503, text="down")})) as provider:
        with pytest.raises(ProviderUnavailableError):
            await provider.search(SearchQuery(country="US"))


@pytest.mark.anyio
@pytest.mark.parametrize("body", [b"[]", b'{"data": "oops"}', b"null", b'{"meta": {}}', b"<html>"])
async def test_a_wrongly_shaped_answer_is_a_response_error(body: bytes) -> None:
    """An answer that is not {"data": [...]} fails the provider with ProviderResponseError."""
    async with adapter(Vendor(default=httpx.Response(200, content=body))) as provider:
        with pytest.raises(ProviderResponseError):
            await provider.search(SearchQuery(country="US", number_type=NumberType.LOCAL))


# -- errors and rate limits ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_429_without_retry_after_waits_x_ratelimit_reset() -> None:
    """Telnyx's 429 names its wait in x-ratelimit-reset; Retry-After, when sent, wins."""
    limited = {"errors": [{"code": "10011", "title": "Too many requests", "detail": "You have exceeded the maximum."}]}
    headers = {"x-ratelimit-limit": "100", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "7"}
    async with adapter(Vendor(default=httpx.Response(429, json=limited, headers=headers))) as provider:
        with pytest.raises(RateLimitedError) as info:
            await provider.search(SearchQuery(country="US", number_type=NumberType.LOCAL))
    assert 7.0 == info.value.retry_after
    assert "HTTP 429: 10011 Too many requests: You have exceeded the maximum." == info.value.detail
    both = httpx.Response(429, json=limited, headers={**headers, "Retry-After": "2"})
    async with adapter(Vendor(default=both)) as provider:
        with pytest.raises(RateLimitedError) as info:
            await provider.search(SearchQuery(country="US", number_type=NumberType.LOCAL))
    assert 2.0 == info.value.retry_after


@pytest.mark.anyio
async def test_a_429_is_retried_after_x_ratelimit_reset() -> None:
    """The retry happens after the reset the vendor stated (here 0 s), and the search succeeds."""
    answers = [
        httpx.Response(429, json={"errors": [{"code": "10011"}]}, headers={"x-ratelimit-reset": "0"}),
        httpx.Response(200, json=answer(record("+13125550123"))),
    ]
    seen: list[httpx.Request] = []

    def vendor(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    async with adapter(vendor, retry=FAST) as provider:
        result = await provider.search(SearchQuery(country="US", number_type=NumberType.LOCAL))

    assert 2 == len(seen) and seen[0].url == seen[1].url
    assert (1, 1) == (len(result.offers), result.stats.retries)


def test_configuration_is_checked() -> None:
    """No key names the variable; a bad requirement group id, timeout or interval is refused."""
    with pytest.raises(MissingCredentialsError, match="TELNYX_API_KEY"):
        TelnyxProvider(env={})
    with pytest.raises(ConfigurationError, match="TELNYX_REQUIREMENT_GROUP_ID"):
        TelnyxProvider(api_key=API_KEY, requirement_group_id="../x")
    with pytest.raises(ConfigurationError, match="order_timeout"):
        TelnyxProvider(api_key=API_KEY, order_timeout=float("nan"))
    with pytest.raises(ConfigurationError, match="order_poll_interval"):
        TelnyxProvider(api_key=API_KEY, order_poll_interval=-1)
    provider = TelnyxProvider(env={"TELNYX_API_KEY": API_KEY, "TELNYX_BASE_URL": "http://127.0.0.1:9/v2"})
    assert "http://127.0.0.1:9/v2" == provider.base_url
    assert API_KEY not in repr(provider)
    assert "https://api.telnyx.com/v2" == TelnyxProvider(api_key=API_KEY).base_url
