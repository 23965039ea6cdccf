"""``numbroker compare``: each provider's offers per country and number type, summarised, the cheapest named.

Every country is searched at once through the same providers (so each vendor's own rate limit holds
across them all), with the filters and money rules of ``search --sort total``. Only the requested format
goes to stdout (or ``--output``); the per-provider summary goes to stderr.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable
from typing import TextIO

import click

from numbroker._cli._choices import Codes, flatten
from numbroker._cli.errors import command_errors
from numbroker._cli.exits import ExitCode
from numbroker._cli.numbers import MONTHS
from numbroker._cli.options import (
    SearchOptions,
    capability_option,
    currency_option,
    env_file_option,
    format_option,
    fx_rates_option,
    number_type_choice,
    output_format,
    provider_option,
    sandbox_option,
    timeout_option,
)
from numbroker._cli.output import output_file, redacted_output, say
from numbroker._cli.reports import summary_lines
from numbroker._compare import Comparison, compare
from numbroker._reports import OverallStatus
from numbroker._search import Searcher
from numbroker._sync import run_sync

__all__ = ["compare_command"]

COMPARE_EXAMPLES = """
\b
Examples:
  numbroker compare --sandbox --country US --country GB --format html --output report.html
  numbroker compare --country US --type local --capability sms --months 24
  numbroker compare --country US,GB,DE --currency EUR --fx-rates rates.json --format csv

\b
Exit codes: 0 complete, 3 partial (some providers failed; the rest is summarised),
1 no provider answered or none configured, 2 usage/configuration error.
"""


@click.command("compare", epilog=COMPARE_EXAMPLES)
@click.option(
    "--country",
    "countries",
    multiple=True,
    required=True,
    metavar="CC",
    type=Codes(),
    callback=flatten,
    help="ISO 3166-1 alpha-2 country (repeatable, or comma-separated: US,GB); searched at once.",
)
@click.option(
    "--type", "number_types", multiple=True, type=number_type_choice, help="Number type (repeatable; default: all)."
)
@capability_option
@provider_option
@currency_option
@fx_rates_option
@click.option(
    "--months",
    type=MONTHS,
    default=12,
    show_default=True,
    help="Months of the total (setup + N months, never fewer than a minimum commitment).",
)
@format_option("table", "json", "csv", "html")
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    help="Write the report to FILE (its format, unless --format says, from the name: .html, .csv, else JSON).",
)
@timeout_option
@env_file_option
@sandbox_option
def compare_command(
    countries: tuple[str, ...],
    number_types: tuple[str, ...],
    capabilities: tuple[str, ...],
    providers: tuple[str, ...],
    currency: str | None,
    fx_rates: str | None,
    months: int,
    fmt: str | None,
    output: str | None,
    timeout: float,
    env_file: str | None,
    sandbox: bool,
) -> None:
    """Compare carriers: per country and number type, each provider's prices summarised, the cheapest named."""
    if fx_rates and not currency:
        raise click.UsageError("--fx-rates needs --currency, the currency to convert every price into")
    with command_errors(), redacted_output():
        fmt = output_format(fmt) if output is None else (fmt or _by_extension(output))
        asked = SearchOptions(
            country=countries[0],
            number_type=None,
            capabilities=capabilities,
            prefix=None,
            contains=None,
            providers=providers,
            currency=currency,
            fx_rates=fx_rates,
            max_monthly=None,
            max_setup=None,
            timeout=timeout,
            env_file=env_file,
            sandbox=sandbox,
        )
        env = asked.environment()
        target = asked.target_currency()
        codes = [dataclasses.replace(asked, country=c).query(target, limit=None).country for c in countries]
        query = asked.query(target, limit=None)
        rates = asked.exchange_rates()
        built, skipped = asked.chosen_providers(env)

        async def run() -> Comparison:
            async with Searcher(built, timeout=timeout, skipped=skipped, own_providers=True) as searcher:
                return await compare(
                    searcher,
                    codes,
                    number_types=[t.lower() for t in number_types],
                    query=query,
                    months=months,
                    currency=target,
                    rates=rates,
                )

        comparison = run_sync(run)
        _write(comparison, fmt, output)
        for searched in comparison.providers:
            where = searched.country + (f" {searched.number_type}" if searched.number_type else "")
            for line in summary_lines([searched.report], 0):
                say(f"  {where} {line.strip()}" if line.startswith(" ") else f"{where} {line}")
        if not built:
            click.echo("no provider is configured: set the variables above, or try --sandbox", err=True)
        sys.exit(_exit_code(comparison))


def _write(comparison: Comparison, fmt: str, output: str | None) -> None:
    """The report on stdout, or in ``output`` (written whole, then renamed over: never half a report)."""
    render = _renderer(fmt)
    if output is None:
        render(comparison, sys.stdout)
        sys.stdout.flush()
        return
    with output_file(output) as out:
        render(comparison, out)
    say(f"wrote {output}")


def _renderer(fmt: str) -> Callable[[Comparison, TextIO], None]:
    if fmt == "html":
        from numbroker._cli.html_report import write_comparison  # Jinja2 and the charts: only for HTML

        return write_comparison
    from numbroker._cli.comparison import render

    return lambda comparison, out: render(comparison, fmt, out, color=out.isatty())


def _by_extension(output: str) -> str:
    """The format an ``--output`` file's name asks for (``.html``, ``.csv``, ``.txt``), else JSON."""
    extension = os.path.splitext(output)[1].lower()
    return {".html": "html", ".htm": "html", ".csv": "csv", ".txt": "table"}.get(extension, "json")


def _exit_code(comparison: Comparison) -> ExitCode:
    if comparison.status is OverallStatus.COMPLETE:
        return ExitCode.OK
    return ExitCode.PARTIAL if comparison.status is OverallStatus.PARTIAL else ExitCode.FAILED
