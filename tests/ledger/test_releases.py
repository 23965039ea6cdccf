"""Giving numbers back, end to end against the in-process sandboxes, on SQLite and PostgreSQL ledgers.

The vendor's own record (the sandbox's committed releases and its owned list) is the truth each test
checks against; the ledger and the audit log must say the same.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from numbroker import ConfigurationError, ReleaseOutcome, ReleaseStatus, move_numbers, release_numbers
from numbroker.adapters import Provider
from numbroker.ledger import ReleaseState, open_ledger
from numbroker.sandbox import Faults, Sandbox, create_sandboxes, in_process_providers
from numbroker_providers.vobiz.sandbox import DEFAULT_AUTH_ID, SUB_ACCOUNTS

NOT_OWNED = "+14155550123"
SUB = SUB_ACCOUNTS[1]


def _accounts(**vobiz: Any) -> tuple[dict[str, Sandbox], list[Provider]]:
    boxes = create_sandboxes(["vobiz"], owned=12, **vobiz)
    boxes.update(create_sandboxes(["identitycall"], owned=12))
    return boxes, in_process_providers(boxes)


def _owned(box: Sandbox, index: int) -> str:
    number: str = box.options["owned"][index]["e164"]
    return number


def _release(providers: list[Provider], numbers: list[str], *, call: Any = release_numbers, **options: Any) -> Any:
    async def main() -> Any:
        try:
            return await call(providers, numbers, **options)
        finally:
            for provider in providers:
                await provider.aclose()

    return anyio.run(main)


def test_a_plan_sends_nothing_and_never_a_number_not_owned(tmp_path: Path) -> None:
    """Without dry_run=False only the owned lists are read; a number nobody lists is not_owned."""
    boxes, providers = _accounts()
    mine = _owned(boxes["vobiz"], 0)

    result = _release(providers, [mine, NOT_OWNED])

    assert ReleaseStatus.PLANNED is result.status and result.dry_run
    outcomes = {r.e164: r.outcome for r in result.results}
    assert {mine: ReleaseOutcome.PLANNED, NOT_OWNED: ReleaseOutcome.NOT_OWNED} == outcomes
    planned = result.results[0]
    assert ("vobiz", "cooldown") == (planned.provider, planned.release.value)
    assert planned.monthly_saving is not None and planned.monthly_saving.amount > 0
    assert "24 h cooldown" in (planned.means or "")
    assert 0 == boxes["vobiz"].received["release"] and [] == boxes["vobiz"].releases


def test_more_numbers_than_the_maximum_is_refused_before_anything_is_read() -> None:
    boxes, providers = _accounts()
    numbers = [_owned(boxes["vobiz"], i) for i in range(4)]

    with pytest.raises(ConfigurationError, match="more than the maximum of 3"):
        _release(providers, numbers, max_count=3)
    assert 0 == boxes["vobiz"].received["owned"]


def test_the_cooldown_release_then_its_undo(fresh_ledger: str, tmp_path: Path) -> None:
    """Vobiz's default: pending_release with the fee; --undo restores it and reports the refund; the ledger and
    the audit log say the same as the vendor."""
    boxes, providers = _accounts()
    vobiz = boxes["vobiz"]
    mine = _owned(vobiz, 0)
    audit = tmp_path / "audit.jsonl"

    first = _release(
        providers, [mine, NOT_OWNED], dry_run=False, ledger=fresh_ledger, audit_log=audit, idempotency_key="k"
    )

    assert ReleaseStatus.PARTIAL is first.status
    row = first.results[0]
    assert ReleaseOutcome.PENDING_RELEASE is row.outcome
    assert row.effective_at is not None and row.undo_until == row.effective_at
    assert row.fee is not None and row.fee == row.monthly_saving
    assert [{"e164": mine, "state": "pending_release", "fault": None}] == vobiz.releases
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [("pending", mine), ("pending_release", mine)] == [(x["outcome"], x["e164"]) for x in lines]
    with open_ledger(fresh_ledger) as ledger:
        [attempt] = ledger.releases(intent="release:k")
    assert (ReleaseState.PENDING_RELEASE, mine) == (attempt.state, attempt.e164)
    assert attempt.undo_until == row.undo_until

    again = _release(_accounts()[1], [mine, NOT_OWNED], dry_run=False, ledger=fresh_ledger, idempotency_key="k")
    assert again.replayed and 1 == len(vobiz.releases)

    providers = in_process_providers({"vobiz": vobiz})
    undone = _release(providers, [mine], undo=True, dry_run=False, ledger=fresh_ledger)

    assert ReleaseStatus.COMPLETE is undone.status
    assert ReleaseOutcome.RESTORED is undone.results[0].outcome
    assert undone.results[0].fee == row.fee
    assert "active" == vobiz.releases[-1]["state"]
    assert "active" == next(n for n in vobiz.options["owned"] if n["e164"] == mine)["status"]


@pytest.mark.parametrize("answer", ["sdk", "message", "no_content"])
def test_every_documented_answer_of_an_immediate_release(fresh_ledger: str, answer: str) -> None:
    """--immediate (the SDK's body), the docs' 200-with-a-message and their 204: released, and the list agrees."""
    boxes, providers = _accounts(release_answer=answer)
    vobiz = boxes["vobiz"]
    mine = _owned(vobiz, 1)

    result = _release(providers, [mine], dry_run=False, ledger=fresh_ledger, immediate=True)

    assert (ReleaseStatus.COMPLETE, ReleaseOutcome.RELEASED) == (result.status, result.results[0].outcome)
    assert [mine] == [r["e164"] for r in vobiz.releases]
    plan = _release(in_process_providers({"vobiz": vobiz}), [mine])
    assert ReleaseOutcome.NOT_OWNED is plan.results[0].outcome


def test_a_200_that_says_failure_is_a_refusal(fresh_ledger: str) -> None:
    boxes, providers = _accounts(release_answer="failure")
    mine = _owned(boxes["vobiz"], 0)

    result = _release(providers, [mine], dry_run=False, ledger=fresh_ledger)

    row = result.results[0]
    assert (ReleaseStatus.FAILED, ReleaseOutcome.REFUSED) == (result.status, row.outcome)
    assert "release could not be processed" in (row.reason or "")
    assert [] == boxes["vobiz"].releases
    with open_ledger(fresh_ledger) as ledger:
        assert [ReleaseState.REFUSED] == [r.state for r in ledger.releases()]


def test_identitycall_cannot_release_so_nothing_is_sent(fresh_ledger: str) -> None:
    boxes, providers = _accounts()
    theirs = boxes["identitycall"].options["owned"][0]
    number = theirs["phone_number"] if "phone_number" in theirs else theirs["e164"]

    result = _release(providers, [number], dry_run=False, ledger=fresh_ledger)

    row = result.results[0]
    assert (ReleaseOutcome.REFUSED, "identitycall") == (row.outcome, row.provider)
    assert "unsupported" in (row.reason or "")
    assert 1 == ReleaseStatus.FAILED.value.count("failed") and ReleaseStatus.FAILED is result.status
    with open_ledger(fresh_ledger) as ledger:
        assert [] == ledger.releases()


def test_commit_then_503_with_a_lagging_list_is_unknown_then_settled_by_a_rerun(fresh_ledger: str) -> None:
    """The vendor commits, answers 503, and its list lags: within the confirm window the outcome is unknown
    (exit 4 on the command line); a rerun with the key, once the list shows it, settles it without resending."""
    boxes, providers = _accounts(faults=Faults(commit_then_503=1.0, release_list_lag_seconds=1.5))
    vobiz = boxes["vobiz"]
    mine = _owned(vobiz, 2)

    first = _release(providers, [mine], dry_run=False, ledger=fresh_ledger, idempotency_key="lag", confirm_window=0.3)

    assert (ReleaseStatus.UNKNOWN, ReleaseOutcome.UNKNOWN) == (first.status, first.results[0].outcome)
    assert [("pending_release", "commit_then_503")] == [(r["state"], r["fault"]) for r in vobiz.releases]

    anyio.run(anyio.sleep, 1.6)
    vobiz.faults = Faults()
    second = _release(
        in_process_providers({"vobiz": vobiz}), [mine], dry_run=False, ledger=fresh_ledger, idempotency_key="lag"
    )

    assert (ReleaseStatus.COMPLETE, ReleaseOutcome.PENDING_RELEASE) == (second.status, second.results[0].outcome)
    assert 1 == len(vobiz.releases) and 1 == vobiz.received["release"]
    with open_ledger(fresh_ledger) as ledger:
        [attempt] = ledger.releases(intent="release:lag")
    assert ReleaseState.PENDING_RELEASE is attempt.state
    assert "recovered by run" in (attempt.reason or "")


def test_commit_then_503_is_confirmed_by_the_list_within_the_window(fresh_ledger: str) -> None:
    boxes, providers = _accounts(faults=Faults(commit_then_503=1.0), release_answer="no_content")
    vobiz = boxes["vobiz"]
    mine = _owned(vobiz, 3)

    result = _release(providers, [mine], dry_run=False, ledger=fresh_ledger, confirm_window=2)

    row = result.results[0]
    assert (ReleaseOutcome.RELEASED, 1) == (row.outcome, len(vobiz.releases))
    assert "the owned list then showed it released" in (row.reason or "")


def test_plivo_gives_a_number_back_at_once(fresh_ledger: str) -> None:
    """Plivo's DELETE answers 204: released at once, and its owned list no longer shows the number."""
    boxes = create_sandboxes(["plivo"], owned=6)
    plivo = boxes["plivo"]
    active = [digits for digits, entry in plivo.options["owned"].items() if entry.get("active") is True]
    number = "+" + active[0]

    result = _release(in_process_providers(boxes), [number], dry_run=False, ledger=fresh_ledger)

    row = result.results[0]
    assert (ReleaseStatus.COMPLETE, ReleaseOutcome.RELEASED) == (result.status, row.outcome)
    assert row.release is not None and "immediate" == row.release.value
    assert [(number, "released")] == [(r["e164"], r["state"]) for r in plivo.releases]
    after = _release(in_process_providers(boxes), [number])
    assert ReleaseOutcome.NOT_OWNED is after.results[0].outcome


def _move(providers: list[Provider], numbers: list[str], **options: Any) -> Any:
    return _release(providers, numbers, call=move_numbers, **options)


def test_a_sub_account_move_its_cool_off_and_force(fresh_ledger: str, tmp_path: Path) -> None:
    """Assign moves a parent-pool number; a recently called number's move back is refused for its cool-off
    (nothing changes) until --force, which is sent only when given and noted in the ledger and the audit log."""
    boxes = create_sandboxes(["vobiz"], owned=12)
    vobiz = boxes["vobiz"]
    owned = vobiz.options["owned"]
    parent, called, quiet = owned[0]["e164"], owned[6]["e164"], owned[7]["e164"]
    audit = tmp_path / "audit.jsonl"

    plan = _move(in_process_providers(boxes), [parent], sub_account=SUB)
    assert (ReleaseOutcome.PLANNED, []) == (plan.results[0].outcome, vobiz.options["moves"])

    assigned = _move(in_process_providers(boxes), [parent], sub_account=SUB, dry_run=False, ledger=fresh_ledger)
    back = _move(
        in_process_providers(boxes),
        [called, quiet],
        sub_account=None,
        dry_run=False,
        ledger=fresh_ledger,
        audit_log=audit,
    )

    assert (ReleaseStatus.COMPLETE, ReleaseOutcome.MOVED) == (assigned.status, assigned.results[0].outcome)
    assert ReleaseStatus.PARTIAL is back.status
    cooling, moved = back.results
    assert (ReleaseOutcome.COOL_OFF, ReleaseOutcome.MOVED) == (cooling.outcome, moved.outcome)
    assert cooling.effective_at is not None and "cool-off runs until" in (cooling.reason or "")
    assert [(parent, SUB, False), (quiet, DEFAULT_AUTH_ID, False)] == [
        (m["e164"], m["to"], m["force"]) for m in vobiz.options["moves"]
    ]

    forced = _move(
        in_process_providers(boxes), [called], sub_account=None, force=True, dry_run=False, ledger=fresh_ledger,
        audit_log=audit,
    )  # fmt: skip

    assert ReleaseOutcome.MOVED is forced.results[0].outcome
    assert (called, DEFAULT_AUTH_ID, True) == tuple(vobiz.options["moves"][-1].values())
    with open_ledger(fresh_ledger) as ledger:
        states = [(r.e164, r.action.value, r.state, r.note) for r in ledger.releases()]
    assert [
        (parent, "assign", ReleaseState.MOVED, f"to={SUB}"),
        (called, "unassign", ReleaseState.COOL_OFF, "to=parent"),
        (quiet, "unassign", ReleaseState.MOVED, "to=parent"),
        (called, "unassign", ReleaseState.MOVED, "to=parent; force"),
    ] == states
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    by_run: dict[str, list[tuple[str, str, bool]]] = {x["run_id"]: [] for x in lines}
    for line in lines:
        by_run[line["run_id"]].append((line["e164"], line["outcome"], line["force"]))
    assert [
        [(called, "pending", False), (called, "cool_off", False), (quiet, "pending", False), (quiet, "moved", False)],
        [(called, "pending", True), (called, "moved", True)],
    ] == list(by_run.values())


def test_force_is_for_a_move_back_only() -> None:
    with pytest.raises(ConfigurationError, match="force"):
        _move([], ["+442071516460"], sub_account="SA_X", force=True)


def test_a_finished_key_replays_only_for_the_same_numbers(fresh_ledger: str) -> None:
    boxes, providers = _accounts()
    vobiz = boxes["vobiz"]
    first, second = _owned(vobiz, 0), _owned(vobiz, 1)
    _release(providers, [first], dry_run=False, ledger=fresh_ledger, idempotency_key="once")

    with pytest.raises(ConfigurationError, match="finished intent for other numbers"):
        _release(
            in_process_providers({"vobiz": vobiz}), [second], dry_run=False, ledger=fresh_ledger, idempotency_key="once"
        )
    assert [first] == [r["e164"] for r in vobiz.releases]


def test_birds_pending_release_is_dated_by_its_paid_period_whichever_way_it_is_learned(fresh_ledger: str) -> None:
    """The cancel's answer, the owned list after a lost answer, and a plan of a number already cancelled all say
    ``effective_at`` = the subscription's ``endAt`` (billed until then), and no undo: Bird documents none."""
    boxes = create_sandboxes(["bird"], owned=9)
    bird = boxes["bird"]
    ends = {n["number"]: n["endpointSubscription"]["endAt"] for n in bird.options["owned"]}
    active = [n["number"] for n in bird.options["owned"] if n["status"] == "active"]
    cancelled = next(n["number"] for n in bird.options["owned"] if n["endpointSubscription"]["canceledAt"])
    answered, lost = [n for n in active if n != cancelled][:2]

    first = _release(in_process_providers(boxes), [answered], dry_run=False, ledger=fresh_ledger)
    bird.faults = Faults(commit_then_503=1.0)
    second = _release(in_process_providers(boxes), [lost], dry_run=False, ledger=fresh_ledger, confirm_window=5)
    plan = _release(in_process_providers(boxes), [cancelled])

    rows = [first.results[0], second.results[0], plan.results[0]]
    assert [ReleaseOutcome.PENDING_RELEASE] * 3 == [r.outcome for r in rows]
    assert [ends[answered], ends[lost], ends[cancelled]] == [
        r.effective_at.isoformat().replace("+00:00", ".000Z") if r.effective_at else None for r in rows
    ]
    assert [None] * 3 == [r.undo_until for r in rows]
    assert [(answered, "pending_release", None), (lost, "pending_release", "commit_then_503")] == [
        (r["e164"], r["state"], r["fault"]) for r in bird.releases
    ]
    with open_ledger(fresh_ledger) as ledger:
        recorded = {a.e164: (a.state, a.effective_at, a.undo_until) for a in ledger.releases()}
    sent = zip((answered, lost), rows[:2], strict=True)
    assert {e164: (ReleaseState.PENDING_RELEASE, r.effective_at, None) for e164, r in sent} == recorded
