"""Real processes on one account: the operator's scenarios, each ending with the account owning what was asked.

The sandboxes run in a server process of their own (``numbroker.testing.processes``), so what the
account owns outlives every command-line run; each run is ``python -m numbroker buy-cheapest`` in a
process of its own, buying from Vobiz. On SQLite the runs are one user on one host: one data directory
and working directory, and the ledger is the default file in that data directory (no configuration).
On PostgreSQL each run is a host of its own: its own data directory and working directory, and the
database is the only thing the runs share.

In every case the account owns what the intents asked for and never more (read from the sandbox's
inspection endpoint), the spend limit holds, and the exit code and the JSON say what happened. Every
wait is on observable state (the server's counters, the owned list) with a deadline.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import shutil
import signal
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from numbroker.ledger import AttemptState, LedgerAttempt, open_ledger
from numbroker.sandbox import Faults
from numbroker.testing.processes import CliResult, CliRun, SandboxServer, run_cli, signal_at_purchase, start_cli
from numbroker.testing.processes import start_sandbox_server as start_server

VENDOR = "vobiz"
CAPS = ("--max-monthly", "2 USD", "--max-first-bill", "3 USD")
EXIT_FOR_STATUS = {"complete": 0, "short": 3, "none": 1, "unknown": 4}


@dataclasses.dataclass
class Run:
    """How one ``buy-cheapest`` process ended, and what its JSON says."""

    result: CliResult

    @property
    def code(self) -> int:
        return self.result.returncode

    @property
    def stderr(self) -> str:
        return self.result.stderr

    @property
    def doc(self) -> dict[str, Any]:
        assert self.result.stdout.strip(), f"no JSON (exit {self.code}): {self.stderr[-2000:]}"
        doc: dict[str, Any] = self.result.json()
        return doc

    @property
    def bought(self) -> set[str]:
        return {a["e164"] for a in self.doc["bought"]}

    def state_of(self, key: str) -> list[str]:
        return [n["state"] for n in self.doc[key]]


@dataclasses.dataclass
class Account:
    """One Vobiz sandbox account served by a server process, the ledger its runs share, and how to run."""

    server: SandboxServer
    engine: str
    ledger: str
    """The ledger's path (SQLite: the default file in the shared data directory) or its URL."""
    workdir: Path
    spend_limit: Decimal
    hosts: Iterator[int] = dataclasses.field(default_factory=itertools.count)

    def place(self) -> tuple[dict[str, str], Path]:
        """A run's environment and working directory: one host on SQLite; a fresh host each on PostgreSQL."""
        base = {k: v for k, v in os.environ.items() if k != "NUMBROKER_LEDGER"}
        if self.engine == "sqlite":  # one user on one host: the default ledger in the shared data directory
            return self.server.client_env(base, data_dir=self.workdir / "data"), self.workdir
        home = self.workdir / f"host-{next(self.hosts)}"
        home.mkdir()
        env = self.server.client_env(base, data_dir=home / "data", HOME=str(home), NUMBROKER_LEDGER=self.ledger)
        return env, home

    def args(self, *extra: str) -> list[str]:
        return ["buy-cheapest", "--provider", VENDOR, "--country", "US", *CAPS, "--yes", "--format", "json",
                "--confirm-delay", "0.2", "--spend-limit", f"{self.spend_limit} USD", *extra]  # fmt: skip

    def start(self, *extra: str) -> CliRun:
        env, cwd = self.place()
        return start_cli(self.args(*extra), env=env, cwd=cwd)

    def run(self, *extra: str, file_size_limit: int | None = None) -> Run:
        env, cwd = self.place()
        return Run(run_cli(self.args(*extra), env=env, cwd=cwd, file_size_limit=file_size_limit))

    def signalled(self, sig: int, *extra: str) -> Run:
        """A run sent ``sig`` once its purchase request has reached the sandbox."""
        env, cwd = self.place()
        return Run(signal_at_purchase(self.server, self.args(*extra), env=env, cwd=cwd, sig=sig, provider=VENDOR))

    def faults(self, **knobs: Any) -> None:
        self.server.set_faults(Faults.from_json(knobs), provider=VENDOR)

    def owned(self) -> list[str]:
        """What the account owns at the vendor, listed yet or not."""
        return self.server.owned()[VENDOR]

    def charged(self) -> Decimal:
        """What the vendor charged the account: the first bills (setup + first month) of its purchases."""
        state = self.server.state(VENDOR)
        return sum((Decimal(p["upfront"] or 0) + Decimal(p["monthly"] or 0) for p in state["purchases"]), Decimal(0))

    def purchase_requests(self) -> dict[str, int]:
        return self.server.purchase_requests(VENDOR)

    def attempts(self) -> list[LedgerAttempt]:
        with open_ledger(self.ledger) as ledger:
            return ledger.attempts()

    def check(self, asked: int, *runs: Run) -> None:
        """The account owns at most ``asked`` numbers, each once, within the spend limit, and each run told the
        truth: its exit code is its status's, no traceback, and what it says it bought the account owns."""
        owned = self.owned()
        assert len(owned) == len(set(owned)) <= asked, owned
        assert self.charged() <= self.spend_limit
        assert len(self.server.state(VENDOR)["purchases"]) == len(owned)  # never the same number twice
        for run in runs:
            assert "Traceback" not in run.stderr, run.stderr
            assert EXIT_FOR_STATUS[run.doc["status"]] == run.code, run.stderr
            assert run.bought <= set(owned)
            spent = sum((Decimal(a["first_bill"]["amount"]) for a in run.doc["bought"]), Decimal(0))
            assert spent == Decimal(run.doc["spent"]["amount"])

    def check_ledger(self) -> None:
        """The ledger holds as bought exactly what the account owns, and nothing is left unresolved."""
        attempts = self.attempts()
        assert not [a for a in attempts if a.unresolved]
        assert sorted(a.e164 for a in attempts if a.state is AttemptState.BOUGHT) == sorted(self.owned())


