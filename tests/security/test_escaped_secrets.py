"""Credentials echoed in any escaped form, by a hostile vendor over loopback, leave no trace anywhere.

The hostile vendors (:mod:`numbroker.testing.hostile`) echo the credentials the client sent, in every
form of :data:`~numbroker.testing.hostile.ESCAPINGS` (JSON-escaped with ``\\/`` or ``\\uXXXX``, URL-
encoded, HTML references, nested), in error bodies and headers, inside 200 data and in purchase answers.
What leaves numbroker is checked for every form: exceptions and their attributes, events (retry
reasons), log records of every logger at DEBUG with tracebacks, results, offers, rejected records,
receipts and the CLI's every format. The other providers' offers all still arrive.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TextIO, cast

import anyio
import httpx
import pytest

from numbroker import (
    ConfigurationError,
    NumberType,
    Provider,
    ProviderError,
    RetryPolicy,
    Searcher,
    SearchQuery,
    get_provider_class,
)
from numbroker._redaction import LIBRARY_LOGS, MIN_SECRET_LENGTH, Redactor
from numbroker.events import RetryScheduled, SearchEvent
from numbroker.sandbox import LoopbackServer, create_sandboxes, loopback_providers, sandboxed_ids
from numbroker.testing.hostile import ESCAPINGS, Defects, HostileVendor, credentials_sent, escaped_forms, serve_hostile
from numbroker_providers.identitycall import IdentityCallProvider
from numbroker_providers.vobiz import VobizProvider

CLASSES: dict[str, type[Provider]] = {pid: get_provider_class(pid) for pid in sandboxed_ids()}
"""Every provider with a sandbox: the hostile vendor spoils any vendor's wire format."""
PREFIXES = tuple(f"{pid.upper()}_" for pid in CLASSES)
ODD = 'canary/to+k en"\\&<-'
"""A token with every character a vendor escapes: '/', '+', ' ', '"', a backslash, '&', '<'."""
WIDE = "wide-é😀-secret"
"""A secret beyond ASCII (an account name, say): escaped as \\u00e9, a surrogate pair, UTF-8 percent-encoding."""
ENV = {
    "VOBIZ_AUTH_ID": "MA_CANARYID7F3A",
    "VOBIZ_AUTH_TOKEN": "vobiz-" + ODD,
    "BIRD_ACCESS_KEY": "bird-" + ODD,
    "BIRD_ORGANIZATION_ID": "org-canary-9b2d",
    "IDENTITYCALL_API_KEY": "idc-" + ODD,
    "PLIVO_AUTH_ID": "MACANARYPLIVO0004242",
    "PLIVO_AUTH_TOKEN": "plivo-" + ODD,
    "TELNYX_API_KEY": "KEY" + "C4N4RY" * 6 + "_telnyx-" + ODD,
    "TWILIO_ACCOUNT_SID": "AC" + "c4" * 16,
    "TWILIO_AUTH_TOKEN": "twilio-" + ODD,
    "TWILIO_PRICING_BASE_URL": "/v1",
    "VONAGE_API_KEY": "c4n4ry77",
    "VONAGE_API_SECRET": "vonage-" + ODD,
}
BASE = {pid: sandbox.base_path for pid, sandbox in create_sandboxes(list(CLASSES), size=1).items()}
FAST = RetryPolicy(attempts=3, initial=0.001, max_delay=0.01)


def leaks(text: str, secrets: Iterable[str]) -> list[str]:
    """The secrets that ``text`` shows in any escaped form (and Basic-auth pairs' base64)."""
    found = []
    for secret in secrets:
        forms = set(escaped_forms(secret).values())
        if any(form in text for form in forms):
            found.append(secret)
    return found


