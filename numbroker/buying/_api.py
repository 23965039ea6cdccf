"""The entry points: ``buy_cheapest`` (search, plan, confirm, walk, final check) and its synchronous form."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import anyio
import anyio.to_thread

from numbroker._exceptions import ConfigurationError
from numbroker._models import SearchQuery
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
from numbroker.buying._terms import BuyTerms
from numbroker.ledger import AttemptState, Ledger, LedgerError, LedgerIntent, open_ledger

__all__ = ["buy_cheapest", "buy_cheapest_sync"]


async def buy_cheapest(
    searcher: Searcher,
    query: SearchQuery,
    terms: BuyTerms,
    *,
    rates: ExchangeRates | Mapping[str, Any] | None = None,
    audit_log: str | os.PathLike[str] | None = None,
    dry_run: bool = True,
    confirm: Callable[[BuyResult], bool] | None = None,
    ledger: Ledger | str | os.PathLike[str] | None = None,
    idempotency_key: str | None = None,
    run_id: str | None = None,
) -> BuyResult:
    """Search, then buy the cheapest numbers that fit ``terms``, one at a time, on the ledger.

    See the module documentation of ``numbroker.buying`` for the rules; in short: cheapest first by first
    bill then monthly price, sequential purchases, never over a cap, the budget or the spend limit, never
    the same number twice on one account (across runs, from the ledger), and an ambiguous outcome is
    confirmed against the account's own numbers, never retried.

    The order of a real run: search (concurrent, no lock); take the purchaser lock of every account it
    may buy from (waiting at most ``terms.run_timeout``); settle every unresolved attempt on those
    accounts (see ``numbroker.buying._recovery``: nothing is bought if one cannot be settled); plan
    against the ledger; then each attempt is written ``pending`` to the ledger before its request is sent.

    Example:
        >>> async with Searcher.from_env() as searcher:                            # doctest: +SKIP
        ...     result = await buy_cheapest(
        ...         searcher,
        ...         SearchQuery(country="US", prefix="212"),
        ...         BuyTerms(
        ...             max_monthly=Money(amount="2", currency="USD"),
        ...             max_first_bill=Money(amount="3", currency="USD"),
        ...             spend_limit=Money(amount="20", currency="USD"),
        ...         ),
        ...         audit_log="numbroker-audit.jsonl",
        ...         dry_run=False,  # the default (True) only plans
        ...         idempotency_key="nightly-2024-05-01",
        ...     )
        ...     print(result.status, [a.e164 for a in result.bought])

    Args:
        searcher: the providers to search and buy from (purchases go through the same instances).
        query: what to look for (a partial search is allowed; ``search_status`` says so).
        terms: what the run may buy: quantity, caps, budget, spend limit and waits (see :class:`BuyTerms`).
        rates: exchange rates for prices in other currencies (without one, such offers are never bought).
        audit_log: a JSON-lines file to append to (created if missing); a dry run writes ``planned`` lines.
        dry_run: True (the default) plans only (against the ledger): nothing is bought, no purchase
            request is sent, nothing is written to the ledger. Pass ``dry_run=False`` to buy, as the
            command line's ``--yes`` does.
        confirm: with ``dry_run=False``, called (in a worker thread) with the dry-run result before
            anything is bought; buying goes ahead only if it returns True (the command line's prompt).
        ledger: the purchase ledger: a :class:`~numbroker.ledger.Ledger` (left open), a file path or a
            ``postgresql://`` URL (opened and closed here); default ``$NUMBROKER_LEDGER``, else the
            SQLite file in the user's data directory.
        idempotency_key: names the intent: a rerun with the same key continues it (what it bought counts
            toward ``terms.quantity`` and ``terms.budget``), and once it is complete a rerun buys nothing
            and returns the finished result (``replayed``). Without a key every run is a fresh intent.
        run_id: this run's id on the ledger and the audit log (default: a fresh one).

    Returns:
        The run's result (it never raises for a vendor's failure; see ``status``).

    Raises:
        PurchaseError: the audit log cannot be opened.
        ConfigurationError: ``terms`` that are not :class:`BuyTerms`, invalid rates, an invalid key or one
            reused with other terms, or ``confirm`` given for a dry run (it would never be asked).
        LedgerError: the ledger cannot be opened or read before anything is bought.
        LedgerBusyError: another run held an account's purchaser lock past ``terms.run_timeout`` (its
            message names the holder); nothing was bought.
    """
    _check_call(terms, dry_run=dry_run, confirm=confirm, idempotency_key=idempotency_key)
    exchange = ExchangeRates.model_validate(rates) if isinstance(rates, Mapping) else rates
    providers, accounts = _buyers(searcher)
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
            if confirm is None:
                return planned
            if not await anyio.to_thread.run_sync(confirm, planned):
                return planned.model_copy(update={"notes": [*planned.notes, "not confirmed: nothing was bought"]})
        return await _buy(books, providers, accounts, terms, audit, rows, found, notes)
    finally:
        audit.close()
        if own_ledger and books is not None:
            books.ledger.close()


def _check_call(
    terms: object, *, dry_run: bool, confirm: Callable[[BuyResult], bool] | None, idempotency_key: str | None
) -> None:
    """Refuse a call that cannot run as asked, before anything is searched.

    Raises:
        ConfigurationError: see :func:`buy_cheapest`.
    """
    if confirm is not None and dry_run:
        raise ConfigurationError("confirm= is asked only before buying: pass dry_run=False with it")
    if not isinstance(terms, BuyTerms):
        raise ConfigurationError(
            "terms must be BuyTerms, e.g. BuyTerms(max_monthly=Money(...), max_first_bill=Money(...)); "
            f"got {type(terms).__name__}"
        )
    if idempotency_key is not None and not _KEY.fullmatch(idempotency_key):
        raise ConfigurationError(
            "an idempotency key is 1 to 200 letters, digits and . _ : - (like nightly-2024-05-01), "
            f"got {idempotency_key[:60]!r}"
        )


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


def _buyers(searcher: Searcher) -> tuple[dict[str, Provider], dict[str, str]]:
    """The searcher's providers by id, and the account key of each that can buy."""
    providers = {p.id: p for p in searcher.providers}
    return providers, {p.id: p.account_key() for p in providers.values() if p.supports_purchase}


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
    return [f"the search was {found.status.value}: {failed}; cheaper numbers may exist there"]


