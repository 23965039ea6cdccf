"""``numbroker release``: give numbers back, planned first, recorded in the ledger, confirmed against the vendor.

Exit codes: 0 every number released, pending release (or, with ``--undo``, restored); 3 some; 1 none (a
plan always); 2 usage; 4 an outcome is unknown. SIGTERM and SIGHUP are handled like Ctrl-C; an
interruption while a request was in flight exits 4.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import IO, Any

import click

from numbroker._cli.errors import UsageProblem, command_errors
from numbroker._cli.exits import ExitCode
from numbroker._cli.numbers import Seconds
from numbroker._cli.options import (
    env_file_option,
    environment,
    format_option,
    gathered,
    ledger_option,
    open_ledger_at,
    output_format,
)
from numbroker._cli.output import redacted_output, say
from numbroker._cli.prompt import ask_yes_no
from numbroker._exceptions import ConfigurationError, PurchaseError
from numbroker._inputs import read_input_file
from numbroker._registry import get_provider_class
from numbroker._text import visible
from numbroker.ledger import RELEASE_UNRESOLVED, Ledger, LedgerError
from numbroker.releasing import DEFAULT_MAX_COUNT, ReleaseOutcome, ReleaseResult, ReleaseStatus, release_numbers

__all__ = ["DEFAULT_AUDIT_LOG", "ChangeOptions", "change_options", "numbers_from_file", "release_command", "run_change"]

DEFAULT_AUDIT_LOG = "numbroker-audit.jsonl"
"""Where real releases are logged when ``--audit-log`` is not given (the file purchases go to)."""

SANDBOX_OWNED = 12
"""Numbers each sandboxed account starts out owning (as ``numbroker owned --sandbox``)."""

RELEASE_EXAMPLES = """
\b
Examples:
  numbroker release +442071516460                     # the plan: nothing is sent
  numbroker release +442071516460 +447456060706 --yes --idempotency-key cleanup-2024-05
  numbroker release --from-file unrouted.csv --max-count 40 --yes
  numbroker release --undo +442071516460 --yes        # cancel a pending release (Vobiz)
  numbroker release --sandbox +14155550123

\b
Every number is looked up in the configured accounts' owned lists first: the plan names the account,
the monthly saving and what a release means there. A number no account lists is never sent. Without
--yes nothing is sent (on a terminal you are asked, every number and saving named). Each request is
written to the ledger before it is sent, and to --audit-log (default ./numbroker-audit.jsonl).

