"""The entry points: ``buy_cheapest`` (search, plan, confirm, walk, final check) and its synchronous form."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import Any

import anyio
import anyio.to_thread

from numbroker._exceptions import ConfigurationError
from numbroker._models import SearchQuery
from numbroker._money import Money
from numbroker._pricing import ExchangeRates
from numbroker._reports import OverallStatus, SearchResult
from numbroker._search import DEFAULT_DEADLINE, Searcher
from numbroker._sync import run_sync
from numbroker.adapters import Provider
from numbroker.buying._audit import AuditLog
from numbroker.buying._ledgering import Books, ledger_note
from numbroker.buying._plan import PlanRow, make_plan
from numbroker.buying._recovery import recover
from numbroker.buying._results import BuyResult, BuyStatus, LedgerNote, PlanDecision
from numbroker.buying._run import BuyRun
from numbroker.buying._terms import (
    DEFAULT_CONFIRM_DELAY,
    DEFAULT_CONFIRM_WINDOW,
    DEFAULT_PURCHASE_TIMEOUT,
    DEFAULT_RUN_TIMEOUT,
    DEFAULT_SPEND_WINDOW,
    BuyTerms,
)
from numbroker.ledger import AttemptState, Ledger, LedgerError, LedgerIntent, open_ledger

__all__ = ["buy_cheapest", "buy_cheapest_sync"]


async def buy_cheapest(
    searcher: Searcher,
    query: SearchQuery,
    *,
    max_monthly: Money,
    max_first_bill: Money,
    quantity: int = 1,
    budget: Money | None = None,
    rates: ExchangeRates | Mapping[str, Any] | None = None,
    audit_log: str | os.PathLike[str] | None = None,
    dry_run: bool = True,
    confirm: Callable[[BuyResult], bool] | None = None,
    allow_assumed_currency: bool = False,
    confirm_delay: float = DEFAULT_CONFIRM_DELAY,
    ledger: Ledger | str | os.PathLike[str] | None = None,
    idempotency_key: str | None = None,
    spend_limit: Money | None = None,
    spend_window: str | timedelta = DEFAULT_SPEND_WINDOW,
    confirm_window: float = DEFAULT_CONFIRM_WINDOW,
    purchase_timeout: float = DEFAULT_PURCHASE_TIMEOUT,
    run_timeout: float = DEFAULT_RUN_TIMEOUT,
    run_id: str | None = None,
) -> BuyResult:
    """Search, then buy the ``quantity`` cheapest numbers that fit every cap, one at a time, on the ledger.

    See the module documentation of ``numbroker.buying`` for the rules; in short: cheapest first by first
    bill then monthly price, sequential purchases, never over a cap, the budget or the spend limit, never
    the same number twice on one account (across runs, from the ledger), and an ambiguous outcome is
    confirmed against the account's own numbers, never retried.

    The order of a real run: search (concurrent, no lock); take the purchaser lock of every account it
    may buy from (waiting at most ``run_timeout``); settle every unresolved attempt on those accounts
    (see ``numbroker.buying._recovery``: nothing is bought if one cannot be settled); plan against the
    ledger; then each attempt is written ``pending`` to the ledger before its request is sent.

    Example:
        >>> async with Searcher.from_env() as searcher:                            # doctest: +SKIP
        ...     result = await buy_cheapest(
        ...         searcher, SearchQuery(country="US", prefix="212"),
        ...         max_monthly=Money(amount="2", currency="USD"),
        ...         max_first_bill=Money(amount="3", currency="USD"),
        ...         audit_log="numbroker-audit.jsonl",
        ...         dry_run=False,  # the default (True) only plans
        ...         idempotency_key="nightly-2024-05-01",
        ...         spend_limit=Money(amount="20", currency="USD"),
        ...     )
        ...     print(result.status, [a.e164 for a in result.bought])

    Args:
        searcher: the providers to search and buy from (purchases go through the same instances).
        query: what to look for (a partial search is allowed; ``search_status`` says so).
        max_monthly: the hard cap on the monthly price; its currency is the run's currency.
        max_first_bill: the hard cap on setup + first month, in the same currency.
        quantity: how many numbers the intent buys (what earlier runs of it bought counts).
        budget: a cap on the sum of the first bills of everything the intent bought, in the same currency.
        rates: exchange rates for prices in other currencies (without one, such offers are never bought).
        audit_log: a JSON-lines file to append to (created if missing); a dry run writes ``planned`` lines.
        dry_run: True (the default) plans only (against the ledger): nothing is bought, no purchase
            request is sent, nothing is written to the ledger. Pass ``dry_run=False`` to buy, as the
            command line's ``--yes`` does.
        confirm: with ``dry_run=False``, called (in a worker thread) with the dry-run result before
            anything is bought; buying goes ahead only if it returns True (the command line's prompt).
        allow_assumed_currency: also buy offers whose vendor stated no currency (it was assumed).
        confirm_delay: seconds to wait after an ambiguous answer before reading the owned numbers.
        ledger: the purchase ledger: a :class:`~numbroker.ledger.Ledger` (left open), a file path or a
            ``postgresql://`` URL (opened and closed here); default ``$NUMBROKER_LEDGER``, else the
            SQLite file in the user's data directory.
        idempotency_key: names the intent: a rerun with the same key continues it (what it bought counts
            toward ``quantity`` and ``budget``), and once it is complete a rerun buys nothing and returns
            the finished result (``replayed``). Without a key every run is a fresh intent.
        spend_limit: a cap on the first bills bought, plus unresolved attempts at their price, on one
            account within ``spend_window``, across every run sharing the ledger.
        spend_window: the window of the spend limit: a :class:`~datetime.timedelta` or ``30m``/``24h``/``7d``.
        confirm_window: seconds after an ambiguous answer during which "not owned" proves nothing (an
            owned list may lag): the attempt stays unresolved and counts as spent.
        purchase_timeout: the total deadline in seconds of each purchase request (the whole response) and
            of each ownership check; a purchase that misses it is ambiguous.
        run_timeout: the bound in seconds on the buying phase: the wait for purchaser locks, recovery,
            and starting attempts (an attempt under way finishes within its own deadlines).
        run_id: this run's id on the ledger and the audit log (default: a fresh one).

    Returns:
        The run's result (it never raises for a vendor's failure; see ``status``).

    Raises:
        PurchaseError: a cap is missing, or the audit log cannot be opened.
        ConfigurationError: an invalid argument (a cap that is not Money, quantity, mixed currencies,
            rates, a duration, a key reused with other terms), or ``confirm`` given for a dry run (it
            would never be asked).
        LedgerError: the ledger cannot be opened or read before anything is bought.
        LedgerBusyError: another run held an account's purchaser lock past ``run_timeout`` (its message
            names the holder); nothing was bought.
    """
    if confirm is not None and dry_run:
        raise ConfigurationError("confirm= is asked only before buying: pass dry_run=False with it")
    terms = BuyTerms.checked(
        quantity=quantity,
        max_monthly=max_monthly,
        max_first_bill=max_first_bill,
        budget=budget,
        allow_assumed_currency=allow_assumed_currency,
        confirm_delay=confirm_delay,
        confirm_window=confirm_window,
        purchase_timeout=purchase_timeout,
        run_timeout=run_timeout,
        spend_limit=spend_limit,
        spend_window=spend_window,
    )
    if idempotency_key is not None and not _KEY.fullmatch(idempotency_key):
        raise ConfigurationError(
            "an idempotency key is 1 to 200 letters, digits and . _ : - (like nightly-2024-05-01), "
            f"got {idempotency_key[:60]!r}"
        )
    exchange = ExchangeRates.model_validate(rates) if isinstance(rates, Mapping) else rates
    providers = {p.id: p for p in searcher.providers}
    accounts = {p.id: p.account_key() for p in providers.values() if p.supports_purchase}
    redact = partial(_redact_everywhere, tuple(providers.values()))
    audit = AuditLog(audit_log, redact)
    run_id = run_id or uuid.uuid4().hex
    own_ledger = not isinstance(ledger, Ledger)
    books: Books | None = None
    try:
        opened = ledger if isinstance(ledger, Ledger) else await anyio.to_thread.run_sync(open_ledger, ledger)
        books = Books(opened, intent=idempotency_key or f"run-{run_id}", run_id=run_id)
        if idempotency_key is not None:
            finished = await books.finished()
            if finished is not None:
                return _replayed(finished)
        found = await searcher.search(query, rates=exchange, strict=False)
        rows = make_plan((ranked.offer for ranked in found.offers), providers, terms=terms, rates=exchange)
        notes = _search_notes(found)
        if dry_run or confirm is not None:
            # A dry run plans (against the ledger) into the audit log; the preview shown before
            # confirming writes nothing.
            base, _ = await books.baseline(accounts.values(), terms)
            preview = BuyRun(
                providers=providers,
                terms=terms,
                audit=audit if dry_run else AuditLog(None, redact),
                run_id=run_id,
                dry_run=True,
                accounts=accounts,
                base=base,
            )
            planned = _dry_run_result(preview, rows, found, notes)
            if dry_run:
                return planned
            assert confirm is not None
            if not await anyio.to_thread.run_sync(confirm, planned):
                return planned.model_copy(update={"notes": [*planned.notes, "not confirmed: nothing was bought"]})
        return await _buy(books, providers, accounts, terms, audit, rows, found, notes)
    finally:
        audit.close()
        if own_ledger and books is not None:
            books.ledger.close()


_KEY = re.compile(r"[A-Za-z0-9._:-]{1,200}")


async def _buy(
    books: Books,
    providers: Mapping[str, Provider],
    accounts: Mapping[str, str],
    terms: BuyTerms,
    audit: AuditLog,
    rows: Sequence[PlanRow],
    found: SearchResult,
    notes: Sequence[str],
) -> BuyResult:
    """The real run: locks, recovery, the walk, the final check, and the intent finished when complete."""
    await books.open_intent(terms)
    by_account = {accounts[pid]: providers[pid] for pid in accounts}
    wanted = {
        accounts[r.offer.provider]
        for r in rows
        if r.decision is PlanDecision.CANDIDATE and r.offer.provider in accounts
    }
    wanted |= {a.account for a in await books.intent_unresolved() if a.account in by_account}
    deadline = time.monotonic() + terms.run_timeout
    async with books.purchasers(wanted, deadline=deadline):
        finished = await books.finished()
        if finished is not None:
            return _replayed(finished)  # a run with the same key finished it while this one waited
        recovery = await recover(books, by_account, await books.unresolved(wanted), terms=terms, deadline=deadline)
        base, earlier = await books.baseline(wanted, terms)
        run = BuyRun(
            providers=providers,
            terms=terms,
            audit=audit,
            run_id=books.run_id,
            dry_run=False,
            books=books,
            accounts=accounts,
            base=base,
            deadline=deadline,
        )
        run.earlier = [ledger_note(a) for a in earlier if a.state is AttemptState.BOUGHT]
        run.recovered = recovery.recovered
        if recovery.unsettled:
            run.tally.stopped = "earlier attempts are unresolved"
            run.notes.append(
                "nothing was bought: earlier attempts on these accounts are unresolved (check the account, then "
                "`numbroker ledger resolve ID --bought|--released --note ...`, or rerun after the confirm window)"
            )
        else:
            await run.walk(rows)
            await run.final_check()
        run.unresolved = await _still_unresolved(books, run, recovery.unsettled)
        result = run.result(rows, found, notes)
        if result.status is BuyStatus.COMPLETE:
            try:
                await books.finish(result.model_dump_json())
            except LedgerError as exc:
                result = result.model_copy(
                    update={"notes": [*result.notes, f"the intent could not be marked finished: {exc}"]}
                )
        return result


async def _still_unresolved(books: Books, run: BuyRun, unsettled: Sequence[LedgerNote]) -> list[LedgerNote]:
    """What is unresolved when the run ends: this intent's attempts, and those recovery could not settle."""
    out = {note.id: note for note in unsettled}
    try:
        for attempt in await books.intent_unresolved():
            out.setdefault(attempt.id, ledger_note(attempt))
    except LedgerError:
        pass
    for tried in run.attempts:  # what the ledger may have failed to record
        if tried.outcome.unresolved and tried.ledger_id is not None and tried.ledger_id not in out:
            out[tried.ledger_id] = LedgerNote(
                id=tried.ledger_id,
                intent=books.intent,
                run_id=books.run_id,
                provider=tried.provider,
                e164=tried.e164,
                first_bill=tried.first_bill,
                state=tried.outcome.value,
                reason=tried.reason,
            )
    return sorted(out.values(), key=lambda note: note.id)


