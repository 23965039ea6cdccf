"""The HTML reports of ``compare`` and ``owned``: one self-contained file, checked as text and in a real browser.

As text (always): the Content-Security-Policy meta forbids every load, nothing names a source to load, and a vendor
string with ``<script>`` is escaped. In Debian's headless Chromium, driven by Playwright (never a browser of its own):
every row and provider is in the DOM, every country has a chart, the browser's own record holds no request but the
file's, a load the page tries is refused by the policy, no console error, and the vendor's ``<script>`` shows as text
and never runs. A screenshot of each report is kept in ``test-artifacts/`` (git-ignored).

Skipped, with the reason, where Chromium or Playwright is missing; ``NUMBROKER_REQUIRE_BROWSER=1`` (set in CI) makes
that a failure instead.
"""

from __future__ import annotations

import html
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import anyio
import pytest

from numbroker import ProviderUnavailableError, RetryPolicy, Searcher
from numbroker._cli.html_report import CSP, comparison_html, owned_html
from numbroker._compare import compare
from numbroker.testing import FakeProvider, offer

PREFIXES = ("VOBIZ_", "BIRD_", "IDENTITYCALL_", "TELNYX_", "TWILIO_", "VONAGE_", "PLIVO_", "NUMBROKER_LEDGER")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HOSTILE = "<script>window.__owned = 1</script><img src=x onerror=window.__owned=2>"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    env["XDG_DATA_HOME"] = str(cwd)  # no default ledger
    return subprocess.run(
        [sys.executable, "-m", "numbroker", *args], env=env, capture_output=True, text=True, timeout=180, cwd=cwd
    )


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The README's demo report and the owned report, with the JSON documents they show, and two hostile ones."""
    folder = tmp_path_factory.mktemp("reports")
    demo = ("compare", "--sandbox", "--country", "US", "--country", "GB")
    done = run(*demo, "--format", "html", "--output", "report.html", cwd=folder)
    assert 0 == done.returncode, done.stderr
    data = run(*demo, "--format", "json", cwd=folder)
    owned = run("owned", "--sandbox", "--format", "html", "--output", "owned.html", cwd=folder)
    assert 0 == owned.returncode, owned.stderr
    owned_data = run("owned", "--sandbox", "--format", "json", cwd=folder)
    (folder / "hostile-compare.html").write_text(_hostile_comparison(), encoding="utf-8")
    (folder / "hostile-owned.html").write_text(_hostile_owned(), encoding="utf-8")
    return {
        "folder": folder,
        "compare": json.loads(data.stdout),
        "owned": json.loads(owned_data.stdout),
    }


def _hostile_comparison() -> str:
    """A comparison where a vendor's error message carries markup."""
    fast = RetryPolicy(attempts=1, initial=0.001, max_delay=0.01, jitter=0.0)
    broken = FakeProvider(
        [offer("+14155550101")],
        provider_id="broken",
        error=ProviderUnavailableError("broken", HOSTILE, status_code=503),
        retry=fast,
    )
    fine = FakeProvider([offer("+14155550102"), offer("+14155550103", monthly="2.00")], provider_id="fine", retry=fast)

    async def main() -> str:
        async with Searcher([fine, broken]) as searcher:
            return comparison_html(await compare(searcher, ["US"]))

    return anyio.run(main)


def _hostile_owned() -> str:
    """The owned sandbox's numbers, one with markup in its vendor status and sub-account."""
    from numbroker import owned
    from numbroker.sandbox import create_sandboxes, in_process_providers

    async def main() -> str:
        providers = in_process_providers(create_sandboxes(["vobiz"], owned=5))
        try:
            result = await owned(providers)
        finally:
            for provider in providers:
                await provider.aclose()
        numbers = [result.numbers[0].model_copy(update={"vendor_status": HOSTILE, "sub_account": HOSTILE})]
        numbers += result.numbers[1:]
        unrouted = [n.model_copy(update={"routed": False}) if i == 0 else n for i, n in enumerate(numbers)]
        return owned_html(unrouted, result)

    return anyio.run(main)


# -- as text -----------------------------------------------------------------------------------------------

NAMES = ["report.html", "owned.html", "hostile-compare.html", "hostile-owned.html"]


@pytest.mark.parametrize("name", NAMES)
def test_the_file_loads_nothing_and_says_so_in_its_policy(reports: dict[str, Any], name: str) -> None:
    text = (reports["folder"] / name).read_text(encoding="utf-8")

    policies = re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', text)
    assert [CSP] == [html.unescape(policy) for policy in policies]
    assert "default-src 'none'" in CSP
    assert not re.search(r"<(script|link|iframe|object|embed|base)\b", text, re.I)
    assert not re.search(r"<[a-z][^>]*\s(src|href|srcset|action|xlink:href|style)\s*=", text, re.I)
    assert "url(" not in text and "@import" not in text


@pytest.mark.parametrize("name", ["hostile-compare.html", "hostile-owned.html"])
def test_a_vendor_string_with_markup_is_escaped(reports: dict[str, Any], name: str) -> None:
    text = (reports["folder"] / name).read_text(encoding="utf-8")

    assert "&lt;script&gt;window.__owned = 1&lt;/script&gt;" in text
    assert "<img src=x" not in text


