"""What a vendor emulator is written with: Refused, claim, basic_auth, purchase_route, page labels, inventory layout."""

from __future__ import annotations

import base64
import random
from decimal import Decimal

import pytest
from starlette.requests import Request

from numbroker.sandbox import (
    Faults,
    GeneratedNumber,
    Refused,
    Reply,
    RequestContext,
    Sandbox,
    SandboxRecord,
    basic_auth,
    bucketed_inventory,
    draw_number,
    draw_numbers,
    shared_numbers,
    shares,
)
from numbroker.sandbox._inventory import LANE_DIGITS

pytestmark = pytest.mark.anyio


def _record(e164: str, country: str = "US", number_type: str = "local") -> SandboxRecord:
    return SandboxRecord(
        offer_id=f"id-{e164}",
        e164=e164,
        country=country,
        expected_valid=True,
        defect=None,
        raw={"number": e164},
        number_type=number_type,
        monthly=Decimal("1.00"),
        currency="USD",
    )


def _sandbox(faults: Faults | None = None) -> tuple[Sandbox, list[SandboxRecord | None]]:
    """A two-record sandbox whose purchase endpoint claims the number in its body; the list holds each claim."""
    records = [_record("+12125550101"), _record("+12125550102")]
    sandbox = Sandbox(
        name="kit",
        seed=0,
        base_path="/v1",
        env={},
        records=records,
        error_reply=lambda sb, status, message: Reply(status, {"error": message or "failed"}),
        faults=faults,
    )
    claims: list[SandboxRecord | None] = []

    async def refuse(request: Request, context: RequestContext) -> Reply:
        sandbox.options["checked"] = True  # what ran before the refusal stands
        if request.query_params.get("ok") != "yes":
            raise Refused(Reply(418, {"error": "not a teapot here"}))
        return Reply(200, {"fine": True})

    async def purchase(request: Request, context: RequestContext) -> Reply:
        record = context.claim(sandbox.record_by_e164(context.json()["number"]))
        claims.append(record)
        if record is None:
            return Reply(404, {"error": "gone"})
        context.commit(record, upfront=None, monthly=record.monthly, currency=record.currency)
        return Reply(201, {"number": record.e164})

    sandbox.build([sandbox.route("/v1/check", refuse, name="check"), sandbox.purchase_route("/v1/buy", purchase)])
    return sandbox, claims


async def test_refused_answers_with_its_reply_and_keeps_what_ran_before() -> None:
    sandbox, _ = _sandbox()
    async with sandbox.client() as client:
        refused = await client.get("/check")
        fine = await client.get("/check", params={"ok": "yes"})

    assert (418, {"error": "not a teapot here"}) == (refused.status_code, refused.json())
    assert 200 == fine.status_code
    assert sandbox.options["checked"] is True
    assert [418, 200] == [entry.status for entry in sandbox.log]


async def test_purchase_route_is_a_post_named_purchase_that_the_purchase_faults_apply_to() -> None:
    sandbox, _ = _sandbox(Faults(commit_then_503=1.0))
    async with sandbox.client() as client:
        wrong_method = await client.get("/buy")
        bought = await client.post("/buy", json={"number": "+12125550101"})

    assert 405 == wrong_method.status_code
    assert 503 == bought.status_code  # committed, then answered 503: only a purchase endpoint does that
    assert 1 == sandbox.received["purchase"]
    assert ["purchase"] == [entry.endpoint for entry in sandbox.log]
    assert "commit_then_503" == sandbox.purchases[0].fault


async def test_claim_gives_the_record_only_while_it_is_for_sale() -> None:
    sandbox, claims = _sandbox()
    async with sandbox.client() as client:
        first = await client.post("/buy", json={"number": "+12125550101"})
        again = await client.post("/buy", json={"number": "+12125550101"})
        unknown = await client.post("/buy", json={"number": "+12125550199"})

    assert [201, 404, 404] == [first.status_code, again.status_code, unknown.status_code]
    assert [sandbox.records[0], None, None] == claims
    assert {"+12125550101": "id-+12125550101"} == sandbox.owned


