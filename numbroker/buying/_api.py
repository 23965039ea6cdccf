"""The entry points: ``buy_cheapest`` (search, plan, confirm, walk, final check) and its synchronous form."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import anyio
import anyio.to_thread

from numbroker._exceptions import ConfigurationError
from numbroker._models import SearchQuery
from numbroker._money import Money
from numbroker._pricing import ExchangeRates
from numbroker._provider import Provider
from numbroker._reports import OverallStatus, SearchResult
from numbroker._search import DEFAULT_DEADLINE, Searcher
from numbroker._sync import run_sync
from numbroker.buying._audit import AuditLog
from numbroker.buying._plan import PlanRow, make_plan
from numbroker.buying._results import BuyResult
from numbroker.buying._run import BuyRun
from numbroker.buying._terms import DEFAULT_CONFIRM_DELAY, BuyTerms

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
) -> BuyResult:
    """Search, then buy the ``quantity`` cheapest numbers that fit every cap, one at a time.

    See the module documentation of ``numbroker.buying`` for the rules; in short: cheapest first by first
    bill then monthly price, sequential purchases, never over a cap or the budget, never the same number
    twice, and an ambiguous outcome is confirmed against the account's own numbers, never retried.

    Example:
        >>> async with Searcher.from_env() as searcher:                            # doctest: +SKIP
        ...     result = await buy_cheapest(
        ...         searcher, SearchQuery(country="US", prefix="212"),
        ...         max_monthly=Money(amount="2", currency="USD"),
        ...         max_first_bill=Money(amount="3", currency="USD"),
        ...         audit_log="numbroker-audit.jsonl",
        ...         dry_run=False,  # the default (True) only plans
        ...     )
        ...     print(result.status, [a.e164 for a in result.bought])

    Args:
        searcher: the providers to search and buy from (purchases go through the same instances).
        query: what to look for (a partial search is allowed; ``search_status`` says so).
        max_monthly: the hard cap on the monthly price; its currency is the run's currency.
        max_first_bill: the hard cap on setup + first month, in the same currency.
        quantity: how many numbers to buy.
        budget: a cap on the sum of the first bills of everything bought, in the same currency.
        rates: exchange rates for prices in other currencies (without one, such offers are never bought).
        audit_log: a JSON-lines file to append to (created if missing); a dry run writes ``planned`` lines.
        dry_run: True (the default) plans only: nothing is bought and no purchase request is sent.
            Pass ``dry_run=False`` to buy, as the command line's ``--yes`` does.
        confirm: with ``dry_run=False``, called (in a worker thread) with the dry-run result before
            anything is bought; buying goes ahead only if it returns True (the command line's prompt).
        allow_assumed_currency: also buy offers whose vendor stated no currency (it was assumed).
        confirm_delay: seconds to wait after an ambiguous answer before reading the owned numbers.

    Returns:
        The run's result (it never raises for a vendor's failure; see ``status``).

    Raises:
        PurchaseError: a cap is missing, or the audit log cannot be opened.
        ConfigurationError: an invalid argument (a cap that is not Money, quantity, mixed currencies,
            rates), or ``confirm`` given for a dry run (it would never be asked).
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
    )
    exchange = ExchangeRates.model_validate(rates) if isinstance(rates, Mapping) else rates
    providers = {p.id: p for p in searcher.providers}
    redact = partial(_redact_everywhere, tuple(providers.values()))
    audit = AuditLog(audit_log, redact)
    run_id = uuid.uuid4().hex
    try:
        found = await searcher.search(query, rates=exchange, strict=False)
        rows = make_plan((ranked.offer for ranked in found.offers), providers, terms=terms, rates=exchange)
        notes = _search_notes(found)
        if dry_run or confirm is not None:
            # A dry run plans into the audit log; the preview shown before confirming writes nothing.
            preview = BuyRun(
                providers=providers,
                terms=terms,
                audit=audit if dry_run else AuditLog(None, redact),
                run_id=run_id,
                dry_run=True,
            )
            planned = _dry_run_result(preview, rows, found, notes)
            if dry_run:
                return planned
            assert confirm is not None
            if not await anyio.to_thread.run_sync(confirm, planned):
                return planned.model_copy(update={"notes": [*planned.notes, "not confirmed: nothing was bought"]})
        run = BuyRun(providers=providers, terms=terms, audit=audit, run_id=run_id, dry_run=False)
        await run.walk(rows)
        await run.final_check()
        return run.result(rows, found, notes)
    finally:
        audit.close()


def _redact_everywhere(providers: Sequence[Provider], text: str) -> str:
    """``text`` with every provider's secrets redacted (an audit-log line may name any of them)."""
    for provider in providers:
        text = provider.redact(text)
    return text


def _search_notes(found: SearchResult) -> list[str]:
    """A note when the search was not complete: cheaper numbers may exist at the providers that failed."""
    if found.status is OverallStatus.COMPLETE:
        return []
    failed = ", ".join(f"{r.provider} ({r.status.value})" for r in found.failures) or "none answered"
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
    backend: str = "asyncio",
    **query_fields: Any,
) -> BuyResult:
    """Run :func:`buy_cheapest` synchronously over the providers configured in the environment.

    Example:
        >>> result = numbroker.buy_cheapest_sync(                                   # doctest: +SKIP
        ...     country="US", prefix="212",
        ...     max_monthly=Money(amount="2", currency="USD"), max_first_bill=Money(amount="3", currency="USD"),
        ...     audit_log="numbroker-audit.jsonl", dry_run=False,
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
        max_monthly=max_monthly,
        max_first_bill=max_first_bill,
        quantity=quantity,
        budget=budget,
        rates=rates,
        audit_log=audit_log,
        dry_run=dry_run,
        allow_assumed_currency=allow_assumed_currency,
        confirm_delay=confirm_delay,
    )
    return run_sync(main, backend=backend)


async def _buy_from_env(
    query: SearchQuery,
    *,
    providers: Sequence[str] | None,
    env: Mapping[str, str] | None,
    search_deadline: float,
    max_monthly: Money,
    max_first_bill: Money,
    quantity: int,
    budget: Money | None,
    rates: ExchangeRates | Mapping[str, Any] | None,
    audit_log: str | os.PathLike[str] | None,
    dry_run: bool,
    allow_assumed_currency: bool,
    confirm_delay: float,
) -> BuyResult:
    """:func:`buy_cheapest` over a searcher of the providers configured in ``env``, closed afterwards."""
    async with Searcher.from_env(providers, env=env, timeout=search_deadline) as searcher:
        return await buy_cheapest(
            searcher,
            query,
            max_monthly=max_monthly,
            max_first_bill=max_first_bill,
            quantity=quantity,
            budget=budget,
            rates=rates,
            audit_log=audit_log,
            dry_run=dry_run,
            allow_assumed_currency=allow_assumed_currency,
            confirm_delay=confirm_delay,
        )