def _dry_run_result(preview: BuyRun, rows: Sequence[PlanRow], found: SearchResult, notes: Sequence[str]) -> BuyResult:
    """The dry-run result of ``rows``, planned on copies (the real run walks the rows themselves)."""
    preview_rows = [replace(row) for row in rows]
    preview.plan_only(preview_rows)
    return preview.result(preview_rows, found, notes)


def buy_cheapest_sync(
    query: SearchQuery,
    terms: BuyTerms,
    /,
    *,
    providers: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_DEADLINE,
    rates: ExchangeRates | Mapping[str, Any] | None = None,
    audit_log: str | os.PathLike[str] | None = None,
    dry_run: bool = True,
    ledger: Ledger | str | os.PathLike[str] | None = None,
    idempotency_key: str | None = None,
    backend: str = "asyncio",
) -> BuyResult:
    """Run :func:`buy_cheapest` synchronously over the providers configured in the environment.

    Example:
        >>> result = numbroker.buy_cheapest_sync(                                   # doctest: +SKIP
        ...     SearchQuery(country="US", prefix="212"),
        ...     BuyTerms(
        ...         max_monthly=Money(amount="2", currency="USD"), max_first_bill=Money(amount="3", currency="USD")
        ...     ),
        ...     audit_log="numbroker-audit.jsonl", idempotency_key="nightly-2024-05-01", dry_run=False,
        ... )

    Args:
        query: what to look for.
        terms: what the run may buy (see :class:`BuyTerms`).
        providers: provider ids to use (default: every configured one).
        env: where credentials are read from (default ``os.environ``).
        timeout: the search's global deadline in seconds.
        rates: see :func:`buy_cheapest`.
        audit_log: see :func:`buy_cheapest`.
        dry_run: see :func:`buy_cheapest`.
        ledger: see :func:`buy_cheapest`.
        idempotency_key: see :func:`buy_cheapest`.
        backend: the anyio backend to run on (``asyncio`` or ``trio``).
    """

    async def main() -> BuyResult:
        async with Searcher.from_env(providers, env=env, timeout=timeout) as searcher:
            return await buy_cheapest(
                searcher,
                query,
                terms,
                rates=rates,
                audit_log=audit_log,
                dry_run=dry_run,
                ledger=ledger,
                idempotency_key=idempotency_key,
            )

    return run_sync(main, backend=backend)
