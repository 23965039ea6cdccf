"""Scenario 3: how search cost grows with the number of offers, in time and in memory.

Two ``FakeProvider`` instances (``numbroker.testing``; page cap lifted) serve prebuilt raw record dicts in pages of 100,
so every offer goes through the token-paging engine, full normalization (``AvailableNumber``
validation, including E.164 parsing) and ranking. Building the records is not measured.

* **time**: wall seconds of ``Searcher.search`` (collect all, rank all) and of ``Searcher.top_k(k=10)``
  at each size; figure: per-offer time at the largest size / per-offer time at the smallest
  (1.0 = linear).
* **memory**: ``tracemalloc`` peak during the search (separate runs: tracing slows Python down);
  figures: peak at the largest size / peak at the smallest. ``top_k`` must stay flat: its target is
  that the largest size costs at most 4 MB more than the smallest.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from typing import Any

import anyio
import phonenumbers
from _harness import Figure, ScenarioResult, median, paired_ratios

from numbroker import Searcher, SearchQuery, SearchResult
from numbroker.testing import FakeProvider

QUERY = SearchQuery(country="US")
AREA_CODES = ("212", "213", "305", "312", "404", "415", "512", "617", "646", "206")
TOP_K_BUDGET_MB = 4.0


def _k(count: int) -> str:
    return f"{count / 1000:g}k"


def records(count: int) -> list[dict[str, Any]]:
    """``count`` valid, distinct US offers as raw dicts (what FakeProvider normalizes)."""
    out: list[dict[str, Any]] = []
    index = 0
    while len(out) < count:
        area = AREA_CODES[index % len(AREA_CODES)]
        rest = index // len(AREA_CODES)
        exchange, line = 200 + rest // 10_000 % 800, rest % 10_000
        index += 1
        e164 = f"+1{area}{exchange:03d}{line:04d}"
        if exchange % 100 == 11 or not phonenumbers.is_valid_number(phonenumbers.parse(e164, None)):
            continue
        cents = 50 + (index * 7919) % 500
        out.append(
            {
                "offer_id": f"o{index}",
                "e164": e164,
                "country": "US",
                "number_type": "local",
                "capabilities": ["voice", "sms"],
                "setup_price": {"amount": "0.50", "currency": "USD"},
                "monthly_price": {"amount": f"{cents // 100}.{cents % 100:02d}", "currency": "USD"},
            }
        )
    return out


class _ScaleFake(FakeProvider):
    """FakeProvider with the runaway-paging cap lifted (100k offers in pages of 100 is 1000 pages)."""

    max_pages = 100_000


def _providers(data: list[dict[str, Any]]) -> list[FakeProvider]:
    half = len(data) // 2
    return [
        _ScaleFake(data[:half], provider_id="fake_a", page_size=100),
        _ScaleFake(data[half:], provider_id="fake_b", page_size=100),
    ]


async def _search(data: list[dict[str, Any]], top_k: bool) -> SearchResult:
    async with Searcher(_providers(data), timeout=3600, own_providers=True) as searcher:
        return await (searcher.top_k(QUERY, 10) if top_k else searcher.search(QUERY))


def _wall(data: list[dict[str, Any]], top_k: bool) -> float:
    """Seconds of one search, timed inside the event loop (see ``_return_path`` for why)."""
    elapsed: list[float] = []

    async def timed() -> None:
        started = time.perf_counter()
        result = await _search(data, top_k)
        elapsed.append(time.perf_counter() - started)
        expected = 10 if top_k else len(data)
        if len(result.offers) != expected:
            raise RuntimeError(f"expected {expected} offers, got {len(result.offers)}")

    gc.collect()
    anyio.run(timed)
    return elapsed[0]


def _return_path(data: list[dict[str, Any]]) -> tuple[float, float]:
    """Seconds of ``anyio.run(search)`` returning the result, and of the same run returning None.

    On CPython 3.11, ``asyncio.Runner`` restores the SIGINT handler on exit; ``signal.signal`` then tries
    ``Handlers(previous)``, whose ValueError message formats ``%r`` of the previous handler, a
    ``functools.partial(_on_sigint, main_task=task)``: the finished task's repr includes
    ``reprlib.repr(result)``, i.e. pydantic's full repr of every offer. ``numbroker.search()`` and the
    CLI return the SearchResult through ``anyio.run`` exactly like this.
    """
    kept: list[SearchResult] = []

    async def boxed() -> None:
        kept.append(await _search(data, False))

    gc.collect()
    started = time.perf_counter()
    anyio.run(_search, data, False)
    returned = time.perf_counter() - started
    gc.collect()
    started = time.perf_counter()
    anyio.run(boxed)
    return returned, time.perf_counter() - started


def _peak_mb(data: list[dict[str, Any]], top_k: bool) -> float:
    async def search() -> None:
        await _search(data, top_k)

    gc.collect()
    tracemalloc.start()
    try:
        anyio.run(search)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def run(quick: bool) -> ScenarioResult:
    """Run the scenario (quick: 500/1.5k/5k offers, 3 repeats; full: 1k/10k/100k, 3 repeats)."""
    result = ScenarioResult("scale")
    sizes = (500, 1_500, 5_000) if quick else (1_000, 10_000, 100_000)
    repeats = 3
    data = records(sizes[-1])
    anyio.run(_search, data[:200], False)  # warm-up: imports, phonenumbers metadata
    for top_k in (False, True):
        label = "top_k(10)" if top_k else "search"
        walls: dict[int, list[float]] = {n: [] for n in sizes}
        for _ in range(repeats):
            for n in sizes:  # interleaved, so that drift hits every size alike
                walls[n].append(_wall(data[:n], top_k))
        small, large = sizes[0], sizes[-1]
        per_offer = {n: [w / n for w in walls[n]] for n in sizes}
        growth = paired_ratios(per_offer[large], per_offer[small])
        reference: dict[str, float | int | str] = {f"{_k(n)}_ms": median(walls[n]) * 1000 for n in sizes}
        reference["us_per_offer_at_max"] = median(per_offer[large]) * 1e6
        result.figures.append(
            Figure(
                f"{label}: per-offer time {_k(large)} / {_k(small)}",
                median(growth),
                reference=reference,
                samples=growth,
            )
        )
        peaks = {n: _peak_mb(data[:n], top_k) for n in sizes}
        memory: dict[str, float | int | str] = {f"{_k(n)}_MB": peaks[n] for n in sizes}
        delta = peaks[large] - peaks[small]
        memory["delta_MB"] = delta
        if top_k:
            result.figures.append(
                Figure(
                    f"{label}: peak memory {_k(large)} / {_k(small)}",
                    peaks[large] / peaks[small],
                    f"delta <= {TOP_K_BUDGET_MB:g} MB",
                    delta <= TOP_K_BUDGET_MB,
                    memory,
                )
            )
        else:
            memory["kB_per_offer_at_max"] = peaks[large] * 1024 / large
            result.figures.append(
                Figure(f"{label}: peak memory {_k(large)} / {_k(small)}", peaks[large] / peaks[small], reference=memory)
            )
    returned, boxed = zip(*(_return_path(data) for _ in range(repeats)), strict=True)
    ratios = paired_ratios(list(returned), list(boxed))
    result.figures.append(
        Figure(
            f"anyio.run returning the {_k(sizes[-1])} result / returning None",
            median(ratios),
            reference={"returned_ms": median(returned) * 1000, "boxed_ms": median(boxed) * 1000},
            samples=ratios,
        )
    )
    return result
