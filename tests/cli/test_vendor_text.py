"""Vendor text is data over loopback: it never drives the operator's terminal or spreadsheet.

Vobiz serves ids and regions beginning with a spreadsheet formula and carrying terminal control
sequences (OSC 52 writing the clipboard, ``\\r`` and erase-line); IdentityCall's records carry every
attack of :data:`~numbroker.testing.hostile.TERMINAL_ATTACKS`; Bird answers with an error. In every
format, stdout and stderr hold no control character but newlines; CSV cells of vendor text never begin
like a formula; JSON keeps the vendor's text exactly.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from numbroker._registry import get_provider_class
from numbroker.sandbox import create_sandboxes
from numbroker.testing.hostile import FORMULAS, TERMINAL_ATTACKS, Defects, serve_hostile

ATTACKS = "".join(TERMINAL_ATTACKS)
ID_ATTACK = FORMULAS[0] + "\x1b]52;c;ZWNobw==\x07\r\x1b[2K"
"""Short enough for an offer id (at most 200 characters with the vendor's own id)."""
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""Every control character but the newline."""
CLI = "from numbroker._cli import main; import sys; main(sys.argv[1:])"


@pytest.fixture(scope="module")
def hostile_env() -> Iterator[dict[str, str]]:
    sandboxes = create_sandboxes(["vobiz", "bird", "identitycall"], size=30)
    defects = {
        "vobiz": Defects(inject=ID_ATTACK, inject_ids=True, records="all"),
        "identitycall": Defects(inject=FORMULAS[1] + ATTACKS, records="all"),
        "bird": Defects(echo_status=400, inject=ATTACKS),
    }
    with serve_hostile(sandboxes, defects) as urls:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VOBIZ_", "BIRD_", "IDENTITYCALL_"))}
        env["COLUMNS"] = "400"  # wide enough that the table keeps its region column
        for pid, sandbox in sandboxes.items():
            env.update(sandbox.env)
            env[get_provider_class(pid).base_url_env] = urls[pid]
        yield env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    chosen = ["--provider", "vobiz", "--provider", "bird", "--provider", "identitycall"]
    return subprocess.run(
        [sys.executable, "-c", CLI, *args, *chosen], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "ndjson"])
def test_no_output_format_writes_a_vendors_control_characters(hostile_env: dict[str, str], fmt: str) -> None:
    """stdout (but JSON's own escapes) and stderr hold no control character; the attacks are shown as text."""
    proc = run(hostile_env, "search", "--country", "US", "--format", fmt)

    assert 3 == proc.returncode, proc.stderr[-2000:]
    assert [] == CONTROL.findall(proc.stdout)
    assert [] == CONTROL.findall(proc.stderr)
    assert "bird: error" in proc.stderr
    if fmt in ("table", "csv"):
        assert "\\x1b]52;c;" in proc.stdout


def test_csv_cells_of_vendor_text_never_begin_like_a_formula(hostile_env: dict[str, str]) -> None:
    """Every offer_id, region and alternatives cell beginning with = + - @ tab or CR gets a leading quote."""
    proc = run(hostile_env, "search", "--country", "US", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))

    assert {"vobiz", "identitycall"} <= {row["provider"] for row in rows}
    for row in rows:
        for column in ("offer_id", "region", "alternatives"):
            cell = row[column]
            assert not cell.startswith(("=", "@", "\t", "\r")), row
            assert not cell.startswith(("+", "-")) or re.fullmatch(r"[+-][0-9]+", cell), row  # an E.164 id
    assert any(row["offer_id"].startswith("'=HYPERLINK(") for row in rows if row["provider"] == "vobiz")
    assert any(row["region"].startswith("'=HYPERLINK(") for row in rows if row["provider"] == "vobiz")
    assert all(row["e164"].startswith("+") for row in rows)  # validated numbers are written as they are


def test_json_keeps_the_vendors_text_exactly(hostile_env: dict[str, str]) -> None:
    """JSON is the exact form: the vendor's region comes back as it was sent (JSON escapes it)."""
    proc = run(hostile_env, "search", "--country", "US", "--format", "json")
    offers = json.loads(proc.stdout)["offers"]

    regions = [o["region"] for o in offers if o["provider"] == "vobiz"]
    assert regions
    assert all(region.startswith(ID_ATTACK) for region in regions if region)


def test_one_line_errors_summary_lines_and_log_lines_show_control_characters_as_text() -> None:
    """A provider's error, an error line and a log record carrying every attack are written as visible text."""
    import logging

    import click

    from numbroker._cli.errors import show_one_line
    from numbroker._cli.reports import summary_lines
    from numbroker._redaction import LIBRARY_LOGS
    from numbroker._reports import ProviderReport, ProviderStatus

    report = ProviderReport(provider="vobiz", status=ProviderStatus.ERROR, error=f"vobiz: refused: {ATTACKS}")
    lines = summary_lines([report], 0)
    out = io.StringIO()
    show_one_line(click.ClickException(f"nothing was bought: {ATTACKS}"), file=out)
    record = logging.LogRecord("numbroker.http", logging.INFO, __file__, 1, "vendor said %s", (ATTACKS,), None)
    LIBRARY_LOGS.filter(record)

    for text in (*lines, out.getvalue(), record.getMessage()):
        assert [] == CONTROL.findall(text)
        # (a one-line error collapses the carriage return, as any whitespace, before the rest is shown)
        assert "\\x1b]52;c;" in text and "\\x1b[2Kacme: ok" in text
