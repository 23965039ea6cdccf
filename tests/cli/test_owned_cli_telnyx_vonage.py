"""``numbroker owned`` through its real entry point against the Telnyx and Vonage sandboxes over loopback: the
JSON is both sandboxes' owned inventories exactly, and the ledger's reconciliation counts only numbers held."""

from __future__ import annotations

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

from numbroker.ledger import AttemptState, open_ledger
from numbroker.sandbox import LoopbackServer
from numbroker_providers.telnyx import TelnyxProvider
from numbroker_providers.telnyx.sandbox import create_app as telnyx_app
from numbroker_providers.vonage.sandbox import create_app as vonage_app

PREFIXES = ("VOBIZ_", "BIRD_", "IDENTITYCALL_", "TELNYX_", "TWILIO_", "VONAGE_", "PLIVO_", "NUMBROKER_LEDGER")
EMPTY_HOME = tempfile.mkdtemp(prefix="numbroker-owned-tv-")
TELNYX_STATUS = {
    "active": "active",
    "purchase-pending": "pending",
    "requirement-info-pending": "pending",
    "port-out-pending": "pending_release",
    "deleted": "inactive",
    "purchase-failed": "inactive",
    "emergency-only": "other",
}
TELNYX_TYPES = {"local": "local", "mobile": "mobile", "toll_free": "toll_free"}
VONAGE_TYPES = {"landline": "local", "mobile-lvn": "mobile", "landline-toll-free": "toll_free"}
VONAGE_ROUTING = ("app_id", "voiceCallbackValue", "messagesCallbackValue", "moHttpUrl")


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    base["XDG_DATA_HOME"] = EMPTY_HOME
    return subprocess.run(
        [sys.executable, "-m", "numbroker", "owned", "--provider", "telnyx", "--provider", "vonage", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, str]]]:
    telnyx, vonage = telnyx_app(seed=3, owned=260), vonage_app(seed=3, owned=120)
    with LoopbackServer(telnyx.app) as one, LoopbackServer(vonage.app) as two:
        env = {
            **telnyx.env,
            **vonage.env,
            "TELNYX_BASE_URL": one.base_url + telnyx.base_path,
            "VONAGE_BASE_URL": two.base_url + vonage.base_path,
        }
        yield telnyx.options["owned"], vonage.options["owned"], env


def first_of_next_month() -> str:
    today = datetime.now(UTC).date()
    return (date(today.year + 1, 1, 1) if today.month == 12 else date(today.year, today.month + 1, 1)).isoformat()


def telnyx_json(item: dict[str, Any]) -> dict[str, Any]:
    """The JSON a Telnyx owned record must become, derived from the raw record."""
    active = item["status"] == "active"
    wire_type = item["phone_number_type"]
    return {
        "provider": "telnyx",
        "provider_number_id": item["id"],
        "e164": item["phone_number"],
        "country": item["country_iso_alpha2"],
        "number_type": TELNYX_TYPES.get(wire_type, "local"),
        "capabilities": None,
        "status": TELNYX_STATUS[item["status"]],
        "vendor_status": item["status"],
        "monthly_price": None,
        "price_source": None,
        "next_renewal": first_of_next_month() if active else None,
        "renewal_source": "derived" if active else None,
        "routed": bool(item["connection_id"] or item["messaging_profile_id"]),
        "sub_account": None,
        "account": None,
        "purchased_at": item["purchased_at"].replace(".000Z", "Z"),
        "deletion_lock_enabled": item["deletion_lock_enabled"],
    }


def vonage_json(item: dict[str, Any]) -> dict[str, Any]:
    """The JSON a Vonage owned record must become, derived from the raw record."""
    present = [k for k in VONAGE_ROUTING if k in item]
    return {
        "provider": "vonage",
        "provider_number_id": "+" + item["msisdn"],
        "e164": "+" + item["msisdn"],
        "country": item["country"],
        "number_type": VONAGE_TYPES[item["type"]],
        "capabilities": sorted(f.lower() for f in item["features"]),
        "status": "active",
        "vendor_status": None,
        "monthly_price": None,
        "price_source": None,
        "next_renewal": None,
        "renewal_source": None,
        "routed": any(item[k] for k in present) if present else None,
        "sub_account": None,
        "account": None,
        "purchased_at": None,
    }


