"""What one provider's search is given, fills in and returns: its run, statistics and result.

A search's statistics reach the requests, retries and notes an adapter's hooks make through a context
variable: :func:`running` sets the run at the top of the provider's task (``stream_pages`` does), and
:func:`current_run` reads it wherever the task's code is, the connection included. anyio copies the
context into every task started inside (a page window, a per-type fan-out, a token chain's consumer), so
they record on the same run; two searches of one provider run in two tasks, each with its own run, and a
request made outside any search (a purchase, an ownership check) records nowhere.

Why a context variable rather than an argument: the hooks keep the signatures every adapter (the
built-in ones, third parties', the test doubles) already has, and no copy of the provider is needed to
carry the run. An explicit context object would have to be threaded through every hook and helper an
adapter calls, for statistics the adapter never reads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import anyio

from numbroker._models import AvailableNumber, RejectedRecord
from numbroker.events import SearchEvent

__all__ = ["ProviderResult", "ProviderRun", "ProviderStats", "current_run", "running"]


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


_RUN: ContextVar[ProviderRun | None] = ContextVar("numbroker_provider_run", default=None)


def current_run() -> ProviderRun | None:
    """The run of the search the calling task belongs to; None outside a search (a purchase, say)."""
    return _RUN.get()


@contextmanager
def running(run: ProviderRun) -> Iterator[ProviderRun]:
    """Record what the calling task (and every task it starts) does on ``run``, until the block ends."""
    token = _RUN.set(run)
    try:
        yield run
    finally:
        _RUN.reset(token)


@dataclass(frozen=True, slots=True)
class ProviderResult:
    """Everything one provider returned for one query."""

    offers: list[AvailableNumber]
    rejected: list[RejectedRecord]
    stats: ProviderStats
