"""The Plivo adapter, offline: the exact requests, normalization, rejections, offset paging, errors and hygiene."""

from __future__ import annotations

import base64
import json
import logging
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
    MissingCredentialsError,
    Money,
    NumberType,
    ProviderResponseError,
    RetryPolicy,
    SearchQuery,
)
from numbroker.adapters import ProviderResult
from numbroker.testing import InFlight, Recorder
from numbroker_providers.plivo import PlivoProvider

FIXTURES = Path(__file__).parent / "fixtures"
AUTH_ID = "MATESTPLIVO000000042"
TOKEN = "plivo-token-canary-5d2a"
BASIC = "Basic " + base64.b64encode(f"{AUTH_ID}:{TOKEN}".encode()).decode()
PATH = f"/v1/Account/{AUTH_ID}/PhoneNumber/"
FAST = RetryPolicy(attempts=3, initial=0.01, max_delay=0.02, jitter=0.0)
US = SearchQuery(country="US")

Handler = Callable[[httpx.Request], httpx.Response]


class Vendor(Recorder):
    """A mock Plivo that records every request and answers with ``respond``."""

    def offsets(self) -> list[int]:
        return sorted(int(r.url.params["offset"]) for r in self.requests)


def record(i: int, **over: Any) -> dict[str, Any]:
    """A valid US fixed-line search record with a distinct number."""
    item = {
        "number": f"1415{2000000 + i:07d}",
        "country": "UNITED STATES",
        "region": "United States",
        "type": "fixed",
        "sub_type": "local",
        "setup_rate": "0.00000",
        "monthly_rental_rate": "0.80000",
        "voice_enabled": True,
        "sms_enabled": True,
        "mms_enabled": False,
    }
    return {**item, **over}


