"""Releases in real processes against the sandbox server, on SQLite and PostgreSQL ledgers: each vendor's own kind
of release (immediate, cooldown then undo, end of period, unsupported, refused), a run killed
(SIGKILL) or stopped (SIGTERM) right after its release request reached the vendor, then rerun with the same
key; a buy and a release racing on one account. The vendor's record is the truth checked."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from numbroker.ledger import LedgerRelease, ReleaseState, open_ledger
from numbroker.sandbox import Faults
from numbroker.testing.processes import SandboxServer, run_cli, signal_at_purchase, start_cli, start_sandbox_server

HELD = Faults(hold_purchase_seconds=600)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SandboxServer]:
    with start_sandbox_server(owned=6, faults={"vobiz": HELD}, stderr_path=tmp_path / "server.log") as running:
        yield running


def _ledger(where: str) -> str:
    open_ledger(where).close()  # --ledger names an existing ledger
    return where


def _owned(server: SandboxServer, env: dict[str, str], cwd: Path) -> list[str]:
    listed = run_cli(["owned", "--provider", "vobiz", "--format", "json"], env=env, cwd=cwd)
    assert 0 == listed.returncode, listed.stderr
    return [n["e164"] for n in listed.json()["numbers"] if n["status"] == "active" and n["sub_account"] is None]


def _releases(server: SandboxServer) -> list[tuple[str, str]]:
    return [(r["e164"], r["state"]) for r in server.state("vobiz")["releases"]]


def _release_args(number: str, ledger: str, key: str) -> list[str]:
    return ["release", number, "--yes", "--provider", "vobiz", "--ledger", ledger, "--idempotency-key", key,
            "--format", "json", "--timeout", "60"]  # fmt: skip


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_run_stopped_mid_request_is_settled_by_its_rerun(
    server: SandboxServer, fresh_ledger: str, tmp_path: Path, sig: int
) -> None:
    ledger = _ledger(fresh_ledger)
    env = server.client_env(data_dir=tmp_path / "data", NUMBROKER_LEDGER=ledger)
    number = _owned(server, env, tmp_path)[0]

    stopped = signal_at_purchase(
        server, _release_args(number, ledger, "stop"), env=env, cwd=tmp_path, sig=sig, endpoint="release"
    )

    assert [(number, "pending_release")] == _releases(server)  # the vendor committed; the answer was held
    if sig == signal.SIGKILL:
        assert -signal.SIGKILL == stopped.returncode
        expected_open = ReleaseState.PENDING
    else:
        assert 4 == stopped.returncode, stopped.stderr
        assert "unknown" == json.loads(stopped.stdout)["status"]
        expected_open = ReleaseState.UNKNOWN
    with open_ledger(ledger) as book:
        assert [expected_open] == [r.state for r in book.releases()]

    server.set_faults(Faults(), provider="vobiz")
    rerun = run_cli(_release_args(number, ledger, "stop"), env=env, cwd=tmp_path)

    assert 0 == rerun.returncode, rerun.stderr
    assert "pending_release" == rerun.json()["results"][0]["outcome"]
    assert [(number, "pending_release")] == _releases(server)  # settled from the list, never sent again
    with open_ledger(ledger) as book:
        [attempt] = book.releases()
    assert ReleaseState.PENDING_RELEASE is attempt.state and "recovered by run" in (attempt.reason or "")


def test_a_buy_and_a_release_on_one_account_never_interleave(
    server: SandboxServer, fresh_ledger: str, tmp_path: Path
) -> None:
    """The buy holds the ledger's purchaser lock through its held purchase; the release waits for it."""
    ledger = _ledger(fresh_ledger)
    env = server.client_env(data_dir=tmp_path / "data", NUMBROKER_LEDGER=ledger)
    number = _owned(server, env, tmp_path)[1]
    server.set_faults(Faults(hold_purchase_seconds=2), provider="vobiz")
    buy = [
        "buy-cheapest", "--provider", "vobiz", "--country", "US", "--max-monthly", "1000 INR", "--max-first-bill",
        "1000 INR", "--yes", "--ledger", ledger, "--format", "json", "--fx-rates", str(_rates(tmp_path)),
    ]  # fmt: skip

    with start_cli(buy, env=env, cwd=tmp_path) as buying:
        server.wait_for_purchases(1, provider="vobiz", run=buying)
        released = run_cli(_release_args(number, ledger, "race"), env=env, cwd=tmp_path)
        bought = buying.wait()

    assert 0 == bought.returncode, bought.stderr
    assert 0 == released.returncode, released.stderr
    assert [(number, "pending_release")] == _releases(server)
    with open_ledger(ledger) as book:
        [purchase] = book.attempts()
        [release] = book.releases()
    assert purchase.updated_at <= release.created_at  # the buy's outcome was written before the release began