def _replayed(intent: LedgerIntent) -> BuyResult:
    """The finished intent's result, as a rerun with its key reports it (nothing searched or bought)."""
    assert intent.result is not None
    earlier = BuyResult.model_validate_json(intent.result)
    note = f"the intent {intent.key!r} was finished at {intent.updated_at:%Y-%m-%d %H:%M:%S}Z: nothing was bought now"
    return earlier.model_copy(update={"replayed": True, "notes": [*earlier.notes, note]})


def _redact_everywhere(providers: Sequence[Provider], text: str) -> str:
    """``text`` with every provider's secrets redacted (an audit-log line may name any of them)."""
    for provider in providers:
        text = provider.redact(text)
    return text


def _search_notes(found: SearchResult) -> list[str]:
    """A note when the search was not complete: cheaper numbers may exist at the providers that failed."""
    if found.status is OverallStatus.COMPLETE:
        return []
    failed = ", ".join(
        [f"{r.provider} ({r.status.value})" for r in found.failures]
        + [f"{r.provider} (truncated: records known missing)" for r in found.providers if r.truncated]
    )
    if not failed:  # nothing was searched (no provider configured): nothing can be cheaper elsewhere
        return [f"the search was {found.status.value}: no provider answered"]
    return [f"the search was {found.status.value}: {failed}; cheaper numbers may exist there"]


