"""The fan-out searcher: partial results, deadlines, retries, cancellation, streaming, top-k, sync API."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import anyio
import pytest

import numbroker
import numbroker.events
from numbroker import (
    AuthenticationError,
    BadRequestError,
    Capability,
    IncompleteSearchError,
    OverallStatus,
    ProviderStatus,
    ProviderUnavailableError,
    RateLimitedError,
    RetryPolicy,
    Searcher,
    SearchQuery,
)
from numbroker.events import ProviderFinished, SearchEvent
from numbroker.testing import FakeProvider, offer

US = SearchQuery(country="US")
FAST = RetryPolicy(attempts=3, initial=0.001, max_delay=0.01, jitter=0.0)


def fake(pid: str, count: int = 3, *, start: int = 0, **kwargs: Any) -> FakeProvider:
    offers = [offer(f"+1415555{start + i:04d}", provider=pid, monthly=f"{1 + i}.00") for i in range(count)]
    kwargs.setdefault("retry", FAST)
    return FakeProvider(offers, provider_id=pid, **kwargs)


def report(result: numbroker.SearchResult, pid: str) -> numbroker.ProviderReport:
    return next(r for r in result.providers if r.provider == pid)


@pytest.mark.anyio
async def test_all_providers_answer_complete() -> None:
    """Every provider's offers are merged and ranked; the overall status is complete."""
    async with Searcher([fake("a", 2), fake("b", 2, start=10)]) as searcher:
        result = await searcher.search(US)

    assert OverallStatus.COMPLETE == result.status
    assert 4 == len(result.offers)
    assert [Decimal("1.00"), Decimal("1.00"), Decimal("2.00"), Decimal("2.00")] == [
        r.offer.monthly_price.amount for r in result.offers if r.offer.monthly_price
    ]
    assert {"ok"} == {r.status.value for r in result.providers}


@pytest.mark.anyio
async def test_one_down_one_slow_one_rate_limited_that_recovers() -> None:
    """Partial failure is data: the dead and the slow are reported, the rate-limited one recovers."""
    down = fake("down", error=ProviderUnavailableError("down", "HTTP 503", status_code=503))
    slow = fake("slow", delay=5.0)
    limited = fake("limited", errors=[RateLimitedError("limited", "HTTP 429", retry_after=0.05)])
    healthy = fake("healthy", 2, start=20)

    async with Searcher([down, slow, limited, healthy], timeout=10, provider_timeout=0.5) as searcher:
        started = anyio.current_time()
        result = await searcher.search(US)
        elapsed = anyio.current_time() - started

    assert OverallStatus.PARTIAL == result.status
    assert ProviderStatus.ERROR == report(result, "down").status
    assert "HTTP 503" in (report(result, "down").error or "")
    assert ProviderStatus.TIMEOUT == report(result, "slow").status
    assert ProviderStatus.OK == report(result, "limited").status
    assert 1 == report(result, "limited").retries
    assert {"limited", "healthy"} == {r.offer.provider for r in result.offers}
    assert elapsed < 2


@pytest.mark.anyio
async def test_global_deadline_holds_when_a_provider_stalls() -> None:
    """A stalled provider cannot hold the search past its deadline; others' offers still arrive."""
    stalled = fake("stalled", delay=60.0)
    async with Searcher([stalled, fake("fine")], timeout=0.3) as searcher:
        started = anyio.current_time()
        result = await searcher.search(US)
        elapsed = anyio.current_time() - started

    assert elapsed < 0.3 + 0.5
    assert ProviderStatus.TIMEOUT == report(result, "stalled").status
    assert 3 == len(result.offers)
    assert "stalled: no complete answer within 0.3s" == report(result, "stalled").error


