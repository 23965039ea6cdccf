"""The owned-list template: every page of an account's own numbers fetched, normalized and handed on.

:meth:`Provider.stream_owned <numbroker.adapters.Provider.stream_owned>` delegates here. It runs the very
paging engines a search runs (:func:`~numbroker.adapters._paging.walk_numbered`,
:func:`~numbroker.adapters._paging.walk_tokens`, or one request), so an owned list gets the same retries,
deadline, page cap, bounded page window and ``truncated`` notes; each record becomes an
:class:`~numbroker.OwnedNumber` or a :class:`~numbroker.RejectedRecord` (never dropped), with any credential
the vendor echoed masked. :func:`holds_owned` answers "is this number ours?" over the same walk, and never
answers "no" from a list that was cut short.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from numbroker._exceptions import ProviderError, ProviderResponseError
from numbroker._models import RejectedRecord
from numbroker._money import FieldError
from numbroker._owned import OwnedNumber, OwnedQuery
from numbroker._phone import parse_e164
from numbroker._redaction import Redactor, _strings, redact_result
from numbroker.adapters._normalizing import count_rejected, guarded, in_slices, junk_error
from numbroker.adapters._paging import Cursor, RawPage, walk_pages
from numbroker.adapters._stats import ProviderRun, ProviderStats, running
from numbroker.adapters._streaming import unexpected
from numbroker.events import PageFetched, notify

__all__ = [
    "OWNED_KEPT",
    "OWNED_WINDOW_RECORDS",
    "OwnedPageResult",
    "OwnedSink",
    "holds_owned",
    "normalize_owned_record",
    "owned_window",
    "stream_owned",
]

logger = logging.getLogger("numbroker.http")

OWNED_KEPT = 1_000_000
"""The most numbers one owned list is read to (each is remembered to drop repeats).

Past it the list is truncated, with a note, and proves nothing about ownership."""

OWNED_WINDOW_RECORDS = 200
"""About how many records of one owned list may be answered and not yet handed on (whole pages, at least one).

