"""What an operator hit on a first day: contradictory options, codes in any case, impossible prefixes, help text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

Result = subprocess.CompletedProcess[str]


def invoke(*args: str) -> Result:
    """``python -m numbroker ARGS`` with no provider credentials, 80 columns wide."""
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_AUTH_ID", "_AUTH_TOKEN", "_API_KEY"))}
    env["COLUMNS"] = "80"
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


@pytest.mark.parametrize(("country", "prefix", "meant"), [("US", "1212", "212"), ("GB", "020", "20")])
def test_an_impossible_prefix_is_a_usage_error_with_the_hint(country: str, prefix: str, meant: str) -> None:
    """No number can start +11212 or +44020: exit 2 with the hint, as the README promises."""
    result = invoke("search", "--sandbox", "--country", country, "--prefix", prefix, "--format", "json")

    assert_usage_error(result, "no offer starts with", f"did you mean --prefix {meant}?")


def test_a_trunk_digit_that_also_begins_the_plans_numbers_gets_no_hint() -> None:
    """Russia's trunk prefix 8 also begins its 800 numbers: --prefix 800 is not called a mistake."""
    from numbroker import SearchQuery
    from numbroker._cli._hints import prefix_hint

    assert prefix_hint(SearchQuery(country="RU", prefix="800")) is None
    assert prefix_hint(SearchQuery(country="DE", prefix="030")) is not None


def test_buy_cheapest_help_keeps_its_line_continuation() -> None:
    """The example's trailing backslash stays, with the continued line under it."""
    text = invoke("buy-cheapest", "--help").stdout
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if "--max-first-bill '3 USD' --yes \\" in line)
    assert "--idempotency-key nightly-" in lines[at + 1]
