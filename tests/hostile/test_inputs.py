"""Every number a user or caller gives is finite and in range, or refused in one line (CLI exit 2)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from decimal import Decimal

import pytest
from pydantic import ValidationError

from numbroker import BuyTerms, ConfigurationError, Money, RetryPolicy, Searcher, SearchQuery
from numbroker.sandbox import create_sandboxes, in_process_providers


def run(*args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("VOBIZ_", "BIRD_", "IDENTITYCALL_"))}
    return subprocess.run(
        [sys.executable, "-m", "numbroker", *args], env=base, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "--timeout", "nan"], "'nan' is not a finite number of seconds"),
        (["search", "--timeout", "inf"], "'inf' is not a finite number of seconds"),
        (["search", "--timeout", "1e400"], "is not a finite number of seconds"),
        (["search", "--timeout", "0"], "is not a finite number of seconds from 0.1"),
        (["search", "--months", "100000", "--sort", "total"], "--months"),
        (["search", "--prefix", "١٢"], "prefix"),
        (["search", "--contains", "１２"], "contains"),
        (["search", "--max-monthly", "١ USD"], "--max-monthly"),
        (["search", "--max-monthly", "1e5 USD"], "--max-monthly"),
        (["search", "--max-monthly", "1" * 20 + " USD"], "price out of range"),
        (["search", "--max-setup", "0.0000000000001 USD"], "price too precise"),
        (["buy-cheapest", "--confirm-delay", "nan"], "'nan' is not a finite number of seconds"),
        (["buy-cheapest", "--confirm-delay", "inf"], "'inf' is not a finite number of seconds"),
        (["buy-cheapest", "--confirm-delay", "-1"], "is not a finite number of seconds"),
        (["buy-cheapest", "--timeout", "nan"], "is not a finite number of seconds"),
    ],
)
def test_cli_numbers_out_of_range_exit_2_in_one_line(args: list[str], message: str) -> None:
    """`--timeout nan` and friends: exit 2, one line naming the option, no traceback, nothing on stdout."""
    command, *rest = args
    proc = run(command, "--sandbox", "--country", "US", *rest)

    assert 2 == proc.returncode, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "ExceptionGroup" not in proc.stderr
    assert "" == proc.stdout
    assert len([line for line in proc.stderr.splitlines() if line.startswith("Error")]) == 1


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -1.0, 0.0, 1e9, True, "5"])
def test_provider_timeout_must_be_finite_and_in_range(value: object) -> None:
    """``timeout=float("nan")`` is a ConfigurationError at construction, not a traceback at the first request."""
    box = create_sandboxes(["vobiz"])
    with pytest.raises(ConfigurationError, match="timeout must be a finite number of seconds"):
        in_process_providers(box, timeout=value)


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": math.nan},
        {"timeout": math.inf},
        {"provider_timeout": math.nan},
        {"max_concurrency": 0},
        {"per_provider_limit": 0},
        {"max_concurrency": 2.5},
    ],
    ids=repr,
)
def test_searcher_numbers_must_be_finite_and_in_range(options: dict[str, object]) -> None:
    """NaN compares false with every bound: the searcher's checks refuse it by name."""
    with pytest.raises(ConfigurationError, match=next(iter(options))):
        Searcher([], **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options",
    [{"initial": math.nan}, {"max_delay": math.inf}, {"jitter": math.nan}, {"attempts": 0}, {"max_retry_after": -1}],
    ids=repr,
)
def test_retry_policy_numbers_must_be_finite_and_in_range(options: dict[str, object]) -> None:
    """A retry policy with a NaN backoff would sleep NaN seconds: refused."""
    with pytest.raises(ConfigurationError, match="retry"):
        RetryPolicy(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize("delay", [math.nan, math.inf, -1.0, 1e6])
def test_confirm_delay_must_be_finite_and_in_range(delay: float) -> None:
    """``confirm_delay=nan`` no longer skips the wait for a late commit, and ``inf`` no longer hangs."""
    cap = Money(amount=Decimal(1), currency="USD")
    with pytest.raises(ConfigurationError, match="confirm_delay must be a finite number of seconds"):
        BuyTerms(max_monthly=cap, max_first_bill=cap, confirm_delay=delay)


@pytest.mark.parametrize("digits", ["١٢", "１２", "۱۲", "१२", "1٢"])
@pytest.mark.parametrize("name", ["prefix", "contains"])
def test_query_digits_are_ascii(name: str, digits: str) -> None:
    """Arabic-Indic, fullwidth, Persian and Devanagari digits can never match an E.164: refused."""
    with pytest.raises(ValidationError, match="ASCII"):
        SearchQuery.model_validate({"country": "US", name: digits})


def test_ranking_months_are_bounded() -> None:
    """A total over 10^6 months is refused, not computed."""
    from numbroker._ranking import Ranker

    with pytest.raises(ConfigurationError, match="months must be a whole number from 1 to 1200"):
        Ranker(SearchQuery(country="US"), months=10**6)
