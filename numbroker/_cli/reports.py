"""How each provider's part of a search went, one line each on stderr (``search`` and ``buy-cheapest``)."""

from __future__ import annotations

from collections.abc import Iterable

from numbroker._reports import ProviderReport, ProviderStatus

__all__ = ["summary_lines"]


def summary_lines(reports: Iterable[ProviderReport], rejected_total: int) -> list[str]:
    """One line per provider: how it ended and why."""
    lines = []
    for r in reports:
        lines.extend(_report_lines(r))
    if rejected_total:
        lines.append(f"{rejected_total} malformed vendor records were rejected (see --format json, key 'rejected')")
    return lines


def _report_lines(r: ProviderReport) -> list[str]:
    """The line of one provider, and the notes of one known to miss records."""
    if r.status is ProviderStatus.SKIPPED:
        return [f"{r.provider}: skipped (set {', '.join(r.missing_env)})"]
    status = f"{r.status.value}, truncated" if r.truncated else r.status.value
    line = f"{r.provider}: {status} ({'; '.join(_counts(r))})"
    if r.error and r.status.failed:
        line += f": {r.error}"
    if not r.truncated:
        return [line]
    # Records are known to be missing: say so, with the vendor-specific advice the notes carry.
    return [line, *(f"  {r.provider}: {note}" for note in r.notes[:3])]


def _counts(r: ProviderReport) -> list[str]:
    """What one provider's search counted: offers, pages, time, and whatever it retried, rejected or filtered."""
    parts = [f"{r.offers} offers", f"{r.pages} pages", f"{r.elapsed_ms} ms"]
    if r.retries:
        parts.append(f"{r.retries} retries")
    if r.rejected:
        parts.append(f"{r.rejected} records rejected")
    if r.unapplied_filters:
        parts.append("filtered client-side: " + ", ".join(f"{k} ({v})" for k, v in r.unapplied_filters.items()))
    excluded = {k: v for k, v in r.excluded.items() if v}
    if excluded:
        parts.append("excluded: " + ", ".join(f"{k} {v}" for k, v in sorted(excluded.items())))
    return parts
