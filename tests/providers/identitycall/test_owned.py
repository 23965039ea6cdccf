"""IdentityCall's owned numbers over loopback: the sandbox's owned inventory read exactly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from numbroker import ReleaseMode, RetryPolicy, SearchQuery
from numbroker.sandbox import LoopbackServer, Sandbox
from numbroker_providers.identitycall import IdentityCallProvider
from numbroker_providers.identitycall.sandbox import create_app


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, str]]:
    sandbox = create_app(seed=8, owned=140)
    with LoopbackServer(sandbox.app) as server:
        yield sandbox, server.base_url + sandbox.base_path


def adapter(sandbox: Sandbox, base_url: str) -> IdentityCallProvider:
    return IdentityCallProvider(base_url=base_url, env=sandbox.env, retry=RetryPolicy(initial=0.01))


def expected(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "provider_number_id": str(entry["id"]),
        "e164": entry["phone_number"],
        "country": entry["country_code"],
        "status": "active" if entry["active"] else "inactive",
        "monthly_price": None,
        "next_renewal": None,
        "routed": bool(entry["operators_count"] or entry["ai_receptionist_enabled"]),
        "sub_account": None,
    }


@pytest.mark.anyio
async def test_the_owned_list_is_the_sandbox_inventory_exactly(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    async with adapter(sandbox, base_url) as identitycall:
        numbers, rejected, stats = await identitycall.list_owned()
    entries = sandbox.options["owned"]
    assert (rejected, stats.truncated, stats.pages) == ([], False, 2)
    seen = {n.provider_number_id: {k: getattr(n, k) for k in expected(entries[0])} for n in numbers}
    assert seen == {str(e["id"]): expected(e) for e in entries}
    assert any(v["routed"] is False for v in seen.values()) and any(v["status"] == "inactive" for v in seen.values())


@pytest.mark.anyio
async def test_a_bought_number_joins_the_list() -> None:
    sandbox = create_app(seed=5, owned=2)
    with LoopbackServer(sandbox.app) as server:
        async with adapter(sandbox, server.base_url + sandbox.base_path) as identitycall:
            offer = (await identitycall.search(SearchQuery(country="US"))).offers[0]
            await identitycall.purchase(offer)
            numbers, _, _ = await identitycall.list_owned()
            assert await identitycall.owns(offer.e164)
    assert offer.e164 in {n.e164 for n in numbers} and len(numbers) == 3


def test_what_identitycall_can_do_after_purchase() -> None:
    declared = IdentityCallProvider.after_purchase
    assert declared is not None and IdentityCallProvider.lists_owned()
    assert (declared.release, declared.states_prices, declared.states_renewals) == (
        ReleaseMode.UNSUPPORTED,
        False,
        False,
    )
