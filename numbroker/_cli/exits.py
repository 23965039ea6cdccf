"""How a command ends: the exit codes, what each means, and which command ends with which.

* 0: search and compare: every queried provider answered; buy-cheapest: bought everything asked (or the intent was
  already finished).
* 1: search and compare: no provider answered, or none is configured (``--strict``: also partial); buy-cheapest:
  bought nothing (a dry run always; another run held the account past the deadline; the ledger failed
  before anything was bought); ledger resolve: the ledger was busy or failed.
* 2: a usage or configuration error, as one line saying what to fix.
* 3: search and compare: partial, some providers failed (what arrived is still printed); buy-cheapest: bought fewer.
* 4: buy-cheapest: an outcome is unknown or an attempt is unresolved, and needs a human (or a later
  run's recovery).
* 130: interrupted (Ctrl-C; buy-cheapest: also SIGTERM and SIGHUP, and 4 instead when a purchase was in
  flight).

This module is the one table: the help of ``search`` and ``buy-cheapest``, the list above and the
README's "Exit codes" table are checked against :data:`ENDINGS` by a test.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ENDINGS", "ExitCode"]


class ExitCode(IntEnum):
    """The process's exit status, one per way a command can end (see the module documentation)."""

    OK = 0
    FAILED = 1
    USAGE = 2
    PARTIAL = 3
    UNKNOWN = 4
    INTERRUPTED = 130


ENDINGS: dict[str, frozenset[ExitCode]] = {
    "search": frozenset(set(ExitCode) - {ExitCode.UNKNOWN}),
    "buy-cheapest": frozenset(ExitCode),
    "compare": frozenset(set(ExitCode) - {ExitCode.UNKNOWN}),
    "ledger": frozenset({ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE, ExitCode.INTERRUPTED}),
    "owned": frozenset(set(ExitCode) - {ExitCode.UNKNOWN}),
    "providers": frozenset({ExitCode.OK, ExitCode.USAGE, ExitCode.INTERRUPTED}),
    "sandbox": frozenset({ExitCode.OK, ExitCode.USAGE, ExitCode.INTERRUPTED}),
}
"""Each command and the codes it can end with."""
