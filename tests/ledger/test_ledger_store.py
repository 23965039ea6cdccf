"""The ledger store on both engines: SQLite files, and a real PostgreSQL server started for the session."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from numbroker import ConfigurationError
from numbroker.ledger import (
    AttemptState,
    IntentStatus,
    Ledger,
    LedgerBusyError,
    LedgerError,
    LedgerLockLostError,
    ReleaseState,
    default_ledger_path,
    open_ledger,
)
from numbroker.ledger._postgres import redact_url


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty ledger location on each engine (a new file, or a new database on the session server)."""
    if request.param == "sqlite":
        yield str(tmp_path / "ledger" / "ledger.sqlite3")
        return
    import psycopg

    server = request.getfixturevalue("postgres_url")
    name = f"ledger_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield server.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    with open_ledger(ledger_url) as opened:
        yield opened


def _attempt(ledger: Ledger, e164: str, amount: str, *, account: str = "vobiz:a1", currency: str = "USD") -> int:
    return ledger.record_attempt(
        intent="nightly",
        run_id="run-1",
        account=account,
        provider=account.split(":")[0],
        e164=e164,
        offer_id="offer-" + e164,
        amount=Decimal(amount),
        currency=currency,
    ).id


def test_an_intent_is_opened_once_and_a_rerun_gets_it_back(ledger: Ledger) -> None:
    first = ledger.open_intent("nightly", quantity=2, budget=Decimal("0.50"), currency="USD")
    again = ledger.open_intent("nightly", quantity=9, budget=None, currency="EUR")

    assert (2, Decimal("0.50"), "USD", IntentStatus.OPEN) == (
        first.quantity,
        first.budget,
        first.currency,
        first.status,
    )
    assert first == again
    ledger.finish_intent("nightly", '{"status":"complete"}')
    finished = ledger.intent("nightly")
    assert finished is not None
    assert IntentStatus.FINISHED == finished.status
    assert '{"status":"complete"}' == finished.result
    assert ["nightly"] == [i.key for i in ledger.intents()]


def test_attempts_are_recorded_pending_then_updated_with_exact_amounts(ledger: Ledger) -> None:
    ledger.open_intent("nightly", quantity=1, budget=None, currency="USD")
    first = _attempt(ledger, "+12025550101", "0.1000000000000000000001")

    pending = ledger.attempt(first)
    assert pending is not None
    assert AttemptState.PENDING == pending.state
    assert pending.unresolved
    assert Decimal("0.1000000000000000000001") == pending.amount
    assert (os.getpid(), "run-1") == (pending.pid, pending.run_id)

    bought = ledger.update_attempt(first, AttemptState.BOUGHT, reason=None)
    assert AttemptState.BOUGHT == bought.state
    assert not bought.unresolved
    noted = ledger.update_attempt(first, AttemptState.BOUGHT, note="checked by hand")
    assert "checked by hand" == noted.note
    with pytest.raises(LedgerError, match="no attempt 999"):
        ledger.update_attempt(999, AttemptState.RELEASED)


@pytest.mark.parametrize("state", [AttemptState.BOUGHT, AttemptState.RELEASED])
def test_an_unresolved_attempt_is_resolved_by_hand_with_a_note(ledger: Ledger, state: AttemptState) -> None:
    ledger.open_intent("nightly", quantity=1, budget=None, currency="USD")
    attempt = _attempt(ledger, "+12025550101", "1.25")
    ledger.update_attempt(attempt, AttemptState.UNKNOWN, reason="interrupted")

    done = ledger.resolve(attempt, state, note="seen in the vendor console")

    assert (state, "seen in the vendor console") == (done.state, done.note)
    assert f"resolved by hand on {ledger.host} (was unknown)" == done.reason
    assert done == ledger.attempt(attempt)


