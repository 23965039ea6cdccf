"""The audit log: one JSON object per line, appended, flushed and fsynced, with nothing secret in it."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import IO, Any

from numbroker._exceptions import PurchaseError
from numbroker._pricing import money_json
from numbroker._receipts import PurchaseReceipt
from numbroker.buying._plan import PlanRow

__all__ = ["AuditLog", "audit_record"]


class AuditLog:
    """Appends one JSON object per line; every line is flushed and fsynced before ``write`` returns.

    The path is checked when the run starts (so a bad path fails before anything is searched or bought),
    but the file is only created by the first line: a run that buys nothing and plans nothing leaves none.
    Every line passes through ``redact`` (the providers' redaction) before it is written.
    """

    def __init__(self, path: str | os.PathLike[str] | None, redact: Callable[[str], str]) -> None:
        self.path = None if path is None else os.fspath(path)
        self._redact = redact
        self._file: IO[str] | None = None
        if self.path is not None:
            target = self.path
            if os.path.isdir(target):
                raise PurchaseError(f"the audit log {target!r} is a directory")
            where = target if os.path.exists(target) else (os.path.dirname(target) or ".")
            if not os.path.isdir(os.path.dirname(target) or ".") or not os.access(where, os.W_OK):
                raise PurchaseError(f"cannot write the audit log {target!r}")

    def write(self, record: Mapping[str, Any]) -> None:
        """Append ``record`` durably. Raises OSError when the disk refuses."""
        if self.path is None:
            return
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the run
        line = self._redact(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        self._file.write(line + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        """Close the file, if a line was written."""
        if self._file is not None:
            self._file.close()
            self._file = None


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
