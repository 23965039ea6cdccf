"""``numbroker buy-cheapest``: buy the cheapest numbers under hard caps, one purchase at a time, on the ledger.

The command reads its options into a search (:class:`~numbroker._cli.options.SearchOptions`) and one
:class:`~numbroker.BuyTerms` (from :class:`TermsOptions`), runs :func:`~numbroker.buy_cheapest` once and
reports: the result on stdout, the summary on stderr, the exit code from the result. SIGTERM and SIGHUP
are handled like Ctrl-C; an interruption while a purchase was in flight exits 4, not 130.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import uuid
from dataclasses import dataclass
from typing import Any

import click

from numbroker._cli.buy_result import prompt, render_buy, summary
from numbroker._cli.errors import UsageProblem, command_errors
from numbroker._cli.exits import ExitCode
from numbroker._cli.numbers import Seconds
from numbroker._cli.options import (
    SearchOptions,
    format_option,
    gathered,
    ledger_option,
    money_option,
    open_ledger_at,
    output_format,
    search_options,
)
from numbroker._cli.output import redacted_output, say
from numbroker._cli.prompt import ask_yes_no
from numbroker._cli.reports import summary_lines
from numbroker._exceptions import PurchaseError
from numbroker._search import Searcher
from numbroker._sync import run_sync
from numbroker.buying import BuyResult, BuyStatus, BuyTerms, buy_cheapest, parse_duration, purchase_in_flight
from numbroker.ledger import UNRESOLVED_STATES, Ledger, LedgerAttempt, LedgerError

__all__ = ["DEFAULT_AUDIT_LOG", "TermsOptions", "buy_cheapest_command"]

DEFAULT_AUDIT_LOG = "numbroker-audit.jsonl"
"""Where real purchases are logged when ``--audit-log`` is not given (in the working directory)."""

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

_BUY_OPTIONS = (
    click.option(
        "--quantity", type=click.IntRange(min=1), default=1, show_default=True, help="How many numbers to buy."
    ),
    click.option(
        "--max-first-bill", help="Required hard cap on setup + first month, e.g. '3 USD' (or with --currency)."
    ),
    click.option("--budget", help="Cap on the sum of the first bills of everything bought, in the caps' currency."),
    click.option(
        "--audit-log",
        type=click.Path(dir_okay=False),
        help=f"JSON-lines file appended to and fsynced per attempt [default for real purchases: ./{DEFAULT_AUDIT_LOG};"
        " none with --sandbox].",
    ),
    click.option("--yes", is_flag=True, help="Really buy (without it nothing is bought: the plan is printed)."),
    click.option(
        "--allow-assumed-currency",
        is_flag=True,
        help="Also buy offers whose vendor stated no currency (numbroker assumed one).",
    ),
    click.option(
        "--confirm-delay",
        type=Seconds(minimum=0),
        default=2.0,
        show_default=True,
        help="Seconds to wait after an ambiguous answer before checking the account's own numbers.",
    ),
    click.option(
        "--confirm-window",
        type=click.FloatRange(min=0),
        default=300.0,
        show_default=True,
        help="Seconds after an ambiguous answer during which 'not owned' proves nothing (owned lists may lag).",
    ),
    ledger_option,
    click.option(
        "--idempotency-key",
        metavar="KEY",
        help="Name this intent: a rerun with the same key continues it, and buys nothing once it is complete.",
    ),
    click.option(
        "--spend-limit",
        metavar="AMOUNT",
        help="Cap on the first bills bought (plus unresolved attempts) per account in --spend-window, across runs.",
    ),
    click.option(
        "--spend-window",
        metavar="DURATION",
        default="24h",
        show_default=True,
        help="The window of --spend-limit: 30m, 24h, 7d ...",
    ),
    click.option(
        "--purchase-timeout",
        type=click.FloatRange(min=0.1),
        default=30.0,
        show_default=True,
        help="Total deadline of each purchase request (the whole response) and of each ownership check, seconds.",
    ),
    click.option(
        "--run-timeout",
        type=click.FloatRange(min=0.1),
        default=300.0,
        show_default=True,
        help="Bound on the buying: waiting for another run on the account, recovery, starting purchases, seconds.",
    ),
)
"""buy-cheapest's own options, in ``--help`` order; those of the terms reach the command as :class:`TermsOptions`."""


