"""The Vobiz release, undo and move hooks against recorded answers (``httpx.MockTransport``): the exact request
each sends, and every documented answer's one meaning."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from numbroker import (
    BadRequestError,
    CoolOffError,
    Money,
    NotFoundError,
    OwnedStatus,
    PermissionDeniedError,
    ProviderResponseError,
    ReleaseAnswer,
)
from numbroker.adapters import make_owned
from numbroker.testing import Recorder
from numbroker_providers.vobiz import VobizProvider

AUTH_ID = "MA_TESTACCOUNT"
TOKEN = "test-token-0123456789abcdef"
NUMBER = make_owned(
    provider="vobiz",
    provider_number_id=None,
    number="+442071516460",
    country="GB",
    status=OwnedStatus.ACTIVE,
    monthly_price=Money(amount=Decimal("2.25"), currency="USD"),
)
Handler = Callable[[httpx.Request], httpx.Response]


async def call(handler: Handler, what: str, **options: Any) -> tuple[ReleaseAnswer, list[httpx.Request]]:
    recorder = Recorder(handler)
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as client:
        vobiz = VobizProvider(auth_id=AUTH_ID, auth_token=TOKEN, http_client=client)
        if what == "release":
            answer = await vobiz.release(NUMBER, **options)
        elif what == "undo":
            answer = await vobiz.cancel_release(NUMBER)
        else:
            answer = await vobiz.move_number(NUMBER, options.get("to"), force=options.get("force", False))
    return answer, recorder.requests


@pytest.mark.anyio
async def test_the_sdk_answer_is_a_cancellable_pending_release() -> None:
    body = {
        "status": "pending_release",
        "cooldown_ends_at": "2026-12-08T10:00:00Z",
        "release_fee": 2.25,
        "cancel_url": "/v1/account/x/numbers/+442071516460/cancel-release",
        "message": "Number will be released when the cooldown ends",
    }
    answer, [sent] = await call(lambda r: httpx.Response(200, json=body), "release")

    assert ("DELETE", "/api/v1/account/MA_TESTACCOUNT/numbers/%2B442071516460") == (
        sent.method,
        sent.url.raw_path.decode(),
    )
    assert b"" == sent.url.query  # the cooldown is the default: immediate is never sent unless asked
    ends = datetime(2026, 12, 8, 10, tzinfo=UTC)
    assert (OwnedStatus.PENDING_RELEASE, ends, ends) == (answer.state, answer.effective_at, answer.undo_until)
    assert Money(amount=Decimal("2.25"), currency="USD") == answer.fee


@pytest.mark.anyio
@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(204),
        httpx.Response(200, json={"message": "number returned to inventory"}),
        httpx.Response(200, json={"status": "released", "message": "Number released", "release_fee": 0}),
    ],
)
async def test_the_immediate_answers_are_released(response: httpx.Response) -> None:
    answer, [sent] = await call(lambda r: response, "release", immediate=True)

    assert "immediate=true" == sent.url.query.decode()
    assert OwnedStatus.INACTIVE is answer.state


@pytest.mark.anyio
async def test_a_200_that_says_failure_is_a_refusal() -> None:
    with pytest.raises(BadRequestError, match="release refused"):
        await call(lambda r: httpx.Response(200, json={"status": "error", "message": "not allowed"}), "release")


@pytest.mark.anyio
async def test_a_status_that_says_neither_way_is_unreadable() -> None:
    with pytest.raises(ProviderResponseError, match="says neither way"):
        await call(lambda r: httpx.Response(200, json={"status": "queued"}), "release")


@pytest.mark.anyio
async def test_not_owning_the_number_is_not_found_and_other_403s_stay_refusals() -> None:
    owned_elsewhere = {"error": "forbidden", "message": "account does not own this number"}
    with pytest.raises(NotFoundError, match="not the account's number"):
        await call(lambda r: httpx.Response(403, json=owned_elsewhere), "release")
    with pytest.raises(PermissionDeniedError):
        await call(lambda r: httpx.Response(403, json={"error": "forbidden", "message": "read-only key"}), "release")


@pytest.mark.anyio
async def test_the_undo_reports_the_refund_and_a_failed_refund() -> None:
    body = {"message": "ok", "status": "active", "currency": "USD", "refund_amount": 2.25, "refund_status": "failed",
            "refund_error": "card expired"}  # fmt: skip
    answer, [sent] = await call(lambda r: httpx.Response(200, json=body), "undo")

    assert ("POST", "/api/v1/account/MA_TESTACCOUNT/numbers/%2B442071516460/cancel-release") == (
        sent.method,
        sent.url.raw_path.decode(),
    )
    assert (OwnedStatus.ACTIVE, "card expired") == (answer.state, answer.refund_failed)
    assert Money(amount=Decimal("2.25"), currency="USD") == answer.fee


@pytest.mark.anyio
async def test_moves_send_force_only_when_given_and_read_the_cool_off() -> None:
    _, [assign] = await call(lambda r: httpx.Response(200, json={"message": "ok"}), "move", to="SA_X1")
    _, [back] = await call(lambda r: httpx.Response(200, json={}), "move", to=None)
    _, [forced] = await call(lambda r: httpx.Response(200, json={}), "move", to=None, force=True)

    assert ("POST", b'{"sub_account_id":"SA_X1"}') == (assign.method, assign.content)
    assert ("DELETE", b"", b"force=true") == (back.method, back.url.query, forced.url.query)
    refusal = {
        "status": "error",
        "error": {
            "code": "did_cool_off_in_effect",
            "message": "cool-off",
            "details": {"cool_off_until": "2026-12-20T00:00:00Z", "cool_off_remaining_seconds": 1100000},
        },
    }
    with pytest.raises(CoolOffError) as info:
        await call(lambda r: httpx.Response(409, json=refusal), "move", to=None)
    assert ("2026-12-20T00:00:00Z", 1100000) == (info.value.until, info.value.remaining_seconds)
