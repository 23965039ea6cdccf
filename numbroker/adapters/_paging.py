"""Paging engines: every page of a search, fetched through a callback and delivered in order.

A vendor pages its results one of two ways, and each has an engine here, a free function over a
``fetch`` callback (one HTTP call for one page, the adapter's ``_fetch_page``) and a ``deliver``
callback (normalize the page and hand it on; True stops the walk):

* :class:`NumberedWalk`: page/per_page/total. Page 1 gives the total; the other pages are then
  requested concurrently, at most ``concurrency`` in flight and at most twice that many fetched but not
  yet delivered (:class:`PageWindow`), so normalization lagging behind a fast network never piles up
  raw pages.
* :func:`walk_tokens`: a next-page token chain, walked by a task of its own that never normalizes,
  so each hop's request leaves as soon as the previous page's token is read, ahead of any page requests
  waiting for the search's in-flight limit (:class:`~numbroker.adapters._stats.RequestSlots`).

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
from numbroker.adapters._stats import ProviderStats, one_at_a_time

__all__ = [
    "MAX_TOTAL",
    "Cursor",
    "Deliver",
    "NumberedWalk",
    "PageWindow",
    "RawPage",
    "checked_total",
    "fan_out",
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


class NumberedWalk:
    """A walk of numbered pages: page 1 (for the total), then the others ``concurrency`` at a time.

    ``fetch(n)`` reads page ``n`` (1-based); ``deliver(page, n)`` normalizes and hands it on, and returns
    True when no more pages are wanted. Without ``max_offers`` the other pages are requested before
    page 1 is normalized. With it, no request is sent in vain: only as many pages are in flight as the
    offers still wanted could fill, and each holds its slot until it is delivered. Without a total, or
    past a total whose last page was full, pages are read one at a time until a short or empty page;
    the ``max_pages`` cap and a page of nothing but repeats stop the walk, noted on ``stats``. A first
    page shorter than ``per_page`` while the total says more exist sets the page size the walk expects
    (see the module docstring).

    The steps: :meth:`run` reads page 1; with a total, :meth:`_to_total` reads the pages it promises (page 2
    alone first when the vendor pages by a smaller size, the rest in a :class:`PageWindow`) and
    :meth:`_check_sizes` notes pages that came short; :meth:`_read_on` then walks one page at a time past a
    last page that was full. ``size`` is the page size the walk expects; ``sizes`` holds the records of each
    page after the first.
    """

    def __init__(
        self,
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
        self.fetch = fetch
        self.deliver = deliver
        self.stats = stats
        self.per_page = per_page
        self.max_pages = max_pages
        self.concurrency = concurrency
        self.max_offers = max_offers
        self.provider_id = provider_id
        self.size = per_page
        self.total: int | None = None
        self.sizes: dict[int, int] = {}

    def _note(self, text: str, *, truncated: bool = False) -> None:
        self.stats.note(text)
        self.stats.truncated = self.stats.truncated or truncated

    async def run(self) -> None:
        """Walk every page.

        Raises:
            ProviderResponseError: the stated total is not a whole number from 0 to :data:`MAX_TOTAL`.
            ProviderError: a page could not be fetched (pages already delivered stay delivered).
        """
        first = await self.fetch(1)
        self.total = checked_total(first.total, self.provider_id)
        self._learn_size(first)
        # Without max_offers, and with more pages to come, the other pages leave before page 1 is normalized.
        pipelined = (
            self.max_offers is None
            and self.max_pages >= 2
            and self.total is not None
            and self.total > len(first.records) >= self.per_page
        )
        if not pipelined and (await self.deliver(first, 1) or len(first.records) < self.size):
            return
        number, last_full = 1, True
        if self.total is not None:
            reached = await self._to_total(first, pipelined)
            if reached is None:
                return
            number, last_full = reached
        if last_full:
            await self._read_on(number)

    def _learn_size(self, first: RawPage) -> None:
        """Fewer records than asked while the total says more exist: the vendor pages by its own size.

        It ignores per_page, or echoes it falsely; pages are still asked for by number.
        """
        served = len(first.records)
        if self.total is not None and 0 < served < self.per_page and self.total > served:
            self.size = served
            self._note(
                f"asked for {self.per_page} records a page, got {served} with a total of {self.total}: "
                f"read on at {served} a page"
            )

    async def _to_total(self, first: RawPage, pipelined: bool) -> tuple[int, bool] | None:
        """Read every page the total promises (within the cap): the last page read and whether it was full.

        None when the walk is over (stopped by ``deliver``, or a vendor whose total lied high).
        """
        assert self.total is not None
        needed = -(-self.total // self.size)
        last = min(needed, self.max_pages)
        if needed > self.max_pages:
            self._note(
                f"total {self.total} needs {needed} pages; stopped at the {self.max_pages}-page cap", truncated=True
            )
        start = 2
        if last >= 2 and self.size < self.per_page:
            if not await self._page_two_alone(first):
                return None
            start = 3
        if last >= start and await self._window(first if pipelined else None, start, last):
            return None
        if last < 2:
            return last, True
        self._check_sizes(first, last)
        return last, self.sizes.get(last, 0) >= self.size

    async def _page_two_alone(self, first: RawPage) -> bool:
        """Page 2 before the others: a vendor whose short first page is all it has costs one request.

        (A total that lies high would otherwise cost a page window of empty pages.) False when the walk is over.
        """
        second = await self.fetch(2)
        if not second.records:
            assert self.total is not None
            self._note(
                f"page 2 was empty while the total {self.total} says {self.total - len(first.records)} more "
                "records exist: they are missing",
                truncated=True,
            )
            return False
        if await self.deliver(second, 2):
            return False
        self.sizes[2] = len(second.records)
        return True

    async def _window(self, first: RawPage | None, start: int, last: int) -> bool:
        """Pages ``start``..``last`` within a :class:`PageWindow`; True when the walk was stopped early.

        ``first``, when given, is page 1, delivered while the others are on the wire: it is delivered even
        when a later page fails while it is normalized. One failed page fails the provider (raised once the
        window is closed); pages already delivered stay delivered.
        """
        failure: ProviderError | None = None
        max_offers, stats = self.max_offers, self.stats
        window = PageWindow(
            self.concurrency, self.size, None if max_offers is None else (lambda: max_offers - stats.offers)
        )
        first_delivered = anyio.Event()
        if first is None:
            first_delivered.set()

        async with anyio.create_task_group() as tg:

            async def fetch_one(page_number: int) -> None:
                nonlocal failure
                try:
                    try:
                        page = await self.fetch(page_number)
                    except ProviderError as exc:
                        failure = failure or exc
                        await first_delivered.wait()
                        tg.cancel_scope.cancel()
                        return
                    finally:
                        window.answered()
                    self.sizes[page_number] = len(page.records)
                    if await self.deliver(page, page_number):
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
                    if failure is not None or tg.cancel_scope.cancel_called:
                        return  # no new requests once the provider failed or the walk was stopped
                    window.opened()
                    tg.start_soon(fetch_one, page_number)

            tg.start_soon(launch)
            if first is not None:
                # The requests leave at this delivery's first checkpoint; page 1 is normalized while
                # they are on the wire.
                await self.deliver(first, 1)
                first_delivered.set()
        if failure is not None:
            raise failure
        return tg.cancel_scope.cancel_called

    def _check_sizes(self, first: RawPage, last: int) -> None:
        """A page before the last that is shorter than the page size means records are missing: say so."""
        short = [n for n in range(2, last) if self.sizes.get(n, 0) < self.size]
        if short:
            got = len(first.records) + sum(self.sizes.values())
            self._note(
                f"page {short[0]} had {self.sizes.get(short[0], 0)} of {self.size} records while the total "
                f"{self.total} says more exist: {got} of {self.total} records read, the rest are missing",
                truncated=True,
            )

    async def _read_on(self, number: int) -> None:
        """No total, or a total that may lie low (its last page was full): one page at a time past ``number``.

        Until a short or empty page, a page of nothing but repeats, or the cap.
        """
        while True:
            if number >= self.max_pages:
                self._note(f"stopped at the {self.max_pages}-page cap", truncated=True)
                return
            number += 1
            with one_at_a_time():
                page = await self.fetch(number)
            if not page.records:
                return
            if self.total is not None:
                self._note(f"page {number} lies beyond the stated total {self.total} and had records")
            duplicates_before = self.stats.duplicates
            if await self.deliver(page, number):
                return
            if self.stats.duplicates - duplicates_before == len(page.records):
                self._note(f"page {number} only repeated earlier records; paging stopped")
                return
            if len(page.records) < self.size:
                return


async def walk_tokens(
    fetch: Callable[[str | None], Awaitable[RawPage]],
    deliver: Deliver,
    stats: ProviderStats,
    *,
    provider_id: str,
    max_pages: int,
) -> None:
    """Walk a page-token chain: ``fetch(None)``, then ``fetch(token)`` for each next-page token.

    ``deliver`` is as for :class:`NumberedWalk`. A repeated token fails the walk (a
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
                    with one_at_a_time():  # its next request goes ahead of queued page requests
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
                    stats.note(f"stopped at the {max_pages}-page cap")
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
    """Every page by the declared ``paging`` style: a :class:`NumberedWalk`, :func:`walk_tokens`, or one request."""
    if paging == "numbered":
        walk = NumberedWalk(
            fetch,
            deliver,
            stats,
            per_page=per_page,
            max_pages=max_pages,
            concurrency=concurrency,
            max_offers=max_offers,
            provider_id=provider_id,
        )
        await walk.run()
    elif paging == "token":
        await walk_tokens(fetch, deliver, stats, provider_id=provider_id, max_pages=max_pages)
    else:
        await deliver(await fetch(None), 1)
