"""The README cannot drift from reality: its table, its commands and its examples are checked here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from numbroker import FilterSupport, QueryFilter, SearchQuery, available_providers
from numbroker.sandbox import LoopbackServer, create_sandboxes

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def marked_command(marker: str) -> str:
    """The code block right after an HTML-comment marker (what .ci/run executes)."""
    match = re.search(rf"<!-- {marker} -->\s*```sh\n(.*?)\n```", README, re.S)
    assert match, f"README has no {marker} block"
    return match.group(1).strip()


def python_block(containing: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    return str(next(b for b in blocks if containing in b))


def test_quickstart_commands_are_the_two_ci_runs() -> None:
    """Both commands make a venv, install from this checkout, then search the sandbox / run the tests."""
    search = marked_command("quickstart-search")
    tests = marked_command("quickstart-test")

    assert search.startswith("python3 -m venv .venv && .venv/bin/pip install -e '.[cli]' && ")
    assert search.endswith("numbroker search --sandbox --country US")
    assert tests == (
        "python3 -m venv .venv && .venv/bin/pip install -q 'pip>=25.1' && .venv/bin/pip install -e . --group dev"
        " && .venv/bin/pytest"
    )
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert "readme_command quickstart-search" in ci and "readme_command quickstart-test" in ci
    assert f'test_cmd="{tests}"' in ci


def test_quickstart_search_works_as_written() -> None:
    """The search part of the first command runs offline and prints offers."""
    command = marked_command("quickstart-search").split("&& ")[-1].removeprefix(".venv/bin/numbroker ")
    proc = subprocess.run(
        [sys.executable, "-m", "numbroker", *command.split()], capture_output=True, text=True, timeout=120
    )

    assert 0 == proc.returncode, proc.stderr
    assert "+1" in proc.stdout


def test_provider_table_agrees_with_the_classes() -> None:
    """Each README table row names the class, env vars, paging and filter support the code declares."""
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `(\w+)` \|.*$", README, re.M)}
    providers = available_providers()

    assert set(providers) <= set(rows)
    for pid, cls in providers.items():
        cells = [c.strip() for c in rows[pid].strip("|").split("|")]
        assert f"`{cls.__name__}`" == cells[1]
        assert set(cls.env_vars()) == set(re.findall(r"`([A-Z_]+)`", cells[2]))
        assert cells[3].startswith(cls.paging)
        for column, support in ((4, FilterSupport.NATIVE), (5, FilterSupport.EMULATED), (6, FilterSupport.UNSUPPORTED)):
            declared = {f.value for f in QueryFilter}
            expected = {
                f for f in declared if cls.filter_support.get(QueryFilter(f), FilterSupport.EMULATED) is support
            }
            listed = {c.strip() for c in cells[column].split(",") if c.strip()}
            assert expected == listed, (pid, support)


STATES = ["no credentials", "one provider configured", "every provider configured"]
"""What a newcomer meets: nothing set up yet, one account, every account (sandboxes on loopback)."""


@pytest.fixture
def loopback_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Real credentials and base URLs in the environment, pointing at sandboxes served on loopback."""
    yield from _serve(monkeypatch, ("vobiz", "bird", "identitycall"))


@pytest.fixture(params=STATES)
def newcomer_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Each state a newcomer meets; the providers not configured are reported as skipped."""
    configured = {0: (), 1: ("bird",), 2: ("vobiz", "bird", "identitycall")}[STATES.index(request.param)]
    yield from _serve(monkeypatch, configured)


def _serve(monkeypatch: pytest.MonkeyPatch, configured: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    sandboxes = create_sandboxes()
    with (
        LoopbackServer(sandboxes["vobiz"].app) as v,
        LoopbackServer(sandboxes["bird"].app) as b,
        LoopbackServer(sandboxes["identitycall"].app) as i,
    ):
        for pid, server in (("vobiz", v), ("bird", b), ("identitycall", i)):
            if pid not in configured:
                continue
            for key, value in sandboxes[pid].env.items():
                monkeypatch.setenv(key, value)
            monkeypatch.setenv(f"{pid.upper()}_BASE_URL", server.base_url + sandboxes[pid].base_path)
        yield {"sandboxes": sandboxes, "configured": configured}


def test_async_library_example_runs(newcomer_env: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    """The README's async example runs as written against real HTTP and prints offers and reports."""
    exec(compile(python_block("async def main() -> None:\n    # Every"), "README-async", "exec"), {"__name__": "r"})

    out = capsys.readouterr().out
    for pid in ("vobiz", "bird", "identitycall"):
        status = "ok|empty" if pid in newcomer_env["configured"] else "skipped"
        assert re.search(rf"^{pid} ({status})\b", out, re.M), out
    assert ("+1212" in out) == bool(newcomer_env["configured"])


