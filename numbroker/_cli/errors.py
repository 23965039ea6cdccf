"""User mistakes as one line on stderr and exit 2; hints where the user plainly meant something else.

Every problem the command line reports to a person is a single line that says what to fix: click's
own usage errors (a missing option, a bad choice), numbroker's configuration errors and pydantic
validation errors (flattened: field and reason, never the dump with its documentation URL).
:func:`command_errors` is how every command turns numbroker's configuration errors into that line, and
Ctrl-C into a clean exit 130.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import click

from numbroker._cli.exits import ExitCode
from numbroker._exceptions import ConfigurationError, UnknownProviderError
from numbroker._exceptions import validation_summary as validation_message

__all__ = ["UsageProblem", "command_errors", "country_hint", "one_line", "show_one_line", "validation_message"]

_COUNTRY_HINTS = {"UK": "GB", "EN": "GB", "USA": "US", "EL": "GR"}
"""Codes people type that are not ISO 3166-1 alpha-2 country codes, and the code they mean."""


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) collapsed to one space."""
    return " ".join(text.split())


def country_hint(value: str) -> str:
    """`` (did you mean GB?)`` for a code people mistake for one (``UK``), else an empty string."""
    meant = _COUNTRY_HINTS.get(value.strip().upper())
    return f" (did you mean {meant}?)" if meant else ""


def show_one_line(error: click.ClickException, file: IO[Any] | None = None) -> None:
    """Print ``error`` as ``Error: message`` on one line, naming the help to read for a usage error."""
    message = one_line(error.format_message())
    if isinstance(error, click.UsageError) and error.ctx is not None and not isinstance(error, UsageProblem):
        message += f" (see '{error.ctx.command_path} --help')"
    click.echo(f"Error: {message}", file=file, err=file is None)


class UsageProblem(click.UsageError):
    """A usage or configuration error: exit 2 with a one-line message that says what to fix."""

    def show(self, file: IO[Any] | None = None) -> None:
        """Print the message on one line (no usage block)."""
        show_one_line(self, file)


@contextmanager
def command_errors() -> Iterator[None]:
    """Turn numbroker's configuration errors into exit 2 and Ctrl-C into a clean exit 130."""
    try:
        yield
    except (ConfigurationError, UnknownProviderError) as exc:
        raise UsageProblem(str(exc)) from None
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(ExitCode.INTERRUPTED)
