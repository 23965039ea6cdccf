"""Scenario 8: a portfolio of owned numbers read at the speed of its paging, in flat memory.

All seven sandboxes (Vobiz, Bird, IdentityCall, Telnyx, Twilio, Vonage, Plivo) are served on loopback by a
separate process (``_sandbox_server.py``) with about 50,000 owned numbers between them (a seventh each;
1,000 each in quick mode) and ``Faults(latency=0.02)`` on every request. Vobiz, IdentityCall, Telnyx,
Vonage and Plivo page by number (100, 100, 250, 100 and 20 at a time: Plivo's is the long numbered
chain); Bird (99 a page) and Twilio (250 a page, account by account) page by token, one page after
another.

**Wall time over the paging critical path** (per round): ``numbroker.owned`` over the seven providers,
against a lower bound measured in the same round with the same adapters:

* numbered lists: ``first(p)``, one owned-list page fetched alone (``_fetch_owned_page``); ``wave(p)``,
  ``owned_window(p)`` pages fetched at once; chain bound ``first + ceil((pages - 1) / owned_window) ×
  wave`` (numbered pages are fetched concurrently once page 1 gave the total, at most the owned-list
  window in flight);
* token lists: every page fetched one after another by its token, nothing else done (a token names the
  next page only once the one before it arrived, so the chain cannot be shorter);
* rate limits: a vendor's declared bucket paces its requests, so a chain is never shorter than
  ``max(0, requests - burst) / rate`` plus one answer (the rule of the ``compare`` scenario, with the
  requests the read really sent). At 50,000 numbers this is the bound: IdentityCall's 60 requests a
  minute let its 72 pages go no sooner than 12 s;
* CPU bound: fetching, decoding and normalizing every page (this process's CPU for one page, measured,
  times the pages; a token list's fetches measured whole), all providers sharing one event loop;
* **bound = max(slowest chain, CPU bound)**. Target: wall / bound ≤ 1.15.

A second row, without a target, is the read's own CPU over the CPU bound: what the read spends beyond its
pages' fetching and normalizing (the summary, the sort, the hand-offs between tasks), which a
rate-limited wall does not show.

As in the fan-out scenario, the emulators are kept out of the client's way: their process is pinned to
the machine's last core, and once one read has had every page rendered by its sandbox, the measured rounds
are answered from those recorded bytes (``mode prerendered``), so the seven emulators' own CPU (routing
and rendering some 50,000 numbers a round) is not counted against numbroker.

**Memory**: ``numbroker owned --format ndjson`` in a process of its own, its peak resident memory
against 50,000 numbers over its peak against 1,000 (each number is written as it arrives and only the
summary is kept). Target: ≤ 1.25 (flat). What is held is bounded by the owned-list windows, not by the
portfolio: about ``OWNED_WINDOW_RECORDS`` records a provider answered and not yet handed on (whole pages,
at least one), and a 16-byte digest a number to drop repeats. A portfolio of 1,000 numbers (one or two
pages a provider) never fills the windows, so the same ratio is also given against 10,000 numbers.
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
from _harness import Figure, ScenarioResult, median, rate_limit_bound

import numbroker
from numbroker import OwnedQuery, Provider
from numbroker._registry import providers_from_env
from numbroker.adapters._portfolio import normalize_owned_record, owned_window

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


_FETCHES = 3
"""One page is fetched this many times to read its fetch CPU (the median is kept)."""


async def _fetch_cpu(provider: Provider, page: int | str | None) -> tuple[float, Any]:
    """This process's CPU to fetch and decode one owned-list page (median of :data:`_FETCHES`), and the page.

    The fetch is real (sockets, HTTP parsing, the backend's I/O, the JSON decoding: CPU every read must
    spend); the server's latency is waiting, which this process's CPU time does not count.
    """
    spent: list[float] = []
    answer = None
    for _ in range(_FETCHES):
        started = time.process_time()
        answer = await provider._fetch_owned_page(QUERY, page)
        spent.append(time.process_time() - started)
    return median(spent), answer


def _normalize_cpu(provider: Provider, records: Any) -> float:
    """This process's CPU to normalize one page's records."""
    started = time.process_time()
    for record in records:
        normalize_owned_record(provider, record, QUERY)
    return time.process_time() - started


async def _bound(
    env: dict[str, str], counts: dict[str, int], requests: dict[str, int]
) -> tuple[float, float, dict[str, float]]:
    """The critical-path lower bound of reading every list, measured now, and its CPU part.

    ``requests``: what the read sent each vendor, for the bound its rate limit sets (a vendor's chain is
    the longer of its paging and its bucket's pacing).
    """
    chains: dict[str, float] = {}
    cpu = 0.0
    for provider in _providers(env):
        paced, _ = rate_limit_bound({provider.id: requests[provider.id]}, {provider.id: provider.rate_limit}, LATENCY)
        chains[provider.id] = paced
        async with provider:
            if provider.owned_paging == "token":
                chain, spent = await _token_chain(provider)
                chains[provider.id] = max(paced, chain)
                cpu += spent
                continue
            pages = math.ceil(counts[provider.id] / provider.owned_per_page)
            await provider._fetch_owned_page(QUERY, 1)  # warm the connection
            fetch, page = await _fetch_cpu(provider, 1)
            started = time.perf_counter()
            await provider._fetch_owned_page(QUERY, 1)
            first = time.perf_counter() - started
            window = owned_window(provider)
            width = min(window, max(1, pages - 1))
            started = time.perf_counter()
            async with anyio.create_task_group() as tg:
                for number in range(2, 2 + width):
                    tg.start_soon(provider._fetch_owned_page, QUERY, number)
            wave = time.perf_counter() - started
            chains[provider.id] = max(paced, first + math.ceil((pages - 1) / window) * wave)
            cpu += (fetch + _normalize_cpu(provider, page.records)) * pages
    return max(max(chains.values()), cpu), cpu, chains


async def _token_chain(provider: Provider) -> tuple[float, float]:
    """A token-paged list's chain (every page fetched in turn, nothing else) and its pages' CPU.

    The CPU is what fetching and decoding every page of the chain cost, measured whole, and one page's
    normalizing times the pages.
    """
    await provider._fetch_owned_page(QUERY, None)  # warm the connection (and a vendor's price list)
    started, cpu = time.perf_counter(), time.process_time()
    page = await provider._fetch_owned_page(QUERY, None)
    first = page
    pages = 1
    while page.next_token is not None:
        page = await provider._fetch_owned_page(QUERY, page.next_token)
        pages += 1
    chain = time.perf_counter() - started
    fetched = time.process_time() - cpu
    return chain, fetched + _normalize_cpu(provider, first.records) * pages


async def _read(env: dict[str, str]) -> tuple[float, float, int, dict[str, int]]:
    """One read of every list: its wall time, this process's CPU, the numbers, and the requests per vendor."""
    providers = _providers(env)
    started, cpu = time.perf_counter(), time.process_time()
    result = await numbroker.owned(providers, deadline=600)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    for provider in providers:
        await provider.aclose()
    return wall, cpu, len(result.numbers), {report.provider: report.requests for report in result.providers}


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
        cpu_ratios: list[float] = []
        walls: list[float] = []
        bounds: list[float] = []
        numbers = 0
        chains: dict[str, float] = {}
        anyio.run(_read, env)  # every page rendered once by its sandbox, then answered from the recording
        _command(server, "mode prerendered")
        for _ in range(rounds):
            wall, cpu, numbers, requests = anyio.run(_read, env)
            bound, cpu_bound, chains = anyio.run(_bound, env, counts, requests)
            walls.append(wall)
            bounds.append(bound)
            ratios.append(wall / bound)
            cpu_ratios.append(cpu / cpu_bound)
        slowest = max(chains, key=chains.__getitem__)
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
                    "slowest_chain": slowest,
                    **{f"chain_{pid}_ms": round(value * 1000) for pid, value in chains.items()},
                },
                samples=ratios,
            )
        )
        result.figures.append(
            Figure(
                "owned read CPU / its pages' CPU (fetch, decode, normalize, each page alone)",
                median(cpu_ratios),
                samples=cpu_ratios,
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