def shown(number: dict[str, Any]) -> dict[str, Any]:
    """A JSON number without its details, plus the one detail the contract pins (Telnyx's deletion lock)."""
    kept = {k: v for k, v in number.items() if k != "provider_details"}
    if number["provider"] == "telnyx":
        kept["deletion_lock_enabled"] = number["provider_details"]["deletion_lock_enabled"]
    return kept


def test_the_json_is_both_inventories_exactly(served: Any) -> None:
    telnyx, vonage, env = served
    done = run("--format", "json", env=env)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    expected = sorted(telnyx, key=lambda i: i["phone_number"])
    expected_json = [telnyx_json(i) for i in expected]
    expected_json += [vonage_json(i) for i in sorted(vonage, key=lambda i: "+" + i["msisdn"])]
    assert [shown(n) for n in document["numbers"]] == expected_json
    assert (document["status"], document["rejected"], document["reconciliation"]) == ("complete", [], None)
    assert {p["provider"]: (p["status"], p["offers"], p["truncated"]) for p in document["providers"]} == {
        "telnyx": ("ok", 260, False),
        "vonage": ("ok", 120, False),
    }
    by_provider = document["summary"]["by_provider"]
    assert by_provider["telnyx"] == {
        "numbers": 260,
        "monthly": {},
        "price_unknown": 260,
        "unrouted": sum(not (i["connection_id"] or i["messaging_profile_id"]) for i in telnyx),
        "renewing_soon": sum(i["status"] == "active" for i in telnyx) if _renewal_is_near() else 0,
    }
    assert by_provider["vonage"]["unrouted"] == sum(
        1 for i in vonage if any(k in i for k in VONAGE_ROUTING) and not any(i[k] for k in VONAGE_ROUTING)
    )


def _renewal_is_near() -> bool:
    return (date.fromisoformat(first_of_next_month()) - datetime.now(UTC).date()).days <= 14


def test_only_unrouted_numbers_are_shown_with_unrouted(served: Any) -> None:
    telnyx, vonage, env = served
    document = json.loads(run("--format", "json", "--unrouted", env=env).stdout)
    expected = {i["phone_number"] for i in telnyx if not (i["connection_id"] or i["messaging_profile_id"])}
    expected |= {"+" + i["msisdn"] for i in vonage if all(k in i and not i[k] for k in VONAGE_ROUTING)}
    assert {n["e164"] for n in document["numbers"]} == expected and len(expected) >= 4


def test_the_ledger_counts_only_numbers_the_account_holds(served: Any, tmp_path: Path) -> None:
    """A number given back that Telnyx lists as deleted is not "still listed"; one it lists active is."""
    telnyx, _, env = served
    account = TelnyxProvider(base_url=env["TELNYX_BASE_URL"], env=env).account_key()
    deleted = next(i["phone_number"] for i in telnyx if i["status"] == "deleted")
    failed = next(i["phone_number"] for i in telnyx if i["status"] == "purchase-failed")
    active = next(i["phone_number"] for i in telnyx if i["status"] == "active")
    ledger = open_ledger(tmp_path / "ledger.sqlite3")
    for e164, state in (
        (deleted, AttemptState.RELEASED),
        (active, AttemptState.RELEASED),
        (failed, AttemptState.BOUGHT),
    ):
        ledger.record_attempt(
            intent="i", run_id="r", account=account, provider="telnyx", e164=e164, offer_id=e164,
            amount=Decimal(1), currency="USD", state=state,
        )  # fmt: skip
    ledger.close()
    done = run("--format", "json", "--ledger", str(tmp_path / "ledger.sqlite3"), env=env)
    found = json.loads(done.stdout)["reconciliation"]
    assert [e["e164"] for e in found["still_listed"]] == [active]
    assert [e["e164"] for e in found["missing_at_vendor"]] == [failed]
    held = [i for i in telnyx if i["status"] not in ("deleted", "purchase-failed")]
    assert found["not_in_ledger"]["telnyx"] == len(held) - 1
    assert found["not_in_ledger"]["vonage"] == 120


def test_no_secret_in_any_output(served: Any) -> None:
    _, _, env = served
    secrets = [env["TELNYX_API_KEY"], env["VONAGE_API_KEY"], env["VONAGE_API_SECRET"]]
    for fmt in ("json", "ndjson", "csv", "table"):
        done = run("--format", fmt, env=env)
        assert done.returncode == 0 and not any(s in done.stdout + done.stderr for s in secrets)