async def test_claim_loses_a_drawn_race_for_an_available_record_only() -> None:
    sandbox, claims = _sandbox(Faults(rate_race=1.0))
    async with sandbox.client() as client:
        lost = await client.post("/buy", json={"number": "+12125550102"})
        unknown = await client.post("/buy", json={"number": "+12125550199"})

    assert [404, 404] == [lost.status_code, unknown.status_code]
    assert [None, None] == claims
    assert {"id-+12125550102"} == sandbox.taken  # someone else has it now
    assert {} == sandbox.owned
    assert ["race", None] == [entry.fault for entry in sandbox.log]


def _request(authorization: str | None) -> Request:
    headers = [] if authorization is None else [(b"authorization", authorization.encode("latin-1"))]
    return Request({"type": "http", "headers": headers})


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Basic " + base64.b64encode(b"AC1:s3cret:with:colons").decode(), ("Basic", "AC1", "s3cret:with:colons")),
        ("basic " + base64.b64encode(b"user").decode(), ("basic", "user", "")),
        ("Bearer " + base64.b64encode(b"a:b").decode(), ("Bearer", "a", "b")),  # the caller checks the scheme
        ("Basic not*base64", ("Basic", "", "")),
        ("Basic " + base64.b64encode(b"\xff\xfe:x").decode(), ("Basic", "", "")),  # not UTF-8
        (None, ("", "", "")),
    ],
)
def test_basic_auth_reads_the_header_as_basic_credentials(header: str | None, expected: tuple[str, str, str]) -> None:
    assert expected == basic_auth(_request(header))


def test_page_labels_name_the_paging_faults() -> None:
    lying, _ = _sandbox(Faults(lying_total=50, repeat_token=True))
    honest, _ = _sandbox()
    token = honest.encode_token(1)

    assert ["lying_total"] == lying.numbered_page([1, 2, 3], page=1, per_page=2).labels
    assert [] == honest.numbered_page([1, 2, 3], page=1, per_page=2).labels
    assert ["repeat_token"] == lying.token_page([1, 2, 3], token=lying.encode_token(1), limit=1).labels
    assert [] == honest.token_page([1, 2, 3], token=token, limit=1).labels


@pytest.mark.parametrize(
    ("count", "weights", "expected"),
    [(10, [1, 1, 1], [4, 3, 3]), (7, [3, 1], [6, 1]), (0, [1, 2], [0, 0]), (2, [1, 1, 1, 1], [1, 1, 0, 0])],
)
def test_shares_split_in_proportion_with_the_remainder_to_the_first(
    count: int, weights: list[int], expected: list[int]
) -> None:
    assert expected == shares(count, weights)


def test_bucketed_inventory_lists_bucket_after_bucket_with_the_specials_in_theirs() -> None:
    buckets = [("US", "local"), ("GB", "mobile"), ("NL", "local")]
    special = _record("+447700900123", "GB", "mobile")

    def build(number: GeneratedNumber) -> SandboxRecord:
        return _record(number.e164, number.country, number.number_type)

    def inventory(seed: int) -> list[SandboxRecord]:
        return bucketed_inventory(random.Random(seed), buckets, 8, build, specials=[special], lane=1, exclude=set())

    records = inventory(4)

    assert [("US", "local")] * 3 + [("GB", "mobile")] * 4 + [("NL", "local")] * 2 == [
        (r.country, r.number_type) for r in records
    ]
    assert special in records[3:7]
    assert all(int(r.e164[-1]) in LANE_DIGITS[1] for r in records if r is not special)
    assert 9 == len({r.e164 for r in records})
    assert records == inventory(4)
    assert records != inventory(5)


def test_a_shared_number_is_a_generated_number_for_the_record_builders() -> None:
    shared = shared_numbers(0)[0]

    assert GeneratedNumber(shared.e164, shared.country, shared.number_type, shared.area) == shared.number


@pytest.mark.parametrize("lane", [None, 0, 2])
def test_draw_number_is_draw_numbers_for_one_number(lane: int | None) -> None:
    one = draw_number(random.Random(3), "GB", "mobile", lane=lane, exclude=set())

    assert draw_numbers(random.Random(3), [("GB", "mobile", 1)], 1, lane=lane, exclude=set()) == [one]