def listing(records: list[Any], *, total: int | None = None, cap: int = 20, echo: bool = True) -> Handler:
    """Serve ``records`` by limit/offset (at most ``cap`` a page) in Plivo's envelope."""

    def respond(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        limit = min(int(request.url.params["limit"]), cap)
        meta: dict[str, Any] = {"limit": limit, "next": None, "previous": None}
        meta["total_count"] = len(records) if total is None else total
        if echo:
            meta["offset"] = offset
        body = {"api_id": "api-1", "meta": meta, "objects": records[offset : offset + limit]}
        return httpx.Response(200, json=body)

    return respond


def payload(body: Any, status: int = 200) -> Handler:
    return lambda request: httpx.Response(status, json=body)


def make(vendor: Handler, **options: Any) -> PlivoProvider:
    options.setdefault("retry", FAST)
    return PlivoProvider(auth_id=AUTH_ID, auth_token=TOKEN, transport=httpx.MockTransport(vendor), **options)


async def search(vendor: Vendor, query: SearchQuery = US) -> ProviderResult:
    async with make(vendor) as provider:
        return await provider.search(query)


# -- the requests ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_search_sends_the_documented_request() -> None:
    """GET {base}/Account/{auth_id}/PhoneNumber/ (trailing slash), HTTP Basic, type=any, limit=20, offset=0."""
    vendor = Vendor(listing([record(1)]))

    await search(vendor)

    (request,) = vendor.requests
    assert ("GET", "api.plivo.com", PATH) == (request.method, request.url.host, request.url.path)
    assert b"country_iso=US&type=any&limit=20&offset=0" == request.url.query
    assert BASIC == request.headers["authorization"]
    assert "application/json" == request.headers["accept"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("query", "sent"),
    [
        (SearchQuery(country="US", number_type=NumberType.LOCAL), b"country_iso=US&type=fixed&limit=20&offset=0"),
        (SearchQuery(country="GB", number_type=NumberType.NATIONAL), b"country_iso=GB&type=fixed&limit=20&offset=0"),
        (SearchQuery(country="GB", number_type=NumberType.MOBILE), b"country_iso=GB&type=mobile&limit=20&offset=0"),
        (
            SearchQuery(country="US", number_type=NumberType.TOLL_FREE, prefix="800"),
            b"country_iso=US&type=tollfree&pattern=800&limit=20&offset=0",
        ),
        (
            SearchQuery(country="US", capabilities=(Capability.SMS, Capability.VOICE, Capability.FAX), contains="55"),
            b"country_iso=US&type=any&services=voice%2Csms&limit=20&offset=0",
        ),
        (
            SearchQuery(country="US", capabilities=(Capability.MMS,), prefix="212"),
            b"country_iso=US&type=any&pattern=212&services=mms&limit=20&offset=0",
        ),
    ],
)
async def test_query_maps_onto_type_pattern_and_services(query: SearchQuery, sent: bytes) -> None:
    """Types map to fixed/mobile/tollfree, the prefix to `pattern` (no country code), capabilities to `services`."""
    vendor = Vendor(listing([]))

    await search(vendor, query)

    assert [sent] == [r.url.query for r in vendor.requests]


@pytest.mark.anyio
async def test_pages_are_offsets_of_twenty_all_walked_concurrently() -> None:
    """Page n is offset (n-1)*20: 85 records take offsets 0..80, the last four requested together."""
    records = [record(i) for i in range(85)]
    vendor = Vendor(listing(records))
    probe = InFlight(vendor, hold=0.02)

    async with PlivoProvider(
        auth_id=AUTH_ID, auth_token=TOKEN, transport=httpx.MockTransport(probe), retry=FAST
    ) as provider:
        result = await provider.search(US)

    assert [0, 20, 40, 60, 80] == vendor.offsets()
    assert [f"country_iso=US&type=any&limit=20&offset={offset}".encode() for offset in (0, 20, 40, 60, 80)] == sorted(
        (r.url.query for r in vendor.requests), key=lambda q: int(q.rsplit(b"=", 1)[1])
    )
    assert 85 == len(result.offers) == len({o.e164 for o in result.offers})
    assert (5, 5) == (result.stats.pages, result.stats.requests)
    assert probe.peak >= 2


@pytest.mark.anyio
async def test_a_type_plivo_does_not_sell_sends_nothing() -> None:
    """Shared-cost numbers: no request, a note, no offers."""
    vendor = Vendor(listing([record(1)]))

    result = await search(vendor, SearchQuery(country="GB", number_type=NumberType.SHARED_COST))

    assert ([], [], []) == (vendor.requests, result.offers, result.rejected)
    assert any("shared_cost" in note for note in result.stats.notes)


# -- normalization ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_documented_records_normalize_exactly() -> None:
    """Digits become E.164, the country name is checked, rates stay exact USD marked assumed, extras kept."""
    vendor = Vendor(payload(json.loads((FIXTURES / "search_us.json").read_text())))

    result = await search(vendor)

    assert [] == result.rejected
    first, second, third = result.offers
    assert ("+14155552671", "+14155552671", "US", "California") == (
        first.offer_id,
        first.e164,
        first.country,
        first.region,
    )
    assert (NumberType.LOCAL, (Capability.MMS, Capability.SMS, Capability.VOICE)) == (
        first.number_type,
        first.capabilities,
    )
    assert Money(amount=Decimal("0.80000"), currency="USD") == first.monthly_price
    assert "0.80000" == format(first.monthly_price.amount, "f")
    assert Money(amount=Decimal("0"), currency="USD") == first.setup_price
    assert {
        "currency_assumed": True,
        "city": "SAN FRANCISCO",
        "rate_center": "SNFC CNTRL",
        "prefix": "415",
        "sub_type": "local",
        "lata": 722,
    } == first.provider_details
    # region that is only the country's name; lata as a string; no mms flag; a restriction
    assert (None, 722, (Capability.SMS, Capability.VOICE)) == (
        second.region,
        second.provider_details["lata"],
        second.capabilities,
    )
    assert ("city-address", "A proof of address within the city is required.") == (
        second.provider_details["restriction"],
        second.provider_details["restriction_text"],
    )
    assert (Decimal("1.00000"), Decimal("0.65500")) == (second.setup_price.amount, second.monthly_price.amount)  # type: ignore[union-attr]
    assert (NumberType.TOLL_FREE, (Capability.VOICE,)) == (third.number_type, third.capabilities)
    assert "number_type_inferred" not in third.provider_details


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("over", "field", "reason"),
    [
        ({"country": "CANADA"}, "country", "names CA, not US"),
        ({"country": "ATLANTIS"}, "country", "is not a name of US"),
        ({"country": None}, "country", "non-empty string"),
        ({"number": "15550001234"}, "number", "not a valid US number"),
        ({"number": "16135550123"}, "number", "belongs to CA"),
        ({"number": 14155552671}, "number", "expected a phone number string"),
        ({"monthly_rental_rate": "-0.80000"}, "monthly_rental_rate", "negative"),
        ({"monthly_rental_rate": "abc"}, "monthly_rental_rate", "not a decimal string"),
        ({"monthly_rental_rate": 0.8}, "monthly_rental_rate", "expected a decimal string"),
        ({"setup_rate": "NaN"}, "setup_rate", "not a decimal string"),
        ({"setup_rate": "1e3"}, "setup_rate", "not a decimal string"),
        ({"sms_enabled": "true"}, "sms_enabled", "true or false"),
        ({"lata": "N/A"}, "lata", "LATA"),
        ({"lata": True}, "lata", "LATA"),
        ({"restriction": 7}, "restriction", "string or null"),
        ({"currency": "DOLLARS"}, "currency", "ISO 4217"),
    ],
)
async def test_bad_records_are_rejected_naming_the_plivo_field(over: dict[str, Any], field: str, reason: str) -> None:
    """Each defect is a rejected record naming Plivo's field; the good record beside it still arrives."""
    vendor = Vendor(listing([record(1, **over), record(2)]))

    result = await search(vendor)

    assert ["+14152000002"] == [o.e164 for o in result.offers]
    (rejected,) = result.rejected
    assert (field, "plivo") == (rejected.field, rejected.provider)
    assert reason in rejected.reason


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["united states", "United States of America", "UNITED  STATES", "United-States"])
async def test_country_names_are_read_in_any_case_and_form(name: str) -> None:
    """ISO 3166-1 names (name, official name) match whatever their case, spacing or punctuation."""
    vendor = Vendor(listing([record(1, country=name, region=f"Texas, {name}")]))

    result = await search(vendor)

    assert (["US"], ["Texas"]) == ([o.country for o in result.offers], [o.region for o in result.offers])