# -- in a real browser ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = os.environ.get("NUMBROKER_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "playwright is not installed (pip install -e . --group dev)"
    if missing is None and not os.path.exists(executable):
        missing = f"Debian's chromium is not installed at {executable} (apt-get install chromium)"
    if missing is not None:
        if os.environ.get("NUMBROKER_REQUIRE_BROWSER") == "1":
            pytest.fail(f"NUMBROKER_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    with sync_playwright() as playwright:
        # A fresh, temporary profile (--user-data-dir) for each launch; no browser download: Debian's own.
        launched = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Opened:
    """A report opened in a fresh page, with the browser's record of requests, console errors and CSP refusals."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.url = path.as_uri()
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.failed: list[tuple[str, str]] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("requestfailed", lambda request: self.failed.append((request.url, request.failure or "")))
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(self.url, wait_until="load")

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / name), full_page=True)


@pytest.fixture
def opened(browser: Any) -> Iterator[list[Opened]]:
    pages: list[Opened] = []
    yield pages
    for page in pages:
        page.page.close()


def test_the_compare_report_in_a_browser(reports: dict[str, Any], browser: Any, opened: list[Opened]) -> None:
    report = Opened(browser, reports["folder"] / "report.html")
    opened.append(report)
    page = report.page
    document = reports["compare"]

    for country in ("US", "GB"):
        section = page.locator(f"section[data-country='{country}']")
        rows = [r for r in document["rows"] if r["country"] == country]
        shown = section.locator("tr.row")
        assert len(rows) == shown.count()
        keys = {(r["provider"], r["number_type"], r["currency"]) for r in rows}
        assert keys == {
            (shown.nth(i).get_attribute("data-provider"), shown.nth(i).get_attribute("data-type"),
             shown.nth(i).get_attribute("data-currency"))
            for i in range(shown.count())
        }  # fmt: skip
        assert section.locator("figure.chart svg").count() >= 1
        assert section.locator("figure[data-chart='monthly'] svg").count() >= 1
        assert section.locator("figure[data-chart='total'] svg").count() >= 1
    providers = {p["provider"] for p in document["providers"]}
    assert providers == set(page.locator("table.providers tr[data-provider]").evaluate_all(
        "rows => rows.map(r => r.dataset.provider)"
    ))  # fmt: skip
    for row in document["rows"]:
        if row["cheapest_e164"]:
            assert page.get_by_text(row["cheapest_e164"], exact=True).count() >= 1

    report.screenshot("compare-report.png")
    assert [report.url] == report.requests
    assert [] == report.errors


def test_the_owned_report_in_a_browser(reports: dict[str, Any], browser: Any, opened: list[Opened]) -> None:
    report = Opened(browser, reports["folder"] / "owned.html")
    opened.append(report)
    page = report.page
    document = reports["owned"]

    by_provider = document["summary"]["by_provider"]
    assert set(by_provider) == set(page.locator("#spend tr.row").evaluate_all("r => r.map(x => x.dataset.provider)"))
    unrouted = {n["e164"] for n in document["numbers"] if n["routed"] is False}
    assert unrouted == set(page.locator("#unrouted tr.number").evaluate_all("r => r.map(x => x.dataset.e164)"))
    renewing = sum(p["renewing_soon"] for p in by_provider.values())
    assert renewing == page.locator("#renewals tr.number").count()
    currencies = {code for p in by_provider.values() for code in p["monthly"]}
    assert len(currencies) == page.locator("figure[data-chart='spend'] svg").count()
    if renewing:
        assert 1 == page.locator("figure[data-chart='renewals'] svg").count()

    report.screenshot("owned-report.png")
    assert [report.url] == report.requests
    assert [] == report.errors


@pytest.mark.parametrize("name", ["hostile-compare.html", "hostile-owned.html"])
def test_a_vendors_script_is_shown_as_text_and_never_runs(
    reports: dict[str, Any], browser: Any, opened: list[Opened], name: str
) -> None:
    report = Opened(browser, reports["folder"] / name)
    opened.append(report)

    assert report.page.get_by_text("<script>window.__owned = 1</script>", exact=False).count() >= 1
    assert report.page.evaluate("() => window.__owned === undefined")
    assert 0 == report.page.locator("body script, body img").count()
    report.screenshot(name.replace(".html", ".png"))
    assert [report.url] == report.requests
    assert [] == report.errors


class _Listener(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_the_policy_refuses_a_load_the_page_tries(reports: dict[str, Any], browser: Any, opened: list[Opened]) -> None:
    """Even markup slipped into a report later could not call out: the browser refuses, and the server hears nothing."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Listener)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        report = Opened(browser, reports["folder"] / "report.html")
        opened.append(report)
        target = f"http://127.0.0.1:{server.server_address[1]}/beacon"
        refused = report.page.evaluate(
            """target => new Promise(done => {
                document.addEventListener('securitypolicyviolation', e => done(e.violatedDirective));
                const image = document.createElement('img');
                image.src = target;
                document.body.appendChild(image);
                setTimeout(() => done(null), 3000);
            })""",
            target,
        )
    finally:
        server.shutdown()
        server.server_close()

    assert refused in ("img-src", "default-src")
    assert [] == _Listener.hits
    # The browser records the attempt, and that the policy stopped it before it left.
    assert [(target, "csp")] == report.failed
