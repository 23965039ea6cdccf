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

A vendor that answers one search per number type (or per any other key) in one page is served by
:func:`fan_out`: the keys' requests run concurrently within a limit, and their results come back in
the keys' order.

Both walkers are guarded against runaway paging (a page cap, repeated pages or tokens), and record what they
cut short on the :class:`~numbroker.adapters.ProviderStats` passed to them.

Paging never loses records silently. A stated total must be a whole number from 0 to :data:`MAX_TOTAL`
(else the provider fails, naming the field and the limit), and page counts are integer arithmetic. A
vendor whose first page is shorter than asked while its total says more exist pages by its own size:
the walk goes on at that size instead of stopping. A page before the last that is shorter than the
pages before it, while the total says more exist, means records are missing: the provider is reported
``truncated`` with a note, never complete.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from numbroker._exceptions import ProviderError, ProviderResponseError
from numbroker.adapters._stats import ProviderStats

__all__ = [
    "MAX_TOTAL",
    "Cursor",
    "Deliver",
    "PageWindow",
    "RawPage",
    "checked_total",
    "fan_out",
    "walk_numbered",
    "walk_pages",
    "walk_tokens",
]

MAX_TOTAL = 10**9
"""Largest record total a vendor may state (a search reads at most ``max_pages`` pages anyway)."""

_T = TypeVar("_T")
_K = TypeVar("_K")

Cursor = int | str | None
"""Where a page starts: the 1-based page number (numbered), a page token or None (token), or None."""


@dataclass(frozen=True, slots=True)
class RawPage:
    """One vendor page as fetched: raw records plus what the paging engine needs.

    Attributes:
        records: the raw JSON records (each normalized or rejected, never dropped).
        next_token: token-paged vendors: the next page token (None or "" when there is none).
        total: numbered-page vendors: the total number of matching records, if the vendor says.
        truncated: notes saying where this answer was cut short with no way to page on (a vendor that
            answers at most so many numbers, say), each telling how to narrow the search. Any note marks
            the provider's run ``truncated``, and each one is shown in the provider's report.
    """

    records: Sequence[Any]
    next_token: str | None = None
    total: int | None = None
    truncated: Sequence[str] = ()


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


def checked_total(total: object, provider_id: str) -> int | None:
    """A vendor's stated total if it is a whole number from 0 to :data:`MAX_TOTAL` (None when it states none).

    Raises:
        ProviderResponseError: the total is not a whole number or out of range (naming the field and the limit).
    """
    if total is None:
        return None
    if isinstance(total, bool) or not isinstance(total, int):
        raise ProviderResponseError(provider_id, f"total must be a whole number, got {type(total).__name__}")
    if not 0 <= total <= MAX_TOTAL:
        digits = len(str(total).lstrip("-"))
        shown = str(total) if digits <= 20 else f"a {digits}-digit number"
        raise ProviderResponseError(provider_id, f"total out of range: at most {MAX_TOTAL} (10^9), got {shown}")
    return total


