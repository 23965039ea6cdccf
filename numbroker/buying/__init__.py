"""buy-cheapest: search, plan cheapest-first under hard caps, then buy one number at a time, safely.

The rules, each of which protects money:

* **Caps are required** (monthly price and first bill, plus an optional total budget), all in one
  currency, given with the quantity, the spend limit and the waits as one :class:`~numbroker.BuyTerms`
  value, checked when it is built. Prices are compared in that currency, converted with the caller's
  exchange rates; an offer whose price cannot be compared (no rate, no price, a currency the vendor did
  not state) is never bought.
* **Cheapest first**: by first bill (setup + first month), then monthly price, then provider and number.
* **One purchase at a time**, never more than ``quantity``, never the same E.164 twice in a run,
  never over a cap or the budget (the budget counts the first bills of everything bought).
* **Every failure is classified once** (:func:`~numbroker.buying.classify_purchase_error`): ``gone`` → the next
  candidate; ``provider_refused`` → that provider is not asked again in this run; ``ambiguous`` (timeout,
  dropped connection, 5xx, 429, unreadable 2xx) → never retried: after ``confirm_delay`` seconds the
  account's own numbers are read; owned → success; not owned → the next candidate; cannot tell → the
  whole run stops with status ``unknown``, because guessing risks a double purchase.
  A 5xx whose body says the debit failed (:class:`~numbroker.DebitFailedError`, how one vendor reports an
  insufficient balance) is ambiguous too (the vendor says it was rolled back, but a crash after the commit
  looks the same), and it also drops that provider.
* **A final check**: every "confirmed not owned" number is checked once more at the end of the run, in
  case a slow vendor committed it late; one found owned then counts as bought (and the run reports
  ``unknown`` if that makes it exceed the quantity or the budget).
* **An audit log** (JSON lines, appended, flushed and fsynced): a ``pending`` line before each purchase
  request and a line with its outcome after it, so a crash between the two still leaves a trace.
  Nothing secret is written (every line passes through the providers' redaction).

The modules, in the order a run uses them: ``_terms`` (the caps, checked once), ``_plan`` (each offer
priced in the run's currency and judged, cheapest first), ``_run`` (one run walking the plan) with
``_tally`` (bought and spent against the terms), ``_outcome`` (what a failed purchase means) and
``_confirm`` (reading the owned numbers after an ambiguous answer), ``_audit`` (the JSON-lines log),
``_results`` (what the caller gets back) and ``_api`` (the entry points).

This package is private by convention: the names users need are documented, and re-exported, as
``numbroker.X``; the others (the failure classification, :func:`parse_duration`, :func:`purchase_in_flight`,
the audit log's reader) serve the command line and the tests; the audit log (``AuditLog``) and a run's
ledger books with the purchaser lock (``Books``) serve giving numbers back too.
"""

from __future__ import annotations

import contextlib

from numbroker.buying._api import buy_cheapest, buy_cheapest_sync
from numbroker.buying._audit import AuditLog as AuditLog
from numbroker.buying._audit import purchase_in_flight
from numbroker.buying._ledgering import Books as Books
from numbroker.buying._outcome import FailureKind, classify_purchase_error
from numbroker.buying._results import AttemptOutcome, BuyResult, BuyStatus, PlanDecision, PlanEntry, PurchaseAttempt
from numbroker.buying._terms import BuyTerms, parse_duration

__all__ = [
    "AttemptOutcome",
    "BuyResult",
    "BuyStatus",
    "BuyTerms",
    "FailureKind",
    "PlanDecision",
    "PlanEntry",
    "PurchaseAttempt",
    "buy_cheapest",
    "buy_cheapest_sync",
    "classify_purchase_error",
    "parse_duration",
    "purchase_in_flight",
]

for _name in __all__:
    with contextlib.suppress(AttributeError, TypeError):
        globals()[_name].__module__ = "numbroker"
del _name
