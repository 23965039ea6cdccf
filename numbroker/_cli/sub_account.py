"""``numbroker sub-account assign|unassign``: move numbers between an account and its sub-accounts (Vobiz).

Planned without ``--yes`` like everything that changes an account; each move is recorded in the ledger
and the audit log and confirmed against the owned list. A cool-off refusal is one line naming when it
ends and the time left (JSON ``outcome: "cool_off"``, exit 1); ``--force`` is sent only when given, and
noted in the ledger and the audit log. Exit codes as ``release``.
"""

from __future__ import annotations

from functools import partial

import click

from numbroker._cli.errors import UsageProblem
from numbroker._cli.release import ChangeOptions, change_options, run_change
from numbroker.releasing import move_numbers

__all__ = ["sub_account"]

SUB_ACCOUNT_EXAMPLES = """
\b
Examples:
  numbroker sub-account assign +442071516460 SA_XXXXXXXX            # the plan: nothing is sent
  numbroker sub-account assign +442071516460 SA_XXXXXXXX --yes
  numbroker sub-account unassign +447720921826 --yes                # back to the parent pool
  numbroker sub-account unassign +447720921826 --force --yes        # an admin's override of the cool-off
  numbroker sub-account unassign --sandbox +447720921826

\b
Exit codes: 0 every number moved, 3 some, 1 none (always so for a plan; also a cool-off),
4 an outcome is unknown (a rerun with the same --idempotency-key settles it first), 2 usage error.
"""


@click.group("sub-account", epilog=SUB_ACCOUNT_EXAMPLES)
def sub_account() -> None:
    """Move numbers between the account and its sub-accounts (Vobiz's SA_ sub-accounts)."""


@sub_account.command("assign", epilog=SUB_ACCOUNT_EXAMPLES)
@change_options
@click.argument("number", metavar="E164")
@click.argument("target", metavar="SA_ID")
def assign(given: ChangeOptions, number: str, target: str) -> None:
    """Move a number of the parent pool to the sub-account SA_ID."""

    def check() -> None:
        if not target.strip() or len(target) > 64 or not target.replace("_", "").replace("-", "").isalnum():
            raise UsageProblem(f"{target[:40]!r} is not a sub-account id (letters, digits, '_' or '-')")

    run_change(given, [number], partial(move_numbers, sub_account=target.strip()), check=check)


@sub_account.command("unassign", epilog=SUB_ACCOUNT_EXAMPLES)
@change_options
@click.argument("number", metavar="E164")
@click.option("--force", is_flag=True, help="Override the vendor's cool-off (an admin's right; it is audited).")
def unassign(given: ChangeOptions, number: str, force: bool) -> None:
    """Move a number back from its sub-account to the parent pool (subject to the vendor's cool-off)."""
    run_change(given, [number], partial(move_numbers, sub_account=None, force=force))
