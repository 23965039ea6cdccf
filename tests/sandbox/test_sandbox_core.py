"""The vendor-neutral plumbing: faults, number generation, overlap, determinism, tokens, loopback serving."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from numbroker.sandbox import (
    Faults,
    InvalidPageToken,
    LoopbackServer,
    Sandbox,
    draw_numbers,
    serve_sandboxes,
    shared_numbers,
)
from numbroker.sandbox._inventory import LANE_DIGITS, NUMBER_TYPES, generate_number
from numbroker_providers.bird import sandbox as bird
from numbroker_providers.identitycall import sandbox as identitycall
from numbroker_providers.vobiz import sandbox as vobiz

FACTORIES: dict[str, Callable[..., Sandbox]] = {
    "vobiz": vobiz.create_app,
    "bird": bird.create_app,
    "identitycall": identitycall.create_app,
}


def _valid(e164: str, region: str) -> bool:
    number = phonenumbers.parse(e164)
    return phonenumbers.is_valid_number(number) and phonenumbers.is_valid_number_for_region(number, region)


@pytest.mark.parametrize(
    "kwargs", [{"rate_429": 1.5}, {"rate_stall": -0.1}, {"latency": -1}, {"stall_seconds": -1}, {"lying_total": -1}]
)
def test_faults_reject_nonsense(kwargs: dict[str, Any]) -> None:
    """Rates are probabilities and durations are non-negative."""
    with pytest.raises(ValueError):
        Faults(**kwargs)


@pytest.mark.parametrize("region", ["US", "CA", "GB", "DE", "NL", "IN", "FR", "AU", "JP", "BR"])
@pytest.mark.parametrize("number_type", [PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE])
def test_generated_numbers_are_valid_and_deterministic(region: str, number_type: int) -> None:
    """generate_number gives valid numbers for the region, the same ones for the same seed."""
    if phonenumbers.example_number_for_type(region, number_type) is None:
        pytest.skip("no such numbers in this region")
    first = [generate_number(random.Random(5), region, number_type) for _ in range(2)]
    rng = random.Random(9)
    many = [generate_number(rng, region, number_type, last_digits=(2, 5, 8)) for _ in range(30)]

    assert first[0] == first[1]
    assert all(_valid(n, region) for n in many)
    assert all(n[-1] in "258" for n in many)
    assert not any(n.startswith("+1555") for n in many)
    assert len(set(many)) > 20


def test_draw_numbers_is_distinct_and_lane_bound() -> None:
    """Drawn numbers are distinct, valid, respect lanes and exclusions."""
    mix = [(region, type_name, 1) for region in ("US", "GB", "NL") for type_name in ("local", "mobile", "toll-free")]
    exclude: set[str] = set()
    numbers = draw_numbers(random.Random(1), mix, 300, lane=1, exclude=exclude)

    assert 300 == len({n.e164 for n in numbers}) == len(exclude)
    assert all(int(n.e164[-1]) in LANE_DIGITS[1] for n in numbers)
    assert all(_valid(n.e164, n.country) for n in numbers)
    assert "national" in NUMBER_TYPES


@pytest.mark.parametrize("name", list(FACTORIES))
def test_inventory_is_deterministic_and_valid(name: str) -> None:
    """Same seed, same inventory and credentials; valid records are valid numbers for their country."""
    factory = FACTORIES[name]
    a, b, c = factory(seed=1), factory(seed=1), factory(seed=2)

    assert a.records == b.records
    assert a.env == b.env
    assert a.records != c.records
    assert a.env != c.env
    for record in a.records:
        if record.expected_valid:
            assert _valid(record.e164, record.country), record
            assert record.monthly is not None and record.monthly >= 0
    defects = {r.defect for r in a.records if not r.expected_valid}
    assert {
        "invalid_number",
        "too_short",
        "country_mismatch",
        "negative_price",
        "garbage_price",
        "nan_price",
    } <= defects
    for record in a.records:
        if record.defect in ("invalid_number", "too_short"):
            assert not phonenumbers.is_valid_number(phonenumbers.parse(record.e164))
        if record.defect == "country_mismatch":
            assert not _valid(record.e164, record.country)


@pytest.mark.parametrize("name", list(FACTORIES))
def test_size_overrides_the_count(name: str) -> None:
    """size sets the number of records, down to an empty inventory; large sizes are fast."""
    factory = FACTORIES[name]
    start = time.monotonic()
    big = factory(size=5_000)
    elapsed = time.monotonic() - start

    assert 5_000 == len(big.records)
    assert 5_000 == len({r.offer_id for r in big.records})
    assert elapsed < 2.0
    assert 3 == len(factory(size=3).records)
    assert [] == factory(size=0).records
    with pytest.raises(ValueError):
        factory(size=-1)


def test_shared_numbers_overlap_across_vendors_at_different_prices() -> None:
    """Each shared number is offered by the vendors of its lanes, at different prices; nothing else overlaps."""
    apps = {name: factory(seed=4) for name, factory in FACTORIES.items()}
    lanes = {"vobiz": vobiz.LANE, "bird": bird.LANE, "identitycall": identitycall.LANE}
    numbers = {name: {r.e164: r for r in sb.records} for name, sb in apps.items()}

    for shared in shared_numbers(4):
        holders = {name for name in apps if shared.e164 in numbers[name]}
        assert {name for name, lane in lanes.items() if lane in shared.lanes} == holders
        assert len(holders) >= 2
        prices = {numbers[name][shared.e164].monthly for name in holders}
        assert len(prices) == len(holders)
        assert all(numbers[name][shared.e164].shared for name in holders)
    overlap = set.intersection(*(set(n) for n in numbers.values()))
    assert 1 == len(overlap)
    pairs = [
        set(numbers[x]) & set(numbers[y])
        for x, y in (("vobiz", "bird"), ("bird", "identitycall"), ("vobiz", "identitycall"))
    ]
    assert {len(p) for p in pairs} == {3}
    assert all(Decimal("1.00") <= s.monthly <= Decimal("3.00") for s in shared_numbers(4))


def test_page_tokens_round_trip_and_are_checked() -> None:
    """Tokens decode only in the sandbox that issued them."""
    sb, other = bird.create_app(seed=1), bird.create_app(seed=2)
    token = sb.encode_token(42)

    assert 42 == sb.decode_token(token)
    for forged in ("", "abc", token[:-2], other.encode_token(42)):
        with pytest.raises(InvalidPageToken):
            sb.decode_token(forged)


def test_loopback_server_serves_and_stops() -> None:
    """LoopbackServer serves on a free 127.0.0.1 port and releases it on exit."""
    sb = identitycall.create_app()
    headers = {"Authorization": f"Bearer {sb.env['IDENTITYCALL_API_KEY']}"}
    with LoopbackServer(sb.app) as server:
        url = server.base_url + sb.base_path + "/virtual_numbers/available"
        r = httpx.get(url, headers=headers)

    with pytest.raises(RuntimeError):
        _ = server.base_url
    assert url.startswith("http://127.0.0.1:")
    assert 200 == r.status_code
    assert len(r.json()["data"]) >= 40
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, headers=headers)


def test_serve_sandboxes_each_on_its_own_port() -> None:
    """serve_sandboxes yields each vendor's base URL on its own port."""
    apps = {name: factory() for name, factory in FACTORIES.items()}
    with serve_sandboxes(apps) as urls, httpx.Client() as client:
        v, b, i = apps["vobiz"], apps["bird"], apps["identitycall"]
        answers = [
            client.get(
                f"{urls['vobiz']}/v1/account/{v.env['VOBIZ_AUTH_ID']}/inventory/numbers",
                headers={"X-Auth-ID": v.env["VOBIZ_AUTH_ID"], "X-Auth-Token": v.env["VOBIZ_AUTH_TOKEN"]},
            ),
            client.get(
                f"{urls['bird']}/organizations/{b.env['BIRD_ORGANIZATION_ID']}/numbers-stock-items",
                headers={"Authorization": f"AccessKey {b.env['BIRD_ACCESS_KEY']}"},
            ),
            client.get(
                f"{urls['identitycall']}/virtual_numbers/available",
                headers={"Authorization": f"Bearer {i.env['IDENTITYCALL_API_KEY']}"},
            ),
        ]

    assert [200, 200, 200] == [a.status_code for a in answers]
    assert 3 == len({u.split("/")[2] for u in urls.values()})
    assert urls["vobiz"].endswith("/api") and urls["identitycall"].endswith("/api/v1/public")


