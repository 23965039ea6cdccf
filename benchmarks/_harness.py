"""Shared benchmark plumbing: figures, medians of paired ratios, and the result table.

Every figure is a ratio against a baseline measured in the same run (the machine is shared and noisy,
so absolute numbers are only reported for reference). Subject and baseline are measured back to back,
``repeats`` times, and the figure is the median of the per-pair ratios.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from numbroker.adapters import RateLimit

__all__ = [
    "Figure",
    "ScenarioResult",
    "median",
    "paired_ratios",
    "rate_limit_bound",
    "render_table",
    "time_async",
    "time_sync",
]


@dataclass
class Figure:
    """One reported figure: a ratio against a same-run baseline, with its target if it has one.

    Attributes:
        name: what is compared, e.g. ``wall / critical-path bound @ 20 ms``.
        ratio: the median of the paired ratios.
        target: the target in words, e.g. ``<= 1.15``, or None when the figure is informational.
        met: whether the target is met (None without a target).
        reference: absolute values for reference (ms, MB, offers/s), never the figure itself.
        samples: every paired ratio, for the JSON.
    """

    name: str
    ratio: float
    target: str | None = None
    met: bool | None = None
    reference: dict[str, float | int | str] = field(default_factory=dict)
    samples: list[float] = field(default_factory=list)

    @classmethod
    def bounded(
        cls,
        name: str,
        ratio: float,
        op: Literal["<=", ">="],
        limit: float,
        reference: dict[str, float | int | str] | None = None,
        samples: list[float] | None = None,
    ) -> Figure:
        """A figure whose target is a bound on the ratio itself."""
        met = ratio <= limit if op == "<=" else ratio >= limit
        return cls(name, ratio, f"{op} {limit:g}", met, reference or {}, samples or [])

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return asdict(self)


@dataclass
class ScenarioResult:
    """Figures of one scenario, or the error that stopped it."""

    name: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    elapsed_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "name": self.name,
            "ok": self.error is None,
            "error": self.error,
            "elapsed_s": round(self.elapsed_s, 2),
            "notes": self.notes,
            "figures": [f.to_json() for f in self.figures],
        }


def median(values: Sequence[float]) -> float:
    """The median (of a non-empty sequence)."""
    return float(statistics.median(values))


def time_sync(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes (after a full garbage collection)."""
    gc.collect()
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


async def time_async(fn: Callable[[], Awaitable[object]]) -> float:
    """Seconds one await of ``fn()`` takes (after a full garbage collection)."""
    gc.collect()
    started = time.perf_counter()
    await fn()
    return time.perf_counter() - started


def paired_ratios(subject: Sequence[float], baseline: Sequence[float]) -> list[float]:
    """Per-repeat ratios ``subject[i] / baseline[i]``."""
    return [s / b for s, b in zip(subject, baseline, strict=True)]


def rate_limit_bound(
    requests: Mapping[str, int], buckets: Mapping[str, RateLimit | None], latency: float
) -> tuple[float, str]:
    """The bound the vendors' rate limits set on sending ``requests`` to each, and the vendor that sets it.

    A bucket of ``burst`` tokens refilled at ``rate`` a second cannot let ``n`` requests all leave sooner
    than ``max(0, n - burst) / rate`` seconds after the first; the last one's answer takes one ``latency``
    more. A vendor without a bucket (None) sets no such bound.
    """
    worst, busiest = 0.0, ""
    for pid, count in requests.items():
        bucket = buckets.get(pid)
        if bucket is None:
            continue
        rate = bucket.requests / bucket.per
        seconds = max(0, count - bucket.requests) / rate + latency
        if seconds > worst:
            worst, busiest = seconds, pid
    return worst, busiest


def _format_ratio(figure: Figure) -> str:
    value = figure.ratio
    text = f"{value:.3g}×" if value < 100 else f"{value:,.0f}×"
    return text


def _format_reference(reference: dict[str, float | int | str]) -> str:
    parts = []
    for key, value in reference.items():
        if isinstance(value, float):
            parts.append(f"{key}={value:,.3g}" if abs(value) < 1000 else f"{key}={value:,.0f}")
        else:
            parts.append(f"{key}={value}")
    return ", ".join(parts)


def render_table(results: Sequence[ScenarioResult]) -> str:
    """A plain-text table: scenario, figure, ratio, target, met, reference values."""
    rows: list[tuple[str, str, str, str, str, str]] = [("scenario", "figure", "ratio", "target", "met", "reference")]
    for result in results:
        if result.error is not None:
            rows.append((result.name, "CRASHED", "-", "-", "-", result.error[:100]))
            continue
        for figure in result.figures:
            met = {True: "yes", False: "NO", None: ""}[figure.met]
            target = figure.target or ""
            rows.append(
                (result.name, figure.name, _format_ratio(figure), target, met, _format_reference(figure.reference))
            )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[i].ljust(widths[i]) for i in range(5)]
        lines.append("  ".join(cells) + "  " + row[5])
        if index == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 9)
    lines.extend(f"note ({result.name}): {note}" for result in results for note in result.notes)
    return "\n".join(lines)
