"""The ``numbroker`` command line.

Exit codes (search): 0 every queried provider answered; 3 partial (some failed; what arrived is still
printed); 1 none answered or none configured; 2 usage or configuration error. ``--strict`` turns 3 into 1.
130 after Ctrl-C. buy-cheapest: 0 bought everything asked (or the intent was already finished), 3 bought
fewer, 1 bought nothing (a dry run always; another run held the account past the deadline; the ledger
failed before anything was bought), 4 an outcome is unknown or an attempt is unresolved and needs a human
(or a later run's recovery), 2 usage. SIGTERM and SIGHUP are handled like Ctrl-C.

Only the requested format goes to stdout; diagnostics and progress go to stderr.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from decimal import InvalidOperation
from typing import TYPE_CHECKING, Any, TypeVar

import click

from numbroker._cli._errors import UsageProblem, country_hint, show_one_line, validation_message
from numbroker._cli._numbers import MONTHS, Seconds, parse_amount
from numbroker._cli._owned import owned_command
from numbroker._cli._redacting import redacted_output

if TYPE_CHECKING:
    from numbroker._models import SearchQuery
    from numbroker._money import Money
    from numbroker._reports import SearchResult
    from numbroker.adapters import Provider
    from numbroker.buying import BuyResult
    from numbroker.ledger import Ledger, LedgerAttempt

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL, EXIT_UNKNOWN, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130
DEFAULT_AUDIT_LOG = "numbroker-audit.jsonl"
"""Where real purchases are logged when ``--audit-log`` is not given (in the working directory)."""

_T = TypeVar("_T")


def _money_option(value: str | None, currency: str | None, option: str) -> Money | None:
    from numbroker._money import Money

    if value is None:
        return None
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]{3})?\s*", value)
    if not match:
        raise UsageProblem(f"{option} takes an amount like 2.50 or '2.50 EUR', got {value!r}")
    amount, code = match.groups()
    code = code or currency
    if code is None:
        raise UsageProblem(f"{option} needs a currency: write '{amount} EUR' or add --currency EUR")
    try:
        return Money(amount=parse_amount(amount, option), currency=code)
    except (ValueError, InvalidOperation) as exc:
        raise UsageProblem(f"{option}: {validation_message(exc)}") from None


def _currency_option(currency: str | None) -> str | None:
    """``--currency`` upper-cased, or a usage error naming the code that is not ISO 4217."""
    from numbroker._money import validate_currency

    if currency is None:
        return None
    try:
        return validate_currency(currency)
    except ValueError:
        raise UsageProblem(
            f"--currency {currency!r} is not an ISO 4217 currency code: use one such as EUR, USD or GBP"
        ) from None


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


# Examples live in epilogs: click keeps a paragraph whose first line is the \b character as written.
MAIN_EXAMPLES = """
\b
Try it with no account at all (built-in emulators of every provider):
  numbroker search --sandbox --country US
  numbroker search --sandbox --country GB --type mobile --sort first-bill --format json
  numbroker providers
"""


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}, epilog=MAIN_EXAMPLES)
@click.version_option(package_name="numbroker", prog_name="numbroker")
def cli() -> None:
    """Find the cheapest phone numbers across carriers."""


cli.add_command(owned_command)


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
            type=Seconds(minimum=0.1),
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
        hint = country_hint(country) if any(e["loc"] == ("country",) for e in exc.errors()) else ""
        raise UsageProblem(f"invalid search: {validation_message(exc)}{hint}") from None


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
    show_all: bool = False,
) -> None:
    """Search every configured provider and rank the offers, cheapest first."""
    with _errors(), redacted_output():
        fmt = fmt or ("table" if sys.stdout.isatty() else "json")
        env = _environment(env_file)
        currency = _currency_option(currency)
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

            unlimited = query.model_copy(update={"limit": None})  # the limit is applied below, counting the cut
            async with Searcher(built, timeout=timeout, skipped=skipped, own_providers=True, on_event=progress) as s:
                return await s.search(
                    unlimited, sort=sort, months=months, currency=currency, rates=rates, one_per_number=one_per_number
                )

        if progress is not None:
            with progress.live:
                result: SearchResult = _await_main(run)
        else:
            result = _await_main(run)

        from numbroker._cli._hints import explain, shortened
        from numbroker._cli._layout import TABLE_DEFAULT, groups, keep_best
        from numbroker._cli._render import render, summary_lines

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
  numbroker buy-cheapest --country US --max-monthly '2 USD' --max-first-bill '3 USD' --yes \
      --idempotency-key nightly-$(date +%F) --spend-limit '20 USD' --spend-window 24h

\b
Without --yes nothing is bought: the plan is printed (on a terminal you are asked to confirm it).
Every attempt is written to the purchase ledger (--ledger) before its request is sent; real purchases
are also appended to --audit-log (default ./numbroker-audit.jsonl: a line before each purchase request
and one with its outcome); a dry run logs only when --audit-log is given.

\b
Exit codes: 0 bought everything asked (or the --idempotency-key intent was already complete),
3 bought fewer, 1 bought nothing (always so for a dry run; also when another run held the account
past --run-timeout), 4 an outcome is unknown and needs a human (check the account before buying
anything else; `numbroker ledger --unresolved` names the attempts), 2 usage/configuration error.
"""