@pytest.mark.anyio
async def test_accented_names_and_other_countries() -> None:
    """A German search reads GERMANY; names are compared without accents (Côte d'Ivoire)."""
    de = record(1, number="4930901820", country="GERMANY", region="Germany", setup_rate=None)
    vendor = Vendor(listing([de]))

    result = await search(vendor, SearchQuery(country="DE"))

    (offer,) = result.offers
    assert ("+4930901820", "DE", None, None) == (offer.e164, offer.country, offer.region, offer.setup_price)
    from numbroker_providers.plivo._adapter import _country_of

    assert ("COTE D IVOIRE", "CI") == _country_of("CÔTE D'IVOIRE")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("over", "number_type", "details"),
    [
        ({"type": "fixed", "sub_type": "national"}, NumberType.NATIONAL, {"sub_type": "national"}),
        ({"type": "local", "sub_type": None}, NumberType.LOCAL, {}),
        ({"type": "mobile", "sub_type": "mobile"}, NumberType.MOBILE, {"sub_type": "mobile"}),
        ({"type": "premium", "sub_type": None}, NumberType.UNKNOWN,
         {"vendor_number_type": "premium", "number_type_inferred": True}),
        ({"type": None, "sub_type": None}, NumberType.UNKNOWN, {"number_type_inferred": True}),
    ],
)  # fmt: skip
async def test_types_and_sub_types(over: dict[str, Any], number_type: NumberType, details: dict[str, Any]) -> None:
    """fixed + national is national; an unknown type is kept and the plan asked (NANP cannot tell)."""
    vendor = Vendor(listing([record(1, **over)]))

    (offer,) = (await search(vendor)).offers

    assert number_type == offer.number_type
    assert {"currency_assumed": True, **details} == offer.provider_details


@pytest.mark.anyio
async def test_capabilities_unknown_only_without_any_flag_and_a_stated_currency_wins() -> None:
    """No *_enabled flag at all: capabilities unknown (None); a record's own currency is used, not assumed."""
    bare = record(1, currency="EUR")
    for key in ("voice_enabled", "sms_enabled", "mms_enabled"):
        del bare[key]
    vendor = Vendor(listing([bare]))

    (offer,) = (await search(vendor)).offers

    assert offer.capabilities is None
    assert "EUR" == offer.monthly_price.currency  # type: ignore[union-attr]
    assert "currency_assumed" not in offer.provider_details


