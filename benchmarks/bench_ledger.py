"""Scenario 5: what the purchase ledger costs a purchase, and how concurrent runs on one account fare.

The Vobiz sandbox is served on loopback by a separate process (``_sandbox_server.py``).

* **Ledger cost per purchase**: what a run writes to the ledger around one purchase (the ``pending``
  attempt before the request, its outcome after, each one committed transaction, called from a worker
  thread as a run does) against the purchase round trip itself (``Provider.purchase`` of a fresh offer
  over loopback), paired per repeat. On SQLite (a file in a temporary folder, WAL, ``synchronous=FULL``)
  and on PostgreSQL on loopback (a server this scenario starts, like the test fixture; skipped with a
  note when PostgreSQL is not installed).
* **Concurrent runs**: N ``numbroker buy-cheapest --quantity 1`` processes with different idempotency
  keys started together on one account and one SQLite ledger, against the same N runs one after another;
  the figure is the concurrent wall time over the sequential one (searches overlap, purchases take
  turns on the account's purchaser lock), with purchases per second for reference.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import anyio
import anyio.to_thread
from _harness import Figure, ScenarioResult, median, paired_ratios

SERVER = Path(__file__).with_name("_sandbox_server.py")


@contextlib.contextmanager
def _sandbox(size: int) -> Iterator[tuple[str, dict[str, str]]]:
    spec = json.dumps({"ids": ["vobiz"], "seed": 5, "size": {"vobiz": size}, "options": {"balance": None}})
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), spec], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        yield info["urls"]["vobiz"], info["env"]
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=30)


@contextlib.contextmanager
def _postgres() -> Iterator[str | None]:
    """A PostgreSQL server on loopback for the scenario, or None when PostgreSQL is not installed."""
    found = shutil.which("pg_ctl")
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    bindir = Path(found).parent if found else (candidates[-1].parent if candidates else None)
    if bindir is None:
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="numbroker-bench-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = root / "data"
    try:
        subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "numbroker"],
                       check=True, capture_output=True)  # fmt: skip
        options = f"-h 127.0.0.1 -p {port} -k {root}"
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"),
                        "-o", options, "-w", "start"], check=True, capture_output=True)  # fmt: skip
        yield f"postgresql://numbroker@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


async def _per_purchase(url: str, env: dict[str, str], ledgers: dict[str, str], repeats: int) -> dict[str, list[float]]:
    """Seconds per repeat: one purchase round trip, and each ledger's writes around one purchase."""
    from numbroker import SearchQuery
    from numbroker.ledger import AttemptState, open_ledger
    from numbroker_providers.vobiz import VobizProvider

    times: dict[str, list[float]] = {"purchase": [], **{name: [] for name in ledgers}}
    opened = {name: open_ledger(where) for name, where in ledgers.items()}
    async with VobizProvider(env=env, base_url=url) as provider:
        found = (await provider.search(SearchQuery(country="US"))).offers
        # The dearest first: the runs of the second figure buy the cheapest, under their caps.
        offers = sorted(found, key=lambda o: o.monthly_price.amount if o.monthly_price else 0, reverse=True)
        account = provider.account_key()
        for ledger in opened.values():
            ledger.open_intent("bench", quantity=repeats, budget=None, currency="USD")
        for index in range(repeats + 1):  # the first round warms up and is dropped
            offer = offers[index]
            started = time.perf_counter()
            await provider.purchase(offer)
            purchase = time.perf_counter() - started
            rounds: dict[str, float] = {}
            for name, ledger in opened.items():
                started = time.perf_counter()
                made = await anyio.to_thread.run_sync(
                    lambda ledger=ledger, offer=offer: ledger.record_attempt(
                        intent="bench", run_id="bench", account=account, provider="vobiz", e164=offer.e164,
                        offer_id=offer.offer_id, amount=Decimal("0.5"), currency="USD",
                    )
                )  # fmt: skip
                await anyio.to_thread.run_sync(ledger.update_attempt, made.id, AttemptState.BOUGHT)
                rounds[name] = time.perf_counter() - started
            if index:
                times["purchase"].append(purchase)
                for name, seconds in rounds.items():
                    times[name].append(seconds)
    for ledger in opened.values():
        ledger.close()
    return times


