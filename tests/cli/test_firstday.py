"""What an operator hit on a first day: contradictory options, codes in any case, impossible prefixes, help text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from numbroker.testing.processes import run_on_a_terminal

Result = subprocess.CompletedProcess[str]


def invoke(*args: str) -> Result:
    """``python -m numbroker ARGS`` with no provider credentials, 80 columns wide."""
    return invoke_wide(80, *args)


def invoke_wide(columns: int, *args: str) -> Result:
    """``python -m numbroker ARGS`` with no provider credentials, ``columns`` wide."""
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_AUTH_ID", "_AUTH_TOKEN", "_API_KEY"))}
    env["COLUMNS"] = str(columns)
    return subprocess.run(
        [sys.executable, "-m", "numbroker", *args], env=env, capture_output=True, text=True, timeout=120
    )


def assert_usage_error(result: Result, *fragments: str) -> None:
    assert 2 == result.returncode, result.stderr
    lines = result.stderr.splitlines()
    assert 1 == len(lines) and lines[0].startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert "" == result.stdout


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--limit", "5", "--all"), ("--limit and --all contradict each other",)),
        (("--months", "6"), ("--months counts only for --sort total",)),
        (("--fx-rates", "rates.json"), ("--fx-rates needs --currency",)),
        (("--capability", "sms,telepathy"), ("'telepathy' is not one of voice, sms, mms, fax, whatsapp",)),
        (("--capability", "sms,"), ("has an empty item",)),
        (("--provider", "vobiz,nosuch"), ("unknown provider 'nosuch'",)),
    ],
)
def test_contradictory_or_meaningless_options_are_usage_errors(
    args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    """Options that contradict each other or mean nothing alone are one-line usage errors, exit 2."""
    assert_usage_error(invoke("search", "--sandbox", "--country", "US", "--format", "json", *args), *fragments)


def test_months_with_sort_total_and_rates_with_a_currency_are_accepted(tmp_path: Path) -> None:
    rates = tmp_path / "rates.json"
    rates.write_text('{"base": "USD", "rates": {"EUR": "0.9", "INR": "85", "GBP": "0.8"}}', encoding="utf-8")
    result = invoke(
        "search", "--sandbox", "--country", "US", "--sort", "total", "--months", "6",
        "--currency", "USD", "--fx-rates", str(rates), "--limit", "3", "--provider", "vobiz", "--format", "json",
    )  # fmt: skip

    assert 0 == result.returncode, result.stderr
    document = json.loads(result.stdout)
    assert (6, "USD", 3) == (document["months"], document["currency"], len(document["offers"]))


def test_codes_are_case_insensitive_and_repeatable_options_take_comma_lists() -> None:
    """--capability SMS,Voice --provider VOBIZ,Bird --type LOCAL is --capability sms --capability voice ..."""
    upper = invoke(
        "search", "--sandbox", "--country", "US", "--capability", "SMS,Voice", "--provider", "VOBIZ,Bird",
        "--type", "LOCAL", "--format", "json",
    )  # fmt: skip
    lower = invoke(
        "search", "--sandbox", "--country", "US", "--capability", "sms", "--capability", "voice",
        "--provider", "vobiz", "--provider", "bird", "--type", "local", "--format", "json",
    )  # fmt: skip

    assert (0, 0) == (upper.returncode, lower.returncode), upper.stderr + lower.stderr
    first, second = json.loads(upper.stdout), json.loads(lower.stdout)
    assert first["query"] == second["query"]
    assert ["sms", "voice"] == first["query"]["capabilities"] and "local" == first["query"]["number_type"]
    assert ["vobiz", "bird"] == [p["provider"] for p in first["providers"]]
    assert [o["e164"] for o in first["offers"]] == [o["e164"] for o in second["offers"]]


def test_a_trunk_digit_that_also_begins_the_plans_numbers_gets_no_hint() -> None:
    """Russia's trunk prefix 8 also begins its 800 numbers: --prefix 800 is not called a mistake."""
    from numbroker import SearchQuery
    from numbroker._cli.hints import prefix_hint

    assert prefix_hint(SearchQuery(country="RU", prefix="800")) is None
    assert prefix_hint(SearchQuery(country="DE", prefix="030")) is not None


