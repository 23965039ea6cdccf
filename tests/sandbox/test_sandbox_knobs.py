"""The purchase-path knobs (held purchases, commit-then-503, a lagging or stalled owned list, a
slow-drip body) and the inspection endpoints, pinned over real loopback HTTP with raw httpx
requests on all three emulators."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from numbroker.sandbox import (
    FAULTS_ENV,
    Faults,
    LoopbackServer,
    Sandbox,
    SandboxRecord,
    create_sandboxes,
    dump_faults,
    load_faults,
)
from numbroker_providers.bird import sandbox as bird
from numbroker_providers.identitycall import sandbox as identitycall
from numbroker_providers.vobiz import sandbox as vobiz

VENDORS = ["vobiz", "bird", "identitycall"]
DEADLINE = 60.0
"""Seconds any wait for the server may take on a loaded machine before the test fails."""


@dataclass
class Vendor:
    """One emulator served on loopback, and how to speak its purchase and owned-list wire format."""

    name: str
    sandbox: Sandbox
    server: LoopbackServer
    headers: dict[str, str]
    purchase_path: str
    owned_path: str
    owned_key: str
    number_key: str
    purchase_body: Callable[[SandboxRecord], dict[str, Any]]
    ok: int
    is_503_envelope: Callable[[Any], bool]

    @property
    def base_url(self) -> str:
        return self.server.base_url + self.sandbox.base_path

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers=self.headers, **kwargs)

    def record(self, index: int = 0) -> SandboxRecord:
        return [r for r in self.sandbox.records if r.expected_valid][index]

    def buy(self, client: httpx.Client, record: SandboxRecord) -> httpx.Response:
        return client.post(self.purchase_path, json=self.purchase_body(record))

    def listed(self, client: httpx.Client) -> list[str]:
        r = client.get(self.owned_path)
        assert 200 == r.status_code, r.text
        return [n[self.number_key] for n in r.json()[self.owned_key]]

    def state(self) -> dict[str, Any]:
        r = httpx.get(self.server.base_url + "/_sandbox/state")
        assert 200 == r.status_code
        state: dict[str, Any] = r.json()
        return state

    def requests(self, endpoint: str) -> dict[str, int]:
        counts: dict[str, int] = self.state()["requests"].get(endpoint, {"received": 0, "answered": 0, "abandoned": 0})
        return counts

    def owned(self) -> list[str]:
        return [n["e164"] for n in self.state()["owned"]]


def _vendor(name: str, server_stack: list[LoopbackServer], faults: Faults) -> Vendor:
    if name == "vobiz":
        sb = vobiz.create_app(faults=faults)
        auth = sb.env["VOBIZ_AUTH_ID"]
        parts: dict[str, Any] = {
            "headers": {"X-Auth-ID": auth, "X-Auth-Token": sb.env["VOBIZ_AUTH_TOKEN"]},
            "purchase_path": f"/v1/account/{auth}/numbers/purchase-from-inventory",
            "owned_path": f"/v1/account/{auth}/numbers",
            "owned_key": "items",
            "number_key": "e164",
            "purchase_body": lambda r: {"e164": r.e164},
            "ok": 200,
            "is_503_envelope": lambda b: b["status"] == "error" and b["error"]["code"] == "SERVICE_UNAVAILABLE",
        }
    elif name == "bird":
        sb = bird.create_app(faults=faults)
        workspace = sb.env["BIRD_WORKSPACE_ID"]
        parts = {
            "headers": {"Authorization": f"AccessKey {sb.env['BIRD_ACCESS_KEY']}"},
            "purchase_path": f"/workspaces/{workspace}/numbers-long-code",
            "owned_path": f"/workspaces/{workspace}/numbers",
            "owned_key": "results",
            "number_key": "number",
            "purchase_body": lambda r: {"numberStockItemIds": [r.offer_id]},
            "ok": 201,
            "is_503_envelope": lambda b: b["code"] == "ServiceUnavailable" and isinstance(b["message"], str),
        }
    else:
        sb = identitycall.create_app(faults=faults)
        parts = {
            "headers": {"Authorization": f"Bearer {sb.env['IDENTITYCALL_API_KEY']}"},
            "purchase_path": "/virtual_numbers/purchase",
            "owned_path": "/virtual_numbers",
            "owned_key": "data",
            "number_key": "phone_number",
            "purchase_body": lambda r: {"phone_number": r.e164},
            "ok": 201,
            "is_503_envelope": lambda b: set(b) == {"error"} and isinstance(b["error"], str),
        }
    server = LoopbackServer(sb.app).start()
    server_stack.append(server)
    return Vendor(name=name, sandbox=sb, server=server, **parts)


@pytest.fixture
def serve() -> Iterator[Callable[[str, Faults], Vendor]]:
    """``serve(vendor, faults)``: that vendor's sandbox with those knobs, on its own loopback port."""
    servers: list[LoopbackServer] = []
    yield lambda name, faults: _vendor(name, servers, faults)
    for server in servers:
        server.stop()


