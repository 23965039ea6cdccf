"""A buy-cheapest result as ``numbroker buy-cheapest`` shows it.

The plan and the attempts as a table, or the result as JSON; the question asked before buying; the
summary lines on stderr.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from numbroker._cli.output import json_text
from numbroker._cli.tables import Column, fitted_table, format_money, money_cell
from numbroker._money import Money
from numbroker._pricing import EXACT
from numbroker.buying import AttemptOutcome, BuyResult, BuyStatus, PlanDecision, PlanEntry

__all__ = ["planned_total", "prompt", "render_buy", "summary"]

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
        out.write(json_text(result.to_json_dict()))
        return
    console = Console(file=out, force_terminal=color, no_color=not color, highlight=False)
    shown: list[PlanEntry] = [e for e in result.plan if e.decision in _SHOWN]
    shown += [e for e in result.plan if e.decision is PlanDecision.CANDIDATE][:NEXT_CANDIDATES]
    if not shown:
        console.print(_title(result))
        console.print("No offer fits the caps.")
    else:
        console.print(_plan_table(console, result, shown))
    skipped = Counter(e.decision.value for e in result.plan if e.decision not in (*_SHOWN, PlanDecision.CANDIDATE))
    if skipped:
        parts = [f"{k} {v}" + (f" ({_SKIP_HINTS[k]})" if k in _SKIP_HINTS else "") for k, v in sorted(skipped.items())]
        console.print(Text("skipped: " + ", ".join(parts), style="dim"))


def _title(result: BuyResult) -> str:
    if result.dry_run:
        return (
            f"Dry run: would buy {len(result.would_buy)} of {result.quantity} for "
            f"{format_money(planned_total(result))} (first bills); nothing was bought"
        )
    return f"Bought {len(result.bought)} of {result.quantity} for {format_money(result.spent)} (first bills)"


def _plan_table(console: Console, result: BuyResult, shown: list[PlanEntry]) -> Table:
    """The entries bought or attempted (or planned, in a dry run), then the next candidates."""
    columns = [
        Column("#", justify="right"),
        Column("Decision"),
        Column("Number"),
        Column("Provider", squeeze=True),
        Column("Setup", justify="right"),
        Column("Monthly", justify="right"),
        Column(f"Monthly\n({result.currency})", justify="right"),
        Column(f"First bill\n({result.currency})", justify="right"),
        Column("Why", drop=0, fold=True),
    ]
    styles: list[str | None] = []
    for rank, entry in enumerate(shown, 1):
        for column, cell in zip(columns, _plan_cells(result, rank, entry), strict=True):
            column.cells.append(cell)
        styles.append(_style(entry))
    return fitted_table(console, _title(result), columns, styles)


def _plan_cells(result: BuyResult, rank: int, entry: PlanEntry) -> list[str]:
    decision = entry.outcome.value if entry.outcome is not None else entry.decision.value
    if entry.decision is PlanDecision.CANDIDATE:
        decision = "next" if result.dry_run or result.status is BuyStatus.COMPLETE else "not reached"
    offer = entry.offer
    assumed = offer.provider_details.get("currency_assumed") is True
    return [
        str(rank),
        decision,
        offer.e164,
        offer.provider,
        money_cell(offer.setup_price, assumed=assumed),
        money_cell(offer.monthly_price, assumed=assumed),
        money_cell(entry.monthly, converted=_converted(entry.monthly, offer.monthly_price)),
        money_cell(entry.first_bill, converted=_converted(entry.first_bill, offer.monthly_price)),
        (entry.reason or "")[:120],
    ]


def _style(entry: PlanEntry) -> str | None:
    if entry.outcome in (AttemptOutcome.UNKNOWN, AttemptOutcome.REFUSED):
        return "bold red"
    good = entry.outcome is not None and entry.outcome.bought
    return "bold green" if good or entry.decision is PlanDecision.WOULD_BUY else None


_SKIP_HINTS = {
    PlanDecision.CURRENCY_ASSUMED.value: "add --allow-assumed-currency to consider them",
    PlanDecision.NOT_COMPARABLE.value: "--fx-rates with their currencies would compare them",
}


def _converted(shown: Money | None, own: Money | None) -> bool:
    return shown is not None and own is not None and shown.currency != own.currency


def prompt(plan: BuyResult) -> str:
    """The question asked before buying: every number, where, and its first bill, then the total."""
    each = [f"{e.offer.e164} at {e.offer.provider} ({format_money(e.first_bill)})" for e in plan.would_buy]
    return f"Buy {', '.join(each)}: {format_money(planned_total(plan))} in first bills?"


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
    assumed = sum(1 for e in result.plan if e.decision is PlanDecision.CURRENCY_ASSUMED)
    if assumed:
        lines.append(
            f"{assumed} offers skipped: their vendor stated no currency (numbroker assumed one); "
            "add --allow-assumed-currency to consider them"
        )
    lines += [f"{pid}: not used again in this run: {why}" for pid, why in sorted(result.dropped_providers.items())]
    lines.extend(result.notes)
    if result.status is BuyStatus.UNKNOWN:
        unknown = [a for a in result.attempts if a.outcome is AttemptOutcome.UNKNOWN]
        lines += [f"UNKNOWN: {a.e164} at {a.provider}: {a.reason}" for a in unknown]
        lines.append("an outcome is unknown: check the account(s) above before buying anything else")
    return lines
