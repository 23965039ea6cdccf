"""Canary credentials never show up in logs (any logger, DEBUG), exceptions, results or CLI output.

A hostile vendor (a raw ASGI app) answers with failures that echo everything it was sent (headers,
path and query) in the body, in a response header and as the request id: 401, 503, 429 and
malformed 200s. The real adapters talk to it in-process and over loopback; the CLI talks to it
through ``python -m numbroker``-style subprocesses with DEBUG logging switched on for every logger.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from numbroker import Provider, ProviderError, RetryPolicy, Searcher, SearchQuery
from numbroker.sandbox import LoopbackServer
from numbroker_providers.bird import BirdProvider
from numbroker_providers.identitycall import IdentityCallProvider
from numbroker_providers.plivo import PlivoProvider
from numbroker_providers.telnyx import TelnyxProvider
from numbroker_providers.twilio import TwilioProvider
from numbroker_providers.vobiz import VobizProvider
from numbroker_providers.vonage import VonageProvider

TOKENS = {
    "VOBIZ_AUTH_TOKEN": "canary-vobiz-token-5c1f9e",
    "BIRD_ACCESS_KEY": "canary-bird-key-77aa01",
    "IDENTITYCALL_API_KEY": "idc_CANARYkey0123456789abcdefABCDEF",
    "TELNYX_API_KEY": "KEYCANARY0123456789ABCDEF_canaryTelnyx4e",
    "TWILIO_AUTH_TOKEN": "canary0twilio0token0c4f1e9a7b3d5",
    "VONAGE_API_KEY": "c4n4ry5e",
    "VONAGE_API_SECRET": "canary-vonage-secret-3e8d",
    "PLIVO_AUTH_TOKEN": "canary-plivo-token-3e8d21",
}
"""Secrets sent in headers."""
PATH_IDS = {
    "VOBIZ_AUTH_ID": "MA_CANARYID7F3A",
    "BIRD_ORGANIZATION_ID": "org-canary-9b2d",
    "TWILIO_ACCOUNT_SID": "ACc4a7c4a7canary0000000000000000000",
    "PLIVO_AUTH_ID": "MACANARYPLIVO0004242",
}
"""Credentials that the vendor API needs in the URL path (redacted by numbroker wherever it writes them)."""
ENV = {**TOKENS, **PATH_IDS}
MODES = ("401", "503", "429", "malformed")
CLASSES: dict[str, type[Provider]] = {
    "vobiz": VobizProvider,
    "bird": BirdProvider,
    "identitycall": IdentityCallProvider,
    "telnyx": TelnyxProvider,
    "twilio": TwilioProvider,
    "vonage": VonageProvider,
    "plivo": PlivoProvider,
}
FAST = RetryPolicy(attempts=3, initial=0.001, max_delay=0.01)


class Hostile:
    """A vendor that echoes the request (headers, path, query) back in every failure it answers.

    The echo is in the body and the request id; with ``echo_headers`` also in response headers.
    """

    def __init__(self, *, echo_headers: bool = True) -> None:
        self.mode = "401"
        self.requests = 0
        self.echo_headers = echo_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.requests += 1
        sent = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        echo = f"{scope['path']}?{scope['query_string'].decode()} {sent}"
        envelope = {
            "status": "error",
            "error": {"code": "ECHO", "message": f"you sent {echo}"},
            "message": echo,
            "requestId": sent.get("authorization") or sent.get("x-auth-token", ""),
        }
        status, body = {
            "401": (401, json.dumps(envelope)),
            "503": (503, json.dumps(envelope)),
            "429": (429, json.dumps(envelope)),
            "malformed": (200, '{"items": [' + json.dumps(envelope)),
        }[self.mode]
        headers = [(b"content-type", b"application/json"), (b"retry-after", b"0")]
        if self.echo_headers:
            headers.append((b"x-echo", json.dumps(sent).encode("latin-1")))
            headers.append((b"www-authenticate", f'AccessKey realm="{echo[:200]}"'.encode("latin-1")))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body.encode()})


def leaks(text: str, secrets: dict[str, str]) -> list[str]:
    """The names of the secrets that appear in ``text`` (verbatim or URL-quoted)."""
    from urllib.parse import quote

    return [name for name, value in secrets.items() if value in text or quote(value, safe="") in text]


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record: message, logger, arguments and any formatted exception."""
    parts = []
    for record in caplog.records:
        parts.append(f"{record.name} {record.getMessage()} {record.args!r} {record.exc_text or ''}")
        if record.exc_info and record.exc_info[1] is not None:
            parts.append(repr(record.exc_info[1]))
    return "\n".join(parts)


