"""The real Plivo adapter against its sandbox, over loopback HTTP."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from numbroker import (
    AuthenticationError,
    Capability,
    NumberType,
    ProviderConnectionError,
    ProviderResponseError,
    RetryPolicy,
    SearchQuery,
)
from numbroker.adapters import ProviderResult
from numbroker.sandbox import Faults, LoopbackServer, Sandbox
from numbroker_providers.plivo import PlivoProvider
from numbroker_providers.plivo.sandbox import COUNTRY_NAMES, create_app

SIZE = 400
"""Enough records that every stocked country needs several 20-record pages."""
DEFECT_FIELDS = {
    "invalid_number": "number",
    "too_short": "number",
    "country_mismatch": "number",
    "country_name": "country",
    "negative_price": "monthly_rental_rate",
    "garbage_price": "monthly_rental_rate",
    "typed_price": "monthly_rental_rate",
    "nan_price": "setup_rate",
    "garbage_flag": "sms_enabled",
    "garbage_lata": "lata",
}
"""The Plivo field each kind of sandbox defect must be rejected on."""
TYPES = {
    "local": NumberType.LOCAL,
    "national": NumberType.NATIONAL,
    "mobile": NumberType.MOBILE,
    "toll-free": NumberType.TOLL_FREE,
}
FLAGS = {"voice_enabled": Capability.VOICE, "sms_enabled": Capability.SMS, "mms_enabled": Capability.MMS}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, str]]:
    sandbox = create_app(seed=7, size=SIZE)
    with LoopbackServer(sandbox.app) as server:
        yield sandbox, server.base_url + sandbox.base_path


async def search_all(sandbox: Sandbox, base_url: str, **options: Any) -> tuple[ProviderResult, ...]:
    options.setdefault("retry", RetryPolicy(initial=0.01))
    async with PlivoProvider(base_url=base_url, env=sandbox.env, **options) as adapter:
        return tuple([await adapter.search(SearchQuery(country=country)) for country in COUNTRY_NAMES])


def check_inventory(sandbox: Sandbox, results: tuple[ProviderResult, ...]) -> None:
    offers = [o for r in results for o in r.offers]
    rejected = [r for result in results for r in result.rejected]
    valid = [r for r in sandbox.records if r.expected_valid]
    assert {r.offer_id: 1 for r in valid} == dict(Counter(o.offer_id for o in offers))
    by_id = {o.offer_id: o for o in offers}
    for record in valid:
        offer = by_id[record.offer_id]
        raw = record.raw
        assert (record.e164, record.country, record.region) == (offer.e164, offer.country, offer.region)
        assert offer.setup_price is not None and offer.monthly_price is not None
        assert (record.upfront, record.monthly, "USD", "USD") == (
            offer.setup_price.amount,
            offer.monthly_price.amount,
            offer.setup_price.currency,
            offer.monthly_price.currency,
        )
        assert raw["monthly_rental_rate"] == format(offer.monthly_price.amount, "f")  # five places kept
        assert TYPES[record.number_type or ""] == offer.number_type
        assert "number_type_inferred" not in offer.provider_details
        expected_caps = sorted(FLAGS[k] for k in FLAGS if raw.get(k) is True)
        assert expected_caps == sorted(offer.capabilities or ())
        details = offer.provider_details
        assert (True, raw["sub_type"], raw["restriction"], raw["restriction_text"]) == (
            details["currency_assumed"],
            details["sub_type"],
            details.get("restriction"),
            details.get("restriction_text"),
        )
        if raw.get("lata") is not None:
            assert int(raw["lata"]) == details["lata"]
    defects = {r.offer_id: DEFECT_FIELDS[r.defect or ""] for r in sandbox.records if not r.expected_valid}
    assert defects == {r.offer_id: r.field for r in rejected}
    assert {"plivo"} == {r.provider for r in rejected}
    assert all(r.reason for r in rejected)


def check_pages_walked(sandbox: Sandbox, start: int) -> None:
    """Every country's offsets 0, 20, 40, ... up to its total, each requested exactly once, limit 20."""
    sent = [dict(entry.query) for entry in sandbox.log[start:] if entry.endpoint == "search"]
    for country in COUNTRY_NAMES:
        listed = sum(1 for r in sandbox.records if r.country == country)
        offsets = sorted(int(q["offset"]) for q in sent if q["country_iso"] == country)
        assert list(range(0, 20 * max(1, math.ceil(listed / 20)), 20)) == offsets
    assert {"20"} == {q["limit"] for q in sent}
    assert {"any"} == {q["type"] for q in sent}


@pytest.mark.anyio
async def test_every_record_arrives_exactly_once_and_every_page_is_walked(served: tuple[Sandbox, str]) -> None:
    """Every valid record once with its exact rates; every defect rejected on its field; every offset asked once."""
    sandbox, base_url = served
    start = len(sandbox.log)

    results = await search_all(sandbox, base_url)

    check_inventory(sandbox, results)
    check_pages_walked(sandbox, start)
    assert {200} == {entry.status for entry in sandbox.log[start:]}
    us = next(r for r, country in zip(results, COUNTRY_NAMES, strict=True) if country == "US")
    assert us.stats.pages >= 5
    assert any(r.shared for r in sandbox.records if r.expected_valid)
    assert any(isinstance(r.raw.get("lata"), str) for r in sandbox.records if r.expected_valid)
    assert any("mms_enabled" not in r.raw for r in sandbox.records if r.expected_valid)


