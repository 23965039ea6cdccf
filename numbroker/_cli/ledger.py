"""``numbroker ledger``: the purchase ledger's intents and attempts, and ``ledger resolve``, settling one by hand."""

from __future__ import annotations

import contextlib
import sys

import click
from rich.console import Console

from numbroker._cli.errors import UsageProblem, command_errors
from numbroker._cli.exits import ExitCode
from numbroker._cli.ledger_listing import listing_json, print_listing
from numbroker._cli.options import format_option, ledger_option, open_ledger_at, output_format
from numbroker._cli.output import redacted_output, say
from numbroker.ledger import UNRESOLVED_STATES, AttemptState, LedgerError

__all__ = ["ledger_command"]

LEDGER_EXAMPLES = """
\b
Examples:
  numbroker ledger --unresolved
  numbroker ledger --intent nightly-2024-05-01 --format json
  numbroker ledger resolve 17 --bought --note "in the vendor console since 02:14"
  numbroker ledger resolve 18 --released --note "vendor support: not provisioned"
"""


@click.group("ledger", invoke_without_command=True, epilog=LEDGER_EXAMPLES)
@ledger_option
@click.option(
    "--unresolved", is_flag=True, help="Only attempts nobody knows the outcome of (pending, ambiguous, unknown)."
)
@click.option("--intent", "intent_key", metavar="KEY", help="Only this intent's attempts.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="The newest N of each.")
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
        attempts = ledger.attempts(intent=intent_key, states=UNRESOLVED_STATES if unresolved else None, limit=limit)
        intents = [i for i in ledger.intents(limit=limit) if intent_key is None or i.key == intent_key]
        if unresolved:
            intents = [i for i in intents if i.key in {a.intent for a in attempts}]
        if fmt == "json":
            click.echo(listing_json(ledger.describe(), intents, attempts))
            return
        print_listing(Console(highlight=False), ledger.describe(), intents, attempts, unresolved=unresolved)
        if unresolved and attempts:
            say("settle each: check the account at the vendor, then `numbroker ledger resolve ID --bought|--released`")


@ledger_command.command("resolve")
@click.argument("attempt_id", type=int)
@click.option("--bought", "state", flag_value="bought", help="The account owns the number: count it as bought.")
@click.option("--released", "state", flag_value="released", help="The account does not own it: nothing was bought.")
@click.option("--note", required=True, help="What you checked (kept with the attempt).")
@click.pass_context
def ledger_resolve(ctx: click.Context, attempt_id: int, state: str | None, note: str) -> None:
    """Settle an unresolved attempt by hand, with a note saying what you checked."""
    with command_errors(), redacted_output():
        if state is None:
            raise UsageProblem("say what you found: --bought or --released")
        ledger = open_ledger_at(ctx.obj, sandbox=False, cleanup=ctx.with_resource(contextlib.ExitStack()))
        try:
            done = ledger.resolve(attempt_id, AttemptState(state), note=note)
        except LedgerError as exc:
            say(f"not resolved: {exc}")
            sys.exit(ExitCode.FAILED)
        say(f"attempt {done.id}: {done.e164} at {done.provider} is now {done.state.value}")