def _dry_run_result(preview: BuyRun, rows: Sequence[PlanRow], found: SearchResult, notes: Sequence[str]) -> BuyResult:
    """The dry-run result of ``rows``, planned on copies (the real run walks the rows themselves)."""
    preview_rows = [replace(row) for row in rows]
    preview.plan_only(preview_rows)
    return preview.result(preview_rows, found, notes)


def buy_cheapest_sync(
    query: SearchQuery | None = None,
    /,
    *,
    max_monthly: Money,
    max_first_bill: Money,
    quantity: int = 1,
    budget: Money | None = None,
    providers: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_DEADLINE,
    rates: ExchangeRates | Mapping[str, Any] | None = None,
    audit_log: str | os.PathLike[str] | None = None,
    dry_run: bool = True,
    allow_assumed_currency: bool = False,
    confirm_delay: float = DEFAULT_CONFIRM_DELAY,
    ledger: Ledger | str | os.PathLike[str] | None = None,
    idempotency_key: str | None = None,
    spend_limit: Money | None = None,
    spend_window: str | timedelta = DEFAULT_SPEND_WINDOW,
    confirm_window: float = DEFAULT_CONFIRM_WINDOW,
    purchase_timeout: float = DEFAULT_PURCHASE_TIMEOUT,
    run_timeout: float = DEFAULT_RUN_TIMEOUT,
    backend: str = "asyncio",
    **query_fields: Any,
) -> BuyResult:
    """Run :func:`buy_cheapest` synchronously over the providers configured in the environment.

    Example:
        >>> result = numbroker.buy_cheapest_sync(                                   # doctest: +SKIP
        ...     country="US", prefix="212",
        ...     max_monthly=Money(amount="2", currency="USD"), max_first_bill=Money(amount="3", currency="USD"),
        ...     audit_log="numbroker-audit.jsonl", idempotency_key="nightly-2024-05-01", dry_run=False,
        ... )

    Args:
        query: a :class:`SearchQuery`, or leave it out and give its fields as keywords (``country=`` ...).
        max_monthly: see :func:`buy_cheapest`.
        max_first_bill: see :func:`buy_cheapest`.
        quantity: see :func:`buy_cheapest`.
        budget: see :func:`buy_cheapest`.
        providers: provider ids to use (default: every configured one).
        env: where credentials are read from (default ``os.environ``).
        timeout: the search's global deadline in seconds.
        rates: see :func:`buy_cheapest`.
        audit_log: see :func:`buy_cheapest`.
        dry_run: see :func:`buy_cheapest`.
        allow_assumed_currency: see :func:`buy_cheapest`.
        confirm_delay: see :func:`buy_cheapest`.
        ledger: see :func:`buy_cheapest`.
        idempotency_key: see :func:`buy_cheapest`.
        spend_limit: see :func:`buy_cheapest`.
        spend_window: see :func:`buy_cheapest`.
        confirm_window: see :func:`buy_cheapest`.
        purchase_timeout: see :func:`buy_cheapest`.
        run_timeout: see :func:`buy_cheapest`.
        backend: the anyio backend to run on (``asyncio`` or ``trio``).
        **query_fields: :class:`SearchQuery` fields when ``query`` is not given.
    """
    if query is None:
        query = SearchQuery.model_validate(query_fields)
    elif query_fields:
        raise ConfigurationError("give either a SearchQuery or its fields as keywords, not both")
    main = partial(
        _buy_from_env,
        query,
        providers=providers,
        env=env,
        search_deadline=timeout,
        options={
            "max_monthly": max_monthly,
            "max_first_bill": max_first_bill,
            "quantity": quantity,
            "budget": budget,
            "rates": rates,
            "audit_log": audit_log,
            "dry_run": dry_run,
            "allow_assumed_currency": allow_assumed_currency,
            "confirm_delay": confirm_delay,
            "ledger": ledger,
            "idempotency_key": idempotency_key,
            "spend_limit": spend_limit,
            "spend_window": spend_window,
            "confirm_window": confirm_window,
            "purchase_timeout": purchase_timeout,
            "run_timeout": run_timeout,
        },
    )
    return run_sync(main, backend=backend)


async def _buy_from_env(
    query: SearchQuery,
    *,
    providers: Sequence[str] | None,
    env: Mapping[str, str] | None,
    search_deadline: float,
    options: Mapping[str, Any],
) -> BuyResult:
    """:func:`buy_cheapest` over a searcher of the providers configured in ``env``, closed afterwards."""
    async with Searcher.from_env(providers, env=env, timeout=search_deadline) as searcher:
        return await buy_cheapest(searcher, query, **options)