def test_serve_sandboxes_from_a_first_port_takes_the_ports_after_it() -> None:
    apps = {name: factory() for name, factory in FACTORIES.items()}
    for _ in range(20):  # until a free port is followed by two free ones
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = probe.getsockname()[1]
        if first + len(apps) > 65536:
            continue
        try:
            with serve_sandboxes(apps, port=first) as urls:
                ports = [int(url.split("/")[2].rsplit(":", 1)[1]) for url in urls.values()]
        except OSError:
            continue
        break
    else:
        pytest.fail("no three free consecutive ports")

    assert [first, first + 1, first + 2] == ports


def test_serve_sandboxes_names_the_address_it_cannot_bind() -> None:
    apps = {name: factory() for name, factory in FACTORIES.items()}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError) as caught, serve_sandboxes(apps, port=port):
            pytest.fail("served on a port another socket listens on")

    assert f"127.0.0.1:{port}" == caught.value.filename
    assert caught.value.strerror


def test_truncated_over_loopback_is_a_protocol_error() -> None:
    """Over real HTTP a truncated body announces the full Content-Length, then the connection ends."""
    sb = bird.create_app(faults=Faults(rate_truncated=1.0))
    with LoopbackServer(sb.app) as server, httpx.Client() as client:
        url = f"{server.base_url}/organizations/{sb.env['BIRD_ORGANIZATION_ID']}/numbers-stock-items"
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(url, headers={"Authorization": f"AccessKey {sb.env['BIRD_ACCESS_KEY']}"})

    assert (200, "truncated", ()) == (sb.log[0].status, sb.log[0].fault, sb.log[0].offer_ids)


