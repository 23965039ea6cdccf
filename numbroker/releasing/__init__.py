"""Giving numbers back: planned first, recorded in the ledger, confirmed against the vendor, never the wrong number.

The rules, each of which protects an account:

* **A plan first** (the default, ``dry_run=True``): each number is looked up in the configured accounts'
  owned lists; the plan names the account that owns it, the monthly charge it stops and what a release
  means there (immediate, a cancellable cooldown, the end of the paid period, unsupported). A number no
  account lists is ``not_owned`` and no request is ever sent for it; one listed by two accounts needs
  the provider named; more numbers than ``max_count`` (10 by default) is refused.
* **On the ledger**, under the purchaser lock buying takes (a buy and a release on one ledger never
  interleave): each request is written ``pending`` before it is sent and its outcome after; a rerun with
  the same idempotency key sends nothing it already gave back; what an earlier run left open is settled
  by reading the owned list before anything else is sent.
* **Confirmed against the vendor**: an answer that is not a clear yes or no (a 5xx, a timeout, "not the
  account's") is settled by the owned list (gone or shown released: ``released``; shown pending:
  ``pending_release``), and ``unknown`` when the list cannot tell within the confirm window. A vendor's
  2xx that says failure is a refusal.
* **An audit log**: the same JSON lines as purchases (``pending`` before, the outcome after).

Moving numbers between an account and its sub-accounts (:func:`move_numbers`) follows the same rules:
planned, on the ledger, confirmed by the owned list (the number listed under the sub-account asked for);
a vendor's cool-off is the ``cool_off`` outcome, and ``force`` is sent only when given.

The modules: ``_plan`` (the lookup and what a release means), ``_run`` (one request per number, the
confirmation and the recovery), ``_results`` and ``_api`` (the entry points).
"""

from __future__ import annotations

import contextlib

from numbroker.releasing._api import move_numbers, move_numbers_sync, release_numbers, release_numbers_sync
from numbroker.releasing._plan import DEFAULT_MAX_COUNT
from numbroker.releasing._results import ReleaseOutcome, ReleaseResult, ReleaseRow, ReleaseStatus

__all__ = [
    "DEFAULT_MAX_COUNT",
    "ReleaseOutcome",
    "ReleaseResult",
    "ReleaseRow",
    "ReleaseStatus",
    "move_numbers",
    "move_numbers_sync",
    "release_numbers",
    "release_numbers_sync",
]

for _name in __all__:
    with contextlib.suppress(AttributeError, TypeError):
        globals()[_name].__module__ = "numbroker"
del _name
