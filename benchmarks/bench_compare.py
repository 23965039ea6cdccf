"""Scenario: ``compare`` sweeping ten countries at once, against the bound each vendor's rate limit sets.

Every sandbox is served on loopback by a separate process (``_sandbox_server.py``) with 20 ms of latency on
every request. Every vendor's token bucket is applied: its own declared :class:`~numbroker.adapters.RateLimit`
(Bird 50 a second, IdentityCall 60 a minute), and :data:`BENCH_LIMIT` for the vendors that declare none, so
that every vendor's limit binds.

**Rate-limit bound** (per repeat): the sweep sends ``n(v)`` requests to vendor ``v`` (counted by the
server), and a bucket of ``burst(v)`` tokens refilled at ``rate(v)`` a second cannot let them all leave
sooner than ``max(0, n(v) - burst(v)) / rate(v)`` seconds after the first, whose answer then takes one more
round trip: ``bound = max over v of (that + latency)``. Target: wall / bound ≤ 1.2 (the countries share each
vendor's bucket and keep it busy, rather than queueing one search behind another).

**One after another**: with only the vendors' declared limits (which ten countries do not reach), the same
countries searched one at a time, over all at once (informational: what the concurrency saves where no
bucket binds; where one binds, as above, no order of the requests can beat it).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
from _harness import Figure, ScenarioResult, median, rate_limit_bound
from bench_fanout import SandboxProcess

from numbroker import Provider, Searcher
from numbroker._compare import compare
from numbroker._registry import get_provider_class
from numbroker.adapters import RateLimit

COUNTRIES = ["US", "GB", "DE", "FR", "CA", "AU", "NL", "ES", "IT", "SE"]
LATENCY = 0.02
BENCH_LIMIT = RateLimit(2, 0.2)
"""The bucket of a vendor that declares no rate limit: 10 requests a second, bursting to 2."""
SERVER = Path(__file__).with_name("_sandbox_server.py")


class _Server(SandboxProcess):
    """The fan-out scenario's sandbox server process, every sandbox at its own default size."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER), json.dumps({"seed": 3})],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        info = json.loads(self._readline())
        self.urls = info["urls"]
        self.env = info["env"]

    def requests(self) -> dict[str, int]:
        """Requests each sandbox has served so far."""
        counts: dict[str, int] = json.loads(self.command("requests"))
        return counts


@contextmanager
def _served() -> Iterator[_Server]:
    server = _Server()
    try:
        yield server
    finally:
        server.close()


def limits(ids: Iterator[str] | list[str]) -> dict[str, RateLimit]:
    """Each vendor's bucket: its declared rate limit, else :data:`BENCH_LIMIT`."""
    return {pid: get_provider_class(pid).rate_limit or BENCH_LIMIT for pid in ids}


def _providers(server: _Server, buckets: Mapping[str, RateLimit] | None) -> list[Provider]:
    """Real adapters pointed at the served sandboxes, each with its bucket (None: as declared)."""
    out = []
    for pid, url in server.urls.items():
        cls = get_provider_class(pid)
        if buckets is not None:
            cls = type(f"Limited{cls.__name__}", (cls,), {"rate_limit": buckets[pid]})
        out.append(cls(env=server.env, base_url=url))
    return out


async def _sweep(server: _Server, buckets: Mapping[str, RateLimit] | None, *, together: bool) -> tuple[float, int]:
    """Wall seconds of the ten-country comparison (all at once, or one country after another); rows found."""
    async with Searcher(_providers(server, buckets), timeout=300, own_providers=True) as searcher:
        started = time.perf_counter()
        if together:
            comparison = await compare(searcher, COUNTRIES)
            rows = len(comparison.rows)
        else:
            rows = 0
            for country in COUNTRIES:
                rows += len((await compare(searcher, [country])).rows)
        elapsed = time.perf_counter() - started
        if together and comparison.status.value != "complete":
            raise RuntimeError(f"the sweep was {comparison.status.value}")
    return elapsed, rows


def run(quick: bool) -> ScenarioResult:
    """Run the scenario (quick: 1 repeat; full: 3)."""
    result = ScenarioResult("compare")
    repeats = 1 if quick else 3
    with _served() as server:
        server.command(f"latency {LATENCY}")
        buckets = limits(list(server.urls))
        ratios, walls, bounds, speedups = [], [], [], []
        busiest, sent, rows = "", {}, 0
        for _ in range(repeats):
            before = server.requests()
            wall, rows = anyio.run(lambda: _sweep(server, buckets, together=True))
            after = server.requests()
            sent = {pid: after[pid] - before[pid] for pid in after}
            limit, busiest = rate_limit_bound(sent, buckets, LATENCY)
            ratios.append(wall / limit)
            walls.append(wall)
            bounds.append(limit)
            at_once, _ = anyio.run(lambda: _sweep(server, None, together=True))
            one_by_one, _ = anyio.run(lambda: _sweep(server, None, together=False))
            speedups.append(one_by_one / at_once)
    reference: dict[str, Any] = {
        "countries": len(COUNTRIES),
        "rows": rows,
        "wall_ms": round(median(walls) * 1000),
        "bound_ms": round(median(bounds) * 1000),
        "busiest": busiest,
        **{f"requests_{pid}": count for pid, count in sent.items()},
    }
    result.figures.append(
        Figure.bounded(
            f"compare wall / rate-limit bound, 10 countries @ {LATENCY * 1000:.0f} ms",
            median(ratios),
            "<=",
            1.2,
            reference=reference,
            samples=ratios,
        )
    )
    result.figures.append(
        Figure("declared limits only: one country after another / all at once", median(speedups), samples=speedups)
    )
    result.notes.append("buckets: " + ", ".join(f"{pid} {b.requests}/{b.per:g}s" for pid, b in sorted(buckets.items())))
    return result


if __name__ == "__main__":  # pragma: no cover - manual runs
    print(json.dumps(run("--quick" in sys.argv).to_json(), indent=2, default=str))