def _rates(tmp_path: Path) -> Path:
    path = tmp_path / "rates.json"
    path.write_text(json.dumps({"base": "USD", "rates": {"INR": "83", "EUR": "0.92"}}), encoding="utf-8")
    return path


def test_commit_then_503_with_a_lagging_list_exits_4_then_a_rerun_settles_it(
    server: SandboxServer, fresh_ledger: str, tmp_path: Path
) -> None:
    ledger = _ledger(fresh_ledger)
    env = server.client_env(data_dir=tmp_path / "data", NUMBROKER_LEDGER=ledger)
    number = _owned(server, env, tmp_path)[2]
    server.set_faults(Faults(commit_then_503=1.0, release_list_lag_seconds=3), provider="vobiz")

    first = run_cli([*_release_args(number, ledger, "lag"), "--confirm-window", "0.5"], env=env, cwd=tmp_path)

    assert 4 == first.returncode, first.stderr
    assert ("unknown", "unknown") == (first.json()["status"], first.json()["results"][0]["outcome"])
    assert "an outcome is unknown" in first.stderr
    assert [(number, "pending_release", "commit_then_503")] == [
        (r["e164"], r["state"], r["fault"]) for r in server.state("vobiz")["releases"]
    ]

    def shows_pending() -> bool:
        listed = run_cli(["owned", "--provider", "vobiz", "--format", "json"], env=env, cwd=tmp_path).json()
        return any(n["e164"] == number and n["status"] == "pending_release" for n in listed["numbers"])

    server.wait_until(lambda states: shows_pending(), "the owned list to catch up", timeout=60)
    server.set_faults(Faults(), provider="vobiz")
    rerun = run_cli(_release_args(number, ledger, "lag"), env=env, cwd=tmp_path)

    assert 0 == rerun.returncode, rerun.stderr
    assert "pending_release" == rerun.json()["results"][0]["outcome"]
    assert 1 == len(server.state("vobiz")["releases"])  # settled from the list, never sent twice
    assert 1 == server.purchase_requests("vobiz", endpoint="release")["received"]


# -- refusals: the vendor's own answer, through a real run; nothing changes at the vendor ----------------------


@pytest.fixture
def owning_server(tmp_path: Path) -> Iterator[SandboxServer]:
    """Every account owns numbers from the start; Vonage refuses every cancel with its 200-with-failure."""
    refusing = {"vonage": Faults(rate_release_refused=1.0)}
    with start_sandbox_server(owned=12, faults=refusing, stderr_path=tmp_path / "server.log") as running:
        yield running


def _listed(provider: str, env: dict[str, str], cwd: Path) -> list[dict[str, object]]:
    listed = run_cli(["owned", "--provider", provider, "--format", "json"], env=env, cwd=cwd)
    assert 0 == listed.returncode, listed.stderr
    numbers: list[dict[str, object]] = listed.json()["numbers"]
    return numbers


