"""The fan-out searcher: every provider at once, under deadlines, with an honest report of each.

* One task per provider in an anyio task group (asyncio and trio alike).
* A global deadline for the whole search and a per-provider timeout; a provider that runs out of
  time is reported ``timeout`` with whatever offers it had already delivered.
* A global limit on requests in flight, shared by every provider; each provider's own rate limit
  and its retries of idempotent GETs live in the provider base class.
* Partial success is data: a failing provider becomes a report, never an exception. An unexpected
  error while one provider's pages are read, normalized or ranked (an ``ArithmeticError`` on its data,
  say) fails that provider alone (``error``, with the error's type), never the others' results.
  ``strict=True`` raises :class:`IncompleteSearchError` when any provider failed.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from numbroker._exceptions import (
    ConfigurationError,
    ProviderError,
)
from numbroker._inputs import check_count, check_seconds
from numbroker._models import AvailableNumber, RejectedRecord, SearchQuery
from numbroker._pricing import ExchangeRates
from numbroker._ranking import Ranker, Ranking, SortedRuns, TopK
from numbroker._registry import providers_from_env
from numbroker._reports import (
    IncompleteSearchError,
    OverallStatus,
    ProviderReport,
    ProviderStatus,
    SearchResult,
    overall_status,
    status_for,
)
from numbroker._sync import run_sync
from numbroker._types import SortKey
from numbroker.adapters import PageResult, Provider, ProviderRun, RequestSlots
from numbroker.events import ProviderFinished, ProviderStarted, SearchEvent, notify

# The report types are defined in _reports; they stay importable here.
__all__ = [
    "OverallStatus",
    "ProviderReport",
    "ProviderStatus",
    "SearchResult",
    "SearchStream",
    "Searcher",
    "search",
]

logger = logging.getLogger("numbroker.search")

DEFAULT_DEADLINE = 30.0
"""Seconds the whole search may take by default."""

REJECTED_KEPT_IN_STREAMS = 1000
"""Streaming and top-k searches keep at most this many rejected records in all (all are counted).

