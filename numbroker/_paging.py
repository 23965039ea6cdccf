"""Paging engines: every page of a search, fetched through a callback and delivered in order.

A vendor pages its results one of two ways, and each has an engine here, a free function over a
``fetch`` callback (one HTTP call for one page, the adapter's ``_fetch_page``) and a ``deliver``
callback (normalize the page and hand it on; True stops the walk):

* :func:`walk_numbered`: page/per_page/total. Page 1 gives the total; the other pages are then
  requested concurrently, at most ``concurrency`` in flight and at most twice that many fetched but not
  yet delivered (:class:`PageWindow`), so normalization lagging behind a fast network never piles up
  raw pages.
* :func:`walk_tokens`: a next-page token chain, walked by a task of its own that never normalizes,
  so each hop's request leaves as soon as the previous page's token is read.

Both are guarded against runaway paging (a page cap, repeated pages or tokens), and record what they
cut short on the :class:`~numbroker.adapters.ProviderStats` passed to them.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from numbroker._exceptions import ProviderError, ProviderResponseError
from numbroker._stats import ProviderStats

__all__ = ["Cursor", "Deliver", "PageWindow", "RawPage", "walk_numbered", "walk_tokens"]

_T = TypeVar("_T")

Cursor = int | str | None
"""Where a page starts: the 1-based page number (numbered), a page token or None (token), or None."""


@dataclass(frozen=True, slots=True)
class RawPage:
    """One vendor page as fetched: raw records plus what the paging engine needs.

    Attributes:
        records: the raw JSON records (each normalized or rejected, never dropped).
        next_token: token-paged vendors: the next page token (None or "" when there is none).
        total: numbered-page vendors: the total number of matching records, if the vendor says.
    """

    records: Sequence[Any]
    next_token: str | None = None
    total: int | None = None


Deliver = Callable[[RawPage, int], Awaitable[bool]]
"""Normalize page ``n`` and hand it on; True when no more pages are wanted."""


class PageWindow:
    """Which numbered pages may be requested now.

    At most ``concurrency`` requests in flight, and at most twice that many pages fetched but not yet
    delivered (normalization lagging behind a fast network never piles up raw pages); with ``wanted``
    (offers still wanted), only as many undelivered pages as could fill it. One page may always go.
    """

    def __init__(self, concurrency: int, per_page: int, wanted: Callable[[], int] | None) -> None:
        self._concurrency = concurrency
        self._per_page = per_page
        self._wanted = wanted
        self._requesting = 0
        self._undelivered = 0
        self._changed = anyio.Event()

    def room(self) -> bool:
        if self._undelivered == 0:
            return True
        if self._requesting >= self._concurrency:
            return False
        if self._wanted is not None:
            return self._undelivered * self._per_page < self._wanted()
        return self._undelivered < 2 * self._concurrency

    def opened(self) -> None:
        self._requesting += 1
        self._undelivered += 1

    def answered(self) -> None:
        self._requesting -= 1
        self._notify()

    def delivered(self) -> None:
        self._undelivered -= 1
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def changed(self) -> None:
        await self._changed.wait()


async def _send_soon(send: MemoryObjectSendStream[_T], item: _T) -> None:
    """Send without a checkpoint when the buffer has room (a chain's next request is not held up)."""
    try:
        send.send_nowait(item)
    except anyio.WouldBlock:
        await send.send(item)


async def walk_numbered(
    fetch: Callable[[int], Awaitable[RawPage]],
    deliver: Deliver,
    stats: ProviderStats,
    *,
    per_page: int,
    max_pages: int,
    concurrency: int,
    max_offers: int | None = None,
) -> None:
    """Walk numbered pages: page 1 (for the total), then the others ``concurrency`` at a time.

    ``fetch(n)`` reads page ``n`` (1-based); ``deliver(page, n)`` normalizes and hands it on, and returns
    True when no more pages are wanted. Without ``max_offers`` the other pages are requested before
    page 1 is normalized. With it, no request is sent in vain: only as many pages are in flight as the
    offers still wanted could fill, and each holds its slot until it is delivered. Without a total, or
    past a total whose last page was full, pages are read one at a time until a short or empty page;
    the ``max_pages`` cap and a page of nothing but repeats stop the walk, noted on ``stats``.
    """
    first = await fetch(1)
    eager = max_offers is None
    pipelined = eager and max_pages >= 2 and first.total is not None and first.total > len(first.records) >= per_page
    if not pipelined and (await deliver(first, 1) or len(first.records) < per_page):
        return
    number = 1
    last_full = True
    if first.total is not None:
        # The first page gave the total: fetch every other page at once, bounded.
        needed = math.ceil(first.total / per_page)
        last = min(needed, max_pages)
        if needed > max_pages:
            stats.truncated = True
            stats.notes.append(f"total {first.total} needs {needed} pages; stopped at the {max_pages}-page cap")
        if last >= 2:
            sizes: dict[int, int] = {}
            failure: ProviderError | None = None
            window = PageWindow(
                concurrency,
                per_page,
                None if max_offers is None else (lambda: max_offers - stats.offers),
            )

            # Page 1, in hand, is delivered even when a later page fails while it is normalized.
            first_delivered = anyio.Event()
            if not pipelined:
                first_delivered.set()

            async with anyio.create_task_group() as tg:

                async def fetch_one(page_number: int) -> None:
                    nonlocal failure
                    try:
                        try:
                            page = await fetch(page_number)
                        except ProviderError as exc:
                            # One failed page fails the provider; pages already delivered stay delivered.
                            failure = failure or exc
                            await first_delivered.wait()
                            tg.cancel_scope.cancel()
                            return
                        finally:
                            window.answered()
                        sizes[page_number] = len(page.records)
                        if await deliver(page, page_number):
                            tg.cancel_scope.cancel()
                    finally:
                        window.delivered()

                # Pages start in page order (whatever order tasks are scheduled in), as the window
                # allows: those that fit now at once, the rest from a launcher task.
                remaining = iter(range(2, last + 1))
                for page_number in remaining:
                    window.opened()
                    tg.start_soon(fetch_one, page_number)
                    if not window.room():
                        break

                async def launch() -> None:
                    for page_number in remaining:
                        while not window.room():
                            await window.changed()
                        if failure is not None:
                            return  # no new requests for a provider that already failed
                        window.opened()
                        tg.start_soon(fetch_one, page_number)

                tg.start_soon(launch)
                if pipelined:
                    # The requests leave at this delivery's first checkpoint; page 1 is normalized
                    # while they are on the wire.
                    await deliver(first, 1)
                    first_delivered.set()
            if failure is not None:
                raise failure
            if tg.cancel_scope.cancel_called:
                return
            last_full = sizes.get(last, 0) >= per_page
        number = last
    # No total, or a total that may lie low (its last page was full): walk on one page at a time
    # until a short or empty page, or the cap.
    while last_full:
        if number >= max_pages:
            stats.truncated = True
            stats.notes.append(f"stopped at the {max_pages}-page cap")
            return
        number += 1
        page = await fetch(number)
        if not page.records:
            return
        if first.total is not None:
            stats.notes.append(f"page {number} lies beyond the stated total {first.total} and had records")
        duplicates_before = stats.duplicates
        if await deliver(page, number):
            return
        if stats.duplicates - duplicates_before == len(page.records):
            stats.notes.append(f"page {number} only repeated earlier records; paging stopped")
            return
        last_full = len(page.records) >= per_page


async def walk_tokens(
    fetch: Callable[[str | None], Awaitable[RawPage]],
    deliver: Deliver,
    stats: ProviderStats,
    *,
    provider_id: str,
    max_pages: int,
) -> None:
    """Walk a page-token chain: ``fetch(None)``, then ``fetch(token)`` for each next-page token.

    ``deliver`` is as for :func:`walk_numbered`. A repeated token fails the walk (a
    :class:`ProviderResponseError` after the pages already fetched are delivered); ``max_pages`` stops it.
    """
    # Two tasks: this one walks the chain, fetching page after page and never normalizing, so each
    # hop's request leaves as soon as the previous page's token is read (and the first one leaves
    # without waiting for a task to start); a consumer task normalizes and delivers them in order.
    # One page may wait in the buffer while another is normalized (memory stays bounded).
    send, receive = anyio.create_memory_object_stream[RawPage | ProviderError](1)
    failure: ProviderError | None = None

    async def consume() -> None:
        nonlocal failure
        number = 0
        async for item in receive:
            if isinstance(item, ProviderError):
                failure = item
                break
            number += 1
            if await deliver(item, number):
                break
        tg.cancel_scope.cancel()  # done early: stop the chain

    async with receive, anyio.create_task_group() as tg:
        tg.start_soon(consume)
        with send:
            seen_tokens: set[str] = set()
            token: str | None = None
            number = 0
            while True:
                try:
                    page = await fetch(token)
                except ProviderError as exc:
                    await send.send(exc)  # after the pages already fetched
                    break
                number += 1
                await _send_soon(send, page)
                token = page.next_token or None
                if token is None:
                    break
                if token in seen_tokens:
                    error = f"page {number} repeated an earlier page token; paging stopped"
                    await send.send(ProviderResponseError(provider_id, error))
                    break
                if number >= max_pages:
                    stats.truncated = True
                    stats.notes.append(f"stopped at the {max_pages}-page cap")
                    break
                seen_tokens.add(token)
    if failure is not None:
        raise failure
