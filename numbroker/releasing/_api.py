"""The entry points: ``release_numbers`` (plan, confirm, one request per number on the ledger) and its sync form."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import partial
from typing import TypedDict, Unpack

import anyio
import anyio.to_thread

from numbroker._exceptions import ConfigurationError
from numbroker._sync import run_sync
from numbroker.adapters import Provider
from numbroker.buying import AuditLog, Books
from numbroker.ledger import IntentStatus, Ledger, LedgerIntent, ReleaseAction, open_ledger
from numbroker.releasing._plan import DEFAULT_MAX_COUNT, Change, Plan, canonical_numbers, plan_release
from numbroker.releasing._results import ReleaseOutcome, ReleaseResult, ReleaseRow, run_status
from numbroker.releasing._run import Releaser, by_account

__all__ = ["move_numbers", "move_numbers_sync", "release_numbers", "release_numbers_sync"]

_KEY = re.compile(r"[A-Za-z0-9._:-]{1,200}")
_NO_CURRENCY = "XXX"
"""ISO 4217's code for "no currency": a release intent has a count, never a budget."""


class ChangeOptions(TypedDict, total=False):
    """The options every account-changing call takes (see :func:`release_numbers` for each)."""

    provider: str | None
    dry_run: bool
    confirm: Callable[[ReleaseResult], bool] | None
    max_count: int
    ledger: Ledger | str | os.PathLike[str] | None
    idempotency_key: str | None
    audit_log: str | os.PathLike[str] | None
    confirm_window: float
    request_timeout: float
    lock_timeout: float
    list_timeout: float
    run_id: str | None


async def release_numbers(
    providers: Sequence[Provider],
    numbers: Iterable[str],
    *,
    immediate: bool = False,
    undo: bool = False,
    **options: Unpack[ChangeOptions],
) -> ReleaseResult:
    """Give numbers back to their vendors: planned first, recorded in the ledger, confirmed against the vendor.

    Each number is looked up in the owned lists of ``providers``; one no account lists is ``not_owned`` and
    no request is ever sent for it. With ``dry_run=True`` (the default) that plan is the result. Otherwise
    the ledger's purchaser lock is taken (the one buying takes: a buy and a release never interleave),
    earlier runs' open release attempts on these accounts are settled by reading the owned lists, and
    each planned number gets one request, written ``pending`` before it is sent and its outcome after.

    Args:
        providers: the configured accounts.
        numbers: E.164 numbers to give back (at most ``max_count``).
        provider: only this provider's account (needed when two accounts list one number).
        immediate: skip a cancellable cooldown where the vendor has one (it cannot then be undone).
        undo: cancel pending releases instead (within the vendor's window; a refund is reported as ``fee``).
        dry_run: plan only (the default): nothing is sent, nothing is written to the ledger.
        confirm: with ``dry_run=False``, called with the plan (in a worker thread); only True goes ahead.
        max_count: the most numbers one call gives back (raising it is a deliberate act).
        ledger: a :class:`~numbroker.ledger.Ledger` (left open), a path or a ``postgresql://`` URL.
        idempotency_key: a rerun with the same key continues the same intent: numbers it already gave back
            are not sent again, and a finished intent's result is replayed.
        audit_log: a JSON-lines file: a ``pending`` line before each request, its outcome after.
        confirm_window: seconds the owned list is read for after an ambiguous answer.
        request_timeout: seconds one request (or one read of an owned list) may take.
        lock_timeout: seconds to wait for the purchaser lock.
        list_timeout: seconds the plan's reading of every owned list may take.
        run_id: this run's id (default: a fresh one).

    Raises:
        ConfigurationError: a number that is not E.164, none, more than ``max_count``, one listed by two
            accounts without ``provider``, an unknown ``provider``, or an invalid key.
        LedgerError: the ledger cannot be opened or written before anything is sent.
        LedgerBusyError: another run held the purchaser lock for ``lock_timeout`` seconds.
    """
    change = Change(action=ReleaseAction.UNDO if undo else ReleaseAction.RELEASE, immediate=immediate)
    return await _change(providers, numbers, change, **options)


async def move_numbers(
    providers: Sequence[Provider],
    numbers: Iterable[str],
    *,
    sub_account: str | None,
    force: bool = False,
    **options: Unpack[ChangeOptions],
) -> ReleaseResult:
    """Move numbers to a sub-account (``sub_account``), or back to the parent account (``sub_account=None``).

    Planned, recorded and confirmed exactly as :func:`release_numbers` (the same arguments): each number is
    looked up in the owned lists first, nothing is sent without ``dry_run=False``, each request is on the
    ledger under the purchaser lock. A vendor's cool-off refusal is the row's ``cool_off`` outcome, with
    ``effective_at`` when it ends; ``force=True`` (sent only when given, and noted in the ledger and the
    audit log) asks the vendor to override it.

    Raises:
        ConfigurationError: as :func:`release_numbers`, or ``force`` for a move to a sub-account.
    """
    if force and sub_account is not None:
        raise ConfigurationError("force overrides the cool-off of a move back to the parent account only")
    action = ReleaseAction.ASSIGN if sub_account is not None else ReleaseAction.UNASSIGN
    return await _change(providers, numbers, Change(action=action, sub_account=sub_account, force=force), **options)


