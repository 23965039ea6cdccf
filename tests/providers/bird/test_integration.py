"""The real Bird adapter against its sandbox, over loopback HTTP."""

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
    ProviderResponseError,
    RetryPolicy,
    SearchQuery,
)
from numbroker.adapters._stats import ProviderResult
from numbroker.sandbox import Faults, LoopbackServer, Sandbox
from numbroker_providers.bird import BirdProvider
from numbroker_providers.bird.sandbox import create_app

TYPES = {
    "local": NumberType.LOCAL,
    "mobile": NumberType.MOBILE,
    "toll-free": NumberType.TOLL_FREE,
    "national": NumberType.NATIONAL,
}
SIZE = 600
"""Enough stock items that the biggest countries need a second page at limit=99."""


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, str]]:
    sandbox = create_app(seed=7, size=SIZE)
    with LoopbackServer(sandbox.app) as server:
        yield sandbox, server.base_url + sandbox.base_path


def countries(sandbox: Sandbox) -> list[str]:
    return sorted({record.country for record in sandbox.records})


async def search_all(sandbox: Sandbox, base_url: str, **options: Any) -> tuple[ProviderResult, ...]:
    options.setdefault("retry", RetryPolicy(initial=0.01))
    async with BirdProvider(base_url=base_url, env=sandbox.env, **options) as adapter:
        return tuple([await adapter.search(SearchQuery(country=country)) for country in countries(sandbox)])


def check_inventory(sandbox: Sandbox, results: tuple[ProviderResult, ...]) -> None:
    offers = [o for r in results for o in r.offers]
    rejected = [r for result in results for r in result.rejected]
    valid = [r for r in sandbox.records if r.expected_valid]
    assert {r.offer_id: 1 for r in valid} == dict(Counter(o.offer_id for o in offers))
    by_id = {o.offer_id: o for o in offers}
    for record in valid:
        offer = by_id[record.offer_id]
        assert (record.e164, record.country) == (offer.e164, offer.country)
        assert TYPES[record.number_type or ""] == offer.number_type
        assert offer.setup_price is None and offer.monthly_price is not None
        assert (record.monthly, record.currency) == (offer.monthly_price.amount, offer.monthly_price.currency)
        flags = record.raw["capabilities"]
        expected = tuple(sorted(Capability(c) for c, d in flags.items() if d["inbound"] or d["outbound"]))
        assert expected == offer.capabilities
        assert flags == offer.provider_details["capability_directions"]
        assert record.raw["backOrderRequired"] == offer.provider_details["backOrderRequired"]
    defects = sorted(r.offer_id for r in sandbox.records if not r.expected_valid)
    assert defects == sorted(r.offer_id or "" for r in rejected)
    assert {"bird"} == {r.provider for r in rejected}
    assert all(r.field and r.reason for r in rejected)


@pytest.mark.anyio
async def test_every_stocked_country_arrives_exactly_once(served: tuple[Sandbox, str]) -> None:
    """Every valid stock item arrives once, exactly priced; every defect record is rejected; pages chain by token."""
    sandbox, base_url = served
    start = len(sandbox.log)

    check_inventory(sandbox, await search_all(sandbox, base_url))

    sent = [dict(entry.query) for entry in sandbox.log[start:]]
    assert {"99"} == {q["limit"] for q in sent}
    assert any("pageToken" in q for q in sent)
    assert {200} == {entry.status for entry in sandbox.log[start:]}


@pytest.mark.anyio
async def test_native_type_and_prefix_filters(served: tuple[Sandbox, str]) -> None:
    """`types=toll-free` and a `+44…` prefix are filtered by the sandbox and match its ground truth."""
    sandbox, base_url = served
    gb_local = next(r for r in sandbox.records if r.expected_valid and r.country == "GB" and r.number_type == "local")
    prefix = gb_local.e164[3:6]
    async with BirdProvider(base_url=base_url, env=sandbox.env) as adapter:
        toll_free = await adapter.search(SearchQuery(country="US", number_type=NumberType.TOLL_FREE))
        start = len(sandbox.log)
        prefixed = await adapter.search(SearchQuery(country="GB", prefix=prefix))

    expected_toll_free = {
        r.offer_id for r in sandbox.records if r.expected_valid and r.country == "US" and r.number_type == "toll-free"
    }
    assert expected_toll_free == {o.offer_id for o in toll_free.offers}
    expected_prefixed = {
        r.offer_id
        for r in sandbox.records
        if r.expected_valid and r.country == "GB" and r.e164.startswith("+44" + prefix)
    }
    assert expected_prefixed == {o.offer_id for o in prefixed.offers}
    assert ("+44" + prefix, "GB") == (
        dict(sandbox.log[start].query)["prefix"],
        dict(sandbox.log[start].query)["countryCodes"],
    )


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
    [(Faults(repeat_token=True), "repeated"), (Faults(rate_malformed=1.0), None)],
    ids=["repeat-token", "malformed"],
)
async def test_broken_paging_and_bodies(faults: Faults, error: str | None) -> None:
    """A repeated page token or a malformed page body is a ProviderResponseError."""
    sandbox = create_app(seed=5, size=SIZE, faults=faults)
    with LoopbackServer(sandbox.app) as server:
        async with BirdProvider(base_url=server.base_url + sandbox.base_path, env=sandbox.env) as adapter:
            with pytest.raises(ProviderResponseError, match=error):
                await adapter.search(SearchQuery(country="GB"))


@pytest.mark.anyio
async def test_wrong_key_and_wrong_organization(served: tuple[Sandbox, str]) -> None:
    """A wrong access key is an AuthenticationError (never echoed); an unknown organization a NotFoundError."""
    sandbox, base_url = served
    wrong_key = {**sandbox.env, "BIRD_ACCESS_KEY": "sandbox-wrong-key-0000"}
    async with BirdProvider(base_url=base_url, env=wrong_key) as adapter:
        with pytest.raises(AuthenticationError) as caught:
            await adapter.search(SearchQuery(country="US"))
    assert "sandbox-wrong-key-0000" not in str(caught.value)

    wrong_org = {**sandbox.env, "BIRD_ORGANIZATION_ID": "00000000-0000-0000-0000-000000000000"}
    async with BirdProvider(base_url=base_url, env=wrong_org) as adapter:
        with pytest.raises(NotFoundError):
            await adapter.search(SearchQuery(country="US"))
