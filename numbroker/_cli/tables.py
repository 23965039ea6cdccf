"""Tables that fit the terminal they are on, and money as a person reads it in them.

A table never cuts a phone number, a price or a marker: those columns do not wrap, and when the
terminal is too narrow for every column the less important ones go first (region, then
capabilities, which may also fold onto a second line). Money in a converted currency is shown at
the precision it is serialized with and marked ``≈``; a price whose currency the vendor did not
state (numbroker assumed one) is marked ``†``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

from numbroker._money import Money
from numbroker._pricing import shown_converted

__all__ = ["ASSUMED_MARK", "CONVERTED_MARK", "Column", "fitted_table", "format_money", "money_cell"]

CONVERTED_MARK = "≈"
"""Prefix of an amount converted into ``--currency`` (rounded to 6 decimal places for display)."""

ASSUMED_MARK = "†"
"""Suffix of a price whose currency the vendor did not state (numbroker assumed one)."""


def format_money(money: Money | None) -> str:
    """A price for people: the currency's symbol and at least its minor digits, never rounded.

    ``3.500000 EUR`` shows as ``€3.50``; a sub-cent ``0.0050 USD`` shows as ``$0.005`` (nothing is cut).
    """
    if money is None:
        return "—"
    from babel.numbers import get_currency_precision, get_currency_symbol  # only tables need babel (slow to import)

    digits = get_currency_precision(money.currency)
    amount = money.amount.normalize() if money.amount else Decimal(0)
    exponent = amount.as_tuple().exponent
    places = max(digits, -exponent if isinstance(exponent, int) else 0)
    text = f"{amount:,.{places}f}"
    symbol = get_currency_symbol(money.currency, locale="en")
    return f"{symbol}{text}" if symbol != money.currency else f"{text} {money.currency}"


def money_cell(money: Money | None, *, converted: bool = False, assumed: bool = False) -> str:
    """A price cell: converted amounts rounded as serialized and marked ``≈``, assumed currencies ``†``."""
    if money is None:
        return format_money(None)
    if converted:
        return CONVERTED_MARK + format_money(shown_converted(money))
    return format_money(money) + (ASSUMED_MARK if assumed else "")


@dataclass
class Column:
    """One table column: its cells, whether it may be dropped (lower ``drop`` goes first) or folded.

    ``squeeze``: as a last resort (nothing left to drop), its text may fold in the middle of a word.
    """

    header: str
    cells: list[str] = field(default_factory=list)
    justify: str = "left"
    drop: int | None = None
    fold: bool = False
    squeeze: bool = False


def fitted_table(console: Console, title: str, columns: list[Column], styles: list[str | None]) -> Table:
    """A table of ``columns`` as wide as ``console``.

    Droppable columns go (lowest ``drop`` first) until the columns that never wrap fit whole; a
    foldable column next in line may wrap onto further lines instead of going.
    """
    for padding in (1, 0):  # then, when even the columns that never wrap do not fit, one space between columns
        kept = list(columns)
        while True:
            droppable = sorted((c for c in kept if c.drop is not None), key=lambda c: c.drop or 0)
            if _width(kept, padding, folded=False) <= console.width:
                return _table(title, kept, styles, padding)
            if droppable and droppable[0].fold and _width(kept, padding, folded=True) <= console.width:
                return _table(title, kept, styles, padding)  # the next to give way folds onto more lines
            if not droppable:
                break
            kept.remove(droppable[0])
    # Still too wide: the columns marked ``squeeze`` (a provider id) fold within their words, so the
    # numbers, prices and markers stay whole while a name continues on the next line.
    return _table(title, kept, styles, padding, squeeze=True)


def _width(columns: list[Column], padding: int, *, folded: bool) -> int:
    """The table's width: every column whole (``folded``: foldable ones at their longest word)."""
    total = 0
    for column in columns:
        texts = (column.header, *column.cells)
        if folded and column.fold:
            total += _longest_word(column)
        else:
            total += max(cell_len(line) for text in texts for line in text.splitlines() or [""])
    return total + (len(columns) - 1) * (1 + padding)


def _longest_word(column: Column) -> int:
    return max((cell_len(word) for text in (column.header, *column.cells) for word in text.split()), default=1)


def _table(
    title: str, columns: list[Column], styles: list[str | None], padding: int, *, squeeze: bool = False
) -> Table:
    table = Table(
        padding=(0, padding),
        title=title,
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    for column in columns:
        squeezed = squeeze and column.squeeze
        table.add_column(
            column.header,
            justify="right" if column.justify == "right" else "left",
            no_wrap=not (column.fold or squeezed),
            overflow="fold" if column.fold or squeezed else "ellipsis",
            min_width=_longest_word(column) if column.fold and not squeezed else None,
        )
    for index, style in enumerate(styles):
        table.add_row(*(c.cells[index] for c in columns), style=style)
    return table
