"""Search events: what a progress display or a metrics exporter can subscribe to.

Pass ``on_event=`` to :class:`~numbroker.Searcher`; the callback runs synchronously in the search's
task, so it must be quick and must not raise (an exception from it is logged and ignored).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from numbroker._reports import ProviderReport

__all__ = [
    "PageFetched",
    "ProviderFinished",
    "ProviderStarted",
    "RequestFinished",
    "RetryScheduled",
    "SearchEvent",
]

logger = logging.getLogger("numbroker.events")


@dataclass(frozen=True, slots=True)
class SearchEvent:
    """Base class of every event; ``provider`` is the provider id."""

    provider: str


@dataclass(frozen=True, slots=True)
class ProviderStarted(SearchEvent):
    """A provider's search task started."""


@dataclass(frozen=True, slots=True)
class RequestFinished(SearchEvent):
    """One HTTP request got an answer (``status``) or failed (``status`` is None). ``path`` is redacted."""

    method: str
    path: str
    status: int | None
    elapsed: float


@dataclass(frozen=True, slots=True)
class RetryScheduled(SearchEvent):
    """A failed idempotent request will be retried after ``delay`` seconds."""

    attempt: int
    delay: float
    reason: str


@dataclass(frozen=True, slots=True)
class PageFetched(SearchEvent):
    """A page was fetched and normalized."""

    page: int
    offers: int
    rejected: int


@dataclass(frozen=True, slots=True)
class ProviderFinished(SearchEvent):
    """A provider is done; ``report`` is its final report."""

    report: ProviderReport


def notify(callback: Callable[[SearchEvent], None] | None, event: SearchEvent) -> None:
    """Hand ``event`` to ``callback``; a subscriber's exception is logged and never breaks the search."""
    if callback is None:
        return
    try:
        callback(event)
    except Exception:
        logger.exception("event callback failed on %s", type(event).__name__)