async def credentials(env: Mapping[str, str]) -> list[str]:
    """The credentials in ``env`` (not the base URLs), and the forms the adapters send them in.

    A form a credential is sent in (a Basic-auth pair's base64) is a secret too, without its padding.
    """
    given = [value for name, value in env.items() if not name.endswith("_BASE_URL")]
    sent: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(404)

    async def probe(cls: type[Provider]) -> None:
        async with cls(env=env, transport=httpx.MockTransport(refuse), retry=RetryPolicy(attempts=1)) as provider:
            with contextlib.suppress(ProviderError):
                await provider.search(SearchQuery(country="US", number_type=NumberType.LOCAL))

    for cls in CLASSES.values():
        if cls.is_configured(env):
            await probe(cls)
    forms = {form for request in sent for form in credentials_sent(request.headers.items())}
    return [*given, *sorted(form.rstrip("=") for form in forms if form not in given)]


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every record as a handler would write it: message and formatted traceback."""
    formatter = logging.Formatter("%(name)s %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


# -- the redactor ----------------------------------------------------------------------------------


@pytest.mark.parametrize("escaping", ESCAPINGS)
@pytest.mark.parametrize("secret", [ODD, WIDE, "sandbox-token-0123abcd", "MA_CANARYID7F3A"])
def test_every_escaped_form_is_masked(secret: str, escaping: str) -> None:
    """Each escaped form of a registered secret, embedded in text, is replaced by *** and nothing else."""
    redactor = Redactor()
    redactor.add(secret)
    form = escaped_forms(secret)[escaping]  # type: ignore[index]

    assert "before [***] after" == redactor.redact(f"before [{form}] after")


def test_a_secret_json_escaped_and_decoded_again_is_masked_either_way() -> None:
    """Masking an escaped body and then decoding it gives no secret back (redaction after decoding)."""
    redactor = Redactor()
    redactor.add(ODD)
    body = json.dumps({"error": {"message": f"bad token {ODD}"}}).replace("/", "\\/")

    decoded = json.loads(redactor.redact(body))["error"]["message"]

    assert "bad token ***" == decoded


def test_overlapping_secrets_are_masked_as_one_stretch() -> None:
    """Two secrets that overlap are masked together: neither's end is shown."""
    redactor = Redactor()
    redactor.add("ABCDEFGH12")
    redactor.add("GH12wxyz99")

    assert "<***>" == redactor.redact("<ABCDEFGH12wxyz99>")


def test_basic_auth_header_is_masked_in_its_base64_forms() -> None:
    """The base64 of id:secret a vendor echoes from an Authorization header is masked, padded or not."""
    token = base64.b64encode(b"MA_ACCOUNT01:secret-token-1").decode()
    redactor = Redactor()
    redactor.add_auth_header("Authorization", f"Basic {token}")

    assert "you sent Basic ***" == redactor.redact(f"you sent Basic {token}")
    assert "x ***= y" == redactor.redact(f"x {token.rstrip('=')}= y")


def test_a_cut_off_value_does_not_show_a_secrets_beginning() -> None:
    """A value cut short inside a secret shows none of the secret's letters."""
    redactor = Redactor()
    redactor.add("sandbox-token-0123abcd")

    assert "'region ***…" == redactor.redact_truncated("'region sandbox-tok…")


def test_unrelated_text_is_untouched() -> None:
    """Text without a secret comes back as it was (the same object)."""
    redactor = Redactor()
    redactor.add("sandbox-token-0123abcd")
    text = "HTTP 401 Unauthorized: connection failed"

    assert redactor.redact(text) is text


# -- credentials too short to redact -----------------------------------------------------------------


@pytest.mark.parametrize("pid", list(CLASSES))
def test_a_short_credential_is_a_configuration_error_naming_the_variable(pid: str) -> None:
    """A credential shorter than the minimum is refused in one line naming the variable, never the value."""
    cls = CLASSES[pid]
    env = {k: v for k, v in ENV.items() if k.startswith(pid.upper())}
    variable = next(v for v in cls.credentials.values() if "TOKEN" in v or "KEY" in v)
    env[variable] = "Q7"

    with pytest.raises(ConfigurationError) as caught:
        cls(env=env)

    message = str(caught.value)
    assert variable in message
    assert str(MIN_SECRET_LENGTH) in message
    assert "Q7" not in message
    assert "\n" not in message


def test_the_sandboxes_credentials_are_long_enough() -> None:
    """Every sandbox's default credentials meet the minimum (so --sandbox and the canaries work)."""
    for sandbox in create_sandboxes().values():
        credentials = {k: v for k, v in sandbox.env.items() if not k.endswith("_BASE_URL")}
        assert all(len(value) >= MIN_SECRET_LENGTH for value in credentials.values()), sandbox.name


