"""The purchase ledger as ``numbroker ledger`` lists it: its intents and attempts, as JSON or as two tables."""

from __future__ import annotations

import json
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from numbroker._text import visible
from numbroker.ledger import AttemptState, LedgerAttempt, LedgerIntent, UndecodedAttempt

__all__ = ["listing_json", "print_listing"]


def listing_json(
    where: str,
    intents: Sequence[LedgerIntent],
    attempts: Sequence[LedgerAttempt],
    undecoded: Sequence[UndecodedAttempt] = (),
) -> str:
    """One indented JSON document: the ledger ``where`` is, its intents, its attempts and rows that do not decode."""
    document = {
        "ledger": where,
        "intents": [i.to_json_dict() for i in intents],
        "attempts": [a.to_json_dict() for a in attempts],
        "undecoded": [{"id": u.id, "problem": u.problem, "fields": u.fields} for u in undecoded],
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
    _attempts_table(console, attempts, unresolved=unresolved)


def _attempts_table(console: Console, attempts: Sequence[LedgerAttempt], *, unresolved: bool) -> None:
    """The attempts as a table that fits 80 columns: numbers are never cut; the reason wraps."""
    table = Table(title="Attempts" + (" (unresolved)" if unresolved else ""), title_justify="left")
    table.add_column("Id", no_wrap=True)
    table.add_column("State", no_wrap=True)
    table.add_column("Number", no_wrap=True, min_width=16)
    table.add_column("Provider / bill", overflow="fold")
    table.add_column("Intent / host", overflow="fold")
    table.add_column("Why", overflow="fold", ratio=1)
    for a in attempts:
        table.add_row(*map(Text, _attempt_cells(a)), style=_style(a))  # plain text: no markup read in a reason
    console.print(table)


def _attempt_cells(a: LedgerAttempt) -> list[str]:
    number = a.e164 if a.sold is None or a.sold == a.e164 else f"{a.e164}\nsold {a.sold}"
    return [
        str(a.id),
        "not owned" if a.state is AttemptState.RELEASED else a.state.value,
        number,
        f"{a.provider}\n{a.amount} {a.currency}",
        f"{a.intent}\n{a.host}/{a.pid}",
        visible(((a.note + " | ") if a.note else "") + (a.reason or "")[:200]),  # vendor text: shown, never obeyed
    ]


def _style(a: LedgerAttempt) -> str | None:
    if a.unresolved:
        return "bold red"
    return "bold green" if a.state is AttemptState.BOUGHT else None
