"""The searcher against the three sandboxes over loopback HTTP, with their fault knobs turned on."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest

from numbroker import NumberType, OverallStatus, ProviderStatus, RetryPolicy, Searcher, SearchQuery
from numbroker.sandbox import Faults, Sandbox, create_sandboxes, loopback_providers, serve_sandboxes

US = SearchQuery(country="US")
QUICK = RetryPolicy(attempts=6, initial=0.01, max_delay=0.05, jitter=0.0)


@pytest.fixture
def sandboxes() -> Iterator[tuple[dict[str, Sandbox], dict[str, str]]]:
    boxes = create_sandboxes(["vobiz", "bird", "identitycall"])
    with serve_sandboxes(boxes) as urls:
        yield boxes, urls


def requests_to(sandbox: Sandbox, endpoint: str = "search") -> int:
    return sum(1 for r in sandbox.log if r.endpoint == endpoint)


@pytest.mark.anyio
async def test_down_slow_and_rate_limited_recovering(sandboxes: tuple[dict[str, Sandbox], dict[str, str]]) -> None:
    """One provider down, one slow past its timeout, one 429ing with Retry-After that recovers: partial, honest."""
    boxes, urls = sandboxes
    boxes["vobiz"].faults = Faults(rate_5xx=1.0)
    boxes["bird"].faults = Faults(latency=5.0)
    boxes["identitycall"].faults = Faults(rate_429=0.5, retry_after="1", seed=3)
    providers = loopback_providers(boxes, urls, retry=QUICK)

    async with Searcher(providers, timeout=20, provider_timeout=3.5, own_providers=True) as searcher:
        result = await searcher.search(US)

    reports = {r.provider: r for r in result.providers}
    assert OverallStatus.PARTIAL == result.status
    assert ProviderStatus.ERROR == reports["vobiz"].status
    assert QUICK.attempts == requests_to(boxes["vobiz"])
    assert ProviderStatus.TIMEOUT == reports["bird"].status
    assert ProviderStatus.OK == reports["identitycall"].status
    assert reports["identitycall"].retries >= 1
    statuses = [r.status for r in boxes["identitycall"].log if r.endpoint == "search"]
    assert 429 in statuses
    answered = {r.offer.provider for r in result.offers}
    assert "identitycall" in answered and not {"vobiz", "bird"} & answered


@pytest.mark.anyio
async def test_deadline_holds_when_a_provider_stalls(sandboxes: tuple[dict[str, Sandbox], dict[str, str]]) -> None:
    """A stalled response cannot hold the search past its global deadline; the others still deliver."""
    boxes, urls = sandboxes
    boxes["bird"].faults = Faults(rate_stall=1.0, stall_seconds=30)
    providers = loopback_providers(boxes, urls, retry=QUICK)

    async with Searcher(providers, timeout=1.5, own_providers=True) as searcher:
        started = anyio.current_time()
        result = await searcher.search(US)
        elapsed = anyio.current_time() - started

    assert elapsed < 1.5 + 0.5
    reports = {r.provider: r for r in result.providers}
    assert ProviderStatus.TIMEOUT == reports["bird"].status
    assert ProviderStatus.OK == reports["vobiz"].status
    assert ProviderStatus.OK == reports["identitycall"].status


@pytest.mark.anyio
async def test_client_errors_are_asked_once(sandboxes: tuple[dict[str, Sandbox], dict[str, str]]) -> None:
    """A 401 (wrong key) and a 422 (country the upstream refuses) are never retried."""
    boxes, urls = sandboxes
    bird = loopback_providers({"bird": boxes["bird"]}, urls, retry=QUICK)[0]
    vobiz = type(loopback_providers({"vobiz": boxes["vobiz"]}, urls)[0])(
        env={**boxes["vobiz"].env, "VOBIZ_AUTH_TOKEN": "wrong-token"}, base_url=urls["vobiz"], retry=QUICK
    )
    identitycall = loopback_providers({"identitycall": boxes["identitycall"]}, urls, retry=QUICK)[0]

    async with Searcher([vobiz, bird], own_providers=True) as searcher:
        result = await searcher.search(US)
    async with Searcher([identitycall], own_providers=True) as searcher:
        refused = await searcher.search(SearchQuery(country="CU", number_type=NumberType.LOCAL))

    assert ProviderStatus.AUTH_ERROR == {r.provider: r for r in result.providers}["vobiz"].status
    assert 1 == requests_to(boxes["vobiz"])
    assert ProviderStatus.ERROR == refused.providers[0].status
    assert "422" in (refused.providers[0].error or "")
    assert 1 == requests_to(boxes["identitycall"])