def _cli(url: str, env: dict[str, str], ledger: str, key: str, cwd: str) -> subprocess.Popen[bytes]:
    full = {**os.environ, **env, "VOBIZ_BASE_URL": url, "NUMBROKER_LEDGER": ledger}
    return subprocess.Popen(
        [sys.executable, "-m", "numbroker", "buy-cheapest", "--provider", "vobiz", "--country", "US",
         "--max-monthly", "2 USD", "--max-first-bill", "3 USD", "--yes", "--format", "json",
         "--idempotency-key", key, "--audit-log", os.path.join(cwd, "audit.jsonl")],
        env=full, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _runs(n: int, tag: str, concurrent: bool) -> tuple[float, int]:
    """Wall seconds of ``n`` runs (together or one after another) and how many numbers they bought.

    Each set of runs gets a fresh sandbox (the same inventory) and a fresh ledger.
    """
    with _sandbox(size=400) as (url, env), tempfile.TemporaryDirectory() as folder:
        ledger = os.path.join(folder, "ledger.sqlite3")
        started = time.perf_counter()
        outputs: list[bytes] = []  # one number each: every run buys (a failed run would show as fewer)
        if concurrent:
            procs = [_cli(url, env, ledger, f"{tag}-{i}", folder) for i in range(n)]
            outputs = [p.communicate(timeout=600)[0] for p in procs]
        else:
            for i in range(n):
                outputs.append(_cli(url, env, ledger, f"{tag}-{i}", folder).communicate(timeout=600)[0])
        wall = time.perf_counter() - started
    bought = sum(len(json.loads(out).get("bought", [])) for out in outputs if out.strip())
    return wall, bought


def run(quick: bool) -> ScenarioResult:
    """Run the scenario (quick: 5 purchases, 3 runs; full: 41 purchases, 3 rounds of 8 runs)."""
    result = ScenarioResult("ledger")
    repeats = 5 if quick else 41
    n, rounds = (3, 1) if quick else (8, 3)
    with (
        _sandbox(size=200 + repeats + 2 * n * rounds) as (url, env),
        _postgres() as pg,
        tempfile.TemporaryDirectory() as folder,
    ):
        ledgers = {"sqlite": os.path.join(folder, "ledger.sqlite3")}
        if pg is not None:
            ledgers["postgresql"] = pg
        else:
            result.notes.append("PostgreSQL not found (no pg_ctl): no PostgreSQL figure")
        times = anyio.run(_per_purchase, url, env, ledgers, repeats)
        for name in ledgers:
            ratios = paired_ratios(times[name], times["purchase"])
            result.figures.append(
                Figure(
                    f"ledger writes per purchase ({name}) / purchase round trip",
                    median(ratios),
                    reference={
                        "ledger_ms": median(times[name]) * 1000,
                        "purchase_ms": median(times["purchase"]) * 1000,
                    },
                    samples=ratios,
                )
            )
        walls: list[float] = []
        bought_total, together_total = 0, 0.0
        for r in range(rounds):
            together, bought = _runs(n, f"c{r}", concurrent=True)
            alone, bought_alone = _runs(n, f"s{r}", concurrent=False)
            walls.append(together / alone)
            bought_total += bought
            together_total += together
            result.notes.append(f"round {r}: {n} runs bought {bought} together, {bought_alone} one after another")
        result.figures.append(
            Figure(
                f"{n} concurrent runs / the same {n} one after another (wall)",
                median(walls),
                reference={"purchases_per_s_concurrent": bought_total / max(1e-9, together_total), "runs": n},
                samples=walls,
            )
        )
    return result
