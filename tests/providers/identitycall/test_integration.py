"""The real IdentityCall adapter against its sandbox, over loopback HTTP."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from numbroker import AuthenticationError, BadRequestError, NumberType, RetryPolicy, SearchQuery
from numbroker.adapters._stats import ProviderResult
from numbroker.sandbox import Faults, LoopbackServer, Sandbox
from numbroker_providers.identitycall import IdentityCallProvider
from numbroker_providers.identitycall.sandbox import BUCKETS, create_app

COUNTRIES = sorted({country for country, _ in BUCKETS})
TYPES = {"mobile": NumberType.MOBILE, "local": NumberType.LOCAL, "toll-free": NumberType.TOLL_FREE}
TYPES["national"] = NumberType.NATIONAL


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, str]]:
    sandbox = create_app(seed=7)
    with LoopbackServer(sandbox.app) as server:
        yield sandbox, server.base_url + sandbox.base_path


async def search_all(sandbox: Sandbox, base_url: str, **options: Any) -> tuple[ProviderResult, ...]:
    options.setdefault("retry", RetryPolicy(initial=0.01))
    async with IdentityCallProvider(base_url=base_url, env=sandbox.env, **options) as adapter:
        return tuple([await adapter.search(SearchQuery(country=country)) for country in COUNTRIES])


def check_inventory(sandbox: Sandbox, results: tuple[ProviderResult, ...]) -> None:
    offers = [o for r in results for o in r.offers]
    rejected = [r for result in results for r in result.rejected]
    counts = Counter(o.offer_id for o in offers)
    valid = [r for r in sandbox.records if r.expected_valid]
    assert {r.offer_id: 1 for r in valid} == dict(counts)
    by_id = {o.offer_id: o for o in offers}
    for record in valid:
        offer = by_id[record.offer_id]
        assert (record.e164, record.country, record.region) == (offer.e164, offer.country, offer.region)
        assert TYPES[record.number_type or ""] == offer.number_type
        assert offer.setup_price is not None and offer.monthly_price is not None
        assert (record.upfront, record.monthly) == (offer.setup_price.amount, offer.monthly_price.amount)
        currency = record.currency or "USD"
        assert (currency, currency) == (offer.setup_price.currency, offer.monthly_price.currency)
        assert (record.currency is None) == bool(offer.provider_details.get("currency_assumed"))
    defects = sorted(r.offer_id for r in sandbox.records if not r.expected_valid)
    assert defects == sorted(r.offer_id or "" for r in rejected)
    assert {"identitycall"} == {r.provider for r in rejected}


@pytest.mark.anyio
async def test_every_stocked_country_arrives_exactly_once(served: tuple[Sandbox, str]) -> None:
    """Every valid inventory record arrives once, exactly priced; every defect record is rejected."""
    sandbox, base_url = served
    start = len(sandbox.log)
    check_inventory(sandbox, await search_all(sandbox, base_url))
    sent = [dict(r.query) for r in sandbox.log[start:]]
    assert all(q["number_type"] in TYPES for q in sent)
    assert len(COUNTRIES) * len(TYPES) == len(sent)


@pytest.mark.anyio
async def test_survives_rate_limits_and_server_errors() -> None:
    """With 429s and 5xx injected, retries still deliver the whole inventory exactly once."""
    sandbox = create_app(seed=3, faults=Faults(rate_429=0.2, rate_5xx=0.2, retry_after="0", seed=11))
    with LoopbackServer(sandbox.app) as server:
        results = await search_all(sandbox, server.base_url + sandbox.base_path, retry=RetryPolicy(8, initial=0.01))
    check_inventory(sandbox, results)
    assert any(entry.fault for entry in sandbox.log)


@pytest.mark.anyio
async def test_refused_country_and_wrong_key(served: tuple[Sandbox, str]) -> None:
    """A country the carrier refuses is a BadRequestError; a wrong key an AuthenticationError."""
    sandbox, base_url = served
    async with IdentityCallProvider(base_url=base_url, env=sandbox.env) as adapter:
        with pytest.raises(BadRequestError, match="not supported"):
            await adapter.search(SearchQuery(country="KP", number_type=NumberType.LOCAL))
        with pytest.raises(BadRequestError, match="not supported"):
            await adapter.search(SearchQuery(country="KP"))
    async with IdentityCallProvider(base_url=base_url, api_key="idc_" + "0" * 32) as adapter:
        with pytest.raises(AuthenticationError):
            await adapter.search(SearchQuery(country="US"))
