"""The ``numbroker`` command line.

Exit codes (search): 0 every queried provider answered; 3 partial (some failed; what arrived is still
printed); 1 none answered or none configured; 2 usage or configuration error. ``--strict`` turns 3 into 1.
130 after Ctrl-C. buy-cheapest: 0 bought everything asked, 3 bought fewer, 1 bought nothing (a dry run
always), 4 an outcome is unknown and needs a human, 2 usage.

Only the requested format goes to stdout; diagnostics and progress go to stderr.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeVar

import click

from numbroker._cli._redacting import redacted_output

if TYPE_CHECKING:
    from numbroker._models import SearchQuery
    from numbroker._money import Money
    from numbroker._provider import Provider
    from numbroker._reports import SearchResult
    from numbroker.buying import BuyResult

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL, EXIT_UNKNOWN, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130
DEFAULT_AUDIT_LOG = "numbroker-audit.jsonl"
"""Where real purchases are logged when ``--audit-log`` is not given (in the working directory)."""

_T = TypeVar("_T")


class UsageProblem(click.UsageError):
    """A usage or configuration error: exit 2 with a message that says what to fix."""


def _money_option(value: str | None, currency: str | None, option: str) -> Money | None:
    from numbroker._money import Money

    if value is None:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]{3})?\s*", value)
    if not match:
        raise UsageProblem(f"{option} takes an amount like 2.50 or '2.50 EUR', got {value!r}")
    amount, code = match.groups()
    code = code or currency
    if code is None:
        raise UsageProblem(f"{option} needs a currency: write '{amount} EUR' or add --currency EUR")
    try:
        return Money(amount=Decimal(amount), currency=code)
    except (ValueError, InvalidOperation) as exc:
        raise UsageProblem(f"{option}: {exc}") from None


def _environment(env_file: str | None) -> dict[str, str]:
    """The process environment, plus a .env-style file (variables already set in the environment win)."""
    env = dict(os.environ)
    if env_file:
        from dotenv import dotenv_values

        if not os.path.exists(env_file):
            raise UsageProblem(f"--env-file {env_file!r} does not exist")
        for key, value in dotenv_values(env_file).items():
            if value is not None:
                env.setdefault(key, value)
    return env


def _await_main(coro_fn: Callable[[], Any]) -> Any:
    from numbroker._sync import run_sync

    return run_sync(coro_fn)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn numbroker's configuration errors into exit 2 and Ctrl-C into a clean exit 130."""
    from numbroker._exceptions import ConfigurationError, UnknownProviderError

    try:
        yield
    except (ConfigurationError, UnknownProviderError) as exc:
        raise UsageProblem(str(exc)) from None
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="numbroker", prog_name="numbroker")
def cli() -> None:
    r"""Find the cheapest phone numbers across carriers.

    \b
    Try it with no account at all (built-in emulators of every provider):
      numbroker search --sandbox --country US
      numbroker search --sandbox --country GB --type mobile --sort first-bill --format json
      numbroker providers
    """


# -- search -----------------------------------------------------------------------------------------

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


