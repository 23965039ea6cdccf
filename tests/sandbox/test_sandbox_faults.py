"""Every fault knob, injected once by the shared plumbing, works the same on all three emulators."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest

from numbroker.sandbox import Faults, Sandbox
from numbroker.sandbox._values import http_date
from numbroker_providers.bird import sandbox as bird
from numbroker_providers.identitycall import sandbox as identitycall
from numbroker_providers.vobiz import sandbox as vobiz

pytestmark = pytest.mark.anyio


def _search(vendor: str, **kwargs: Any) -> tuple[Sandbox, str, dict[str, str], dict[str, str], str]:
    """(sandbox, search path, headers, params, list key) for one vendor."""
    if vendor == "vobiz":
        sb = vobiz.create_app(**kwargs)
        headers = {"X-Auth-ID": sb.env["VOBIZ_AUTH_ID"], "X-Auth-Token": sb.env["VOBIZ_AUTH_TOKEN"]}
        return sb, f"/v1/account/{sb.env['VOBIZ_AUTH_ID']}/inventory/numbers", headers, {"per_page": "100"}, "items"
    if vendor == "bird":
        sb = bird.create_app(**kwargs)
        headers = {"Authorization": f"AccessKey {sb.env['BIRD_ACCESS_KEY']}"}
        path = f"/organizations/{sb.env['BIRD_ORGANIZATION_ID']}/numbers-stock-items"
        return sb, path, headers, {"limit": "99"}, "results"
    sb = identitycall.create_app(**kwargs)
    headers = {"Authorization": f"Bearer {sb.env['IDENTITYCALL_API_KEY']}"}
    return sb, "/virtual_numbers/available", headers, {}, "data"


VENDORS = ["vobiz", "bird", "identitycall"]
RATE_LIMIT_BODIES: dict[str, Callable[[Any], bool]] = {
    "vobiz": lambda b: b["error"]["code"] == "RATE_LIMIT_EXCEEDED" and b["status"] == "error",
    "bird": lambda b: b["code"] == "TooManyRequests",
    "identitycall": lambda b: isinstance(b["error"], str),
}


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("retry_after", ["1", "http-date", None])
async def test_429_in_the_vendor_shape_with_retry_after(vendor: str, retry_after: str | None) -> None:
    """rate_429 answers the vendor's rate-limit error, with Retry-After as configured (or none)."""
    if retry_after == "http-date":
        retry_after = http_date(datetime.now(UTC) + timedelta(seconds=5))
    sb, path, headers, params, _ = _search(vendor, faults=Faults(rate_429=1.0, retry_after=retry_after))
    async with sb.client() as client:
        r = await client.get(path, headers=headers, params=params)

    assert 429 == r.status_code
    assert retry_after == r.headers.get("retry-after")
    assert RATE_LIMIT_BODIES[vendor](r.json())
    assert ("rate_limited", ()) == (sb.log[-1].fault, sb.log[-1].offer_ids)


@pytest.mark.parametrize("vendor", VENDORS)
async def test_5xx(vendor: str) -> None:
    """rate_5xx answers 500/503 in the vendor shape or 502/504 as a proxy's HTML page."""
    sb, path, headers, params, _ = _search(vendor, faults=Faults(rate_5xx=1.0))
    statuses = set()
    async with sb.client() as client:
        for _ in range(20):
            r = await client.get(path, headers=headers, params=params)
            statuses.add(r.status_code)
            if r.status_code in (502, 504):
                assert r.headers["content-type"].startswith("text/html")
            else:
                assert isinstance(r.json(), dict)

    assert statuses <= {500, 502, 503, 504}
    assert len(statuses) >= 3
    assert all(e.fault == "server_error" and not e.offer_ids for e in sb.log)


@pytest.mark.parametrize("vendor", VENDORS)
async def test_malformed(vendor: str) -> None:
    """rate_malformed answers 200 with a body that is not JSON or lacks the list the vendor promises."""
    sb, path, headers, params, key = _search(vendor, faults=Faults(rate_malformed=1.0))
    async with sb.client() as client:
        for _ in range(12):
            r = await client.get(path, headers=headers, params=params)
            assert 200 == r.status_code
            try:
                body = json.loads(r.content)
            except ValueError:
                continue
            assert not (isinstance(body, dict) and isinstance(body.get(key), list))

    assert all(e.fault == "malformed" and not e.offer_ids for e in sb.log)


