"""The command line through its real entry point, against the sandboxes (in-process and over loopback)."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from numbroker._cli.offers import CSV_COLUMNS
from numbroker.sandbox import Faults, LoopbackServer, Sandbox, create_sandboxes

CONTRACT_FIELDS = {
    "provider", "offer_id", "e164", "country", "region", "number_type",
    "capabilities", "setup_price", "monthly_price", "provider_details",
}  # fmt: skip
PREFIXES = ("VOBIZ_", "BIRD_", "IDENTITYCALL_", "TWILIO_", "VONAGE_")
"""The providers whose environment a CLI run here starts without (the others are unconfigured anyway)."""
DEAD_URL = "http://127.0.0.1:9"  # discard port: nothing listens, the connection is refused at once


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `python -m numbroker ARGS` with a clean environment plus ``env``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    return subprocess.run(
        [sys.executable, "-m", "numbroker", *args],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[dict[str, Sandbox], dict[str, str]]]:
    """The three sandboxes on loopback, and the env that points the CLI at them."""
    sandboxes = create_sandboxes()
    with (
        LoopbackServer(sandboxes["vobiz"].app) as v,
        LoopbackServer(sandboxes["bird"].app) as b,
        LoopbackServer(sandboxes["identitycall"].app) as i,
        LoopbackServer(sandboxes["twilio"].app) as t,
        LoopbackServer(sandboxes["vonage"].app) as vg,
    ):
        env: dict[str, str] = {}
        for sandbox, server, var in (
            (sandboxes["vobiz"], v, "VOBIZ"),
            (sandboxes["bird"], b, "BIRD"),
            (sandboxes["identitycall"], i, "IDENTITYCALL"),
            (sandboxes["twilio"], t, "TWILIO"),
            (sandboxes["vonage"], vg, "VONAGE"),
        ):
            env.update(sandbox.env)
            env[f"{var}_BASE_URL"] = server.base_url + sandbox.base_path
        yield sandboxes, env


def secrets(env: dict[str, str]) -> list[str]:
    return [v for k, v in env.items() if not k.endswith("_BASE_URL") and len(v) >= 6]


def test_sandbox_json_is_one_document_with_the_contract_fields() -> None:
    """--sandbox works with no account; json has status, query, offers, providers and rejected."""
    proc = run("search", "--sandbox", "--country", "US", "--format", "json")

    assert 0 == proc.returncode, proc.stderr
    doc = json.loads(proc.stdout)
    assert {"status", "query", "offers", "providers", "rejected"} <= set(doc)
    assert "complete" == doc["status"]
    assert doc["offers"]
    assert CONTRACT_FIELDS <= set(doc["offers"][0])
    priced = [o for o in doc["offers"] if o["monthly_price"]]
    assert all(isinstance(o["monthly_price"]["amount"], str) for o in priced)
    ids = {"vobiz", "bird", "identitycall", "telnyx", "twilio", "vonage", "plivo"}
    assert ids == {p["provider"] for p in doc["providers"]}
    assert {"provider", "status", "offers", "pages", "retries", "elapsed_ms", "error"} <= set(doc["providers"][0])
    assert doc["rejected"] and {"provider", "field", "reason"} <= set(doc["rejected"][0])


def test_sandbox_output_is_deterministic() -> None:
    """The same sandbox search prints the same offers every time."""
    first = json.loads(run("search", "--sandbox", "--country", "GB", "--format", "json").stdout)
    second = json.loads(run("search", "--sandbox", "--country", "GB", "--format", "json").stdout)

    assert first["offers"] == second["offers"]


def test_csv_and_ndjson_parse_with_standard_parsers() -> None:
    """csv has the documented header and one row per offer; ndjson is one offer per line."""
    as_json = json.loads(run("search", "--sandbox", "--country", "DE", "--format", "json").stdout)
    as_csv = run("search", "--sandbox", "--country", "DE", "--format", "csv")
    as_ndjson = run("search", "--sandbox", "--country", "DE", "--format", "ndjson")

    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert CSV_COLUMNS == list(rows[0])
    assert len(as_json["offers"]) == len(rows)
    assert [o["e164"] for o in as_json["offers"]] == [r["e164"] for r in rows]
    lines = [json.loads(line) for line in as_ndjson.stdout.splitlines()]
    assert [o["e164"] for o in as_json["offers"]] == [line["e164"] for line in lines]


def test_table_goes_to_stdout_and_summary_to_stderr() -> None:
    """The table is on stdout; the per-provider summary is on stderr only."""
    proc = run("search", "--sandbox", "--country", "NL", "--format", "table", "--limit", "5")

    assert 0 == proc.returncode
    assert "Provider" in proc.stdout
    assert "vobiz: ok" in proc.stderr
    assert "vobiz: ok" not in proc.stdout


def test_default_format_is_json_when_stdout_is_not_a_terminal() -> None:
    """Piped output defaults to json (a terminal gets the table)."""
    proc = run("search", "--sandbox", "--country", "IN")

    assert "status" in json.loads(proc.stdout)


def test_fx_rates_put_converted_prices_beside_the_originals(tmp_path: Path) -> None:
    """With --currency and --fx-rates, each offer keeps its price and gains the converted one."""
    rates = tmp_path / "rates.json"
    rates.write_text('{"base": "EUR", "rates": {"USD": "1.08", "INR": "90.2", "GBP": "0.85"}}')

    proc = run(
        "search", "--sandbox", "--country", "US", "--currency", "EUR", "--fx-rates", str(rates), "--format", "json"
    )

    doc = json.loads(proc.stdout)
    assert "EUR" == doc["currency"]
    converted = [o for o in doc["offers"] if "converted" in o]
    assert converted
    assert all(
        o["converted"]["monthly_price"]["currency"] == "EUR" for o in converted if o["converted"]["monthly_price"]
    )
    foreign = [o for o in converted if o["monthly_price"] and o["monthly_price"]["currency"] != "EUR"]
    assert foreign, "the US sandbox prices in USD and INR too: some offers must have been converted"
    assert all(o["converted"]["monthly_price"] for o in foreign)


def test_complete_partial_failed_and_strict_exit_codes(served: tuple[dict[str, Sandbox], dict[str, str]]) -> None:
    """0 when all answer, 3 when one is down (offers still printed), 1 with --strict or when none answer."""
    _, env = served

    complete = run("search", "--country", "US", "--format", "json", env=env)
    partial = run("search", "--country", "US", "--format", "json", env={**env, "BIRD_BASE_URL": DEAD_URL})
    strict = run("search", "--country", "US", "--format", "json", "--strict", env={**env, "BIRD_BASE_URL": DEAD_URL})
    dead = {**env, **{f"{p}_BASE_URL": DEAD_URL for p in ("BIRD", "VOBIZ", "IDENTITYCALL", "TWILIO", "VONAGE")}}
    failed = run("search", "--country", "US", "--format", "json", "--timeout", "10", env=dead)

    assert 0 == complete.returncode, complete.stderr
    assert 3 == partial.returncode, partial.stderr
    doc = json.loads(partial.stdout)
    assert "partial" == doc["status"]
    assert doc["offers"]
    assert "error" == next(p for p in doc["providers"] if p["provider"] == "bird")["status"]
    assert "bird: error" in partial.stderr
    assert 1 == strict.returncode
    assert 1 == failed.returncode


def test_unconfigured_providers_are_skipped_and_said_so(served: tuple[dict[str, Sandbox], dict[str, str]]) -> None:
    """Only IdentityCall configured: the others are skipped (naming the variables), and that is complete."""
    _, env = served
    only = {k: v for k, v in env.items() if k.startswith("IDENTITYCALL_")}

    proc = run("search", "--country", "US", "--format", "json", env=only)

    assert 0 == proc.returncode
    reports = {p["provider"]: p for p in json.loads(proc.stdout)["providers"]}
    assert "skipped" == reports["vobiz"]["status"]
    assert ["VOBIZ_AUTH_ID", "VOBIZ_AUTH_TOKEN"] == reports["vobiz"]["missing_env"]
    assert "vobiz: skipped (set VOBIZ_AUTH_ID, VOBIZ_AUTH_TOKEN)" in proc.stderr


def test_nothing_configured_fails_with_advice() -> None:
    """No credentials anywhere: exit 1, and stderr says how to fix it."""
    proc = run("search", "--country", "US", "--format", "json")

    assert 1 == proc.returncode
    assert "try --sandbox" in proc.stderr


def test_env_file_supplies_credentials(tmp_path: Path, served: tuple[dict[str, Sandbox], dict[str, str]]) -> None:
    """--env-file reads a .env-style file."""
    _, env = served
    dotenv = tmp_path / ".env"
    dotenv.write_text("".join(f"{k}={v}\n" for k, v in env.items() if k.startswith("VOBIZ_")))

    proc = run("search", "--country", "US", "--format", "json", "--provider", "vobiz", "--env-file", str(dotenv))

    assert 0 == proc.returncode, proc.stderr
    assert "ok" == json.loads(proc.stdout)["providers"][0]["status"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--country", "XX"], "country"),
        (["--country", "US", "--prefix", "+1212"], "prefix"),
        (["--country", "US", "--max-monthly", "2"], "needs a currency"),
        (["--country", "US", "--provider", "nope"], "unknown provider 'nope'"),
        (["--country", "US", "--fx-rates", "/nonexistent.json", "--currency", "EUR"], "cannot read"),
        (["--country", "US", "--sort", "cheapest"], "Invalid value for '--sort'"),
    ],
)
def test_usage_errors_exit_2_and_say_what_to_fix(args: list[str], message: str) -> None:
    """Bad input exits 2 with a message naming the problem, and prints nothing on stdout."""
    proc = run("search", "--sandbox", *args)

    assert 2 == proc.returncode
    assert message in proc.stderr
    assert "" == proc.stdout
    assert "Traceback" not in proc.stderr


def test_no_secret_in_any_output(served: tuple[dict[str, Sandbox], dict[str, str]]) -> None:
    """Credentials appear in no output format, summary or error, even when a provider fails."""
    _, env = served
    failing = {**env, "VOBIZ_BASE_URL": DEAD_URL}
    outputs = [
        run("search", "--country", "US", "--format", fmt, env=failing) for fmt in ("json", "csv", "ndjson", "table")
    ]
    outputs.append(run("providers", "--format", "json", env=env))

    for proc in outputs:
        for secret in secrets(env):
            assert secret not in proc.stdout
            assert secret not in proc.stderr


def test_providers_lists_configuration_and_filter_support(served: tuple[dict[str, Sandbox], dict[str, str]]) -> None:
    """`providers` says which are configured, what is missing (names only) and how each filter is applied."""
    _, env = served
    only = {k: v for k, v in env.items() if k.startswith("BIRD_")}

    rows = {r["id"]: r for r in json.loads(run("providers", "--format", "json", env=only).stdout)}

    assert rows["bird"]["configured"] is True
    assert rows["vobiz"]["configured"] is False
    assert ["VOBIZ_AUTH_ID", "VOBIZ_AUTH_TOKEN"] == rows["vobiz"]["missing_env"]
    assert {"native", "emulated", "unsupported"} >= set(rows["vobiz"]["filters"].values())
    assert "emulated" == rows["vobiz"]["filters"]["capabilities"]
    assert "unsupported" == rows["bird"]["filters"]["max_setup_price"]


def test_version_and_help_with_examples() -> None:
    """--version prints the version; every command's --help shows examples."""
    from importlib.metadata import version

    assert version("numbroker") in run("--version").stdout
    for command in (["search"], ["providers"], ["sandbox", "serve"], []):
        out = run(*command, "--help").stdout
        assert "Example" in out or "numbroker search --sandbox" in out