def test_buy_cheapest_help_keeps_its_line_continuation() -> None:
    """The example's trailing backslash stays, with the continued line under it."""
    text = invoke("buy-cheapest", "--help").stdout
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if "--max-first-bill '3 USD' --yes \\" in line)
    assert "--idempotency-key nightly-" in lines[at + 1]


def on_a_terminal(*args: str, answer: str | None = None, columns: int = 80) -> tuple[int, str]:
    """``python -m numbroker ARGS`` with stdin and stdout on a pseudo-terminal and stderr thrown away
    (``2>/dev/null``); answers ``answer`` once a ``[y/N]`` question shows. Returns the exit code and the screen."""
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_AUTH_ID", "_AUTH_TOKEN", "_API_KEY"))}
    return run_on_a_terminal(args, env={**env, "COLUMNS": str(columns)}, stderr=False, answer=answer)


BUY = ("buy-cheapest", "--sandbox", "--provider", "vobiz", "--country", "US", "--max-monthly", "0.5 USD")


def test_the_purchase_question_is_asked_where_the_plan_is_shown_even_with_stderr_thrown_away() -> None:
    """With 2>/dev/null the question still shows (on the terminal's stdout), and the plan is printed once."""
    code, screen = on_a_terminal(*BUY, "--max-first-bill", "0.5 USD", answer="n")

    assert 1 == code, screen
    assert "Buy +12066046313 at vobiz ($0.50): $0.50 in first bills? [y/N]" in " ".join(screen.split())
    assert 1 == screen.count("Dry run: would buy 1 of 1"), screen


def test_buy_cheapest_with_nothing_configured_says_so() -> None:
    """No provider configured: the plan is not 'No offer fits the caps', the search note names no one."""
    result = invoke("buy-cheapest", "--country", "US", "--max-monthly", "1 USD", "--max-first-bill", "1 USD",
                    "--format", "table")  # fmt: skip

    assert 1 == result.returncode, result.stderr
    assert "No offers were found to choose from." in result.stdout and "No offer fits" not in result.stdout
    assert "no provider is configured: set the variables above, or try --sandbox" in result.stderr
    assert "the search was failed: no provider answered" in result.stderr
    assert "cheaper numbers may exist" not in result.stderr


def test_a_twelve_month_commitment_is_not_planned_under_a_half_dollar_first_bill_cap() -> None:
    """The issue's case: +13059693060 ($0.50 a month, 12 months) is over the first-bill cap, the reason says why."""
    result = invoke(*BUY, "--max-first-bill", "0.5 USD", "--format", "json")

    document = json.loads(result.stdout)
    entry = next(e for e in document["plan"] if e["offer"]["e164"] == "+13059693060")
    assert ("over_first_bill_cap", 12) == (entry["decision"], entry["offer"]["minimum_commitment_months"])
    assert {"amount": "6.00", "currency": "USD"} == entry["committed"]
    assert "a 12-month minimum commitment: 6.00 USD committed" == entry["reason"]
    assert "+13059693060" not in [e["offer"]["e164"] for e in document["plan"] if e["decision"] == "would_buy"]


def test_a_bad_env_file_line_is_one_usage_error_of_numbroker_s_own(tmp_path: Path) -> None:
    """python-dotenv's own warning never shows: the line is named in one error, exit 2."""
    env_file = tmp_path / ".env"
    env_file.write_text("VOBIZ_AUTH_ID=MA_X\nthis is not a variable\n", encoding="utf-8")

    result = invoke("search", "--country", "US", "--env-file", str(env_file), "--format", "json")

    assert_usage_error(result, f"--env-file {str(env_file)!r}: could not parse statement starting at line 2")
    assert "python-dotenv" not in result.stderr


