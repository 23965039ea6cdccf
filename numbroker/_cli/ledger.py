"""``numbroker ledger``: the purchase ledger's intents and attempts, and ``ledger resolve``, settling one by hand."""

from __future__ import annotations

import contextlib
import os
import sys

import click
from rich.console import Console

from numbroker._cli.errors import UsageProblem, command_errors
from numbroker._cli.exits import ExitCode
from numbroker._cli.ledger_listing import listing_json, print_listing
from numbroker._cli.options import format_option, ledger_option, open_ledger_at, output_format
from numbroker._cli.output import redacted_output, say
from numbroker._exceptions import ConfigurationError
from numbroker._inputs import MAX_LIMIT
from numbroker.ledger import (
    UNRESOLVED_STATES,
    AttemptState,
    LedgerAttempt,
    LedgerError,
    UndecodedAttempt,
    open_ledger,
)

__all__ = ["ledger_command"]

LEDGER_EXAMPLES = """
\b
Examples:
  numbroker ledger --unresolved
  numbroker ledger --intent nightly-2024-05-01 --format json
  numbroker ledger resolve 17 --bought --note "in the vendor console since 02:14"
  numbroker ledger resolve 18 --not-owned --note "vendor support: not provisioned"
  numbroker ledger init /srv/numbroker/ledger.sqlite3
"""


@click.group("ledger", invoke_without_command=True, epilog=LEDGER_EXAMPLES)
@ledger_option
@click.option(
    "--unresolved", is_flag=True, help="Only attempts nobody knows the outcome of (pending, ambiguous, unknown)."
)
@click.option("--intent", "intent_key", metavar="KEY", help="Only this intent's attempts.")
@click.option(
    "--limit", type=click.IntRange(min=1, max=MAX_LIMIT), default=50, show_default=True, help="The newest N of each."
)
@format_option("table", "json")
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
    with command_errors(), redacted_output():
        fmt = output_format(fmt)
        ledger = open_ledger_at(ledger_where, sandbox=False, cleanup=ctx.with_resource(contextlib.ExitStack()))
        listed = ledger.listing(intent=intent_key, states=UNRESOLVED_STATES if unresolved else None, limit=limit)
        attempts = [a for a in listed if isinstance(a, LedgerAttempt)]
        undecoded = [a for a in listed if isinstance(a, UndecodedAttempt)]
        intents = [i for i in ledger.intents(limit=limit) if intent_key is None or i.key == intent_key]
        if unresolved:
            intents = [i for i in intents if i.key in {a.intent for a in attempts}]
        if fmt == "json":
            click.echo(listing_json(ledger.describe(), intents, attempts, undecoded))
            return
        print_listing(Console(highlight=False), ledger.describe(), intents, attempts, unresolved=unresolved)
        for u in undecoded:
            say(f"attempt {u.id if u.id is not None else '?'} does not decode ({u.problem}): {u.fields}")
        if unresolved and attempts:
            say(
                "settle each: check the account at the vendor, then "
                "`numbroker ledger resolve ID --bought|--not-owned --note TEXT`"
            )


@ledger_command.command("resolve")
@click.argument("attempt_id", type=click.IntRange(min=1, max=2**63 - 1))
@click.option("--bought", is_flag=True, help="The account owns the number: count it as bought.")
@click.option(
    "--not-owned",
    "--released",
    "not_owned",
    is_flag=True,
    help="The account does not own it: nothing was bought (--released is the older name).",
)
@click.option("--note", required=True, help="What you checked (kept with the attempt).")
@ledger_option
@click.pass_context
def ledger_resolve(
    ctx: click.Context, attempt_id: int, bought: bool, not_owned: bool, note: str, ledger_where: str | None
) -> None:
    """Settle an unresolved attempt by hand, with a note saying what you checked."""
    with command_errors(), redacted_output():
        if bought == not_owned:
            raise UsageProblem(
                "say what you found, once: --bought (the account owns it) or --not-owned (it does not)"
                if bought
                else "say what you found: --bought (the account owns it) or --not-owned (it does not)"
            )
        where = ledger_where if ledger_where is not None else ctx.obj
        ledger = open_ledger_at(where, sandbox=False, cleanup=ctx.with_resource(contextlib.ExitStack()))
        state = AttemptState.BOUGHT if bought else AttemptState.RELEASED
        try:
            done = ledger.resolve(attempt_id, state, note=note)
        except ConfigurationError as exc:
            raise UsageProblem(str(exc)) from None
        except LedgerError as exc:
            say(f"not resolved: {exc}")
            sys.exit(ExitCode.FAILED)
        shown = "not owned (released)" if done.state is AttemptState.RELEASED else done.state.value
        say(f"attempt {done.id}: {done.e164} at {done.provider} is now {shown}")


@ledger_command.command("init")
@click.argument("path")
def ledger_init(path: str) -> None:
    """Create an empty ledger file at PATH (a --ledger file must exist; this makes one)."""
    with command_errors(), redacted_output():
        if os.path.exists(path):
            raise UsageProblem(f"{os.path.abspath(path)} already exists")
        try:
            open_ledger(path, create=True).close()
        except LedgerError as exc:
            say(f"not created: {exc}")
            sys.exit(ExitCode.FAILED)
        say(f"ledger created: {os.path.realpath(path)}")