def _say(line: str) -> None:
    """One line on stderr; a full or closed stderr is not a reason to fail (the exit code says it all)."""
    with contextlib.suppress(OSError):
        click.echo(line, err=True)


def _handle_termination() -> None:
    """SIGTERM and SIGHUP act like Ctrl-C; a file-size limit makes writes fail (EFBIG) instead of killing.

    ``timeout``, systemd and docker stop a process with SIGTERM: it is handed to whatever handles
    SIGINT at that moment (the event loop's runner cancels the run, which records an in-flight purchase
    as unknown).
    """
    import signal

    def forward(signum: int, frame: Any) -> None:
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):
            handler(signal.SIGINT, frame)
        else:
            raise KeyboardInterrupt

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), forward)
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _open_ledger(where: str | None, sandbox: bool, cleanup: contextlib.ExitStack) -> Ledger:
    """The run's ledger: ``--ledger``, ``$NUMBROKER_LEDGER`` or the default; a temporary one for --sandbox."""
    import tempfile

    from numbroker.ledger import LedgerError, open_ledger

    if sandbox:
        # Sandbox purchases are make-believe: they never touch a real ledger.
        folder = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="numbroker-sandbox-ledger-"))
        where = os.path.join(folder, "ledger.sqlite3")
    try:
        ledger = open_ledger(where)
    except LedgerError as exc:
        raise UsageProblem(str(exc)) from None
    cleanup.callback(ledger.close)
    return ledger


def _unresolved_in_run(ledger: Ledger, run_id: str) -> list[LedgerAttempt]:
    """This run's attempts the ledger holds as unresolved (after an interruption)."""
    from numbroker.ledger import UNRESOLVED_STATES, LedgerError

    try:
        return [a for a in ledger.attempts(states=UNRESOLVED_STATES, limit=1000) if a.run_id == run_id]
    except LedgerError:
        return []


def _buy_exit_code(result: BuyResult) -> int:
    from numbroker.buying import BuyStatus

    if result.status is BuyStatus.UNKNOWN:
        return EXIT_UNKNOWN
    if result.dry_run or result.status is BuyStatus.NONE:
        return EXIT_FAILED
    return EXIT_OK if result.status is BuyStatus.COMPLETE else EXIT_PARTIAL


def _ask(plan: BuyResult) -> bool:
    """The terminal prompt: show the plan, then ask (default no)."""
    from numbroker._cli._buy_output import prompt, render_buy

    render_buy(plan, "table", sys.stdout, color=True)
    sys.stdout.flush()
    if not plan.would_buy:
        return False
    from numbroker._cli._prompt import ask_yes_no

    return ask_yes_no(prompt(plan))