def test_sync_library_example_prints_the_cheapest_offer_across_currencies(
    newcomer_env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """The synchronous example runs in every state; its best offer is the cheapest once converted to EUR."""
    block = python_block("numbroker.search(")
    exec(compile(block, "README-sync", "exec"), {"__name__": "r"})

    out = capsys.readouterr().out
    if not newcomer_env["configured"]:
        assert "no offers: failed" in out
        return
    import numbroker

    rates = {"base": "EUR", "rates": {"GBP": "0.86", "USD": "1.08"}}
    result = numbroker.search(country="GB", number_type="mobile", currency="EUR", rates=rates, timeout=20)
    converted = [r.converted_monthly_price for r in result.offers if r.converted_monthly_price is not None]
    best = result.offers[0]
    assert best.converted_monthly_price == min(converted, key=lambda m: m.amount)
    line = f"{best.offer.e164} {best.offer.monthly_price} = {best.converted_monthly_price}"
    assert line in out
    example = re.search(r"# with every sandbox configured: (.*)", block)
    assert example, "the comment shows what print() prints"
    if len(newcomer_env["configured"]) == 3:
        assert example.group(1) == line


def test_sandbox_from_code_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """The sandbox example needs no account: it prints the 3 cheapest of each currency."""
    exec(compile(python_block("in_process_providers(create_sandboxes())"), "README-sandbox", "exec"), {"__name__": "r"})

    out = capsys.readouterr().out.splitlines()
    ranked_apart = out[-1]
    assert ranked_apart.startswith("ranked apart: [")
    currencies = re.findall(r"'([A-Z]{3})'", ranked_apart)
    offers = [line for line in out[:-1] if line.startswith("+1212")]
    assert currencies and len(offers) == sum(min(3, sum(c in line for line in offers)) for c in currencies)
    assert all(sum(f" {c}" in line for line in offers) <= 3 for c in currencies)


def test_third_party_provider_example_works() -> None:
    """The README's plug-in example is a working provider: it searches, normalizes and names its env var."""
    namespace: dict[str, Any] = {"__name__": "acme_numbroker"}
    exec(compile(python_block("class AcmeProvider"), "README-plugin", "exec"), namespace)
    acme = namespace["AcmeProvider"]
    pages = {
        None: {"items": [{"id": "1", "number": "+14155552671", "country": "US", "monthly": "1.25"}], "next": "p2"},
        "p2": {"items": [{"id": "2", "number": "+442079460958", "country": "GB", "monthly": "0.90"}]},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        assert "Bearer key-12345" == request.headers["Authorization"]
        return httpx.Response(200, json=pages[request.url.params.get("cursor")])

    async def main() -> Any:
        async with acme(api_key="key-12345", transport=httpx.MockTransport(handler)) as provider:
            return await provider.search(SearchQuery(country="US"))

    result = anyio.run(main)

    assert ["+14155552671"] == [o.e164 for o in result.offers]
    assert 1 == result.stats.excluded["country"]
    assert "ACME_BASE_URL" == acme.base_url_env
    with pytest.raises(Exception, match="ACME_API_KEY"):
        acme(env={})


def test_readme_never_promises_an_untested_exit_code() -> None:
    """Every exit code in the README table is one the CLI defines."""
    from numbroker._cli.exits import ExitCode

    codes = {int(c) for c in re.findall(r"^\| (\d+) \|", README, re.M)}
    defined = {int(code) for code in ExitCode}

    assert codes <= defined
    assert os.path.exists(Path(__file__).parent.parent / ".ci" / "run")


def test_buy_cheapest_library_example_plans_and_buys_nothing(
    newcomer_env: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's buy-cheapest example runs as written in every state and, as written, buys nothing."""
    monkeypatch.chdir(tmp_path)
    block = python_block("async def buy")
    exec(compile(block, "README-buy", "exec"), {"__name__": "readme"})

    out = capsys.readouterr().out
    assert out.startswith("none dry run")
    assert ("+1212" in out) == bool(newcomer_env["configured"])
    assert all(not box.purchases for box in newcomer_env["sandboxes"].values())
    assert "# dry_run=False," in block


def test_buy_cheapest_library_example_buys_with_dry_run_false(
    loopback_env: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Uncommenting the example's dry_run=False line buys one number and logs it."""
    monkeypatch.chdir(tmp_path)
    block = python_block("async def buy").replace("# dry_run=False,", "dry_run=False,")
    exec(compile(block, "README-buy", "exec"), {"__name__": "readme"})

    out = capsys.readouterr().out
    assert out.startswith("complete bought")
    assert 1 == sum(len(box.purchases) for box in loopback_env["sandboxes"].values())
    assert (tmp_path / "numbroker-audit.jsonl").read_text().strip()
