"""The ``numbroker`` command line: the group, which loads each command from its own module when it is needed.

Each command is one module named for it (``search``, ``compare``, ``buy`` for ``buy-cheapest``, ``ledger``,
``owned``, ``providers``, ``release``, ``sandbox``, ``sub_account``) and one line of :data:`COMMANDS`; a module
is imported only when its command runs or ``--help`` lists it. Around them: ``options`` (the options several
commands take, written once), ``exits`` (the exit codes), ``errors`` (one-line usage errors) and ``output``
(redacted stdout and stderr); and the modules named for what they render: ``offers``, ``reports`` and
``hints`` (a search), ``comparison`` (a comparison), ``buy_result``, ``ledger_listing``, ``providers_listing``,
with ``tables`` and ``progress``.

Only the requested format goes to stdout; diagnostics and progress go to stderr.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import logging
import os
import sys

import click

from numbroker._cli.errors import show_one_line
from numbroker._cli.exits import ExitCode

__all__ = ["COMMANDS", "cli", "main"]

COMMANDS = {
    "buy-cheapest": "numbroker._cli.buy:buy_cheapest_command",
    "compare": "numbroker._cli.compare:compare_command",
    "ledger": "numbroker._cli.ledger:ledger_command",
    "owned": "numbroker._cli.owned:owned_command",
    "providers": "numbroker._cli.providers:providers_command",
    "release": "numbroker._cli.release:release_command",
    "sandbox": "numbroker._cli.sandbox:sandbox",
    "search": "numbroker._cli.search:search",
    "sub-account": "numbroker._cli.sub_account:sub_account",
}
"""Each command's name and where it is defined (``module:attribute``), loaded when it is needed."""


class LazyGroup(click.Group):
    """A group whose commands are imported from ``module:attribute`` paths when run or listed."""

    def __init__(self, *args: object, lazy_commands: dict[str, str], **kwargs: object) -> None:
        """``lazy_commands``: each command's name and its ``module:attribute`` path."""
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy_commands = lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command's name, sorted, without importing any."""
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command named ``cmd_name``, imported now if it is a lazy one; None if there is none."""
        path = self.lazy_commands.get(cmd_name)
        if path is None:
            return super().get_command(ctx, cmd_name)
        module, _, attribute = path.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        _resume_collection()
        if not isinstance(command, click.Command):
            raise TypeError(f"{path} is not a click command")
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """The command ``args`` name; for a name that is none, the closest names, lazy commands' too."""
        try:
            return super().resolve_command(ctx, args)
        except click.NoSuchCommand as exc:  # click suggests among the commands it holds, and holds none yet
            raise click.NoSuchCommand(exc.command_name, possibilities=self.list_commands(ctx), ctx=ctx) from None


# Examples live in epilogs: click keeps a paragraph whose first line is the \b character as written.
MAIN_EXAMPLES = """
\b
Try it with no account at all (built-in emulators of every provider):
  numbroker search --sandbox --country US
  numbroker search --sandbox --country GB --type mobile --sort first-bill --format json
  numbroker providers
"""


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=MAIN_EXAMPLES,
)
@click.version_option(package_name="numbroker", prog_name="numbroker")
def cli() -> None:
    """Find the cheapest phone numbers across carriers."""


def main(argv: list[str] | None = None) -> None:
    """Run the command line (the ``numbroker`` console script); every usage error is one line, exit 2."""
    _pause_collection()
    try:
        outcome = cli.main(args=argv, prog_name="numbroker", standalone_mode=False)
        code = outcome if isinstance(outcome, int) else ExitCode.OK
    except SystemExit as exc:
        if exc.code is not None and not isinstance(exc.code, int):
            raise
        code = exc.code or ExitCode.OK
    except click.ClickException as exc:
        show_one_line(exc)
        code = exc.exit_code
    except (click.Abort, KeyboardInterrupt):  # a Ctrl-C outside any command, or at a prompt
        click.echo("interrupted", err=True)
        code = ExitCode.INTERRUPTED
    finally:
        _resume_collection()
    _exit_now(code)


_collection_paused = False
"""True while :func:`main` holds the cyclic garbage collector back, until its command's module is imported."""


def _pause_collection() -> None:
    """Hold the cyclic garbage collector back while the command's modules are imported.

    Importing numbroker and the libraries a command needs allocates tens of thousands of objects the
    collector tracks (classes, functions, pydantic schemas), none of them garbage; collections run during
    the imports (and after them, as those objects age through the generations) only walk them again.
    """
    global _collection_paused
    if gc.isenabled():
        gc.disable()
        _collection_paused = True


def _resume_collection() -> None:
    """Collect again, with what is alive now (the process's modules) frozen out of every later collection.

    A no-op unless :func:`_pause_collection` paused it. A command's own garbage is collected as before;
    the objects frozen live as long as the process does anyway.
    """
    global _collection_paused
    if _collection_paused:
        _collection_paused = False
        gc.freeze()
        gc.enable()


def _exit_now(code: int) -> None:
    """End the process once everything is written, without tearing the interpreter down.

    A search leaves thousands of objects behind; freeing them one by one at exit costs more than
    some searches take, and nothing is left to do with them. Log handlers and both streams are flushed
    first; a reader that went away (``| head``) is not an error.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):  # a closed pipe, or a closed stream
            stream.flush()
    os._exit(code)