def test_ctrl_c_ends_cleanly_without_a_traceback() -> None:
    """SIGINT during a search exits 130 with no traceback."""
    sandboxes = create_sandboxes(["vobiz"], faults=Faults(rate_stall=1.0, stall_seconds=30))
    with LoopbackServer(sandboxes["vobiz"].app) as server:
        env = {**sandboxes["vobiz"].env, "VOBIZ_BASE_URL": server.base_url + sandboxes["vobiz"].base_path}
        base = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "numbroker", "search", "--country", "US", "--format", "json"],
            env={**base, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 20
        while not sandboxes["vobiz"].log and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)

    assert 130 == proc.returncode
    assert "Traceback" not in err
    assert "interrupted" in err


def test_sandbox_serve_prints_exports_that_work() -> None:
    """`sandbox serve` prints export lines; a search pointed at them completes."""
    with subprocess.Popen(
        [sys.executable, "-m", "numbroker", "sandbox", "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            env: dict[str, str] = {}
            assert proc.stdout is not None
            while not {"VOBIZ_BASE_URL", "BIRD_BASE_URL", "IDENTITYCALL_BASE_URL", "TWILIO_BASE_URL"} <= set(env):
                line = proc.stdout.readline()
                assert line.startswith("export "), line
                key, value = line.strip().removeprefix("export ").split("=", 1)
                env[key] = value
            # (a base URL given as a path, such as Twilio's pricing one, lives on its provider's loopback origin)
            urls = [v for k, v in env.items() if k.endswith("_BASE_URL") and not v.startswith("/")]
            assert all(v.startswith("http://127.0.0.1:") for v in urls)

            search = run("search", "--country", "US", "--format", "json", env=env)

            assert 0 == search.returncode, search.stderr
        finally:
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=20)


def test_sandbox_serve_refuses_non_loopback_hosts() -> None:
    """The sandboxes are only ever served on loopback."""
    proc = run("sandbox", "serve", "--host", "0.0.0.0")

    assert 2 == proc.returncode
    assert "loopback" in proc.stderr
