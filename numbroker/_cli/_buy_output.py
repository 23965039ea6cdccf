"""Output of ``numbroker buy-cheapest``: the plan and the attempts as a table, or the result as JSON."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from numbroker._cli._render import format_money
from numbroker._money import Money
from numbroker._pricing import EXACT
from numbroker.buying import AttemptOutcome, BuyResult, BuyStatus, PlanDecision, PlanEntry

__all__ = ["planned_total", "render_buy", "summary"]

NEXT_CANDIDATES = 5
"""How many not-reached candidates the table shows after the ones bought or attempted."""

_SHOWN = (PlanDecision.WOULD_BUY, PlanDecision.ATTEMPTED)


def planned_total(result: BuyResult) -> Money:
    """The sum of the first bills of what a dry run would buy."""
    total = Decimal(0)
    for entry in result.would_buy:
        if entry.first_bill is not None:
            total = EXACT.add(total, entry.first_bill.amount)
    return Money.model_construct(amount=total, currency=result.currency)


def render_buy(result: BuyResult, fmt: str, out: TextIO, *, color: bool = False) -> None:
    """Write ``result`` to ``out`` as ``json`` (the whole result) or ``table`` (plan and attempts)."""
    if fmt == "json":
        json.dump(result.to_json_dict(), out, indent=2, ensure_ascii=False)
        out.write("\n")
        return
    console = Console(file=out, force_terminal=color, no_color=not color, highlight=False, width=None if color else 160)
    shown: list[PlanEntry] = [e for e in result.plan if e.decision in _SHOWN]
    shown += [e for e in result.plan if e.decision is PlanDecision.CANDIDATE][:NEXT_CANDIDATES]
    if result.dry_run:
        title = (
            f"Dry run: would buy {len(result.would_buy)} of {result.quantity} for "
            f"{format_money(planned_total(result))} (first bills); nothing was bought"
        )
    else:
        title = f"Bought {len(result.bought)} of {result.quantity} for {format_money(result.spent)} (first bills)"
    if not shown:
        console.print(title)
        console.print("No offer fits the caps.")
    else:
        table = Table(title=title, title_justify="left", header_style="bold")
        for column in ("#", "Decision", "Number", "Provider", "Setup", "Monthly"):
            table.add_column(column, justify="right" if column in ("#", "Setup", "Monthly") else "left")
        table.add_column(f"Monthly ({result.currency})", justify="right")
        table.add_column(f"First bill ({result.currency})", justify="right")
        table.add_column("Why")
        for rank, entry in enumerate(shown, 1):
            decision = entry.outcome.value if entry.outcome is not None else entry.decision.value
            if entry.decision is PlanDecision.CANDIDATE:
                decision = "next" if result.dry_run or result.status is BuyStatus.COMPLETE else "not reached"
            good = entry.outcome is not None and entry.outcome.bought
            style = "bold green" if good or entry.decision is PlanDecision.WOULD_BUY else None
            if entry.outcome in (AttemptOutcome.UNKNOWN, AttemptOutcome.REFUSED):
                style = "bold red"
            table.add_row(
                str(rank),
                decision,
                entry.offer.e164,
                entry.offer.provider,
                format_money(entry.offer.setup_price),
                format_money(entry.offer.monthly_price),
                format_money(entry.monthly),
                format_money(entry.first_bill),
                (entry.reason or "")[:120],
                style=style,
            )
        console.print(table)
    skipped = Counter(e.decision.value for e in result.plan if e.decision not in (*_SHOWN, PlanDecision.CANDIDATE))
    if skipped:
        console.print(Text("skipped: " + ", ".join(f"{k} {v}" for k, v in sorted(skipped.items())), style="dim"))


def summary(result: BuyResult) -> list[str]:
    """Lines for stderr: the outcome, dropped providers, notes, and what to do next."""
    lines = []
    if result.dry_run:
        lines.append(
            f"dry run: nothing was bought; would buy {len(result.would_buy)} of {result.quantity} (add --yes to buy)"
        )
    else:
        lines.append(
            f"buy-cheapest {result.status.value}: bought {len(result.bought)} of {result.quantity}, "
            f"first bills {format_money(result.spent)}"
            + (f" of a {format_money(result.budget)} budget" if result.budget is not None else "")
        )
    lines += [
        f"bought {a.e164} at {a.provider} (first bill {format_money(a.first_bill)})"
        + ("" if a.outcome is AttemptOutcome.BOUGHT else ": confirmed from the owned numbers after an unclear answer")
        for a in result.bought
    ]
    lines += [f"{pid}: not used again in this run: {why}" for pid, why in sorted(result.dropped_providers.items())]
    lines.extend(result.notes)
    if result.status is BuyStatus.UNKNOWN:
        unknown = [a for a in result.attempts if a.outcome is AttemptOutcome.UNKNOWN]
        lines += [f"UNKNOWN: {a.e164} at {a.provider}: {a.reason}" for a in unknown]
        lines.append("an outcome is unknown: check the account(s) above before buying anything else")
    return lines
