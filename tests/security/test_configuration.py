"""Configuration that would leak credentials is refused before any request: plain http off loopback, path ids."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from numbroker import ConfigurationError, Provider, SearchQuery
from numbroker_providers.bird import BirdProvider
from numbroker_providers.identitycall import IdentityCallProvider
from numbroker_providers.vobiz import VobizProvider

CREDENTIALS: dict[type[Provider], dict[str, Any]] = {
    VobizProvider: {"auth_id": "MA_SAFE_ID", "auth_token": "canary-token-vobiz"},
    BirdProvider: {"access_key": "canary-key-bird", "organization_id": "org-safe"},
    IdentityCallProvider: {"api_key": "idc_canary"},
}
PLAIN_HTTP_OFF_LOOPBACK = [
    "http://api.vobiz.ai/api",
    "http://example.com",
    "http://localhost.example.com",
    "http://127.0.0.1.nip.io",
    "http://10.0.0.1",
    "http://0.0.0.0:8080",
    "http://[::ffff:8.8.8.8]",
    "http://2130706433",
    "ftp://127.0.0.1",
    "127.0.0.1:8080",
    "https://",
]
UNSAFE_IDS = ["../admin", "..", ".", "a/b", "a%2Fb", "%2e%2e", "a?b=1", "a#b", "a b", "a\nb", "é", "-x", "x" * 129]


class Recorder(httpx.AsyncBaseTransport):
    """A transport that records requests (and would answer 599): nothing may ever reach it here."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(599)


@pytest.mark.parametrize("cls", list(CREDENTIALS), ids=lambda c: c.id)
@pytest.mark.parametrize("url", PLAIN_HTTP_OFF_LOOPBACK)
def test_plain_http_to_anything_but_loopback_is_refused(cls: type[Provider], url: str) -> None:
    """A base URL that is not https (or http to a loopback address) is a ConfigurationError, argument or env."""
    recorder = Recorder()

    with pytest.raises(ConfigurationError):
        cls(base_url=url, transport=recorder, **CREDENTIALS[cls])
    with pytest.raises(ConfigurationError):
        cls(env={cls.base_url_env: url}, transport=recorder, **CREDENTIALS[cls])

    assert [] == recorder.requests


@pytest.mark.parametrize("cls", list(CREDENTIALS), ids=lambda c: c.id)
@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://localhost:9", "http://[::1]:8000", "https://a.example"]
)
def test_https_and_loopback_http_are_accepted(cls: type[Provider], url: str) -> None:
    """https anywhere and plain http to loopback are the only accepted base URLs."""
    assert url == cls(base_url=url, **CREDENTIALS[cls]).base_url


@pytest.mark.parametrize("value", UNSAFE_IDS)
@pytest.mark.parametrize(
    ("cls", "option", "env_var"),
    [
        (VobizProvider, "auth_id", "VOBIZ_AUTH_ID"),
        (BirdProvider, "organization_id", "BIRD_ORGANIZATION_ID"),
        (BirdProvider, "workspace_id", "BIRD_WORKSPACE_ID"),
    ],
    ids=["vobiz-auth-id", "bird-organization", "bird-workspace"],
)
def test_ids_that_go_into_url_paths_cannot_reach_another_endpoint(
    cls: type[Provider], option: str, env_var: str, value: str
) -> None:
    """An id with '/', '..', '%', '?', '#', spaces or non-ASCII is refused (argument or env), never echoed."""
    recorder = Recorder()
    given: dict[str, Any] = {**CREDENTIALS[cls], option: value}
    from_env: dict[str, Any] = {k: v for k, v in CREDENTIALS[cls].items() if k != option}

    with pytest.raises(ConfigurationError) as by_argument:
        cls(base_url="https://api.example", transport=recorder, **given)
    with pytest.raises(ConfigurationError):
        cls(base_url="https://api.example", transport=recorder, env={env_var: value}, **from_env)

    assert [] == recorder.requests
    assert len(value) < 3 or value not in str(by_argument.value)


@pytest.mark.anyio
async def test_a_valid_path_id_is_exactly_one_segment_of_the_request_path() -> None:
    """A valid auth id lands as one path segment between the documented ones (Vobiz) and org id (Bird)."""
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode().split("?")[0])
        if "numbers-stock-items" in request.url.path:
            return httpx.Response(200, json={"results": [], "nextPageToken": ""})
        return httpx.Response(200, json={"items": [], "page": 1, "per_page": 100, "total": 0})

    query = SearchQuery(country="US")
    async with VobizProvider(
        auth_id="MA_a-b_1",
        auth_token="canary-token",
        base_url="https://v.example/api",
        transport=httpx.MockTransport(handle),
    ) as vobiz:
        await vobiz.search(query)
    async with BirdProvider(
        access_key="canary-key",
        organization_id="org_1-23",
        base_url="https://b.example",
        transport=httpx.MockTransport(handle),
    ) as bird:
        await bird.search(query)

    assert ["/api/v1/account/MA_a-b_1/inventory/numbers", "/organizations/org_1-23/numbers-stock-items"] == seen