@pytest.fixture
def account(fresh_ledger: str, tmp_path: Path) -> Iterator[Account]:
    """A fresh sandbox server process, and a fresh ledger on each engine."""
    engine = "postgresql" if fresh_ledger.startswith("postgresql://") else "sqlite"
    # SQLite: the default ledger, where platformdirs puts it on Linux ($XDG_DATA_HOME/numbroker).
    ledger = fresh_ledger if engine == "postgresql" else str(tmp_path / "data" / "numbroker" / "ledger.sqlite3")
    with start_server(stderr_path=tmp_path / "server.log") as server:
        yield Account(server, engine, ledger, tmp_path, spend_limit=Decimal(5))


def wait_for_abandoned(account: Account, count: int = 1) -> None:
    """Wait until the sandbox has seen ``count`` purchase clients go away mid-request."""
    account.server.wait_until(
        lambda states: states[VENDOR]["requests"]["purchase"]["abandoned"] >= count,
        "the sandbox to see the signalled run's connection close",
    )


# -- concurrent runs on one account ------------------------------------------------------------------


def test_concurrent_runs_with_one_key_buy_the_intent_once(account: Account) -> None:
    """Five runs at once, one key, two numbers: the account owns two; every run reports those two, exit 0."""
    starting = [account.start("--quantity", "2", "--idempotency-key", "fleet-1") for _ in range(5)]
    runs = [Run(run.wait()) for run in starting]

    account.check(2, *runs)
    assert 2 == len(account.owned())
    for run in runs:
        assert (0, "complete") == (run.code, run.doc["status"]), run.stderr
        assert set(account.owned()) == run.bought | {n["e164"] for n in run.doc["earlier_bought"]}
    assert 1 == sum(not run.doc["replayed"] for run in runs)
    assert {"received": 2, "answered": 2, "abandoned": 0} == account.purchase_requests()
    account.check_ledger()
    if account.engine == "sqlite":
        assert Path(account.ledger).is_file()  # the default ledger, found with no configuration


