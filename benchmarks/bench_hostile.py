"""Scenario 5: what a hostile vendor costs: time and memory of its worst page, against a normal page.

Every built-in adapter searches its own sandbox (in-process) behind a
:class:`~numbroker.testing.hostile.HostileVendor` spoiling **every** record of every page, once per
defect of the hostile suite: prices of ``1e999999`` and ``1e-999999999``, a total of ``10^400``,
duplicated keys, credentials echoed in every escaped form inside the data, and pages shorter than
asked. The baseline is the same search of the same inventory behind a HostileVendor that decodes and
re-encodes every answer but spoils nothing (so both pay the same emulator cost), interleaved in the
same run. Each measurement runs in a child process under a 2 GiB address-space limit and a time limit,
so a defect that explodes is reported (``crashed``) instead of taking the machine down.

The junk pages (10 MiB of ``1`` items for Vobiz, 6 MB of ``{}`` items for Bird) are measured the same
way, against the same clean search, each as its own figure with the absolute peak for reference.

Figures: the worst time ratio and the worst tracemalloc-peak ratio over all (adapter, defect) pairs
(target ≤ 3 for both: a misbehaving vendor costs about what a well-behaved one does), and each pair's
own ratios as references.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from _harness import Figure, ScenarioResult, median

DEFECTS: dict[str, dict[str, Any]] = {
    "huge exponent": {"price": "1e999999"},
    "tiny exponent": {"price": "1e-999999999"},
    "huge total": {"total": "1" + "0" * 400},
    "duplicate keys": {"duplicate_keys": True},
    "echoed secrets": {"echo_in_data": True},
    "short pages": {"page_size": 7},
}
PIDS = ("vobiz", "bird", "identitycall", "plivo")
JUNK: dict[str, tuple[str, dict[str, Any]]] = {
    "junk page of 10 MiB of 1s": ("vobiz", {"junk": "ones", "junk_bytes": 10 * 1024 * 1024 - 4096}),
    "junk page of 6 MB of {}s": ("bird", {"junk": "objects", "junk_bytes": 6_000_000}),
    "junk page of 300 kB of {}s": ("bird", {"junk": "objects", "junk_bytes": 300_000}),
}
"""Pages of millions of items no record can be made of (the provider fails as junk; memory stays bounded)."""
LIMIT_BYTES = 2 * 1024**3
TIME_LIMIT_S = 120

CHILD = r"""
import json, resource, sys, time, tracemalloc
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
import anyio, httpx
from numbroker import ProviderError, SearchQuery
from numbroker._registry import get_provider_class
from numbroker.sandbox import IN_PROCESS_ORIGIN, create_sandboxes
from numbroker.testing.hostile import Defects, HostileVendor

pid, size, repeats, defects = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
split = len(sys.argv) > 5  # time measured untraced (tracemalloc slows a huge parse tenfold), the peak traced
sandbox = create_sandboxes([pid], seed=2, size=size)[pid]
query = SearchQuery(country="US")

async def search(spec):
    app = HostileVendor(sandbox.app, Defects(records="all", **spec))
    cls = get_provider_class(pid)
    async with cls(env=sandbox.env, base_url=IN_PROCESS_ORIGIN + sandbox.base_path,
                   transport=httpx.ASGITransport(app=app)) as provider:
        kept = []

        async def keep(page):
            kept.extend(page.offers)
            kept.extend(page.rejected)

        try:
            await provider.stream_pages(query, keep)
        except ProviderError:
            pass
        return len(kept)

def measure(spec):
    if split:
        started = time.perf_counter()
        anyio.run(search, spec)
        elapsed = time.perf_counter() - started
    tracemalloc.start()
    started = time.perf_counter()
    records = anyio.run(search, spec)
    if not split:
        elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return elapsed, peak, records

measure({{"reencode": True}})  # warm-up
out = {{"base_s": [], "base_peak": [], "hostile_s": [], "hostile_peak": []}}
for _ in range(repeats):
    for key, spec in (("base", {{"reencode": True}}), ("hostile", defects)):
        elapsed, peak, records = measure(spec)
        out[key + "_s"].append(elapsed)
        out[key + "_peak"].append(peak)
        out[key + "_records"] = records
