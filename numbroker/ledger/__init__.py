"""The purchase ledger: the durable record of every purchase intent and attempt, shared by every run.

buy-cheapest writes an attempt ``pending`` before each purchase request is sent and its answer after
(``numbroker release`` does the same for each release, in a table of its own, under the same lock),
serializes purchasing under one purchaser lock per ledger, resolves what an earlier run left unresolved
before buying again, and enforces quantities, budgets and spend limits from what the ledger holds, across
runs and hosts.

* By default the ledger is one SQLite file in the user's data directory
  (:func:`default_ledger_path`), so every run of one user on one host shares it with no configuration.
* For a fleet, a PostgreSQL URL (``postgresql://…``; needs ``pip install 'numbroker[postgres]'``) makes
  runs on many hosts share one ledger.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from numbroker.ledger._records import (
    RELEASE_UNRESOLVED,
    SPENDING_STATES,
    UNRESOLVED_STATES,
    AttemptState,
    IntentStatus,
    LedgerAttempt,
    LedgerBusyError,
    LedgerError,
    LedgerIntent,
    LedgerLockLostError,
    LedgerRelease,
    ReleaseAction,
    ReleaseState,
    UndecodedAttempt,
)
from numbroker.ledger._store import Ledger, PurchaserHold

__all__ = [
    "RELEASE_UNRESOLVED",
    "SPENDING_STATES",
    "UNRESOLVED_STATES",
    "AttemptState",
    "IntentStatus",
    "Ledger",
    "LedgerAttempt",
    "LedgerBusyError",
    "LedgerError",
    "LedgerIntent",
    "LedgerLockLostError",
    "LedgerRelease",
    "PurchaserHold",
    "ReleaseAction",
    "ReleaseState",
    "UndecodedAttempt",
    "LEDGER_ENV",
    "is_postgres",
    "default_ledger_path",
    "open_ledger",
]

LEDGER_ENV = "NUMBROKER_LEDGER"
"""The environment variable naming the ledger (a path or a ``postgresql://`` URL) when none is given."""

_LIBPQ_KEYWORD = re.compile(
    r"^\s*(host|hostaddr|port|dbname|user|password|service|sslmode|passfile)\s*=", re.IGNORECASE
)


def is_postgres(where: str) -> bool:
    """Whether ``where`` names a PostgreSQL database: a ``postgresql://`` URL or a libpq ``key=value`` string."""
    return where.startswith(("postgresql://", "postgres://")) or bool(_LIBPQ_KEYWORD.match(where))


def default_ledger_path() -> Path:
    """``ledger.sqlite3`` in the user's data directory (``~/.local/share/numbroker`` on Linux).

    Located with platformdirs (part of the ``cli`` and ``ledger`` extras).
    """
    try:
        import platformdirs
    except ImportError as exc:
        raise LedgerError(
            "the default ledger location needs platformdirs: pip install 'numbroker[ledger]', or give a ledger path"
        ) from exc
    return Path(platformdirs.user_data_dir("numbroker", appauthor=False)) / "ledger.sqlite3"


def open_ledger(
    where: str | os.PathLike[str] | None = None, *, env: Mapping[str, str] | None = None, create: bool = True
) -> Ledger:
    """Open the ledger at ``where``: a file path, a ``postgresql://`` URL or a libpq ``key=value`` string.

    With no ``where``, ``$NUMBROKER_LEDGER`` names it, and without that it is :func:`default_ledger_path`.
    ``create=False`` refuses a SQLite file that does not exist yet (a mistyped path is an error, never a
    new, empty ledger); the default location is always created.

    Raises:
        LedgerError: the ledger cannot be opened (or is missing, with ``create=False``), or its schema is
            from another numbroker version. No message carries a password.
    """
    environ = os.environ if env is None else env
    default = where is None and not environ.get(LEDGER_ENV)
    target: str | os.PathLike[str] = where if where is not None else environ.get(LEDGER_ENV) or default_ledger_path()
    text = os.fspath(target)
    if is_postgres(text):
        from numbroker.ledger._postgres import PostgresLedger

        return PostgresLedger(text)
    if "://" in text:
        raise LedgerError(
            f"a ledger is a file path or a postgresql:// URL, not {text.split('://')[0][:20]}://… (URL not shown)"
        )
    from numbroker.ledger._sqlite import SQLiteLedger

    return SQLiteLedger(text, create=create or default)
