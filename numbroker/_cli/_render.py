"""Output for the command line: table, json, ndjson and csv renderings of a search result."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from rich.console import Console
from rich.text import Text

from numbroker._cli._layout import (
    ASSUMED_MARK,
    CONVERTED_MARK,
    Column,
    fitted_table,
    format_money,
    groups,
    money_cell,
)
from numbroker._models import AvailableNumber
from numbroker._money import Money
from numbroker._pricing import shown_converted
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
    "ranking",
    "currency_assumed",
    "minimum_commitment_months",
]
"""The flat CSV header: amounts as exact decimal text (converted ones to 6 decimal places), ``capabilities``
joined with ``;`` (empty = none, ``unknown`` = the vendor did not say), ``rank`` the place in ``ranking``
(the currency ranked in, or ``all``), ``currency_assumed`` ``true`` when the vendor stated no currency,
``minimum_commitment_months`` the months a purchase commits to (empty when the vendor states none)."""


def json_text(document: Any) -> str:
    """``document`` as an indented JSON document and a newline, in one piece.

    The text is what ``json.dumps(document, indent=2, ensure_ascii=False)`` writes; orjson's encoder
    (installed with the ``cli`` extra) writes it some twenty times faster than the standard library's
    pure-Python indenting encoder.
    """
    try:
        import orjson
    except ImportError:  # pragma: no cover - the cli extra installs orjson
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE).decode()


def _amount(money: Money | None) -> str:
    return "" if money is None else format(money.amount, "f")


def _capabilities(offer: AvailableNumber) -> str:
    return "unknown" if offer.capabilities is None else ";".join(c.value for c in offer.capabilities)


def csv_row(rank: int, ranked: RankedOffer, currency: str | None, *, ranking: str = "all") -> dict[str, Any]:
    """One flat CSV row: ``rank`` is the offer's place in ``ranking`` (a currency, or ``all``)."""
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
        "converted_setup_amount": _amount(shown_converted(ranked.converted_setup_price)),
        "converted_monthly_amount": _amount(shown_converted(ranked.converted_monthly_price)),
        "rank_amount": _amount(shown_converted(ranked.rank_price) if ranked.rank_converted else ranked.rank_price),
        "rank_currency": ranked.rank_price.currency if ranked.rank_price else "",
        "alternatives": ";".join(f"{a.provider}:{a.offer_id}" for a in ranked.alternatives),
        "ranking": ranking,
        "currency_assumed": "true" if offer.provider_details.get("currency_assumed") is True else "false",
        "minimum_commitment_months": "" if offer.minimum_commitment_months is None else offer.minimum_commitment_months,
    }


def render(
    result: SearchResult,
    fmt: str,
    out: TextIO,
    *,
    color: bool = False,
    totals: Mapping[str | None, int] | None = None,
) -> None:
    """Write ``result`` to ``out`` in ``fmt`` (``table``, ``json``, ``ndjson`` or ``csv``).

    ``totals``: for a table showing only the best of each ranking, how many offers each ranking had.
    """
    if fmt == "json":
        out.write(json_text(result.to_json_dict()))
    elif fmt == "ndjson":
        out.write("".join(json.dumps(r.to_json_dict(), ensure_ascii=False) + "\n" for r in result.offers))
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for ranking, offers in groups(result.offers, bool(result.ranked_per_currency)).items():
            name = ranking or result.currency or "all"
            for rank, ranked in enumerate(offers, 1):
                writer.writerow(csv_row(rank, ranked, result.currency, ranking=name))
        out.write(buffer.getvalue())
    else:
        _table(result, out, color=color, totals=totals or {})


_KEYS = {"monthly": "monthly", "setup": "setup", "first-bill": "first bill"}


