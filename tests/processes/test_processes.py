"""The real-process harness: a sandbox server in its own process outlives CLI runs that are killed
at the moment their purchase request reaches it; a file-size limit stands in for a full disk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from numbroker.sandbox import Faults
from numbroker.testing.processes import (
    SandboxServer,
    run_cli,
    signal_at_purchase,
    start_sandbox_server,
    with_file_size_limit,
)

BUY_ONE = [
    "buy-cheapest",
    "--country",
    "US",
    "--max-monthly",
    "5 USD",
    "--max-first-bill",
    "10 USD",
    "--timeout",
    "60",
    "--format",
    "json",
    "--yes",
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SandboxServer]:
    with start_sandbox_server(stderr_path=tmp_path / "server.log") as running:
        yield running


def _owned_total(server: SandboxServer) -> int:
    return sum(len(numbers) for numbers in server.owned().values())


def test_a_cli_run_buys_one_number_from_the_server_process(server: SandboxServer, tmp_path: Path) -> None:
    """Today's buy-cheapest, pointed at the server by client_env, buys one number; the account owns it."""
    result = run_cli(BUY_ONE, env=server.client_env(data_dir=tmp_path / "data"), cwd=tmp_path)

    assert 0 == result.returncode, result.stderr
    body = result.json()
    assert "complete" == body["status"]
    [bought] = [a for a in body["attempts"] if a["outcome"] == "bought"]
    assert {bought["provider"]: [bought["e164"]]} == {pid: e164s for pid, e164s in server.owned().items() if e164s}
    assert 1 == _owned_total(server)
    assert [bought["e164"]] == [p["e164"] for p in server.purchases()]
    assert server.purchase_requests() == {"received": 1, "answered": 1, "abandoned": 0}


def test_the_server_serves_its_knobs_shared_and_per_provider(tmp_path: Path) -> None:
    """Knobs given to start_sandbox_server reach the server process; set_faults changes them live."""
    held = Faults(hold_purchase_seconds=600, hold_purchase_commit="unless_gone")
    with start_sandbox_server(faults=held, stderr_path=tmp_path / "server.log") as server:
        first = {pid: Faults.from_json(state["faults"]) for pid, state in server.states().items()}
        some = next(iter(server.providers))
        server.set_faults(Faults(commit_then_503=1.0), provider=some)
        after = {pid: Faults.from_json(state["faults"]) for pid, state in server.states().items()}

    assert set(first) == set(server.providers) and len(first) >= 3
    assert all(held == faults for faults in first.values())
    assert Faults(commit_then_503=1.0) == after[some]
    assert all(held == faults for pid, faults in after.items() if pid != some)
    assert all(
        p.origin.startswith("http://127.0.0.1:") and p.base_url.startswith(p.origin) for p in server.providers.values()
    )


@pytest.mark.parametrize(
    ("commit", "sig", "committed"),
    [("before", signal.SIGKILL, True), ("unless_gone", signal.SIGKILL, False), ("before", signal.SIGTERM, True)],
)
def test_a_run_signalled_at_its_purchase_leaves_what_the_knob_says(
    tmp_path: Path, commit: str, sig: int, committed: bool
) -> None:
    """Killed while the server holds its purchase request: the purchase is committed (hold "before")
    or not (hold "unless_gone"); the server and its state outlive the run."""
    faults = Faults.from_json({"hold_purchase_seconds": 600, "hold_purchase_commit": commit})
    with start_sandbox_server(faults=faults, stderr_path=tmp_path / "server.log") as server:
        env = server.client_env(data_dir=tmp_path / "data")
        result = signal_at_purchase(server, BUY_ONE, env=env, cwd=tmp_path, sig=sig)
        server.wait_until(
            lambda states: sum(s["requests"].get("purchase", {}).get("abandoned", 0) for s in states.values()) == 1,
            "the server to see the signalled client leave",
        )
        owned = _owned_total(server)
        requests = server.purchase_requests()
        alive = server.process.poll() is None
        server.set_faults(Faults())

        assert (1 if committed else 0) == owned == len(server.purchases())
        assert {"received": 1, "answered": 0, "abandoned": 1} == requests
        assert alive
        assert all(Faults() == Faults.from_json(s["faults"]) for s in server.states().values())
    if sig == signal.SIGKILL:
        assert -signal.SIGKILL == result.returncode
    else:
        assert 0 != result.returncode
    assert "" == result.stdout or "complete" not in result.stdout


def test_signal_at_purchase_reports_a_run_that_never_purchases(server: SandboxServer, tmp_path: Path) -> None:
    """A run that ends without a purchase request is an error, with its output, not a wait until the deadline."""
    dry_run = [arg for arg in BUY_ONE if arg != "--yes"]
    with pytest.raises(RuntimeError, match="exited 1 before 1 purchase request"):
        signal_at_purchase(server, dry_run, env=server.client_env(data_dir=tmp_path / "data"), cwd=tmp_path)

    assert 0 == _owned_total(server)


def test_a_file_size_limit_makes_writes_fail_with_efbig(tmp_path: Path) -> None:
    """Under with_file_size_limit a write past the limit fails ("File too large"); the file stops at the limit."""
    write = "import sys; f = open('big', 'wb'); f.write(b'x' * 20000); f.close()"
    limited = subprocess.run(
        with_file_size_limit([sys.executable, "-c", write], 4096), cwd=tmp_path, capture_output=True, text=True
    )
    free = subprocess.run([sys.executable, "-c", write.replace("'big'", "'free'")], cwd=tmp_path, check=True)

    assert 1 == limited.returncode
    assert "File too large" in limited.stderr
    assert 4096 == os.path.getsize(tmp_path / "big")
    assert (0, 20000) == (free.returncode, os.path.getsize(tmp_path / "free"))


def test_run_cli_applies_the_file_size_limit(tmp_path: Path) -> None:
    """run_cli(file_size_limit=) runs numbroker itself under the limit."""
    probe = "import resource; print(resource.getrlimit(resource.RLIMIT_FSIZE)[0])"
    limited = subprocess.run(
        with_file_size_limit([sys.executable, "-c", probe], 1234), capture_output=True, text=True, check=True
    )
    result = run_cli(["providers", "--format", "json"], env=dict(os.environ), cwd=tmp_path, file_size_limit=1234)

    assert "1234" == limited.stdout.strip()
    assert 0 == result.returncode, result.stderr
    assert isinstance(result.json(), list)