def _query_options(fn: Callable[..., _T]) -> Callable[..., _T]:
    options = [
        click.option("--country", required=True, help="ISO 3166-1 alpha-2 country, e.g. US, GB, DE."),
        click.option("--type", "number_type", type=click.Choice(["local", "mobile", "toll_free", "national"])),
        click.option(
            "--capability",
            "capabilities",
            multiple=True,
            type=click.Choice(["voice", "sms", "mms", "fax", "whatsapp"]),
            help="Required capability (repeatable). Offers whose capabilities are unknown do not match.",
        ),
        click.option("--prefix", help="Digits right after the country code, e.g. an area code (212)."),
        click.option("--contains", help="Digits the number must contain."),
        click.option(
            "--provider", "providers", multiple=True, help="Provider id (repeatable; default: all configured)."
        ),
        click.option("--currency", help="Target currency: convert and rank every price in it (needs --fx-rates)."),
        click.option(
            "--fx-rates",
            type=click.Path(dir_okay=False),
            help='JSON rates file: {"base": "EUR", "rates": {"USD": "1.08"}} means 1 EUR = 1.08 USD.',
        ),
        click.option("--max-monthly", help="Cap on the monthly price, e.g. 2.50 (in --currency) or '2.50 EUR'."),
        click.option("--max-setup", help="Cap on the setup price, likewise."),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.1),
            default=30.0,
            show_default=True,
            help="Global deadline, seconds.",
        ),
        click.option("--env-file", type=click.Path(dir_okay=False), help=".env-style file with credentials."),
        click.option(
            "--sandbox", is_flag=True, help="Use the built-in emulators: no network, no accounts, deterministic."
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _build_query(
    country: str,
    number_type: str | None,
    capabilities: tuple[str, ...],
    prefix: str | None,
    contains: str | None,
    max_monthly: str | None,
    max_setup: str | None,
    currency: str | None,
    limit: int | None,
) -> SearchQuery:
    from pydantic import ValidationError

    from numbroker._models import SearchQuery

    try:
        return SearchQuery.model_validate(
            {
                "country": country,
                "number_type": number_type,
                "capabilities": tuple(capabilities),
                "prefix": prefix,
                "contains": contains,
                "max_monthly_price": _money_option(max_monthly, currency, "--max-monthly"),
                "max_setup_price": _money_option(max_setup, currency, "--max-setup"),
                "limit": limit,
            }
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'query'}: {e['msg']}" for e in exc.errors())
        raise UsageProblem(f"invalid search: {problems}") from None


def _providers(
    ids: tuple[str, ...], sandbox: bool, env: Mapping[str, str]
) -> tuple[list[Provider], dict[str, list[str]], Any]:
    """Build the providers to search: sandboxed in-process, or configured from the environment."""
    from numbroker._registry import get_provider_class, provider_ids, providers_from_env

    chosen = list(ids) or None
    for pid in chosen or []:
        get_provider_class(pid)  # unknown ids fail fast, listing the known ones
    if sandbox:
        from numbroker.sandbox import create_sandboxes, in_process_providers

        sandboxes = create_sandboxes(chosen)
        return in_process_providers(sandboxes), {}, sandboxes
    built, skipped = providers_from_env(chosen if chosen else provider_ids(), env=env)
    return built, skipped, None


class _Progress:
    """A live per-provider progress display on stderr (only when stderr is a terminal)."""

    def __init__(self, ids: list[str]) -> None:
        from rich.console import Console
        from rich.live import Live

        self.state = dict.fromkeys(ids, "waiting")
        self.console = Console(stderr=True)
        self.live = Live(self._render(), console=self.console, transient=True, refresh_per_second=8)

    def _render(self) -> Any:
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        for pid, text in self.state.items():
            table.add_row(f"[bold]{pid}[/]", text)
        return table

    def __call__(self, event: Any) -> None:
        from numbroker.events import PageFetched, ProviderFinished, ProviderStarted, RetryScheduled

        if isinstance(event, ProviderStarted):
            self.state[event.provider] = "searching…"
        elif isinstance(event, PageFetched):
            self.state[event.provider] = f"page {event.page}: {event.offers} offers"
        elif isinstance(event, RetryScheduled):
            self.state[event.provider] = f"retrying in {event.delay:.1f}s ({event.reason})"
        elif isinstance(event, ProviderFinished):
            self.state[event.provider] = event.report.status.value
        self.live.update(self._render())


def _purchase_in_flight(audit_log: str | os.PathLike[str]) -> bool:
    """True when the audit log's last attempt ended without a known outcome (``pending`` or ``unknown``)."""
    import json

    try:
        with open(audit_log, encoding="utf-8") as log:
            lines = [line for line in log if line.strip()]
    except OSError:
        return False
    if not lines:
        return False
    try:
        last = json.loads(lines[-1])
    except ValueError:
        return True  # a torn last line: the attempt it described did not finish cleanly
    return isinstance(last, dict) and last.get("outcome") in ("pending", "unknown")


def _exit_code(result: SearchResult, strict: bool) -> int:
    from numbroker._reports import OverallStatus

    if result.status is OverallStatus.COMPLETE:
        return EXIT_OK
    if result.status is OverallStatus.PARTIAL and not strict:
        return EXIT_PARTIAL
    return EXIT_FAILED


@cli.command(epilog=SEARCH_EXAMPLES)
@_query_options
@click.option(
    "--sort", type=click.Choice(["monthly", "setup", "first-bill", "total"]), default="monthly", show_default=True
)
@click.option("--months", type=click.IntRange(min=1), default=12, show_default=True, help="Months for --sort total.")
@click.option("--limit", type=click.IntRange(min=1), help="Show at most N offers (after ranking).")
@click.option(
    "--one-per-number",
    "one_per_number",
    is_flag=True,
    help="Same number from several providers: keep the cheapest, list the rest.",
)
@click.option("--strict", is_flag=True, help="Exit 1 (not 3) when any provider failed.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "ndjson", "csv"]),
    help="Output format [default: table on a terminal, json otherwise].",
)
def search(
    country: str,
    number_type: str | None,
    capabilities: tuple[str, ...],
    prefix: str | None,
    contains: str | None,
    providers: tuple[str, ...],
    currency: str | None,
    fx_rates: str | None,
    max_monthly: str | None,
    max_setup: str | None,
    timeout: float,
    env_file: str | None,
    sandbox: bool,
    sort: str,
    months: int,
    limit: int | None,
    one_per_number: bool,
    strict: bool,
    fmt: str | None,
) -> None:
    """Search every configured provider and rank the offers, cheapest first."""
    with _errors(), redacted_output():
        fmt = fmt or ("table" if sys.stdout.isatty() else "json")
        env = _environment(env_file)
        query = _build_query(
            country, number_type, capabilities, prefix, contains, max_monthly, max_setup, currency, limit
        )
        rates = None
        if fx_rates:
            from numbroker._pricing import ExchangeRates

            rates = ExchangeRates.from_file(fx_rates)
        built, skipped, _ = _providers(providers, sandbox, env)
        progress = _Progress([p.id for p in built]) if sys.stderr.isatty() and built else None

        async def run() -> SearchResult:
            from numbroker._search import Searcher

            async with Searcher(built, timeout=timeout, skipped=skipped, own_providers=True, on_event=progress) as s:
                return await s.search(
                    query, sort=sort, months=months, currency=currency, rates=rates, one_per_number=one_per_number
                )

        if progress is not None:
            with progress.live:
                result: SearchResult = _await_main(run)
        else:
            result = _await_main(run)

        from numbroker._cli._render import render, summary_lines

        render(result, fmt, sys.stdout, color=sys.stdout.isatty())
        sys.stdout.flush()
        for line in summary_lines(result.providers, result.rejected_total):
            click.echo(line, err=True)
        if not built:
            click.echo("no provider is configured: set the variables above, or try --sandbox", err=True)
        sys.exit(_exit_code(result, strict))


# -- buy-cheapest ------------------------------------------------------------------------------------

BUY_EXAMPLES = """
\b
Examples:
  numbroker buy-cheapest --sandbox --country US --max-monthly '2 USD' --max-first-bill '3 USD'
  numbroker buy-cheapest --sandbox --country US --max-monthly 2 --max-first-bill 3 --currency USD --yes
  numbroker buy-cheapest --country GB --type mobile --quantity 2 --currency EUR --fx-rates rates.json \\
      --max-monthly 1.50 --max-first-bill 3 --budget 5 --yes --audit-log buys.jsonl

\b
Without --yes nothing is bought: the plan is printed (on a terminal you are asked to confirm it).
Real purchases are appended to --audit-log (default ./numbroker-audit.jsonl: a line before each
purchase request and one with its outcome); a dry run logs only when --audit-log is given.

\b
Exit codes: 0 bought everything asked, 3 bought fewer, 1 bought nothing (always so for a dry run),
4 an outcome is unknown and needs a human (check the account before buying anything else),
2 usage/configuration error.
"""


def _buy_exit_code(result: BuyResult) -> int:
    from numbroker.buying import BuyStatus

    if result.status is BuyStatus.UNKNOWN:
        return EXIT_UNKNOWN
    if result.dry_run or result.status is BuyStatus.NONE:
        return EXIT_FAILED
    return EXIT_OK if result.status is BuyStatus.COMPLETE else EXIT_PARTIAL


def _ask(plan: BuyResult) -> bool:
    """The terminal prompt: show the plan, then ask (default no)."""
    from numbroker._cli._buy_output import planned_total, render_buy
    from numbroker._cli._render import format_money

    render_buy(plan, "table", sys.stdout, color=True)
    sys.stdout.flush()
    if not plan.would_buy:
        return False
    question = f"Buy {len(plan.would_buy)} number(s) for {format_money(planned_total(plan))} (first bills)?"
    return click.confirm(question, default=False, err=True)


@cli.command("buy-cheapest", epilog=BUY_EXAMPLES)
@_query_options
@click.option("--quantity", type=click.IntRange(min=1), default=1, show_default=True, help="How many numbers to buy.")
@click.option("--max-first-bill", help="Required hard cap on setup + first month, e.g. '3 USD' (or with --currency).")
@click.option("--budget", help="Cap on the sum of the first bills of everything bought, in the caps' currency.")
@click.option(
    "--audit-log",
    type=click.Path(dir_okay=False),
    help=f"JSON-lines file appended to and fsynced per attempt [default for real purchases: ./{DEFAULT_AUDIT_LOG}].",
)
@click.option("--yes", is_flag=True, help="Really buy (without it nothing is bought: the plan is printed).")
@click.option(
    "--allow-assumed-currency",
    is_flag=True,
    help="Also buy offers whose vendor stated no currency (numbroker assumed one).",
)
@click.option(
    "--confirm-delay",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    help="Seconds to wait after an ambiguous answer before checking the account's own numbers.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    help="Output format [default: table on a terminal, json otherwise].",
)
def buy_cheapest_command(
    country: str,
    number_type: str | None,
    capabilities: tuple[str, ...],
    prefix: str | None,
    contains: str | None,
    providers: tuple[str, ...],
    currency: str | None,
    fx_rates: str | None,
    max_monthly: str | None,
    max_setup: str | None,
    timeout: float,
    env_file: str | None,
    sandbox: bool,
    quantity: int,
    max_first_bill: str | None,
    budget: str | None,
    audit_log: str | None,
    yes: bool,
    allow_assumed_currency: bool,
    confirm_delay: float,
    fmt: str | None,
) -> None:
    """Buy the cheapest numbers under hard caps: cheapest first bill first, one purchase at a time.

    --max-monthly and --max-first-bill are required (amounts with a currency, or use --currency);
    prices in other currencies need --fx-rates, else those offers are never bought. Every ambiguous
    purchase outcome (timeout, dropped connection, 5xx) is checked against the account's own numbers,
    never retried; if that check fails the run stops and exits 4.
    """
    from numbroker._exceptions import PurchaseError

    with _errors(), redacted_output():
        fmt = fmt or ("table" if sys.stdout.isatty() else "json")
        if max_monthly is None:
            raise UsageProblem("--max-monthly is required: the hard cap on the monthly price, e.g. '2.50 USD'")
        if max_first_bill is None:
            raise UsageProblem("--max-first-bill is required: the hard cap on setup + first month, e.g. '3 USD'")
        env = _environment(env_file)
        query = _build_query(country, number_type, capabilities, prefix, contains, None, max_setup, currency, None)
        monthly_cap = _money_option(max_monthly, currency, "--max-monthly")
        first_bill_cap = _money_option(max_first_bill, currency, "--max-first-bill")
        budget_cap = _money_option(budget, currency, "--budget")
        assert monthly_cap is not None and first_bill_cap is not None
        rates = None
        if fx_rates:
            from numbroker._pricing import ExchangeRates

            rates = ExchangeRates.from_file(fx_rates)
        interactive = not yes and sys.stdin.isatty() and sys.stdout.isatty()
        dry_run = not yes and not interactive
        log_path = audit_log if audit_log is not None or dry_run else DEFAULT_AUDIT_LOG
        built, skipped, _ = _providers(providers, sandbox, env)

        async def run() -> BuyResult:
            from numbroker._search import Searcher
            from numbroker.buying import buy_cheapest

            async with Searcher(built, timeout=timeout, skipped=skipped, own_providers=True) as searcher:
                return await buy_cheapest(
                    searcher,
                    query,
                    max_monthly=monthly_cap,
                    max_first_bill=first_bill_cap,
                    quantity=quantity,
                    budget=budget_cap,
                    rates=rates,
                    audit_log=log_path,
                    dry_run=dry_run,
                    confirm=_ask if interactive else None,
                    allow_assumed_currency=allow_assumed_currency,
                    confirm_delay=confirm_delay,
                )

        try:
            result: BuyResult = _await_main(run)
        except PurchaseError as exc:
            raise UsageProblem(str(exc)) from None
        except KeyboardInterrupt:
            if log_path is not None and not dry_run and _purchase_in_flight(log_path):
                click.echo(
                    f"interrupted while a purchase was in flight: its outcome is unknown. Check the account "
                    f"before buying again (audit log: {log_path})",
                    err=True,
                )
                sys.exit(EXIT_UNKNOWN)
            raise

        from numbroker._cli._buy_output import render_buy, summary
        from numbroker._cli._render import summary_lines

        render_buy(result, fmt, sys.stdout, color=sys.stdout.isatty())
        sys.stdout.flush()
        for line in summary_lines(result.providers, 0):
            click.echo(line, err=True)
        if not built:
            click.echo("no provider is configured: set the variables above, or try --sandbox", err=True)
        for line in summary(result):
            click.echo(line, err=True)
        if log_path is not None and not result.dry_run:
            click.echo(f"audit log: {log_path}", err=True)
        sys.exit(_buy_exit_code(result))


# -- providers --------------------------------------------------------------------------------------


@cli.command("providers")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), help="[default: table on a terminal, json otherwise]"
)
@click.option("--env-file", type=click.Path(dir_okay=False), help=".env-style file with credentials.")
def providers_command(fmt: str | None, env_file: str | None) -> None:
    r"""List every known provider (built-in and plug-in), whether it is configured, and how it filters.

    \b
    Examples:
      numbroker providers
      numbroker providers --format json | jq '.[] | select(.configured)'
    """
    import json

    with _errors(), redacted_output():
        from numbroker._registry import available_providers
        from numbroker._types import QueryFilter

        env = _environment(env_file)
        fmt = fmt or ("table" if sys.stdout.isatty() else "json")
        rows: list[dict[str, Any]] = []
        for pid, cls in available_providers().items():
            rows.append(
                {
                    "id": pid,
                    "name": cls.display_name,
                    "configured": cls.is_configured(env),
                    "missing_env": cls.missing_env(env),
                    "env_vars": list(cls.env_vars()),
                    "paging": cls.paging,
                    "sandbox": bool(cls.sandbox),
                    "filters": {f.value: cls.filter_support.get(f, "emulated") for f in QueryFilter},
                }
            )
        if fmt == "json":
            click.echo(json.dumps(rows, indent=2))
            return
        from rich.console import Console
        from rich.table import Table

        table = Table(header_style="bold")
        for column in ("id", "configured", "paging", *(f.value for f in QueryFilter)):
            table.add_column(column)
        for row in rows:
            configured = "yes" if row["configured"] else "no: set " + ", ".join(row["missing_env"])
            table.add_row(row["id"], configured, row["paging"], *(str(v) for v in row["filters"].values()))
        Console(highlight=False).print(table)
        click.echo(
            "native: the vendor filters; emulated: numbroker filters client-side; "
            "unsupported: the vendor gives no data, matching offers are excluded as unknown",
            err=True,
        )