@cli.command("buy-cheapest", epilog=BUY_EXAMPLES)
@_query_options
@click.option("--quantity", type=click.IntRange(min=1), default=1, show_default=True, help="How many numbers to buy.")
@click.option("--max-first-bill", help="Required hard cap on setup + first month, e.g. '3 USD' (or with --currency).")
@click.option("--budget", help="Cap on the sum of the first bills of everything bought, in the caps' currency.")
@click.option(
    "--audit-log",
    type=click.Path(dir_okay=False),
    help=f"JSON-lines file appended to and fsynced per attempt [default for real purchases: ./{DEFAULT_AUDIT_LOG};"
    " none with --sandbox].",
)
@click.option("--yes", is_flag=True, help="Really buy (without it nothing is bought: the plan is printed).")
@click.option(
    "--allow-assumed-currency",
    is_flag=True,
    help="Also buy offers whose vendor stated no currency (numbroker assumed one).",
)
@click.option(
    "--confirm-delay",
    type=Seconds(minimum=0),
    default=2.0,
    show_default=True,
    help="Seconds to wait after an ambiguous answer before checking the account's own numbers.",
)
@click.option(
    "--confirm-window",
    type=click.FloatRange(min=0),
    default=300.0,
    show_default=True,
    help="Seconds after an ambiguous answer during which 'not owned' proves nothing (owned lists may lag).",
)
@click.option(
    "--ledger",
    "ledger_where",
    metavar="PATH|URL",
    help="The purchase ledger: a SQLite file or a postgresql:// URL [default: $NUMBROKER_LEDGER, else "
    "ledger.sqlite3 in the user's data directory].",
)
@click.option(
    "--idempotency-key",
    metavar="KEY",
    help="Name this intent: a rerun with the same key continues it, and buys nothing once it is complete.",
)
@click.option(
    "--spend-limit",
    metavar="AMOUNT",
    help="Cap on the first bills bought (plus unresolved attempts) per account in --spend-window, across runs.",
)
@click.option(
    "--spend-window",
    metavar="DURATION",
    default="24h",
    show_default=True,
    help="The window of --spend-limit: 30m, 24h, 7d ...",
)
@click.option(
    "--purchase-timeout",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Total deadline of each purchase request (the whole response) and of each ownership check, seconds.",
)
@click.option(
    "--run-timeout",
    type=click.FloatRange(min=0.1),
    default=300.0,
    show_default=True,
    help="Bound on the buying: waiting for another run on the account, recovery, starting purchases, seconds.",
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
    confirm_window: float,
    ledger_where: str | None,
    idempotency_key: str | None,
    spend_limit: str | None,
    spend_window: str,
    purchase_timeout: float,
    run_timeout: float,
    fmt: str | None,
) -> None:
    """Buy the cheapest numbers under hard caps: cheapest first bill first, one purchase at a time.

    --max-monthly and --max-first-bill are required (amounts with a currency, or use --currency);
    prices in other currencies need --fx-rates, else those offers are never bought. Every ambiguous
    purchase outcome (timeout, dropped connection, 5xx) is checked against the account's own numbers,
    never retried; if that check fails the run stops and exits 4.

    Every attempt is recorded in the purchase ledger before its request is sent; runs sharing a ledger
    and an account buy one at a time, and each first settles what earlier runs left unresolved.
    """
    from numbroker._exceptions import PurchaseError
    from numbroker.ledger import LedgerBusyError, LedgerError

    _handle_termination()
    with _errors(), redacted_output(), contextlib.ExitStack() as cleanup:
        fmt = fmt or ("table" if sys.stdout.isatty() else "json")
        if max_monthly is None:
            raise UsageProblem("--max-monthly is required: the hard cap on the monthly price, e.g. '2.50 USD'")
        if max_first_bill is None:
            raise UsageProblem("--max-first-bill is required: the hard cap on setup + first month, e.g. '3 USD'")
        env = _environment(env_file)
        currency = _currency_option(currency)
        query = _build_query(country, number_type, capabilities, prefix, contains, None, max_setup, currency, None)
        monthly_cap = _money_option(max_monthly, currency, "--max-monthly")
        first_bill_cap = _money_option(max_first_bill, currency, "--max-first-bill")
        budget_cap = _money_option(budget, currency, "--budget")
        limit_cap = _money_option(spend_limit, currency, "--spend-limit")
        assert monthly_cap is not None and first_bill_cap is not None
        rates = None
        if fx_rates:
            from numbroker._pricing import ExchangeRates

            rates = ExchangeRates.from_file(fx_rates)
        interactive = not yes and sys.stdin.isatty() and sys.stdout.isatty()
        dry_run = not yes and not interactive
        # Sandbox purchases are not real: they never go to the default (real) audit log.
        log_path = audit_log if audit_log is not None or dry_run or sandbox else DEFAULT_AUDIT_LOG
        built, skipped, _ = _providers(providers, sandbox, env)
        ledger = _open_ledger(ledger_where, sandbox, cleanup)
        run_id = uuid.uuid4().hex

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
                    confirm_window=confirm_window,
                    ledger=ledger,
                    idempotency_key=idempotency_key,
                    spend_limit=limit_cap,
                    spend_window=spend_window,
                    purchase_timeout=purchase_timeout,
                    run_timeout=run_timeout,
                    run_id=run_id,
                )

        try:
            result: BuyResult = _await_main(run)
        except LedgerBusyError as exc:
            _say(f"nothing was bought: {exc}")
            sys.exit(EXIT_FAILED)
        except LedgerError as exc:
            _say(f"nothing was bought: {exc}")
            sys.exit(EXIT_FAILED)
        except PurchaseError as exc:
            raise UsageProblem(str(exc)) from None
        except KeyboardInterrupt:
            in_flight = _unresolved_in_run(ledger, run_id)
            if not dry_run and (in_flight or (log_path is not None and _purchase_in_flight(log_path))):
                named = "".join(f"\n  attempt {a.id}: {a.e164} at {a.provider} ({a.state.value})" for a in in_flight)
                _say(
                    f"interrupted while a purchase was in flight: its outcome is unknown.{named}\nCheck the account "
                    f"before buying again: a rerun settles it first (ledger: {ledger.describe()}; audit log: "
                    f"{log_path})"
                )
                sys.exit(EXIT_UNKNOWN)
            raise

        from numbroker._cli._buy_output import render_buy, summary
        from numbroker._cli._render import summary_lines

        code = _buy_exit_code(result)
        try:
            render_buy(result, fmt, sys.stdout, color=sys.stdout.isatty())
            sys.stdout.flush()
        except OSError as exc:
            _say(f"the result could not be written to standard output ({exc.strerror}); exit {code} stands")
        lines = [*summary_lines(result.providers, 0)]
        if not built:
            lines.append("no provider is configured: set the variables above, or try --sandbox")
        lines += summary(result)
        if log_path is not None and not result.dry_run:
            lines.append(f"audit log: {log_path}")
        if result.ledger is not None and not result.dry_run:
            lines.append(f"ledger: {result.ledger}" + (" (temporary: --sandbox)" if sandbox else ""))
        if sandbox and not result.dry_run:
            lines.append("sandbox: bought from the built-in emulators; nothing real was bought")
        for line in lines:
            _say(line)
        sys.exit(code)


