"""Scenario 8: a portfolio of owned numbers read at the speed of its paging, in flat memory.

All seven sandboxes (Vobiz, Bird, IdentityCall, Telnyx, Twilio, Vonage, Plivo) are served on loopback by a
separate process (``_sandbox_server.py``) with about 50,000 owned numbers between them (a seventh each;
1,000 each in quick mode) and ``Faults(latency=0.02)`` on every request. Vobiz, IdentityCall, Telnyx,
Vonage and Plivo page by number (100, 100, 250, 100 and 20 at a time: Plivo's is the long numbered
chain); Bird (99 a page) and Twilio (1,000 a page, account by account) page by token, one page after
another.

**Wall time over the paging critical path** (per round): ``numbroker.owned`` over the seven providers,
against a lower bound measured in the same round with the same adapters:

* numbered lists: ``first(p)``, one owned-list page fetched and decoded alone (``_fetch_owned_page``);
  ``wave(p)``, ``page_concurrency`` pages fetched at once; chain bound ``first + ceil((pages - 1) /
  page_concurrency) × wave`` (numbered pages are fetched concurrently once page 1 gave the total, at
  most ``page_concurrency`` in flight);
* token lists: every page fetched one after another by its token, nothing else done (a token names the
  next page only once the one before it arrived, so the chain cannot be shorter);
* CPU bound: decoding and normalizing every page (one page's, measured, times the pages), all providers
  sharing one event loop;
* **bound = max(slowest chain, CPU bound)**. Target: wall / bound ≤ 1.15.

As in the fan-out scenario, the emulators are kept out of the client's way: their process is pinned to
the machine's last core, and once one read has had every page rendered by its sandbox, the measured rounds
are answered from those recorded bytes (``mode prerendered``), so the seven emulators' own CPU (routing
and rendering some 50,000 numbers a round) is not counted against numbroker.

**Memory**: ``numbroker owned --format ndjson`` in a process of its own, its peak resident memory
against 50,000 numbers over its peak against 1,000 (each number is written as it arrives and only the
summary is kept). Target: ≤ 1.25 (flat). What is held is bounded by the page windows, not by the
portfolio: up to ``page_concurrency`` pages a provider answered and not yet handed on, about 5,000 records
across the seven providers once every window is full. A portfolio of 1,000 numbers (two or three pages a
provider) never fills them, so the same ratio is also given against 10,000 numbers, where they are full
(about 75 MB at 10,000, 89 MB at 50,000 and 91 MB at 100,000 in a run by hand).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from _harness import Figure, ScenarioResult, median

import numbroker
from numbroker import OwnedQuery, Provider
from numbroker._registry import providers_from_env
from numbroker.adapters._portfolio import normalize_owned_record

HERE = Path(__file__).parent
IDS = ["vobiz", "bird", "identitycall", "telnyx", "twilio", "vonage", "plivo"]
LATENCY = 0.02
QUERY = OwnedQuery()


def _serve(owned: int) -> tuple[subprocess.Popen[str], dict[str, str]]:
    spec = json.dumps({"ids": IDS, "seed": 1, "size": dict.fromkeys(IDS, 10), "options": {"owned": owned}, "pin": True})
    server = subprocess.Popen(
        [sys.executable, str(HERE / "_sandbox_server.py"), spec],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdin is not None
    info = json.loads(server.stdout.readline())
    _command(server, f"latency {LATENCY}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(tuple(f"{pid.upper()}_" for pid in IDS))}
    env.update(info["env"])
    for pid, url in info["urls"].items():
        env[f"{pid.upper()}_BASE_URL"] = url
    return server, env


def _command(server: subprocess.Popen[str], text: str) -> None:
    """Send the server one command; it answers ``ok``."""
    assert server.stdin is not None and server.stdout is not None
    server.stdin.write(text + "\n")
    server.stdin.flush()
    answer = server.stdout.readline().strip()
    if answer != "ok":
        raise RuntimeError(f"the sandbox server answered {text!r} with {answer!r}")


def _stop(server: subprocess.Popen[str]) -> None:
    assert server.stdin is not None
    server.stdin.close()
    server.wait(timeout=30)


def _providers(env: dict[str, str]) -> list[Provider]:
    built, _ = providers_from_env(IDS, env=env)
    return built


class _DecodeTimer:
    """Times the provider's JSON decoding (CPU a page costs before it can be normalized)."""

    def __init__(self, provider: Provider) -> None:
        self.connection = provider.connection
        self.original = provider.connection.json
        self.spent = 0.0

        def timed(response: Any) -> Any:
            started = time.perf_counter()
            try:
                return self.original(response)
            finally:
                self.spent += time.perf_counter() - started

        self.connection.json = timed  # type: ignore[method-assign]

    def stop(self) -> float:
        self.connection.json = self.original  # type: ignore[method-assign]
        return self.spent