def _one_release(
    server: SandboxServer, provider: str, number: str, ledger: str, env: dict[str, str], cwd: Path, **expected: Any
) -> tuple[dict[str, Any], LedgerRelease]:
    """Release ``number`` at ``provider`` in a real run; its exit code, JSON, ledger and vendor record as expected.

    ``expected``: ``code`` (the exit code), ``status`` (the run's), ``outcome`` (the row's and the ledger's) and
    ``vendor`` (the releases the vendor committed). Returns the JSON row and the ledger's attempt.
    """
    ran = run_cli(
        ["release", number, "--yes", "--provider", provider, "--ledger", ledger, "--format", "json"], env=env, cwd=cwd
    )

    assert expected["code"] == ran.returncode, ran.stderr
    document = ran.json()
    [row] = document["results"]
    assert (expected["status"], False) == (document["status"], document["dry_run"])
    assert (number, provider, expected["outcome"]) == (row["e164"], row["provider"], row["outcome"])
    assert expected["vendor"] == [(r["e164"], r["state"]) for r in server.state(provider)["releases"]]
    assert 1 == server.purchase_requests(provider, endpoint="release")["received"]  # asked once, never again
    with open_ledger(ledger) as book:
        [attempt] = book.releases()
    assert (ReleaseState(expected["outcome"]), number, row["reason"]) == (attempt.state, attempt.e164, attempt.reason)
    return row, attempt


def _refused_run(server: SandboxServer, provider: str, number: str, ledger: str, env: dict[str, str], cwd: Path) -> str:
    """A real run refused (exit 1, nothing changed at the vendor, which still lists the number); its reason."""
    row, _ = _one_release(
        server, provider, number, ledger, env, cwd, code=1, status="failed", outcome="refused", vendor=[]
    )
    assert (None, None) == (row["effective_at"], row["undo_until"])
    assert number in [n["e164"] for n in _listed(provider, env, cwd) if n["status"] == "active"]
    reason: str = row["reason"]
    return reason


def test_vonages_200_with_failure_is_refused_and_the_number_stays(
    owning_server: SandboxServer, fresh_ledger: str, tmp_path: Path
) -> None:
    ledger = _ledger(fresh_ledger)
    env = owning_server.client_env(data_dir=tmp_path / "data", NUMBROKER_LEDGER=ledger)
    number = str(_listed("vonage", env, tmp_path)[0]["e164"])

    reason = _refused_run(owning_server, "vonage", number, ledger, env, tmp_path)

    assert reason.endswith("420: method failed")  # Vonage's error-code, read as the status it stands for


def test_twilio_gives_a_subaccounts_number_back_under_its_sid(
    owning_server: SandboxServer, fresh_ledger: str, tmp_path: Path
) -> None:
    ledger = _ledger(fresh_ledger)
    env = owning_server.client_env(data_dir=tmp_path / "data", NUMBROKER_LEDGER=ledger)
    listed = _listed("twilio", env, tmp_path)
    number = next(str(n["e164"]) for n in listed if n["sub_account"] is not None and n["status"] == "active")

    _one_release(
        owning_server, "twilio", number, ledger, env, tmp_path,
        code=0, status="complete", outcome="released", vendor=[(number, "released")],
    )  # fmt: skip

    left = [n["e164"] for n in _listed("twilio", env, tmp_path)]
    assert number not in left and len(listed) - 1 == len(left)  # exactly that one number


def test_birds_cancel_is_pending_until_the_paid_period_ends(
    owning_server: SandboxServer, fresh_ledger: str, tmp_path: Path
) -> None:
    ledger = _ledger(fresh_ledger)
    env = owning_server.client_env(data_dir=tmp_path / "data", NUMBROKER_LEDGER=ledger)
    listed = _listed("bird", env, tmp_path)
    chosen = next(n for n in listed if n["status"] == "active" and n["next_renewal"] is not None)
    number = str(chosen["e164"])

    row, attempt = _one_release(
        owning_server, "bird", number, ledger, env, tmp_path,
        code=0, status="complete", outcome="pending_release", vendor=[(number, "pending_release")],
    )  # fmt: skip

    assert str(row["effective_at"]).startswith(str(chosen["next_renewal"]))  # the paid period's end: billed until then
    assert None is row["undo_until"]
    after = {n["e164"]: n["status"] for n in _listed("bird", env, tmp_path)}
    assert "pending_release" == after[number] and len(after) == len(listed)  # still the workspace's, still billed
    assert attempt.effective_at is not None and attempt.effective_at.isoformat() == row["effective_at"]


