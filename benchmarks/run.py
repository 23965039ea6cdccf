"""numbroker benchmarks: every figure is a ratio against a baseline measured in the same run.

Usage::

    python benchmarks/run.py [--quick] [--json PATH] [--only SCENARIO ...]

Scenarios (see each module's docstring for the exact definitions):

* ``fan-out`` (``bench_fanout``): the seven sandboxes on loopback (pre-rendered answers, a pinned
  server process) with 20 ms and 80 ms of injected latency, on asyncio and trio; wall time and own time
  / critical-path lower bound (target ≤ 1.15) and speed-up over asking providers and pages one at a
  time (target ≥ 4×).
* ``hostile`` (``bench_hostile``): every adapter's search with every record spoiled by each defect of
  the hostile-vendor suite vs the same search unspoiled: worst time and memory-peak ratio (target ≤ 3).
* ``normalize`` (``bench_normalize``): offers/s through each adapter's full normalization vs bare
  ``phonenumbers.parse`` + ``is_valid_number`` of the same numbers (target ≥ 1×), and vs pydantic
  validation of the finished offers alone.
* ``scale`` (``bench_scale``): 1k/10k/100k offers through ``Searcher.search`` and ``Searcher.top_k``:
  per-offer time growth and tracemalloc peak memory (top-k must stay flat).
* ``start-up`` (``bench_startup``): ``numbroker --version`` and ``import numbroker`` vs ``python -c pass``.
* ``cli`` (``bench_cli``): ``numbroker search --format json`` of about 1,500 offers vs the sum of its
  unavoidable parts: interpreter start with the dependencies imported, plus the same search in-process
  (target ≤ 1.3).
* ``ledger`` (``bench_ledger``): the purchase ledger's writes per purchase (SQLite, PostgreSQL on
  loopback) against the purchase round trip, and N concurrent runs on one account against the same
  runs one after another.
* ``owned`` (``bench_owned``): about 50,000 owned numbers across all seven sandboxes at 20 ms per
  request: ``numbroker.owned`` wall time / the paging critical-path bound
  (target ≤ 1.15), and ``numbroker owned --format ndjson`` peak memory at 50k / at 1k (target ≤ 1.25).
* ``compare`` (``bench_compare``): ``compare`` sweeping ten countries against every sandbox at 20 ms per
  request, each vendor's rate limit applied: wall time / the bound the busiest vendor's bucket sets
  (target ≤ 1.2), and the same countries one after another / all at once.

``--quick`` runs every scenario small (well under a minute on 2 cores), for CI: it checks that the
harness still runs, and exits non-zero if a scenario crashes. No target is ever asserted: a missed
target is reported (``met = NO``), not failed. Results are printed as a table and written as JSON
(default ``benchmarks/results/<mode>-<UTC time>.json``; ``benchmarks/results/`` is git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import bench_cli
import bench_compare
import bench_fanout
import bench_hostile
import bench_ledger
import bench_normalize
import bench_owned
import bench_scale
import bench_startup
from _harness import ScenarioResult, render_table

SCENARIOS: dict[str, Callable[[bool], ScenarioResult]] = {
    "fan-out": bench_fanout.run,
    "hostile": bench_hostile.run,
    "normalize": bench_normalize.run,
    "scale": bench_scale.run,
    "start-up": bench_startup.run,
    "cli": bench_cli.run,
    "ledger": bench_ledger.run,
    "owned": bench_owned.run,
    "compare": bench_compare.run,
}
RESULTS = Path(__file__).with_name("results")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats (CI)")
    parser.add_argument("--json", type=Path, help="where to write the JSON results")
    parser.add_argument("--only", nargs="+", choices=sorted(SCENARIOS), help="run only these scenarios")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    results: list[ScenarioResult] = []
    for name, scenario in SCENARIOS.items():
        if args.only and name not in args.only:
            continue
        print(f"running {name}…", file=sys.stderr, flush=True)
        begun = time.perf_counter()
        try:
            result = scenario(args.quick)
        except Exception as exc:
            traceback.print_exc()
            result = ScenarioResult(name, error=f"{type(exc).__name__}: {exc}")
        result.elapsed_s = time.perf_counter() - begun
        print(f"  {name}: {result.elapsed_s:.1f}s", file=sys.stderr, flush=True)
        results.append(result)
    elapsed = time.perf_counter() - started

    print(render_table(results))
    document = {
        "meta": {
            "mode": "quick" if args.quick else "full",
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "elapsed_s": round(elapsed, 1),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "scenarios": [r.to_json() for r in results],
    }
    path = args.json
    if path is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = RESULTS / f"{'quick' if args.quick else 'full'}-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"\nresults written to {path} ({elapsed:.0f}s)")
    crashed = [r.name for r in results if r.error is not None]
    if crashed:
        print(f"crashed: {', '.join(crashed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
