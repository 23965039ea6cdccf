"""The purchase ledger as ``numbroker ledger`` lists it: its intents and attempts, as JSON or as two tables."""

from __future__ import annotations

import json
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from numbroker.ledger import AttemptState, LedgerAttempt, LedgerIntent

__all__ = ["listing_json", "print_listing"]


def listing_json(where: str, intents: Sequence[LedgerIntent], attempts: Sequence[LedgerAttempt]) -> str:
    """One indented JSON document: the ledger ``where`` is, its intents and its attempts."""
    document = {
        "ledger": where,
        "intents": [i.to_json_dict() for i in intents],
        "attempts": [a.to_json_dict() for a in attempts],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def print_listing(
    console: Console,
    where: str,
    intents: Sequence[LedgerIntent],
    attempts: Sequence[LedgerAttempt],
    *,
    unresolved: bool,
) -> None:
    """The intents, then the attempts (unresolved ones in red, bought ones in green), as tables."""
    table = Table(title=f"Intents ({where})", title_justify="left", header_style="bold")
    for column in ("Intent", "Status", "Quantity", "Budget", "Updated"):
        table.add_column(column)
    for i in intents:
        budget = f"{i.budget} {i.currency}" if i.budget is not None else "-"
        table.add_row(i.key, i.status.value, str(i.quantity), budget, f"{i.updated_at:%Y-%m-%d %H:%M:%S}Z")
    console.print(table)
    table = Table(title="Attempts" + (" (unresolved)" if unresolved else ""), title_justify="left")
    for column in ("Id", "State", "Number", "Provider", "First bill", "Intent", "Host/pid", "Updated", "Why"):
        table.add_column(column)
    for a in attempts:
        table.add_row(*_attempt_cells(a), style=_style(a))
    console.print(table)


def _attempt_cells(a: LedgerAttempt) -> list[str]:
    return [
        str(a.id),
        a.state.value,
        a.e164,
        a.provider,
        f"{a.amount} {a.currency}",
        a.intent,
        f"{a.host}/{a.pid}",
        f"{a.updated_at:%Y-%m-%d %H:%M:%S}Z",
        ((a.note + " | ") if a.note else "") + (a.reason or "")[:100],
    ]


def _style(a: LedgerAttempt) -> str | None:
    if a.unresolved:
        return "bold red"
    return "bold green" if a.state is AttemptState.BOUGHT else None
