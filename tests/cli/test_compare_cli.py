"""``numbroker compare`` through its real entry point against the sandboxes: the JSON contract, the CSV (one row per
JSON row), the table at 80 columns, the report written to --output, and one-line usage errors."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len

from numbroker._cli.comparison import CSV_COLUMNS

PREFIXES = ("VOBIZ_", "BIRD_", "IDENTITYCALL_", "TELNYX_", "TWILIO_", "VONAGE_", "PLIVO_")
ROW_KEYS = {
    "country", "number_type", "provider", "currency", "offers", "unpriced", "monthly", "setup_min",
    "first_bill_min", "total_min", "cheapest_e164", "currency_assumed", "truncated",
}  # fmt: skip


def run(*args: str, columns: int = 80, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    env["COLUMNS"] = str(columns)
    return subprocess.run(
        [sys.executable, "-m", "numbroker", "compare", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    done = run("--sandbox", "--country", "US", "--country", "GB", "--format", "json")
    assert 0 == done.returncode, done.stderr
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


def test_the_json_document_is_the_contract(document: dict[str, Any]) -> None:
    assert ["status", "currency", "months", "rows", "cheapest", "providers"] == list(document)
    assert ("complete", None, 12) == (document["status"], document["currency"], document["months"])
    assert document["rows"] and all(ROW_KEYS == set(row) for row in document["rows"])
    assert all({"min", "median", "max"} == set(row["monthly"]) for row in document["rows"])
    assert {"US", "GB"} == {row["country"] for row in document["rows"]}
    assert all({"country", "number_type", "provider", "total", "currency"} == set(c) for c in document["cheapest"])
    assert {("US", 7), ("GB", 7)} == {
        (country, sum(p["country"] == country for p in document["providers"])) for country in ("US", "GB")
    }
    # The cheapest entry of each (country, type, currency) is the lowest total among its rows.
    for cheapest in document["cheapest"]:
        totals = [
            Decimal(row["total_min"])
            for row in document["rows"]
            if (row["country"], row["number_type"], row["currency"])
            == (cheapest["country"], cheapest["number_type"], cheapest["currency"])
            and row["total_min"] is not None
        ]
        assert min(totals) == Decimal(cheapest["total"])
    assert any(row["truncated"] for row in document["rows"] if row["provider"] == "twilio")


def test_csv_is_one_row_per_json_row(document: dict[str, Any]) -> None:
    done = run("--sandbox", "--country", "US,GB", "--format", "csv")
    assert 0 == done.returncode, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))

    assert CSV_COLUMNS == list(rows[0])
    assert len(document["rows"]) == len(rows)
    for mine, theirs in zip(rows, document["rows"], strict=True):
        assert (theirs["provider"], theirs["country"], theirs["currency"]) == (
            mine["provider"],
            mine["country"],
            mine["currency"],
        )
        assert (theirs["monthly"]["median"], theirs["total_min"] or "") == (mine["monthly_median"], mine["total_min"])


def test_the_table_fits_80_columns_and_names_every_provider(document: dict[str, Any]) -> None:
    done = run("--sandbox", "--country", "US", "--country", "GB", "--format", "table")
    assert 0 == done.returncode, done.stderr
    lines = done.stdout.splitlines()

    assert max(cell_len(line) for line in lines) <= 80
    assert 1 == sum(line.startswith("US: ") for line in lines) == sum(line.startswith("GB: ") for line in lines)
    for row in document["rows"]:
        assert row["provider"] in done.stdout
    types = ("local ", "mobile ", "toll_free ", "national ")
    body = [line for line in lines if line.startswith(types)]
    assert len(document["rows"]) == len(body)


def test_the_report_goes_to_output(tmp_path: Path) -> None:
    converted = tmp_path / "rates.json"
    converted.write_text('{"base": "USD", "rates": {"EUR": "0.9", "GBP": "0.8"}}', encoding="utf-8")
    done = run(
        "--sandbox", "--country", "GB", "--type", "mobile", "--currency", "usd", "--fx-rates", str(converted),
        "--months", "24", "--output", "out.json", cwd=tmp_path,
    )  # fmt: skip
    assert 0 == done.returncode, done.stderr
    assert "" == done.stdout
    written = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))

    assert ("USD", 24) == (written["currency"], written["months"])
    assert {"mobile"} == {row["number_type"] for row in written["rows"]}
    assert {"USD"} == {row["currency"] for row in written["rows"]}  # every currency had a rate
    assert all(len(row["total_min"].split(".")[1]) == 6 for row in written["rows"])
    assert [] == [name for name in os.listdir(tmp_path) if name.startswith(".numbroker-")]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--country", "UK"], "did you mean GB?"),
        (["--country", "US", "--fx-rates", "r.json"], "--fx-rates needs --currency"),
        (["--country", "US", "--currency", "EURO"], "is not an ISO 4217 currency code"),
        (["--country", "US", "--provider", "nobody"], "nobody"),
        (["--country", "US", "--months", "0"], "--months"),
        (["--country", "US", "--output", "/nonexistent-dir/report.json"], "--output"),
    ],
)
def test_a_mistake_is_one_line_and_exit_2(args: list[str], says: str) -> None:
    done = run("--sandbox", *args)

    assert 2 == done.returncode
    assert says in done.stderr
    assert "Traceback" not in done.stderr
    assert 1 == len(done.stderr.strip().splitlines()), done.stderr
