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

from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import anyio

from numbroker._inputs import check_count
from numbroker._models import AvailableNumber, RejectedRecord
from numbroker.events import SearchEvent

__all__ = [
    "NOTES_KEPT",
    "NOTE_CHARACTERS",
    "ProviderResult",
    "ProviderRun",
    "ProviderStats",
    "RequestSlots",
    "current_run",
    "one_at_a_time",
    "running",
]

NOTES_KEPT = 20
"""Notes kept per provider and search (the first ones); the rest are counted."""

NOTE_CHARACTERS = 500
"""A note longer than this is cut (vendor text may be quoted in one)."""


@dataclass(slots=True)
class ProviderStats:
    """What one provider did during one search (mutable while it runs).

    ``records`` counts every raw record read, ``rejected_kept`` the rejected records handed on (at most
    :data:`~numbroker.adapters._normalizing.REJECTED_KEPT`; the rest are counted in ``rejected`` only).
    """

    requests: int = 0
    pages: int = 0
    retries: int = 0
    offers: int = 0
    rejected: int = 0
    records: int = 0
    rejected_kept: int = 0
    duplicates: int = 0
    excluded: Counter[str] = field(default_factory=Counter)
    truncated: bool = False
    junk: bool = False
    notes: list[str] = field(default_factory=list)
    notes_dropped: int = 0

    def note(self, text: str) -> None:
        """Keep ``text`` among the notes (at most :data:`NOTES_KEPT`, each cut to :data:`NOTE_CHARACTERS`)."""
        if len(self.notes) < NOTES_KEPT:
            self.notes.append(text if len(text) <= NOTE_CHARACTERS else text[: NOTE_CHARACTERS - 1] + "…")
        else:
            self.notes_dropped += 1

    def report_notes(self) -> list[str]:
        """The notes for the provider's report, with a last note on rejected records and notes not kept."""
        out = list(self.notes)
        if self.rejected > self.rejected_kept:
            out.append(
                f"{self.rejected - self.rejected_kept} more rejected records were counted, not kept "
                f"(the first {self.rejected_kept} are kept)"
            )
        if self.notes_dropped:
            out.append(f"{self.notes_dropped} more notes were not kept (the first {NOTES_KEPT} are kept)")
        return out


_SERIAL: ContextVar[bool] = ContextVar("numbroker_serial_walk", default=False)


@contextmanager
def one_at_a_time() -> Iterator[None]:
    """Mark the requests the calling task makes in the block as a walk's next step (see :class:`RequestSlots`)."""
    token = _SERIAL.set(True)
    try:
        yield
    finally:
        _SERIAL.reset(token)


class RequestSlots:
    """A search's limit on requests in flight across its providers, handing a freed slot to the critical path first.

    ``async with limit:`` holds one of ``slots`` for a request. A free slot is taken at once, without a trip
    round the event loop. When none is free, requests wait their turn in order, except that a request made
    inside :func:`one_at_a_time` (a token chain's next page, a walk that reads one page at a time) takes the
    next freed slot ahead of them: such a walk cannot send anything else until that answer is in, so each
    wait behind a queue of independent page requests would add up along its whole chain, while a page
    request that waits a little longer delays nothing that follows it.
    """

    def __init__(self, slots: int) -> None:
        """Allow ``slots`` requests in flight at once.

        Raises:
            ConfigurationError: ``slots`` is not a whole number of at least 1 (none would ever be sent).
        """
        self._free = check_count("slots", slots)
        self._urgent: deque[anyio.Event] = deque()
        self._queued: deque[anyio.Event] = deque()

    async def __aenter__(self) -> None:
        if self._free > 0:
            self._free -= 1
            return
        queue = self._urgent if _SERIAL.get() else self._queued
        turn = anyio.Event()
        queue.append(turn)
        try:
            await turn.wait()
        except BaseException:
            if turn.is_set():  # a slot was handed over as the wait was cancelled: hand it on
                self._release()
            else:
                queue.remove(turn)
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self._release()

    def _release(self) -> None:
        for queue in (self._urgent, self._queued):
            if queue:
                queue.popleft().set()
                return
        self._free += 1


@dataclass(slots=True)
class ProviderRun:
    """The context a search gives a provider.

    Attributes:
        stats: statistics to fill.
        emit: the event sink.
        limiter: requests in flight, shared by every provider of the search (a :class:`RequestSlots`).
        normalizing: held while a page is normalized, shared by every provider of the search (see
            :func:`numbroker.adapters._normalizing.normalize_page`); ``stream_pages`` makes one when none is given.
    """

    stats: ProviderStats = field(default_factory=ProviderStats)
    emit: Callable[[SearchEvent], None] | None = None
    limiter: RequestSlots | None = None
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
