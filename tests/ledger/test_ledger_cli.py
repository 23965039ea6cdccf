"""`numbroker ledger` and the ledger options of `numbroker buy-cheapest`, through real processes.

Listing intents and attempts (JSON and table, everything or what is unresolved, one intent), settling an
attempt by hand with a note, the operator's way out of exit 4 end to end, the options' one-line usage
errors, and --sandbox runs that never touch the real ledger.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from numbroker.ledger import AttemptState, open_ledger
from numbroker.sandbox import Faults
from numbroker.testing.processes import CliResult, run_cli, start_sandbox_server

CAPS = ("--max-monthly", "2 USD", "--max-first-bill", "3 USD")


def numbroker(*args: str, cwd: Path, **env: str) -> CliResult:
    return run_cli(args, env={**os.environ, **env}, cwd=cwd)


def seed(where: str) -> dict[str, int]:
    """Two intents: one with a bought and a released attempt, one with a pending and an unknown attempt."""
    with open_ledger(where) as ledger:
        ids: dict[str, int] = {}
        for key, number, state in [
            ("done-1", "+12025550101", AttemptState.BOUGHT),
            ("done-1", "+12025550102", AttemptState.RELEASED),
            ("open-2", "+12025550103", AttemptState.PENDING),
            ("open-2", "+12025550104", AttemptState.UNKNOWN),
        ]:
            ledger.open_intent(key, quantity=2, budget=Decimal("3.00"), currency="USD")
            attempt = ledger.record_attempt(
                intent=key,
                run_id=f"run-{key}",
                account="vobiz:" + "0" * 16,
                provider="vobiz",
                e164=number,
                offer_id="offer-" + number,
                amount=Decimal("0.50"),
                currency="USD",
            )
            if state is not AttemptState.PENDING:
                ledger.update_attempt(attempt.id, state, reason=f"{state.value} in the seed")
            ids[number] = attempt.id
        return ids


def test_the_ledger_lists_intents_and_attempts(fresh_ledger: str, tmp_path: Path) -> None:
    """JSON: every intent and attempt; --unresolved only pending/ambiguous/unknown (and their intents);
    --intent one intent; the table shows the same rows."""
    ids = seed(fresh_ledger)

    everything = numbroker("ledger", "--ledger", fresh_ledger, "--format", "json", cwd=tmp_path)
    unresolved = numbroker("ledger", "--unresolved", "--format", "json", cwd=tmp_path, NUMBROKER_LEDGER=fresh_ledger)
    one = numbroker("ledger", "--ledger", fresh_ledger, "--intent", "done-1", "--format", "json", cwd=tmp_path)
    table = numbroker("ledger", "--ledger", fresh_ledger, "--unresolved", "--format", "table", cwd=tmp_path,
                      COLUMNS="250")  # fmt: skip

    assert 0 == everything.returncode, everything.stderr
    doc = everything.json()
    assert {"done-1", "open-2"} == {i["key"] for i in doc["intents"]}
    assert dict(zip(ids, ["bought", "released", "pending", "unknown"], strict=True)) == {
        a["e164"]: a["state"] for a in doc["attempts"]
    }
    assert all(a["amount"] == "0.50" and a["currency"] == "USD" for a in doc["attempts"])
    assert 0 == unresolved.returncode, unresolved.stderr
    assert {"+12025550103", "+12025550104"} == {a["e164"] for a in unresolved.json()["attempts"]}
    assert all(a["unresolved"] for a in unresolved.json()["attempts"])
    assert ["open-2"] == [i["key"] for i in unresolved.json()["intents"]]
    assert {"+12025550101", "+12025550102"} == {a["e164"] for a in one.json()["attempts"]}
    assert 0 == table.returncode, table.stderr
    assert "+12025550103" in table.stdout and "+12025550104" in table.stdout and "+12025550101" not in table.stdout
    assert "numbroker ledger resolve ID" in table.stderr


def test_an_unresolved_attempt_is_settled_by_hand_with_a_note(fresh_ledger: str, tmp_path: Path) -> None:
    """resolve --bought/--not-owned (--released its older name) records the state and the note; what is not
    unresolved cannot be resolved; both flags at once are refused; --ledger is accepted after resolve."""
    ids = seed(fresh_ledger)
    pending, unknown, bought = ids["+12025550103"], ids["+12025550104"], ids["+12025550101"]

    def resolve(*args: str) -> CliResult:
        return numbroker("ledger", "--ledger", fresh_ledger, "resolve", *args, cwd=tmp_path)

    as_bought = resolve(str(pending), "--bought", "--note", "in the vendor console since 02:14")
    both = resolve(str(unknown), "--bought", "--released", "--note", "x")
    both_new = resolve(str(unknown), "--not-owned", "--bought", "--note", "x")
    as_released = numbroker(
        "ledger", "resolve", str(unknown), "--not-owned", "--note", "vendor support: not provisioned",
        "--ledger", fresh_ledger, cwd=tmp_path,
    )  # fmt: skip
    again = resolve(str(pending), "--released", "--note", "changed my mind")
    settled = resolve(str(bought), "--released", "--note", "x")
    missing = resolve("999999", "--bought", "--note", "x")
    no_state = resolve(str(pending), "--note", "x")
    no_note = resolve(str(pending), "--bought")

    assert 0 == as_bought.returncode, as_bought.stderr
    assert f"attempt {pending}: +12025550103 at vobiz is now bought" in as_bought.stderr
    assert 0 == as_released.returncode, as_released.stderr
    assert "is now not owned (released)" in as_released.stderr
    with open_ledger(fresh_ledger) as ledger:
        first, second = ledger.attempt(pending), ledger.attempt(unknown)
        assert first is not None and second is not None
        assert (AttemptState.BOUGHT, "in the vendor console since 02:14") == (first.state, first.note)
        assert (AttemptState.RELEASED, "vendor support: not provisioned") == (second.state, second.note)
        assert "resolved by hand" in (first.reason or "") and "was pending" in (first.reason or "")
        assert not ledger.attempts(states=[AttemptState.PENDING, AttemptState.AMBIGUOUS, AttemptState.UNKNOWN])
    for refused, said in [
        (again, "already bought"),
        (settled, "already bought"),
        (missing, "no attempt 999999"),
        (no_state, "--bought (the account owns it) or --not-owned"),
        (both, "say what you found, once"),
        (both_new, "say what you found, once"),
        (no_note, "--note"),
    ]:
        assert 2 == refused.returncode, refused.stderr
        assert said in refused.stderr and "Traceback" not in refused.stderr


def test_exit_4_end_to_end_list_check_resolve_rerun(fresh_ledger: str, tmp_path: Path) -> None:
    """The vendor commits then 503s and its owned list never answers: exit 4; the operator lists what is
    unresolved, finds it in the account, resolves it --bought; the rerun counts it and buys nothing."""
    env = {"NUMBROKER_LEDGER": fresh_ledger}
    buy = ["buy-cheapest", "--provider", "vobiz", "--country", "US", *CAPS, "--yes", "--format", "json",
           "--quantity", "1", "--idempotency-key", "nightly-1", "--purchase-timeout", "2",
           "--confirm-delay", "0"]  # fmt: skip
    with start_sandbox_server(faults=Faults(commit_then_503=1.0, owned_list_stall=float("inf"))) as server:
        first = run_cli(buy, env=server.client_env(NUMBROKER_LEDGER=fresh_ledger), cwd=tmp_path)
        listed = numbroker("ledger", "--unresolved", "--format", "json", cwd=tmp_path, **env)
        (attempt,) = listed.json()["attempts"]
        (owned,) = server.owned()["vobiz"]  # the operator checks the account: the number is there
        resolved = numbroker("ledger", "resolve", str(attempt["id"]), "--bought", "--note", "in the console",
                             cwd=tmp_path, **env)  # fmt: skip
        rerun = run_cli(buy, env=server.client_env(NUMBROKER_LEDGER=fresh_ledger), cwd=tmp_path)
        again = run_cli(buy, env=server.client_env(NUMBROKER_LEDGER=fresh_ledger), cwd=tmp_path)
        purchases = server.purchase_requests("vobiz")["received"]

    assert 4 == first.returncode, first.stderr
    assert [attempt["id"]] == [n["id"] for n in first.json()["unresolved"]]
    assert (owned, "unknown") == (attempt["e164"], attempt["state"])
    assert 0 == resolved.returncode, resolved.stderr
    assert 0 == rerun.returncode, rerun.stderr
    assert ("complete", [], [owned]) == (
        rerun.json()["status"],
        rerun.json()["attempts"],
        [n["e164"] for n in rerun.json()["earlier_bought"]],
    )
    assert (0, True) == (again.returncode, again.json()["replayed"])
    assert 1 == purchases


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--spend-limit", "2 USD", "--spend-window", "3 weeks"), "a duration is a number and a unit"),
        (("--spend-limit", "2 USD", "--spend-window", "0h"), "a duration must be positive"),
        (("--spend-limit", "2 EUR"), "one currency"),
        (("--idempotency-key", "nightly $(date)"), "an idempotency key is"),
        (("--ledger", "mysql://db/x"), "a file path or a postgresql:// URL"),
    ],
)
def test_ledger_options_refuse_bad_values_in_one_line(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    """A bad window, limit, key or ledger: exit 2, one error line saying what to fix, nothing bought or printed."""
    proc = numbroker("buy-cheapest", "--country", "US", *CAPS, "--yes", *args, cwd=tmp_path,
                     NUMBROKER_LEDGER=str(tmp_path / "ledger.sqlite3"))  # fmt: skip

    assert 2 == proc.returncode
    (error,) = [line for line in proc.stderr.splitlines() if line.startswith("Error: ")]
    assert message in error and "Traceback" not in proc.stderr, proc.stderr
    assert "" == proc.stdout


def test_sandbox_runs_never_touch_the_real_ledger(tmp_path: Path) -> None:
    """--sandbox --yes buys from the emulators on a temporary ledger: neither $NUMBROKER_LEDGER nor the
    default ledger in the data directory is created."""
    named, data = tmp_path / "named" / "ledger.sqlite3", tmp_path / "data"
    with_env = numbroker("buy-cheapest", "--sandbox", "--country", "US", *CAPS, "--yes", "--format", "json",
                         cwd=tmp_path, NUMBROKER_LEDGER=str(named), XDG_DATA_HOME=str(data))  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "NUMBROKER_LEDGER"}
    default = run_cli(["buy-cheapest", "--sandbox", "--country", "US", *CAPS, "--yes", "--format", "json"],
                      env={**env, "XDG_DATA_HOME": str(data)}, cwd=tmp_path)  # fmt: skip

    for proc in (with_env, default):
        assert 0 == proc.returncode, proc.stderr
        assert "complete" == proc.json()["status"]
        assert "(temporary: --sandbox)" in proc.stderr
    assert not named.exists() and not (data / "numbroker").exists()


def test_a_mistyped_ledger_path_is_an_error_naming_it_and_creates_nothing(tmp_path: Path) -> None:
    """--ledger naming a file that does not exist: every command says so in one line (exit 2) and creates
    neither the file nor its folder; `numbroker ledger init PATH` creates one, which then works."""
    typo = tmp_path / "typo-ledgr.sqlite3"
    missing_dir = tmp_path / "nonexistent" / "dir" / "l.sqlite3"
    listing = numbroker("ledger", "--unresolved", "--ledger", str(typo), cwd=tmp_path)
    buying = numbroker("buy-cheapest", "--sandbox", "--country", "US", *CAPS, "--yes", cwd=tmp_path)  # a control
    real = numbroker("buy-cheapest", "--country", "US", *CAPS, "--yes", "--ledger", str(missing_dir), cwd=tmp_path)
    resolving = numbroker("ledger", "resolve", "1", "--bought", "--note", "x", "--ledger", str(typo), cwd=tmp_path)

    for proc, named in ((listing, typo), (real, missing_dir), (resolving, typo)):
        assert 2 == proc.returncode, proc.stderr
        (error,) = [line for line in proc.stderr.splitlines() if line.strip()]
        assert f"no ledger at {named}" in error and "ledger init" in error, proc.stderr
    assert 0 == buying.returncode, buying.stderr
    assert not typo.exists() and not (tmp_path / "nonexistent").exists()

    made = numbroker("ledger", "init", str(typo), cwd=tmp_path)
    assert 0 == made.returncode, made.stderr
    again = numbroker("ledger", "--unresolved", "--ledger", str(typo), "--format", "json", cwd=tmp_path)
    assert (0, []) == (again.returncode, again.json()["attempts"]), again.stderr
    twice = numbroker("ledger", "init", str(typo), cwd=tmp_path)
    assert 2 == twice.returncode and "already exists" in twice.stderr


def test_sandbox_with_a_ledger_is_refused_in_one_line(tmp_path: Path) -> None:
    """--sandbox --ledger is refused (a sandbox run never writes to a real ledger), even an unreachable URL."""
    for where in (str(tmp_path / "ledger.sqlite3"), "postgresql://nobody@127.0.0.1:1/x"):
        proc = numbroker("buy-cheapest", "--sandbox", "--country", "US", *CAPS, "--yes", "--ledger", where,
                         cwd=tmp_path)  # fmt: skip
        assert 2 == proc.returncode, proc.stderr
        assert "--sandbox" in proc.stderr and "leave out --ledger" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "where",
    [
        "postgresql://numbroker:s3cr3t-pw@127.0.0.1:1/ledger",
        "host=127.0.0.1 port=1 user=numbroker password=s3cr3t-pw dbname=ledger",
        "postgresql://numbroker:s3cr3t-pw@127.0.0.1:notaport/ledger",
        "postgresql://numbroker:s3cr3t-pw@[::1/ledger",
    ],
    ids=["url", "libpq", "bad-port", "unparsable"],
)
def test_a_postgresql_ledger_that_cannot_be_opened_exits_1_without_its_password(where: str, tmp_path: Path) -> None:
    """A URL or a libpq key=value string is PostgreSQL (never a file name); when it cannot be opened the run
    exits 1 in one line naming it without the password, nothing bought, no file made."""
    proc = numbroker("buy-cheapest", "--country", "US", *CAPS, "--yes", "--format", "json", "--ledger", where,
                     cwd=tmp_path)  # fmt: skip
    listing = numbroker("ledger", "--ledger", where, cwd=tmp_path)

    for run in (proc, listing):
        assert 1 == run.returncode, run.stderr
        assert "s3cr3t-pw" not in run.stderr + run.stdout
        assert "ledger" in run.stderr and "Traceback" not in run.stderr
    assert [] == [p.name for p in tmp_path.iterdir() if p.name != "numbroker-audit.jsonl"]


def test_a_finished_intent_rerun_with_other_terms_is_refused(tmp_path: Path) -> None:
    """A finished intent (quantity 1) rerun with --quantity 2 is refused like an open one: exit 2, one line."""
    ledger = tmp_path / "ledger.sqlite3"
    assert 0 == numbroker("ledger", "init", str(ledger), cwd=tmp_path).returncode
    with start_sandbox_server() as server:
        env = server.client_env(data_dir=tmp_path / "data")
        buy = ["buy-cheapest", "--provider", "vobiz", "--country", "US", *CAPS, "--yes", "--format", "json",
               "--ledger", str(ledger), "--idempotency-key", "nightly"]  # fmt: skip
        first = run_cli([*buy, "--quantity", "1"], env=env, cwd=tmp_path)
        other = run_cli([*buy, "--quantity", "2"], env=env, cwd=tmp_path)
        same = run_cli([*buy, "--quantity", "1"], env=env, cwd=tmp_path)
        received = server.purchase_requests("vobiz")["received"]

    assert (0, "complete") == (first.returncode, first.json()["status"]), first.stderr
    assert 2 == other.returncode and "names a finished intent of quantity 1" in other.stderr, other.stderr
    assert (0, True) == (same.returncode, same.json()["replayed"])
    assert 1 == received


def test_the_ledger_table_fits_80_columns_with_whole_numbers(fresh_ledger: str, tmp_path: Path) -> None:
    """On an 80-column terminal every line of the table fits, and every E.164 number is printed whole."""
    seed(fresh_ledger)
    proc = numbroker("ledger", "--ledger", fresh_ledger, "--format", "table", cwd=tmp_path, COLUMNS="80")

    assert 0 == proc.returncode, proc.stderr
    assert all(len(line) <= 80 for line in proc.stdout.splitlines()), proc.stdout
    for number in ("+12025550101", "+12025550102", "+12025550103", "+12025550104"):
        assert number in proc.stdout, proc.stdout
    assert "not owned" in proc.stdout  # the released attempt, named for what it means