\b
Exit codes: 0 every number released or pending release, 3 some, 1 none (always so for a plan),
4 an outcome is unknown (check the vendor's console or run `numbroker owned`; a rerun with the same
--idempotency-key settles it first from the owned list), 2 usage/configuration error.
"""


def numbers_from_file(path: str) -> list[str]:
    """The numbers of ``--from-file``: one E.164 a line (``#`` comments), or ``numbroker owned``'s CSV or NDJSON.

    Raises:
        ConfigurationError: the file cannot be read, or a CSV without an ``e164`` column.
    """
    text = read_input_file(path, name="--from-file")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        return []
    if lines[0].startswith("{"):
        found: list[str] = []
        for index, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
            except ValueError:
                raise ConfigurationError(f"--from-file {path!r} line {index} is not JSON") from None
            if isinstance(record, dict) and record.get("type", "number") == "number" and "e164" in record:
                found.append(str(record["e164"]))
        return found
    if "," in lines[0]:
        rows = list(csv.reader(io.StringIO("\n".join(lines))))
        header = [cell.strip().lower() for cell in rows[0]]
        if "e164" not in header:
            raise ConfigurationError(f"--from-file {path!r} is CSV without an e164 column")
        column = header.index("e164")
        return [row[column] for row in rows[1:] if len(row) > column and row[column].strip()]
    return lines


def _providers(ids: tuple[str, ...], sandbox: bool, env_file: str | None) -> list[Any]:
    from numbroker._registry import provider_ids, providers_from_env

    for pid in ids:
        get_provider_class(pid)  # unknown ids fail fast, listing the known ones
    if sandbox:
        from numbroker.sandbox import create_sandboxes, in_process_providers

        return in_process_providers(create_sandboxes(list(ids) or None, owned=SANDBOX_OWNED))
    built, _skipped = providers_from_env(list(ids) or provider_ids(), env=environment(env_file))
    return built


@dataclass(frozen=True, slots=True)
class ChangeOptions:
    """The options of every command that changes an account's numbers (release, sub-account moves)."""

    provider: str | None
    yes: bool
    idempotency_key: str | None
    ledger_where: str | None
    audit_log: str | None
    confirm_window: float
    timeout: float
    fmt: str | None
    env_file: str | None
    sandbox: bool


_CHANGE_OPTIONS = (
    click.option("--provider", help="Only this provider's account (needed when two accounts list a number)."),
    click.option("--yes", is_flag=True, help="Really send the requests (without it nothing is sent: the plan)."),
    click.option("--idempotency-key", metavar="KEY", help="Name this intent: a rerun continues it, never resending."),
    ledger_option,
    click.option(
        "--audit-log",
        type=click.Path(dir_okay=False),
        help=f"JSON-lines file, a line before each request and one after [default: ./{DEFAULT_AUDIT_LOG}; "
        "none with --sandbox].",
    ),
    click.option(
        "--confirm-window",
        type=Seconds(minimum=0),
        default=20.0,
        show_default=True,
        help="Seconds the owned list is read for after an ambiguous answer, before the outcome is unknown.",
    ),
    click.option("--timeout", type=Seconds(minimum=0.1), default=60.0, show_default=True, help="Deadline per step, s."),
    format_option("table", "json"),
    env_file_option,
    click.option("--sandbox", is_flag=True, help="Use the built-in emulators: no network, no accounts."),
)
change_options = gathered(ChangeOptions, _CHANGE_OPTIONS)
"""Declares the options of :class:`ChangeOptions` on a command (they reach it as one value, first)."""

Send = Callable[..., Awaitable[ReleaseResult]]


def run_change(given: ChangeOptions, asked: list[str], send: Send, *, check: Callable[[], None] | None = None) -> None:
    """Run one account-changing command: plan (or ask), send on the ledger, report, exit with the result's code.

    ``send`` is :func:`~numbroker.release_numbers` or :func:`~numbroker.move_numbers` with its own arguments
    bound; ``check`` raises a usage problem of the command's own before anything is read.
    """
    from numbroker._cli.buy import _handle_termination
    from numbroker._sync import run_sync

    _handle_termination()
    with command_errors(), redacted_output(), contextlib.ExitStack() as cleanup:
        fmt = output_format(given.fmt)
        if check is not None:
            check()
        if not asked:
            raise UsageProblem("name the numbers (E164 arguments, or --from-file where the command takes it)")
        interactive = not given.yes and sys.stdin.isatty() and sys.stdout.isatty()
        dry_run = not given.yes and not interactive
        built = _providers((given.provider,) if given.provider else (), given.sandbox, given.env_file)
        log_path = given.audit_log if given.audit_log is not None or dry_run or given.sandbox else DEFAULT_AUDIT_LOG
        ledger = None if dry_run else open_ledger_at(given.ledger_where, sandbox=given.sandbox, cleanup=cleanup)
        run_id = uuid.uuid4().hex

        async def run() -> ReleaseResult:
            try:
                return await send(
                    built,
                    asked,
                    provider=given.provider,
                    dry_run=dry_run,
                    confirm=_ask if interactive else None,
                    ledger=ledger,
                    idempotency_key=given.idempotency_key,
                    audit_log=None if dry_run else log_path,
                    confirm_window=given.confirm_window,
                    request_timeout=given.timeout,
                    lock_timeout=given.timeout,
                    list_timeout=given.timeout,
                    run_id=run_id,
                )
            finally:
                for p in built:
                    await p.aclose()

        try:
            result = run_sync(run)
        except ConfigurationError as exc:
            raise UsageProblem(str(exc)) from None
        except LedgerError as exc:
            say(f"nothing was sent: {exc}")
            sys.exit(ExitCode.FAILED)
        except PurchaseError as exc:
            raise UsageProblem(str(exc)) from None
        except KeyboardInterrupt:
            if ledger is not None:
                _stop_if_in_flight(ledger, run_id, fmt)
            raise
        code = exit_code(result)
        _report(result, fmt, sys.stdout, log_path=None if dry_run else log_path, sandbox=given.sandbox)
        sys.exit(code)


@click.command("release", epilog=RELEASE_EXAMPLES)
@change_options
@click.argument("numbers", nargs=-1, metavar="E164...")
@click.option("--from-file", type=click.Path(dir_okay=False), help="Numbers: one E.164 a line, or owned's CSV/NDJSON.")
@click.option("--immediate", is_flag=True, help="Skip a cancellable cooldown (Vobiz): final at once, no undo.")
@click.option("--undo", is_flag=True, help="Cancel pending releases instead (within the vendor's window).")
@click.option(
    "--max-count",
    type=click.IntRange(min=1, max=1000),
    default=DEFAULT_MAX_COUNT,
    show_default=True,
    help="The most numbers one run gives back; more is a usage error (raise it on purpose).",
)
def release_command(
    given: ChangeOptions,
    numbers: tuple[str, ...],
    from_file: str | None,
    immediate: bool,
    undo: bool,
    max_count: int,
) -> None:
    """Give numbers back to their vendors: planned first, recorded in the ledger, confirmed against the vendor."""

    def check() -> None:
        if immediate and undo:
            raise UsageProblem("--immediate and --undo ask opposite things: give one")

    with command_errors():
        asked = list(numbers) + (numbers_from_file(from_file) if from_file else [])
    send = partial(release_numbers, immediate=immediate, undo=undo, max_count=max_count)
    run_change(given, asked, send, check=check)


def exit_code(result: ReleaseResult) -> ExitCode:
    """0 all done, 3 some, 1 none (a plan always), 4 an outcome unknown."""
    if result.status is ReleaseStatus.UNKNOWN:
        return ExitCode.UNKNOWN
    if result.status is ReleaseStatus.COMPLETE:
        return ExitCode.OK
    return ExitCode.PARTIAL if result.status is ReleaseStatus.PARTIAL else ExitCode.FAILED


_ASKED: list[ReleaseResult] = []


def _ask(plan: ReleaseResult) -> bool:
    """The terminal question: every number, its account and saving, then ``[y/N]``."""
    for line in table_lines(plan):
        click.echo(line)
    _ASKED.append(plan)
    planned = [r for r in plan.results if r.outcome is ReleaseOutcome.PLANNED]
    if not planned:
        return False
    verb = "Undo the release of" if plan.action == "undo" else "Give back"
    return ask_yes_no(f"{verb} {len(planned)} number(s): " + ", ".join(r.e164 for r in planned) + "?")


def _money(value: Any) -> str:
    return "?" if value is None else f"{value.amount} {value.currency}"


def table_lines(result: ReleaseResult) -> list[str]:
    """The rows as a table (every number and saving whole), then what each outcome means."""
    header = ["NUMBER", "PROVIDER", "MONTHLY SAVING", "OUTCOME"]
    rows = [[r.e164, r.provider or "-", _money(r.monthly_saving), r.outcome.value] for r in result.results]
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in [header, *rows]]
    for row in result.results:
        detail = row.reason or row.means
        if row.outcome is ReleaseOutcome.PLANNED:
            detail = row.means
        if row.effective_at is not None:
            detail = f"{detail}; takes effect {row.effective_at.isoformat()}"
        if row.undo_until is not None:
            detail = f"{detail}; can be undone until {row.undo_until.isoformat()}"
        if row.fee is not None:
            detail = f"{detail}; fee {_money(row.fee)}"
        if detail:
            lines.append(visible(f"  {row.e164}: {detail}"))
    return lines


