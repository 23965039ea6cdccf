"""The page-streaming template: every page of one provider's search fetched, normalized and handed on.

:meth:`Provider.stream_pages <numbroker.adapters.Provider.stream_pages>` delegates here. The provider's
declared paging style picks the engine (:class:`~numbroker.adapters._paging.NumberedWalk`,
:func:`~numbroker.adapters._paging.walk_tokens`, or one request); each raw page is normalized one at a time per
search (:func:`~numbroker.adapters._normalizing.normalize_page`) and delivered to the consumer as soon as it is
ready. Anything unexpected that one vendor's page makes the adapter raise fails that provider alone.
The search's run is set for the whole walk (:func:`~numbroker.adapters._stats.running`), so every request,
retry and note the adapter's hooks make, in whatever task, is counted on it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Literal, Protocol

import anyio

from numbroker._exceptions import ProviderError, ProviderResponseError
from numbroker._models import SearchQuery
from numbroker._money import FieldError
from numbroker.adapters._normalizing import Normalizer, PageResult, junk_error, normalize_page
from numbroker.adapters._paging import Cursor, RawPage, walk_pages
from numbroker.adapters._stats import ProviderRun, ProviderStats, running

__all__ = ["PageSink", "Streamed", "stream_pages", "unexpected"]

logger = logging.getLogger("numbroker.http")

PageSink = Callable[[PageResult], Awaitable[None]]
"""Awaited with each normalized page, in order."""


class Streamed(Normalizer, Protocol):
    """What streaming a search needs of its provider (:class:`~numbroker.adapters.Provider` is one)."""

    @property
    def paging(self) -> Literal["numbered", "token", "none"]: ...

    @property
    def per_page(self) -> int: ...

    @property
    def max_pages(self) -> int: ...

    @property
    def page_concurrency(self) -> int: ...

    def _note(self, text: str) -> None: ...

    async def _fetch_page(self, query: SearchQuery, cursor: Cursor) -> RawPage: ...


def unexpected(exc: Exception, what: str = "page") -> str:
    """What a provider error says of an unexpected error on a ``what`` (a field error names its field)."""
    if isinstance(exc, FieldError):
        return f"unexpected {what}: {exc.field or 'body'}: {exc.reason}"
    if isinstance(exc, ArithmeticError):
        return f"unexpected {what}: a value cannot be computed with ({type(exc).__name__})"
    return f"unexpected {what}: {type(exc).__name__}: {str(exc)[:300]}"


async def stream_pages(
    provider: Streamed,
    query: SearchQuery,
    sink: PageSink,
    *,
    run: ProviderRun | None = None,
    max_offers: int | None = None,
    drop_repeats: bool = True,
) -> ProviderStats:
    """Fetch and normalize every page of ``provider`` for ``query``; see ``Provider.stream_pages``."""
    run = run or ProviderRun()
    if run.normalizing is None:
        run.normalizing = anyio.Lock()
    delivered = 0
    seen: set[str] | None = set() if drop_repeats else None

    async def deliver(raw: RawPage, number: int) -> bool:
        nonlocal delivered
        for note in raw.truncated:
            run.stats.truncated = True
            provider._note(note)
        page = await normalize_page(provider, raw, number, query, seen, run)
        if max_offers is not None:
            page = PageResult(page.provider, page.page, page.offers[: max_offers - delivered], page.rejected)
        delivered += len(page.offers)
        await sink(page)
        # Junk stops the walk like a reached limit does; the provider fails once the walk has stopped.
        return run.stats.junk or (max_offers is not None and delivered >= max_offers)

    async def fetch(cursor: Cursor) -> RawPage:
        try:
            return await provider._fetch_page(query, cursor)
        except ProviderError:
            raise
        except Exception as exc:
            # Whatever else one vendor's page makes the adapter raise (a FieldError or an
            # ArithmeticError on its envelope, a shape it did not expect) fails this provider alone.
            logger.warning("%s: unexpected error reading a page (%s)", provider.id, type(exc).__name__)
            raise ProviderResponseError(provider.id, unexpected(exc)) from None

    with running(run):
        await walk_pages(
            provider.paging,
            fetch,
            deliver,
            run.stats,
            per_page=provider.per_page,
            max_pages=provider.max_pages,
            concurrency=provider.page_concurrency,
            max_offers=max_offers,
            provider_id=provider.id,
        )
    if run.stats.junk:
        raise junk_error(provider.id, run.stats)
    return run.stats
