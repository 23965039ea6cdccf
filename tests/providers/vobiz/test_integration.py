"""The real Vobiz adapter against its sandbox, over loopback HTTP."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from numbroker import AuthenticationError, Capability, NumberType, ProviderResponseError, RetryPolicy, SearchQuery
from numbroker.adapters import ProviderResult
from numbroker.sandbox import Faults, LoopbackServer, Sandbox
from numbroker_providers.vobiz import VobizProvider
from numbroker_providers.vobiz.sandbox import create_app

SIZE = 600
"""Enough records that the biggest countries need a second page at per_page=100."""
DEFECT_FIELDS = {
    "invalid_number": "e164",
    "too_short": "e164",
    "country_mismatch": "e164",
    "negative_price": "monthly_fee",
    "garbage_price": "monthly_fee",
    "nan_price": "setup_fee",
    "status": "status",
}
"""The Vobiz field each kind of sandbox defect must be rejected on."""
TYPES = {"local": NumberType.LOCAL, "mobile": NumberType.MOBILE, "toll-free": NumberType.TOLL_FREE}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, str]]:
    sandbox = create_app(seed=7, size=SIZE)
    with LoopbackServer(sandbox.app) as server:
        yield sandbox, server.base_url + sandbox.base_path


def countries(sandbox: Sandbox) -> list[str]:
    return sorted({record.country for record in sandbox.records})


async def search_all(sandbox: Sandbox, base_url: str, **options: Any) -> tuple[ProviderResult, ...]:
    options.setdefault("retry", RetryPolicy(initial=0.01))
    async with VobizProvider(base_url=base_url, env=sandbox.env, **options) as adapter:
        return tuple([await adapter.search(SearchQuery(country=country)) for country in countries(sandbox)])


def check_inventory(sandbox: Sandbox, results: tuple[ProviderResult, ...]) -> None:
    offers = [o for r in results for o in r.offers]
    rejected = [r for result in results for r in result.rejected]
    valid = [r for r in sandbox.records if r.expected_valid]
    assert {r.offer_id: 1 for r in valid} == dict(Counter(o.offer_id for o in offers))
    by_id = {o.offer_id: o for o in offers}
    for record in valid:
        offer = by_id[record.offer_id]
        assert (record.e164, record.country, record.region or None) == (offer.e164, offer.country, offer.region)
        assert offer.setup_price is not None and offer.monthly_price is not None
        assert (record.upfront, record.monthly, record.currency, record.currency) == (
            offer.setup_price.amount,
            offer.monthly_price.amount,
            offer.setup_price.currency,
            offer.monthly_price.currency,
        )
        # No type on the wire: inferred from the plan; NANP geographic numbers (fixed or mobile) are local.
        nanp_geographic = record.country in ("US", "CA") and record.number_type != "toll-free"
        expected_type = NumberType.LOCAL if nanp_geographic else TYPES[record.number_type or ""]
        assert (expected_type, True) == (offer.number_type, offer.provider_details["number_type_inferred"])
        assert nanp_geographic == offer.provider_details.get("number_type_fixed_or_mobile", False)
        stated = record.raw.get("capabilities")
        expected_caps = None if stated is None else tuple(sorted(Capability(k) for k, v in stated.items() if v))
        assert expected_caps == offer.capabilities  # as the item states them; unknown when it states none
        assert record.raw.get("minimum_commitment_months") == offer.minimum_commitment_months
        for flag in ("is_trial_number", "aadhaar_verification_required"):
            assert record.raw.get(flag) == offer.provider_details.get(flag)
        assert ("active", record.raw["created_at"]) == (
            offer.provider_details["status"],
            offer.provider_details["created_at"],
        )
    defects = {r.offer_id: DEFECT_FIELDS[r.defect or ""] for r in sandbox.records if not r.expected_valid}
    assert defects == {r.offer_id: r.field for r in rejected}
    assert {"vobiz"} == {r.provider for r in rejected}
    assert all(r.reason for r in rejected)


@pytest.mark.anyio
async def test_every_stocked_country_arrives_exactly_once(served: tuple[Sandbox, str]) -> None:
    """Every valid record arrives once, exactly priced in its own currency; every defect record is rejected."""
    sandbox, base_url = served
    start = len(sandbox.log)

    check_inventory(sandbox, await search_all(sandbox, base_url))

    sent = [dict(entry.query) for entry in sandbox.log[start:]]
    assert {"100"} == {q["per_page"] for q in sent}
    assert any(q["page"] == "2" for q in sent)
    assert {200} == {entry.status for entry in sandbox.log[start:]}
    assert any(r.raw.get("monthly_cost") is not None for r in sandbox.records if r.expected_valid)


@pytest.mark.anyio
async def test_prefix_and_contains_narrow_through_search(served: tuple[Sandbox, str]) -> None:
    """A prefix sends `search=<calling code><prefix>`, `contains` its digits; results match the ground truth."""
    sandbox, base_url = served
    us = next(r for r in sandbox.records if r.expected_valid and r.country == "US" and r.number_type == "local")
    prefix, contains = us.e164[2:5], us.e164[6:10]
    async with VobizProvider(base_url=base_url, env=sandbox.env) as adapter:
        start = len(sandbox.log)
        prefixed = await adapter.search(SearchQuery(country="US", prefix=prefix))
        containing = await adapter.search(SearchQuery(country="US", contains=contains))

    valid_us = [r for r in sandbox.records if r.expected_valid and r.country == "US"]
    assert {r.offer_id for r in valid_us if r.e164.startswith("+1" + prefix)} == {o.offer_id for o in prefixed.offers}
    assert {r.offer_id for r in valid_us if contains in r.e164[1:]} == {o.offer_id for o in containing.offers}
    assert ["1" + prefix, contains] == [dict(entry.query)["search"] for entry in sandbox.log[start:]]


@pytest.mark.anyio
@pytest.mark.parametrize("lie", [30, 1000], ids=["total-too-low", "total-too-high"])
async def test_lying_totals_still_deliver_everything_once(lie: int) -> None:
    """A total that lies low or high changes how many pages are fetched, never which offers arrive."""
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
async def test_malformed_body_is_a_response_error() -> None:
    """A 200 whose body is not the inventory envelope is a ProviderResponseError."""
    sandbox = create_app(seed=5, size=SIZE, faults=Faults(rate_malformed=1.0))
    with LoopbackServer(sandbox.app) as server:
        async with VobizProvider(base_url=server.base_url + sandbox.base_path, env=sandbox.env) as adapter:
            with pytest.raises(ProviderResponseError):
                await adapter.search(SearchQuery(country="GB"))


@pytest.mark.anyio
async def test_wrong_token_is_an_authentication_error(served: tuple[Sandbox, str]) -> None:
    """A wrong auth token is an AuthenticationError carrying the request id, with the token never echoed."""
    sandbox, base_url = served
    wrong = {**sandbox.env, "VOBIZ_AUTH_TOKEN": "sandbox-wrong-token-0000"}
    async with VobizProvider(base_url=base_url, env=wrong) as adapter:
        with pytest.raises(AuthenticationError) as caught:
            await adapter.search(SearchQuery(country="US"))

    assert "sandbox-wrong-token-0000" not in str(caught.value)
    assert (caught.value.request_id or "").startswith("req_")
