"""The real Twilio adapter against its sandbox, over loopback HTTP: every record once, exactly priced."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from numbroker import (
    AuthenticationError,
    Capability,
    NotFoundError,
    NumberType,
    ProviderStatus,
    RetryPolicy,
    Searcher,
    SearchQuery,
)
from numbroker.sandbox import Faults, LoopbackServer, Sandbox
from numbroker_providers.twilio import TwilioProvider
from numbroker_providers.twilio.sandbox import BUCKETS, SEARCH_CAP, create_app

COUNTRIES = sorted({country for country, _ in BUCKETS})
TYPES = {
    "local": NumberType.LOCAL,
    "mobile": NumberType.MOBILE,
    "toll-free": NumberType.TOLL_FREE,
    "national": NumberType.NATIONAL,
}
DEFECT_FIELDS = {
    "invalid_number": "phone_number",
    "country_mismatch": "phone_number",
    "too_short": "phone_number",
    "bad_country": "iso_country",
    "bad_number": "phone_number",
}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, str]]:
    sandbox = create_app(seed=7)
    with LoopbackServer(sandbox.app) as server:
        yield sandbox, server.base_url + sandbox.base_path


def twilio(sandbox: Sandbox, base_url: str, **options: Any) -> TwilioProvider:
    options.setdefault("retry", RetryPolicy(initial=0.01))
    return TwilioProvider(base_url=base_url, env=sandbox.env, **options)


def area_codes(sandbox: Sandbox) -> list[str]:
    """The US area codes of the stocked US Local numbers (each one a search under the cap)."""
    return sorted(
        {r.e164[2:5] for r in sandbox.records if (r.country, r.number_type) == ("US", "local") and r.expected_valid}
    )


@pytest.mark.anyio
async def test_every_valid_record_arrives_exactly_priced_and_every_defect_is_rejected(
    served: tuple[Sandbox, str],
) -> None:
    """Country searches (plus one search per US area code, as the cap's note advises) see the whole stock.

    Every valid record becomes one offer with its type from the path, its monthly price from the price
    list exactly (no setup price), or no price where the list has none; every defect is rejected, naming
    its field; the US Local answer, over the cap, is reported truncated.
    """
    sandbox, base_url = served
    start = len(sandbox.log)
    async with twilio(sandbox, base_url) as adapter:
        by_country = {country: await adapter.search(SearchQuery(country=country)) for country in COUNTRIES}
        by_area = [
            await adapter.search(SearchQuery(country="US", number_type=NumberType.LOCAL, prefix=code))
            for code in area_codes(sandbox)
        ]
    results = [*by_country.values(), *by_area]
    for result in results:
        assert 1 == max(Counter(o.offer_id for o in result.offers).values(), default=1)  # none twice in one answer
    offers = {o.offer_id: o for result in results for o in result.offers}
    valid = [r for r in sandbox.records if r.expected_valid]
    assert {r.offer_id for r in valid} == set(offers)
    for record in valid:
        offer = offers[record.offer_id]
        assert (record.e164, record.country, record.region) == (offer.e164, offer.country, offer.region)
        assert TYPES[record.number_type or ""] == offer.number_type
        assert offer.setup_price is None
        if record.monthly is None:
            assert offer.monthly_price is None
        else:
            assert offer.monthly_price is not None
            assert (record.monthly, record.currency) == (offer.monthly_price.amount, offer.monthly_price.currency)
        caps = {k.lower(): v for k, v in record.raw["capabilities"].items()}
        assert sorted(Capability(k) for k, on in caps.items() if on) == list(offer.capabilities or ())
    assert any(r.monthly is None for r in valid) and any(r.monthly is not None for r in valid)

    rejected = [r for result in by_country.values() for r in result.rejected]
    defects = [r for r in sandbox.records if not r.expected_valid]
    assert len(defects) == len(rejected)
    assert {"twilio"} == {r.provider for r in rejected}

    def record_id(value: Any) -> str | None:
        return None if value is None else str(value)

    expected = Counter(
        (record_id(r.raw.get("phone_number")), DEFECT_FIELDS.get(r.defect or "", "capabilities")) for r in defects
    )
    actual = Counter((r.offer_id, (r.field or "").split(".")[0]) for r in rejected)
    assert expected == actual

    assert by_country["US"].stats.truncated
    assert any("narrow the search" in note for note in by_country["US"].stats.notes)
    assert not any(by_country[c].stats.truncated for c in COUNTRIES if c != "US")
    assert not any(r.stats.truncated for r in by_area)
    assert any("Mobile offers for DE are unpriced" in n for n in by_country["DE"].stats.notes)
    assert any("National offers for NL are unpriced" in n for n in by_country["NL"].stats.notes)

    served_log = sandbox.log[start:]
    assert len(COUNTRIES) + len(by_area) == sum(1 for r in served_log if r.endpoint == "pricing")
    assert all(r.status == 200 for r in served_log)
    searches = [dict(r.query) for r in served_log if r.endpoint == "search"]
    assert all("1000" == q["PageSize"] for q in searches)
    assert sorted(area_codes(sandbox)) == sorted(q["AreaCode"] for q in searches if "AreaCode" in q)


@pytest.mark.anyio
async def test_capabilities_and_contains_are_asked_of_twilio(served: tuple[Sandbox, str]) -> None:
    """FaxEnabled=true and Contains go on the wire; every offer has fax and the digits."""
    sandbox, base_url = served
    start = len(sandbox.log)
    query = SearchQuery(country="US", number_type=NumberType.LOCAL, capabilities=(Capability.FAX,), contains="21")
    async with twilio(sandbox, base_url) as adapter:
        result = await adapter.search(query)

    assert result.offers
    assert all(Capability.FAX in (o.capabilities or ()) and "21" in o.e164[1:] for o in result.offers)
    (search,) = [r for r in sandbox.log[start:] if r.endpoint == "search"]
    assert (("Contains", "21"), ("FaxEnabled", "true"), ("PageSize", "1000")) == search.query


@pytest.mark.anyio
async def test_a_failing_pricing_api_leaves_offers_unpriced_and_the_search_ok(served: tuple[Sandbox, str]) -> None:
    """A price list that 404s: the search still answers, every offer unpriced, and the report says why."""
    sandbox, base_url = served
    async with (
        twilio(sandbox, base_url, pricing_base_url="/no-such-pricing") as adapter,
        Searcher([adapter]) as searcher,
    ):
        result = await searcher.search(SearchQuery(country="GB"))

    (report,) = result.providers
    assert ProviderStatus.OK == report.status
    assert result.offers and all(r.offer.monthly_price is None for r in result.offers)
    assert len(result.offers) == report.unpriced
    assert any("unpriced" in n and "Pricing API failed" in n for n in report.notes)


@pytest.mark.anyio
async def test_survives_rate_limits_and_server_errors() -> None:
    """With 20429s and 5xx injected on every route (the price list's too), retries still deliver it all."""
    sandbox = create_app(seed=3, faults=Faults(rate_429=0.2, rate_5xx=0.2, retry_after="0", seed=11))
    with LoopbackServer(sandbox.app) as server:
        async with twilio(sandbox, server.base_url + sandbox.base_path, retry=RetryPolicy(10, initial=0.01)) as adapter:
            results = [await adapter.search(SearchQuery(country=c)) for c in ("GB", "NL")]
    offers = {o.offer_id: o for result in results for o in result.offers}
    valid = [r for r in sandbox.records if r.expected_valid and r.country in ("GB", "NL")]
    assert {r.offer_id: r.monthly for r in valid} == {
        k: (o.monthly_price.amount if o.monthly_price else None) for k, o in offers.items()
    }
    assert any(entry.fault for entry in sandbox.log)
    assert all(len(r.offers) <= 4 * SEARCH_CAP for r in results)


@pytest.mark.anyio
async def test_a_wrong_token_and_an_unknown_country(served: tuple[Sandbox, str]) -> None:
    """A wrong Auth Token is an AuthenticationError (20003); a country Twilio stocks nothing in is empty."""
    sandbox, base_url = served
    async with twilio(sandbox, base_url) as adapter:
        result = await adapter.search(SearchQuery(country="FR"))
    assert ([], ["Twilio stocks no numbers in FR (its country resource answered 404)"]) == (
        result.offers,
        result.stats.notes,
    )
    wrong_sid = {**sandbox.env, "TWILIO_ACCOUNT_SID": "AC" + "0" * 32}
    async with TwilioProvider(base_url=base_url, env=wrong_sid) as adapter:
        with pytest.raises((NotFoundError, AuthenticationError)):
            await adapter.search(SearchQuery(country="FR"))
    env = {**sandbox.env, "TWILIO_AUTH_TOKEN": "0" * 32}
    async with TwilioProvider(base_url=base_url, env=env) as adapter:
        with pytest.raises(AuthenticationError, match="20003"):
            await adapter.search(SearchQuery(country="US"))