def test_a_telnyx_deletion_locked_number_is_refused_in_telnyxs_words_and_stays(
    owning_server: SandboxServer, fresh_ledger: str, tmp_path: Path
) -> None:
    ledger = _ledger(fresh_ledger)
    env = owning_server.client_env(data_dir=tmp_path / "data", NUMBROKER_LEDGER=ledger)
    listed = _listed("telnyx", env, tmp_path)
    details = {str(n["e164"]): n["provider_details"] for n in listed if n["status"] == "active"}
    [number] = [e164 for e164, kept in details.items() if isinstance(kept, dict) and kept.get("deletion_lock_enabled")]

    reason = _refused_run(owning_server, "telnyx", number, ledger, env, tmp_path)

    assert "403" in reason and "10035 Resource locked" in reason and "deletion lock" in reason
    assert len(listed) == len(_listed("telnyx", env, tmp_path))  # nothing at all was given back


# -- each vendor's own kind of release, through a real run -------------------------------------------------------


def test_plivo_gives_a_number_back_at_once(owning_server: SandboxServer, fresh_ledger: str, tmp_path: Path) -> None:
    ledger = _ledger(fresh_ledger)
    env = owning_server.client_env(data_dir=tmp_path / "data", NUMBROKER_LEDGER=ledger)
    listed = _listed("plivo", env, tmp_path)
    number = next(str(n["e164"]) for n in listed if n["status"] == "active")

    row, attempt = _one_release(
        owning_server, "plivo", number, ledger, env, tmp_path,
        code=0, status="complete", outcome="released", vendor=[(number, "released")],
    )  # fmt: skip

    assert "immediate" == row["release"] and (None, None) == (row["undo_until"], attempt.undo_until)
    left = [n["e164"] for n in _listed("plivo", env, tmp_path)]
    assert number not in left and len(listed) - 1 == len(left)  # exactly that one number


def test_identitycall_cannot_give_numbers_back_so_nothing_is_sent(
    owning_server: SandboxServer, fresh_ledger: str, tmp_path: Path
) -> None:
    ledger = _ledger(fresh_ledger)
    env = owning_server.client_env(data_dir=tmp_path / "data", NUMBROKER_LEDGER=ledger)
    listed = _listed("identitycall", env, tmp_path)
    number = str(listed[0]["e164"])

    ran = run_cli(["release", number, "--yes", "--ledger", ledger, "--format", "json"], env=env, cwd=tmp_path)

    assert 1 == ran.returncode, ran.stderr
    [row] = ran.json()["results"]
    assert ("failed", "identitycall", "refused") == (ran.json()["status"], row["provider"], row["outcome"])
    assert "unsupported" in row["reason"]
    assert [] == owning_server.state("identitycall")["releases"]  # nothing was asked of the vendor
    with open_ledger(ledger) as book:
        assert [] == book.releases()  # and nothing was attempted
    assert listed == _listed("identitycall", env, tmp_path)


def test_vobiz_cooldown_then_undo(owning_server: SandboxServer, fresh_ledger: str, tmp_path: Path) -> None:
    ledger = _ledger(fresh_ledger)
    env = owning_server.client_env(data_dir=tmp_path / "data", NUMBROKER_LEDGER=ledger)
    listed = _listed("vobiz", env, tmp_path)
    number = next(str(n["e164"]) for n in listed if n["status"] == "active" and n["sub_account"] is None)

    row, attempt = _one_release(
        owning_server, "vobiz", number, ledger, env, tmp_path,
        code=0, status="complete", outcome="pending_release", vendor=[(number, "pending_release")],
    )  # fmt: skip
    assert row["effective_at"] is not None and row["undo_until"] == row["effective_at"]
    assert attempt.undo_until is not None and attempt.undo_until.isoformat() == row["undo_until"]

    undo = ["release", "--undo", number, "--yes", "--provider", "vobiz", "--ledger", ledger, "--format", "json"]
    undone = run_cli(undo, env=env, cwd=tmp_path)

    assert 0 == undone.returncode, undone.stderr
    [back] = undone.json()["results"]
    assert ("complete", "restored") == (undone.json()["status"], back["outcome"])
    assert "active" == owning_server.state("vobiz")["releases"][-1]["state"]
    assert "active" == {n["e164"]: n["status"] for n in _listed("vobiz", env, tmp_path)}[number]