def test_concurrent_runs_with_different_keys_keep_one_spend_limit(account: Account) -> None:
    """Five runs at once, two numbers each, one 2 USD daily limit on the account: never over it, all true."""
    account.spend_limit = Decimal(2)
    starting = [account.start("--quantity", "2", "--idempotency-key", f"job-{n}") for n in range(5)]
    runs = [Run(run.wait()) for run in starting]

    account.check(10, *runs)
    bought = [e164 for run in runs for e164 in run.bought]
    assert len(bought) == len(set(bought))  # never the same number twice
    assert sorted(bought) == sorted(account.owned())
    assert {"complete", "short", "none"} >= {run.doc["status"] for run in runs}
    assert all(len(run.bought) <= 2 for run in runs)
    stopped = [e for run in runs for e in run.doc["plan"] if e["decision"] == "over_spend_limit"]
    assert stopped, "the limit never had to stop a purchase"
    account.check_ledger()


def test_a_run_waits_for_the_account_then_names_the_holder(account: Account) -> None:
    """While one run is buying (its purchase held by the vendor), another searches, waits at most --run-timeout
    for the account, then exits 1 naming the holder; nothing was bought twice."""
    account.faults(hold_purchase_seconds=600)
    with account.start("--quantity", "1", "--idempotency-key", "first") as holder:
        account.server.wait_for_purchases(1, provider=VENDOR, run=holder)
        second = account.run("--quantity", "1", "--run-timeout", "1")
        assert 1 == second.code, second.stderr
        assert "nothing was bought" in second.stderr and f"pid {holder.pid}," in second.stderr, second.stderr
        assert "Traceback" not in second.stderr
        holder.send_signal(signal.SIGTERM)
        first = holder.wait()

    assert 4 == first.returncode, first.stderr
    assert 1 == len(account.owned()) == account.purchase_requests()["received"]
    assert [AttemptState.UNKNOWN] == [a.state for a in account.attempts()]


# -- killed right after the purchase request was sent ---------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL], ids=["TERM", "HUP", "KILL"])
def test_a_run_killed_before_the_vendor_committed_is_released_by_the_rerun(account: Account, sig: int) -> None:
    """Killed while the vendor holds its request, uncommitted: SIGTERM/SIGHUP exit 4 naming the attempt
    (recorded unknown), SIGKILL leaves it pending; the rerun finds it not owned, releases it, buys one."""
    account.faults(hold_purchase_seconds=600, hold_purchase_commit="unless_gone")
    audit = account.workdir / "killed-audit.jsonl"
    killed = account.signalled(
        sig, "--quantity", "1", "--idempotency-key", "nightly", "--confirm-window", "0.4", "--audit-log", str(audit)
    )
    wait_for_abandoned(account)

    (attempt,) = account.attempts()
    logged = [json.loads(line)["outcome"] for line in audit.read_text(encoding="utf-8").splitlines()]
    if sig == signal.SIGKILL:
        assert -signal.SIGKILL == killed.code
        assert AttemptState.PENDING is attempt.state
        assert ["pending"] == logged
    else:
        assert 4 == killed.code, killed.stderr
        assert "in flight" in killed.stderr and f"attempt {attempt.id}: {attempt.e164}" in killed.stderr
        assert "Traceback" not in killed.stderr
        assert AttemptState.UNKNOWN is attempt.state
        assert ["pending", "unknown"] == logged
        assert ("unknown", [attempt.id]) == (killed.doc["status"], [n["id"] for n in killed.doc["unresolved"]])
    assert [] == account.owned()

    account.faults()
    rerun = account.run(
        "--quantity", "1", "--idempotency-key", "nightly", "--confirm-window", "0.4", "--audit-log", str(audit)
    )  # fmt: skip

    account.check(1, rerun)
    assert (0, "complete") == (rerun.code, rerun.doc["status"]), rerun.stderr
    assert 1 == len(account.owned()) and rerun.bought == set(account.owned())
    assert ["released"] == rerun.state_of("recovered")
    assert "bought 1 of 1" in rerun.stderr
    lines = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    (settled,) = [line for line in lines if line.get("recovery")]
    assert (attempt.id, attempt.run_id, "released") == (
        settled["ledger_id"],
        settled["settles_run"],
        settled["outcome"],
    )
    account.check_ledger()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