@pytest.mark.parametrize("vendor", VENDORS)
async def test_truncated_in_process(vendor: str) -> None:
    """In-process, rate_truncated sends half the JSON."""
    sb, path, headers, params, _ = _search(vendor, faults=Faults(rate_truncated=1.0))
    clean, *_ = _search(vendor)
    async with sb.client() as client, clean.client() as clean_client:
        r = await client.get(path, headers=headers, params=params)
        full = await clean_client.get(path, headers=headers, params=params)

    assert 200 == r.status_code
    assert full.content[: len(full.content) // 2] == r.content
    with pytest.raises(ValueError):
        json.loads(r.content)
    assert ("truncated", ()) == (sb.log[-1].fault, sb.log[-1].offer_ids)


@pytest.mark.parametrize("vendor", VENDORS)
async def test_stall_and_latency_delay_but_answer(vendor: str) -> None:
    """A short stall and latency delay the answer, which is then served intact."""
    sb, path, headers, params, key = _search(vendor, faults=Faults(rate_stall=1.0, stall_seconds=0.05, latency=0.02))
    async with sb.client() as client:
        start = time.monotonic()
        r = await client.get(path, headers=headers, params=params)
        elapsed = time.monotonic() - start

    assert 200 == r.status_code
    assert elapsed >= 0.07
    assert "stall" == sb.log[-1].fault
    assert tuple(sb.records[i].offer_id for i in range(len(r.json()[key]))) == sb.log[-1].offer_ids


async def test_abandoned_stall_is_logged_with_status_0() -> None:
    """A client that gives up during a stall leaves a status-0 entry and no served offers."""
    sb, path, headers, params, _ = _search("vobiz", faults=Faults(rate_stall=1.0, stall_seconds=30))
    async with sb.client() as client:
        with anyio.move_on_after(0.05):
            await client.get(path, headers=headers, params=params)

    assert 1 == len(sb.log)
    assert (0, "stall", ()) == (sb.log[0].status, sb.log[0].fault, sb.log[0].offer_ids)


async def test_same_fault_seed_same_faults_and_swapping_reseeds() -> None:
    """Fault decisions come from random.Random(faults.seed); assigning faults re-seeds."""
    faults = Faults(rate_5xx=0.5, rate_429=0.2, seed=7)

    async def statuses(sb: Sandbox, path: str, headers: dict[str, str], params: dict[str, str]) -> list[int]:
        async with sb.client() as client:
            return [(await client.get(path, headers=headers, params=params)).status_code for _ in range(30)]

    sb, path, headers, params, _ = _search("vobiz", faults=faults)
    first = await statuses(sb, path, headers, params)
    other, *_ = _search("vobiz", faults=faults)
    second = await statuses(other, path, headers, params)
    sb.faults = Faults(rate_5xx=0.5, rate_429=0.2, seed=7)
    third = await statuses(sb, path, headers, params)
    sb.faults = Faults()
    clean = await statuses(sb, path, headers, params)

    assert first == second == third
    assert {200, 429} <= set(first)
    assert {200} == set(clean)


async def test_request_log_proves_every_intact_offer_was_served() -> None:
    """With faults on, retrying pages until clean serves every record intact; spoiled entries carry no offers."""
    sb, path, headers, _, key = _search(
        "vobiz", faults=Faults(rate_5xx=0.2, rate_malformed=0.2, rate_truncated=0.2, seed=3)
    )
    async with sb.client() as client:
        for page in (1, 2):
            while True:
                r = await client.get(path, headers=headers, params={"per_page": "100", "page": str(page)})
                try:
                    if r.status_code == 200 and isinstance(json.loads(r.content).get(key), list):
                        break
                except (ValueError, AttributeError):
                    pass

    faulted = [e for e in sb.log if e.fault]
    assert faulted
    assert all(not e.offer_ids for e in faulted)
    served = [oid for e in sb.log for oid in e.offer_ids]
    assert sorted(r.offer_id for r in sb.records) == sorted(served)
    entry = sb.log[-1]
    assert ("GET", "/api" + path, (("per_page", "100"), ("page", "2"))) == (entry.method, entry.path, entry.query)
    assert "search" == entry.endpoint


async def test_log_keeps_repeated_query_keys() -> None:
    """Repeated keys (Bird's countryCodes) are kept in order in the log."""
    sb, path, headers, _, _ = _search("bird")
    async with sb.client() as client:
        await client.get(path, headers=headers, params=[("countryCodes", "US"), ("countryCodes", "NL")])

    assert (("countryCodes", "US"), ("countryCodes", "NL")) == sb.log[0].query
    assert 200 == sb.log[0].status