print(json.dumps(out))
"""


def _child(pid: str, size: int, repeats: int, defects: dict[str, Any], *, split: bool = False) -> dict[str, Any] | str:
    code = CHILD.format(limit=LIMIT_BYTES)
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                code,
                pid,
                str(size),
                str(repeats),
                json.dumps(defects),
                *(["split"] if split else []),
            ],
            capture_output=True,
            text=True,
            timeout=TIME_LIMIT_S * (3 if split else 1),
            cwd=Path(__file__).parent,
        )
    except subprocess.TimeoutExpired:
        return f"timed out after {TIME_LIMIT_S}s"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return f"crashed: {last[:200]}"
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def run(quick: bool) -> ScenarioResult:
    """Run the scenario (quick: 200 records per adapter, 2 repeats; full: 1000, 5 repeats)."""
    result = ScenarioResult("hostile")
    size = 200 if quick else 1000
    repeats = 2 if quick else 5
    worst_time: tuple[float, str] = (0.0, "")
    worst_peak: tuple[float, str] = (0.0, "")
    reference: dict[str, float | int | str] = {}
    for pid in PIDS:
        for name, defects in DEFECTS.items():
            label = f"{pid} {name}"
            measured = _child(pid, size, repeats, defects)
            if isinstance(measured, str):
                reference[label] = measured
                result.notes.append(f"{label}: {measured}")
                worst_time = max(worst_time, (float("inf"), label))
                worst_peak = max(worst_peak, (float("inf"), label))
                continue
            time_ratio = median([h / b for h, b in zip(measured["hostile_s"], measured["base_s"], strict=True)])
            peak_ratio = median([h / b for h, b in zip(measured["hostile_peak"], measured["base_peak"], strict=True)])
            reference[f"{label} time"] = round(time_ratio, 2)
            reference[f"{label} memory"] = round(peak_ratio, 2)
            worst_time = max(worst_time, (time_ratio, label))
            worst_peak = max(worst_peak, (peak_ratio, label))
    result.figures.append(
        Figure.bounded(f"worst time / normal page ({worst_time[1]})", worst_time[0], "<=", 3.0, reference)
    )
    result.figures.append(
        Figure.bounded(f"worst memory peak / normal page ({worst_peak[1]})", worst_peak[0], "<=", 3.0)
    )
    for name, (pid, defects) in JUNK.items():
        measured = _child(pid, size, 1, defects, split=True)  # one repeat: each takes seconds
        if isinstance(measured, str):
            result.notes.append(f"{pid} {name}: {measured}")
            continue
        time_ratio = median([h / b for h, b in zip(measured["hostile_s"], measured["base_s"], strict=True)])
        peak_ratio = median([h / b for h, b in zip(measured["hostile_peak"], measured["base_peak"], strict=True)])
        reference = {
            "junk ms": round(median(measured["hostile_s"]) * 1000, 1),
            "clean ms": round(median(measured["base_s"]) * 1000, 1),
            "junk peak MB": round(median(measured["hostile_peak"]) / 1e6, 1),
            "clean peak MB": round(median(measured["base_peak"]) / 1e6, 1),
            "records kept": measured["hostile_records"],
        }
        result.figures.append(Figure(f"{pid} {name}: time / clean search", time_ratio, reference=reference))
        result.figures.append(Figure(f"{pid} {name}: memory peak / clean search", peak_ratio))
    return result


def main(argv: list[str] | None = None) -> int:
    """Measure chosen (adapter, defect) pairs alone, e.g. ``bench_hostile.py --defect 'echoed secrets'``."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--pid", nargs="+", choices=PIDS, default=list(PIDS), help="adapters (default: all)")
    parser.add_argument("--defect", nargs="+", choices=sorted(DEFECTS), default=sorted(DEFECTS), help="defects")
    parser.add_argument("--size", type=int, default=200, help="records per sandbox (default 200, the quick size)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats (default 3)")
    args = parser.parse_args(argv)
    for pid in args.pid:
        for name in args.defect:
            measured = _child(pid, args.size, args.repeats, DEFECTS[name])
            if isinstance(measured, str):
                print(f"{pid} {name}: {measured}")
                continue
            ratio = median([h / b for h, b in zip(measured["hostile_s"], measured["base_s"], strict=True)])
            print(
                f"{pid} {name}: {ratio:.2f}× ({median(measured['hostile_s']) * 1000:.0f} ms against "
                f"{median(measured['base_s']) * 1000:.0f} ms)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
