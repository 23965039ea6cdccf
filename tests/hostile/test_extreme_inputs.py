"""Extreme arguments and hostile input files: each one line and exit 2, never a traceback.

Quantities, limits, windows and ids beyond what the ledger (SQLite INTEGER), the serializer (orjson's
64 bits) and the clock (``timedelta``) hold; an exchange-rates or ``.env`` file that is huge, endless
(``/dev/zero``), nested 200,000 deep, has a rate written twice or a base rate other than 1; a base URL
ending in a newline.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from numbroker import ConfigurationError
from numbroker._inputs import MAX_INPUT_FILE_BYTES
from numbroker._pricing import ExchangeRates
from numbroker.buying._terms import parse_duration
from numbroker_providers.vobiz import VobizProvider


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("VOBIZ_", "BIRD_", "IDENTITYCALL_"))}
    return subprocess.run(
        [sys.executable, "-m", "numbroker", *args], env=base, capture_output=True, text=True, timeout=60, cwd=cwd
    )


def assert_one_line_exit_2(proc: subprocess.CompletedProcess[str], message: str) -> None:
    assert 2 == proc.returncode, proc.stderr[-2000:]
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert [line for line in proc.stderr.splitlines() if line.startswith("Error")] == proc.stderr.splitlines()[:1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["buy-cheapest", "--yes", "--quantity", "9223372036854775808"], "--quantity"),
        (["buy-cheapest", "--yes", "--quantity", "1" + "0" * 30], "--quantity"),
        (["search", "--limit", "1" + "0" * 30, "--format", "json"], "--limit"),
        (["buy-cheapest", "--spend-limit", "5 USD", "--spend-window", "900000d"], "at most 3660d"),
        (["buy-cheapest", "--spend-limit", "5 USD", "--spend-window", "99999999999d"], "at most 3660d"),
    ],
)
def test_extreme_arguments_exit_2_in_one_line(args: list[str], message: str) -> None:
    """Each extreme argument is refused before anything runs."""
    command, *rest = args
    extra = ["--max-monthly", "2 USD", "--max-first-bill", "3 USD"] if command == "buy-cheapest" else []
    assert_one_line_exit_2(run(command, "--sandbox", "--country", "US", *extra, *rest), message)


def test_ledger_resolve_of_an_id_no_ledger_can_hold_exits_2(tmp_path: Path) -> None:
    """An attempt id past SQLite's 64-bit INTEGER is a usage error, not an overflow."""
    proc = run("ledger", "--ledger", str(tmp_path / "l.sqlite"), "resolve", "1" + "0" * 24, "--bought")
    assert_one_line_exit_2(proc, "ATTEMPT_ID")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[" * 200_000 + "]" * 200_000, "nested too deeply"),
        ('{"base": "USD", "rates": {"EUR": "0.9", "EUR": "900"}}', "'EUR' is written more than once"),
        ('{"base": "USD", "rates": {"USD": "2", "EUR": "0.9"}}', "the base USD is 1 USD by definition"),
        (" " * (MAX_INPUT_FILE_BYTES + 1), "larger than"),
    ],
)
def test_hostile_rates_files_are_refused_in_one_line(tmp_path: Path, content: str, message: str) -> None:
    """Deep nesting, a repeated rate, a wrong base rate, a file past 1 MiB: one line, exit 2."""
    path = tmp_path / "rates.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError, match="exchange rates file"):
        ExchangeRates.from_file(path)
    proc = run("search", "--sandbox", "--country", "US", "--currency", "USD", "--fx-rates", str(path))
    assert_one_line_exit_2(proc, message)


def test_a_rate_of_1_for_the_base_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "rates.json"
    path.write_text('{"base": "USD", "rates": {"USD": "1.00", "EUR": "0.9"}}')
    assert ExchangeRates.from_file(path).rate("USD") == 1


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
@pytest.mark.parametrize("option", ["--fx-rates", "--env-file"])
def test_an_endless_device_is_never_read(option: str) -> None:
    """/dev/zero as a rates or .env file is refused at once (not a regular file), never read to exhaustion."""
    extra = ["--currency", "USD"] if option == "--fx-rates" else []
    proc = run("search", "--sandbox", "--country", "US", *extra, option, "/dev/zero")
    assert_one_line_exit_2(proc, "is not a regular file")


def test_a_huge_env_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.env"
    with path.open("wb") as file:
        file.truncate(3 * 1024**3)  # sparse: 3 GB of zeros, no disk used
    assert_one_line_exit_2(run("search", "--sandbox", "--country", "US", "--env-file", str(path)), "larger than")


def test_a_duration_past_ten_years_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="at most"):
        parse_duration("3661d")
    assert parse_duration("3660d").days == 3660


@pytest.mark.parametrize("url", ["https://api.example.com\n", "https://api.example.com/\r", "https://api.exa mple.com"])
def test_a_base_url_with_a_control_character_is_a_configuration_error(url: str) -> None:
    """A trailing newline (from a file or a heredoc) is refused when the provider is configured."""
    with pytest.raises(ConfigurationError, match="whitespace or control"):
        VobizProvider(auth_id="MA_CANARYID7F3A", auth_token="token-123456789", base_url=url)
