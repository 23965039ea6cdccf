"""Numbers a caller gives the library, checked once: finite and in range, or a one-line ConfigurationError.

``float("nan")`` compares false with everything, so a check written ``if value <= 0`` lets it through;
and ``float("inf")`` as a delay waits forever. Every number of seconds a caller passes goes through
:func:`check_seconds`, every count through :func:`check_count`.
"""

from __future__ import annotations

import ipaddress
import math

from numbroker._exceptions import ConfigurationError

__all__ = ["MAX_MONTHS", "MAX_SECONDS", "check_count", "check_seconds", "is_loopback"]

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})

MAX_MONTHS = 1200
"""Largest number of months a total counts (a hundred years)."""

MAX_SECONDS = 3600.0
"""Longest duration (a timeout, a deadline, a delay) a caller may give: one hour."""


def check_seconds(name: str, value: object, *, allow_zero: bool = False, maximum: float = MAX_SECONDS) -> float:
    """``value`` as a float: a finite number of seconds above 0 (0 too with ``allow_zero``), at most ``maximum``.

    Raises:
        ConfigurationError: naming ``name``, the range and the value given.
    """
    low = "from 0" if allow_zero else "above 0"
    problem = f"{name} must be a finite number of seconds {low} and at most {maximum:g}, got {value!r}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(problem)
    try:
        seconds = float(value)
    except OverflowError:
        raise ConfigurationError(problem) from None
    if not math.isfinite(seconds) or seconds > maximum or seconds < 0 or (seconds == 0 and not allow_zero):
        raise ConfigurationError(problem)
    return seconds


def check_count(name: str, value: object, *, minimum: int = 1, maximum: int | None = None) -> int:
    """``value`` if it is a whole number (not a bool) from ``minimum`` to ``maximum``.

    Raises:
        ConfigurationError: naming ``name``, the range and the value given.
    """
    upper = f" to {maximum}" if maximum is not None else " or more"
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        raise ConfigurationError(f"{name} must be a whole number from {minimum}{upper}, got {value!r}")
    return value


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (brackets around IPv6 allowed)."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