# -- sandbox ----------------------------------------------------------------------------------------


@cli.group()
def sandbox() -> None:
    """The built-in vendor emulators."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to bind.")
@click.option(
    "--port",
    type=click.IntRange(min=0, max=65535),
    default=0,
    show_default=True,
    help="First port (each provider gets its own: port, port+1, ...; 0 picks free ports).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Inventory seed.")
def sandbox_serve(host: str, port: int, seed: int) -> None:
    r"""Serve every provider's sandbox on loopback and print the exports that point tools at them.

    \b
    Example:
      numbroker sandbox serve --port 8700
      # in another shell, paste the printed export lines, then:
      numbroker search --country US
    """
    import contextlib
    import threading

    with _errors():
        from numbroker._registry import get_provider_class
        from numbroker._urls import is_loopback as _is_loopback
        from numbroker.sandbox import LoopbackServer, create_sandboxes

        if not _is_loopback(host):
            raise UsageProblem(f"--host must be a loopback address (127.0.0.1, ::1, localhost), got {host!r}")
        sandboxes = create_sandboxes(seed=seed)
        with contextlib.ExitStack() as stack:
            for offset, (pid, box) in enumerate(sandboxes.items()):
                server = stack.enter_context(LoopbackServer(box.app, host=host, port=port + offset if port else 0))
                cls = get_provider_class(pid)
                for key, value in box.env.items():
                    click.echo(f"export {key}={value}")
                click.echo(f"export {cls.base_url_env}={server.base_url}{box.base_path}")
            click.echo("# serving; press Ctrl-C to stop", err=True)
            sys.stdout.flush()
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                click.echo("stopped", err=True)


def main(argv: list[str] | None = None) -> None:
    """Run the command line (the ``numbroker`` console script)."""
    try:
        cli.main(args=argv, prog_name="numbroker")
    except KeyboardInterrupt:  # pragma: no cover - a Ctrl-C outside any command
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
