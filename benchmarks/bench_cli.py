"""Scenario 5: the command line as fast as its parts.

``numbroker search --country US --format json`` against the three sandboxes served on loopback (in a
separate process, zero latency), about 1,500 offers, its output to ``/dev/null``. Its wall time is
compared, round by round, with the sum of its unavoidable parts measured in the same run:

* interpreter start with the dependencies a search needs imported
  (``python -c "import anyio, click, httpx, phonenumbers, pydantic"``);
* the same search in-process: in a fresh interpreter that has imported numbroker and built the
  providers, the wall time of the search itself (its first, so the dependencies' own first-use costs,
  such as loading phonenumbers' metadata, count as unavoidable).

The figure is the median of ``cli / (start + search)``; target at most 1.3. What is left over is
numbroker's own import cost, the command line's parsing and the writing of the JSON document.
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
DEPENDENCIES = "import anyio, click, httpx, phonenumbers, pydantic"

_WORKER = """
import os, time, anyio
from numbroker import Searcher, SearchQuery

async def once():
    async with Searcher(providers, timeout=60, own_providers=True) as searcher:
        return await searcher.search(SearchQuery(country="US"))

from numbroker._registry import providers_from_env, provider_ids
providers, _ = providers_from_env(provider_ids(), env=dict(os.environ))
started = time.perf_counter()
result = anyio.run(once)
print(time.perf_counter() - started, len(result.offers), flush=True)
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
        env.update(info["env"])
        for pid, url in info["urls"].items():
            env[f"{pid.upper()}_BASE_URL"] = url
        cli = [*_console_script(), "search", "--country", "US", "--format", "json"]
        deps = [sys.executable, "-c", DEPENDENCIES]
        probe = subprocess.run(cli, env=env, capture_output=True, text=True, check=False)
        offers = len(json.loads(probe.stdout)["offers"])
        _wall(deps, env)  # warm the file cache
        ratios, walls, starts, searches = [], [], [], []
        for _ in range(rounds):
            start = _wall(deps, env)
            searched = subprocess.run([sys.executable, "-c", _WORKER], env=env, capture_output=True, text=True)
            search = float(searched.stdout.split()[0])
            wall = _wall(cli, env)
            ratios.append(wall / (start + search))
            walls.append(wall)
            starts.append(start)
            searches.append(search)
        result.figures.append(
            Figure.bounded(
                "numbroker search --format json / (start with dependencies + in-process search)",
                median(ratios),
                "<=",
                1.3,
                reference={
                    "offers": offers,
                    "cli_ms": median(walls) * 1000,
                    "start_ms": median(starts) * 1000,
                    "search_ms": median(searches) * 1000,
                },
                samples=ratios,
            )
        )
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=30)
    return result