def test_ambiguous_after_commit_over_loopback_can_drop_the_connection() -> None:
    """Over real HTTP an ambiguous-after-commit purchase is a 502/504 or a cut connection; all commit."""
    sb = vobiz.create_app(faults=Faults(rate_ambiguous_after_commit=1.0, seed=1))
    headers = {"X-Auth-ID": sb.env["VOBIZ_AUTH_ID"], "X-Auth-Token": sb.env["VOBIZ_AUTH_TOKEN"]}
    records = [r for r in sb.records if r.expected_valid][:8]
    outcomes: list[int | str] = []
    with LoopbackServer(sb.app) as server, httpx.Client() as client:
        url = f"{server.base_url}/api/v1/account/{sb.env['VOBIZ_AUTH_ID']}/numbers/purchase-from-inventory"
        for record in records:
            try:
                outcomes.append(client.post(url, headers=headers, json={"e164": record.e164}).status_code)
            except httpx.RemoteProtocolError:
                outcomes.append("dropped")

    assert "dropped" in outcomes
    assert {502, 504} & set(outcomes)
    assert {r.e164 for r in records} == set(sb.owned)
    assert all(p.fault == "ambiguous_after_commit" for p in sb.purchases)


def test_stall_abandoned_over_loopback_is_logged_with_status_0() -> None:
    """A client that times out during a stall is noticed: the entry has status 0 and no offers."""
    sb = identitycall.create_app(faults=Faults(rate_stall=1.0, stall_seconds=0.3))
    with LoopbackServer(sb.app) as server:
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(
                f"{server.base_url}{sb.base_path}/virtual_numbers/available",
                headers={"Authorization": f"Bearer {sb.env['IDENTITYCALL_API_KEY']}"},
                timeout=0.05,
            )
        deadline = time.monotonic() + 5
        while not sb.log and time.monotonic() < deadline:
            time.sleep(0.02)

    assert (0, "stall", ()) == (sb.log[0].status, sb.log[0].fault, sb.log[0].offer_ids)