# -- ledger -----------------------------------------------------------------------------------------

LEDGER_EXAMPLES = """
\b
Examples:
  numbroker ledger --unresolved
  numbroker ledger --intent nightly-2024-05-01 --format json
  numbroker ledger resolve 17 --bought --note "in the vendor console since 02:14"
  numbroker ledger resolve 18 --released --note "vendor support: not provisioned"
"""


def _ledger_option(fn: Callable[..., _T]) -> Callable[..., _T]:
    return click.option(
        "--ledger",
        "ledger_where",
        metavar="PATH|URL",
        help="A SQLite file or a postgresql:// URL [default: $NUMBROKER_LEDGER, else the user's data directory].",
    )(fn)


@cli.group("ledger", invoke_without_command=True, epilog=LEDGER_EXAMPLES)
@_ledger_option
@click.option(
    "--unresolved", is_flag=True, help="Only attempts nobody knows the outcome of (pending, ambiguous, unknown)."
)
@click.option("--intent", "intent_key", metavar="KEY", help="Only this intent's attempts.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="The newest N of each.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), help="[default: table on a terminal, json otherwise]"
)
@click.pass_context
def ledger_command(
    ctx: click.Context, ledger_where: str | None, unresolved: bool, intent_key: str | None, limit: int, fmt: str | None
) -> None:
    """The purchase ledger: every intent and attempt, what is unresolved, and settling one by hand.

    An attempt is unresolved when a run was killed mid-request, got an answer that did not say, or could
    not check ownership. The next run on that account settles it by checking the account's own numbers;
    when that cannot be done (exit 4), check the account at the vendor and record what you found with
    `numbroker ledger resolve`.
    """
    if ctx.invoked_subcommand is not None:
        ctx.obj = ledger_where
        return
    import json

    from numbroker.ledger import UNRESOLVED_STATES

    with _errors(), redacted_output():
        fmt = fmt or ("table" if sys.stdout.isatty() else "json")
        ledger = _open_ledger(ledger_where, False, ctx.with_resource(contextlib.ExitStack()))
        states = UNRESOLVED_STATES if unresolved else None
        attempts = ledger.attempts(intent=intent_key, states=states, limit=limit)
        intents = [i for i in ledger.intents(limit=limit) if intent_key is None or i.key == intent_key]
        if unresolved:
            intents = [i for i in intents if i.key in {a.intent for a in attempts}]
        if fmt == "json":
            doc = {
                "ledger": ledger.describe(),
                "intents": [_intent_json(i) for i in intents],
                "attempts": [_attempt_json(a) for a in attempts],
            }
            click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
            return
        from rich.console import Console
        from rich.table import Table

        console = Console(highlight=False)
        table = Table(title=f"Intents ({ledger.describe()})", title_justify="left", header_style="bold")
        for column in ("Intent", "Status", "Quantity", "Budget", "Updated"):
            table.add_column(column)
        for i in intents:
            budget = f"{i.budget} {i.currency}" if i.budget is not None else "-"
            table.add_row(i.key, i.status.value, str(i.quantity), budget, f"{i.updated_at:%Y-%m-%d %H:%M:%S}Z")
        console.print(table)
        table = Table(title="Attempts" + (" (unresolved)" if unresolved else ""), title_justify="left")
        for column in ("Id", "State", "Number", "Provider", "First bill", "Intent", "Host/pid", "Updated", "Why"):
            table.add_column(column)
        for a in attempts:
            style = "bold red" if a.unresolved else ("bold green" if a.state.value == "bought" else None)
            table.add_row(
                str(a.id),
                a.state.value,
                a.e164,
                a.provider,
                f"{a.amount} {a.currency}",
                a.intent,
                f"{a.host}/{a.pid}",
                f"{a.updated_at:%Y-%m-%d %H:%M:%S}Z",
                ((a.note + " | ") if a.note else "") + (a.reason or "")[:100],
                style=style,
            )
        console.print(table)
        if unresolved and attempts:
            _say("settle each: check the account at the vendor, then `numbroker ledger resolve ID --bought|--released`")


