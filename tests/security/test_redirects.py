"""A provider that answers 3xx to another origin never gets numbroker to send it the credentials.

Two loopback servers: the first answers every request with a redirect to the same path on the second,
which records whatever reaches it. Real adapters, their own HTTP client or an injected one that would
follow redirects: the second server must never see a request.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from numbroker import BadRequestError, Provider, ProviderStatus, RetryPolicy, Searcher, SearchQuery
from numbroker.sandbox import LoopbackServer
from numbroker_providers.bird import BirdProvider
from numbroker_providers.identitycall import IdentityCallProvider
from numbroker_providers.vobiz import VobizProvider

CREDENTIALS: dict[type[Provider], dict[str, Any]] = {
    VobizProvider: {"auth_id": "MA_REDIRECT", "auth_token": "canary-token-vobiz-3xx"},
    BirdProvider: {"access_key": "canary-key-bird-3xx", "organization_id": "org-redirect"},
    IdentityCallProvider: {"api_key": "idc_canary3xx"},
}


class Recording:
    """A raw ASGI app that records each request (path and headers) and answers 404."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.requests.append({"path": scope["path"], "headers": dict(scope["headers"])})
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


class Redirecting:
    """A raw ASGI app answering every request with ``status`` to the same path and query on ``target``."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.status = 302
        self.hits: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = scope["query_string"].decode()
        where = scope["path"] + (f"?{query}" if query else "")
        self.hits.append(where)
        headers = [(b"location", f"{self.target}{where}".encode())]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[str, Redirecting, Recording]]:
    """(the redirecting base URL, the redirecting app, the recording second origin), served once per module."""
    other = Recording()
    with LoopbackServer(other) as second:
        redirect = Redirecting(second.base_url)
        with LoopbackServer(redirect) as first:
            yield first.base_url, redirect, other


@pytest.fixture(params=[301, 302, 303, 307, 308])
def servers(
    request: pytest.FixtureRequest, pair: tuple[str, Redirecting, Recording]
) -> tuple[str, list[str], Recording]:
    """(the redirecting base URL answering this status, the requests it saw, the recording second origin)."""
    base_url, redirect, other = pair
    redirect.status = request.param
    redirect.hits.clear()
    other.requests.clear()
    return base_url, redirect.hits, other


@pytest.mark.anyio
@pytest.mark.parametrize("cls", list(CREDENTIALS), ids=lambda c: c.id)
@pytest.mark.parametrize("injected", [False, True], ids=["own-client", "client-that-follows"])
async def test_redirect_is_an_error_and_the_other_origin_sees_nothing(
    servers: tuple[str, list[str], Recording], cls: type[Provider], injected: bool
) -> None:
    """Every 3xx is a BadRequestError naming the redirect; nothing reaches the Location's origin."""
    base_url, hits, other = servers
    client = httpx.AsyncClient(follow_redirects=True) if injected else None
    provider = cls(
        base_url=base_url, http_client=client, retry=RetryPolicy(attempts=3, initial=0.01), **CREDENTIALS[cls]
    )
    try:
        async with provider:
            with pytest.raises(BadRequestError, match="redirect not followed") as caught:
                await provider.search(SearchQuery(country="US"))
    finally:
        if client is not None:
            await client.aclose()

    assert [] == other.requests
    assert hits and len(hits) == len(set(hits)), "a redirect is never retried"
    for secret in CREDENTIALS[cls].values():
        assert secret not in str(caught.value)


@pytest.mark.anyio
async def test_searcher_reports_redirecting_providers_as_errors(servers: tuple[str, list[str], Recording]) -> None:
    """Through the Searcher, each redirecting provider is reported ``error``; the other origin sees nothing."""
    base_url, _, other = servers
    providers = [cls(base_url=base_url, **creds) for cls, creds in CREDENTIALS.items()]

    async with Searcher(providers, own_providers=True) as searcher:
        result = await searcher.search(SearchQuery(country="US"))

    assert {ProviderStatus.ERROR} == {r.status for r in result.providers}
    assert {"BadRequestError"} == {r.error_type for r in result.providers}
    assert [] == other.requests