@pytest.mark.anyio
async def test_a_timeout_names_the_limit_set_even_when_a_provider_starts_late() -> None:
    """A provider whose task starts after the deadline (a slow start) reports the limit set, never a negative one."""
    import time

    def slow_start(event: SearchEvent) -> None:
        if isinstance(event, numbroker.events.ProviderStarted):
            time.sleep(0.2)  # the task begins its clock after the whole 0.1 s deadline

    async with Searcher([fake("stalled", delay=60.0)], timeout=0.1, on_event=slow_start) as searcher:
        result = await searcher.search(US)

    assert "stalled: no complete answer within 0.1s" == report(result, "stalled").error


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("error", "status"),
    [
        (BadRequestError("p", "HTTP 400", status_code=400), ProviderStatus.ERROR),
        (AuthenticationError("p", "HTTP 401", status_code=401), ProviderStatus.AUTH_ERROR),
        (BadRequestError("p", "HTTP 422", status_code=422), ProviderStatus.ERROR),
    ],
)
async def test_client_errors_are_not_retried(error: Exception, status: ProviderStatus) -> None:
    """400, 401 and 422 fail the provider at once: no retry is counted."""
    provider = fake("p", errors=[error])
    async with Searcher([provider]) as searcher:
        result = await searcher.search(US)

    assert status == report(result, "p").status
    assert 0 == report(result, "p").retries
    assert OverallStatus.FAILED == result.status


@pytest.mark.anyio
async def test_rate_limited_past_retries_is_reported_as_such() -> None:
    """A provider still answering 429 after every retry is reported rate_limited."""
    errors = [RateLimitedError("p", "HTTP 429", retry_after=0.0) for _ in range(5)]
    async with Searcher([fake("p", errors=errors)]) as searcher:
        result = await searcher.search(US)

    assert ProviderStatus.RATE_LIMITED == report(result, "p").status
    assert FAST.attempts - 1 == report(result, "p").retries


@pytest.mark.anyio
async def test_strict_mode_raises_with_the_result_attached() -> None:
    """Strict mode turns a partial search into IncompleteSearchError carrying the result."""
    down = fake("down", error=ProviderUnavailableError("down", "HTTP 500", status_code=500))
    async with Searcher([down, fake("up")], strict=True) as searcher:
        with pytest.raises(IncompleteSearchError) as info:
            await searcher.search(US)

    assert info.value.result is not None
    assert 3 == len(info.value.result.offers)


@pytest.mark.anyio
async def test_failure_after_some_pages_keeps_what_arrived() -> None:
    """A provider failing on its third page still contributes its first two pages, reported as error."""
    provider = fake(
        "p", 10, page_size=3, fail_on_page=3, error=ProviderUnavailableError("p", "HTTP 500", status_code=500)
    )
    async with Searcher([provider]) as searcher:
        result = await searcher.search(US)

    assert 6 == len(result.offers)
    assert ProviderStatus.ERROR == report(result, "p").status
    assert 2 == report(result, "p").pages


@pytest.mark.anyio
async def test_cancellation_cancels_in_flight_work() -> None:
    """Cancelling the search stops every provider task promptly."""
    slow = fake("slow", delay=30.0)
    async with Searcher([slow]) as searcher:
        started = anyio.current_time()
        with anyio.move_on_after(0.1) as scope:
            await searcher.search(US)

    assert scope.cancelled_caught
    assert anyio.current_time() - started < 1


@pytest.mark.anyio
async def test_searcher_closes_only_the_providers_it_built() -> None:
    """from_env-built providers are closed on exit; handed-in providers stay open."""
    mine = fake("mine")
    _ = mine.client
    async with Searcher([mine]):
        pass
    assert not mine.client.is_closed
    await mine.aclose()

    env = {"IDENTITYCALL_API_KEY": "idc_" + "a" * 32}
    async with Searcher.from_env(["identitycall"], env=env) as built:
        client = built.providers[0].client
    assert client.is_closed


@pytest.mark.anyio
async def test_unknown_capabilities_do_not_satisfy_a_capability_filter() -> None:
    """An offer whose capabilities are unknown is excluded and counted, never passed."""
    offers = [
        offer("+14155550001", provider="p", capabilities=None),
        offer("+14155550002", provider="p", capabilities=["sms", "voice"]),
        offer("+14155550003", provider="p", capabilities=["voice"]),
    ]
    query = SearchQuery(country="US", capabilities=(Capability.SMS,))
    async with Searcher([FakeProvider(offers, provider_id="p")]) as searcher:
        result = await searcher.search(query)

    assert ["+14155550002"] == [r.offer.e164 for r in result.offers]
    assert {"capabilities_unknown": 1, "capabilities": 1} == report(result, "p").excluded