def _table(result: SearchResult, out: TextIO, *, color: bool, totals: Mapping[str | None, int]) -> None:
    console = Console(file=out, force_terminal=color, no_color=not color, highlight=False)
    if not result.offers:
        console.print("No offers matched.")
        return
    key = _KEYS.get(result.sort.value, f"{result.months}-month total")
    for currency, offers in groups(result.offers, bool(result.ranked_per_currency)).items():
        total = totals.get(currency, len(offers))
        count = f"{len(offers)} of {total}" if total > len(offers) else f"{len(offers)}"
        if result.ranked_per_currency:
            label = f"in {currency}" if currency else "without a price"
        else:
            label = f"for {result.query.country}" + (f" in {result.currency}" if result.currency else "")
        _offer_table(console, result, offers, f"{count} offers {label}, cheapest {key} first")
    notes = []
    if any(r.offer.provider_details.get("number_type_inferred") for r in result.offers):
        notes.append("* type inferred from the numbering plan")
    if any(r.offer.capabilities is None for r in result.offers):
        notes.append("? capabilities not stated by the vendor")
    if any(_committed(r.offer) for r in result.offers):
        notes.append("Term: the minimum commitment a purchase binds to (--sort total counts it)")
    if any(_assumed(r.offer) for r in result.offers):
        notes.append(f"{ASSUMED_MARK} currency not stated by the vendor (assumed)")
    if result.currency is not None:
        notes.append(f"{CONVERTED_MARK} converted to {result.currency} with --fx-rates, shown to 6 decimal places")
    if notes:
        console.print(Text("; ".join(notes), style="dim"))
    if result.ranked_per_currency:
        # Last, under the tables, where a short terminal still shows it once everything has scrolled by.
        console.print(
            f"Offers come in {', '.join(result.ranked_per_currency)} and no exchange rates were given: each currency "
            "is ranked on its own (add --currency and --fx-rates to compare them all).",
            style="yellow",
        )


def _assumed(offer: AvailableNumber) -> bool:
    return offer.provider_details.get("currency_assumed") is True


def _committed(offer: AvailableNumber) -> bool:
    return (offer.minimum_commitment_months or 0) > 1


def _offer_table(console: Console, result: SearchResult, offers: list[RankedOffer], title: str) -> None:
    converting = result.currency is not None
    with_key = result.sort.value in ("first-bill", "total")
    with_alt = any(r.alternatives for r in offers)
    with_term = any(_committed(r.offer) for r in offers)
    columns = [
        Column("#", justify="right"),
        Column("Number"),
        *([Column("Alt", drop=2)] if with_alt else []),
        Column("Type"),
        Column("Region", drop=0),
        Column("Capabilities", drop=1, fold=True),
        Column("Setup", justify="right"),
        Column("Monthly", justify="right"),
        *([Column("Term", justify="right", drop=1)] if with_term else []),
    ]
    if converting:
        columns.append(Column(f"Monthly ({result.currency})", justify="right"))
    if with_key:
        columns.append(Column("First bill" if result.sort.value == "first-bill" else f"{result.months}-mo total"))
        columns[-1].justify = "right"
    columns.append(Column("Provider", squeeze=True))
    styles: list[str | None] = []
    for rank, ranked in enumerate(offers, 1):
        offer = ranked.offer
        assumed = _assumed(offer)
        cells = [
            str(rank),
            offer.e164,
            *([f"+{len(ranked.alternatives)}" if ranked.alternatives else ""] if with_alt else []),
            offer.number_type.value + ("*" if offer.provider_details.get("number_type_inferred") else ""),
            offer.region or "",
            "?" if offer.capabilities is None else ", ".join(c.value for c in offer.capabilities),
            money_cell(offer.setup_price, assumed=assumed),
            money_cell(offer.monthly_price, assumed=assumed),
            *([f"{offer.minimum_commitment_months} mo" if _committed(offer) else ""] if with_term else []),
        ]
        if converting:
            own = offer.monthly_price is not None and offer.monthly_price.currency == result.currency
            cells.append(money_cell(ranked.converted_monthly_price, converted=not own, assumed=own and assumed))
        if with_key:
            cells.append(money_cell(ranked.rank_price, converted=ranked.rank_converted, assumed=assumed))
        cells.append(offer.provider)
        for column, cell in zip(columns, cells, strict=True):
            column.cells.append(cell)
        styles.append("bold green" if rank == 1 and ranked.rank_price is not None else None)
    console.print(fitted_table(console, title, columns, styles))


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
        status = f"{r.status.value}, truncated" if r.truncated else r.status.value
        line = f"{r.provider}: {status} ({'; '.join(parts)})"
        if r.error and r.status.failed:
            line += f": {r.error}"
        lines.append(line)
        # What the vendor's answer left out or unpriced, and why (records known missing, a price list
        # that failed, a country it does not stock): said under the table, not only in the JSON.
        lines.extend(f"  {r.provider}: {note}" for note in r.notes[:3])
    if rejected_total:
        lines.append(f"{rejected_total} malformed vendor records were rejected (see --format json, key 'rejected')")
    return lines
