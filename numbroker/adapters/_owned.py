"""The account's own numbers, walked completely: what "is this number ours?" rests on.

A provider's ``_owned_numbers()`` yields every entry of the account's list over all pages; the walkers
here do the paging over a ``fetch`` callback for the two list styles, and :func:`owns_number` answers
the question. "Not owned" must never rest on a partial list, so every way a list can be cut short raises
:class:`ProviderResponseError` instead of ending quietly, and so does a page with a field its ``fetch``
cannot read (a :class:`FieldError` from the :mod:`~numbroker.adapters.wire` readers).

An entry is the number as the vendor wrote it, or an :class:`OwnedEntry` when the list says more of it
than the number: an entry the vendor still lists though the account no longer holds it (a released
number, a failed order) stays in its page, so page sizes still end the walk, and is never counted as owned.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from numbroker._exceptions import ConfigurationError, ProviderResponseError
from numbroker._money import FieldError
from numbroker._phone import parse_e164

__all__ = [
    "OwnedEntry",
    "OwnedPage",
    "entry_number",
    "holds_number",
    "owns_number",
    "walk_owned_numbered",
    "walk_owned_tokens",
]

logger = logging.getLogger("numbroker.purchase")
_C = TypeVar("_C", int, str | None)


async def _read(fetch: Callable[[_C], Awaitable[OwnedPage]], cursor: _C, number: int, provider_id: str) -> OwnedPage:
    """Page ``number`` of the list; a field it cannot read (a :class:`FieldError`) means the list cannot be read."""
    try:
        return await fetch(cursor)
    except FieldError as exc:
        where = exc.field or "body"
        raise ProviderResponseError(provider_id, f"owned numbers page {number}: {where}: {exc.reason}") from None


@dataclass(frozen=True, slots=True)
class OwnedEntry:
    """One entry of the account's list of its own numbers, as its vendor describes it.

    Attributes:
        number: the number as the vendor wrote it ("" for an entry without a readable one).
        held: False for an entry the vendor lists although the account does not hold the number (released,
            ported out, an order that failed): it is walked (it fills its page) but never counted as owned.
        status: the vendor's own word for the entry's state (``active``, ``deleted``...), when it gives one.
    """

    number: str
    held: bool = True
    status: str | None = None


OwnedItem = str | OwnedEntry
"""What an owned list yields: the number as the vendor wrote it, or an :class:`OwnedEntry` saying more."""


def entry_number(entry: OwnedItem) -> str:
    """The number an owned-list entry names, as the vendor wrote it."""
    return entry.number if isinstance(entry, OwnedEntry) else entry


@dataclass(frozen=True, slots=True)
class OwnedPage:
    """One page of the account's own numbers, for the owned-list walkers.

    Attributes:
        numbers: each entry, as its number ("" for an entry without a readable one) or an :class:`OwnedEntry`.
        echoed_page: numbered lists: the page number the vendor says it sent, if it says.
        page_size: numbered lists: the page size the vendor says it used, if it says.
        total: numbered lists: the total the vendor states, if any.
        next_token: token lists: the next page's token (None or "" at the end).
    """

    numbers: Sequence[OwnedItem]
    echoed_page: int | None = None
    page_size: int | None = None
    total: int | None = None
    next_token: str | None = None

    @classmethod
    def from_items(
        cls,
        items: Sequence[Any],
        key: str,
        *,
        echoed_page: int | None = None,
        page_size: int | None = None,
        total: int | None = None,
        next_token: str | None = None,
    ) -> OwnedPage:
        """A page of the vendor's listed items, each entry the string at ``key`` ("" for an item without one)."""
        numbers = [item.get(key) if isinstance(item, Mapping) else None for item in items]
        return cls(
            numbers=[number if isinstance(number, str) else "" for number in numbers],
            echoed_page=echoed_page,
            page_size=page_size,
            total=total,
            next_token=next_token,
        )


