"""Normalization of vendor pages: each raw record an offer or a rejected record, never dropped.

:func:`normalize_record` runs a provider's ``_normalize`` hook on one record and turns whatever it
raises about a bad record into a :class:`~numbroker.RejectedRecord` naming the vendor's field and the
reason. :func:`normalize_page` does a whole page for a search: offers the vendor repeated are counted
and dropped, offers the query excludes are counted, and the page is announced.

Normalization is CPU work on the event loop's thread. Pages are normalized one at a time per search
(the run's ``normalizing`` lock), in slices of :data:`NORMALIZE_SLICE_SECONDS`: an arrived response
waits for at most one slice (plus other responses being decoded) before the task that reads it, and
sends the next request, runs.

Memory stays bounded whatever a vendor sends: at most :data:`REJECTED_KEPT` rejected records are kept per
provider and search (every one is counted, and the report notes how many were not kept), and a provider
that has sent more than :data:`JUNK_REJECTED` rejected records which are more than :data:`JUNK_SHARE` of
every record it sent is failed once that page is handed on (:func:`junk_error`): a page of millions of
``1`` or ``{}`` items costs the records read before the threshold, never one object per item.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import anyio.lowlevel
from pydantic import ValidationError

from numbroker._exceptions import ProviderResponseError
from numbroker._models import AvailableNumber, RejectedRecord, SearchQuery
from numbroker._money import FieldError
from numbroker.adapters import wire
from numbroker.adapters._json import AMBIGUOUS, ambiguous_key
from numbroker.adapters._paging import RawPage
from numbroker.adapters._records import raw_record
from numbroker.adapters._stats import ProviderRun, ProviderStats
from numbroker.events import PageFetched, notify


class Normalizer(Protocol):
    """What normalizing a page needs of its provider (:class:`~numbroker.adapters.Provider` is one)."""

    @property
    def id(self) -> str: ...

    @property
    def wire_fields(self) -> Mapping[str, str]: ...

    def _record_id(self, record: Any) -> str | None: ...

    def _normalize(self, record: Any, query: SearchQuery) -> AvailableNumber: ...

    def normalize_record(self, record: Any, query: SearchQuery) -> AvailableNumber | RejectedRecord: ...


__all__ = [
    "JUNK_REJECTED",
    "JUNK_SHARE",
    "NORMALIZE_SLICE_SECONDS",
    "REJECTED_KEPT",
    "PageResult",
    "count_rejected",
    "guarded",
    "in_slices",
    "junk_error",
    "normalize_page",
    "normalize_record",
    "record_id",
    "reject",
]

logger = logging.getLogger("numbroker.http")
_T = TypeVar("_T")

NORMALIZE_SLICE_SECONDS = 0.0003
"""CPU time a page's normalization runs before it yields to the event loop (responses waiting to be read)."""

REJECTED_KEPT = 100
"""Rejected records kept per provider and search (the first ones); the rest are counted, not kept."""

JUNK_REJECTED = 1000
"""A provider with more rejected records than this, making up more than :data:`JUNK_SHARE` of its records, fails."""

JUNK_SHARE = 0.9
"""The share of rejected records, past :data:`JUNK_REJECTED`, at which a provider's answers are junk."""


def count_rejected(stats: ProviderStats, kept: list[RejectedRecord], record: RejectedRecord, read: int) -> bool:
    """Count ``record`` on ``stats``, keeping it in ``kept`` while fewer than :data:`REJECTED_KEPT` are kept.

    ``read``: the provider's records read so far, this one included. True once the provider's answers are
    junk (``stats.junk`` is set): the caller hands on what it kept, then fails the provider (:func:`junk_error`).
    """
    stats.rejected += 1
    if stats.rejected_kept < REJECTED_KEPT:
        stats.rejected_kept += 1
        kept.append(record)
    if stats.rejected > JUNK_REJECTED and stats.rejected > JUNK_SHARE * read:
        stats.junk = True
    return stats.junk


def junk_error(provider: str, stats: ProviderStats) -> ProviderResponseError:
    """The error failing a provider whose records are junk (see the module docstring)."""
    rejected, records = stats.rejected, stats.records
    share = rejected / records if records else 1.0
    return ProviderResponseError(
        provider,
        f"{rejected} of the {records} records it sent were malformed ({share:.0%}): its answers are junk, "
        f"not read further (more than {JUNK_REJECTED} rejected and over {JUNK_SHARE:.0%} of its records)",
    )


@dataclass(frozen=True, slots=True)
class PageResult:
    """One normalized page: offers that match the query's number filters, and rejected records."""

    provider: str
    page: int
    offers: list[AvailableNumber]
    rejected: list[RejectedRecord]


def record_id(record: Any, field_name: str | None) -> str | None:
    """The record's own id from ``field_name`` (a string or integer, at most 200 characters), if any."""
    record = raw_record(record)
    if field_name and isinstance(record, Mapping):
        found = wire.identifier(record, field_name)
        return None if found is None else found[:200]
    return None


def reject(
    provider: Normalizer,
    record: Any,
    field_name: str | None,
    value: object,
    reason: str,
    fields: Mapping[str, str] | None = None,
) -> RejectedRecord:
    """A rejected record naming the vendor's field (per ``fields``, default ``provider.wire_fields``) and the reason.

    Its id is read from the vendor's own record (a tagged record's ``record``).
    """
    names = provider.wire_fields if fields is None else fields
    wire = names.get(field_name, field_name) if field_name else None
    return RejectedRecord.from_value(
        provider=provider.id, offer_id=provider._record_id(raw_record(record)), field=wire, value=value, reason=reason
    )