# -- paging safety and errors ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_an_answer_for_another_offset_stops_the_search() -> None:
    """Offset paging is only sound if Plivo answers the offset asked."""

    def respond(request: httpx.Request) -> httpx.Response:
        meta = {"limit": 20, "offset": 0, "total_count": 60}
        return httpx.Response(200, json={"api_id": "x", "meta": meta, "objects": [record(i) for i in range(20)]})

    with pytest.raises(ProviderResponseError, match=r"asked for offset [24]0, got offset 0"):
        await search(Vendor(respond))


@pytest.mark.anyio
async def test_a_smaller_page_size_than_asked_stops_the_search() -> None:
    """Plivo paging by 10 while we step by 20 would skip records: it stops instead."""
    with pytest.raises(ProviderResponseError, match="paged by 10"):
        await search(Vendor(listing([record(i) for i in range(40)], cap=10)))


@pytest.mark.anyio
async def test_without_meta_it_walks_until_a_short_page() -> None:
    """No meta (no total): pages follow one another until one is short."""

    def respond(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        return httpx.Response(200, json={"objects": [record(i) for i in range(45)][offset : offset + 20]})

    vendor = Vendor(respond)
    result = await search(vendor)

    assert ([0, 20, 40], 45) == (vendor.offsets(), len(result.offers))


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body", [{"meta": {}}, {"objects": {"a": 1}}, [], {"objects": [], "meta": {"total_count": -1}}, "objects"]
)
async def test_a_wrong_envelope_is_a_response_error(body: Any) -> None:
    """Anything but {api_id, meta, objects: [...]} fails the provider with a ProviderResponseError."""
    with pytest.raises(ProviderResponseError, match="unexpected envelope"):
        await search(Vendor(payload(body)))


@pytest.mark.anyio
async def test_errors_carry_plivos_message_never_the_token() -> None:
    """A 401 {api_id, error} is an AuthenticationError with Plivo's message; a 400 a BadRequestError."""
    with pytest.raises(AuthenticationError) as caught:
        await search(Vendor(payload({"api_id": "a1", "error": f"bad token {TOKEN}"}, 401)))
    assert "bad token ***" in str(caught.value)
    assert TOKEN not in caught.value.body
    with pytest.raises(BadRequestError, match="country_iso is required"):
        await search(Vendor(payload({"api_id": "a2", "error": "country_iso is required"}, 400)))


@pytest.mark.anyio
async def test_server_errors_are_retried() -> None:
    """A 503 then the page: the GET is retried and the offers arrive."""
    answers = iter([httpx.Response(503, json={"api_id": "a", "error": "busy"})])

    def respond(request: httpx.Request) -> httpx.Response:
        return next(answers, None) or listing([record(1)])(request)

    vendor = Vendor(respond)
    result = await search(vendor)

    assert (1, 2, 1) == (len(result.offers), len(vendor.requests), result.stats.retries)


# -- configuration and hygiene ---------------------------------------------------------------------


def test_credentials_base_url_and_auth_id_checks() -> None:
    """Both credentials are required (named), PLIVO_BASE_URL overrides the default, the auth id is a path segment."""
    with pytest.raises(MissingCredentialsError) as missing:
        PlivoProvider(env={})
    assert "PLIVO_AUTH_ID" in str(missing.value) and "PLIVO_AUTH_TOKEN" in str(missing.value)
    env = {"PLIVO_AUTH_ID": AUTH_ID, "PLIVO_AUTH_TOKEN": TOKEN}
    assert "https://api.plivo.com/v1" == PlivoProvider(env=env).base_url
    assert "http://127.0.0.1:9/v1" == PlivoProvider(env={**env, "PLIVO_BASE_URL": "http://127.0.0.1:9/v1/"}).base_url
    for bad in ("../MA1", "MA1/Number", "MA 1"):
        with pytest.raises(ConfigurationError, match="PLIVO_AUTH_ID"):
            PlivoProvider(env={**env, "PLIVO_AUTH_ID": bad})


@pytest.mark.anyio
async def test_no_credential_reaches_a_log_or_a_repr(caplog: pytest.LogCaptureFixture) -> None:
    """The auth id (a path segment), the token and the Basic header never appear in logs or the repr."""
    caplog.set_level(logging.DEBUG)
    vendor = Vendor(listing([record(1)]))

    async with make(vendor) as provider:
        await provider.search(US)
        shown = repr(provider)

    assert caplog.records
    for secret in (AUTH_ID, TOKEN, BASIC.split()[1]):
        assert secret not in caplog.text
        assert secret not in shown