@pytest.fixture
def background() -> Iterator[ThreadPoolExecutor]:
    """A thread to keep one request in flight while the test watches the server."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield pool


def until(check: Callable[[], Any], what: str, timeout: float = DEADLINE) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout}s for {what}")
        time.sleep(0.02)


def _buy_in_background(pool: ThreadPoolExecutor, vendor: Vendor, record: SandboxRecord, timeout: float) -> Future[Any]:
    def buy() -> httpx.Response | Exception:
        with vendor.client(timeout=timeout) as client:
            try:
                return vendor.buy(client, record)
            except httpx.TimeoutException as exc:
                return exc

    return pool.submit(buy)


# -- hold_purchase_seconds -------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", VENDORS)
def test_hold_before_commits_on_arrival_and_holds_the_answer(
    vendor: str, serve: Callable[[str, Faults], Vendor], background: ThreadPoolExecutor
) -> None:
    """hold_purchase_commit="before": committed as soon as the request arrives; a client that gives
    up during the hold leaves the commit standing and a status-0 log entry."""
    v = serve(vendor, Faults(hold_purchase_seconds=600))
    record = v.record()
    pending = _buy_in_background(background, v, record, timeout=2.0)

    until(lambda: v.requests("purchase")["received"] == 1, "the purchase request to arrive")
    assert [record.e164] == v.owned()
    assert 0 == v.requests("purchase")["answered"]
    assert isinstance(pending.result(timeout=DEADLINE), httpx.ReadTimeout)
    until(lambda: v.requests("purchase")["abandoned"] == 1, "the server to see the client leave")
    assert [record.e164] == v.owned()
    assert (0, "held") == (v.sandbox.log[-1].status, v.sandbox.log[-1].fault)
    with v.client() as client:
        assert [record.e164] == v.listed(client)


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_short_hold_answers_the_purchase(vendor: str, serve: Callable[[str, Faults], Vendor]) -> None:
    """A held purchase whose client waits gets the vendor's normal success answer."""
    for mode in ("before", "after", "unless_gone"):
        v = serve(vendor, Faults(hold_purchase_seconds=0.05, hold_purchase_commit=mode))
        record = v.record()
        with v.client(timeout=DEADLINE) as client:
            r = v.buy(client, record)

        assert v.ok == r.status_code, (mode, r.text)
        assert [record.e164] == v.owned()
        assert (v.ok, "held") == (v.sandbox.log[-1].status, v.sandbox.log[-1].fault)


@pytest.mark.parametrize("vendor", VENDORS)
def test_hold_after_commits_when_the_hold_ends_even_if_the_client_left(
    vendor: str, serve: Callable[[str, Faults], Vendor], background: ThreadPoolExecutor
) -> None:
    """hold_purchase_commit="after": nothing is committed during the hold; the commit comes when it
    ends, though the client gave up meanwhile."""
    v = serve(vendor, Faults(hold_purchase_seconds=4, hold_purchase_commit="after"))
    record = v.record()
    pending = _buy_in_background(background, v, record, timeout=1.0)

    until(lambda: v.requests("purchase")["received"] == 1, "the purchase request to arrive")
    assert [] == v.owned()
    assert isinstance(pending.result(timeout=DEADLINE), httpx.ReadTimeout)
    until(lambda: v.owned(), "the commit after the hold")
    assert [record.e164] == v.owned()
    assert {"received": 1, "answered": 1, "abandoned": 0} == v.requests("purchase")
    assert (v.ok, "held") == (v.sandbox.log[-1].status, v.sandbox.log[-1].fault)


