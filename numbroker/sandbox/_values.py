"""Deterministic wire values as vendors write them: amounts, JSON numbers, timestamps, uuids and HTTP dates."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime


def draw_money(rng: random.Random, low: str, high: str, *, step: str = "0.01") -> Decimal:
    """Draw an amount in ``[low, high]`` on a grid of ``step``.

    Args:
        rng: The random source.
        low: Lowest amount (decimal string).
        high: Highest amount (decimal string).
        step: Grid (decimal string).

    Returns:
        The amount.
    """
    lo, hi, st = Decimal(low), Decimal(high), Decimal(step)
    return lo + st * rng.randint(0, int((hi - lo) / st))


def json_number(rng: random.Random, amount: Decimal) -> int | float:
    """Return ``amount`` as a JSON number: whole amounts randomly as ``1`` or ``1.0``."""
    if amount == amount.to_integral_value():
        return int(amount) if rng.random() < 0.5 else float(amount)
    return float(amount)


def draw_timestamp(rng: random.Random, *, micro: bool = False, days: int = 365) -> str:
    """Draw an ISO-8601 UTC timestamp in 2025 (``Z`` suffix; optionally with microseconds)."""
    moment = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(days * 86_400))
    if micro:
        moment += timedelta(microseconds=rng.randrange(1_000_000))
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def seeded_uuid(rng: random.Random) -> str:
    """Return a uuid4 string drawn from ``rng``."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def http_date(when: datetime) -> str:
    """Format a datetime as an HTTP date (for ``Retry-After``)."""
    return format_datetime(when.astimezone(UTC), usegmt=True)


def now_iso() -> str:
    """Return the current UTC time as ISO-8601 with milliseconds and ``Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