async def walk_owned_numbered(
    fetch: Callable[[int], Awaitable[OwnedPage]], page_size: int, *, provider_id: str, max_pages: int
) -> AsyncIterator[OwnedItem]:
    """Every owned entry over numbered pages, or a ProviderResponseError when the list cannot be proven whole.

    ``fetch(n)`` reads page ``n``. Only a short or empty page ends the list (a total can lie low); a page
    other than the one asked for, a page of nothing but repeats, a list that ends before its stated
    total, and the ``max_pages`` cap all raise: "not owned" must never rest on a partial list.
    """
    seen: set[OwnedItem] = set()
    count = 0
    total: int | None = None
    for number in range(1, max_pages + 1):
        page = await _read(fetch, number, number, provider_id)
        if page.echoed_page is not None and page.echoed_page != number:
            raise ProviderResponseError(
                provider_id, f"owned numbers: asked for page {number}, got page {page.echoed_page}"
            )
        total = page.total if page.total is not None else total
        fresh = 0
        for entry in page.numbers:
            fresh += entry not in seen
            seen.add(entry)
            yield entry
        count += len(page.numbers)
        if page.numbers and not fresh:
            raise ProviderResponseError(provider_id, f"owned numbers page {number} only repeated earlier entries")
        if len(page.numbers) < (page.page_size or page_size):
            if total is not None and total > count:
                raise ProviderResponseError(provider_id, f"owned numbers: the list ended at {count} of {total}")
            return
    raise ProviderResponseError(provider_id, f"owned numbers: more than {max_pages} pages; not read completely")


async def walk_owned_tokens(
    fetch: Callable[[str | None], Awaitable[OwnedPage]], *, provider_id: str, max_pages: int
) -> AsyncIterator[OwnedItem]:
    """Every owned entry over a page-token chain; a repeated token or the page cap raises (see above)."""
    token: str | None = None
    used: set[str] = set()
    for number in range(1, max_pages + 1):
        page = await _read(fetch, token, number, provider_id)
        for entry in page.numbers:
            yield entry
        token = page.next_token or None
        if token is None:
            return
        if token in used:
            raise ProviderResponseError(provider_id, f"owned numbers page {number} repeated an earlier page token")
        used.add(token)
    raise ProviderResponseError(provider_id, f"owned numbers: more than {max_pages} pages; not read completely")


async def holds_number(entries: AsyncIterator[OwnedItem], target: str, *, provider_id: str) -> bool:
    """True when canonical E.164 ``target`` is among the entries the account holds (the iterator is closed either way).

    An :class:`OwnedEntry` that is not ``held`` never counts.

    Raises:
        ProviderResponseError: ``target`` was not found, but some held entries are not readable phone
            numbers, so ownership cannot be ruled out.
    """
    unreadable = 0
    try:
        async for entry in entries:
            if isinstance(entry, OwnedEntry) and not entry.held:
                continue
            try:
                if parse_e164(entry_number(entry), strictness="possible").e164 == target:
                    return True
            except FieldError:
                unreadable += 1
    finally:
        close = getattr(entries, "aclose", None)
        if close is not None:
            await close()
    if unreadable:
        raise ProviderResponseError(
            provider_id, f"{unreadable} owned numbers are not readable phone numbers; ownership cannot be ruled out"
        )
    return False


async def owns_number(
    owned_numbers: Callable[[], AsyncIterator[OwnedItem]],
    e164: str,
    *,
    provider_id: str,
    attempts: int,
    lookup: Callable[[str], Awaitable[bool | None]] | None = None,
) -> bool:
    """True when ``e164`` is among ``owned_numbers()``, read completely (see :meth:`Provider.owns`).

    ``lookup`` (the provider's ``_owns_number``) is asked first with the canonical E.164: True or False
    is the answer, None means "walk the owned list". An answer or a list that cannot be read
    (:class:`ProviderResponseError`) is read again from the start, up to ``attempts`` times in all.

    Raises:
        ConfigurationError: ``e164`` is not a phone number.
        ProviderError: the list could not be read completely: ownership is unknown.
    """
    try:
        target = parse_e164(e164, strictness="possible").e164
    except FieldError as exc:
        raise ConfigurationError(f"{provider_id}: not a phone number: {e164!r} ({exc.reason})") from None
    attempts = max(1, attempts)
    for attempt in range(1, attempts + 1):
        try:
            answer = await lookup(target) if lookup is not None else None
            if answer is not None:
                return answer
            return await holds_number(owned_numbers(), target, provider_id=provider_id)
        except ProviderResponseError as exc:
            if attempt >= attempts:
                raise
            logger.info("%s: owned-number list unreadable (%s); reading it again", provider_id, exc.detail)
    raise AssertionError("unreachable")  # pragma: no cover
