"""What one provider's search is given, fills in and returns: its run, statistics and result."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio

from numbroker._models import AvailableNumber, RejectedRecord
from numbroker.events import SearchEvent

__all__ = ["ProviderResult", "ProviderRun", "ProviderStats"]


@dataclass(slots=True)
class ProviderStats:
    """What one provider did during one search (mutable while it runs)."""

    requests: int = 0
    pages: int = 0
    retries: int = 0
    offers: int = 0
    rejected: int = 0
    duplicates: int = 0
    excluded: Counter[str] = field(default_factory=Counter)
    truncated: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ProviderRun:
    """The context a search gives a provider.

    Attributes:
        stats: statistics to fill.
        emit: the event sink.
        limiter: requests in flight, shared by every provider of the search.
        normalizing: held while a page is normalized, shared by every provider of the search (see
            :func:`numbroker.adapters._normalizing.normalize_page`); ``stream_pages`` makes one when none is given.
    """

    stats: ProviderStats = field(default_factory=ProviderStats)
    emit: Callable[[SearchEvent], None] | None = None
    limiter: anyio.Semaphore | None = None
    normalizing: anyio.Lock | None = None


@dataclass(frozen=True, slots=True)
class ProviderResult:
    """Everything one provider returned for one query."""

    offers: list[AvailableNumber]
    rejected: list[RejectedRecord]
    stats: ProviderStats
