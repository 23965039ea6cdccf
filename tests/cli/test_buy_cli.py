"""`numbroker buy-cheapest` through the real entry point, against sandboxes served on loopback."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from numbroker.sandbox import Faults, Sandbox, create_sandboxes, serve_sandboxes

CAPS = ("--max-monthly", "2 USD", "--max-first-bill", "3 USD")


def run(*args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m numbroker ARGS` with a clean environment plus ``env``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("VOBIZ_", "BIRD_", "IDENTITYCALL_"))}
    return subprocess.run(
        [sys.executable, "-m", "numbroker", *args],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


@contextlib.contextmanager
def serving(boxes: dict[str, Sandbox]) -> Iterator[dict[str, str]]:
    """Serve ``boxes`` on loopback; yield the environment that points the CLI at them."""
    with serve_sandboxes(boxes) as urls:
        env: dict[str, str] = {}
        for pid, box in boxes.items():
            env.update(box.env)
            env[f"{pid.upper()}_BASE_URL"] = urls[pid]
        yield env


@pytest.fixture
def served() -> Iterator[tuple[dict[str, Sandbox], dict[str, str]]]:
    """Fresh sandboxes (nothing bought yet) on loopback, and their environment."""
    boxes = create_sandboxes()
    with serving(boxes) as env:
        yield boxes, env


def posts(boxes: Mapping[str, Sandbox]) -> int:
    return sum(1 for box in boxes.values() for r in box.log if r.method != "GET")


def secrets(boxes: Mapping[str, Sandbox]) -> list[str]:
    return [v for box in boxes.values() for v in box.env.values()]


def test_without_yes_nothing_is_bought_and_the_plan_is_printed(
    served: tuple[dict[str, Sandbox], dict[str, str]], tmp_path: Path
) -> None:
    """The default is a dry run: exit 1 (bought nothing), the plan on stdout, no POST, no audit file."""
    boxes, env = served

    proc = run("buy-cheapest", "--country", "US", *CAPS, "--quantity", "2", "--format", "json", env=env, cwd=tmp_path)

    assert 1 == proc.returncode, proc.stderr
    doc = json.loads(proc.stdout)
    assert (True, "none", []) == (doc["dry_run"], doc["status"], doc["attempts"])
    assert 2 == sum(1 for e in doc["plan"] if e["decision"] == "would_buy")
    assert 0 == posts(boxes)
    assert not {"purchase", "owned"} & {r.endpoint for box in boxes.values() for r in box.log}  # reads only
    assert "add --yes to buy" in proc.stderr
    assert [] == list(tmp_path.iterdir())


def test_yes_buys_the_plan_and_logs_every_attempt(
    served: tuple[dict[str, Sandbox], dict[str, str]], tmp_path: Path
) -> None:
    """--yes buys what the dry run planned (exit 0) and appends a pending and an outcome line per attempt."""
    boxes, env = served
    audit = tmp_path / "buys.jsonl"
    args = ("buy-cheapest", "--country", "US", *CAPS, "--quantity", "2", "--format", "json")
    plan = json.loads(run(*args, env=env, cwd=tmp_path).stdout)

    proc = run(*args, "--yes", "--audit-log", str(audit), "--confirm-delay", "0", env=env, cwd=tmp_path)

    assert 0 == proc.returncode, proc.stderr
    doc = json.loads(proc.stdout)
    would = [(e["offer"]["provider"], e["offer"]["e164"]) for e in plan["plan"] if e["decision"] == "would_buy"]
    assert would == [(a["provider"], a["e164"]) for a in doc["bought"]]
    assert set(would) == {(pid, p.e164) for pid, box in boxes.items() for p in box.purchases}
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert ["pending", "bought", "pending", "bought"] == [line["outcome"] for line in lines]
    assert f"audit log: {audit}" in proc.stderr
    for secret in secrets(boxes):
        assert secret not in proc.stdout + proc.stderr + audit.read_text()


def test_real_purchases_are_logged_in_the_working_directory_by_default(
    served: tuple[dict[str, Sandbox], dict[str, str]], tmp_path: Path
) -> None:
    """Without --audit-log a real run appends to ./numbroker-audit.jsonl."""
    _, env = served

    proc = run("buy-cheapest", "--country", "US", *CAPS, "--yes", "--format", "json", env=env, cwd=tmp_path)

    assert 0 == proc.returncode, proc.stderr
    assert 2 == len((tmp_path / "numbroker-audit.jsonl").read_text().splitlines())


@pytest.mark.parametrize(
    ("extra", "code", "status"),
    [
        (("--quantity", "5", "--budget", "1 USD"), 3, "short"),
        (("--max-monthly", "0.001 USD", "--max-first-bill", "0.001 USD"), 1, "none"),
    ],
)
def test_fewer_than_asked_exits_3_and_nothing_exits_1(
    served: tuple[dict[str, Sandbox], dict[str, str]], tmp_path: Path, extra: tuple[str, ...], code: int, status: str
) -> None:
    """A budget that runs out buys fewer (3); caps nothing fits buy nothing (1)."""
    _, env = served

    proc = run("buy-cheapest", "--country", "US", *CAPS, *extra, "--yes", "--format", "json", env=env, cwd=tmp_path)

    assert code == proc.returncode, proc.stderr
    assert status == json.loads(proc.stdout)["status"]


def test_an_unknown_outcome_exits_4_and_says_what_to_check(tmp_path: Path) -> None:
    """Vobiz answers 502/504 and its owned list never adds up (absence unprovable): exit 4, nothing else is tried."""
    boxes = create_sandboxes(["vobiz"])
    boxes["vobiz"].faults = Faults(rate_ambiguous_before_commit=1.0, lying_total=1000)
    with serving(boxes) as env:
        proc = run(
            "buy-cheapest", "--country", "US", *CAPS, "--quantity", "3", "--yes", "--confirm-delay", "0",
            "--format", "json", env=env, cwd=tmp_path,
        )  # fmt: skip

    assert 4 == proc.returncode, proc.stderr
    doc = json.loads(proc.stdout)
    assert ("unknown", ["unknown"]) == (doc["status"], [a["outcome"] for a in doc["attempts"]])
    assert 1 == posts(boxes)
    assert "UNKNOWN: " in proc.stderr
    assert "check the account" in proc.stderr


def test_refusals_and_failures_leak_no_secret(tmp_path: Path) -> None:
    """Every provider fails differently (ambiguous, reservation, no write permission): exit 1, no credential shown."""
    boxes = {
        **create_sandboxes(["vobiz"], faults=Faults(rate_ambiguous_before_commit=1.0)),
        **create_sandboxes(["bird"], require_reservation=True),
        **create_sandboxes(["identitycall"], read_only_key=True),
    }
    audit = tmp_path / "audit.jsonl"
    with serving(boxes) as env:
        outputs = [
            run(
                "buy-cheapest", "--country", "US", *CAPS, "--yes", "--confirm-delay", "0", "--audit-log", str(audit),
                "--allow-assumed-currency", "--format", fmt, "--confirm-window", "0", env=env, cwd=tmp_path,
            )
            for fmt in ("json", "table")
        ]  # fmt: skip

    assert [1, 1] == [p.returncode for p in outputs]
    doc = json.loads(outputs[0].stdout)
    assert {"bird", "identitycall"} == set(doc["dropped_providers"])  # vobiz: confirmed not owned, each time
    assert {"not_bought", "refused"} == {a["outcome"] for a in doc["attempts"]}
    text = audit.read_text()
    for proc in outputs:
        assert "Traceback" not in proc.stderr
        for secret in secrets(boxes):
            assert secret not in proc.stdout
            assert secret not in proc.stderr
            assert secret not in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--max-monthly", "2 USD"), "--max-first-bill is required"),
        (("--max-first-bill", "3 USD"), "--max-monthly is required"),
        (("--max-monthly", "2", "--max-first-bill", "3"), "needs a currency"),
        (("--max-monthly", "2 USD", "--max-first-bill", "3 EUR"), "one currency"),
        ((*CAPS, "--quantity", "0"), "Invalid value for '--quantity'"),
    ],
)
def test_usage_errors_exit_2_before_anything_happens(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    """Missing or inconsistent caps exit 2 with a message saying what to fix; nothing is printed on stdout."""
    proc = run("buy-cheapest", "--sandbox", "--country", "US", *args, cwd=tmp_path)

    assert 2 == proc.returncode
    assert message in proc.stderr
    assert "" == proc.stdout


def test_sandbox_demo_plans_and_buys_in_process(tmp_path: Path) -> None:
    """--sandbox needs no account: the table shows the plan; with --yes it buys from the emulators."""
    table = run("buy-cheapest", "--sandbox", "--country", "GB", "--currency", "EUR", "--max-monthly", "2",
                "--max-first-bill", "3", "--format", "table", cwd=tmp_path)  # fmt: skip
    bought = run("buy-cheapest", "--sandbox", "--country", "GB", "--currency", "EUR", "--max-monthly", "2",
                 "--max-first-bill", "3", "--yes", "--format", "json", cwd=tmp_path)  # fmt: skip

    assert 1 == table.returncode
    assert "would_buy" in table.stdout and "Dry run" in table.stdout
    assert 0 == bought.returncode, bought.stderr
    assert "complete" == json.loads(bought.stdout)["status"]


def test_help_shows_examples_and_exit_codes() -> None:
    """buy-cheapest --help has examples and the exit codes."""
    out = run("buy-cheapest", "--help").stdout

    assert "Examples:" in out
    assert "4 an outcome is unknown" in out


def talk_on_a_terminal(
    answer: str, cwd: Path, *extra: str, columns: int = 200, interrupt: bool = False
) -> tuple[int, str]:
    """Run a sandbox buy-cheapest on a pseudo-terminal; answer its question (or press Ctrl-C at it); return the
    exit code and the screen."""
    import pty
    import select
    import signal

    primary, secondary = pty.openpty()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("VOBIZ_", "BIRD_", "IDENTITYCALL_"))}
    proc = subprocess.Popen(
        # One provider, so the numbers asked about are pinned whatever the other sandboxes price at a tie.
        [sys.executable, "-m", "numbroker", "buy-cheapest", "--sandbox", "--provider", "vobiz", "--country", "US",
         *CAPS, *extra],
        stdin=secondary, stdout=secondary, stderr=secondary, cwd=cwd, env={**base, "COLUMNS": str(columns)},
    )  # fmt: skip
    os.close(secondary)
    screen, answered = b"", False
    try:
        while True:
            ready, _, _ = select.select([primary], [], [], 60)
            assert ready, screen.decode(errors="replace")
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            screen += chunk
            if not answered and b"[y/N]" in screen:
                if interrupt:
                    proc.send_signal(signal.SIGINT)  # what Ctrl-C at the question does; no Enter follows
                else:
                    os.write(primary, answer.encode() + b"\n")
                answered = True
        return proc.wait(timeout=60), screen.decode(errors="replace")
    finally:
        os.close(primary)
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize(("answer", "code", "said"), [("n", 1, "not confirmed"), ("y", 0, "complete: bought 1 of 1")])
def test_on_a_terminal_it_asks_before_buying(answer: str, code: int, said: str, tmp_path: Path) -> None:
    """Without --yes on a terminal the plan is shown and a question asked (default no); only 'y' buys."""
    returncode, screen = talk_on_a_terminal(answer, tmp_path)

    assert code == returncode, screen
    assert "Buy +12066046313 at vobiz ($0.50): $0.50 in first bills? [y/N]" in screen
    assert said in screen
    assert not (tmp_path / "numbroker-audit.jsonl").exists(), "sandbox purchases never reach the real audit log"
    assert (answer == "y") == ("sandbox: bought from the built-in emulators; nothing real was bought" in screen)


def test_on_an_80_column_terminal_the_plan_and_question_name_every_number_and_price(tmp_path: Path) -> None:
    returncode, screen = talk_on_a_terminal("n", tmp_path, "--quantity", "3", columns=80)
    assert 1 == returncode, screen
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)
    question = " ".join(screen[screen.index("Buy +") :].split())
    for number in ("+12066046313", "+12122564510", "+13053239760"):
        assert f"{number} at vobiz ($0.50)" in question
        assert re.search(rf"would_buy\s+{re.escape(number)}\s+vobiz\s+\$0\.00\s+\$0\.50\s+\$0\.50\s+\$0\.50", screen)
    assert "$1.50 in first bills? [y/N]" in question
    plan = screen[: screen.index("Buy +")]
    assert all(len(line) <= 80 for line in plan.splitlines()), plan


def test_ctrl_c_at_the_question_ends_at_once(tmp_path: Path) -> None:
    returncode, screen = talk_on_a_terminal("", tmp_path, interrupt=True)
    assert 130 == returncode, screen
    assert "interrupted" in screen and "Traceback" not in screen


@pytest.mark.parametrize(
    ("lines", "in_flight"),
    [
        (['{"outcome": "pending"}'], True),
        (['{"outcome": "pending"}', '{"outcome": "bought"}'], False),
        (['{"outcome": "pending"}', '{"outcome": "unknown"}'], True),
        (['{"outcome": "pending"}', '{"outco'], True),
        ([], False),
    ],
)
def test_ctrl_c_mid_purchase_is_reported_as_unknown(tmp_path: Path, lines: list[str], in_flight: bool) -> None:
    """After Ctrl-C, an audit log whose last attempt has no known outcome means exit 4 (needs a human), not 130."""
    from numbroker.buying import purchase_in_flight as _purchase_in_flight

    log = tmp_path / "audit.jsonl"
    log.write_text("".join(line + "\n" for line in lines))

    assert in_flight == _purchase_in_flight(log)
    assert _purchase_in_flight(tmp_path / "missing.jsonl") is False
