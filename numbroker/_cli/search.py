"""``numbroker search``: search every configured provider (or the sandboxes) and rank the offers, cheapest first.

Only the requested format goes to stdout; the per-provider summary, the progress (on a terminal) and the
explanations of a short or empty result go to stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable

import click

from numbroker._cli.errors import command_errors
from numbroker._cli.exits import ExitCode
from numbroker._cli.hints import explain, shortened
from numbroker._cli.numbers import MONTHS
from numbroker._cli.offers import TABLE_DEFAULT, groups, keep_best, render
from numbroker._cli.options import SearchOptions, format_option, output_format, search_options
from numbroker._cli.output import redacted_output
from numbroker._cli.progress import Progress
from numbroker._cli.reports import summary_lines
from numbroker._models import SearchQuery
from numbroker._pricing import ExchangeRates
from numbroker._reports import OverallStatus, SearchResult
from numbroker._search import Searcher
from numbroker._sync import run_sync

__all__ = ["search"]

SEARCH_EXAMPLES = """
\b
Examples:
  numbroker search --sandbox --country US --prefix 212
  numbroker search --country GB --type mobile --capability sms --sort first-bill
  numbroker search --country US --currency EUR --fx-rates rates.json --max-monthly 2 --format csv
  numbroker search --country DE --provider bird --provider vobiz --format ndjson --timeout 10

\b
Exit codes: 0 complete, 3 partial (some providers failed; offers still printed),
1 no provider answered or none configured, 2 usage/configuration error. --strict turns 3 into 1.
"""


@click.command("search", epilog=SEARCH_EXAMPLES)
@search_options
@click.option(
    "--sort", type=click.Choice(["monthly", "setup", "first-bill", "total"]), default="monthly", show_default=True
)
@click.option("--months", type=MONTHS, default=12, show_default=True, help="Months for --sort total.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    help="Keep the best N offers of each ranking: of each currency when currencies are ranked apart "
    "(no --fx-rates), else overall. The table shows the best 20 by default.",
)
@click.option("--all", "show_all", is_flag=True, help="Table: show every offer (default: the best 20 per ranking).")
@click.option(
    "--one-per-number",
    "one_per_number",
    is_flag=True,
    help="Same number from several providers: keep the cheapest, list the rest.",
)
@click.option("--strict", is_flag=True, help="Exit 1 (not 3) when any provider failed.")
@format_option("table", "json", "ndjson", "csv")
def search(
    asked: SearchOptions,
    sort: str,
    months: int,
    limit: int | None,
    show_all: bool,
    one_per_number: bool,
    strict: bool,
    fmt: str | None,
) -> None:
    """Search every configured provider and rank the offers, cheapest first."""
    with command_errors(), redacted_output():
        fmt = output_format(fmt)
        env = asked.environment()
        currency = asked.target_currency()
        query = asked.query(currency, limit=limit)
        rates = asked.exchange_rates()
        built, skipped = asked.chosen_providers(env)
        progress = Progress([p.id for p in built]) if sys.stderr.isatty() and built else None

        async def run() -> SearchResult:
            unlimited = query.model_copy(update={"limit": None})  # the limit is applied below, counting the cut
            async with Searcher(
                built, timeout=asked.timeout, skipped=skipped, own_providers=True, on_event=progress
            ) as searcher:
                return await searcher.search(
                    unlimited, sort=sort, months=months, currency=currency, rates=rates, one_per_number=one_per_number
                )

        result = _run_showing(progress, run)
        _show(result, query, rates, fmt=fmt, limit=limit, show_all=show_all)
        if not built:
            click.echo("no provider is configured: set the variables above, or try --sandbox", err=True)
        sys.exit(_exit_code(result, strict))


def _run_showing(progress: Progress | None, run: Callable[[], Awaitable[SearchResult]]) -> SearchResult:
    """The search's result; meanwhile its live progress, if there is one to show."""
    if progress is None:
        return run_sync(run)
    with progress.live:
        return run_sync(run)


def _show(
    result: SearchResult,
    query: SearchQuery,
    rates: ExchangeRates | None,
    *,
    fmt: str,
    limit: int | None,
    show_all: bool,
) -> None:
    """The offers on stdout (a table the best of each ranking); the summary and explanations on stderr."""
    per_currency = bool(result.ranked_per_currency)
    default = fmt == "table" and limit is None and not show_all
    shown_limit = TABLE_DEFAULT if default else limit
    totals = {key: len(offers) for key, offers in groups(result.offers, per_currency).items()}
    shown = keep_best(result.offers, shown_limit, per_currency)
    output = result.model_copy(update={"offers": shown, "query": query})
    render(output, fmt, sys.stdout, color=sys.stdout.isatty(), totals=totals)
    sys.stdout.flush()
    for line in summary_lines(result.providers, result.rejected_total):
        click.echo(line, err=True)
    shown_counts = {key: len(offers) for key, offers in groups(shown, per_currency).items()}
    cut = shortened(shown_counts, totals, limit=shown_limit, default=default)
    for line in [*explain(output, query, rates=rates), *([cut] if cut else [])]:
        click.echo(line, err=True)


def _exit_code(result: SearchResult, strict: bool) -> ExitCode:
    if result.status is OverallStatus.COMPLETE:
        return ExitCode.OK
    if result.status is OverallStatus.PARTIAL and not strict:
        return ExitCode.PARTIAL
    return ExitCode.FAILED