def _report(result: ReleaseResult, fmt: str, out: IO[str], *, log_path: str | None, sandbox: bool) -> None:
    try:
        if fmt == "json":
            out.write(json.dumps(result.to_json_dict(), indent=2, ensure_ascii=False) + "\n")
        elif not _ASKED or not result.dry_run:
            for line in table_lines(result):
                out.write(line + "\n")
        out.flush()
    except OSError as exc:
        say(f"the result could not be written to standard output ({exc.strerror})")
    for report in result.providers:
        if report.status.failed:
            say(f"{report.provider}: owned list {report.status.value}: {report.error}")
    counts: dict[str, int] = {}
    for row in result.results:
        counts[row.outcome.value] = counts.get(row.outcome.value, 0) + 1
    say(f"{result.status.value}: " + ", ".join(f"{n} {name}" for name, n in counts.items()))
    for row in result.results:
        if row.outcome is ReleaseOutcome.COOL_OFF:
            say(f"{row.e164}: {row.reason}")
    if result.dry_run:
        say("a plan: nothing was sent (add --yes to give these numbers back)")
    if result.replayed:
        say("this --idempotency-key's intent was finished already: its result, nothing sent")
    if result.status is ReleaseStatus.UNKNOWN:
        say(
            "an outcome is unknown: check the vendor's console or `numbroker owned`; a rerun with the same "
            "--idempotency-key settles it from the owned list before sending anything"
        )
    if log_path is not None and not sandbox:
        say(f"audit log: {log_path}")
    if sandbox and not result.dry_run:
        say("sandbox: the built-in emulators' numbers; nothing real was changed")


def _stop_if_in_flight(ledger: Ledger, run_id: str, fmt: str) -> None:
    """After an interruption: exit 4 naming the request in flight, if one was (its outcome is unknown)."""
    try:
        open_ = [r for r in ledger.releases(states=RELEASE_UNRESOLVED) if r.run_id == run_id]
    except LedgerError:
        open_ = []
    if not open_:
        return
    if fmt == "json":
        doc = {
            "status": "unknown",
            "interrupted": True,
            "dry_run": False,
            "run_id": run_id,
            "results": [
                {"e164": r.e164, "provider": r.provider, "outcome": "unknown", "reason": r.reason} for r in open_
            ],
        }
        with contextlib.suppress(OSError):
            click.echo(json.dumps(doc, indent=2))
    named = "".join(f"\n  {r.e164} at {r.provider} (ledger release {r.id})" for r in open_)
    say(f"interrupted while a release was in flight: its outcome is unknown.{named}\nA rerun settles it first.")
    sys.exit(ExitCode.UNKNOWN)