A search's window is ``page_concurrency`` pages; an owned list's is narrower. Reading a portfolio is bound by
normalizing its numbers, not by its paging: pages fetched ahead of the normalizing only wait, holding memory.
In the owned benchmark (50,000 numbers over seven providers) eight pages a provider peaked at 89 MB; this
window (with Twilio read 250 a page) at 69 MB, against 58 MB for 1,000 numbers; every page chain stayed far
shorter than the normalizing (and than one vendor's declared rate limit)."""


def owned_window(provider: OwnedLister) -> int:
    """How many of ``provider``'s owned-list pages may be in flight at once: see :data:`OWNED_WINDOW_RECORDS`."""
    return max(1, min(provider.page_concurrency, OWNED_WINDOW_RECORDS // max(1, provider.owned_per_page)))


def _seen_key(number: OwnedNumber) -> bytes:
    """What remembers a listed entry, to drop its repeats: a 128-bit digest of its vendor id and number.

    A digest is 16 bytes whatever the vendor's id (a vendor controls its length), for up to
    :data:`OWNED_KEPT` entries a list; two different entries share one with odds far below 1 in 10^26.
    """
    return hashlib.blake2b(f"{number.provider_number_id}\x00{number.e164}".encode(), digest_size=16).digest()


@dataclass(frozen=True, slots=True)
class OwnedPageResult:
    """One normalized page of an owned list: the numbers, and the records that could not be read."""

    provider: str
    page: int
    numbers: list[OwnedNumber]
    rejected: list[RejectedRecord]


OwnedSink = Callable[[OwnedPageResult], Awaitable[bool | None]]
"""Awaited with each normalized page, in order; True stops the walk (the rest is not wanted)."""


class OwnedLister(Protocol):
    """What walking an owned list needs of its provider (:class:`~numbroker.adapters.Provider` is one)."""

    @property
    def id(self) -> str: ...

    @property
    def wire_fields(self) -> Mapping[str, str]: ...

    @property
    def owned_wire_fields(self) -> Mapping[str, str]: ...

    @property
    def owned_paging(self) -> Literal["numbered", "token", "none"]: ...

    @property
    def owned_per_page(self) -> int: ...

    @property
    def owned_max_pages(self) -> int: ...

    @property
    def page_concurrency(self) -> int: ...

    def _note(self, text: str) -> None: ...

    def _record_id(self, record: Any) -> str | None: ...

    def _is_held(self, number: OwnedNumber) -> bool: ...

    def _owned_redactor(self) -> Redactor | None: ...

    async def _fetch_owned_page(self, query: OwnedQuery, cursor: Cursor) -> RawPage: ...

    def _normalize_owned(self, record: Any, query: OwnedQuery) -> OwnedNumber: ...


def _redact(redactor: Redactor, result: OwnedNumber | RejectedRecord, id_field: str | None) -> Any:
    """An owned number with any echoed secret masked; one whose id shows a secret becomes a rejected record."""
    if isinstance(result, RejectedRecord):
        return redact_result(redactor, result)
    if redactor.shows_secret(result.provider_number_id):
        return RejectedRecord(
            provider=result.provider,
            offer_id=redactor.redact(result.provider_number_id),
            field=id_field,
            value=None,
            reason="the vendor's id for this number holds a credential: not listed",
        )
    texts = [result.vendor_status or "", result.sub_account or "", result.account or ""]
    _strings(result.provider_details, texts)
    if not redactor.shows_secret("\x00".join(texts)):
        return result

    def mask(value: str | None) -> str | None:
        return None if value is None else redactor.redact(value)

    return result.model_copy(
        update={
            "vendor_status": mask(result.vendor_status),
            "sub_account": mask(result.sub_account),
            "account": mask(result.account),
            "provider_details": redactor.redact_json(result.provider_details),
        }
    )


def normalize_owned_record(provider: OwnedLister, record: Any, query: OwnedQuery) -> OwnedNumber | RejectedRecord:
    """One raw owned-list record: an owned number, or a rejection naming field and reason. Never raises."""
    fields = {**provider.wire_fields, **provider.owned_wire_fields}  # the owned list's names where they differ
    result = guarded(provider, record, lambda: provider._normalize_owned(record, query), fields)  # type: ignore[arg-type]
    redactor = provider._owned_redactor()
    if redactor is None:
        return result
    redacted: OwnedNumber | RejectedRecord = _redact(redactor, result, fields.get("provider_number_id"))
    return redacted


async def stream_owned(
    provider: OwnedLister, query: OwnedQuery, sink: OwnedSink, *, run: ProviderRun | None = None
) -> ProviderStats:
    """Fetch and normalize every page of ``provider``'s owned list; see ``Provider.stream_owned``.

    ``run`` is set for the whole walk, so every request and note made in the hooks counts on it.
    """
    run = run or ProviderRun()
    listing = provider
    seen: set[bytes] = set()
    stated = received = 0

    async def deliver(raw: RawPage, number: int) -> bool:
        nonlocal stated, received
        if isinstance(raw.total, int) and not isinstance(raw.total, bool):
            stated = max(stated, raw.total)
        received += len(raw.records)
        for note in raw.truncated:
            run.stats.truncated = True
            listing._note(note)
        numbers, rejected, page_rejected, full = await _normalize_owned_page(listing, raw, query, seen, run.stats)
        if number > 1 and raw.records and not numbers and not page_rejected and not full:
            # Every entry was listed before: a vendor serving one page for every page number. What
            # follows is unknown, so the list is not whole.
            run.stats.truncated = True
            listing._note(f"owned numbers page {number} only repeated earlier entries; paging stopped")
        if full:
            run.stats.truncated = True
            listing._note(f"owned numbers: stopped at {OWNED_KEPT:,} numbers, the most one owned list is read to")
        run.stats.pages += 1
        run.stats.offers += len(numbers)
        notify(run.emit, PageFetched(provider.id, page=number, offers=len(numbers), rejected=page_rejected))
        stop = bool(await sink(OwnedPageResult(provider.id, number, numbers, rejected)))
        return stop or full or run.stats.junk

    async def fetch(cursor: Cursor) -> RawPage:
        try:
            return await listing._fetch_owned_page(query, cursor)
        except ProviderError:
            raise
        except Exception as exc:
            logger.warning("%s: unexpected error reading an owned-list page (%s)", provider.id, type(exc).__name__)
            raise ProviderResponseError(provider.id, unexpected(exc, "owned-list page")) from None

    with running(run):
        await walk_pages(
            provider.owned_paging,
            fetch,
            deliver,
            run.stats,
            per_page=provider.owned_per_page,
            max_pages=provider.owned_max_pages,
            concurrency=owned_window(provider),
            provider_id=provider.id,
        )
    if run.stats.junk:
        raise junk_error(provider.id, run.stats)
    if stated > received and not run.stats.truncated:
        # An owned list that ends before its stated total (an empty first page of a list of 1000, say)
        # is not the whole list: a number missing from it proves nothing.
        run.stats.truncated = True
        with running(run):
            listing._note(f"owned numbers: the list ended at {received} of the {stated} it states")
    return run.stats


async def _normalize_owned_page(
    listing: OwnedLister, raw: RawPage, query: OwnedQuery, seen: set[bytes], stats: ProviderStats
) -> tuple[list[OwnedNumber], list[RejectedRecord], int, bool]:
    """One owned-list page: its new numbers, rejected records kept, how many were rejected, whether it is full.

    Full: the list reached :data:`OWNED_KEPT` numbers (the page's numbers past it are not read). Rejected
    records are kept, and the list failed as junk, by the search's rules (see :mod:`numbroker.adapters._normalizing`).
    """
    numbers: list[OwnedNumber] = []
    rejected: list[RejectedRecord] = []
    page_rejected = 0
    async with contextlib.aclosing(in_slices(raw.records)) as records:
        async for record in records:
            stats.records += 1
            result = normalize_owned_record(listing, record, query)
            if isinstance(result, RejectedRecord):
                page_rejected += 1
                if count_rejected(stats, rejected, result, stats.records):
                    break  # the page is handed on with what it kept, then the list fails
                continue
            key = _seen_key(result)
            if key in seen:
                stats.duplicates += 1
                continue
            if len(seen) >= OWNED_KEPT:
                return numbers, rejected, page_rejected, True
            seen.add(key)
            numbers.append(result)
    return numbers, rejected, page_rejected, False


async def holds_owned(provider: OwnedLister, e164: str, query: OwnedQuery) -> bool:
    """True when canonical ``e164`` is on ``provider``'s owned list, read over the owned-list hook.

    The walk stops at the first match. A "no" is only given for a list read completely: a walk the engine
    cut short (``truncated``) or a rejected record that may be the number raises instead.

    Raises:
        ProviderResponseError: the number was not found, but the list is incomplete or has unreadable
            entries, so ownership cannot be ruled out.
        ProviderError: the list could not be read.
    """
    found = False
    unreadable = 0

    async def check(page: OwnedPageResult) -> bool:
        nonlocal found, unreadable
        # A number the vendor lists but the account no longer holds (released, a failed order) is not ours.
        found = found or any(number.e164 == e164 and provider._is_held(number) for number in page.numbers)
        for record in page.rejected:
            # A listed entry rejected for its number (a country mismatch, say) is still listed: ours.
            # Any other rejected entry may be the number, so a "no" could not be proven.
            if record.value is not None and _reads_as(record.value, e164):
                found = True
            else:
                unreadable += 1
        return found

    stats = await stream_owned(provider, query, check)
    if found:
        return True
    unreadable += stats.rejected - stats.rejected_kept  # counted, not handed on: any may be the number
    if stats.truncated:
        raise ProviderResponseError(
            provider.id, "owned numbers: the list was cut short (" + "; ".join(stats.notes) + "); not read completely"
        )
    if unreadable:
        raise ProviderResponseError(
            provider.id, f"{unreadable} owned entries could not be read; ownership cannot be ruled out"
        )
    return False


def _reads_as(value: str, e164: str) -> bool:
    try:
        return parse_e164(value, strictness="possible").e164 == e164
    except FieldError:
        return False