@pytest.mark.anyio
async def test_one_per_number_across_providers() -> None:
    """The same number from two providers is kept once (the cheaper) with the other as an alternative."""
    a = FakeProvider([offer("+14155550001", provider="a", monthly="2")], provider_id="a")
    b = FakeProvider([offer("+14155550001", provider="b", monthly="1")], provider_id="b")
    async with Searcher([a, b]) as searcher:
        result = await searcher.search(US, one_per_number=True)

    assert ["b"] == [r.offer.provider for r in result.offers]
    assert ["a"] == [x.provider for x in result.offers[0].alternatives]


@pytest.mark.anyio
async def test_limits_per_provider_and_overall() -> None:
    """per_provider_limit stops fetching early; query.limit keeps the best N after ranking."""
    big = fake("big", 100, page_size=10)
    async with Searcher([big, fake("small", 5, start=500)], per_provider_limit=20) as searcher:
        result = await searcher.search(SearchQuery(country="US", limit=7))

    assert 7 == len(result.offers)
    assert 20 == report(result, "big").offers
    assert report(result, "big").pages <= 3


@pytest.mark.anyio
async def test_stream_yields_offers_before_the_slowest_provider_answers() -> None:
    """The first offers arrive while a slow provider is still working."""
    slow = fake("slow", delay=0.5)
    quick = fake("quick", start=100)
    async with Searcher([slow, quick]) as searcher:
        started = anyio.current_time()
        async with searcher.stream(US) as stream:
            first_at = None
            seen = []
            async for item in stream:
                first_at = first_at or anyio.current_time() - started
                seen.append(item.provider)
        assert stream.result is not None

    assert first_at is not None and first_at < 0.3
    assert ["quick"] * 3 + ["slow"] * 3 == seen
    assert OverallStatus.COMPLETE == stream.result.status


@pytest.mark.anyio
async def test_leaving_a_stream_early_cancels_the_rest() -> None:
    """Breaking out of the stream cancels providers still running."""
    slow = fake("slow", delay=30)
    async with Searcher([slow, fake("quick", start=100)]) as searcher:
        started = anyio.current_time()
        async with searcher.stream(US) as stream:
            async for _ in stream:
                break

    assert anyio.current_time() - started < 1


@pytest.mark.anyio
async def test_top_k_matches_full_search_head() -> None:
    """top_k returns the same best offers as a full search cut to k."""
    providers = [fake("a", 40, page_size=7), fake("b", 40, start=100, page_size=9)]
    async with Searcher(providers) as searcher:
        full = await searcher.search(US)
        top = await searcher.top_k(US, 10)

    assert [r.offer.offer_id for r in full.offers[:10]] == [r.offer.offer_id for r in top.offers]


@pytest.mark.anyio
async def test_events_and_logs_describe_the_search(caplog: pytest.LogCaptureFixture) -> None:
    """Subscribers see each provider start and finish; logs say how each ended."""
    events: list[SearchEvent] = []
    caplog.set_level(logging.INFO, logger="numbroker")
    async with Searcher([fake("a"), fake("b", start=50)], on_event=events.append) as searcher:
        await searcher.search(US)

    finished = [e for e in events if isinstance(e, ProviderFinished)]
    assert {"a", "b"} == {e.provider for e in finished}
    assert any("a: ok" in r.getMessage() for r in caplog.records)


@pytest.mark.anyio
async def test_a_broken_event_callback_does_not_break_the_search() -> None:
    """An exception in on_event is logged and ignored."""

    def boom(event: SearchEvent) -> None:
        raise RuntimeError("subscriber bug")

    async with Searcher([fake("a")], on_event=boom) as searcher:
        result = await searcher.search(US)

    assert 3 == len(result.offers)