def test_resolving_by_hand_refuses_what_is_not_unresolved(ledger: Ledger) -> None:
    ledger.open_intent("nightly", quantity=1, budget=None, currency="USD")
    attempt = _attempt(ledger, "+12025550101", "1")
    with pytest.raises(ConfigurationError, match=r"^an attempt is resolved by hand as bought or released, not gone$"):
        ledger.resolve(attempt, AttemptState.GONE, note="x")
    with pytest.raises(ConfigurationError, match=f"^no attempt 999 in {re.escape(ledger.describe())}$"):
        ledger.resolve(999, AttemptState.BOUGHT, note="x")
    ledger.update_attempt(attempt, AttemptState.BOUGHT)
    with pytest.raises(ConfigurationError, match=r"^attempt [0-9]+ is already bought: nothing to resolve$"):
        ledger.resolve(attempt, AttemptState.RELEASED, note="x")

    assert [AttemptState.BOUGHT] == [a.state for a in ledger.attempts()]


def test_resolving_by_hand_waits_for_a_run_buying_on_the_account(ledger_url: str) -> None:
    with open_ledger(ledger_url) as run, open_ledger(ledger_url) as operator:
        run.open_intent("nightly", quantity=1, budget=None, currency="USD")
        attempt = _attempt(run, "+12025550101", "1")
        with run.purchaser(run_id="run-1", timeout=1), pytest.raises(LedgerBusyError):
            operator.resolve(attempt, AttemptState.RELEASED, note="x", timeout=0.2)
        still = operator.attempt(attempt)
        assert still is not None and AttemptState.PENDING == still.state
        assert AttemptState.RELEASED == operator.resolve(attempt, AttemptState.RELEASED, note="x", timeout=1).state


def test_intents_and_attempts_render_themselves_as_json(ledger: Ledger) -> None:
    intent = ledger.open_intent("nightly", quantity=2, budget=Decimal("0.50"), currency="USD")
    attempt = ledger.attempt(_attempt(ledger, "+12025550101", "0.1000000000000000000001"))
    assert attempt is not None

    assert {
        "key": "nightly",
        "status": "open",
        "quantity": 2,
        "budget": "0.50",
        "currency": "USD",
        "created_at": intent.created_at.isoformat(),
        "updated_at": intent.updated_at.isoformat(),
    } == intent.to_json_dict()
    document = json.loads(json.dumps(attempt.to_json_dict()))
    assert ("0.1000000000000000000001", "pending", True, os.getpid()) == (
        document["amount"],
        document["state"],
        document["unresolved"],
        document["pid"],
    )
    assert list(document) == [
        "id", "intent", "run_id", "provider", "account", "e164", "sold", "offer_id", "amount", "currency", "state",
        "unresolved", "reason", "note", "host", "pid", "created_at", "updated_at",
    ]  # fmt: skip


def test_attempts_filter_by_account_state_and_intent(ledger: Ledger) -> None:
    ledger.open_intent("nightly", quantity=3, budget=None, currency="USD")
    a = _attempt(ledger, "+12025550101", "1")
    b = _attempt(ledger, "+12025550102", "1", account="bird:w1")
    c = _attempt(ledger, "+12025550103", "1")
    ledger.update_attempt(c, AttemptState.GONE)

    assert [a, c] == [x.id for x in ledger.attempts(accounts=["vobiz:a1"])]
    assert [a, b] == [x.id for x in ledger.attempts(states=[AttemptState.PENDING])]
    assert [b, c] == [x.id for x in ledger.attempts(intent="nightly", limit=2)]
    assert [] == ledger.attempts(accounts=[])


def test_spent_counts_bought_and_unresolved_never_gone_refused_or_released(ledger: Ledger) -> None:
    ledger.open_intent("nightly", quantity=9, budget=None, currency="USD")
    states = {
        "+12025550101": AttemptState.BOUGHT,
        "+12025550102": AttemptState.AMBIGUOUS,
        "+12025550103": AttemptState.UNKNOWN,
        "+12025550104": AttemptState.PENDING,
        "+12025550105": AttemptState.GONE,
        "+12025550106": AttemptState.REFUSED,
        "+12025550107": AttemptState.RELEASED,
    }
    for i, (e164, state) in enumerate(states.items()):
        attempt = _attempt(ledger, e164, f"0.1{i}")
        if state is not AttemptState.PENDING:
            ledger.update_attempt(attempt, state)
    _attempt(ledger, "+442071234567", "0.20", currency="GBP")
    _attempt(ledger, "+12025550199", "5", account="bird:w1")

    total, others = ledger.spent("vobiz:a1", currency="USD", window=timedelta(hours=24))

    assert Decimal("0.10") + Decimal("0.11") + Decimal("0.12") + Decimal("0.13") == total
    assert {"GBP"} == others
    assert (Decimal("5"), set()) == ledger.spent("bird:w1", currency="USD", window=timedelta(hours=24))
    everywhere, _ = ledger.spent(None, currency="USD", window=timedelta(hours=24))
    assert total + 5 == everywhere
    assert {"+12025550101", "+12025550102", "+12025550103", "+12025550104", "+442071234567"} == (
        ledger.owned_numbers("vobiz:a1")
    )


