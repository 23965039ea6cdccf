"""Scenario 5: the command line as fast as its parts.

``numbroker search --country US --format json`` against the three sandboxes served on loopback (in a
separate process, zero latency), about 1,500 offers, its output to ``/dev/null``. Its wall time is
compared, round by round, with the sum of its unavoidable parts measured in the same run:

* interpreter start with the dependencies a search needs imported (``DEPENDENCIES``: anyio, click,
  httpx and httpcore, which httpx imports only when its first client is built, orjson, phonenumbers,
  pydantic with its ``BaseModel``, which ``import pydantic`` alone leaves unloaded, and rich);
* the same search in-process, in a fresh interpreter that has imported numbroker and built the
  providers: its **warm** wall time (the second search in that process: what a search costs once
  every first-use cost, numbroker's and the dependencies', is paid), and its first.

Two figures, each the median of per-round ratios: ``cli / (start + warm search)`` (the target, at most
1.3: everything a single command pays beyond the search itself, numbroker's own imports and first-use
costs, the command line's parsing and the JSON document, is in the numerator only), and
``cli / (start + first search)`` (the earlier baseline, which counts first-use costs as unavoidable).

Every process runs with bytecode caching on (``PYTHONDONTWRITEBYTECODE`` removed, the first probe writes
the caches), as an installed package runs: otherwise each one compiles numbroker's sources again. The
worker hands its result out of ``anyio.run`` in a cell, as the command line does (see
:func:`numbroker._sync.run_sync`): on Python 3.11 the asyncio runner formats a returned object.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _harness import Figure, ScenarioResult, median

HERE = Path(__file__).parent
SIZE = {"vobiz": 2300, "bird": 1900, "identitycall": 1300}
"""Inventory sizes giving about 1,500 US offers (1,478 at seed 1)."""
SEED = 1
DEPENDENCIES = (
    "import anyio, click, httpcore, httpx, orjson, phonenumbers, pydantic, rich; from pydantic import BaseModel"
)

_WORKER = """
import os, time, anyio
from numbroker import Searcher, SearchQuery

cell = []

async def once():
    async with Searcher(providers, timeout=60, own_providers=True) as searcher:
        cell.append(await searcher.search(SearchQuery(country="US")))

from numbroker._registry import providers_from_env, provider_ids
times = []
for _ in range(2):
    providers, _ = providers_from_env(provider_ids(), env=dict(os.environ))
    started = time.perf_counter()
    anyio.run(once)
    times.append(time.perf_counter() - started)
print(times[0], times[1], len(cell[-1].offers), flush=True)
"""


def _console_script() -> list[str]:
    beside = Path(sys.executable).with_name("numbroker")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "numbroker"]


def _wall(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def run(quick: bool) -> ScenarioResult:
    """Run the scenario (quick: 3 rounds; full: 15)."""
    result = ScenarioResult("cli")
    rounds = 3 if quick else 15
    spec = json.dumps({"seed": SEED, "size": SIZE})
    server = subprocess.Popen(
        [sys.executable, str(HERE / "_sandbox_server.py"), spec],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdin is not None
        info = json.loads(server.stdout.readline())
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VOBIZ_", "BIRD_", "IDENTITYCALL_"))}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(info["env"])
        for pid, url in info["urls"].items():
            env[f"{pid.upper()}_BASE_URL"] = url
        cli = [*_console_script(), "search", "--country", "US", "--format", "json"]
        deps = [sys.executable, "-c", DEPENDENCIES]
        probe = subprocess.run(cli, env=env, capture_output=True, text=True, check=False)
        offers = len(json.loads(probe.stdout)["offers"])
        _wall(deps, env)  # warm the file cache
        ratios, first_ratios, walls, starts, searches, firsts = [], [], [], [], [], []
        for _ in range(rounds):
            start = _wall(deps, env)
            searched = subprocess.run([sys.executable, "-c", _WORKER], env=env, capture_output=True, text=True)
            first, warm = (float(v) for v in searched.stdout.split()[:2])
            wall = _wall(cli, env)
            ratios.append(wall / (start + warm))
            first_ratios.append(wall / (start + first))
            walls.append(wall)
            starts.append(start)
            searches.append(warm)
            firsts.append(first)
        reference = {
            "offers": offers,
            "cli_ms": median(walls) * 1000,
            "start_ms": median(starts) * 1000,
            "warm_search_ms": median(searches) * 1000,
            "first_search_ms": median(firsts) * 1000,
        }
        result.figures.append(
            Figure.bounded(
                "numbroker search --format json / (start with dependencies + warm in-process search)",
                median(ratios),
                "<=",
                1.3,
                reference=reference,
                samples=ratios,
            )
        )
        result.figures.append(
            Figure.bounded(
                "numbroker search --format json / (start with dependencies + first in-process search)",
                median(first_ratios),
                "<=",
                1.3,
                reference=reference,
                samples=first_ratios,
            )
        )
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=30)
    return result