Every search keeps at most :data:`~numbroker.adapters._normalizing.REJECTED_KEPT` per provider.
"""


def _start_order(provider: Provider) -> int:
    return {"token": 0, "numbered": 1}.get(provider.paging, 2)


@dataclass
class _Collect:
    """Mutable state of one search run."""

    rejected: list[RejectedRecord] = field(default_factory=list)
    reports: dict[str, ProviderReport] = field(default_factory=dict)
    rejected_cap: int | None = None

    def add_rejected(self, records: Sequence[RejectedRecord]) -> None:
        room = len(records) if self.rejected_cap is None else max(0, self.rejected_cap - len(self.rejected))
        self.rejected.extend(records[:room])


class Searcher:
    """Searches every provider concurrently and ranks what they offer.

    Use as an async context manager; leaving it closes the providers it built itself (via
    :meth:`from_env`) and leaves providers you handed it open.

    Example:
        >>> async with Searcher.from_env() as searcher:                      # doctest: +SKIP
        ...     result = await searcher.search(SearchQuery(country="US", prefix="212"))
        ...     for ranked in result.offers[:5]:
        ...         print(ranked.offer.e164, ranked.offer.monthly_price, ranked.offer.provider)
    """

    def __init__(
        self,
        providers: Sequence[Provider],
        *,
        timeout: float = DEFAULT_DEADLINE,
        provider_timeout: float | None = None,
        max_concurrency: int = 16,
        per_provider_limit: int | None = None,
        strict: bool = False,
        on_event: Callable[[SearchEvent], None] | None = None,
        skipped: Mapping[str, list[str]] | None = None,
        own_providers: bool = False,
    ) -> None:
        """Configure a searcher.

        Args:
            providers: the providers to ask (ids must be unique).
            timeout: global deadline in seconds for one whole search.
            provider_timeout: per-provider limit in seconds (default: the global deadline).
            max_concurrency: HTTP requests in flight at once, across all providers (a token chain's next
                page takes the next free slot ahead of waiting page requests: it holds up the rest of its chain).
            per_provider_limit: stop fetching from a provider after this many matching offers (vendor order,
                so it saves requests at the cost of completeness: only as many numbered pages are in flight
                as the offers still wanted could fill; leave unset to compare every offer).
            strict: raise :class:`IncompleteSearchError` when any provider failed.
            on_event: called with every :class:`SearchEvent` (progress displays, metrics).
            skipped: provider id → missing environment variables, reported as ``skipped``.
            own_providers: close the providers when the searcher closes.
        """
        ids = [p.id for p in providers]
        if len(ids) != len(set(ids)):
            raise ConfigurationError(f"provider ids must be unique, got {ids}")
        timeout = check_seconds("timeout", timeout)
        if provider_timeout is not None:
            provider_timeout = check_seconds("provider_timeout", provider_timeout)
        check_count("max_concurrency", max_concurrency)
        if per_provider_limit is not None:
            check_count("per_provider_limit", per_provider_limit)
        self.providers = list(providers)
        self.timeout = timeout
        self.provider_timeout = provider_timeout
        self.max_concurrency = max_concurrency
        self.per_provider_limit = per_provider_limit
        self.strict = strict
        self.on_event = on_event
        self.skipped = dict(skipped or {})
        self._own = own_providers

    @classmethod
    def from_env(
        cls,
        ids: Iterable[str] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        provider_options: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Searcher:
        """Build a searcher over every provider whose credentials are in the environment.

        Providers without credentials are reported ``skipped`` with the variables they need.

        Args:
            ids: provider ids to use (default: every known provider).
            env: where to read variables (default ``os.environ``).
            provider_options: passed to every provider constructor (``timeout=``, ``retry=``...).
            **options: passed to :class:`Searcher`.
        """
        built, skipped = providers_from_env(ids, env=env, **dict(provider_options or {}))
        return cls(built, skipped=skipped, own_providers=True, **options)

    async def aclose(self) -> None:
        """Close the providers this searcher owns."""
        if self._own:
            for provider in self.providers:
                await provider.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- the fan-out -------------------------------------------------------------------------------

    def _emit(self, event: SearchEvent) -> None:
        notify(self.on_event, event)

    async def _fan_out(
        self,
        query: SearchQuery,
        on_page: Callable[[PageResult], Any],
        state: _Collect,
        *,
        drop_repeats: bool = True,
    ) -> list[ProviderReport]:
        """Run every provider's task; return their reports (skipped ones included).

        ``drop_repeats``: each provider delivers an offer its vendor serves twice (shifting pages) only once.
        """
        limiter = RequestSlots(self.max_concurrency)
        normalizing = anyio.Lock()
        deadline = anyio.current_time() + self.timeout

        async def run(provider: Provider) -> None:
            self._emit(ProviderStarted(provider.id))
            run_state = ProviderRun(emit=self._emit, limiter=limiter, normalizing=normalizing)
            started = anyio.current_time()
            status = ProviderStatus.OK
            error: str | None = None
            error_type: str | None = None
            own_deadline = deadline if self.provider_timeout is None else min(deadline, started + self.provider_timeout)

            async def sink(page: PageResult) -> None:
                state.add_rejected(page.rejected)
                result = on_page(page)
                if result is not None:
                    await result

            with anyio.CancelScope(deadline=own_deadline) as scope:
                try:
                    await provider.stream_pages(
                        query, sink, run=run_state, max_offers=self.per_provider_limit, drop_repeats=drop_repeats
                    )
                except ProviderError as exc:
                    status, error, error_type = status_for(exc), str(exc), type(exc).__name__
                except Exception as exc:
                    # Contained to this provider: its data must never take the others' results down.
                    logger.error("%s: unexpected %s while searching", provider.id, type(exc).__name__)
                    status, error_type = ProviderStatus.ERROR, type(exc).__name__
                    error = f"{provider.id}: unexpected error while reading its offers: {type(exc).__name__}: {exc}"[
                        :600
                    ]
            if scope.cancelled_caught:
                # The limit the caller set, not the time left when this provider's task began (which a
                # slow start can make negative).
                limit = self.timeout if self.provider_timeout is None else min(self.timeout, self.provider_timeout)
                status, error, error_type = (
                    ProviderStatus.TIMEOUT,
                    f"{provider.id}: no complete answer within {limit:g}s",
                    "ProviderTimeoutError",
                )
            stats = run_state.stats
            report = ProviderReport.from_stats(
                provider.id,
                status,
                stats,
                elapsed_ms=round((anyio.current_time() - started) * 1000),
                error=provider.redact(error) if error else None,
                error_type=error_type,
                unapplied_filters={k.value: v.value for k, v in provider.unapplied_filters(query).items()},
                excluded=dict(stats.excluded),
                notes=[provider.redact(note) for note in stats.report_notes()],
            )
            state.reports[provider.id] = report
            logger.info("%s: %s (%d offers, %d ms)", provider.id, status.value, stats.offers, report.elapsed_ms)
            self._emit(ProviderFinished(provider.id, report))

        async with anyio.create_task_group() as tg:
            # Longest chains first: a token-paged provider must walk its pages one after another, so its
            # first request should leave before the others'. Reports keep the configured order.
            for provider in sorted(self.providers, key=_start_order):
                tg.start_soon(run, provider)
        reports = [state.reports[p.id] for p in self.providers]
        reports += [
            ProviderReport(provider=pid, status=ProviderStatus.SKIPPED, missing_env=missing, error="not configured")
            for pid, missing in self.skipped.items()
        ]
        return reports

    def _finish(
        self,
        query: SearchQuery,
        reports: list[ProviderReport],
        state: _Collect,
        ranking: Ranking,
        strict: bool | None,
    ) -> SearchResult:
        """Assemble the result from the reports, the rejected records and the ranking; raise if strict."""
        for report in reports:
            report.unpriced = ranking.unpriced.get(report.provider, 0)
        result = SearchResult(
            query=query,
            status=overall_status(reports),
            offers=ranking.offers,
            rejected=state.rejected,
            providers=reports,
            sort=ranking.sort,
            months=ranking.months,
            currency=ranking.currency,
            ranked_per_currency=ranking.per_currency,
            unconverted=ranking.unconverted,
            excluded=ranking.excluded,
            rejected_total=sum(report.rejected for report in reports),
        )
        if (self.strict if strict is None else strict) and result.status is not OverallStatus.COMPLETE:
            cut = [r for r in result.providers if r.truncated and not r.status.failed]
            failed = (
                ", ".join(
                    [f"{r.provider} ({r.status.value})" for r in result.failures]
                    + [f"{r.provider} (truncated)" for r in cut]
                )
                or "no provider configured"
            )
            raise IncompleteSearchError(f"search {result.status.value}: {failed}", result)
        return result

    # -- the public forms --------------------------------------------------------------------------

    async def search(
        self,
        query: SearchQuery,
        *,
        sort: SortKey | str = SortKey.MONTHLY,
        months: int = 12,
        currency: str | None = None,
        rates: ExchangeRates | Mapping[str, Any] | None = None,
        one_per_number: bool = False,
        strict: bool | None = None,
    ) -> SearchResult:
        """Ask every provider, then filter, convert and rank what they offered.

        Args:
            query: what to look for; ``query.limit`` keeps the best N after ranking.
            sort: ``monthly`` (default), ``setup``, ``first-bill`` or ``total``.
            months: months for the ``total`` key.
            currency: target currency to convert every price into (needs ``rates`` unless all offers use it).
            rates: exchange rates (an :class:`ExchangeRates` or its JSON form as a mapping).
            one_per_number: keep only the cheapest offer per E.164, listing the others as alternatives.
            strict: override the searcher's ``strict``.

        Raises:
            IncompleteSearchError: in strict mode, when any provider failed (the result is attached).
        """
        ranker = _ranker(query, sort, months, currency, rates, self.providers)
        prepared = SortedRuns()
        state = _Collect()
        # Each page is priced and keyed as it arrives (while later pages are still on the wire): after the
        # last page only the sort is left.
        reports = await self._fan_out(query, lambda page: prepared.add(ranker.prepare(page.offers)), state)
        ranking = ranker.ranking(prepared, one_per_number=one_per_number)
        return self._finish(query, reports, state, ranking, strict)

    async def top_k(
        self,
        query: SearchQuery,
        k: int,
        *,
        sort: SortKey | str = SortKey.MONTHLY,
        months: int = 12,
        currency: str | None = None,
        rates: ExchangeRates | Mapping[str, Any] | None = None,
        strict: bool | None = None,
    ) -> SearchResult:
        """Like :meth:`search` but keeps only the ``k`` best offers (per ranking currency) in bounded memory.

        Memory stays flat however many offers stream past; rejected records are counted, and the
        first :data:`REJECTED_KEPT_IN_STREAMS` kept.
        """
        ranker = _ranker(query, sort, months, currency, rates, self.providers)
        keeper = TopK(ranker, k)
        state = _Collect(rejected_cap=REJECTED_KEPT_IN_STREAMS)

        def on_page(page: PageResult) -> None:
            for offer in page.offers:
                keeper.push(offer)

        # Repeats are dropped by the keeper among the k it holds, so no provider keeps every offer id.
        reports = await self._fan_out(query, on_page, state, drop_repeats=False)
        return self._finish(query, reports, state, keeper.ranking(), strict)

    @asynccontextmanager
    async def stream(self, query: SearchQuery, *, buffer: int = 256) -> AsyncIterator[SearchStream]:
        """Yield offers as each page is normalized, before the slowest provider answers.

        Offers arrive unranked, in arrival order. After the loop has run to its end, ``stream.result``
        holds the reports (its ``offers`` is empty: the stream does not keep them). Leaving the loop or
        the block early (``break``) cancels the providers still running, and ``stream.result`` then
        stays None: there is no complete account of a search that was stopped.

        Example:
            >>> async with searcher.stream(query) as offers:                # doctest: +SKIP
            ...     async for offer in offers:
            ...         if offer.monthly_price and offer.monthly_price.amount < 1:
            ...             break
        """
        send, receive = anyio.create_memory_object_stream[AvailableNumber](buffer)
        stream = SearchStream(receive)
        state = _Collect(rejected_cap=REJECTED_KEPT_IN_STREAMS)

        async def produce(sender: MemoryObjectSendStream[AvailableNumber]) -> None:
            async def on_page(page: PageResult) -> None:
                for offer in page.offers:
                    await sender.send(offer)

            with sender:
                reports = await self._fan_out(query, on_page, state)
                # Set the result before closing the sender, so a consumer whose loop just ended sees it.
                # Nothing is ranked: the result carries the reports and an empty ranking.
                stream.result = self._finish(query, reports, state, Ranking(), False)

        async with anyio.create_task_group() as tg:
            tg.start_soon(produce, send)
            try:
                yield stream
            finally:
                tg.cancel_scope.cancel()
                await receive.aclose()


class SearchStream:
    """Offers as they arrive (an async iterator); ``result`` holds the reports once the search ended.

    ``result`` is None until every provider has finished, and stays None after an early ``break``.
    """

    def __init__(self, receive: MemoryObjectReceiveStream[AvailableNumber]) -> None:
        self._receive = receive
        self.result: SearchResult | None = None

    def __aiter__(self) -> AsyncIterator[AvailableNumber]:
        return self._receive.__aiter__()


def _ranker(
    query: SearchQuery,
    sort: SortKey | str,
    months: int,
    currency: str | None,
    rates: ExchangeRates | Mapping[str, Any] | None,
    providers: Sequence[Provider] = (),
) -> Ranker:
    try:
        key = SortKey(sort)
    except ValueError:
        raise ConfigurationError(f"sort must be one of {', '.join(s.value for s in SortKey)}; got {sort!r}") from None
    exchange = ExchangeRates.model_validate(rates) if isinstance(rates, Mapping) else rates
    unstated = frozenset(p.id for p in providers if not p.states_setup_prices)
    return Ranker(query, key, months, currency, exchange, setup_unstated=unstated)


def search(
    query: SearchQuery | None = None,
    /,
    *,
    providers: Iterable[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_DEADLINE,
    sort: SortKey | str = SortKey.MONTHLY,
    months: int = 12,
    currency: str | None = None,
    rates: ExchangeRates | Mapping[str, Any] | None = None,
    one_per_number: bool = False,
    strict: bool = False,
    backend: str = "asyncio",
    **query_fields: Any,
) -> SearchResult:
    """Search synchronously (runs its own event loop): for scripts and notebooks without async code.

    Builds every provider configured in the environment, searches, ranks and closes them.

    Example:
        >>> result = numbroker.search(country="GB", prefix="20", sort="first-bill")   # doctest: +SKIP
        >>> result.offers[0].offer.e164                                                # doctest: +SKIP

    Args:
        query: a :class:`SearchQuery`, or leave it out and give its fields as keywords (``country=`` ...).
        providers: provider ids to use (default: every configured one).
        env: where credentials are read from (default ``os.environ``).
        timeout: the global deadline in seconds.
        sort: see :meth:`Searcher.search`. months/currency/rates/one_per_number/strict likewise.
        backend: the anyio backend to run on (``asyncio`` or ``trio``).
        months: see :meth:`Searcher.search`.
        currency: see :meth:`Searcher.search`.
        rates: see :meth:`Searcher.search`.
        one_per_number: see :meth:`Searcher.search`.
        strict: see :meth:`Searcher.search`.
        **query_fields: :class:`SearchQuery` fields when ``query`` is not given.
    """
    if query is None:
        query = SearchQuery.model_validate(query_fields)
    elif query_fields:
        raise ConfigurationError("give either a SearchQuery or its fields as keywords, not both")
    final = query

    async def main() -> SearchResult:
        async with Searcher.from_env(providers, env=env, timeout=timeout, strict=strict) as searcher:
            return await searcher.search(
                final,
                sort=sort,
                months=months,
                currency=currency,
                rates=rates,
                one_per_number=one_per_number,
            )

    return run_sync(main, backend=backend)