def test_the_spend_window_excludes_older_attempts(ledger: Ledger) -> None:
    ledger.open_intent("nightly", quantity=1, budget=None, currency="USD")
    ledger.update_attempt(_attempt(ledger, "+12025550101", "1"), AttemptState.BOUGHT)

    assert (Decimal(0), set()) == ledger.spent("vobiz:a1", currency="USD", window=timedelta(0))


def test_a_second_purchaser_waits_then_names_the_holder(ledger_url: str) -> None:
    with open_ledger(ledger_url) as one, open_ledger(ledger_url) as two:
        with (
            one.purchaser(run_id="run-one", timeout=1),
            pytest.raises(LedgerBusyError) as busy,
            two.purchaser(run_id="run-two", timeout=0.2),
        ):
            pytest.fail("two runs held one ledger's purchaser lock at once")
        assert busy.value.holder is not None
        assert str(os.getpid()) in busy.value.holder and "run-one" in busy.value.holder
        assert "another run is buying on the ledger" in str(busy.value)
        with two.purchaser(run_id="run-two", timeout=1):
            pass  # free again once released


HOLDER = textwrap.dedent(
    """
    import sys, time
    from numbroker.ledger import open_ledger
    with open_ledger(sys.argv[1]) as ledger, ledger.purchaser(run_id="doomed", timeout=5):
        print("held", flush=True)
        time.sleep(120)
    """
)


def test_a_killed_holder_frees_the_account(ledger_url: str) -> None:
    with subprocess.Popen([sys.executable, "-c", HOLDER, ledger_url], stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None
            assert "held" == holder.stdout.readline().strip()
            with open_ledger(ledger_url) as ledger:
                with (
                    pytest.raises(LedgerBusyError, match="doomed"),
                    ledger.purchaser(run_id="r", timeout=0.2),
                ):
                    pass
                holder.send_signal(signal.SIGKILL)
                holder.wait(timeout=30)
                with ledger.purchaser(run_id="after", timeout=20):
                    pass
        finally:
            holder.kill()


def test_a_ledger_from_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with open_ledger(path) as ledger:
        ledger._query("UPDATE numbroker_meta SET value = '99' WHERE name = 'schema'")

    with pytest.raises(LedgerError, match="schema 99; this numbroker reads schema 3"):
        open_ledger(path)


def test_where_a_ledger_lives() -> None:
    with pytest.raises(LedgerError, match="file path or a postgresql:// URL, not mysql://"):
        open_ledger("mysql://db/ledger")
    assert "postgresql://ops@db.example:5433/ledger" == redact_url("postgresql://ops:hunter2@db.example:5433/ledger")
    assert "hunter2" not in redact_url("host=db.example password=hunter2 user=ops dbname=ledger")
    assert "numbroker" == default_ledger_path().parent.name


def test_the_environment_names_the_ledger(tmp_path: Path) -> None:
    target = tmp_path / "from-env.sqlite3"
    with open_ledger(env={"NUMBROKER_LEDGER": str(target)}) as ledger:
        assert str(target) == ledger.describe()
    assert target.exists()


def test_an_unreachable_postgres_is_one_clear_error_without_the_password() -> None:
    with pytest.raises(LedgerError) as failed:
        open_ledger("postgresql://ops:hunter2@127.0.0.1:9/ledger?connect_timeout=2")

    assert "hunter2" not in str(failed.value)
    assert "postgresql://ops@127.0.0.1:9/ledger" in str(failed.value)


def test_the_sqlite_ledger_is_a_durable_wal_file_each_change_committed(tmp_path: Path) -> None:
    """WAL (runs read while one writes), full fsync, and a change is visible to another connection at once."""
    path = tmp_path / "ledger.sqlite3"
    with open_ledger(path) as ledger:
        ledger.open_intent("k", quantity=1, budget=None, currency="USD")
        with contextlib.closing(sqlite3.connect(path)) as other:
            mode = other.execute("PRAGMA journal_mode").fetchone()[0]
            seen = other.execute("SELECT key, status FROM numbroker_intents").fetchall()

    assert "wal" == mode
    assert [("k", "open")] == seen


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-5", "-0.01"])
def test_an_amount_that_is_not_finite_and_non_negative_is_refused_at_write(ledger: Ledger, amount: str) -> None:
    ledger.open_intent("nightly", quantity=1, budget=None, currency="USD")
    with pytest.raises(LedgerError, match="finite, non-negative"):
        _attempt(ledger, "+12025550101", amount)
    assert [] == ledger.listing()


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("amount", "abc", "amount"),
        ("amount", "-5", "amount"),
        ("state", "BOUGHT", "unknown state"),
        ("created_at", "07/12/2026 02:14", "time stamp"),
        ("currency", "usd!", "currency"),
    ],
)
def test_a_row_that_does_not_decode_is_named_and_listed(ledger: Ledger, column: str, value: str, problem: str) -> None:
    """Every read that could match the row refuses it naming the attempt (a state or a time filter never
    hides it); the listing still shows it, with its problem."""
    ledger.open_intent("nightly", quantity=1, budget=None, currency="USD")
    good = _attempt(ledger, "+12025550101", "0.10")
    bad = _attempt(ledger, "+12025550102", "0.10")
    ledger._query(f"UPDATE numbroker_attempts SET {column} = ? WHERE id = ?", (value, bad))

    for read in (
        lambda: ledger.attempts(),
        lambda: ledger.attempts(states=[AttemptState.PENDING]),
        lambda: ledger.attempt(bad),
        lambda: ledger.spent("vobiz:a1", currency="USD", window=timedelta(hours=1)),
        lambda: ledger.owned_numbers("vobiz:a1"),
    ):
        with pytest.raises(LedgerError, match=f"attempt {bad} .*does not decode.*{problem}"):
            read()
    listed = ledger.listing()
    assert [good, bad] == [a.id for a in listed]
    assert problem in getattr(listed[1], "problem", "")


