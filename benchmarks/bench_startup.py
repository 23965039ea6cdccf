"""Scenario 4: start-up cost of the library and of the command line, against the bare interpreter.

Each command runs in a fresh interpreter; the three are interleaved, ``repeats`` times, and each
figure is the median of the per-round ratios to ``python -c pass`` of the same round.

* ``python -c "import numbroker"``: the lazy facade (PEP 562) should cost little over the interpreter;
* ``numbroker --version``: the console script (click, the CLI module), nothing else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _harness import Figure, ScenarioResult, median, paired_ratios


def _console_script() -> list[str]:
    """The ``numbroker`` console script next to this interpreter, else ``python -m numbroker``."""
    beside = Path(sys.executable).with_name("numbroker")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("numbroker")
    return [found] if found else [sys.executable, "-m", "numbroker"]


def _wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=os.environ.copy())
    return time.perf_counter() - started


def run(quick: bool) -> ScenarioResult:
    """Run the scenario (quick: 5 rounds; full: 21)."""
    result = ScenarioResult("start-up")
    repeats = 5 if quick else 21
    commands = {
        "pass": [sys.executable, "-c", "pass"],
        "import": [sys.executable, "-c", "import numbroker"],
        "version": [*_console_script(), "--version"],
    }
    for command in commands.values():  # warm the OS file cache
        _wall(command)
    walls: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, command in commands.items():
            walls[name].append(_wall(command))
    for name, label in (("import", 'python -c "import numbroker"'), ("version", "numbroker --version")):
        ratios = paired_ratios(walls[name], walls["pass"])
        result.figures.append(
            Figure(
                f"{label} / python -c pass",
                median(ratios),
                reference={"ms": median(walls[name]) * 1000, "pass_ms": median(walls["pass"]) * 1000},
                samples=ratios,
            )
        )
    return result