@pytest.mark.anyio
async def test_type_pattern_and_services_narrow_on_the_server(served: tuple[Sandbox, str]) -> None:
    """type=tollfree, pattern=<area code>, services=voice,sms: the sandbox filters, results match the truth."""
    sandbox, base_url = served
    valid_us = [r for r in sandbox.records if r.expected_valid and r.country == "US"]
    area = next(r for r in valid_us if r.number_type == "local").e164[2:5]
    async with PlivoProvider(base_url=base_url, env=sandbox.env) as adapter:
        start = len(sandbox.log)
        toll_free = await adapter.search(SearchQuery(country="US", number_type=NumberType.TOLL_FREE))
        prefixed = await adapter.search(SearchQuery(country="US", prefix=area))
        texting = await adapter.search(SearchQuery(country="US", capabilities=(Capability.VOICE, Capability.SMS)))
        national = await adapter.search(SearchQuery(country="GB", number_type=NumberType.NATIONAL))

    assert {r.offer_id for r in valid_us if r.number_type == "toll-free"} == {o.offer_id for o in toll_free.offers}
    assert {r.offer_id for r in valid_us if r.e164.startswith("+1" + area)} == {o.offer_id for o in prefixed.offers}
    sms = {r.offer_id for r in valid_us if r.raw["sms_enabled"] is True}
    assert sms == {o.offer_id for o in texting.offers}
    gb = [r for r in sandbox.records if r.expected_valid and r.country == "GB"]
    assert {r.offer_id for r in gb if r.number_type == "national"} == {o.offer_id for o in national.offers}
    assert national.offers
    assert national.stats.excluded["number_type"] == sum(1 for r in gb if r.number_type == "local")
    sent = [dict(entry.query) for entry in sandbox.log[start:]]
    assert {("tollfree", None, None), ("any", area, None), ("any", None, "voice,sms"), ("fixed", None, None)} == {
        (q["type"], q.get("pattern"), q.get("services")) for q in sent
    }


@pytest.mark.anyio
@pytest.mark.parametrize("lie", [30, 1000], ids=["total-too-low", "total-too-high"])
async def test_lying_totals_still_deliver_everything_once(lie: int) -> None:
    """A total_count that lies low or high changes how many pages are fetched, never which offers arrive."""
    sandbox = create_app(seed=7, size=SIZE, faults=Faults(lying_total=lie))
    with LoopbackServer(sandbox.app) as server:
        results = await search_all(sandbox, server.base_url + sandbox.base_path)

    check_inventory(sandbox, results)


@pytest.mark.anyio
async def test_survives_rate_limits_and_server_errors() -> None:
    """With 429s and 5xx injected, retries still deliver the whole inventory exactly once."""
    sandbox = create_app(seed=3, size=SIZE, faults=Faults(rate_429=0.2, rate_5xx=0.2, retry_after="0", seed=11))
    with LoopbackServer(sandbox.app) as server:
        results = await search_all(sandbox, server.base_url + sandbox.base_path, retry=RetryPolicy(8, initial=0.01))

    check_inventory(sandbox, results)
    assert any(entry.fault for entry in sandbox.log)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("faults", "error"),
    [(Faults(rate_malformed=1.0), ProviderResponseError), (Faults(rate_truncated=1.0), ProviderConnectionError)],
    ids=["malformed", "truncated"],
)
async def test_a_spoiled_body_fails_the_provider(faults: Faults, error: type[Exception]) -> None:
    """A 200 whose body is not the envelope, or is cut off mid-body, fails the provider (never an empty page)."""
    sandbox = create_app(seed=5, size=SIZE, faults=faults)
    with LoopbackServer(sandbox.app) as server:
        async with PlivoProvider(
            base_url=server.base_url + sandbox.base_path, env=sandbox.env, retry=RetryPolicy(1)
        ) as adapter:
            with pytest.raises(error):
                await adapter.search(SearchQuery(country="GB"))


@pytest.mark.anyio
async def test_wrong_token_is_an_authentication_error(served: tuple[Sandbox, str]) -> None:
    """A wrong auth token is a 401 AuthenticationError, the token never echoed."""
    sandbox, base_url = served
    wrong = {**sandbox.env, "PLIVO_AUTH_TOKEN": "sandbox-wrong-token-0000"}
    async with PlivoProvider(base_url=base_url, env=wrong) as adapter:
        with pytest.raises(AuthenticationError) as caught:
            await adapter.search(SearchQuery(country="US"))

    assert 401 == caught.value.status_code
    assert "sandbox-wrong-token-0000" not in str(caught.value)
    assert "Authentication failed" in str(caught.value)