def build(pid: str, app: Hostile, **options: Any) -> Provider:
    if pid == "twilio":
        options.setdefault("pricing_base_url", "/v1")  # the hostile vendor's own origin, never the real one
    return CLASSES[pid](
        env=ENV,
        base_url={
            "vobiz": "http://127.0.0.1/api",
            "bird": "http://127.0.0.1",
            "identitycall": "http://127.0.0.1/v1",
            "telnyx": "http://127.0.0.1/v2",
            "twilio": "http://127.0.0.1/2010-04-01",
            "vonage": "http://127.0.0.1",
            "plivo": "http://127.0.0.1/v1",
        }[pid],
        transport=httpx.ASGITransport(app=app),
        retry=FAST,
        **options,
    )


async def provoke(pid: str, mode: str) -> tuple[ProviderError, dict[str, Any], Hostile]:
    """One direct search that fails (its exception) and one through the Searcher (its JSON document)."""
    app = Hostile()
    app.mode = mode
    async with build(pid, app) as provider:
        try:
            await provider.search(SearchQuery(country="US"))
        except ProviderError as exc:
            error = exc
        else:  # pragma: no cover - the hostile vendor always fails
            raise AssertionError(f"{pid} did not fail on {mode}")
    async with Searcher([build(pid, app)], own_providers=True) as searcher:
        result = await searcher.search(SearchQuery(country="US"))
    return error, result.to_json_dict(), app


def exception_text(error: ProviderError) -> str:
    """Everything an exception says about itself, attributes included (headers are checked separately)."""
    fields = [str(error), repr(error), repr(error.args), error.detail]
    fields += [str(getattr(error, name, "")) for name in ("body", "request_id")]
    return "\n".join(fields)


