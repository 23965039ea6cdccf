"""``numbroker owned`` through its real entry point against the Vobiz sandbox over loopback: the JSON is the
sandbox's owned inventory exactly, every format parses, partner views, the ledger read, usage errors."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from numbroker._cli.owned import CSV_FIELDS
from numbroker.ledger import AttemptState, open_ledger
from numbroker.sandbox import LoopbackServer, Sandbox
from numbroker_providers.vobiz import VobizProvider
from numbroker_providers.vobiz.sandbox import CUSTOMERS, DEFAULT_AUTH_ID, create_app

PREFIXES = ("VOBIZ_", "BIRD_", "IDENTITYCALL_", "TELNYX_", "TWILIO_", "VONAGE_", "PLIVO_", "NUMBROKER_LEDGER")
STATUS = {"active": "active", "pending_release": "pending_release"}


EMPTY_HOME = tempfile.mkdtemp(prefix="numbroker-owned-cli-")
"""The data directory the runs see: no default ledger in it unless a test puts one there."""


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    base["XDG_DATA_HOME"] = EMPTY_HOME
    return subprocess.run(
        [sys.executable, "-m", "numbroker", "owned", *args],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, dict[str, str]]]:
    sandbox = create_app(seed=9, owned=130)
    with LoopbackServer(sandbox.app) as server:
        yield sandbox, {**sandbox.env, "VOBIZ_BASE_URL": server.base_url + sandbox.base_path}


def number_json(item: dict[str, Any], *, partner: bool = False) -> dict[str, Any]:
    """The JSON an owned item must become: every contract field, derived from the raw item."""
    fee = item.get("monthly_fee")
    billing = item.get("next_billing_date")
    holder = item["account_id"]
    return {
        "provider": "vobiz",
        "provider_number_id": item["e164"],
        "e164": item["e164"],
        "country": item["country"],
        "capabilities": sorted(k for k in ("voice", "sms", "mms", "fax") if item["capabilities"][k]),
        "status": STATUS[item["status"]],
        "vendor_status": item["status"],
        "monthly_price": None if fee is None else {"amount": str(Decimal(str(fee))), "currency": item["currency"]},
        "price_source": None if fee is None else "vendor",
        "next_renewal": None if billing is None else billing[:10],
        "renewal_source": None if billing is None else "vendor",
        "routed": bool(item["application_id"] or item["trunk_group_id"]),
        "sub_account": None if partner or holder == DEFAULT_AUTH_ID else holder,
        "account": holder if partner else None,
        "purchased_at": item["purchased_at"],
    }


def contract(number: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in number.items() if k not in ("number_type", "provider_details")}
    assert set(number) == {*kept, "number_type", "provider_details"}
    return kept


def test_the_json_is_the_sandbox_inventory_exactly(served: tuple[Sandbox, dict[str, str]]) -> None:
    sandbox, env = served
    done = run("--format", "json", env=env)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    items = sorted(sandbox.options["owned"], key=lambda i: i["e164"])
    assert [contract(n) for n in document["numbers"]] == [number_json(i) for i in items]
    assert [n["provider_details"]["id"] for n in document["numbers"]] == [i["id"] for i in items]
    assert set(document) == {
        "status", "query", "numbers", "providers", "rejected", "rejected_total", "summary", "reconciliation",
    }  # fmt: skip
    assert (document["status"], document["rejected"], document["reconciliation"]) == ("complete", [], None)
    reports = {p["provider"]: p["status"] for p in document["providers"]}
    assert reports["vobiz"] == "ok" and {s for p, s in reports.items() if p != "vobiz"} == {"skipped"}
    summary = document["summary"]["by_provider"]["vobiz"]
    today = datetime.now(UTC).date()
    assert summary["numbers"] == len(items)
    assert summary["price_unknown"] == sum("monthly_fee" not in i for i in items)
    assert summary["unrouted"] == sum(not (i["application_id"] or i["trunk_group_id"]) for i in items)
    assert summary["renewing_soon"] == sum(
        1
        for i in items
        if i["next_billing_date"] and (date.fromisoformat(i["next_billing_date"][:10]) - today).days <= 14
    )


def test_partner_views_are_the_customers_numbers_exactly(served: tuple[Sandbox, dict[str, str]]) -> None:
    sandbox, env = served
    everyone = json.loads(run("--partner", "--format", "json", env=env).stdout)
    one = run("--customer", CUSTOMERS[0], "--format", "json", env=env)
    unknown = run("--customer", "MA_NOBODY", "--format", "json", env=env)
    partner = sandbox.options["partner"]
    items = sorted((i for c in CUSTOMERS for i in partner[c]), key=lambda i: i["e164"])
    assert [contract(n) for n in everyone["numbers"]] == [number_json(i, partner=True) for i in items]
    assert [contract(n) for n in json.loads(one.stdout)["numbers"]] == [
        number_json(i, partner=True) for i in sorted(partner[CUSTOMERS[0]], key=lambda i: i["e164"])
    ]
    assert (unknown.returncode, json.loads(unknown.stdout)["status"]) == (1, "failed")
    assert "vobiz: error" in unknown.stderr


def test_ndjson_streams_numbers_then_one_summary_and_csv_parses(served: tuple[Sandbox, dict[str, str]]) -> None:
    sandbox, env = served
    lines = [json.loads(line) for line in run("--format", "ndjson", env=env).stdout.splitlines()]
    assert [line["type"] for line in lines] == ["number"] * len(sandbox.options["owned"]) + ["summary"]
    assert "numbers" not in lines[-1] and lines[-1]["summary"]["by_provider"]["vobiz"]["numbers"] == len(lines) - 1
    rows = list(csv.DictReader(io.StringIO(run("--format", "csv", "--unrouted", env=env).stdout)))
    unrouted = {i["e164"] for i in sandbox.options["owned"] if not (i["application_id"] or i["trunk_group_id"])}
    assert tuple(rows[0]) == CSV_FIELDS
    assert {r["e164"] for r in rows} == unrouted and {r["routed"] for r in rows} == {"false"}


def test_the_table_fits_80_columns_with_whole_numbers_and_prices(served: tuple[Sandbox, dict[str, str]]) -> None:
    sandbox, env = served
    out = run("--format", "table", env=env).stdout
    assert max(len(line) for line in out.splitlines()) <= 80
    for item in sandbox.options["owned"]:
        assert item["e164"] in out
        if "monthly_fee" in item:
            assert f"{Decimal(str(item['monthly_fee']))} {item['currency']}" in out
    assert "renewing soon means the next renewal is within 14 days" in " ".join(out.split())


def test_the_ledger_is_reconciled(served: tuple[Sandbox, dict[str, str]], tmp_path: Path) -> None:
    sandbox, env = served
    account = VobizProvider(base_url=env["VOBIZ_BASE_URL"], env=env).account_key()
    ledger = open_ledger(tmp_path / "ledger.sqlite3")
    listed = sandbox.options["owned"][0]["e164"]
    for e164, state in (("+442079460555", AttemptState.BOUGHT), (listed, AttemptState.RELEASED)):
        ledger.record_attempt(
            intent="i", run_id="r", account=account, provider="vobiz", e164=e164, offer_id="o",
            amount=Decimal(1), currency="USD", state=state,
        )  # fmt: skip
    ledger.close()
    done = run("--format", "json", "--ledger", str(tmp_path / "ledger.sqlite3"), env=env)
    found = json.loads(done.stdout)["reconciliation"]
    assert [e["e164"] for e in found["missing_at_vendor"]] == ["+442079460555"]
    assert [e["e164"] for e in found["still_listed"]] == [listed]
    assert found["not_in_ledger"] == {"vobiz": len(sandbox.options["owned"]) - 1}
    table = run("--format", "table", "--ledger", str(tmp_path / "ledger.sqlite3"), env=env).stdout
    assert "1 bought but no longer listed, 1 given back but still listed" in " ".join(table.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--partner", "--customer", "MA_X"], "give one"),
        (["--customer", "a/b"], "customer account id"),
        (["--ledger", "/nonexistent/ledger.sqlite3"], "does not exist"),
        (["--partner", "--ledger", "x.sqlite3"], "not a partner's views"),
        (["--country", "UK"], "did you mean GB?"),
        (["--renewing-within", "-1"], "--renewing-within"),
    ],
)
def test_usage_errors_are_one_line_exit_2(args: list[str], message: str) -> None:
    done = run("--sandbox", *args)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr


def test_no_secret_in_any_output(served: tuple[Sandbox, dict[str, str]]) -> None:
    _, env = served
    secrets = [env["VOBIZ_AUTH_TOKEN"], env["VOBIZ_AUTH_ID"]]
    for fmt in ("json", "ndjson", "csv", "table"):
        done = run("--format", fmt, env=env)
        assert not any(s in done.stdout + done.stderr for s in secrets)


def test_the_default_ledger_is_read_when_it_exists(served: tuple[Sandbox, dict[str, str]], tmp_path: Path) -> None:
    _, env = served
    ledger = open_ledger(tmp_path / "numbroker" / "ledger.sqlite3")
    ledger.close()
    done = run("--format", "json", env={**env, "XDG_DATA_HOME": str(tmp_path)})
    assert json.loads(done.stdout)["reconciliation"]["not_in_ledger"] == {"vobiz": 130}


def test_sandbox_runs_with_no_account_and_reads_no_ledger(tmp_path: Path) -> None:
    done = run("--sandbox", "--format", "json", env={"NUMBROKER_LEDGER": str(tmp_path / "nope.sqlite3")})
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["numbers"] and document["reconciliation"] is None
    assert not (tmp_path / "nope.sqlite3").exists()