async def walk_numbered(
    fetch: Callable[[int], Awaitable[RawPage]],
    deliver: Deliver,
    stats: ProviderStats,
    *,
    per_page: int,
    max_pages: int,
    concurrency: int,
    max_offers: int | None = None,
    provider_id: str = "",
) -> None:
    """Walk numbered pages: page 1 (for the total), then the others ``concurrency`` at a time.

    ``fetch(n)`` reads page ``n`` (1-based); ``deliver(page, n)`` normalizes and hands it on, and returns
    True when no more pages are wanted. Without ``max_offers`` the other pages are requested before
    page 1 is normalized. With it, no request is sent in vain: only as many pages are in flight as the
    offers still wanted could fill, and each holds its slot until it is delivered. Without a total, or
    past a total whose last page was full, pages are read one at a time until a short or empty page;
    the ``max_pages`` cap and a page of nothing but repeats stop the walk, noted on ``stats``. A first
    page shorter than ``per_page`` while the total says more exist sets the page size the walk expects
    (see the module docstring).

    Raises:
        ProviderResponseError: the stated total is not a whole number from 0 to :data:`MAX_TOTAL`.
        ProviderError: a page could not be fetched (pages already delivered stay delivered).
    """
    first = await fetch(1)
    total = checked_total(first.total, provider_id)
    size = per_page
    if total is not None and 0 < len(first.records) < per_page and total > len(first.records):
        # Fewer records than asked while the total says more exist: the vendor pages by its own size
        # (ignoring per_page, or echoing it falsely). Pages are still asked for by number.
        size = len(first.records)
        stats.notes.append(
            f"asked for {per_page} records a page, got {size} with a total of {total}: read on at {size} a page"
        )
    eager = max_offers is None
    pipelined = eager and max_pages >= 2 and total is not None and total > len(first.records) >= per_page
    if not pipelined and (await deliver(first, 1) or len(first.records) < size):
        return
    number = 1
    last_full = True
    if total is not None:
        # The first page gave the total: fetch every other page at once, bounded.
        needed = -(-total // size)
        last = min(needed, max_pages)
        if needed > max_pages:
            stats.truncated = True
            stats.notes.append(f"total {total} needs {needed} pages; stopped at the {max_pages}-page cap")
        sizes: dict[int, int] = {}
        start = 2
        if last >= 2 and size < per_page:
            # Page 2 alone first: a vendor whose short first page is all it has (a total that lies high)
            # costs one request, not a page window of empty ones.
            second = await fetch(2)
            if not second.records:
                stats.truncated = True
                stats.notes.append(
                    f"page 2 was empty while the total {total} says {total - len(first.records)} more records exist: "
                    "they are missing"
                )
                return
            if await deliver(second, 2):
                return
            sizes[2] = len(second.records)
            start = 3
        if last >= start:
            failure: ProviderError | None = None
            window = PageWindow(
                concurrency,
                size,
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
                remaining = iter(range(start, last + 1))
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
        if last >= 2:
            short = [n for n in range(2, last) if sizes.get(n, 0) < size]
            if short:
                stats.truncated = True
                got = len(first.records) + sum(sizes.values())
                stats.notes.append(
                    f"page {short[0]} had {sizes.get(short[0], 0)} of {size} records while the total {total} "
                    f"says more exist: {got} of {total} records read, the rest are missing"
                )
            last_full = sizes.get(last, 0) >= size
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
        if total is not None:
            stats.notes.append(f"page {number} lies beyond the stated total {total} and had records")
        duplicates_before = stats.duplicates
        if await deliver(page, number):
            return
        if stats.duplicates - duplicates_before == len(page.records):
            stats.notes.append(f"page {number} only repeated earlier records; paging stopped")
            return
        last_full = len(page.records) >= size


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


async def fan_out(
    keys: Sequence[_K],
    fetch: Callable[[_K], Awaitable[_T]],
    *,
    concurrency: int,
    skip: Callable[[ProviderError], bool],
) -> tuple[dict[_K, _T], dict[_K, ProviderError]]:
    """Run ``fetch(key)`` for every key concurrently, at most ``concurrency`` at once.

    A failure ``skip`` accepts (a vendor refusing one number type it has no numbers of, say) leaves
    that key out; any other failure cancels the others and is raised, and so is the first skipped
    failure when every key failed.

    Returns:
        (each answered key's result, each skipped key's failure), both in the order of ``keys``.

    Raises:
        ProviderError: the first failure ``skip`` does not accept (in key order), or the first one when
            no key answered.
    """
    results: dict[_K, _T] = {}
    errors: dict[_K, ProviderError] = {}
    slots = anyio.Semaphore(max(1, concurrency), fast_acquire=True)
    async with anyio.create_task_group() as tg:

        async def one(key: _K) -> None:
            try:
                async with slots:
                    results[key] = await fetch(key)
            except ProviderError as exc:
                errors[key] = exc
                if not skip(exc):
                    tg.cancel_scope.cancel()

        for key in keys:
            tg.start_soon(one, key)
    failed = [errors[k] for k in keys if k in errors]
    fatal = [exc for exc in failed if not skip(exc)]
    if fatal or (failed and not results):
        raise (fatal or failed)[0]
    return {k: results[k] for k in keys if k in results}, {k: errors[k] for k in keys if k in errors}


async def walk_pages(
    paging: str,
    fetch: Callable[[Cursor], Awaitable[RawPage]],
    deliver: Deliver,
    stats: ProviderStats,
    *,
    per_page: int,
    max_pages: int,
    concurrency: int,
    max_offers: int | None = None,
    provider_id: str = "",
) -> None:
    """Every page by the declared ``paging`` style: :func:`walk_numbered`, :func:`walk_tokens`, or one request."""
    if paging == "numbered":
        await walk_numbered(
            fetch,
            deliver,
            stats,
            per_page=per_page,
            max_pages=max_pages,
            concurrency=concurrency,
            max_offers=max_offers,
            provider_id=provider_id,
        )
    elif paging == "token":
        await walk_tokens(fetch, deliver, stats, provider_id=provider_id, max_pages=max_pages)
    else:
        await deliver(await fetch(None), 1)