@pytest.fixture
def debug_everything(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture every logger at DEBUG."""
    caplog.set_level(logging.DEBUG)
    yield caplog


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("pid", list(CLASSES))
async def test_tokens_appear_in_no_log_exception_or_result(
    debug_everything: pytest.LogCaptureFixture, pid: str, mode: str
) -> None:
    """Header credentials echoed back by a failing vendor appear in no log record, exception or result JSON."""
    error, document, app = await provoke(pid, mode)

    assert app.requests >= 2
    assert debug_everything.records
    assert [] == leaks(everything_logged(debug_everything), TOKENS)
    assert [] == leaks(exception_text(error), TOKENS)
    assert [] == leaks(json.dumps(document), TOKENS)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("pid", ["vobiz", "bird", "twilio", "plivo"])
async def test_path_ids_appear_in_no_exception_or_result(pid: str, mode: str) -> None:
    """The ids that go into URL paths appear in no exception or result JSON, even when echoed back."""
    error, document, _ = await provoke(pid, mode)

    assert [] == leaks(exception_text(error), PATH_IDS)
    assert [] == leaks(json.dumps(document), PATH_IDS)


@pytest.mark.anyio
@pytest.mark.parametrize("pid", ["vobiz", "bird", "twilio", "plivo"])
async def test_path_ids_appear_in_no_log_record(debug_everything: pytest.LogCaptureFixture, pid: str) -> None:
    """The ids that go into URL paths appear in no log record of any logger at DEBUG."""
    await provoke(pid, "503")

    assert [] == leaks(everything_logged(debug_everything), PATH_IDS)


@pytest.mark.anyio
@pytest.mark.parametrize("pid", list(CLASSES))
async def test_echoed_response_headers_are_not_kept_verbatim(pid: str) -> None:
    """A credential echoed in a response header is not kept verbatim on the exception."""
    error, _, _ = await provoke(pid, "401")

    assert [] == leaks(json.dumps(getattr(error, "headers", {})), ENV)


# -- the command line ------------------------------------------------------------------------------

DEBUG_CLI = (
    "import logging, sys; logging.basicConfig(level=logging.DEBUG, stream=sys.stderr); "
    "from numbroker._cli import main; main(sys.argv[1:])"
)


@pytest.fixture(scope="module")
def hostile_vendors() -> Iterator[tuple[dict[str, Hostile], dict[str, str]]]:
    """One hostile vendor per provider on loopback (echoing in bodies), and the env that points the CLI at them."""
    apps = {pid: Hostile(echo_headers=False) for pid in CLASSES}
    with (
        LoopbackServer(apps["vobiz"]) as vobiz,
        LoopbackServer(apps["bird"]) as bird,
        LoopbackServer(apps["identitycall"]) as identitycall,
        LoopbackServer(apps["telnyx"]) as telnyx,
        LoopbackServer(apps["twilio"]) as twilio,
        LoopbackServer(apps["vonage"]) as vonage,
        LoopbackServer(apps["plivo"]) as plivo,
    ):
        env = {
            **ENV,
            "VOBIZ_BASE_URL": vobiz.base_url + "/api",
            "BIRD_BASE_URL": bird.base_url,
            "IDENTITYCALL_BASE_URL": identitycall.base_url + "/api/v1/public",
            "TELNYX_BASE_URL": telnyx.base_url + "/v2",
            "TWILIO_BASE_URL": twilio.base_url + "/2010-04-01",
            "TWILIO_PRICING_BASE_URL": "/v1",
            "VONAGE_BASE_URL": vonage.base_url,
            "PLIVO_BASE_URL": plivo.base_url + "/v1",
        }
        yield apps, env


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI with DEBUG logging for every logger, in a clean environment plus ``env``."""
    prefixes = ("VOBIZ_", "BIRD_", "IDENTITYCALL_", "TELNYX_", "TWILIO_", "VONAGE_", "PLIVO_")
    base = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return subprocess.run(
        [sys.executable, "-c", DEBUG_CLI, *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


A = {
    "vobiz": "401",
    "bird": "503",
    "identitycall": "malformed",
    "telnyx": "429",
    "twilio": "429",
    "vonage": "429",
    "plivo": "429",
}
B = {
    "vobiz": "malformed",
    "bird": "401",
    "identitycall": "429",
    "telnyx": "503",
    "twilio": "503",
    "vonage": "503",
    "plivo": "503",
}
C = {
    "vobiz": "429",
    "bird": "malformed",
    "identitycall": "401",
    "telnyx": "malformed",
    "twilio": "malformed",
    "vonage": "malformed",
    "plivo": "malformed",
}


@pytest.mark.parametrize(
    ("fmt", "modes"),
    [("json", A), ("json", B), ("json", C), ("csv", B), ("ndjson", C), ("table", A)],
    ids=["json-a", "json-b", "json-c", "csv-b", "ndjson-c", "table-a"],
)
def test_cli_output_and_debug_logs_carry_no_credential(
    hostile_vendors: tuple[dict[str, Hostile], dict[str, str]], modes: dict[str, str], fmt: str
) -> None:
    """Every format's stdout is free of every credential; stderr (DEBUG logs of all loggers) of every token."""
    apps, env = hostile_vendors
    for pid, mode in modes.items():
        apps[pid].mode = mode
    before = {pid: app.requests for pid, app in apps.items()}

    proc = cli(env, "search", "--country", "US", "--format", fmt, "--timeout", "20")

    assert 1 == proc.returncode, proc.stderr[-2000:]
    assert all(app.requests > before[pid] for pid, app in apps.items())
    assert "you sent" in proc.stderr, "the echoed bodies reached the DEBUG logs (redacted)"
    assert "DEBUG" in proc.stderr
    assert [] == leaks(proc.stdout, ENV)
    assert [] == leaks(proc.stderr, TOKENS)
    if fmt == "json":
        reports = {p["provider"]: p for p in json.loads(proc.stdout)["providers"]}
        assert {"auth_error", "error", "rate_limited"} >= {r["status"] for r in reports.values()}


def test_cli_debug_logs_carry_no_token_echoed_in_a_response_header(
    hostile_vendors: tuple[dict[str, Hostile], dict[str, str]],
) -> None:
    """Even a credential echoed in a response header stays out of the DEBUG logs."""
    apps, env = hostile_vendors
    for app in apps.values():
        app.mode, app.echo_headers = "401", True
    try:
        proc = cli(env, "search", "--country", "US", "--format", "json", "--timeout", "20")
    finally:
        for app in apps.values():
            app.echo_headers = False

    assert [] == leaks(proc.stdout, ENV)
    assert [] == leaks(proc.stderr, TOKENS)
