"""What a new user meets first: one-line errors with exit 2, explained empty results, tables that fit 80 columns."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from numbroker import Money
from numbroker._cli.tables import format_money


def run(*args: str, columns: int = 80, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m numbroker ARGS` with no provider credentials, on a COLUMNS-wide (non-terminal) output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOBIZ_", "BIRD_", "IDENTITYCALL_"))}
    env["COLUMNS"] = str(columns)
    return subprocess.run(
        [sys.executable, "-m", "numbroker", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def rates_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "rates.json"
    path.write_text(text, encoding="utf-8")
    return str(path)


def assert_one_line_usage_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert 2 == proc.returncode, proc.stderr
    lines = proc.stderr.splitlines()
    assert 1 == len(lines), proc.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in proc.stderr and "errors.pydantic.dev" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert "" == proc.stdout


# -- one line, exit 2 ---------------------------------------------------------------------------------

BAD_RATES = [
    ('{"base": "EUR", "rates": {"USD": "0"}}', "rate for USD must be positive"),
    ('{"base": "EUR", "rates": {"USD": "-1.08"}}', "negative"),
    ('{"rates": {"USD": "1.08"}}', "'base' missing"),
    ('{"base": "EUR", "rates": {"USD": "1,08"}}', "'1,08'"),
    ('[{"base": "EUR"}]', "got a JSON list"),
    ('{"base": "EUR", "rates": {"USD": "1.08"}', "invalid exchange rates file"),
]


@pytest.mark.parametrize(("text", "reason"), BAD_RATES)
def test_a_bad_rates_file_is_one_line_saying_what_is_wrong(tmp_path: Path, text: str, reason: str) -> None:
    path = rates_file(tmp_path, text)
    proc = run("search", "--sandbox", "--country", "US", "--currency", "EUR", "--fx-rates", path)
    assert_one_line_usage_error(proc, "invalid exchange rates file", reason)


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("search", "--sandbox", "--country", "US", "--currency", "FOO"), ("--currency 'FOO'", "ISO 4217")),
        (
            (
                "buy-cheapest",
                "--sandbox",
                "--country",
                "US",
                "--currency",
                "FOO",
                "--max-monthly",
                "2",
                "--max-first-bill",
                "3",
            ),
            ("--currency 'FOO'", "ISO 4217"),
        ),
        (
            ("buy-cheapest", "--sandbox", "--country", "US", "--max-monthly", "2 FOO", "--max-first-bill", "3 USD"),
            ("--max-monthly", "'FOO'"),
        ),
        (("search", "--sandbox", "--country", "UK"), ("'UK'", "did you mean GB?")),
        (("search", "--sandbox"), ("--country", "numbroker search --help")),
        (("search", "--sandbox", "--country", "US", "--type", "cheap"), ("--type", "'cheap'")),
        (("sandbox", "serve", "--port", "65535"), ("65535", "past 65535: use --port 655", "or lower")),
    ],
)
def test_usage_mistakes_are_one_line_and_exit_2(args: tuple[str, ...], fragments: tuple[str, ...]) -> None:
    assert_one_line_usage_error(run(*args), *fragments)


def test_sandbox_serve_on_a_taken_port_fails_before_printing_anything() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_one_line_usage_error(run("sandbox", "serve", "--port", str(port)), f":{port}", "another --port")


# -- empty and shortened results explained ------------------------------------------------------------


def test_a_cap_in_a_currency_no_offer_uses_explains_the_empty_result() -> None:
    proc = run("search", "--sandbox", "--country", "US", "--max-monthly", "2 GBP", "--format", "json")
    assert 0 == proc.returncode
    assert [] == json.loads(proc.stdout)["offers"]
    line = next(line for line in proc.stderr.splitlines() if "excluded by price caps" in line)
    apart = json.loads(proc.stdout)["excluded"]["monthly_cap_not_comparable"]
    assert line.startswith(f"{apart} offers excluded by price caps: {apart} priced in other currencies than GBP")
    assert "--fx-rates" in line


def test_a_zero_cap_says_how_many_were_over_it_and_how_many_not_comparable() -> None:
    proc = run("search", "--sandbox", "--country", "US", "--max-monthly", "0 EUR", "--format", "table")
    assert "No offers matched." in proc.stdout
    line = next(line for line in proc.stderr.splitlines() if "excluded by price caps" in line)
    excluded = json.loads(
        run("search", "--sandbox", "--country", "US", "--max-monthly", "0 EUR", "--format", "json").stdout
    )["excluded"]
    assert f"{excluded['over_monthly_cap']} over --max-monthly 0 EUR (raise it" in line
    assert f"{excluded['monthly_cap_not_comparable']} priced in other currencies than EUR" in line


def test_a_target_currency_missing_from_the_rates_names_the_rates_to_add(tmp_path: Path) -> None:
    path = rates_file(tmp_path, '{"base": "EUR", "rates": {"USD": "1.08"}}')
    proc = run("search", "--sandbox", "--country", "US", "--currency", "JPY", "--fx-rates", path, "--format", "json")
    doc = json.loads(proc.stdout)
    assert [] == doc["offers"] and doc["unconverted"]
    line = next(line for line in proc.stderr.splitlines() if "left out" in line)
    assert f"{len(doc['unconverted'])} offers in EUR, INR, USD left out: no exchange rate to JPY" in line
    assert "add rates for JPY, INR to the --fx-rates file" in line


@pytest.mark.parametrize(
    ("country", "prefix", "meant"),
    [("US", "1212", "212"), ("GB", "020", "20"), ("GB", "4420", "20")],
)
def test_a_prefix_with_the_country_code_or_trunk_prefix_gets_a_hint(country: str, prefix: str, meant: str) -> None:
    proc = run("search", "--sandbox", "--country", country, "--prefix", prefix, "--format", "json")
    assert [] == json.loads(proc.stdout)["offers"]
    assert f"did you mean --prefix {meant}?" in proc.stderr
    assert "did not match the number filters" in proc.stderr
    fixed = run("search", "--sandbox", "--country", country, "--prefix", meant, "--format", "json")
    assert json.loads(fixed.stdout)["offers"], "the hinted prefix finds offers"


def test_the_table_shows_the_best_20_of_each_currency_and_says_how_to_see_all() -> None:
    full = json.loads(run("search", "--sandbox", "--country", "US", "--format", "json").stdout)
    by_currency: dict[str, int] = {}
    for offer in full["offers"]:
        currency = offer["rank_price"]["currency"]
        by_currency[currency] = by_currency.get(currency, 0) + 1
    proc = run("search", "--sandbox", "--country", "US", "--format", "table")
    shown = sum(1 for offer in full["offers"] if offer["e164"] in proc.stdout)
    assert sum(min(n, 20) for n in by_currency.values()) <= shown < len(full["offers"])
    for currency, n in by_currency.items():
        if n > 20:
            assert f"20 of {n} offers in {currency}" in proc.stdout
            assert f"20 of {n} in {currency}" in proc.stderr
    assert "add --all to see every offer" in proc.stderr
    every = run("search", "--sandbox", "--country", "US", "--format", "table", "--all")
    assert all(offer["e164"] in every.stdout for offer in full["offers"])
    assert "--all" not in every.stderr


def test_limit_is_per_currency_and_says_so() -> None:
    proc = run("search", "--sandbox", "--country", "GB", "--limit", "2", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    rankings = {row["ranking"] for row in rows}
    assert len(rankings) > 1 and len(rows) == 2 * len(rankings)
    assert all(row["ranking"] == row["rank_currency"] for row in rows)
    assert {("1", "2")} == {tuple(r["rank"] for r in rows if r["ranking"] == cur) for cur in rankings}
    assert "--limit 2 kept the best 2 of each currency" in proc.stderr


# -- 80 columns: nothing essential is ever cut --------------------------------------------------------


def _money(price: dict[str, str] | None) -> str:
    return format_money(None if price is None else Money(amount=Decimal(price["amount"]), currency=price["currency"]))


@pytest.mark.parametrize(
    "extra",
    [
        ("--country", "US"),
        ("--country", "GB", "--sort", "first-bill"),
        ("--country", "US", "--sort", "total", "--one-per-number"),
    ],
)
def test_at_80_columns_every_number_price_and_marker_is_whole(extra: tuple[str, ...]) -> None:
    proc = run("search", "--sandbox", *extra, "--format", "table", "--all")
    doc = json.loads(run("search", "--sandbox", *extra, "--format", "json").stdout)
    lines = proc.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert doc["offers"]
    for offer in doc["offers"]:
        rows = [line.split() for line in lines if re.search(rf"\s{re.escape(offer['e164'])}\s", line)]
        rows = [row for row in rows if any(offer["provider"].startswith(cell) for cell in row[-1:])]
        assert rows, f"{offer['e164']} at {offer['provider']} is shown whole"
        assumed = "†" if offer["provider_details"].get("currency_assumed") else ""
        inferred = "*" if offer["provider_details"].get("number_type_inferred") else ""
        cells = (
            _money(offer["monthly_price"]) + assumed,
            _money(offer["setup_price"]) + (assumed if offer["setup_price"] else ""),
            offer["number_type"] + inferred,
        )
        assert any(all(cell in row for cell in cells) for row in rows), (cells, rows)


def test_at_80_columns_converted_prices_are_whole_rounded_and_marked(tmp_path: Path) -> None:
    path = rates_file(tmp_path, '{"base": "EUR", "rates": {"USD": "1.08", "INR": "90.2"}}')
    args = ("search", "--sandbox", "--country", "US", "--currency", "EUR", "--fx-rates", path, "--sort", "first-bill")
    proc = run(*args, "--format", "table", "--all")
    doc = json.loads(run(*args, "--format", "json").stdout)
    lines = proc.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    for offer in doc["offers"]:
        converted = offer["converted"]["monthly_price"]
        assert len(converted["amount"].partition(".")[2]) <= 6, converted
        rows = [line.split() for line in lines if offer["e164"] in line]
        rows = [row for row in rows if any(offer["provider"].startswith(cell) for cell in row[-1:])]
        own = offer["monthly_price"]["currency"] == "EUR"
        assumed = "†" if own and offer["provider_details"].get("currency_assumed") else ""
        shown = ("" if own else "≈") + _money(converted) + assumed
        assert any(shown in row for row in rows), (shown, rows)
    assert "≈ converted to EUR with --fx-rates, shown to 6 decimal places" in " ".join(proc.stdout.split())


def test_csv_carries_the_assumed_currency() -> None:
    rows = list(csv.DictReader(io.StringIO(run("search", "--sandbox", "--country", "US", "--format", "csv").stdout)))
    doc = json.loads(run("search", "--sandbox", "--country", "US", "--format", "json").stdout)
    assumed = {o["offer_id"] for o in doc["offers"] if o["provider_details"].get("currency_assumed")}
    assert assumed, "the sandbox has offers with an assumed currency"
    assert assumed == {r["offer_id"] for r in rows if r["currency_assumed"] == "true"}
    assert {"true", "false"} == {r["currency_assumed"] for r in rows}


def test_providers_fits_80_columns() -> None:
    proc = run("providers", "--format", "table")
    assert 0 == proc.returncode
    assert all(len(line) <= 80 for line in proc.stdout.splitlines()), proc.stdout
    for pid in ("vobiz", "bird", "identitycall"):
        assert pid in proc.stdout
    for var in ("VOBIZ_AUTH_ID", "BIRD_ACCESS_KEY", "IDENTITYCALL_API_KEY"):
        assert var in proc.stdout, "every missing variable is named whole"


def test_buy_cheapest_names_the_option_for_offers_with_an_assumed_currency() -> None:
    proc = run("buy-cheapest", "--sandbox", "--country", "US", "--max-monthly", "2 USD", "--max-first-bill", "3 USD")
    doc = json.loads(proc.stdout)
    assumed = sum(1 for e in doc["plan"] if e["decision"] == "currency_assumed")
    assert assumed
    assert f"{assumed} offers skipped: their vendor stated no currency" in proc.stderr
    assert "add --allow-assumed-currency to consider them" in proc.stderr
    table = run("buy-cheapest", "--sandbox", "--country", "US", "--max-monthly", "2 USD", "--max-first-bill", "3 USD",
                "--format", "table")  # fmt: skip
    assert f"currency_assumed {assumed} (add --allow-assumed-currency" in " ".join(table.stdout.split())
    assert all(len(line) <= 80 for line in table.stdout.splitlines())


@pytest.mark.parametrize(
    "command", [(), ("search",), ("buy-cheapest",), ("providers",), ("sandbox",), ("sandbox", "serve")]
)
def test_help_renders_its_examples_one_per_line(command: tuple[str, ...]) -> None:
    proc = run(*command, "--help")
    assert 0 == proc.returncode
    assert "\\b" not in proc.stdout and "\b" not in proc.stdout
    assert re.search(r"^\s+(Try it|Examples?:)", proc.stdout, re.M), proc.stdout
    examples = [line for line in proc.stdout.splitlines() if re.match(r"\s+numbroker [a-z-]+ ", line)]
    assert examples, proc.stdout
    assert all(line.count("numbroker ") == 1 for line in examples), "examples are never run together"
    assert not re.search(r"\S[ \t]+numbroker (search|providers|buy-cheapest) --", proc.stdout), proc.stdout


def test_live_tests_run_when_their_credentials_are_set_and_say_why_when_skipped() -> None:
    """The default pytest run selects the live tests: set credentials (here: a sandbox on loopback) run them."""
    from numbroker.sandbox import create_sandboxes, serve_sandboxes

    boxes = create_sandboxes(["vobiz"])
    root = Path(__file__).parent.parent.parent
    with serve_sandboxes(boxes) as urls:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VOBIZ_", "BIRD_", "IDENTITYCALL_"))}
        env.update(boxes["vobiz"].env, VOBIZ_BASE_URL=urls["vobiz"])
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             *(f"tests/providers/{pid}/test_live.py" for pid in ("vobiz", "bird", "identitycall"))],
            cwd=root, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert 0 == proc.returncode, proc.stdout
    assert "2 passed, 4 skipped" in proc.stdout
    assert "live bird test: set BIRD_ACCESS_KEY, BIRD_ORGANIZATION_ID to run it" in proc.stdout
    assert boxes["vobiz"].log, "the live test searched the (loopback) account"