@dataclass(frozen=True, slots=True)
class TermsOptions:
    """The options that make the run's :class:`~numbroker.BuyTerms`, as typed (``--max-monthly`` is a search's)."""

    quantity: int
    max_first_bill: str | None
    budget: str | None
    allow_assumed_currency: bool
    confirm_delay: float
    confirm_window: float
    spend_limit: str | None
    spend_window: str
    purchase_timeout: float
    run_timeout: float

    def caps(self, max_monthly: str | None) -> tuple[str, str]:
        """The monthly and first-bill caps as typed: both are required."""
        if max_monthly is None:
            raise UsageProblem("--max-monthly is required: the hard cap on the monthly price, e.g. '2.50 USD'")
        if self.max_first_bill is None:
            raise UsageProblem("--max-first-bill is required: the hard cap on setup + first month, e.g. '3 USD'")
        return max_monthly, self.max_first_bill

    def terms(self, caps: tuple[str, str], currency: str | None) -> BuyTerms:
        """The terms, each amount in ``currency`` (the checked ``--currency``) when written without one.

        Raises:
            UsageProblem: an amount that cannot be read.
            ConfigurationError: terms that cannot be (amounts in two currencies, a duration out of range).
        """
        return BuyTerms(
            max_monthly=money_option(caps[0], currency, "--max-monthly"),
            max_first_bill=money_option(caps[1], currency, "--max-first-bill"),
            quantity=self.quantity,
            budget=money_option(self.budget, currency, "--budget"),
            allow_assumed_currency=self.allow_assumed_currency,
            confirm_delay=self.confirm_delay,
            confirm_window=self.confirm_window,
            purchase_timeout=self.purchase_timeout,
            run_timeout=self.run_timeout,
            spend_limit=money_option(self.spend_limit, currency, "--spend-limit"),
            spend_window=parse_duration(self.spend_window),
        )


terms_options = gathered(TermsOptions, _BUY_OPTIONS)