@ledger_command.command("resolve")
@click.argument("attempt_id", type=int)
@click.option("--bought", "state", flag_value="bought", help="The account owns the number: count it as bought.")
@click.option("--released", "state", flag_value="released", help="The account does not own it: nothing was bought.")
@click.option("--note", required=True, help="What you checked (kept with the attempt).")
@click.pass_context
def ledger_resolve(ctx: click.Context, attempt_id: int, state: str | None, note: str) -> None:
    """Settle an unresolved attempt by hand, with a note saying what you checked."""
    import socket

    from numbroker.ledger import AttemptState, LedgerBusyError, LedgerError

    with _errors(), redacted_output():
        if state is None:
            raise UsageProblem("say what you found: --bought or --released")
        ledger = _open_ledger(ctx.obj, False, ctx.with_resource(contextlib.ExitStack()))
        found = ledger.attempt(attempt_id)
        if found is None:
            raise UsageProblem(f"no attempt {attempt_id} in {ledger.describe()}")
        if not found.unresolved:
            raise UsageProblem(f"attempt {attempt_id} is already {found.state.value}: nothing to resolve")
        try:
            # Not while a run is buying on that account (it may be settling this very attempt).
            with ledger.purchaser(found.account, run_id=f"resolve-{attempt_id}", timeout=10):
                current = ledger.attempt(attempt_id)
                if current is None or not current.unresolved:
                    raise UsageProblem(f"attempt {attempt_id} was settled meanwhile: {current and current.state.value}")
                done = ledger.update_attempt(
                    attempt_id,
                    AttemptState(state),
                    reason=f"resolved by hand on {socket.gethostname()} (was {found.state.value})",
                    note=note,
                )
        except LedgerBusyError as exc:
            _say(f"not resolved: {exc}")
            sys.exit(EXIT_FAILED)
        except LedgerError as exc:
            _say(f"not resolved: {exc}")
            sys.exit(EXIT_FAILED)
        _say(f"attempt {done.id}: {done.e164} at {done.provider} is now {done.state.value}")


def _intent_json(intent: Any) -> dict[str, Any]:
    return {
        "key": intent.key,
        "status": intent.status.value,
        "quantity": intent.quantity,
        "budget": None if intent.budget is None else str(intent.budget),
        "currency": intent.currency,
        "created_at": intent.created_at.isoformat(),
        "updated_at": intent.updated_at.isoformat(),
    }


def _attempt_json(attempt: Any) -> dict[str, Any]:
    return {
        "id": attempt.id,
        "intent": attempt.intent,
        "run_id": attempt.run_id,
        "provider": attempt.provider,
        "account": attempt.account,
        "e164": attempt.e164,
        "offer_id": attempt.offer_id,
        "amount": str(attempt.amount),
        "currency": attempt.currency,
        "state": attempt.state.value,
        "unresolved": attempt.unresolved,
        "reason": attempt.reason,
        "note": attempt.note,
        "host": attempt.host,
        "pid": attempt.pid,
        "created_at": attempt.created_at.isoformat(),
        "updated_at": attempt.updated_at.isoformat(),
    }