async def _bound(env: dict[str, str], counts: dict[str, int]) -> tuple[float, dict[str, float]]:
    """The critical-path lower bound of reading every list, measured now."""
    chains: dict[str, float] = {}
    cpu = 0.0
    for provider in _providers(env):
        async with provider:
            if provider.owned_paging == "token":
                chains[provider.id], spent = await _token_chain(provider)
                cpu += spent
                continue
            pages = math.ceil(counts[provider.id] / provider.owned_per_page)
            await provider._fetch_owned_page(QUERY, 1)  # warm the connection
            decoding = _DecodeTimer(provider)
            started = time.perf_counter()
            page = await provider._fetch_owned_page(QUERY, 1)
            first = time.perf_counter() - started
            decode = decoding.stop()
            width = min(provider.page_concurrency, max(1, pages - 1))
            started = time.perf_counter()
            async with anyio.create_task_group() as tg:
                for number in range(2, 2 + width):
                    tg.start_soon(provider._fetch_owned_page, QUERY, number)
            wave = time.perf_counter() - started
            chains[provider.id] = first + math.ceil((pages - 1) / provider.page_concurrency) * wave
            started = time.perf_counter()
            for record in page.records:
                normalize_owned_record(provider, record, QUERY)
            cpu += (time.perf_counter() - started + decode) * pages
    return max(max(chains.values()), cpu), chains


async def _token_chain(provider: Provider) -> tuple[float, float]:
    """A token-paged list's chain (every page fetched in turn, nothing else) and its pages' CPU (one page's × pages)."""
    await provider._fetch_owned_page(QUERY, None)  # warm the connection (and a vendor's price list)
    decoding = _DecodeTimer(provider)
    started = time.perf_counter()
    page = await provider._fetch_owned_page(QUERY, None)
    first = page
    pages = 1
    while page.next_token is not None:
        page = await provider._fetch_owned_page(QUERY, page.next_token)
        pages += 1
    chain = time.perf_counter() - started
    decode = decoding.stop() / pages
    started = time.perf_counter()
    for record in first.records:
        normalize_owned_record(provider, record, QUERY)
    return chain, (time.perf_counter() - started + decode) * pages


async def _read(env: dict[str, str]) -> tuple[float, int]:
    providers = _providers(env)
    started = time.perf_counter()
    result = await numbroker.owned(providers, deadline=600)
    wall = time.perf_counter() - started
    for provider in providers:
        await provider.aclose()
    return wall, len(result.numbers)