@pytest.mark.parametrize("vendor", VENDORS)
def test_hold_unless_gone_commits_nothing_for_a_client_that_left(
    vendor: str, serve: Callable[[str, Faults], Vendor], background: ThreadPoolExecutor
) -> None:
    """hold_purchase_commit="unless_gone": a client that goes away during the hold buys nothing."""
    v = serve(vendor, Faults(hold_purchase_seconds=600, hold_purchase_commit="unless_gone"))
    record = v.record()
    pending = _buy_in_background(background, v, record, timeout=1.0)

    until(lambda: v.requests("purchase")["received"] == 1, "the purchase request to arrive")
    assert isinstance(pending.result(timeout=DEADLINE), httpx.ReadTimeout)
    until(lambda: v.requests("purchase")["abandoned"] == 1, "the server to see the client leave")
    assert ([], []) == (v.owned(), v.state()["purchases"])
    assert v.sandbox.is_available(record.offer_id)
    assert (0, "held") == (v.sandbox.log[-1].status, v.sandbox.log[-1].fault)


# -- commit_then_503 -------------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", VENDORS)
def test_commit_then_503_commits_and_answers_503_in_the_vendor_envelope(
    vendor: str, serve: Callable[[str, Faults], Vendor]
) -> None:
    """commit_then_503=1: every purchase commits, then answers 503 in the vendor's own error shape."""
    v = serve(vendor, Faults(commit_then_503=1.0))
    record = v.record()
    with v.client(timeout=DEADLINE) as client:
        r = v.buy(client, record)
        listed = v.listed(client)

    assert 503 == r.status_code
    assert r.headers["content-type"].startswith("application/json")
    assert v.is_503_envelope(r.json())
    assert [record.e164] == v.owned() == listed
    assert ["commit_then_503"] == [p["fault"] for p in v.state()["purchases"]]
    assert (503, "commit_then_503") == (v.sandbox.log[0].status, v.sandbox.log[0].fault)


def test_commit_then_503_only_follows_a_commit_and_draws_from_the_seed(
    serve: Callable[[str, Faults], Vendor],
) -> None:
    """A refused purchase stays a refusal; at rate 0.5 some purchases succeed and some 503, reproducibly."""
    outcomes = []
    for _ in range(2):
        v = serve("vobiz", Faults(commit_then_503=0.5, seed=11))
        with v.client(timeout=DEADLINE) as client:
            statuses = [v.buy(client, v.record(i)).status_code for i in range(8)]
            gone = client.post(v.purchase_path, json={"e164": v.record(0).e164})
        outcomes.append(statuses)
        assert 404 == gone.status_code
        assert 8 == len(v.owned())

    assert outcomes[0] == outcomes[1]
    assert {200, 503} == set(outcomes[0])


# -- owned_list_lag_seconds ------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", VENDORS)
def test_owned_list_lags_behind_the_commit(vendor: str, serve: Callable[[str, Faults], Vendor]) -> None:
    """A bought number is owned at once but missing from the owned list until its lag has passed."""
    v = serve(vendor, Faults(owned_list_lag_seconds=600))
    first, second = v.record(0), v.record(1)
    with v.client(timeout=DEADLINE) as client:
        assert v.ok == v.buy(client, first).status_code
        assert [] == v.listed(client)
        assert [{"e164": first.e164, "offer_id": first.offer_id, "listed": False}] == v.state()["owned"]
        v.sandbox.listed_from[first.e164] = time.monotonic()  # as if the lag had passed
        v.sandbox.faults = Faults()  # the lag of a later purchase is the one in force at its commit
        assert v.ok == v.buy(client, second).status_code

        assert [first.e164, second.e164] == v.listed(client)
        assert [True, True] == [n["listed"] for n in v.state()["owned"]]


def test_a_lagging_number_appears_once_the_lag_has_passed(serve: Callable[[str, Faults], Vendor]) -> None:
    """In real time: absent right after the purchase, listed a few seconds later."""
    v = serve("vobiz", Faults(owned_list_lag_seconds=5))
    record = v.record()
    with v.client(timeout=DEADLINE) as client:
        assert 200 == v.buy(client, record).status_code
        assert [] == v.listed(client)
        until(lambda: v.listed(client), "the lag to pass")

        assert [record.e164] == v.listed(client)


