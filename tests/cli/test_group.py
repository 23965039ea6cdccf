"""The group: each command's module is imported only when the command runs or is listed, a mistyped
command name is answered with the closest ones, as if every command were loaded, and the console script
holds the garbage collector back while a command's modules are imported."""

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
        (
            ["--help"],
            {"buy", "compare", "ledger", "owned", "providers", "release", "sandbox", "search", "sub_account"},
        ),
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


_COLLECTIONS = """
import gc, json, sys
import numbroker._cli as cli_module

collections = []  # for each automatic collection: was the command's module imported by then?
def seen(phase, info):
    if phase == "start":
        collections.append("numbroker._cli.providers" in sys.modules)

gc.callbacks.append(seen)

def exit_now(code):
    state = {"code": code, "enabled": gc.isenabled(), "frozen": gc.get_freeze_count(), "collections": collections}
    print(json.dumps(state), file=sys.__stderr__)

cli_module._exit_now = exit_now
cli_module.main(sys.argv[1:])
"""


@pytest.mark.parametrize(
    ("args", "imports_a_command"), [(["providers", "--format", "json"], True), (["--version"], False)]
)
def test_the_collector_waits_for_the_imports_and_collects_during_the_command(
    args: list[str], imports_a_command: bool
) -> None:
    done = subprocess.run([sys.executable, "-c", _COLLECTIONS, *args], capture_output=True, text=True, check=True)
    state = json.loads(done.stderr.strip().splitlines()[-1])

    assert state["code"] == 0
    assert state["enabled"]  # collecting again once the command runs (and after main, whatever it ran)
    assert False not in state["collections"]  # none while importing
    if imports_a_command:
        assert True in state["collections"]  # the command's own garbage is collected
        assert state["frozen"] > 10_000  # what the imports made is left out of those collections