_LAUNCHER = """
import os, subprocess, sys
process = subprocess.Popen(sys.argv[2:], stdout=open(sys.argv[1], "w"), stderr=subprocess.PIPE)
_, status, usage = os.wait4(process.pid, 0)
sys.stderr.write(process.stderr.read().decode(errors="replace")[-300:])
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""
"""Runs a command and prints its exit code and peak resident memory (KiB). Linux carries a process's peak
across ``exec`` from the process it was forked from, so the command is started by this small interpreter,
never by the benchmark, whose own memory (50,000 numbers read in-process) would be counted as its peak."""


def _peak_rss_mb(env: dict[str, str]) -> tuple[float, int]:
    """Peak resident memory (MB) of one ``numbroker owned --format ndjson`` process, and the lines it wrote."""
    with tempfile.TemporaryDirectory() as home:
        run_env = {**env, "XDG_DATA_HOME": home}
        run_env.pop("NUMBROKER_LEDGER", None)
        out = Path(home) / "owned.ndjson"
        command = [sys.executable, "-m", "numbroker", "owned", "--format", "ndjson", "--timeout", "600"]
        done = subprocess.run(
            [sys.executable, "-c", _LAUNCHER, str(out), *command],
            env=run_env,
            capture_output=True,
            text=True,
            check=False,
        )
        code, peak_kib = (int(value) for value in done.stdout.split())
        if code != 0:
            raise RuntimeError(f"numbroker owned exited {code}: {done.stderr[-300:]}")
        with out.open() as lines:
            return peak_kib / 1024, sum(1 for _ in lines)


def run(quick: bool) -> ScenarioResult:
    """Run the scenario (quick: 1,000 numbers a provider and 2 rounds; full: 7,143 and 5, about 50,000 in all)."""
    result = ScenarioResult("owned")
    each = 1_000 if quick else 7_143
    rounds = 2 if quick else 5
    small_mb, small_lines = _served_peak(143)  # about 1,000 numbers in all
    mid = None if quick else _served_peak(1_429)  # about 10,000
    server, env = _serve(each)
    try:
        counts = dict.fromkeys(IDS, each)
        ratios: list[float] = []
        walls: list[float] = []
        bounds: list[float] = []
        numbers = 0
        chains: dict[str, float] = {}
        anyio.run(_read, env)  # every page rendered once by its sandbox, then answered from the recording
        _command(server, "mode prerendered")
        for _ in range(rounds):
            wall, numbers = anyio.run(_read, env)
            bound, chains = anyio.run(_bound, env, counts)
            walls.append(wall)
            bounds.append(bound)
            ratios.append(wall / bound)
        result.figures.append(
            Figure.bounded(
                f"owned wall / critical-path bound @ {LATENCY * 1000:.0f} ms",
                median(ratios),
                "<=",
                1.15,
                reference={
                    "numbers": numbers,
                    "wall_ms": round(median(walls) * 1000),
                    "bound_ms": round(median(bounds) * 1000),
                    **{f"chain_{pid}_ms": round(value * 1000) for pid, value in chains.items()},
                },
                samples=ratios,
            )
        )
        big_mb, big_lines = _peak_rss_mb(env)
    finally:
        _stop(server)
    result.figures.append(
        Figure.bounded(
            "owned --format ndjson peak memory: 50k numbers / 1k numbers",
            big_mb / small_mb,
            "<=",
            1.25,
            reference={
                "small_numbers": small_lines - 1,
                "big_numbers": big_lines - 1,
                "small_mb": round(small_mb, 1),
                "big_mb": round(big_mb, 1),
            },
        )
    )
    if mid is None:
        return result
    mid_mb, mid_lines = mid
    result.figures.append(
        Figure.bounded(
            "owned --format ndjson peak memory: 50k numbers / 10k numbers",
            big_mb / mid_mb,
            "<=",
            1.25,
            reference={"mid_numbers": mid_lines - 1, "big_numbers": big_lines - 1, "mid_mb": round(mid_mb, 1)},
        )
    )
    return result


def _served_peak(each: int) -> tuple[float, int]:
    """:func:`_peak_rss_mb` against a server of its own holding ``each`` owned numbers a provider."""
    server, env = _serve(each)
    try:
        return _peak_rss_mb(env)
    finally:
        _stop(server)


if __name__ == "__main__":  # pragma: no cover - manual runs
    print(json.dumps(run("--quick" in sys.argv).to_json(), indent=2, default=str))
