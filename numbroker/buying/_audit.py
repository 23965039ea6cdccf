"""The audit log: one JSON object per line, appended, flushed and fsynced, with nothing secret in it.

:class:`AuditLog` writes it (:func:`audit_record` is one line); :func:`purchase_in_flight` reads it back,
to tell whether the last attempt it logged ended without a known outcome.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from numbroker._exceptions import PurchaseError
from numbroker._pricing import money_json
from numbroker.adapters import PurchaseReceipt
from numbroker.buying._plan import PlanRow
from numbroker.buying._results import AttemptOutcome

__all__ = ["PENDING", "AuditLog", "audit_record", "purchase_in_flight"]

PENDING = "pending"
"""The outcome of the line written before a purchase request is sent (its answer gets a line of its own)."""

_IN_FLIGHT = frozenset({PENDING, AttemptOutcome.UNKNOWN.value})
"""Outcomes of a last line that leave a purchase in flight: sent and unanswered, or interrupted mid-request."""


class AuditLog:
    """Appends one JSON object per line; every line is written and fsynced before ``write`` returns.

    The path is checked when the run starts (so a bad path fails before anything is searched or bought),
    but the file is only created by the first line: a run that buys nothing and plans nothing leaves none.
    Every line passes through ``redact`` (the providers' redaction) before it is written.

    A line is never glued onto a torn one: when the file does not end in a newline (an earlier write was
    cut short by a full disk, or a run was killed mid-line), the next line starts with one. Writes go
    straight to the file descriptor (no buffer), so closing never has anything left to fail on.
    """

    def __init__(self, path: str | os.PathLike[str] | None, redact: Callable[[str], str]) -> None:
        self.path = None if path is None else os.fspath(path)
        self._redact = redact
        self._fd: int | None = None
        self._clean_end = False
        if self.path is not None:
            target = self.path
            if os.path.isdir(target):
                raise PurchaseError(f"the audit log {target!r} is a directory")
            where = target if os.path.exists(target) else (os.path.dirname(target) or ".")
            if not os.path.isdir(os.path.dirname(target) or ".") or not os.access(where, os.W_OK):
                raise PurchaseError(f"cannot write the audit log {target!r}")

    def write(self, record: Mapping[str, Any]) -> None:
        """Append ``record`` durably. Raises OSError when the disk refuses (the next line starts afresh)."""
        if self.path is None:
            return
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        line = self._redact(json.dumps(record, ensure_ascii=False, separators=(",", ":"))) + "\n"
        data = line.encode("utf-8")
        if not self._clean_end and not _ends_clean(self._fd):
            data = b"\n" + data
        self._clean_end = False
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)
        self._clean_end = True

    def close(self) -> None:
        """Close the file, if a line was written (never raises)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def _ends_clean(fd: int) -> bool:
    """True when the file is empty or its last byte is a newline."""
    size = os.fstat(fd).st_size
    return size == 0 or os.pread(fd, 1, size - 1) == b"\n"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def audit_record(
    *,
    run_id: str,
    seq: int,
    dry_run: bool,
    row: PlanRow,
    outcome: str,
    reason: str | None,
    request_id: str | None,
    receipt: PurchaseReceipt | None,
) -> dict[str, Any]:
    """One line of the audit log: the offer of ``row`` as priced, and what came of attempt ``seq``."""
    offer = row.offer
    return {
        "time": _now(),
        "run_id": run_id,
        "attempt": seq,
        "dry_run": dry_run,
        "provider": offer.provider,
        "offer_id": offer.offer_id,
        "e164": offer.e164,
        "setup_price": money_json(offer.setup_price),
        "monthly_price": money_json(offer.monthly_price),
        "monthly": money_json(row.monthly),
        "first_bill": money_json(row.first_bill),
        "outcome": outcome,
        "reason": reason,
        "request_id": request_id,
        "vendor_id": receipt.vendor_id if receipt is not None else None,
    }


def purchase_in_flight(path: str | os.PathLike[str]) -> bool:
    """True when the audit log at ``path`` ends with an attempt whose outcome nobody knows.

    That is a last line saying ``pending`` (its request was sent; no answer was logged) or ``unknown``,
    or a torn last line (the write describing the attempt was cut short). A log that is missing,
    unreadable or empty has nothing in flight.
    """
    try:
        with open(path, encoding="utf-8") as log:
            lines = [line for line in log if line.strip()]
    except OSError:
        return False
    if not lines:
        return False
    try:
        last = json.loads(lines[-1])
    except ValueError:
        return True  # a torn last line: the attempt it described did not finish cleanly
    return isinstance(last, dict) and last.get("outcome") in _IN_FLIGHT
