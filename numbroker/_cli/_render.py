"""Output for the command line: table, json, ndjson and csv renderings of a search result."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from numbroker._models import AvailableNumber
from numbroker._money import Money
from numbroker._reports import ProviderReport, ProviderStatus, RankedOffer, SearchResult

__all__ = ["CSV_COLUMNS", "format_money", "render", "summary_lines"]

CSV_COLUMNS = [
    "rank",
    "provider",
    "offer_id",
    "e164",
    "country",
    "region",
    "number_type",
    "capabilities",
    "setup_amount",
    "setup_currency",
    "monthly_amount",
    "monthly_currency",
    "converted_currency",
    "converted_setup_amount",
    "converted_monthly_amount",
    "rank_amount",
    "rank_currency",
    "alternatives",
]
"""The flat CSV header: amounts as exact decimal text, ``capabilities`` joined with ``;`` (empty = none,
``unknown`` = the vendor did not say)."""


def format_money(money: Money | None) -> str:
    """A price for people: the currency's symbol and at least its minor digits, never rounded.

    ``3.500000 EUR`` shows as ``€3.50``; a sub-cent ``0.0050 USD`` shows as ``$0.005`` (nothing is cut).
    """
    if money is None:
        return "—"
    from babel.numbers import get_currency_precision, get_currency_symbol

    digits = get_currency_precision(money.currency)
    amount = money.amount.normalize() if money.amount else Decimal(0)
    exponent = amount.as_tuple().exponent
    places = max(digits, -exponent if isinstance(exponent, int) else 0)
    text = f"{amount:,.{places}f}"
    symbol = get_currency_symbol(money.currency, locale="en")
    return f"{symbol}{text}" if symbol != money.currency else f"{text} {money.currency}"


def _amount(money: Money | None) -> str:
    return "" if money is None else format(money.amount, "f")


def _capabilities(offer: AvailableNumber) -> str:
    return "unknown" if offer.capabilities is None else ";".join(c.value for c in offer.capabilities)


def csv_row(rank: int, ranked: RankedOffer, currency: str | None) -> dict[str, Any]:
    """One flat CSV row."""
    offer = ranked.offer
    return {
        "rank": rank,
        "provider": offer.provider,
        "offer_id": offer.offer_id,
        "e164": offer.e164,
        "country": offer.country,
        "region": offer.region or "",
        "number_type": offer.number_type.value,
        "capabilities": _capabilities(offer),
        "setup_amount": _amount(offer.setup_price),
        "setup_currency": offer.setup_price.currency if offer.setup_price else "",
        "monthly_amount": _amount(offer.monthly_price),
        "monthly_currency": offer.monthly_price.currency if offer.monthly_price else "",
        "converted_currency": currency or "",
        "converted_setup_amount": _amount(ranked.converted_setup_price),
        "converted_monthly_amount": _amount(ranked.converted_monthly_price),
        "rank_amount": _amount(ranked.rank_price),
        "rank_currency": ranked.rank_price.currency if ranked.rank_price else "",
        "alternatives": ";".join(f"{a.provider}:{a.offer_id}" for a in ranked.alternatives),
    }


def render(result: SearchResult, fmt: str, out: TextIO, *, color: bool = False) -> None:
    """Write ``result`` to ``out`` in ``fmt`` (``table``, ``json``, ``ndjson`` or ``csv``)."""
    if fmt == "json":
        json.dump(result.to_json_dict(), out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif fmt == "ndjson":
        for ranked in result.offers:
            out.write(json.dumps(ranked.to_json_dict(), ensure_ascii=False) + "\n")
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for rank, ranked in enumerate(result.offers, 1):
            writer.writerow(csv_row(rank, ranked, result.currency))
        out.write(buffer.getvalue())
    else:
        _table(result, out, color=color)


def _table(result: SearchResult, out: TextIO, *, color: bool) -> None:
    console = Console(file=out, force_terminal=color, no_color=not color, highlight=False, width=None if color else 160)
    if not result.offers:
        console.print("No offers matched.")
        return
    key = {"monthly": "monthly", "setup": "setup", "first bill": "first bill", "total": f"{result.months}-month total"}
    key["first-bill"] = "first bill"
    if result.ranked_per_currency:
        console.print(
            f"Offers come in {', '.join(result.ranked_per_currency)} and no exchange rates were given: each currency "
            "is ranked on its own (add --currency and --fx-rates to compare them all).",
            style="yellow",
        )
        groups: dict[str | None, list[RankedOffer]] = {}
        for ranked in result.offers:
            groups.setdefault(ranked.rank_price.currency if ranked.rank_price else None, []).append(ranked)
        for currency, offers in groups.items():
            label = f"in {currency}" if currency else "without a price"
            _offer_table(
                console, result, offers, f"{len(offers)} offers {label}, cheapest {key[result.sort.value]} first"
            )
    else:
        title = f"{len(result.offers)} offers for {result.query.country}, cheapest {key[result.sort.value]} first"
        _offer_table(console, result, result.offers, title)
    notes = ["* type inferred from the numbering plan", "? capabilities not stated by the vendor"]
    if result.unconverted:
        notes.append(f"{len(result.unconverted)} offers left out: no exchange rate for their currency")
    if result.excluded:
        notes.append("excluded by price caps: " + ", ".join(f"{k} {v}" for k, v in sorted(result.excluded.items())))
    console.print(Text("; ".join(notes), style="dim"))


def _offer_table(console: Console, result: SearchResult, offers: list[RankedOffer], title: str) -> None:
    converting = result.currency is not None
    with_key = result.sort.value in ("first-bill", "total")
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("Number")
    table.add_column("Type")
    table.add_column("Region")
    table.add_column("Capabilities")
    table.add_column("Setup", justify="right")
    table.add_column("Monthly", justify="right")
    if converting:
        table.add_column(f"Monthly ({result.currency})", justify="right")
    if with_key:
        table.add_column(
            "First bill" if result.sort.value == "first-bill" else f"{result.months}-month total", justify="right"
        )
    table.add_column("Provider")
    for rank, ranked in enumerate(offers, 1):
        offer = ranked.offer
        row = [
            str(rank),
            offer.e164 + (f"  (+{len(ranked.alternatives)} alt)" if ranked.alternatives else ""),
            offer.number_type.value + ("*" if offer.provider_details.get("number_type_inferred") else ""),
            offer.region or "",
            "?" if offer.capabilities is None else ", ".join(c.value for c in offer.capabilities),
            format_money(offer.setup_price),
            format_money(offer.monthly_price),
        ]
        if converting:
            row.append(format_money(ranked.converted_monthly_price))
        if with_key:
            row.append(format_money(ranked.rank_price))
        row.append(offer.provider)
        cheapest = rank == 1 and ranked.rank_price is not None
        table.add_row(*row, style="bold green" if cheapest else None)
    console.print(table)


def summary_lines(reports: Iterable[ProviderReport], rejected_total: int) -> list[str]:
    """One line per provider: how it ended and why."""
    lines = []
    for r in reports:
        if r.status is ProviderStatus.SKIPPED:
            lines.append(f"{r.provider}: skipped (set {', '.join(r.missing_env)})")
            continue
        parts = [f"{r.offers} offers", f"{r.pages} pages", f"{r.elapsed_ms} ms"]
        if r.retries:
            parts.append(f"{r.retries} retries")
        if r.rejected:
            parts.append(f"{r.rejected} records rejected")
        if r.unapplied_filters:
            parts.append("filtered client-side: " + ", ".join(f"{k} ({v})" for k, v in r.unapplied_filters.items()))
        excluded = {k: v for k, v in r.excluded.items() if v}
        if excluded:
            parts.append("excluded: " + ", ".join(f"{k} {v}" for k, v in sorted(excluded.items())))
        line = f"{r.provider}: {r.status.value} ({'; '.join(parts)})"
        if r.error and r.status.failed:
            line += f": {r.error}"
        lines.append(line)
    if rejected_total:
        lines.append(f"{rejected_total} malformed vendor records were rejected (see --format json, key 'rejected')")
    return lines
