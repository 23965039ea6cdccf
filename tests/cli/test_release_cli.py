"""``numbroker release`` through its real entry point against the Vobiz sandbox over loopback: the plan sends
nothing, --yes gives back exactly the numbers asked, --from-file reads owned's CSV and NDJSON, the exit codes
and the JSON are true, and a person's mistakes are one line (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from numbroker._cli.release import numbers_from_file
from numbroker._exceptions import ConfigurationError
from numbroker.ledger import ReleaseState, open_ledger
from numbroker.sandbox import LoopbackServer, Sandbox
from numbroker_providers.vobiz.sandbox import create_app

PREFIXES = ("VOBIZ_", "BIRD_", "IDENTITYCALL_", "TELNYX_", "TWILIO_", "VONAGE_", "PLIVO_", "NUMBROKER_LEDGER")
EMPTY_HOME = tempfile.mkdtemp(prefix="numbroker-release-cli-")
NOT_OWNED = "+14155550123"


def run(*args: str, env: dict[str, str], command: str = "release") -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    base["XDG_DATA_HOME"] = EMPTY_HOME
    return subprocess.run(
        [sys.executable, "-m", "numbroker", command, *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=EMPTY_HOME,  # where a real run's default audit log goes: never the checkout
    )


@pytest.fixture
def served() -> Iterator[tuple[Sandbox, dict[str, str]]]:
    sandbox = create_app(seed=3, owned=12)
    with LoopbackServer(sandbox.app) as server:
        yield sandbox, {**sandbox.env, "VOBIZ_BASE_URL": server.base_url + sandbox.base_path}


def _number(sandbox: Sandbox, index: int) -> str:
    value: str = sandbox.options["owned"][index]["e164"]
    return value


def _ledger(tmp_path: Path) -> str:
    path = tmp_path / "ledger.sqlite3"
    open_ledger(path).close()
    return str(path)


def test_the_plan_sends_nothing_and_exits_1(served: tuple[Sandbox, dict[str, str]]) -> None:
    sandbox, env = served
    mine = _number(sandbox, 0)

    done = run(mine, NOT_OWNED, "--format", "json", env=env)

    assert 1 == done.returncode, done.stderr
    body = json.loads(done.stdout)
    assert ("planned", True) == (body["status"], body["dry_run"])
    assert [(mine, "vobiz", "planned"), (NOT_OWNED, None, "not_owned")] == [
        (r["e164"], r["provider"], r["outcome"]) for r in body["results"]
    ]
    fee = sandbox.options["owned"][0]["monthly_fee"]
    assert str(fee) == body["results"][0]["monthly_saving"]["amount"]
    assert 0 == sandbox.received["release"] and "nothing was sent" in done.stderr


def test_yes_gives_back_exactly_the_numbers_asked(served: tuple[Sandbox, dict[str, str]], tmp_path: Path) -> None:
    sandbox, env = served
    wanted = [_number(sandbox, 0), _number(sandbox, 1)]
    ledger = _ledger(tmp_path)
    audit = tmp_path / "audit.jsonl"

    done = run(*wanted, NOT_OWNED, "--yes", "--format", "json", "--ledger", ledger, "--audit-log", str(audit), env=env)

    assert 3 == done.returncode, done.stderr  # the number not owned was never sent: some, not all
    body = json.loads(done.stdout)
    assert ["pending_release", "pending_release", "not_owned"] == [r["outcome"] for r in body["results"]]
    assert all(r["effective_at"] and r["undo_until"] for r in body["results"][:2])
    assert wanted == [r["e164"] for r in sandbox.releases]
    assert 4 == len(audit.read_text().splitlines())
    with open_ledger(ledger) as book:
        assert [ReleaseState.PENDING_RELEASE] * 2 == [r.state for r in book.releases()]

    undone = run(wanted[0], "--undo", "--yes", "--format", "json", "--ledger", ledger, env=env)
    assert 0 == undone.returncode, undone.stderr
    assert "restored" == json.loads(undone.stdout)["results"][0]["outcome"]


def test_immediate_releases_at_once(served: tuple[Sandbox, dict[str, str]], tmp_path: Path) -> None:
    sandbox, env = served
    mine = _number(sandbox, 2)

    done = run(mine, "--immediate", "--yes", "--format", "json", "--ledger", _ledger(tmp_path), env=env)

    assert 0 == done.returncode, done.stderr
    assert "released" == json.loads(done.stdout)["results"][0]["outcome"]
    assert [(mine, "released")] == [(r["e164"], r["state"]) for r in sandbox.releases]


def test_from_file_reads_what_owned_writes(served: tuple[Sandbox, dict[str, str]], tmp_path: Path) -> None:
    sandbox, env = served
    base = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    for fmt in ("csv", "ndjson"):
        listed = subprocess.run(
            [sys.executable, "-m", "numbroker", "owned", "--format", fmt, "--unrouted"],
            env={**base, "XDG_DATA_HOME": EMPTY_HOME, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        path = tmp_path / f"unrouted.{fmt}"
        path.write_text(listed.stdout, encoding="utf-8")
        unrouted = [n["e164"] for n in sandbox.options["owned"] if not n["application_id"] and not n["trunk_group_id"]]

        done = run("--from-file", str(path), "--format", "json", env=env)

        assert 1 == done.returncode, done.stderr
        assert sorted(unrouted) == sorted(r["e164"] for r in json.loads(done.stdout)["results"])


def test_numbers_from_a_plain_file(tmp_path: Path) -> None:
    path = tmp_path / "numbers.txt"
    path.write_text("# to give back\n+442071516460\n\n +447456060706 \n", encoding="utf-8")
    assert ["+442071516460", "+447456060706"] == numbers_from_file(str(path))
    bad = tmp_path / "bad.csv"
    bad.write_text("provider,number\nvobiz,+1\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="e164 column"):
        numbers_from_file(str(bad))


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([f"+4420715164{n:02d}" for n in range(11)], "more than the maximum of 10"),
        (["+442071516460", "--immediate", "--undo"], "--immediate and --undo"),
        (["not-a-number"], "is not an E.164 number"),
        ([], "name the numbers"),
        (["+442071516460", "--provider", "nosuch"], "nosuch"),
    ],
)
def test_a_mistake_is_one_line_and_exit_2(served: tuple[Sandbox, dict[str, str]], args: list[str], says: str) -> None:
    sandbox, env = served
    done = run(*args, env=env)
    assert 2 == done.returncode
    assert says in done.stderr and "Traceback" not in done.stderr
    assert 1 == len(done.stderr.strip().splitlines()), done.stderr
    assert 0 == sandbox.received["release"]


def test_raising_the_maximum_is_allowed(served: tuple[Sandbox, dict[str, str]]) -> None:
    sandbox, env = served
    numbers = [_number(sandbox, i) for i in range(11)]
    done = run(*numbers, "--max-count", "11", "--format", "json", env=env)
    assert 1 == done.returncode, done.stderr
    assert 11 == len(json.loads(done.stdout)["results"])


def test_the_cool_off_is_one_line_and_force_is_sent_only_when_given(
    served: tuple[Sandbox, dict[str, str]], tmp_path: Path
) -> None:
    sandbox, env = served
    called = _number(sandbox, 6)  # a sub-account's number, called two days ago
    ledger = _ledger(tmp_path)
    args = ["unassign", called, "--yes", "--format", "json", "--ledger", ledger]

    refused = run(*args, env=env, command="sub-account")

    assert 1 == refused.returncode, refused.stderr
    [row] = json.loads(refused.stdout)["results"]
    assert ("cool_off", []) == (row["outcome"], sandbox.options["moves"])
    [line] = [x for x in refused.stderr.splitlines() if x.startswith(called)]
    assert "cool-off runs until" in line and " left)" in line

    forced = run(*args, "--force", env=env, command="sub-account")

    assert 0 == forced.returncode, forced.stderr
    assert "moved" == json.loads(forced.stdout)["results"][0]["outcome"]
    assert [(called, True)] == [(m["e164"], m["force"]) for m in sandbox.options["moves"]]


@pytest.mark.parametrize(("answer", "code", "sent"), [("n", 1, 0), ("y", 3, 1)])  # 3: one was not owned
def test_a_terminal_is_asked_naming_every_number_and_saving(
    served: tuple[Sandbox, dict[str, str]], tmp_path: Path, answer: str, code: int, sent: int
) -> None:
    from numbroker.testing.processes import run_on_a_terminal

    sandbox, env = served
    mine = _number(sandbox, 0)
    saving = str(sandbox.options["owned"][0]["monthly_fee"])
    base = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    args = ["release", mine, NOT_OWNED, "--ledger", _ledger(tmp_path), "--audit-log", str(tmp_path / "a.jsonl")]

    returned, screen = run_on_a_terminal(args, env={**base, "XDG_DATA_HOME": EMPTY_HOME, **env}, answer=answer)

    question = screen[: screen.index("[y/N]")]
    assert mine in question and NOT_OWNED in question and saving in question and "not_owned" in question
    assert f"Give back 1 number(s): {mine}?" in question
    assert (code, sent) == (returned, len(sandbox.releases))