def test_a_schema_1_ledger_is_brought_to_this_schema(tmp_path: Path) -> None:
    """A ledger written by the previous version keeps its attempts and gains the new columns."""
    path = tmp_path / "ledger.sqlite3"
    with open_ledger(path) as ledger:
        ledger.open_intent("nightly", quantity=1, budget=None, currency="USD")
        kept = _attempt(ledger, "+12025550101", "0.10")
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE numbroker_holder")
        columns = (
            "id, intent, run_id, account, provider, e164, offer_id, amount, currency, state, reason, note, host, "
            "pid, created_at, updated_at"
        )
        db.execute(  # the schema 1 table
            "CREATE TABLE old (id INTEGER PRIMARY KEY AUTOINCREMENT, intent TEXT NOT NULL, run_id TEXT NOT NULL, "
            "account TEXT NOT NULL, provider TEXT NOT NULL, e164 TEXT NOT NULL, offer_id TEXT NOT NULL, "
            "amount TEXT NOT NULL, currency TEXT NOT NULL, state TEXT NOT NULL, reason TEXT, note TEXT, "
            "host TEXT NOT NULL, pid INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)"
        )
        db.execute(f"INSERT INTO old ({columns}) SELECT {columns} FROM numbroker_attempts")
        db.execute("DROP TABLE numbroker_attempts")
        db.execute("ALTER TABLE old RENAME TO numbroker_attempts")
        db.execute("UPDATE numbroker_meta SET value = '1' WHERE name = 'schema'")

    with open_ledger(path) as ledger:
        (attempt,) = ledger.attempts()
        assert (kept, None) == (attempt.id, attempt.sold)
        assert [("3",)] == ledger._query("SELECT value FROM numbroker_meta WHERE name = 'schema'")
        with ledger.purchaser(run_id="after-upgrade", timeout=1):
            assert AttemptState.PENDING is _recorded(ledger, "+12025550102").state


