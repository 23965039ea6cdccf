"""A search result's offers as ``numbroker search`` prints them: a table, JSON, NDJSON or CSV.

A table shows the best :data:`TABLE_DEFAULT` offers of each ranking unless asked for more (the other
formats hold every offer, or ``--limit``'s); :func:`groups` and :func:`keep_best` say which those are.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.text import Text

from numbroker._cli.output import json_text
from numbroker._cli.tables import ASSUMED_MARK, CONVERTED_MARK, Column, fitted_table, money_cell
from numbroker._models import AvailableNumber
from numbroker._money import Money
from numbroker._pricing import shown_converted
from numbroker._reports import RankedOffer, SearchResult

__all__ = ["CSV_COLUMNS", "TABLE_DEFAULT", "csv_row", "groups", "keep_best", "render"]

TABLE_DEFAULT = 20
"""How many offers of each ranking a table shows when no ``--limit`` is given (``--all`` shows all)."""

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
]
"""The flat CSV header: amounts as exact decimal text (converted ones to 6 decimal places), ``capabilities``
joined with ``;`` (empty = none, ``unknown`` = the vendor did not say), ``rank`` the place in ``ranking``
(the currency ranked in, or ``all``), ``currency_assumed`` ``true`` when the vendor stated no currency."""


def groups(offers: Sequence[RankedOffer], per_currency: bool) -> dict[str | None, list[RankedOffer]]:
    """The rankings ``offers`` belong to: one per ranking currency when ranked apart, else one (``None``)."""
    out: dict[str | None, list[RankedOffer]] = {}
    for ranked in offers:
        out.setdefault(_ranking(ranked, per_currency), []).append(ranked)
    return out


def keep_best(offers: Sequence[RankedOffer], limit: int | None, per_currency: bool) -> list[RankedOffer]:
    """The best ``limit`` offers of each ranking (each currency when ranked apart), in ranking order."""
    if limit is None:
        return list(offers)
    kept: dict[str | None, int] = {}
    out = []
    for ranked in offers:
        key = _ranking(ranked, per_currency)
        kept[key] = kept.get(key, 0) + 1
        if kept[key] <= limit:
            out.append(ranked)
    return out


def _ranking(ranked: RankedOffer, per_currency: bool) -> str | None:
    """The ranking an offer is in: its rank price's currency when currencies are ranked apart, else None."""
    return (ranked.rank_price.currency if ranked.rank_price else None) if per_currency else None


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
        out.write(_csv(result))
    else:
        _table(result, out, color=color, totals=totals or {})


def _csv(result: SearchResult) -> str:
    """The flat CSV document: a header, then each ranking's offers with their place in it."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for ranking, offers in groups(result.offers, bool(result.ranked_per_currency)).items():
        name = ranking or result.currency or "all"
        for rank, ranked in enumerate(offers, 1):
            writer.writerow(csv_row(rank, ranked, result.currency, ranking=name))
    return buffer.getvalue()


_KEYS = {"monthly": "monthly", "setup": "setup", "first-bill": "first bill"}


def _table(result: SearchResult, out: TextIO, *, color: bool, totals: Mapping[str | None, int]) -> None:
    console = Console(file=out, force_terminal=color, no_color=not color, highlight=False)
    if not result.offers:
        console.print("No offers matched.")
        return
    key = _KEYS.get(result.sort.value, f"{result.months}-month total")
    if result.ranked_per_currency:
        console.print(
            f"Offers come in {', '.join(result.ranked_per_currency)} and no exchange rates were given: each currency "
            "is ranked on its own (add --currency and --fx-rates to compare them all).",
            style="yellow",
        )
    for currency, offers in groups(result.offers, bool(result.ranked_per_currency)).items():
        total = totals.get(currency, len(offers))
        count = f"{len(offers)} of {total}" if total > len(offers) else f"{len(offers)}"
        if result.ranked_per_currency:
            label = f"in {currency}" if currency else "without a price"
        else:
            label = f"for {result.query.country}" + (f" in {result.currency}" if result.currency else "")
        _offer_table(console, result, offers, f"{count} offers {label}, cheapest {key} first")
    notes = ["* type inferred from the numbering plan", "? capabilities not stated by the vendor"]
    if any(_assumed(r.offer) for r in result.offers):
        notes.append(f"{ASSUMED_MARK} currency not stated by the vendor (assumed)")
    if result.currency is not None:
        notes.append(f"{CONVERTED_MARK} converted to {result.currency} with --fx-rates, shown to 6 decimal places")
    console.print(Text("; ".join(notes), style="dim"))


def _assumed(offer: AvailableNumber) -> bool:
    return offer.provider_details.get("currency_assumed") is True


def _offer_table(console: Console, result: SearchResult, offers: list[RankedOffer], title: str) -> None:
    with_alt = any(r.alternatives for r in offers)
    columns = _offer_columns(result, with_alt=with_alt)
    styles: list[str | None] = []
    for rank, ranked in enumerate(offers, 1):
        for column, cell in zip(columns, _offer_cells(result, rank, ranked, with_alt=with_alt), strict=True):
            column.cells.append(cell)
        styles.append("bold green" if rank == 1 and ranked.rank_price is not None else None)
    console.print(fitted_table(console, title, columns, styles))


def _with_key(result: SearchResult) -> bool:
    """Whether the table shows the key ranked by (a first bill or an N-month total: no price column has it)."""
    return result.sort.value in ("first-bill", "total")


def _offer_columns(result: SearchResult, *, with_alt: bool) -> list[Column]:
    columns = [
        Column("#", justify="right"),
        Column("Number"),
        *([Column("Alt", drop=2)] if with_alt else []),
        Column("Type"),
        Column("Region", drop=0),
        Column("Capabilities", drop=1, fold=True),
        Column("Setup", justify="right"),
        Column("Monthly", justify="right"),
    ]
    if result.currency is not None:
        columns.append(Column(f"Monthly ({result.currency})", justify="right"))
    if _with_key(result):
        key = "First bill" if result.sort.value == "first-bill" else f"{result.months}-mo total"
        columns.append(Column(key, justify="right"))
    columns.append(Column("Provider", squeeze=True))
    return columns


def _offer_cells(result: SearchResult, rank: int, ranked: RankedOffer, *, with_alt: bool) -> list[str]:
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
    ]
    if result.currency is not None:
        own = offer.monthly_price is not None and offer.monthly_price.currency == result.currency
        cells.append(money_cell(ranked.converted_monthly_price, converted=not own, assumed=own and assumed))
    if _with_key(result):
        cells.append(money_cell(ranked.rank_price, converted=ranked.rank_converted, assumed=assumed))
    cells.append(offer.provider)
    return cells