def test_footer_lines_are_wrapped_at_word_boundaries_on_a_terminal() -> None:
    """On an 80-column terminal no footer line is longer than 80 columns, and none is cut inside a word."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    code, screen = run_on_a_terminal(
        ["search", "--sandbox", "--country", "GB", "--limit", "3", "--format", "json"], env=env
    )
    assert 0 == code, screen
    import re

    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen).replace("\r", "")
    lines = text.splitlines()
    lines = lines[next(i for i, line in enumerate(lines) if line.startswith("vobiz: ok")) :]  # after the progress
    assert lines and all(len(line) <= 80 for line in lines), lines
    joined = " ".join(line.strip() for line in lines)
    assert "raise it or drop it to see more" in joined and "--limit 3 kept the best 3 of each currency" in joined


def test_a_provider_s_notes_show_under_the_table() -> None:
    """Why a provider answered as it did (here: Twilio stocks nothing in JP) is said on stderr, not only in JSON."""
    result = invoke("search", "--sandbox", "--country", "JP", "--strict", "--format", "table")

    assert 0 == result.returncode, result.stderr  # every provider answered: none is an error
    assert "twilio: empty (" in result.stderr
    assert "  twilio: Twilio stocks no numbers in JP (its country resource answered 404)" in result.stderr.splitlines()


def test_sandbox_serve_prints_whole_urls() -> None:
    """Every exported value that is a URL is a whole one (Twilio's Pricing API too), never a bare path."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "numbroker", "sandbox", "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    exports: dict[str, str] = {}
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            key, _, value = line.strip().removeprefix("export ").partition("=")
            exports[key] = value
            if key == "PLIVO_BASE_URL":  # the last sandbox's last line
                break
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    assert exports["TWILIO_PRICING_BASE_URL"].startswith("http://127.0.0.1:")
    assert exports["TWILIO_PRICING_BASE_URL"].endswith("/v1")
    assert not [k for k, v in exports.items() if v.startswith("/")]


def test_the_audit_log_is_named_only_when_it_was_written(tmp_path: Path) -> None:
    """A real run that attempted nothing writes no audit log, and does not say it did."""
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_AUTH_ID", "_AUTH_TOKEN", "_API_KEY"))}
    env["NUMBROKER_LEDGER"] = str(tmp_path / "ledger.sqlite3")
    result = subprocess.run(
        [sys.executable, "-m", "numbroker", "buy-cheapest", "--country", "US", "--max-monthly", "1 USD",
         "--max-first-bill", "1 USD", "--yes", "--format", "json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert 1 == result.returncode, result.stderr
    assert not (tmp_path / "numbroker-audit.jsonl").exists()
    assert "audit log:" not in result.stderr


def test_each_purchase_is_said_as_its_request_leaves() -> None:
    """A slow purchase is not a blank screen: 'buying … at …' comes before its outcome."""
    result = invoke(*BUY, "--max-first-bill", "0.5 USD", "--yes", "--format", "json")

    assert 0 == result.returncode, result.stderr
    lines = result.stderr.splitlines()
    at = lines.index("buying +12066046313 at vobiz (first bill 0.50 USD)…")
    assert any("bought 1 of 1" in line for line in lines[at + 1 :])


def test_a_table_on_a_50_column_terminal_cuts_nothing() -> None:
    """At 50 columns numbers, prices and provider ids may fold onto further lines, but nothing is cut ('…')."""
    result = invoke_wide(50, "search", "--sandbox", "--country", "US", "--limit", "3", "--sort", "total",
                         "--format", "table")  # fmt: skip

    assert 0 == result.returncode, result.stderr
    assert "…" not in result.stdout
    assert all(len(line) <= 50 for line in result.stdout.splitlines())
    assert "3 offers in INR" in result.stdout
