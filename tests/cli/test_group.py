"""The group: each command's module is imported only when the command runs or is listed, and a mistyped
command name is answered with the closest ones, as if every command were loaded."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from numbroker._cli import COMMANDS, cli


@pytest.mark.parametrize(
    ("args", "loaded"),
    [
        (["--version"], set()),
        (["providers", "--format", "json"], {"providers"}),
        (["ledger", "--help"], {"ledger"}),
        (["--help"], {"buy", "compare", "ledger", "owned", "providers", "sandbox", "search"}),
    ],
)
def test_a_command_module_is_imported_only_when_its_command_runs_or_is_listed(
    args: list[str], loaded: set[str]
) -> None:
    code = (
        "import json, sys; from click.testing import CliRunner; from numbroker._cli import cli; "
        f"CliRunner().invoke(cli, {args!r}); "
        "print(json.dumps([m.rsplit('.', 1)[1] for m in sys.modules if m.startswith('numbroker._cli.')]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    commands = {path.partition(":")[0].rsplit(".", 1)[1] for path in COMMANDS.values()}
    assert loaded == set(json.loads(out)) & commands


@pytest.mark.parametrize(
    ("args", "suggested"),
    [(["serch"], "'search'"), (["providrs"], "'providers'"), (["sandbox", "serv"], "'serve'")],
)
def test_a_mistyped_command_is_answered_with_the_closest_name(args: list[str], suggested: str) -> None:
    result = CliRunner().invoke(cli, args)

    assert 2 == result.exit_code
    assert f"Did you mean {suggested}?" in result.output
