"""The real Vonage adapter against its sandbox, over loopback HTTP."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from numbroker import (
    AuthenticationError,
    Capability,
    NumberType,
    ProviderConnectionError,
    ProviderError,
    ProviderResponseError,
    RetryPolicy,
    SearchQuery,
)
from numbroker.adapters import ProviderResult
from numbroker.sandbox import Faults, LoopbackServer, Sandbox
from numbroker_providers.vonage import VonageProvider
from numbroker_providers.vonage.sandbox import create_app

SIZE = 600
"""Enough numbers that GB, US and DE each need several pages at size=100."""
DEFECT_FIELDS = {
    "invalid_number": "msisdn",
    "too_short": "msisdn",
    "country_mismatch": "msisdn",
    "msisdn_format": "msisdn",
    "negative_price": "cost",
    "garbage_price": "cost",
    "null_price": "cost",
    "nan_price": "cost",
    "absurd_exponent": "cost",
    "features": "features",
}
"""The Vonage field each kind of sandbox defect must be rejected on."""
TYPES = {"landline": NumberType.LOCAL, "mobile-lvn": NumberType.MOBILE, "landline-toll-free": NumberType.TOLL_FREE}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, str]]:
    sandbox = create_app(seed=7, size=SIZE)
    with LoopbackServer(sandbox.app) as server:
        yield sandbox, server.base_url + sandbox.base_path


def countries(sandbox: Sandbox) -> list[str]:
    return sorted({str(record.raw["country"]) for record in sandbox.records})


async def search_all(sandbox: Sandbox, base_url: str, **options: Any) -> tuple[ProviderResult, ...]:
    options.setdefault("retry", RetryPolicy(initial=0.01))
    async with VonageProvider(base_url=base_url, env=sandbox.env, **options) as adapter:
        return tuple([await adapter.search(SearchQuery(country=country)) for country in countries(sandbox)])


def check_inventory(sandbox: Sandbox, results: tuple[ProviderResult, ...]) -> None:
    offers = [o for r in results for o in r.offers]
    rejected = [r for result in results for r in result.rejected]
    valid = [r for r in sandbox.records if r.expected_valid]
    assert {r.offer_id: 1 for r in valid} == dict(Counter(o.offer_id for o in offers))
    by_id = {o.offer_id: o for o in offers}
    for record in valid:
        offer = by_id[record.offer_id]
        raw = record.raw
        assert ("+" + raw["msisdn"], record.e164, record.country) == (offer.e164, offer.offer_id, offer.country)
        assert offer.monthly_price is not None and offer.setup_price is None
        assert (record.monthly, "EUR") == (offer.monthly_price.amount, offer.monthly_price.currency)
        assert Decimal(raw["cost"]) == offer.monthly_price.amount
        assert str(offer.monthly_price.amount) == raw["cost"]  # the vendor's digits, kept
        assert TYPES[raw["type"]] == offer.number_type
        assert {Capability(f.lower()) for f in raw["features"]} == set(offer.capabilities or ())
        assert {"currency_assumed": True} == offer.provider_details
    # Vonage has no record id: a rejection is named by its number, "+" and the digits served, like an offer.
    defects = {r.offer_id: DEFECT_FIELDS[r.defect or ""] for r in sandbox.records if not r.expected_valid}
    assert defects == {r.offer_id: r.field for r in rejected}
    assert len(defects) == len(rejected)
    assert {"vonage"} == {r.provider for r in rejected}
    assert all(r.reason for r in rejected)


@pytest.mark.anyio
async def test_every_country_arrives_exactly_once_over_every_page(served: tuple[Sandbox, str]) -> None:
    """Every valid number arrives once with its exact EUR price; every defect is rejected on its field."""
    sandbox, base_url = served
    start = len(sandbox.log)

    results = await search_all(sandbox, base_url)

    check_inventory(sandbox, results)
    log = sandbox.log[start:]
    sent = [dict(entry.query) for entry in log]
    assert {"100"} == {q["size"] for q in sent}
    assert {200} == {entry.status for entry in log}
    assert all("api_key" not in q and "api_secret" not in q for q in sent)
    # Every page of every country was asked for by page number, each exactly once.
    for country in countries(sandbox):
        listed = sum(1 for r in sandbox.records if r.raw["country"] == country)
        pages = sorted(int(q["index"]) for q in sent if q["country"] == country)
        assert list(range(1, -(-listed // 100) + 1)) == pages, country
    assert max(int(q["index"]) for q in sent) >= 3


@pytest.mark.anyio
async def test_filters_are_sent_as_vonage_parameters(served: tuple[Sandbox, str]) -> None:
    """Type, features, prefix (starts-with with the calling code) and contains go to the vendor; results match."""
    sandbox, base_url = served
    gb = [r for r in sandbox.records if r.expected_valid and r.country == "GB"]
    mobile = next(r for r in gb if r.raw["type"] == "mobile-lvn")
    prefix, contains = mobile.e164[3:6], mobile.e164[-4:]
    queries = [
        SearchQuery(country="GB", number_type=NumberType.MOBILE, capabilities=(Capability.SMS,)),
        SearchQuery(country="GB", prefix=prefix),
        SearchQuery(country="GB", contains=contains),
    ]
    async with VonageProvider(base_url=base_url, env=sandbox.env) as adapter:
        start = len(sandbox.log)
        typed, prefixed, containing = [await adapter.search(q) for q in queries]

    sms_mobiles = {r.offer_id for r in gb if r.raw["type"] == "mobile-lvn" and "SMS" in r.raw["features"]}
    assert sms_mobiles == {o.offer_id for o in typed.offers}
    assert {r.offer_id for r in gb if r.e164.startswith("+44" + prefix)} == {o.offer_id for o in prefixed.offers}
    assert {r.offer_id for r in gb if contains in r.e164[1:]} == {o.offer_id for o in containing.offers}
    sent = [dict(entry.query) for entry in sandbox.log[start:]]
    assert ("mobile-lvn", "SMS") == (sent[0]["type"], sent[0]["features"])
    assert {"pattern": "44" + prefix, "search_pattern": "0"} == {k: sent[-2][k] for k in ("pattern", "search_pattern")}
    assert {"pattern": contains, "search_pattern": "1"} == {k: sent[-1][k] for k in ("pattern", "search_pattern")}


@pytest.mark.anyio
@pytest.mark.parametrize("lie", [30, 1000], ids=["count-too-low", "count-too-high"])
async def test_lying_counts_still_deliver_everything_once(lie: int) -> None:
    """A count that lies low or high changes how many pages are fetched, never which offers arrive."""
    sandbox = create_app(seed=7, size=SIZE, faults=Faults(lying_total=lie))
    with LoopbackServer(sandbox.app) as server:
        results = await search_all(sandbox, server.base_url + sandbox.base_path)

    check_inventory(sandbox, results)
    assert any(entry.fault == "lying_total" for entry in sandbox.log)


@pytest.mark.anyio
async def test_survives_rate_limits_and_server_errors() -> None:
    """With 429s and 5xx injected, retries still deliver the whole inventory exactly once."""
    sandbox = create_app(seed=3, size=SIZE, faults=Faults(rate_429=0.2, rate_5xx=0.2, retry_after="0", seed=11))
    with LoopbackServer(sandbox.app) as server:
        results = await search_all(sandbox, server.base_url + sandbox.base_path, retry=RetryPolicy(8, initial=0.01))

    check_inventory(sandbox, results)
    assert {"rate_limited", "server_error"} <= {entry.fault for entry in sandbox.log}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("faults", "error"),
    [(Faults(rate_malformed=1.0), ProviderResponseError), (Faults(rate_truncated=1.0), ProviderConnectionError)],
    ids=["malformed", "truncated"],
)
async def test_spoiled_bodies_fail_the_search(faults: Faults, error: type[ProviderError]) -> None:
    """A 200 whose body is not the search answer is a response error; one cut off mid-body a connection error."""
    sandbox = create_app(seed=5, size=SIZE, faults=faults)
    with LoopbackServer(sandbox.app) as server:
        async with VonageProvider(base_url=server.base_url, env=sandbox.env, retry=RetryPolicy(attempts=1)) as adapter:
            with pytest.raises(error) as caught:
                await adapter.search(SearchQuery(country="GB"))

    assert "vonage" == caught.value.provider


@pytest.mark.anyio
async def test_an_empty_country_is_an_empty_answer(served: tuple[Sandbox, str]) -> None:
    """A country with no numbers answers `{}` (no count, no numbers): no offers, no error, one request."""
    sandbox, base_url = served
    async with VonageProvider(base_url=base_url, env=sandbox.env) as adapter:
        start = len(sandbox.log)
        result = await adapter.search(SearchQuery(country="FR"))

    assert ([], [], 1) == (result.offers, result.rejected, len(sandbox.log) - start)


@pytest.mark.anyio
async def test_a_wrong_secret_is_an_authentication_error_and_never_shown(served: tuple[Sandbox, str]) -> None:
    """A wrong secret is an AuthenticationError; neither credential appears in it."""
    sandbox, base_url = served
    wrong = {**sandbox.env, "VONAGE_API_SECRET": "WrongSecret00000"}
    async with VonageProvider(base_url=base_url, env=wrong) as adapter:
        with pytest.raises(AuthenticationError) as caught:
            await adapter.search(SearchQuery(country="GB"))

    text = f"{caught.value} {caught.value!r} {caught.value.body} {caught.value.headers}"
    assert "WrongSecret00000" not in text
    assert sandbox.env["VONAGE_API_KEY"] not in text
    assert '"error-code":"401"' in caught.value.body
