"""The CLI's one exit for text: everything written to stdout and stderr passes the process's redaction.

Every secret a provider of this process registered (see :mod:`numbroker._redaction`) is masked in
each output format, in the live progress display, in diagnostics and in receipts, however the text
was built. Lines are held until complete (or flushed), so a secret is never split across two writes.
Also here: :func:`json_text`, how a JSON document is written, :func:`say`, one line on stderr, and
:func:`output_file`, a report written to ``--output`` (redacted alike, and never left half written).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO, cast

import click

from numbroker._redaction import LIBRARY_LOGS
from numbroker._text import visible

__all__ = ["RedactingStream", "json_text", "output_file", "redacted_output", "say"]


class RedactingStream:
    """A text stream that redacts what it writes, line by line, before it reaches ``stream``."""

    def __init__(self, stream: TextIO, redact: Callable[[str], str]) -> None:
        """Wrap ``stream``; ``redact`` masks one stretch of text."""
        self._stream = stream
        self._redact = redact
        self._pending = ""

    def write(self, text: str) -> int:
        """Write the complete lines of what is pending, redacted; keep an unfinished line back."""
        self._pending += text
        cut = self._pending.rfind("\n") + 1
        if cut:
            ready, self._pending = self._pending[:cut], self._pending[cut:]
            self._stream.write(self._redact(ready))
        return len(text)

    def flush(self) -> None:
        """Write what is pending, redacted, and flush the stream."""
        if self._pending:
            ready, self._pending = self._pending, ""
            self._stream.write(self._redact(ready))
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":  # bytes written there would bypass the redaction
            raise AttributeError(name)
        return getattr(self._stream, name)


@contextmanager
def redacted_output() -> Iterator[None]:
    """Route ``sys.stdout`` and ``sys.stderr`` through :class:`RedactingStream` while a command runs."""
    saved = sys.stdout, sys.stderr
    out = RedactingStream(saved[0], LIBRARY_LOGS.redact_terminal)
    err = RedactingStream(saved[1], LIBRARY_LOGS.redact_terminal)
    sys.stdout, sys.stderr = out, err
    try:
        yield
    finally:
        try:
            out.flush()
            err.flush()
        finally:
            sys.stdout, sys.stderr = saved


def say(line: str) -> None:
    """One line on stderr, wrapped at word boundaries on a terminal.

    A full or closed stderr is not a reason to fail (the exit code says it all).
    """
    with contextlib.suppress(OSError):
        click.echo(_wrapped(visible(line)), err=True)  # vendor text in a line is shown, never obeyed


def _wrapped(line: str) -> str:
    """``line`` wrapped to the terminal's width when stderr is one (continuation lines indented), else as is."""
    if not sys.stderr.isatty():
        return line
    import shutil
    import textwrap

    width = shutil.get_terminal_size().columns
    indent = " " * (len(line) - len(line.lstrip(" ")) + 2)
    return "\n".join(textwrap.wrap(line, width=width, subsequent_indent=indent, break_on_hyphens=False)) or line


def json_text(document: Any) -> str:
    """``document`` as an indented JSON document and a newline, in one piece.

    The text is what ``json.dumps(document, indent=2, ensure_ascii=False)`` writes; orjson's encoder
    (installed with the ``cli`` extra) writes it some twenty times faster than the standard library's
    pure-Python indenting encoder.
    """
    try:
        import orjson
    except ImportError:  # pragma: no cover - the cli extra installs orjson
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE).decode()


@contextmanager
def output_file(path: str, option: str = "--output") -> Iterator[TextIO]:
    """A stream into the file ``path``, redacted like stdout, that replaces the file only once written whole.

    The text goes to a temporary file beside ``path`` (with an ordinary new file's permissions), renamed
    over ``path`` when the block ends; an error inside the block leaves ``path`` as it was. A file that
    cannot be written is a usage error naming ``option`` (exit 2, one line).
    """
    from numbroker._cli.errors import UsageProblem

    try:
        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".numbroker-")
    except OSError as exc:
        raise UsageProblem(f"{option} {path!r}: {exc.strerror or exc}") from None
    try:
        with open(handle, "w", encoding="utf-8", newline="") as file:
            stream = RedactingStream(file, LIBRARY_LOGS.redact_terminal)
            yield cast(TextIO, stream)
            stream.flush()
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(temporary, 0o666 & ~mask)
        os.replace(temporary, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise UsageProblem(f"{option} {path!r}: {exc.strerror or exc}") from None
        raise