# -- drip_seconds ----------------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", VENDORS)
def test_drip_sends_headers_at_once_then_one_byte_at_a_time(
    vendor: str, serve: Callable[[str, Faults], Vendor]
) -> None:
    """With a long drip, the status and the full Content-Length arrive, then a single byte."""
    v = serve(vendor, Faults(drip_seconds=30))
    record = v.record()
    with v.client(timeout=DEADLINE) as client:
        with client.stream("POST", v.purchase_path, json=v.purchase_body(record)) as r:
            first = next(r.iter_raw())
            status, length = r.status_code, int(r.headers["content-length"])
        with client.stream("GET", v.owned_path) as owned:
            owned_first = next(owned.iter_raw())

    assert (v.ok, b"{" if vendor != "bird" else b"[") == (status, first)
    assert length > 100
    assert [record.e164] == v.owned()
    assert (200, b"{") == (owned.status_code, owned_first)
    assert ["drip", "drip"] == [e.fault for e in v.sandbox.log]


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_dripped_body_arrives_whole_and_a_per_read_timeout_never_fires(
    vendor: str, serve: Callable[[str, Faults], Vendor]
) -> None:
    """Dripped faster than the client's per-read timeout, the body arrives byte for byte, taking
    longer than that timeout in all; drip_endpoints picks which endpoints drip."""
    clean = serve(vendor, Faults())
    v = serve(vendor, Faults(drip_seconds=0.05, drip_endpoints=frozenset({"owned"})))
    with clean.client(timeout=DEADLINE) as clean_client:
        expected = clean_client.get(clean.owned_path).content
    with httpx.Client(base_url=v.base_url, headers=v.headers, timeout=httpx.Timeout(1.0)) as patient:
        start = time.monotonic()
        r = patient.get(v.owned_path)
        elapsed = time.monotonic() - start

    assert (200, expected) == (r.status_code, r.content)
    assert elapsed >= (len(expected) - 1) * 0.05 > 1.0
    assert ["drip"] == [e.fault for e in v.sandbox.log]


@pytest.mark.parametrize("vendor", VENDORS)
def test_drip_endpoints_choose_what_drips(vendor: str, serve: Callable[[str, Faults], Vendor]) -> None:
    """Only the endpoints named in drip_endpoints drip."""
    v = serve(vendor, Faults(drip_seconds=30, drip_endpoints=frozenset({"search"})))
    record = v.record()
    with v.client(timeout=DEADLINE) as client:
        assert v.ok == v.buy(client, record).status_code
        assert [record.e164] == v.listed(client)

    assert [None, None] == [e.fault for e in v.sandbox.log]


# -- owned_list_stall ------------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", VENDORS)
def test_owned_list_stall_never_answers_and_ends_when_the_client_leaves(
    vendor: str, serve: Callable[[str, Faults], Vendor]
) -> None:
    """owned_list_stall=inf: the owned list never answers; purchases and search are untouched."""
    v = serve(vendor, Faults(owned_list_stall=math.inf))
    record = v.record()
    with v.client(timeout=DEADLINE) as client:
        assert v.ok == v.buy(client, record).status_code
    with v.client(timeout=1.0) as client, pytest.raises(httpx.ReadTimeout):
        client.get(v.owned_path)

    until(lambda: v.requests("owned")["abandoned"] == 1, "the server to see the client leave")
    assert {"received": 1, "answered": 0, "abandoned": 1} == v.requests("owned")
    assert [record.e164] == v.owned()
    assert [None, "owned_stall"] == [e.fault for e in v.sandbox.log]


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_finite_owned_list_stall_answers_late(vendor: str, serve: Callable[[str, Faults], Vendor]) -> None:
    """A finite owned_list_stall delays the owned list, which then answers in full."""
    v = serve(vendor, Faults(owned_list_stall=0.05))
    record = v.record()
    with v.client(timeout=DEADLINE) as client:
        assert v.ok == v.buy(client, record).status_code
        assert [record.e164] == v.listed(client)

    assert [None, "owned_stall"] == [e.fault for e in v.sandbox.log]


# -- inspection endpoints --------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", VENDORS)
def test_state_reports_owned_numbers_purchases_and_requests_untouched_by_faults(
    vendor: str, serve: Callable[[str, Faults], Vendor]
) -> None:
    """GET /_sandbox/state answers through any fault and is not logged; PUT /_sandbox/faults swaps knobs."""
    v = serve(vendor, Faults())
    record = v.record()
    with v.client(timeout=DEADLINE) as client:
        assert v.ok == v.buy(client, record).status_code
        v.listed(client)
        swapped = httpx.put(v.server.base_url + "/_sandbox/faults", json={"rate_429": 1.0, "seed": 5})
        assert 200 == swapped.status_code
        assert 429 == client.get(v.owned_path).status_code
        state = v.state()
        bad = httpx.put(v.server.base_url + "/_sandbox/faults", json={"rate_429": 2})
        unknown = httpx.put(v.server.base_url + "/_sandbox/faults", json={"no_such_knob": 1})

    assert Faults(rate_429=1.0, seed=5) == v.sandbox.faults == Faults.from_json(swapped.json())
    assert vendor == state["provider"]
    assert [{"e164": record.e164, "offer_id": record.offer_id, "listed": True}] == state["owned"]
    [purchase] = state["purchases"]
    assert (record.offer_id, record.e164, None) == (purchase["offer_id"], purchase["e164"], purchase["fault"])
    assert {
        "purchase": {"received": 1, "answered": 1, "abandoned": 0},
        "owned": {"received": 2, "answered": 2, "abandoned": 0},
    } == state["requests"]
    assert ["purchase", "owned", "owned"] == [e.endpoint for e in v.sandbox.log]
    assert (400, 400) == (bad.status_code, unknown.status_code)
    assert "no_such_knob" in unknown.json()["error"]
    assert Faults(rate_429=1.0, seed=5) == v.sandbox.faults