# -- echoed in error answers, over loopback ---------------------------------------------------------


@pytest.fixture
def debug_everything(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture every logger at DEBUG."""
    caplog.set_level(logging.DEBUG)
    yield caplog


class Recorder:
    """An on_event callback that keeps every event and raises on retries (its traceback gets logged)."""

    def __init__(self) -> None:
        self.events: list[SearchEvent] = []

    def __call__(self, event: SearchEvent) -> None:
        self.events.append(event)
        if isinstance(event, RetryScheduled):
            raise RuntimeError(f"callback gave up on {event!r}")


def _unused_app() -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - never reached
        raise AssertionError("the hostile vendor answers by itself")

    return app


@pytest.mark.anyio
@pytest.mark.parametrize("status", [401, 503])
@pytest.mark.parametrize("pid", list(CLASSES))
async def test_credentials_echoed_in_an_error_answer_leave_no_trace(
    debug_everything: pytest.LogCaptureFixture, pid: str, status: int
) -> None:
    """Every escaped form of every credential, echoed in an error body and header, shows up nowhere.

    The other providers (clean sandboxes on loopback) still deliver all their offers.
    """
    sandboxes = create_sandboxes([p for p in CLASSES if p != pid], size=30)
    hostile = HostileVendor(_unused_app(), Defects(echo_status=status, echo_header=True))
    recorder = Recorder()
    secrets = await credentials(ENV)
    with LoopbackServer(hostile) as server, serve_hostile(sandboxes, {}) as urls:
        build = CLASSES[pid]
        async with build(env=ENV, base_url=server.base_url + BASE[pid], retry=FAST) as alone:
            with pytest.raises(ProviderError) as caught:
                await alone.search(SearchQuery(country="US"))
        clean = loopback_providers(sandboxes, urls)
        async with Searcher(
            [build(env=ENV, base_url=server.base_url + BASE[pid], retry=FAST), *clean],
            own_providers=True,
            on_event=recorder,
        ) as searcher:
            result = await searcher.search(SearchQuery(country="US"))
        async with Searcher(loopback_providers(sandboxes, urls), own_providers=True) as searcher:
            expected = await searcher.search(SearchQuery(country="US"))

    error = caught.value
    assert hostile.requests >= 2
    assert hostile.echoed >= {ENV[v] for v in build.credentials.values()}
    shown = [str(error), repr(error), repr(error.args), error.detail, repr(vars(error))]
    assert [] == leaks("\n".join(shown), secrets)
    assert "***" in error.detail or "***" in getattr(error, "body", "")
    assert [] == leaks("\n".join(repr(e) for e in recorder.events), secrets)
    assert [] == leaks(json.dumps(result.to_json_dict(), ensure_ascii=False), secrets)
    assert [] == leaks(everything_logged(debug_everything), secrets)
    if status == 503:
        assert any(isinstance(e, RetryScheduled) for e in recorder.events)
        assert "callback gave up" in everything_logged(debug_everything)
    got = sorted(o.offer.offer_id for o in result.offers if o.offer.provider != pid)
    assert sorted(o.offer.offer_id for o in expected.offers) == got
    assert got


# -- echoed inside 200 data and purchase answers --------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("pid", list(CLASSES))
async def test_credentials_echoed_in_data_reach_no_offer_rejection_or_receipt(pid: str) -> None:
    """Credentials echoed in records' text fields and in a purchase's answer reach no offer, record or receipt."""
    sandboxes = create_sandboxes([pid], size=30)
    defects = Defects(echo_in_data=True, echo_header=True, records="all")
    with serve_hostile(sandboxes, defects) as urls:
        (provider,) = loopback_providers(sandboxes, urls)
        async with provider:
            found = await provider.search(SearchQuery(country="US"))
            receipt = await provider.purchase(found.offers[0]) if provider.supports_purchase else None
    secrets = await credentials(sandboxes[pid].env)

    assert found.offers
    assert [] == leaks(repr(found.offers) + repr(found.rejected) + repr(found.stats), secrets)
    assert [] == leaks(repr(receipt), secrets)
    if pid == "vobiz":  # its records' region is echoed into, and kept: the mask shows where it was
        assert any(o.region and "***" in o.region for o in found.offers)


# -- the command line -----------------------------------------------------------------------------

CLI = "import logging, sys; logging.basicConfig(level=logging.DEBUG, stream=sys.stderr); " + (
    "from numbroker._cli import main; main(sys.argv[1:])"
)


@pytest.fixture(scope="module")
def hostile_cli_env() -> Iterator[dict[str, str]]:
    """The env pointing the CLI at hostile sandboxes: echoes in data for two, an error answer for two."""
    sandboxes = create_sandboxes(list(CLASSES), size=30)
    defects = {
        "vobiz": Defects(echo_in_data=True, echo_header=True, records="all"),
        "bird": Defects(echo_status=503, echo_header=True),
        "identitycall": Defects(echo_in_data=True, records="all"),
        "plivo": Defects(echo_status=401),
        "telnyx": Defects(echo_in_data=True, echo_header=True, records="all"),
        "twilio": Defects(echo_status=401, echo_header=True),
        "vonage": Defects(echo_in_data=True, records="all"),
    }
    with serve_hostile(sandboxes, defects) as urls:
        env: dict[str, str] = {}
        for pid, sandbox in sandboxes.items():
            env.update(sandbox.env)
            env[CLASSES[pid].base_url_env] = urls[pid]
        yield env


@pytest.mark.parametrize("fmt", ["json", "csv", "ndjson", "table"])
def test_cli_formats_and_debug_logs_show_no_echoed_credential(hostile_cli_env: dict[str, str], fmt: str) -> None:
    """Every format's stdout and the DEBUG logs on stderr show no credential in any escaped form."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    proc = subprocess.run(
        [sys.executable, "-c", CLI, "search", "--country", "US", "--format", fmt, "--timeout", "20"],
        env={**base, **hostile_cli_env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    secrets = anyio.run(credentials, hostile_cli_env)

    assert proc.returncode in (1, 3), proc.stderr[-2000:]
    assert "+1" in proc.stdout  # the offers of the providers that answered are there
    assert "DEBUG" in proc.stderr
    assert [] == leaks(proc.stdout, secrets)
    assert [] == leaks(proc.stderr, secrets)


def test_the_cli_exit_masks_what_any_writer_sends_through_it() -> None:
    """Text written to stdout/stderr during a command (rich's live display included) is masked line by line."""
    from rich.console import Console

    from numbroker._cli.output import RedactingStream

    LIBRARY_LOGS.add("live-progress-canary-77")
    out = io.StringIO()
    stream = RedactingStream(out, LIBRARY_LOGS.redact_terminal)
    Console(file=cast(TextIO, stream), force_terminal=True, width=200).print("retrying (echo: live-progress-canary-77)")
    stream.write("half live-progress-")
    stream.write("canary-77 line\n")
    stream.flush()

    assert "live-progress" not in out.getvalue()
    assert out.getvalue().count("***") == 2


@pytest.mark.parametrize("value", ["token-with-é-inside", "token\nwith-newline"])
def test_a_credential_no_header_can_carry_is_a_configuration_error(value: str) -> None:
    """A credential with a character an HTTP header cannot carry is refused up front, naming the variable."""
    with pytest.raises(ConfigurationError) as caught:
        IdentityCallProvider(env={"IDENTITYCALL_API_KEY": value})

    assert "IDENTITYCALL_API_KEY" in str(caught.value)
    assert value not in str(caught.value)


def test_buy_cheapest_receipts_and_audit_log_show_no_echoed_credential(tmp_path: Any) -> None:
    """Bought through vendors echoing credentials in data and purchase answers (every escaped form): stdout,
    stderr (DEBUG logs) and the audit log show none; the receipts still arrive.
    """
    sandboxes = create_sandboxes(list(CLASSES))
    defects = Defects(echo_in_data=True, echo_header=True, records="all")
    audit = tmp_path / "buys.jsonl"
    with serve_hostile(sandboxes, defects) as urls:
        env: dict[str, str] = {}
        for pid, sandbox in sandboxes.items():
            env.update(sandbox.env)
            env[CLASSES[pid].base_url_env] = urls[pid]
        base = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
        args = ["buy-cheapest", "--country", "US", "--max-monthly", "2 USD", "--max-first-bill", "3 USD"]
        args += ["--quantity", "2", "--yes", "--format", "json", "--audit-log", str(audit), "--confirm-delay", "0"]
        proc = subprocess.run(
            [sys.executable, "-c", CLI, *args],
            env={**base, **env},
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
    secrets = anyio.run(credentials, env)

    assert 0 == proc.returncode, proc.stderr[-2000:]
    bought = json.loads(proc.stdout)["bought"]
    assert 2 == len(bought)
    assert [] == leaks(proc.stdout, secrets)
    assert [] == leaks(proc.stderr, secrets)
    assert [] == leaks(audit.read_text(), secrets)
    assert "***" in proc.stdout + audit.read_text()  # an echo reached the output, masked


def test_every_numbroker_logger_is_redacted() -> None:
    """Every logger the package (core and built-in adapters) logs on carries the redacting filter."""
    import re
    from pathlib import Path

    import numbroker
    import numbroker_providers

    names: set[str] = set()
    for package in (numbroker, numbroker_providers):
        assert package.__file__ is not None
        for source in Path(package.__file__).parent.rglob("*.py"):
            names.update(re.findall(r"getLogger\(\"(numbroker[\w.]*)\"\)", source.read_text()))

    assert names
    assert names <= set(LIBRARY_LOGS.LOGGERS)


@pytest.mark.anyio
async def test_a_secret_at_the_cut_of_an_error_body_is_not_half_shown() -> None:
    """An error body kept cut short never ends in the first letters of a secret that straddled the cut."""
    import httpx

    token = "canary-token-straddling-the-cut"
    for offset in range(1990, 2010):
        body = ("x" * offset + token + "y" * 100).encode()

        def respond(request: httpx.Request, body: bytes = body) -> httpx.Response:
            return httpx.Response(401, content=body)

        provider = IdentityCallProvider(
            api_key=token, base_url="https://api.example", transport=httpx.MockTransport(respond)
        )
        async with provider:
            with pytest.raises(ProviderError) as caught:
                await provider.search(SearchQuery(country="US", number_type=NumberType.LOCAL))
        shown = getattr(caught.value, "body", "") + str(caught.value)
        assert "canary-t" not in shown, offset


@pytest.mark.anyio
async def test_a_raising_event_callback_logs_no_secret_in_its_traceback(
    debug_everything: pytest.LogCaptureFixture,
) -> None:
    """A callback that raises with the secret in its message is logged with the secret masked in the traceback."""
    import httpx

    token = "canary-callback-token-42"

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": []})

    def callback(event: SearchEvent) -> None:
        raise RuntimeError(f"callback saw {token}")

    provider = IdentityCallProvider(
        api_key=token, base_url="https://api.example", transport=httpx.MockTransport(respond)
    )
    async with Searcher([provider], own_providers=True, on_event=callback) as searcher:
        await searcher.search(SearchQuery(country="US"))

    logged = everything_logged(debug_everything)
    assert "callback saw ***" in logged
    assert token not in logged


@pytest.mark.anyio
async def test_an_offer_whose_id_holds_a_credential_is_rejected_not_offered() -> None:
    """An id cannot be masked (the vendor sells by it): the record is rejected naming the id field, id masked."""
    import httpx

    auth_id, token = "MA_CANARY_ID_77", "canary-token-for-ids"
    items = [
        {
            "id": f"inv-{auth_id}",
            "e164": "+14155552671",
            "country": "US",
            "status": "active",
            "monthly_fee": 1,
            "currency": "USD",
        },
        {
            "id": "inv-2",
            "e164": "+14155552672",
            "country": "US",
            "status": "active",
            "monthly_fee": 1,
            "currency": "USD",
        },
    ]

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": items, "page": 1, "per_page": 100, "total": 2})

    async with VobizProvider(auth_id=auth_id, auth_token=token, transport=httpx.MockTransport(respond)) as provider:
        result = await provider.search(SearchQuery(country="US"))

    assert ["inv-2"] == [o.offer_id for o in result.offers]
    (rejected,) = result.rejected
    assert ("inv-***", "id") == (rejected.offer_id, rejected.field)
    assert "credential" in rejected.reason
