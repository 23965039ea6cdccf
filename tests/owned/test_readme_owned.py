"""The README's "What you own" section agrees with the code: its after-purchase table, its commands."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from numbroker import available_providers

README = (Path(__file__).parent.parent.parent / "README.md").read_text(encoding="utf-8")
SECTION = README.split("## What you own", 1)[1].split("\n## ", 1)[0]


def test_the_after_purchase_table_agrees_with_each_declaration() -> None:
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| ([A-Z]\w+) \|.*$", SECTION, re.M)}
    by_name = {cls.display_name: cls for cls in available_providers().values()}
    listing = {name for name, cls in by_name.items() if cls.lists_owned()}
    assert set(rows) == listing
    for name in listing:
        declared = by_name[name].after_purchase
        assert declared is not None
        cells = [c.strip() for c in rows[name].strip("|").split("|")]
        assert cells[1].startswith("yes") == declared.can_list
        assert cells[2].startswith("yes") == declared.can_get
        assert cells[3].startswith(declared.release.value.replace("_", " "))
        assert cells[4].startswith("yes") == declared.states_prices
        assert cells[5].startswith("yes") == declared.states_renewals
        assert cells[7].startswith("yes") == declared.partner_views
    others = sorted(name for name in by_name if name not in listing)
    if len(others) > 1:
        assert ", ".join(others[:-1]) + " and " + others[-1] in SECTION
    elif others:
        assert others[0] in SECTION


def test_the_sandbox_commands_run_as_written() -> None:
    for line in re.findall(r"^numbroker owned --sandbox.*$", SECTION, re.M):
        args = line.split("#")[0].split()[2:]
        done = subprocess.run(
            [sys.executable, "-m", "numbroker", "owned", *args, "--format", "json"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
