"""Option values as a mature command line reads them: codes in any case, lists with commas, no contradictions.

* A code (a capability, a number type, a provider id) is matched case-insensitively: ``SMS``, ``Sms``
  and ``sms`` are one capability, as ``us`` is one country.
* A repeatable option also takes a comma list: ``--capability sms,voice`` is ``--capability sms
  --capability voice``.
* Options that contradict each other, or one that means nothing without another, are usage errors
  (exit 2, one line) rather than silently ignored: ``--limit`` with ``--all``, ``--months`` without
  ``--sort total``, ``--fx-rates`` without ``--currency``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import click
from click.core import ParameterSource

__all__ = ["Codes", "flatten", "refuse_conflicts"]


class Codes(click.ParamType[tuple[str, ...]]):
    """One or more codes, comma-separated, matched case-insensitively (against ``choices`` when given)."""

    name = "code"

    def __init__(self, choices: Sequence[str] | None = None) -> None:
        self.choices = tuple(choices) if choices is not None else None

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[" + "|".join(self.choices) + "]" if self.choices else "ID"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return value
        parts = [part.strip().lower() for part in str(value).split(",")]
        if any(not part for part in parts):
            self.fail(f"{value!r} has an empty item: write codes separated by commas, like sms,voice", param, ctx)
        if self.choices is not None:
            wrong = [part for part in parts if part not in self.choices]
            if wrong:
                self.fail(f"{wrong[0]!r} is not one of {', '.join(self.choices)}", param, ctx)
        return tuple(parts)


def flatten(ctx: click.Context, param: click.Parameter, value: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    """The callback of a repeatable :class:`Codes` option: every occurrence's codes, in order, once each."""
    return tuple(dict.fromkeys(code for codes in value for code in codes))


def _given(ctx: click.Context, name: str) -> bool:
    """True when the user wrote the option (on the command line or in the environment), not its default."""
    source = ctx.get_parameter_source(name)
    return source is not None and source not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)


def refuse_conflicts(ctx: click.Context) -> None:
    """Raise a usage error for options that contradict each other or mean nothing without another.

    Raises:
        click.UsageError: ``--limit`` with ``--all``; ``--months`` without ``--sort total``;
            ``--fx-rates`` without ``--currency``.
    """
    params = ctx.params
    if params.get("limit") is not None and params.get("show_all"):
        raise click.UsageError("--limit and --all contradict each other: use one of them", ctx)
    if "months" in params and _given(ctx, "months") and params.get("sort") != "total":
        raise click.UsageError("--months counts only for --sort total: add --sort total or drop --months", ctx)
    if params.get("fx_rates") and not params.get("currency"):
        raise click.UsageError(
            "--fx-rates needs --currency, the currency to convert every price into (e.g. --currency EUR)", ctx
        )
