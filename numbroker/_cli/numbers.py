"""Numbers on the command line: finite and in range, or a one-line usage error (exit 2).

click's ``FloatRange`` accepts ``nan`` (it compares false with every bound) and ``inf``; the types here
refuse both, and the money amounts of ``--max-monthly``/``--max-setup``/``--max-first-bill``/``--budget``
are ASCII decimals within the price bounds of :mod:`numbroker._money`.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

import click

from numbroker._inputs import MAX_MONTHS, MAX_SECONDS
from numbroker._money import FieldError, check_price

__all__ = ["MONTHS", "Seconds", "parse_amount"]

_AMOUNT = re.compile(r"[0-9]{1,40}(?:\.[0-9]{1,40})?")


class Seconds(click.ParamType[float]):
    """A finite number of seconds from ``minimum`` (inclusive) to :data:`~numbroker._inputs.MAX_SECONDS`."""

    name = "seconds"

    def __init__(self, minimum: float = 0.0) -> None:
        self.minimum = minimum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float) and math.isfinite(value) and self.minimum <= value <= MAX_SECONDS:
            return value
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = math.nan
        if not (math.isfinite(seconds) and self.minimum <= seconds <= MAX_SECONDS):
            self.fail(
                f"{value!r} is not a finite number of seconds from {self.minimum:g} to {MAX_SECONDS:g}", param, ctx
            )
        return seconds

    def __repr__(self) -> str:
        return f"Seconds(minimum={self.minimum!r})"


MONTHS = click.IntRange(min=1, max=MAX_MONTHS)
"""``--months``: a whole number of months from 1 to :data:`~numbroker._inputs.MAX_MONTHS`."""


def parse_amount(text: str, option: str) -> Decimal:
    """A money amount written with ASCII digits, within the price bounds.

    Raises:
        click.UsageError: naming ``option`` and what is wrong.
    """
    if not _AMOUNT.fullmatch(text):
        raise click.UsageError(f"{option} takes an amount like 2.50 written with the digits 0-9, got {text!r}")
    try:
        return check_price(Decimal(text), field=option)
    except FieldError as exc:
        raise click.UsageError(f"{option}: {exc.reason}") from None
