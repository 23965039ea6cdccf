"""The account's own numbers, walked completely: what "is this number ours?" rests on.

A provider's ``_owned_numbers()`` yields every owned number over all pages; the walkers here do the
paging over a ``fetch`` callback for the two list styles, and :func:`owns_number` answers the question.
"Not owned" must never rest on a partial list, so every way a list can be cut short raises
:class:`ProviderResponseError` instead of ending quietly.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from numbroker._exceptions import ConfigurationError, ProviderResponseError
from numbroker._money import FieldError
from numbroker._phone import parse_e164

__all__ = ["OwnedPage", "holds_number", "owns_number", "walk_owned_numbered", "walk_owned_tokens"]

logger = logging.getLogger("numbroker.purchase")


@dataclass(frozen=True, slots=True)
class OwnedPage:
    """One page of the account's own numbers, for the owned-list walkers.

    Attributes:
        numbers: each entry's number as the vendor wrote it ("" for an entry without a readable one).
        echoed_page: numbered lists: the page number the vendor says it sent, if it says.
        page_size: numbered lists: the page size the vendor says it used, if it says.
        total: numbered lists: the total the vendor states, if any.
        next_token: token lists: the next page's token (None or "" at the end).
    """

    numbers: Sequence[str]
    echoed_page: int | None = None
    page_size: int | None = None
    total: int | None = None
    next_token: str | None = None


async def walk_owned_numbered(
    fetch: Callable[[int], Awaitable[OwnedPage]], page_size: int, *, provider_id: str, max_pages: int
) -> AsyncIterator[str]:
    """Every owned number over numbered pages, or a ProviderResponseError when the list cannot be proven whole.

    ``fetch(n)`` reads page ``n``. Only a short or empty page ends the list (a total can lie low); a page
    other than the one asked for, a page of nothing but repeats, a list that ends before its stated
    total, and the ``max_pages`` cap all raise: "not owned" must never rest on a partial list.
    """
    seen: set[str] = set()
    count = 0
    total: int | None = None
    for number in range(1, max_pages + 1):
        page = await fetch(number)
        if page.echoed_page is not None and page.echoed_page != number:
            raise ProviderResponseError(
                provider_id, f"owned numbers: asked for page {number}, got page {page.echoed_page}"
            )
        total = page.total if page.total is not None else total
        fresh = 0
        for text in page.numbers:
            fresh += text not in seen
            seen.add(text)
            yield text
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
) -> AsyncIterator[str]:
    """Every owned number over a page-token chain; a repeated token or the page cap raises (see above)."""
    token: str | None = None
    used: set[str] = set()
    for number in range(1, max_pages + 1):
        page = await fetch(token)
        for text in page.numbers:
            yield text
        token = page.next_token or None
        if token is None:
            return
        if token in used:
            raise ProviderResponseError(provider_id, f"owned numbers page {number} repeated an earlier page token")
        used.add(token)
    raise ProviderResponseError(provider_id, f"owned numbers: more than {max_pages} pages; not read completely")


async def holds_number(numbers: AsyncIterator[str], target: str, *, provider_id: str) -> bool:
    """True when canonical E.164 ``target`` is among ``numbers`` (the iterator is closed either way).

    Raises:
        ProviderResponseError: ``target`` was not found, but some owned entries are not readable phone
            numbers, so ownership cannot be ruled out.
    """
    unreadable = 0
    try:
        async for raw in numbers:
            try:
                if parse_e164(raw, strictness="possible").e164 == target:
                    return True
            except FieldError:
                unreadable += 1
    finally:
        close = getattr(numbers, "aclose", None)
        if close is not None:
            await close()
    if unreadable:
        raise ProviderResponseError(
            provider_id, f"{unreadable} owned numbers are not readable phone numbers; ownership cannot be ruled out"
        )
    return False


async def owns_number(
    owned_numbers: Callable[[], AsyncIterator[str]],
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
