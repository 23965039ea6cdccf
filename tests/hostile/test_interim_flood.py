"""An endless stream of ``100 Continue`` over a raw loopback socket fails its provider after a bounded count.

Without a count the HTTP library skips interim answers until the deadline, a core busy all the while;
with it the request fails after :data:`~numbroker.adapters._interim.MAX_INTERIM_RESPONSES` of them, named
as the provider's connection failure, and every other provider's offers still arrive.
"""

from __future__ import annotations

import pytest

from numbroker import ProviderConnectionError, ProviderStatus, RetryPolicy, Searcher, SearchQuery
from numbroker.adapters._interim import MAX_INTERIM_RESPONSES
from numbroker.sandbox import create_sandboxes, loopback_providers, serve_sandboxes
from numbroker.testing.hostile_wire import serve_interim_flood
from numbroker_providers.vobiz import VobizProvider

US = SearchQuery(country="US")
ONCE = RetryPolicy(attempts=1)
BOUND = f"more than {MAX_INTERIM_RESPONSES} interim (1xx) responses"


@pytest.mark.anyio
async def test_an_interim_flood_fails_the_request_at_the_bound_not_the_deadline() -> None:
    """With a minute to spare, the flood fails the search as a protocol error, not as a timeout."""
    with serve_interim_flood() as server:
        async with VobizProvider(
            auth_id="MA_FLOOD", auth_token="flood-token-1", base_url=server.base_url + "/api", retry=ONCE, timeout=60
        ) as provider:
            with pytest.raises(ProviderConnectionError) as caught:
                await provider.search(US)
    assert BOUND in str(caught.value)
    assert "flood-token-1" not in str(caught.value)
    assert 1 == server.connections


@pytest.mark.anyio
async def test_a_kept_alive_connection_counts_each_request_afresh() -> None:
    """Interim answers below the bound, then the real answer, on one connection twice: both requests succeed."""
    import httpx

    from numbroker.adapters._interim import InterimBoundedTransport
    from numbroker.testing.hostile_wire import serve_interim_then

    body = b'{"ok": true}'
    with serve_interim_then(MAX_INTERIM_RESPONSES, body) as server:
        transport = InterimBoundedTransport(verify=httpx.create_ssl_context(), limits=httpx.Limits())
        async with httpx.AsyncClient(transport=transport) as client:
            for _ in range(2):
                response = await client.get(server.base_url + "/")
                assert 200 == response.status_code
                assert body == response.content
    assert 1 == server.connections


@pytest.mark.anyio
async def test_one_more_interim_answer_than_the_bound_fails() -> None:
    """The bound is exact: one interim answer past it and the request fails, naming the bound."""
    import httpx

    from numbroker.adapters._interim import InterimBoundedTransport
    from numbroker.testing.hostile_wire import serve_interim_then

    with serve_interim_then(MAX_INTERIM_RESPONSES + 1, b"{}") as server:
        transport = InterimBoundedTransport(verify=httpx.create_ssl_context(), limits=httpx.Limits())
        async with httpx.AsyncClient(transport=transport) as client:
            with pytest.raises(httpx.RemoteProtocolError, match=r"more than \d+ interim"):
                await client.get(server.base_url + "/")


@pytest.mark.anyio
async def test_the_other_providers_offers_arrive_beside_a_flood() -> None:
    """One provider flooded, the others served: the flooded one is an error, the others' offers all arrive."""
    sandboxes = create_sandboxes(("vobiz", "bird", "identitycall"), size=30)
    with serve_sandboxes(sandboxes) as urls, serve_interim_flood() as flood:
        clean_providers = loopback_providers(sandboxes, urls, retry=ONCE)
        async with Searcher(clean_providers, own_providers=True) as searcher:
            clean = await searcher.search(US)
        flooded_urls = {**urls, "vobiz": flood.base_url + "/api"}
        async with Searcher(loopback_providers(sandboxes, flooded_urls, retry=ONCE), own_providers=True) as searcher:
            result = await searcher.search(US)
    report = next(r for r in result.providers if r.provider == "vobiz")
    assert ProviderStatus.ERROR == report.status
    assert report.error is not None and BOUND in report.error
    for other in ("bird", "identitycall"):
        expected = {o.offer.offer_id for o in clean.offers if o.offer.provider == other}
        assert expected
        assert expected == {o.offer.offer_id for o in result.offers if o.offer.provider == other}
