r"""Vendor text made safe to show: never control for a terminal, never a formula for a spreadsheet.

Text a vendor wrote (an error message, a refusal, a region, an offer id) is data. Before it reaches a
terminal, a table, a log line or a one-line error, :func:`visible` writes every control character as a
visible escape (``ESC`` as ``\x1b``): the C0 range (``BEL``, backspace, ``CR``, ``ESC`` and the rest, tab
and newline included: a cell or a line is one line), ``DEL`` and the C1 range (``CSI`` ``\x9b``, ``OSC``
``\x9d``), and the bidirectional overrides and isolates that reorder what a terminal shows. OSC 52 (the
clipboard), clear-screen, set-title and ``\r`` + erase-line (overwriting a line with a fake one) are all
shown as the characters they are. JSON and NDJSON stay exact: JSON escapes control characters itself.

:func:`csv_cell` does the same for a CSV cell of vendor text, then neutralises a formula as OWASP
recommends: a cell beginning with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading single
quote, so a spreadsheet shows it as text instead of evaluating it. A cell that is only a sign and digits
(an offer id that is the number itself, ``+16178043115``) is written as it is: it calls nothing, and
scripts read the vendor's id exactly.
"""

from __future__ import annotations

import re

__all__ = ["csv_cell", "visible"]

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""C0, DEL, C1, and the bidirectional marks, embeddings, overrides and isolates."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""How a cell a spreadsheet evaluates begins (OWASP's list)."""

_SIGNED_NUMBER = re.compile(r"[+-][0-9]+(?:\.[0-9]+)?")
"""A sign and digits (an id that is an E.164 number, ``+16178043115``): a number, never a formula that calls."""


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    r"""``text`` with every control character written as a visible escape (``\x1b``, ``\u202e``)."""
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(_escape, text)


def csv_cell(text: str) -> str:
    """A CSV cell of vendor text: control characters visible, a formula's first character made text (``'=``)."""
    if text.startswith(_FORMULA_START) and _SIGNED_NUMBER.fullmatch(text) is None:
        text = "'" + text
    return visible(text)