SCHEMA_2 = (
    "CREATE TABLE numbroker_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE numbroker_intents (key TEXT PRIMARY KEY, quantity INTEGER NOT NULL, budget TEXT, "
    "currency TEXT NOT NULL, status TEXT NOT NULL, result TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)",
    "CREATE TABLE numbroker_attempts (id {serial}, intent TEXT NOT NULL REFERENCES numbroker_intents(key), "
    "run_id TEXT NOT NULL, account TEXT NOT NULL, provider TEXT NOT NULL, e164 TEXT NOT NULL, offer_id TEXT NOT NULL, "
    "amount TEXT NOT NULL, currency TEXT NOT NULL, state TEXT NOT NULL, reason TEXT, note TEXT, host TEXT NOT NULL, "
    "pid INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, sold TEXT, boot_id TEXT, "
    "boot_seconds TEXT)",
    "CREATE TABLE numbroker_holder (name TEXT PRIMARY KEY, token TEXT NOT NULL, run_id TEXT NOT NULL, "
    "host TEXT NOT NULL, pid INTEGER NOT NULL, session TEXT NOT NULL, since TEXT NOT NULL)",
    "CREATE INDEX numbroker_attempts_account ON numbroker_attempts (account, state)",
    "CREATE INDEX numbroker_attempts_intent ON numbroker_attempts (intent)",
    "INSERT INTO numbroker_meta (name, value) VALUES ('schema', '2')",
    "INSERT INTO numbroker_intents VALUES ('nightly', 2, '5.00', 'USD', 'done', '{{\"bought\": 1}}', "
    "'2026-11-30T02:00:00.000000Z', '2026-11-30T02:00:09.000000Z')",
    "INSERT INTO numbroker_attempts (intent, run_id, account, provider, e164, offer_id, amount, currency, state, "
    "reason, note, host, pid, created_at, updated_at, sold, boot_id, boot_seconds) VALUES ('nightly', 'run-1', "
    "'vobiz:a1', 'vobiz', '+12025550101', 'offer-1', '0.80', 'USD', 'bought', 'the vendor said yes', NULL, 'cron-1', "
    "4242, '2026-11-30T02:00:01.000000Z', '2026-11-30T02:00:02.000000Z', NULL, 'boot-1', '88.5')",
    "INSERT INTO numbroker_attempts (intent, run_id, account, provider, e164, offer_id, amount, currency, state, "
    "reason, note, host, pid, created_at, updated_at, sold, boot_id, boot_seconds) VALUES ('nightly', 'run-1', "
    "'vobiz:a1', 'vobiz', '+12025550102', 'offer-2', '0.90', 'USD', 'unknown', 'no answer', NULL, 'cron-1', "
    "4242, '2026-11-30T02:00:03.000000Z', '2026-11-30T02:00:09.000000Z', NULL, 'boot-1', '90.1')",
)
"""A ledger as the version before releases created and wrote it: its own DDL, not today's minus a table."""


def _schema_2_ledger(ledger_url: str) -> None:
    if ledger_url.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(ledger_url) as db:  # one transaction
            for statement in SCHEMA_2:
                db.execute(statement.format(serial="BIGSERIAL PRIMARY KEY"))
        return
    Path(ledger_url).parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(ledger_url)) as file, file:
        for statement in SCHEMA_2:
            file.execute(statement.format(serial="INTEGER PRIMARY KEY AUTOINCREMENT"))


def _ledger_rows(ledger: Ledger) -> list[tuple[Any, ...]]:
    return [
        (a.id, a.e164, a.amount, a.state, a.reason, a.host, a.pid, a.created_at.isoformat()) for a in ledger.attempts()
    ]