# -- providers --------------------------------------------------------------------------------------


PROVIDERS_EXAMPLES = """
\b
Examples:
  numbroker providers
  numbroker providers --format json | jq '.[] | select(.configured)'
"""


@cli.command("providers", epilog=PROVIDERS_EXAMPLES)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), help="[default: table on a terminal, json otherwise]"
)
@click.option("--env-file", type=click.Path(dir_okay=False), help=".env-style file with credentials.")
def providers_command(fmt: str | None, env_file: str | None) -> None:
    """List every known provider (built-in and plug-in), whether it is configured, and how it filters."""
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

        from numbroker._cli._layout import providers_table

        Console(highlight=False).print(providers_table(rows))
        click.echo(
            "native: the vendor filters; emulated: numbroker filters client-side; "
            "unsupported: the vendor gives no data, matching offers are excluded as unknown",
            err=True,
        )


# -- sandbox ----------------------------------------------------------------------------------------


SANDBOX_EXAMPLES = """
\b
Examples:
  numbroker search --sandbox --country US    # in-process, no server needed
  numbroker sandbox serve --port 8700        # on loopback, for other tools
"""

SERVE_EXAMPLES = """
\b
Example:
  numbroker sandbox serve --port 8700
  # in another shell, paste the printed export lines, then:
  numbroker search --country US
"""


@cli.group(epilog=SANDBOX_EXAMPLES)
def sandbox() -> None:
    """The built-in vendor emulators: deterministic inventories speaking each vendor's API."""


@sandbox.command("serve", epilog=SERVE_EXAMPLES)
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
    """Serve every provider's sandbox on loopback and print the exports that point tools at them."""
    import contextlib
    import threading

    with _errors():
        from numbroker._inputs import is_loopback as _is_loopback
        from numbroker._registry import get_provider_class
        from numbroker.sandbox import LoopbackServer, create_sandboxes

        if not _is_loopback(host):
            raise UsageProblem(f"--host must be a loopback address (127.0.0.1, ::1, localhost), got {host!r}")
        sandboxes = create_sandboxes(seed=seed)
        if port and port + len(sandboxes) - 1 > 65535:
            raise UsageProblem(
                f"--port {port}: the {len(sandboxes)} sandboxes need ports {port} to {port + len(sandboxes) - 1}, "
                f"past 65535: use --port {65536 - len(sandboxes)} or lower (or 0 for free ports)"
            )
        with contextlib.ExitStack() as stack:
            servers = []  # every port is bound before anything is printed
            for offset, box in enumerate(sandboxes.values()):
                wanted = port + offset if port else 0
                try:
                    servers.append(stack.enter_context(LoopbackServer(box.app, host=host, port=wanted)))
                except OSError as exc:
                    raise UsageProblem(
                        f"--port: cannot listen on {host}:{wanted} ({exc.strerror or exc}): "
                        "choose another --port, or 0 for free ports"
                    ) from None
            for server, (pid, box) in zip(servers, sandboxes.items(), strict=True):
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
    """Run the command line (the ``numbroker`` console script); every usage error is one line, exit 2."""
    try:
        outcome = cli.main(args=argv, prog_name="numbroker", standalone_mode=False)
        code = outcome if isinstance(outcome, int) else EXIT_OK
    except SystemExit as exc:
        if exc.code is not None and not isinstance(exc.code, int):
            raise
        code = exc.code or EXIT_OK
    except click.ClickException as exc:
        show_one_line(exc)
        code = exc.exit_code
    except (click.Abort, KeyboardInterrupt):  # a Ctrl-C outside any command, or at a prompt
        click.echo("interrupted", err=True)
        code = EXIT_INTERRUPTED
    _exit_now(code)


def _exit_now(code: int) -> None:
    """End the process once everything is written, without tearing the interpreter down.

    A search leaves thousands of objects behind; freeing them one by one at exit costs more than
    some searches take, and nothing is left to do with them. Log handlers and both streams are flushed
    first; a reader that went away (``| head``) is not an error.
    """
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):  # a closed pipe, or a closed stream
            stream.flush()
    os._exit(code)
