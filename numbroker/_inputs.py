"""Numbers a caller gives the library, checked once: finite and in range, or a one-line ConfigurationError.

``float("nan")`` compares false with everything, so a check written ``if value <= 0`` lets it through;
and ``float("inf")`` as a delay waits forever. Every number of seconds a caller passes goes through
:func:`check_seconds`, every count through :func:`check_count`.
"""

from __future__ import annotations

import ipaddress
import math
import os
import stat

from numbroker._exceptions import ConfigurationError

__all__ = [
    "MAX_INPUT_FILE_BYTES",
    "MAX_LIMIT",
    "MAX_MONTHS",
    "MAX_QUANTITY",
    "MAX_SECONDS",
    "check_count",
    "check_seconds",
    "is_loopback",
    "read_input_file",
]

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})

MAX_MONTHS = 1200
"""Largest number of months a total counts (a hundred years)."""

MAX_SECONDS = 3600.0
"""Longest duration (a timeout, a deadline, a delay) a caller may give: one hour."""

MAX_QUANTITY = 1000
"""The most numbers one run may buy."""

MAX_LIMIT = 1_000_000
"""The largest number of offers or ledger rows a caller may ask to be shown."""

MAX_INPUT_FILE_BYTES = 1024 * 1024
"""The largest file numbroker reads from its caller (an exchange-rates file, a ``.env`` file): 1 MiB."""


def read_input_file(path: str | os.PathLike[str], *, name: str) -> str:
    """The text of a small input file: a regular file of at most :data:`MAX_INPUT_FILE_BYTES`, in UTF-8.

    A device (``/dev/zero`` never ends), a pipe or a directory is refused before it is read.

    Raises:
        ConfigurationError: naming ``name`` and the path, saying what is wrong.
    """
    shown = os.fspath(path)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise ConfigurationError(f"{name} {shown!r} is not a regular file")
        with open(path, "rb") as file:
            data = file.read(MAX_INPUT_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigurationError(f"cannot read {name} {shown!r}: {exc.strerror}") from None
    if len(data) > MAX_INPUT_FILE_BYTES:
        raise ConfigurationError(f"{name} {shown!r} is larger than {MAX_INPUT_FILE_BYTES} bytes (1 MiB)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigurationError(f"{name} {shown!r} is not UTF-8 text") from None


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