def test_a_schema_2_ledger_gains_the_release_table(ledger_url: str) -> None:
    """A ledger the version before releases wrote keeps every row, gains the release table when opened, and a
    second opening changes nothing (on both engines)."""
    _schema_2_ledger(ledger_url)
    expected = [
        (1, "+12025550101", Decimal("0.80"), AttemptState.BOUGHT, "the vendor said yes", "cron-1", 4242,
         "2026-11-30T02:00:01+00:00"),
        (2, "+12025550102", Decimal("0.90"), AttemptState.UNKNOWN, "no answer", "cron-1", 4242,
         "2026-11-30T02:00:03+00:00"),
    ]  # fmt: skip

    with open_ledger(ledger_url) as ledger:
        assert expected == _ledger_rows(ledger)
        assert [("3",)] == ledger._query("SELECT value FROM numbroker_meta")
        assert [("done",)] == ledger._query("SELECT status FROM numbroker_intents WHERE key = 'nightly'")
        assert [] == ledger.releases()
        ledger.open_intent("release:x", quantity=1, budget=None, currency="XXX")
        with ledger.purchaser(run_id="after-upgrade", timeout=1):
            pending = ledger.record_release(
                intent="release:x", run_id="r", account="vobiz:a1", provider="vobiz", e164="+12025550101"
            )
        done = ledger.update_release(pending.id, ReleaseState.RELEASED, reason="the list no longer shows it")
    assert (ReleaseState.PENDING, ReleaseState.RELEASED) == (pending.state, done.state)
    assert (True, False) == (pending.unresolved, done.unresolved)

    with open_ledger(ledger_url) as again:  # idempotent: nothing re-run, nothing lost
        assert expected == _ledger_rows(again)
        assert [("3",)] == again._query("SELECT value FROM numbroker_meta")
        assert [(done.id, ReleaseState.RELEASED)] == [(r.id, r.state) for r in again.releases()]
        assert [(2,)] == again._query("SELECT COUNT(*) FROM numbroker_intents")


def _recorded(ledger: Ledger, e164: str) -> Any:
    found = ledger.attempt(_attempt(ledger, e164, "0.10"))
    assert found is not None
    return found


def test_a_sold_number_is_kept_with_the_reason_that_names_it(ledger: Ledger) -> None:
    ledger.open_intent("nightly", quantity=1, budget=None, currency="USD")
    attempt = _attempt(ledger, "+12025550101", "0.10")
    ledger.update_attempt(
        attempt, AttemptState.AMBIGUOUS, reason="the vendor says it sold +12025550199", sold="+12025550199"
    )
    later = ledger.update_attempt(attempt, AttemptState.RELEASED, reason="not owned", sold="+12025550100")

    assert "+12025550199" == later.sold
    assert (later.reason or "").startswith("the vendor says it sold +12025550199; not owned")
    assert ("+12025550101", "+12025550199") == later.numbers


def test_a_hold_whose_holder_row_names_another_run_stops_the_pending_write(ledger_url: str) -> None:
    """While held, the pending write proves the hold in its own transaction: a holder row that names another
    run (the lock went elsewhere) refuses the write, and nothing is recorded."""
    with open_ledger(ledger_url) as ledger:
        ledger.open_intent("nightly", quantity=1, budget=None, currency="USD")
        with ledger.purchaser(run_id="mine", timeout=1):
            ledger._query("UPDATE numbroker_holder SET token = 'someone-else'")
            with pytest.raises(LedgerLockLostError):
                _attempt(ledger, "+12025550101", "0.10")
        assert [] == ledger.attempts()


@pytest.mark.parametrize(
    ("monthly", "currency", "problem"),
    [("-0.01", "USD", "finite, non-negative"), ("NaN", "USD", "finite, non-negative"), ("1.00", "usd$", "currency")],
)
def test_a_release_saving_that_is_not_money_is_refused_at_write(
    ledger: Ledger, monthly: str, currency: str, problem: str
) -> None:
    ledger.open_intent("release:x", quantity=1, budget=None, currency="XXX")
    with pytest.raises(LedgerError, match=f"refuses the release of \\+12025550101: .*{problem}"):
        ledger.record_release(
            intent="release:x",
            run_id="r",
            account="vobiz:a1",
            provider="vobiz",
            e164="+12025550101",
            monthly=Decimal(monthly),
            currency=currency,
        )
    assert [] == ledger.releases()


@pytest.mark.parametrize("currency", ["usd", "US", "USDX", ""])
def test_an_attempt_in_a_currency_that_is_not_a_code_is_refused_at_write(ledger: Ledger, currency: str) -> None:
    ledger.open_intent("nightly", quantity=1, budget=None, currency="USD")
    with pytest.raises(LedgerError, match=f"refuses attempt \\+12025550101: currency {currency!r}"):
        _attempt(ledger, "+12025550101", "0.10", currency=currency)
    assert [] == ledger.listing()
