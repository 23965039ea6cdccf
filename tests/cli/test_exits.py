"""One exit-code table (numbroker._cli.exits): the help, its documentation and the README agree with it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from numbroker._cli import COMMANDS, cli, exits
from numbroker._cli.exits import ENDINGS, ExitCode

README = (Path(__file__).parent.parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_command_has_its_endings() -> None:
    assert set(COMMANDS) == set(ENDINGS)
    assert all({ExitCode.OK, ExitCode.USAGE, ExitCode.INTERRUPTED} <= codes for codes in ENDINGS.values())


@pytest.mark.parametrize("command", ["search", "compare", "buy-cheapest"])
def test_the_help_names_each_code_its_command_ends_with(command: str) -> None:
    """The "Exit codes:" paragraph names every code of the command but Ctrl-C's, and no other."""
    shown = CliRunner().invoke(cli, [command, "--help"], terminal_width=100).output
    paragraph = shown[shown.index("Exit codes:") :]

    named = {int(code) for code in re.findall(r"(?:^\s*|: |, )(\d+) [a-z]", paragraph, re.M)}

    assert {int(code) for code in ENDINGS[command] - {ExitCode.INTERRUPTED}} == named


def test_the_documentation_says_what_each_code_means_once() -> None:
    assert exits.__doc__ is not None
    listed = [int(code) for code in re.findall(r"^\* (\d+): ", exits.__doc__, re.M)]

    assert sorted(int(code) for code in ExitCode) == listed


def test_the_readme_table_gives_each_command_the_codes_it_ends_with() -> None:
    section = README[README.index("### Exit codes") :].split("\n\n")[1]  # the table: the paragraph after the title
    header, _, *rows = [line.strip("|").split("|") for line in section.splitlines()]
    columns = [cell.strip() for cell in header]

    for command in ("search", "buy-cheapest"):
        at = columns.index(command)
        ends = {int(row[0]) for row in rows if row[at].strip()}
        assert {int(code) for code in ENDINGS[command]} == ends, command
