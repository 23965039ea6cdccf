"""The live per-provider progress of a search, on stderr, while it runs (only when stderr is a terminal)."""

from __future__ import annotations

from rich.console import Console
from rich.live import Live
from rich.table import Table

from numbroker.events import PageFetched, ProviderFinished, ProviderStarted, RetryScheduled, SearchEvent

__all__ = ["Progress"]


class Progress:
    """One line per provider, updated from the search's events; ``live`` shows it while the search runs."""

    def __init__(self, ids: list[str]) -> None:
        """Start with every provider in ``ids`` waiting."""
        self.state = dict.fromkeys(ids, "waiting")
        self.console = Console(stderr=True)
        self.live = Live(self._render(), console=self.console, transient=True, refresh_per_second=8)

    def _render(self) -> Table:
        table = Table.grid(padding=(0, 2))
        for pid, text in self.state.items():
            table.add_row(f"[bold]{pid}[/]", text)
        return table

    def __call__(self, event: SearchEvent) -> None:
        """Show what ``event`` says about its provider."""
        if isinstance(event, ProviderStarted):
            self.state[event.provider] = "searching…"
        elif isinstance(event, PageFetched):
            self.state[event.provider] = f"page {event.page}: {event.offers} offers"
        elif isinstance(event, RetryScheduled):
            self.state[event.provider] = f"retrying in {event.delay:.1f}s ({event.reason})"
        elif isinstance(event, ProviderFinished):
            self.state[event.provider] = event.report.status.value
        self.live.update(self._render())