def normalize_record(provider: Normalizer, record: Any, query: SearchQuery) -> AvailableNumber | RejectedRecord:
    """Normalize one raw vendor record: an offer, or a rejection naming field and reason. Never raises.

    A record with a key written twice with different values (see :mod:`numbroker.adapters._json`) is rejected
    as ambiguous before the adapter sees it; any error the adapter raises about a record (an
    ``ArithmeticError`` included) rejects that record alone. A tagged record (see
    :class:`~numbroker.adapters.Tagged`) reaches ``_normalize`` as it is, tag and all.
    """
    if type(record) is not dict:  # tagged, ambiguous (a dict subclass) or not an object: see guarded()
        return guarded(provider, record, lambda: provider._normalize(record, query))
    try:  # a plain object, neither tagged nor ambiguous: what guarded() does, per record of every search
        return provider._normalize(record, query)
    except Exception as exc:
        return _rejected(provider, record, exc, None)


def guarded(
    provider: Normalizer, record: Any, normalize: Callable[[], _T], fields: Mapping[str, str] | None = None
) -> _T | RejectedRecord:
    """``normalize()``'s result for ``record``, or the rejection naming field and reason. Never raises.

    What :func:`normalize_record` does for an offer, for any hook that reads one record (an owned number's);
    ``fields`` maps normalized fields to the vendor's names in that record (default ``provider.wire_fields``).
    """
    path = ambiguous_key(raw_record(record))
    if path is not None:
        return reject(provider, record, path, None, AMBIGUOUS, fields)
    try:
        return normalize()
    except Exception as exc:
        return _rejected(provider, record, exc, fields)


def _rejected(provider: Normalizer, record: Any, exc: Exception, fields: Mapping[str, str] | None) -> RejectedRecord:
    """The rejection of ``record`` for the error its normalization raised (see :func:`guarded`)."""
    if isinstance(exc, FieldError):
        return reject(provider, record, exc.field, exc.value, exc.reason, fields)
    if isinstance(exc, ValidationError):
        error = exc.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in error["loc"]) or None
        return reject(provider, record, loc, error.get("input"), error["msg"], fields)
    if isinstance(exc, ArithmeticError):
        logger.warning("%s: arithmetic error on a record (%s)", provider.id, type(exc).__name__)
        reason = f"a value of the record cannot be computed with ({type(exc).__name__})"
        return reject(provider, record, None, None, reason, fields)
    logger.warning("%s: unexpected record shape (%s)", provider.id, type(exc).__name__)
    return reject(provider, record, None, None, f"unexpected record shape: {type(exc).__name__}: {exc}", fields)


async def normalize_page(
    provider: Normalizer, raw: RawPage, number: int, query: SearchQuery, seen: set[str] | None, run: ProviderRun | None
) -> PageResult:
    """Normalize page ``number`` for a search, counting on ``run`` (a fresh count without one).

    ``seen`` holds the offer ids already delivered (an offer seen again is a repeat the vendor served and
    is counted, not delivered); None delivers repeats. With ``run.normalizing`` the page waits its turn.
    """
    stats = run.stats if run is not None else ProviderStats()
    if run is None or run.normalizing is None:
        return await _normalize_page(provider, raw, number, query, seen, stats, run)
    # One page at a time per search. Normalization is CPU work on one thread: interleaving several
    # pages finishes none of them sooner, and each page waiting its turn at a checkpoint would stand
    # between an arrived response and the task that sends the next request (a token chain's next hop).
    async with run.normalizing:
        return await _normalize_page(provider, raw, number, query, seen, stats, run)


async def in_slices(records: Iterable[_T]) -> AsyncGenerator[_T, None]:
    """``records`` one by one, yielding to the event loop every :data:`NORMALIZE_SLICE_SECONDS` of CPU.

    Normalization is CPU work: yielding now and then lets requests in flight (the next page's, other
    providers') be sent and read while a long page is normalized.
    """
    clock = time.perf_counter
    yield_at = clock() + NORMALIZE_SLICE_SECONDS
    for record in records:
        if clock() >= yield_at:
            await anyio.lowlevel.checkpoint()
            yield_at = clock() + NORMALIZE_SLICE_SECONDS
        yield record


async def _normalize_page(
    provider: Normalizer,
    raw: RawPage,
    number: int,
    query: SearchQuery,
    seen: set[str] | None,
    stats: ProviderStats,
    run: ProviderRun | None,
) -> PageResult:
    offers: list[AvailableNumber] = []
    rejected: list[RejectedRecord] = []
    normalize = provider.normalize_record
    clock = time.perf_counter
    yield_at = clock() + NORMALIZE_SLICE_SECONDS
    read = stats.records
    page_rejected = 0
    for record in raw.records:
        read += 1
        if clock() >= yield_at:
            # Normalization is CPU work: yield now and then so requests in flight (the next page's,
            # other providers') are sent and read while a long page is normalized.
            await anyio.lowlevel.checkpoint()
            yield_at = clock() + NORMALIZE_SLICE_SECONDS
        result = normalize(record, query)
        if isinstance(result, RejectedRecord):
            page_rejected += 1
            if count_rejected(stats, rejected, result, read):
                break  # the page is handed on with what it kept, then the provider fails
            continue
        if seen is not None:
            key = result.offer_id
            if key in seen:
                stats.duplicates += 1
                continue
            seen.add(key)
        reason = query.exclusion(result)
        if reason is not None:
            stats.excluded[reason] += 1
            continue
        offers.append(result)
    stats.pages += 1
    stats.records = read
    stats.offers += len(offers)
    notify(
        run.emit if run is not None else None,
        PageFetched(provider.id, page=number, offers=len(offers), rejected=page_rejected),
    )
    return PageResult(provider.id, number, offers, rejected)
