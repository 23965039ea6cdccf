"""A comparison as ``numbroker compare`` prints it: a table per country, JSON or CSV (HTML: :mod:`.html_report`).

The table fits 80 columns: one per country, a row per provider, number type and currency, the
cheapest N-month total first and in bold; the cheapest number and the maximum give way first on a
narrow terminal. CSV has one row per JSON row, its vendor cells through :func:`numbroker._text.csv_cell`.
"""

from __future__ import annotations

import csv
import io
from typing import Any, TextIO

from rich.console import Console
from rich.text import Text

from numbroker._cli.output import json_text
from numbroker._cli.tables import ASSUMED_MARK, CONVERTED_MARK, Column, fitted_table, money_cell
from numbroker._compare import CompareRow, Comparison
from numbroker._text import csv_cell

__all__ = ["CSV_COLUMNS", "TRUNCATED_MARK", "render"]

TRUNCATED_MARK = "+"
"""Suffix of a provider that listed only part of what it holds (its figures are bounds)."""

CSV_COLUMNS = [
    "country",
    "number_type",
    "provider",
    "currency",
    "offers",
    "unpriced",
    "monthly_min",
    "monthly_median",
    "monthly_max",
    "setup_min",
    "first_bill_min",
    "total_min",
    "cheapest_e164",
    "currency_assumed",
    "truncated",
]
"""The CSV header: one row per JSON row, its ``monthly`` object flattened; amounts as in the JSON."""


def render(comparison: Comparison, fmt: str, out: TextIO, *, color: bool = False) -> None:
    """Write ``comparison`` to ``out`` as ``json``, ``csv`` or ``table``."""
    if fmt == "json":
        out.write(json_text(comparison.to_json_dict()))
    elif fmt == "csv":
        out.write(_csv(comparison))
    else:
        _tables(comparison, Console(file=out, force_terminal=color, no_color=not color, highlight=False))


def csv_row(row: CompareRow) -> dict[str, Any]:
    """One CSV row: the JSON row flattened, vendor text made inert."""
    data = row.to_json_dict()
    monthly = data.pop("monthly")
    data.update({f"monthly_{key}": value for key, value in monthly.items()})
    out = {key: "" if data[key] is None else data[key] for key in CSV_COLUMNS}
    out["provider"] = csv_cell(row.provider)
    out["currency_assumed"] = "true" if row.currency_assumed else "false"
    out["truncated"] = "true" if row.truncated else "false"
    return out


def _csv(comparison: Comparison) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in comparison.rows:
        writer.writerow(csv_row(row))
    return buffer.getvalue()


def _tables(comparison: Comparison, console: Console) -> None:
    if not comparison.rows:
        console.print("No offers matched.")
        return
    cheapest = {(c.country, c.number_type, c.provider, c.currency) for c in comparison.cheapest}
    for country in comparison.countries:
        rows = [row for row in comparison.rows if row.country == country]
        if not rows:
            console.print(f"{country}: no offers matched.")
            continue
        columns = _columns(comparison.months)
        styles: list[str | None] = []
        for row in rows:
            for column, cell in zip(columns, _cells(row), strict=True):
                column.cells.append(cell)
            best = (row.country, row.number_type, row.provider, row.currency) in cheapest
            styles.append("bold green" if best else None)
        title = f"{country}: offers per provider, cheapest {comparison.months}-month total first"
        console.print(fitted_table(console, title, columns, styles))
    console.print(Text("; ".join(_notes(comparison)), style="dim"))


def _columns(months: int) -> list[Column]:
    return [
        Column("Type"),
        Column("Provider", squeeze=True),
        Column("Offers", justify="right"),
        Column("Monthly", justify="right"),
        Column("Median", justify="right"),
        Column("Max", justify="right", drop=1),
        Column("Setup", justify="right", drop=2),
        Column(f"{months}-mo total", justify="right"),
        Column("Cheapest", drop=0),
    ]


def _cells(row: CompareRow) -> list[str]:
    def money(amount: Any) -> str:
        return money_cell(row.shown(amount), converted=row.converted, assumed=row.currency_assumed)

    offers = f"{row.offers}" + (f" ({row.unpriced}?)" if row.unpriced else "")
    return [
        row.number_type,
        row.provider + (TRUNCATED_MARK if row.truncated else ""),
        offers,
        money(row.monthly_min),
        money(row.monthly_median),
        money(row.monthly_max),
        money(row.setup_min),
        money(row.total_min),
        row.cheapest_e164 or "",
    ]


def _notes(comparison: Comparison) -> list[str]:
    notes = ["bold: the cheapest total per country and type" + ("" if comparison.currency else " (per currency)")]
    notes.append("Monthly: the lowest; Median: the middle one; (N?) offers with no total")
    if any(r.truncated for r in comparison.rows):
        notes.append(f"{TRUNCATED_MARK} the provider listed only part: its figures are bounds")
    if any(r.currency_assumed for r in comparison.rows):
        notes.append(f"{ASSUMED_MARK} currency not stated by the vendor (assumed)")
    if comparison.currency is not None:
        notes.append(f"{CONVERTED_MARK} converted to {comparison.currency} with --fx-rates")
        if any(r.currency != comparison.currency for r in comparison.rows):
            notes.append("rows in another currency had no exchange rate (not converted, never named cheapest)")
    return notes