def test_sync_search_and_skipped_providers() -> None:
    """The synchronous API runs its own loop; providers without credentials are skipped, not errors."""
    result = numbroker.search(country="US", env={}, timeout=5)

    assert OverallStatus.FAILED == result.status
    assert {"skipped"} == {r.status.value for r in result.providers}
    assert all(r.missing_env for r in result.providers)


def test_same_results_on_asyncio_and_trio() -> None:
    """The same search gives the same ranked offers and reports on both backends."""

    async def run() -> list[tuple[str, str, str | None]]:
        async with Searcher([fake("a", 5), fake("b", 5, start=9)]) as searcher:
            result = await searcher.search(US, sort="first-bill")
        return [(r.offer.provider, r.offer.e164, str(r.rank_price)) for r in result.offers]

    assert anyio.run(run, backend="asyncio") == anyio.run(run, backend="trio")


def test_invalid_searcher_options_fail_fast() -> None:
    """Duplicate ids, non-positive timeouts and unknown sort keys are configuration errors."""
    with pytest.raises(numbroker.ConfigurationError):
        Searcher([fake("a"), fake("a")])
    with pytest.raises(numbroker.ConfigurationError):
        Searcher([fake("a")], timeout=0)
    with pytest.raises(numbroker.ConfigurationError, match="sort must be one of"):
        anyio.run(lambda: Searcher([fake("a")]).search(US, sort="cheapest"))


@pytest.mark.anyio
async def test_limit_applies_per_currency_when_currencies_are_not_compared() -> None:
    """Without rates, offers in two currencies are ranked apart and the limit keeps the best N of each."""
    eur = [offer(f"+1415555{i:04d}", provider="p", monthly=f"{i + 1}", currency="EUR") for i in range(4)]
    usd = [offer(f"+1415556{i:04d}", provider="p", monthly=f"{i + 1}", currency="USD") for i in range(4)]
    async with Searcher([FakeProvider([*usd, *eur], provider_id="p")]) as searcher:
        result = await searcher.search(SearchQuery(country="US", limit=2))

    assert ["EUR", "USD"] == result.ranked_per_currency
    assert ["EUR", "EUR", "USD", "USD"] == [
        r.offer.monthly_price.currency for r in result.offers if r.offer.monthly_price
    ]


class _OnePageFake(FakeProvider):
    paging = "none"


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # trio deliberately runs new tasks in no set order
async def test_token_chains_start_first_and_reports_keep_the_configured_order() -> None:
    """A token-paged provider walks its pages one after another: its task starts first."""
    started: list[str] = []

    def on_event(event: SearchEvent) -> None:
        if isinstance(event, numbroker.events.ProviderStarted):
            started.append(event.provider)

    single = _OnePageFake([offer("+14155550001", provider="single")], provider_id="single")
    async with Searcher([single, fake("chain")], on_event=on_event) as searcher:
        result = await searcher.search(US)

    assert ["chain", "single"] == started
    assert ["single", "chain"] == [r.provider for r in result.providers]
    assert OverallStatus.COMPLETE == result.status


class _NoSetupFees(FakeProvider):
    """A vendor that states no setup prices at all (as Twilio, Bird and Vonage)."""

    states_setup_prices = False


@pytest.mark.anyio
async def test_an_unstated_setup_price_means_what_buying_takes_it_to_mean() -> None:
    """--max-setup 0: a vendor stating no setup prices charges none; one that states them is unknown without one."""
    none_stated = _NoSetupFees([offer("+14155550001", provider="t", setup=None)], provider_id="t")
    stated = FakeProvider([offer("+14155550002", provider="v", setup=None)], provider_id="v")
    query = SearchQuery(country="US", max_setup_price=numbroker.Money(amount=Decimal(0), currency="USD"))

    async with Searcher([none_stated, stated]) as searcher:
        result = await searcher.search(query)

    assert ["+14155550001"] == [r.offer.e164 for r in result.offers]
    assert {"setup_price_unknown": 1} == dict(result.excluded)