def test_a_run_killed_after_the_vendor_committed_is_counted_by_the_rerun(account: Account, sig: int) -> None:
    """The vendor committed and holds its answer; the run is killed: the rerun finds it owned, counts it toward
    the intent and buys nothing more."""
    account.faults(hold_purchase_seconds=600, hold_purchase_commit="before")
    killed = account.signalled(sig, "--quantity", "1", "--idempotency-key", "nightly")
    wait_for_abandoned(account)
    assert (4 if sig == signal.SIGTERM else -signal.SIGKILL) == killed.code, killed.stderr
    assert 1 == len(account.owned())
    assert [AttemptState.UNKNOWN if sig == signal.SIGTERM else AttemptState.PENDING] == [
        a.state for a in account.attempts()
    ]

    account.faults()
    rerun = account.run("--quantity", "1", "--idempotency-key", "nightly")

    account.check(1, rerun)
    assert (0, "complete") == (rerun.code, rerun.doc["status"]), rerun.stderr
    assert set() == rerun.bought
    assert ["bought"] == rerun.state_of("recovered")
    assert set(account.owned()) == {n["e164"] for n in rerun.doc["recovered"]}
    assert 1 == account.purchase_requests()["received"]
    account.check_ledger()


# -- vendors that commit and say otherwise, or never finish answering ------------------------------------

LAG = 15.0
"""Seconds the owned list lags behind a commit: longer than a run's start-up on a loaded machine."""


def test_commit_then_503_with_a_lagging_owned_list_never_buys_more_than_asked(account: Account) -> None:
    """Every purchase commits then answers 503, the owned list lags: quantity 1 owns one, whatever reruns."""
    account.faults(commit_then_503=1.0, owned_list_lag_seconds=LAG)
    args = ("--quantity", "1", "--budget", "0.60 USD", "--idempotency-key", "k", "--confirm-window", "60")

    first = account.run(*args)

    account.check(1, first)
    assert 4 == first.code  # bought? the owned list does not say yet
    assert ["ambiguous"] == [a["outcome"] for a in first.doc["attempts"]]
    assert ["ambiguous"] == first.state_of("unresolved")
    early = account.run(*args)  # within the lag: it still cannot tell, so it buys nothing
    assert [False] == [n["listed"] for n in account.server.state(VENDOR)["owned"]], "the lag passed too soon"
    account.check(1, early)
    assert 4 == early.code and [] == early.doc["attempts"]
    assert 1 == account.purchase_requests()["received"]

    account.server.wait_until(lambda states: all(n["listed"] for n in states[VENDOR]["owned"]), "the lag to pass")
    later = account.run(*args)

    account.check(1, later)
    assert (0, "complete") == (later.code, later.doc["status"]), later.stderr
    assert ["bought"] == later.state_of("recovered")
    assert 1 == len(account.owned()) == account.purchase_requests()["received"]
    account.check_ledger()


def test_a_dripping_purchase_answer_is_cut_at_its_deadline_and_confirmed(account: Account) -> None:
    """The purchase answer drips a byte every 5 s: the 2 s purchase deadline cuts it; the owned list confirms it."""
    account.faults(drip_seconds=5.0, drip_endpoints=["purchase"])

    run = account.run("--quantity", "1", "--purchase-timeout", "2", "--timeout", "10")

    account.check(1, run)
    assert (0, "complete") == (run.code, run.doc["status"]), run.stderr
    (attempt,) = run.doc["attempts"]
    assert "confirmed_owned" == attempt["outcome"] and "deadline" in attempt["reason"]
    assert 1 == len(account.owned())
    account.check_ledger()


def test_an_owned_list_that_never_answers_is_cut_at_its_deadline(account: Account) -> None:
    """Commit then 503, and the owned list never answers: each check gives up at its deadline, exit 4 naming the
    attempt, and a rerun buys nothing; once the list answers, the rerun counts the number and finishes."""
    account.faults(commit_then_503=1.0, owned_list_stall=float("inf"))
    args = ("--quantity", "1", "--idempotency-key", "k", "--purchase-timeout", "2", "--timeout", "10")

    run = account.run(*args)

    account.check(1, run)
    assert 4 == run.code
    assert "owned numbers were not read within" in run.doc["attempts"][0]["reason"]
    assert ["unknown"] == run.state_of("unresolved")
    stuck = account.run(*args)
    account.check(1, stuck)
    assert 4 == stuck.code and [] == stuck.doc["attempts"]
    assert "owned numbers were not read within" in stuck.doc["unresolved"][0]["reason"]
    assert 1 == len(account.owned()) == account.purchase_requests()["received"]

    account.faults()
    settled = account.run(*args)

    account.check(1, settled)
    assert (0, "complete") == (settled.code, settled.doc["status"]), settled.stderr
    assert ["bought"] == settled.state_of("recovered")
    account.check_ledger()