async def _change(
    providers: Sequence[Provider],
    numbers: Iterable[str],
    change: Change,
    *,
    provider: str | None = None,
    dry_run: bool = True,
    confirm: Callable[[ReleaseResult], bool] | None = None,
    max_count: int = DEFAULT_MAX_COUNT,
    ledger: Ledger | str | os.PathLike[str] | None = None,
    idempotency_key: str | None = None,
    audit_log: str | os.PathLike[str] | None = None,
    confirm_window: float = 20.0,
    request_timeout: float = 30.0,
    lock_timeout: float = 60.0,
    list_timeout: float = 60.0,
    run_id: str | None = None,
) -> ReleaseResult:
    """Plan ``change`` on every number, confirm, then send on the ledger (see :func:`release_numbers`)."""
    wanted = canonical_numbers(numbers, max_count=max_count)
    if idempotency_key is not None and not _KEY.fullmatch(idempotency_key):
        raise ConfigurationError(
            f"an idempotency key is 1 to 200 letters, digits and . _ : -, got {idempotency_key[:60]!r}"
        )
    if confirm is not None and dry_run:
        raise ConfigurationError("confirm= is asked only before sending: pass dry_run=False with it")
    chosen = list(providers)
    if provider is not None:
        chosen = [p for p in providers if p.id == provider]
        if not chosen:
            raise ConfigurationError(f"--provider {provider!r} is not configured")
    run_id = run_id or uuid.uuid4().hex
    plan = await plan_release(chosen, wanted, change=change, deadline=list_timeout)
    planned = ReleaseResult(
        status=run_status(plan.rows, dry_run=True),
        dry_run=True,
        action=change.action.value,
        immediate=change.immediate,
        sub_account=change.sub_account,
        force=change.force,
        run_id=run_id,
        results=plan.rows,
        providers=plan.reports,
    )
    if dry_run:
        return planned
    if confirm is not None and not await anyio.to_thread.run_sync(confirm, planned):
        return planned.model_copy(update={"notes": [*planned.notes, "not confirmed: nothing was sent"]})
    redact = partial(_redact_everywhere, tuple(chosen))
    audit = AuditLog(audit_log, redact)
    opened = ledger if isinstance(ledger, Ledger) else await anyio.to_thread.run_sync(open_ledger, ledger)
    try:
        prefix = "release" if change.action in (ReleaseAction.RELEASE, ReleaseAction.UNDO) else "move"
        intent = f"{prefix}:{idempotency_key}" if idempotency_key else f"{prefix}-run-{run_id}"
        books = Books(opened, intent=intent, run_id=run_id)
        walk = Releaser(
            books=books, audit=audit, change=change, confirm_window=confirm_window, request_timeout=request_timeout
        )
        return await _send_all(walk, plan, planned, len(wanted), lock_timeout)
    finally:
        audit.close()
        if not isinstance(ledger, Ledger):
            opened.close()


async def _send_all(
    walk: Releaser, plan: Plan, planned: ReleaseResult, count: int, lock_timeout: float
) -> ReleaseResult:
    books = walk.books
    async with books.purchaser(deadline=time.monotonic() + lock_timeout):
        found: LedgerIntent = await books.call(
            books.ledger.open_intent, books.intent, quantity=count, budget=None, currency=_NO_CURRENCY
        )
        if found.status is IntentStatus.FINISHED and found.result:
            replay = ReleaseResult.model_validate_json(found.result)
            if {r.e164 for r in replay.results} != {r.e164 for r in plan.rows}:
                raise ConfigurationError(
                    f"the idempotency key {books.intent.split(':', 1)[-1]!r} names a finished intent for other "
                    "numbers: use another key"
                )
            return replay.model_copy(update={"replayed": True, "run_id": books.run_id})
        settled, blocked = await walk.recover(by_account(plan.rows, plan.providers))
        earlier = await walk.earlier()
        rows: list[ReleaseRow] = []
        for row in plan.rows:
            if row.outcome is not ReleaseOutcome.PLANNED:
                rows.append(row)
            elif row.e164 in earlier or row.e164 in settled:
                done = earlier.get(row.e164) or settled[row.e164]
                rows.append(
                    row.model_copy(
                        update=done.model_dump(include={"outcome", "reason", "effective_at", "undo_until", "ledger_id"})
                    )
                )
            elif row.account in blocked:
                why = "an earlier release attempt on this account is still unsettled: nothing sent (rerun later)"
                rows.append(row.model_copy(update={"outcome": ReleaseOutcome.UNKNOWN, "reason": why}))
            else:
                rows.append(await walk.one(row, plan.owned[row.e164], plan.providers[row.e164]))
        result = planned.model_copy(
            update={
                "results": rows,
                "dry_run": False,
                "status": run_status(rows, dry_run=False),
                "intent": books.intent,
            }
        )
        if not any(r.outcome is ReleaseOutcome.UNKNOWN for r in rows):
            await books.shielded(books.ledger.finish_intent, books.intent, result.model_dump_json())
    return result


def _redact_everywhere(providers: Sequence[Provider], text: str) -> str:
    for provider in providers:
        text = provider.redact(text)
    return text


def release_numbers_sync(providers: Sequence[Provider], numbers: Iterable[str], **options: object) -> ReleaseResult:
    """:func:`release_numbers` for synchronous code (its own event loop; the providers are closed at the end)."""
    return _in_own_loop(providers, partial(release_numbers, providers, numbers, **options))  # type: ignore[arg-type]


def move_numbers_sync(providers: Sequence[Provider], numbers: Iterable[str], **options: object) -> ReleaseResult:
    """:func:`move_numbers` for synchronous code (its own event loop; the providers are closed at the end)."""
    return _in_own_loop(providers, partial(move_numbers, providers, numbers, **options))  # type: ignore[arg-type]


def _in_own_loop(providers: Sequence[Provider], call: Callable[[], Awaitable[ReleaseResult]]) -> ReleaseResult:
    async def main() -> ReleaseResult:
        try:
            return await call()
        finally:
            for provider in providers:
                await provider.aclose()

    return run_sync(main)