@pytest.mark.anyio
async def test_inspection_endpoints_refuse_clients_off_loopback() -> None:
    """Only a loopback client may read the state or change the knobs."""
    sb = vobiz.create_app()
    remote = httpx.ASGITransport(app=sb.app, client=("192.0.2.7", 40000))
    async with httpx.AsyncClient(transport=remote, base_url="http://sandbox") as client:
        assert 404 == (await client.get("/_sandbox/state")).status_code
        assert 404 == (await client.put("/_sandbox/faults", json={"rate_429": 1.0})).status_code
    async with sb.client() as local:
        assert 200 == (await local.get("http://vobiz.sandbox/_sandbox/state")).status_code

    assert Faults() == sb.faults


# -- knobs as JSON ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"commit_then_503": 1.5},
        {"hold_purchase_seconds": -1},
        {"owned_list_lag_seconds": -0.5},
        {"drip_seconds": math.nan},
        {"owned_list_stall": -1},
        {"hold_purchase_commit": "sometimes"},
        {"drip_endpoints": "owned"},
    ],
)
def test_new_knobs_reject_nonsense(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Faults(**kwargs)


def test_every_new_knob_is_off_by_default() -> None:
    faults = Faults()

    assert (0.0, 0.0, 0.0, 0.0, 0.0) == (
        faults.commit_then_503,
        faults.hold_purchase_seconds,
        faults.owned_list_lag_seconds,
        faults.drip_seconds,
        faults.owned_list_stall,
    )
    assert ("before", frozenset({"purchase", "owned"})) == (faults.hold_purchase_commit, faults.drip_endpoints)


def test_knobs_round_trip_through_json_with_shared_and_per_provider_values() -> None:
    every = Faults(hold_purchase_seconds=30, owned_list_stall=math.inf, drip_endpoints=frozenset({"owned"}), seed=4)
    text = json.dumps({"hold_purchase_seconds": 30, "vobiz": {"commit_then_503": 1.0, "owned_list_lag_seconds": 9}})

    assert {"vobiz": every, "bird": every} == load_faults(dump_faults(every), ["vobiz", "bird"])
    assert {"bird": every} == load_faults(dump_faults({"bird": every}), ["bird"])
    assert "Infinity" in dump_faults(every)
    loaded = load_faults(text, ["vobiz", "bird"])
    assert Faults(hold_purchase_seconds=30, commit_then_503=1.0, owned_list_lag_seconds=9) == loaded["vobiz"]
    assert Faults(hold_purchase_seconds=30) == loaded["bird"]
    for bad in ("[1]", "{", '{"nobody": {}}', '{"vobiz": 3}', '{"rate_429": "often"}'):
        with pytest.raises(ValueError):
            load_faults(bad, ["vobiz"])


def test_create_sandboxes_reads_the_knobs_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """NUMBROKER_SANDBOX_FAULTS gives create_sandboxes (and so `numbroker sandbox serve`) its knobs."""
    monkeypatch.setenv(FAULTS_ENV, '{"hold_purchase_seconds": 5, "bird": {"commit_then_503": 1}}')
    boxes = create_sandboxes(["vobiz", "bird"])
    explicit = create_sandboxes(["vobiz"], faults=Faults(rate_429=1.0))
    monkeypatch.setenv(FAULTS_ENV, '{"identitycall": {}}')
    with pytest.raises(ValueError, match=FAULTS_ENV):
        create_sandboxes(["vobiz"])

    assert Faults(hold_purchase_seconds=5) == boxes["vobiz"].faults
    assert Faults(hold_purchase_seconds=5, commit_then_503=1.0) == boxes["bird"].faults
    assert Faults(rate_429=1.0) == explicit["vobiz"].faults