@click.command("buy-cheapest", epilog=BUY_EXAMPLES)
@search_options
@terms_options
@format_option("table", "json")
def buy_cheapest_command(
    asked: SearchOptions,
    given: TermsOptions,
    audit_log: str | None,
    yes: bool,
    ledger_where: str | None,
    idempotency_key: str | None,
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
    _handle_termination()
    with command_errors(), redacted_output(), contextlib.ExitStack() as cleanup:
        fmt = output_format(fmt)
        caps = given.caps(asked.max_monthly)
        env = asked.environment()
        currency = asked.target_currency()
        query = asked.query(currency, limit=None, monthly_cap=False)
        terms = given.terms(caps, currency)
        rates = asked.exchange_rates()
        interactive, dry_run = _asking(yes)
        # Sandbox purchases are not real: they never go to the default (real) audit log.
        log_path = audit_log if audit_log is not None or dry_run or asked.sandbox else DEFAULT_AUDIT_LOG
        built, skipped = asked.chosen_providers(env)
        ledger = open_ledger_at(ledger_where, sandbox=asked.sandbox, cleanup=cleanup)
        run_id = uuid.uuid4().hex

        async def run() -> BuyResult:
            async with Searcher(built, timeout=asked.timeout, skipped=skipped, own_providers=True) as searcher:
                return await buy_cheapest(
                    searcher,
                    query,
                    terms,
                    rates=rates,
                    audit_log=log_path,
                    dry_run=dry_run,
                    confirm=_ask if interactive else None,
                    ledger=ledger,
                    idempotency_key=idempotency_key,
                    run_id=run_id,
                )

        try:
            result = run_sync(run)
        except LedgerError as exc:  # another run held the account past --run-timeout, or the ledger failed
            say(f"nothing was bought: {exc}")
            sys.exit(ExitCode.FAILED)
        except PurchaseError as exc:
            raise UsageProblem(str(exc)) from None
        except KeyboardInterrupt:
            if not dry_run:
                _stop_if_in_flight(ledger, run_id, log_path)
            raise
        code = _exit_code(result)
        _report(result, fmt, code, log_path=log_path, sandbox=asked.sandbox, configured=bool(built))
        sys.exit(code)


def _asking(yes: bool) -> tuple[bool, bool]:
    """Whether to ask before buying (no ``--yes``, on a terminal), and whether the run is a dry run."""
    interactive = not yes and sys.stdin.isatty() and sys.stdout.isatty()
    return interactive, not yes and not interactive


def _ask(plan: BuyResult) -> bool:
    """The terminal prompt: show the plan, then ask (default no)."""
    render_buy(plan, "table", sys.stdout, color=True)
    sys.stdout.flush()
    if not plan.would_buy:
        return False
    return ask_yes_no(prompt(plan))


def _handle_termination() -> None:
    """SIGTERM and SIGHUP act like Ctrl-C; a file-size limit makes writes fail (EFBIG) instead of killing.

    ``timeout``, systemd and docker stop a process with SIGTERM: it is handed to whatever handles
    SIGINT at that moment (the event loop's runner cancels the run, which records an in-flight purchase
    as unknown).
    """

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


def _stop_if_in_flight(ledger: Ledger, run_id: str, log_path: str | None) -> None:
    """After an interruption: exit 4 naming what was in flight, if a purchase was (its outcome is unknown)."""
    in_flight = _unresolved_in_run(ledger, run_id)
    if not in_flight and (log_path is None or not purchase_in_flight(log_path)):
        return
    named = "".join(f"\n  attempt {a.id}: {a.e164} at {a.provider} ({a.state.value})" for a in in_flight)
    say(
        f"interrupted while a purchase was in flight: its outcome is unknown.{named}\nCheck the account "
        f"before buying again: a rerun settles it first (ledger: {ledger.describe()}; audit log: {log_path})"
    )
    sys.exit(ExitCode.UNKNOWN)


def _unresolved_in_run(ledger: Ledger, run_id: str) -> list[LedgerAttempt]:
    """This run's attempts the ledger holds as unresolved (after an interruption)."""
    try:
        return [a for a in ledger.attempts(states=UNRESOLVED_STATES, limit=1000) if a.run_id == run_id]
    except LedgerError:
        return []


def _exit_code(result: BuyResult) -> ExitCode:
    if result.status is BuyStatus.UNKNOWN:
        return ExitCode.UNKNOWN
    if result.dry_run or result.status is BuyStatus.NONE:
        return ExitCode.FAILED
    return ExitCode.OK if result.status is BuyStatus.COMPLETE else ExitCode.PARTIAL


def _report(
    result: BuyResult, fmt: str, code: ExitCode, *, log_path: str | None, sandbox: bool, configured: bool
) -> None:
    """The result on stdout; on stderr how each provider's search went, the outcome and where it is recorded."""
    try:
        render_buy(result, fmt, sys.stdout, color=sys.stdout.isatty())
        sys.stdout.flush()
    except OSError as exc:
        say(f"the result could not be written to standard output ({exc.strerror}); exit {int(code)} stands")
    lines = summary_lines(result.providers, 0)
    if not configured:
        lines.append("no provider is configured: set the variables above, or try --sandbox")
    lines += summary(result)
    if not result.dry_run:
        lines += _records(result, log_path, sandbox=sandbox)
    for line in lines:
        say(line)


def _records(result: BuyResult, log_path: str | None, *, sandbox: bool) -> list[str]:
    """Where a run that bought (or tried to) is recorded: its audit log and its ledger."""
    lines = [] if log_path is None else [f"audit log: {log_path}"]
    if result.ledger is not None:
        lines.append(f"ledger: {result.ledger}" + (" (temporary: --sandbox)" if sandbox else ""))
    if sandbox:
        lines.append("sandbox: bought from the built-in emulators; nothing real was bought")
    return lines