# -- a full disk ---------------------------------------------------------------------------------------


def test_a_full_disk_mid_run_leaves_a_true_result_and_no_glued_line(account: Account) -> None:
    """The audit log hits the file-size limit after a few lines: no traceback, true JSON and exit code; the
    next run's lines start on a line of their own."""
    limit = 4 * 1024 * 1024
    audit = account.workdir / "audit.jsonl"
    filler = '{"filler":"' + "x" * 200 + '"}\n'
    audit.write_text(filler * ((limit - 1300) // len(filler)), encoding="utf-8")

    run = account.run("--quantity", "5", "--audit-log", str(audit), file_size_limit=limit)

    account.check(5, run)
    assert run.bought == set(account.owned())
    assert 0 < len(account.owned()) < 5
    assert any("audit log could not be written" in n for n in run.doc["notes"])
    account.check_ledger()

    rerun = account.run("--quantity", "1", "--audit-log", str(audit))
    account.check(6, rerun)
    tail = audit.read_text(encoding="utf-8").split("\n")[-3:]
    assert "" == tail[-1]
    assert all(json.loads(line)["run_id"] == rerun.doc["run_id"] for line in tail[:-1])
    account.check_ledger()


def test_an_audit_log_that_cannot_be_written_at_all_is_a_true_bought_nothing(account: Account) -> None:
    """--audit-log /dev/full: no purchase request is sent, exit 1 with true JSON saying why."""
    run = account.run("--quantity", "1", "--audit-log", "/dev/full")

    account.check(0, run)
    assert (1, "none") == (run.code, run.doc["status"]), run.stderr
    assert any("audit log could not be written" in n for n in run.doc["notes"])
    assert 0 == account.purchase_requests()["received"]
    assert {AttemptState.RELEASED} >= {a.state for a in account.attempts()}


# -- a fleet: what every run sharing the ledger must hold to, however it reaches it --------------------


def _charged(server: SandboxServer, provider: str) -> Decimal:
    state = server.state(provider)
    return sum((Decimal(p["upfront"] or 0) + Decimal(p["monthly"] or 0) for p in state["purchases"]), Decimal(0))


@pytest.mark.parametrize("split", ["disjoint", "flaky"])
def test_two_runs_with_one_key_buy_the_intent_once(account: Account, split: str) -> None:
    """One key, quantity 2, a 0.50 USD budget, runs started together (a cron overlap): each buys at Vobiz or
    IdentityCall alone (disjoint), or searches both with one of them failing (flaky: its credential refused).
    The two vendors' own records together hold at most 2 numbers within the budget."""
    key = ("--quantity", "2", "--budget", "0.50 USD", "--idempotency-key", "nightly-2026-12-07")
    starting = []
    for provider in ("vobiz", "identitycall", "vobiz", "identitycall"):
        env, cwd = account.place()
        chosen = ["--provider", provider]
        if split == "flaky":  # both providers, the other one's search refused in this run
            chosen = ["--provider", "vobiz", "--provider", "identitycall"]
            if provider == "vobiz":
                env["IDENTITYCALL_API_KEY"] = "ic_refused_" + "x" * 24
            else:
                env["VOBIZ_AUTH_TOKEN"] = "refused-" + "x" * 24
        args = ["buy-cheapest", *chosen, "--country", "US", *CAPS, "--yes", "--format", "json",
                "--confirm-delay", "0.2", *key]  # fmt: skip
        starting.append(start_cli(args, env=env, cwd=cwd))
    runs = [Run(run.wait()) for run in starting]
    if split == "flaky":
        assert all(run.doc["search_status"] == "partial" for run in runs), [r.doc["search_status"] for r in runs]

    sold = [p for pid in ("vobiz", "identitycall") for p in account.server.state(pid)["purchases"]]
    assert len(sold) <= 2, sold
    assert _charged(account.server, "vobiz") + _charged(account.server, "identitycall") <= Decimal("0.50")
    for run in runs:
        assert "Traceback" not in run.stderr, run.stderr
        assert EXIT_FOR_STATUS[run.doc["status"]] == run.code, run.stderr
    complete = [run for run in runs if run.doc["status"] == "complete"]
    for run in complete:  # a complete run says which numbers the intent holds: exactly what the vendors sold
        held = run.bought | {n["e164"] for n in run.doc["earlier_bought"]}
        assert held == {p["e164"] for p in sold}


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_one_sqlite_ledger_reached_by_two_names_is_one_lock(account: Account, link: str) -> None:
    """Runs name one SQLite ledger by its path and by a symlink or a hard link: one spend limit holds."""
    if account.engine != "sqlite":
        pytest.skip("a SQLite ledger's file names")
    account.spend_limit = Decimal("0.40")
    real = account.workdir / "shared" / "ledger.sqlite3"
    real.parent.mkdir()
    init = run_cli(["ledger", "init", str(real)], env=account.place()[0], cwd=account.workdir)
    assert 0 == init.returncode, init.stderr
    other = account.workdir / "other-name.sqlite3"
    if link == "symlink":
        other.symlink_to(real)
    else:
        os.link(real, other)
    starting = [account.start("--quantity", "4", "--idempotency-key", f"job-{n}", "--ledger", str(where))
                for n, where in enumerate([real, other, real, other])]  # fmt: skip
    runs = [Run(run.wait()) for run in starting]

    account.check(16, *runs)
    assert account.charged() <= Decimal("0.40")
    bought = [e164 for run in runs for e164 in run.bought]
    assert sorted(bought) == sorted(account.owned())


def test_a_run_with_its_clock_ten_minutes_ahead_does_not_release_a_fresh_attempt(account: Account) -> None:
    """A run commits then gets a 503, the owned list lags (exit 4, ambiguous); a run on a host whose wall
    clock is 10 minutes ahead reads the attempt's age on the ledger's clock: it is fresh, so it is not
    released and nothing more is bought (exit 4); once the lag has passed a run counts it."""
    faketime = shutil.which("faketime")
    if faketime is None:
        reason = "faketime not found (Debian package faketime)"
        if os.environ.get("NUMBROKER_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    account.faults(commit_then_503=1.0, owned_list_lag_seconds=LAG)
    args = ("--quantity", "1", "--idempotency-key", "k", "--confirm-window", "60")
    first = account.run(*args)
    assert 4 == first.code, first.stderr

    env, cwd = account.place()
    env = {**env, "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    ahead = Run(run_cli([*account.args(*args)], env=env, cwd=cwd, prefix=[faketime, "-f", "+10m"]))

    account.check(1, first, ahead)
    assert 4 == ahead.code and [] == ahead.doc["attempts"], ahead.stderr
    assert ["ambiguous"] == ahead.state_of("unresolved")
    assert 1 == account.purchase_requests()["received"]
    account.server.wait_until(lambda states: all(n["listed"] for n in states[VENDOR]["owned"]), "the lag to pass")
    later = account.run(*args)
    account.check(1, later)
    assert (0, "complete") == (later.code, later.doc["status"]), later.stderr
    account.check_ledger()


def test_a_vendor_that_sells_another_number_is_paid_once_however_often_it_is_rerun(account: Account) -> None:
    """Every purchase sells (and charges) another number than the one asked for and the owned list lags:
    the ledger records the number sold and counts it; five reruns after exit 4 buy nothing and keep the
    reason naming it; settled by hand, a rerun counts it as the intent's and finishes."""
    account.faults(sell_other_number=1.0, owned_list_lag_seconds=600)
    args = ("--quantity", "1", "--idempotency-key", "k", "--confirm-window", "60")
    first = account.run(*args)
    assert 4 == first.code, first.stderr
    (attempt,) = first.doc["attempts"]
    (owned,) = account.owned()
    assert owned == attempt["sold"] != attempt["e164"]

    for _ in range(5):
        rerun = account.run(*args)
        account.check(1, rerun)
        assert 4 == rerun.code and [] == rerun.doc["attempts"], rerun.stderr
    assert 1 == account.purchase_requests()["received"]
    (recorded,) = account.attempts()
    assert (owned, AttemptState.AMBIGUOUS) == (recorded.sold, recorded.state)
    assert owned in (recorded.reason or "")

    env, cwd = account.place()
    listed = run_cli(["ledger", "--ledger", account.ledger, "--unresolved", "--format", "json"], env=env, cwd=cwd)
    assert [(recorded.id, owned)] == [(a["id"], a["sold"]) for a in listed.json()["attempts"]]
    resolved = run_cli(
        ["ledger", "--ledger", account.ledger, "resolve", str(recorded.id), "--bought", "--note", "in the console"],
        env=env,
        cwd=cwd,
    )
    assert 0 == resolved.returncode, resolved.stderr
    later = account.run(*args)
    account.check(1, later)
    assert (0, "complete") == (later.code, later.doc["status"]), later.stderr
    assert "bought 1 of 1" in later.stderr
    (settled,) = account.attempts()
    assert (owned, AttemptState.BOUGHT) == (settled.sold, settled.state)
    assert owned in (settled.reason or "")
    assert 1 == account.purchase_requests()["received"]


def test_a_confirm_window_shorter_than_the_confirm_delays_is_refused(account: Account) -> None:
    """--confirm-window 0 with the default 2 s confirm delay and a lagging owned list: one line, exit 2,
    nothing sent to the vendor."""
    account.faults(commit_then_503=1.0, owned_list_lag_seconds=LAG)
    env, cwd = account.place()
    args = ["buy-cheapest", "--provider", VENDOR, "--country", "US", *CAPS, "--yes", "--format", "json",
            "--quantity", "1", "--confirm-window", "0"]  # fmt: skip
    refused = run_cli(args, env=env, cwd=cwd)
    assert 2 == refused.returncode, refused.stderr
    assert 1 == len(refused.stderr.strip().splitlines()) and "confirm window" in refused.stderr
    assert 0 == account.purchase_requests()["received"]


def test_one_account_spelled_three_ways_keeps_one_spend_limit(account: Account) -> None:
    """127.0.0.1, localhost and an upper-case scheme name one Vobiz account: one 0.30 USD limit holds."""
    account.spend_limit = Decimal("0.30")
    base = account.server.providers[VENDOR].base_url
    spellings = [base, base.replace("127.0.0.1", "localhost"), base.replace("http://", "HTTP://")]
    starting = []
    for n, spelling in enumerate(spellings):
        env, cwd = account.place()
        env["VOBIZ_BASE_URL"] = spelling
        starting.append(start_cli(account.args("--quantity", "3", "--idempotency-key", f"job-{n}"), env=env, cwd=cwd))
    runs = [Run(run.wait()) for run in starting]

    account.check(9, *runs)
    assert account.charged() <= Decimal("0.30")


MALFORMED = {
    "amount NaN": "UPDATE numbroker_attempts SET amount = 'NaN' WHERE id = {id}",
    "amount abc": "UPDATE numbroker_attempts SET amount = 'abc' WHERE id = {id}",
    "amount -5": "UPDATE numbroker_attempts SET amount = '-5' WHERE id = {id}",
    "unknown state": "UPDATE numbroker_attempts SET state = 'BOUGHT' WHERE id = {id}",
    "another date format": "UPDATE numbroker_attempts SET created_at = '07/12/2026 02:14' WHERE id = {id}",
}


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_a_malformed_row_stops_buying_and_is_listed(account: Account, kind: str) -> None:
    """One attempt row is spoiled: the next run buys nothing and names it (exit 1, true JSON or one line),
    and `numbroker ledger` still lists it, marked as not decoding."""
    first = account.run("--quantity", "1")
    assert 0 == first.code, first.stderr
    (attempt,) = account.attempts()
    with open_ledger(account.ledger) as ledger:
        ledger._query(MALFORMED[kind].format(id=attempt.id))

    after = account.run("--quantity", "2")

    assert 1 == after.code, after.stderr
    assert "Traceback" not in after.stderr
    assert f"attempt {attempt.id} " in after.stderr and "does not decode" in after.stderr
    assert 1 == len(account.owned()) == account.purchase_requests()["received"]
    env, cwd = account.place()
    listing = run_cli(["ledger", "--ledger", account.ledger, "--format", "json"], env=env, cwd=cwd)
    assert 0 == listing.returncode, listing.stderr
    assert [attempt.id] == [u["id"] for u in listing.json()["undecoded"]]


def _postgres_only(account: Account) -> None:
    if account.engine != "postgresql":
        pytest.skip("a PostgreSQL ledger's session")


def test_a_terminated_lock_session_stops_the_holder(account: Account) -> None:
    """The session holding the purchaser lock is terminated (a DBA, a reaper, a failover) while its run's
    purchase is in flight: that run buys nothing more; a run with the same key then settles what it left and
    the vendor's record never holds more than the intent's quantity."""
    import psycopg

    _postgres_only(account)
    account.faults(hold_purchase_seconds=2)
    args = ("--quantity", "4", "--idempotency-key", "fleet")
    with account.start(*args) as holder:
        account.server.wait_for_purchases(1, provider=VENDOR, run=holder)
        with psycopg.connect(account.ledger, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE %s",
                (f"numbroker ledger pid {holder.pid} %",),
            ).fetchall()
        assert ended, "no ledger session of the holder was found"
        first = Run(holder.wait())
    account.faults()
    second = account.run(*args)

    account.check(4, first, second)
    assert "lock" in first.stderr and "lost" in first.stderr, first.stderr
    assert first.code != 0
    assert 1 == len(first.doc["attempts"])
    assert (0, "complete") == (second.code, second.doc["status"]), second.stderr
    account.check_ledger()


def test_an_idle_session_timeout_does_not_take_the_lock(account: Account) -> None:
    """The database reaps sessions idle for 1 s; each purchase is held 2 s by the vendor: the lock's session
    is exempt (its timeouts are 0), so the run buys its quantity and holds its lock throughout."""
    import psycopg

    _postgres_only(account)
    dbname = account.ledger.rsplit("/", 1)[1]
    with psycopg.connect(account.ledger, autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE {dbname} SET idle_session_timeout = '1s'")
        admin.execute(f"ALTER DATABASE {dbname} SET idle_in_transaction_session_timeout = '1s'")
    account.faults(hold_purchase_seconds=2)
    run = account.run("--quantity", "2", "--idempotency-key", "slow")

    account.check(2, run)
    assert (0, "complete") == (run.code, run.doc["status"]), run.stderr
    assert 2 == len(account.owned())
    account.check_ledger()


@pytest.fixture
def pooled_account(pgbouncer_url: str, tmp_path: Path) -> Iterator[Account]:
    """A sandbox server process, and a PostgreSQL ledger reached through PgBouncer in transaction pooling."""
    with start_server(stderr_path=tmp_path / "server.log") as server:
        yield Account(server, "postgresql", pgbouncer_url, tmp_path, spend_limit=Decimal(5))


def test_a_transaction_mode_pooler_is_refused_and_never_buys_twice(pooled_account: Account) -> None:
    """Through PgBouncer (transaction pooling, one server session shared by every client): while one run's
    purchase is held by the vendor, another run lands on the server session that holds the first run's lock;
    it buys nothing and says, in one line, to use a direct or session-pooled connection. The first run, and a
    rerun once it is gone, keep the intent at its quantity."""
    account = pooled_account
    account.faults(hold_purchase_seconds=600, hold_purchase_commit="before")
    args = ("--quantity", "2", "--idempotency-key", "pooled")
    with account.start(*args) as holder:
        account.server.wait_for_purchases(1, provider=VENDOR, run=holder)
        second = account.run(*args)
        assert 1 == second.code, second.stderr
        assert "direct or session-pooled" in second.stderr and "Traceback" not in second.stderr, second.stderr
        assert "prepared statement" not in second.stderr
        holder.send_signal(signal.SIGTERM)
        first = Run(holder.wait())
    assert 4 == first.code, first.stderr
    assert 1 == account.purchase_requests()["received"]

    account.faults()
    rerun = account.run(*args)
    account.check(2, rerun)
    assert (0, "complete") == (rerun.code, rerun.doc["status"]), rerun.stderr
    assert 2 == len(account.owned())
    account.check_ledger()
