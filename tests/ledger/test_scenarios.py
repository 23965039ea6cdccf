"""Real processes on one account: the operator's scenarios, each ending with the account owning what was asked.

The Vobiz sandbox is served on loopback by this test process (so it outlives every command-line run);
each run is ``python -m numbroker buy-cheapest`` in a process of its own, sharing one ledger: a SQLite
file, or a PostgreSQL database (then each process also has a data directory of its own, so the database
is the only thing they share). In every case the account owns what the intents asked for and never
more, the spend limit holds, and the exit code and the JSON say what happened.

Scenarios that need a sandbox knob this checkout does not have yet are skipped, naming the knob.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from numbroker.ledger import AttemptState, LedgerAttempt, open_ledger
from numbroker.sandbox import Faults, Sandbox, create_sandboxes, serve_sandboxes

CAPS = ("--max-monthly", "2 USD", "--max-first-bill", "3 USD")
KNOBS = {f.name for f in dataclasses.fields(Faults)}
EXIT_FOR_STATUS = {"complete": 0, "short": 3, "none": 1, "unknown": 4}


def knobs(**values: Any) -> Faults:
    """Fault knobs by name (some are newer than this checkout's type hints)."""
    return Faults(**values)


def needs(*knobs: str) -> pytest.MarkDecorator:
    missing = [k for k in knobs if k not in KNOBS]
    return pytest.mark.skipif(bool(missing), reason=f"needs the sandbox knobs {', '.join(missing)} (Faults)")


@dataclasses.dataclass
class Account:
    """One Vobiz sandbox account on loopback, the ledger its runs share, and how to start a run."""

    box: Sandbox
    env: dict[str, str]
    ledger: str
    workdir: Path
    separate_data_dirs: bool

    def start(self, *args: str, preexec: Callable[[], None] | None = None, n: int = 0) -> subprocess.Popen[str]:
        env = {**self.env, "NUMBROKER_LEDGER": self.ledger}
        if self.separate_data_dirs:  # nothing shared but the PostgreSQL ledger
            home = self.workdir / f"home-{n}-{time.monotonic_ns()}"
            home.mkdir()
            env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"))
        return subprocess.Popen(
            [sys.executable, "-m", "numbroker", "buy-cheapest", "--provider", "vobiz", "--country", "US", *CAPS,
             "--yes", "--format", "json", "--confirm-delay", "0.2", *args],
            env=env, cwd=self.workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=preexec,
        )  # fmt: skip

    def run(self, *args: str, **options: Any) -> Run:
        return finish(self.start(*args, **options))

    def owned(self) -> set[str]:
        return set(self.box.owned)

    def attempts(self) -> list[LedgerAttempt]:
        with open_ledger(self.ledger) as ledger:
            return ledger.attempts()


@dataclasses.dataclass
class Run:
    code: int
    doc: dict[str, Any] | None
    stderr: str

    @property
    def bought(self) -> set[str]:
        return {a["e164"] for a in (self.doc or {}).get("bought", [])}

    def spent(self) -> Decimal:
        return sum((Decimal(a["first_bill"]["amount"]) for a in (self.doc or {}).get("bought", [])), Decimal(0))

    def check_exit_code(self) -> None:
        """The exit code is the one the JSON's status means, and nothing went to a traceback."""
        assert "Traceback" not in self.stderr, self.stderr
        assert self.doc is not None, self.stderr
        assert EXIT_FOR_STATUS[self.doc["status"]] == self.code, self.stderr


def finish(proc: subprocess.Popen[str], timeout: float = 180) -> Run:
    out, err = proc.communicate(timeout=timeout)
    try:
        doc = json.loads(out) if out.strip() else None
    except ValueError:
        doc = None
    return Run(proc.returncode, doc, err)


@pytest.fixture
def account(fresh_ledger: str, tmp_path: Path) -> Iterator[Account]:
    """A fresh Vobiz sandbox served on loopback, and a fresh ledger on each engine."""
    where, separate = fresh_ledger, fresh_ledger.startswith("postgresql://")
    boxes = create_sandboxes(["vobiz"])
    with serve_sandboxes(boxes) as urls:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VOBIZ_", "BIRD_", "IDENTITYCALL_"))}
        env.update(boxes["vobiz"].env, VOBIZ_BASE_URL=urls["vobiz"])
        yield Account(boxes["vobiz"], env, where, tmp_path, separate)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def purchase_received(box: Sandbox) -> bool:
    """A purchase request reached the sandbox (the knob's counter, else the request log)."""
    received = getattr(box, "received", None)
    if received is not None:
        return bool(received.get("purchase"))
    return any(r.endpoint == "purchase" for r in box.log)


# -- concurrent runs on one account ------------------------------------------------------------------


def test_concurrent_runs_with_one_key_buy_the_intent_once(account: Account) -> None:
    """Five runs at once, one key, two numbers: the account owns two; every run reports those two, exit 0."""
    procs = [account.start("--quantity", "2", "--idempotency-key", "fleet-1", n=n) for n in range(5)]
    runs = [finish(p) for p in procs]

    assert 2 == len(account.owned())
    for run in runs:
        run.check_exit_code()
        assert 0 == run.code
        assert account.owned() == run.bought | {n["e164"] for n in (run.doc or {})["earlier_bought"]}
    assert 1 == sum(1 for r in runs if not (r.doc or {})["replayed"])
    assert 2 == len(account.box.purchases)


def test_concurrent_runs_with_different_keys_keep_one_spend_limit(account: Account) -> None:
    """Five runs at once, two numbers each, one 2 USD daily limit on the account: never over it, all true."""
    procs = [
        account.start("--quantity", "2", "--idempotency-key", f"job-{n}", "--spend-limit", "2 USD", n=n)
        for n in range(5)
    ]
    runs = [finish(p) for p in procs]

    for run in runs:
        run.check_exit_code()
    bought = [e164 for run in runs for e164 in run.bought]
    assert len(bought) == len(set(bought))  # never the same number twice
    assert set(bought) == account.owned()
    assert sum((run.spent() for run in runs), Decimal(0)) <= Decimal(2)
    assert sum(Decimal(str(p.upfront or 0)) + Decimal(str(p.monthly or 0)) for p in account.box.purchases) <= 2
    assert {"complete", "short", "none"} >= {(r.doc or {})["status"] for r in runs}


# -- killed right after the purchase request was sent ---------------------------------------------------


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_a_run_killed_mid_purchase_is_settled_by_the_rerun(account: Account, how: signal.Signals) -> None:
    """Killed while its request hangs (not committed): SIGTERM exits 4 naming it; the rerun releases it, buys one."""
    proc = account.start("--quantity", "1", "--idempotency-key", "nightly", "--confirm-window", "0")
    wait_for(lambda: any(r.endpoint == "search" for r in account.box.log), "the search")
    account.box.faults = Faults(rate_stall=1.0, stall_seconds=60)  # the purchase request hangs unanswered
    wait_for(lambda: any(a.state is AttemptState.PENDING for a in account.attempts()), "the pending attempt")
    time.sleep(0.5)  # the request leaves right after its pending line
    proc.send_signal(how)
    killed = finish(proc)

    if how is signal.SIGTERM:
        assert 4 == killed.code, killed.stderr
        assert "in flight" in killed.stderr and "Traceback" not in killed.stderr
        assert [AttemptState.UNKNOWN] == [a.state for a in account.attempts()]
    else:
        assert -signal.SIGKILL == killed.code
        assert [AttemptState.PENDING] == [a.state for a in account.attempts()]
    assert set() == account.owned()

    account.box.faults = Faults()
    rerun = account.run("--quantity", "1", "--idempotency-key", "nightly", "--confirm-window", "0")

    rerun.check_exit_code()
    assert 0 == rerun.code
    assert 1 == len(account.owned()) and rerun.bought == account.owned()
    assert ["released"] == [n["state"] for n in (rerun.doc or {})["recovered"]]


@needs("hold_purchase_seconds")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_a_run_killed_after_the_vendor_committed_is_counted_by_the_rerun(account: Account, how: signal.Signals) -> None:
    """The vendor committed and holds its answer; the run is killed: the rerun finds it owned and buys nothing."""
    account.box.faults = knobs(hold_purchase_seconds=60)
    proc = account.start("--quantity", "1", "--idempotency-key", "nightly")
    wait_for(lambda: purchase_received(account.box) and bool(account.box.purchases), "the committed purchase")
    proc.send_signal(how)
    killed = finish(proc)
    assert (4 if how is signal.SIGTERM else -signal.SIGKILL) == killed.code, killed.stderr

    account.box.faults = Faults()
    rerun = account.run("--quantity", "1", "--idempotency-key", "nightly")

    rerun.check_exit_code()
    assert 0 == rerun.code
    assert 1 == len(account.owned()) == len(account.box.purchases)
    assert set() == rerun.bought
    assert account.owned() == {n["e164"] for n in (rerun.doc or {})["recovered"] if n["state"] == "bought"}


# -- vendors that commit and say otherwise, or never finish answering ------------------------------------


@needs("commit_then_503", "owned_list_lag_seconds")
def test_commit_then_503_with_a_lagging_owned_list_never_buys_more_than_asked(account: Account) -> None:
    """Every purchase commits then answers 503, the owned list lags 3 s: quantity 1 owns one, whatever reruns."""
    account.box.faults = knobs(commit_then_503=1.0, owned_list_lag_seconds=3)
    args = ("--quantity", "1", "--budget", "0.60 USD", "--idempotency-key", "k", "--confirm-window", "60")

    first = account.run(*args)

    first.check_exit_code()
    assert 4 == first.code  # bought? the owned list does not say yet
    assert 1 == len(account.owned()) == len(account.box.purchases)
    assert 1 == len((first.doc or {})["unresolved"])
    early = account.run(*args)  # within the lag: still cannot tell, buys nothing
    assert 4 == early.code and 1 == len(account.box.purchases)

    time.sleep(3)
    later = account.run(*args)
    later.check_exit_code()
    assert 0 == later.code
    assert 1 == len(account.owned()) == len(account.box.purchases)


@needs("drip_seconds", "drip_endpoints")
def test_a_dripping_purchase_answer_is_cut_at_its_deadline_and_confirmed(account: Account) -> None:
    """The purchase answer drips a byte a second: the 2 s purchase deadline cuts it; the owned list confirms it."""
    account.box.faults = knobs(drip_seconds=1.0, drip_endpoints=("purchase",))

    run = account.run("--quantity", "1", "--purchase-timeout", "2", "--timeout", "3")

    run.check_exit_code()
    assert 0 == run.code
    (attempt,) = (run.doc or {})["attempts"]
    assert "confirmed_owned" == attempt["outcome"] and "deadline" in attempt["reason"]
    assert 1 == len(account.owned())


@needs("commit_then_503", "owned_list_stall")
def test_an_owned_list_that_never_answers_is_cut_at_its_deadline(account: Account) -> None:
    """Commit then 503, and the owned list never answers: the check gives up at its deadline; exit 4, named."""
    account.box.faults = knobs(commit_then_503=1.0, owned_list_stall=float("inf"))

    run = account.run("--quantity", "1", "--purchase-timeout", "2", "--timeout", "3")

    run.check_exit_code()
    assert 4 == run.code
    assert "owned numbers were not read within" in (run.doc or {})["attempts"][0]["reason"]
    assert 1 == len(account.owned())


# -- a full disk ---------------------------------------------------------------------------------------


def test_a_full_disk_mid_run_leaves_a_true_result_and_no_glued_line(account: Account) -> None:
    """The audit log hits the file-size limit after a few lines: no traceback, true JSON and exit code; the
    next run's lines start on a line of their own."""
    limit = 4 * 1024 * 1024
    audit = account.workdir / "audit.jsonl"
    filler = '{"filler":"' + "x" * 200 + '"}\n'
    audit.write_text(filler * ((limit - 1300) // len(filler)), encoding="utf-8")
    if account.ledger.endswith(".sqlite3"):  # created now, so its first pages exist before the limit applies
        open_ledger(account.ledger).close()

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    run = account.run("--quantity", "5", "--audit-log", str(audit), preexec=small_disk)

    run.check_exit_code()
    assert run.bought == account.owned()
    assert 0 < len(account.owned()) < 5
    assert any("audit log could not be written" in n for n in (run.doc or {})["notes"])
    states = [a.state for a in account.attempts()]
    assert states.count(AttemptState.BOUGHT) == len(account.owned())
    assert not any(a.unresolved for a in account.attempts())

    rerun = account.run("--quantity", "1", "--audit-log", str(audit))
    rerun.check_exit_code()
    tail = audit.read_text(encoding="utf-8").split("\n")[-3:]
    assert "" == tail[-1]
    assert all(json.loads(line)["run_id"] == (rerun.doc or {})["run_id"] for line in tail[:-1])
