"""The Bird release hook: the subscription's cancel against recorded answers (``httpx.MockTransport``), and the
real adapter against its sandbox over loopback (pending until the paid period ends, released now without one,
a lagging list)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from numbroker import (
    BadRequestError,
    Money,
    NotFoundError,
    OwnedNumber,
    OwnedStatus,
    ProviderResponseError,
    PurchaseError,
    ReleaseAnswer,
    RetryPolicy,
)
from numbroker.adapters import Provider, make_owned
from numbroker.sandbox import Faults, Sandbox
from numbroker.testing import Recorder
from numbroker_providers.bird import BirdProvider
from numbroker_providers.bird.sandbox import create_app

KEY = "bird-access-key-canary-5e1f"
WORKSPACE = "ws-release-0007"
NUMBER_ID = "3f0c1e9a-5a55-4d8e-9b7b-2f4c2d1e0a11"
Handler = Callable[[httpx.Request], httpx.Response]


def owned(number_id: str = NUMBER_ID) -> OwnedNumber:
    return make_owned(
        provider="bird",
        provider_number_id=number_id,
        number="+31201234567",
        country="NL",
        status=OwnedStatus.ACTIVE,
        monthly_price=Money(amount=Decimal("3.50"), currency="EUR"),
    )


async def release(handler: Handler, number: OwnedNumber, **options: Any) -> tuple[ReleaseAnswer, list[httpx.Request]]:
    recorder = Recorder(handler)
    bird = BirdProvider(
        access_key=KEY,
        organization_id="org-0001",
        workspace_id=WORKSPACE,
        transport=httpx.MockTransport(recorder),
        env={},
    )
    async with bird:
        return await bird.release(number, **options), recorder.requests


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def updated(*, cancelled: bool = True, ends: datetime | None, status: str = "active", **changes: Any) -> Handler:
    """The updated ``Number`` a cancel answers (both cancellation spellings, as Bird's one body has them)."""
    when = stamp(datetime.now(UTC)) if cancelled else None
    body = {
        "id": NUMBER_ID,
        "number": "+31201234567",
        "status": status,
        "subscription": {"status": "active", "cancelledAt": when},
        "endpointSubscription": {
            "status": "active",
            "canceledAt": when,
            "endAt": None if ends is None else stamp(ends),
        },
        **changes,
    }
    return lambda request: httpx.Response(200, json=body)


@pytest.mark.anyio
@pytest.mark.parametrize("immediate", [False, True])
async def test_a_cancel_is_pending_until_the_paid_period_ends(immediate: bool) -> None:
    ends = (datetime.now(UTC) + timedelta(days=9)).replace(microsecond=0)

    answer, [sent] = await release(updated(ends=ends), owned(), immediate=immediate)

    assert ("POST", f"/workspaces/{WORKSPACE}/numbers/{NUMBER_ID}/cancel-subscription", b"", b"") == (
        sent.method,
        sent.url.raw_path.decode(),
        sent.url.query,
        sent.content,
    )
    assert f"AccessKey {KEY}" == sent.headers["authorization"]
    assert (OwnedStatus.PENDING_RELEASE, ends, None, None) == (
        answer.state,
        answer.effective_at,
        answer.undo_until,
        answer.fee,
    )


@pytest.mark.anyio
async def test_the_other_spelling_of_the_cancellation_is_read_too() -> None:
    ends = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    handler = updated(ends=ends, subscription={"status": "active", "cancelledAt": stamp(datetime.now(UTC))})
    only_billing = handler(httpx.Request("POST", "https://api.bird.com/x")).json()
    only_billing["endpointSubscription"]["canceledAt"] = None

    answer, _ = await release(lambda r: httpx.Response(200, json=only_billing), owned())

    assert (OwnedStatus.PENDING_RELEASE, ends) == (answer.state, answer.effective_at)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "handler",
    [
        updated(ends=None),
        updated(ends=datetime.now(UTC) - timedelta(hours=1)),
        updated(cancelled=False, ends=None, status="deprovisioned"),
    ],
    ids=["no-paid-period", "period-over", "no-longer-active"],
)
async def test_with_no_paid_period_ahead_it_is_released_now(handler: Handler) -> None:
    answer, _ = await release(handler, owned())

    assert (OwnedStatus.INACTIVE, None) == (answer.state, answer.effective_at)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "handler",
    [
        updated(cancelled=False, ends=datetime.now(UTC) + timedelta(days=9)),
        lambda r: httpx.Response(200, json=[]),
        updated(ends=None, endpointSubscription={"canceledAt": "yesterday"}),
    ],
    ids=["not-cancelled", "not-a-number", "unreadable-date"],
)
async def test_a_200_that_does_not_say_cancelled_is_no_answer(handler: Handler) -> None:
    with pytest.raises(ProviderResponseError, match="outcome unknown"):
        await release(handler, owned())


@pytest.mark.anyio
async def test_refusals_and_unknown_numbers_are_birds_words() -> None:
    with pytest.raises(BadRequestError, match="shared numbers cannot be cancelled"):
        await release(
            lambda r: httpx.Response(422, json={"code": "E14002", "message": "shared numbers cannot be cancelled"}),
            owned(),
        )
    with pytest.raises(NotFoundError):
        await release(lambda r: httpx.Response(404, json={"code": "NotFound", "message": "not found"}), owned())


@pytest.mark.anyio
async def test_a_number_without_a_usable_id_is_never_sent() -> None:
    with pytest.raises(PurchaseError):
        await release(updated(ends=None), owned("../numbers"))


# -- the real adapter against its sandbox, over loopback ---------------------------------------------------


@pytest.fixture
def workspace(served_adapter: Callable[..., Awaitable[Provider]]) -> Callable[..., Any]:
    """A fresh sandbox (built with ``options``, its workspace owning numbers) on loopback, its adapter and list."""

    async def serve(**options: Any) -> tuple[Sandbox, Provider, list[OwnedNumber]]:
        sandbox = create_app(seed=6, owned=9, **options)
        bird = await served_adapter(sandbox, retry=RetryPolicy(initial=0.01))
        return sandbox, bird, (await bird.list_owned())[0]

    return serve


def shown(numbers: list[OwnedNumber], e164: str) -> OwnedStatus | None:
    return next((n.status for n in numbers if n.e164 == e164), None)


@pytest.mark.anyio
async def test_the_sandbox_keeps_a_cancelled_number_until_its_paid_period_ends(workspace: Callable[..., Any]) -> None:
    sandbox, bird, numbers = await workspace()
    number = next(n for n in numbers if n.status is OwnedStatus.ACTIVE and n.next_renewal is not None)

    answer = await bird.release(number)

    assert OwnedStatus.PENDING_RELEASE is answer.state
    assert answer.effective_at is not None and number.next_renewal == answer.effective_at.date()
    assert [(number.e164, "pending_release")] == [(r["e164"], r["state"]) for r in sandbox.releases]
    after = (await bird.list_owned())[0]
    assert OwnedStatus.PENDING_RELEASE is shown(after, number.e164)  # still the workspace's, still billed
    assert len(numbers) == len(after)
    again = await bird.release(number)  # cancelling it again changes nothing
    assert (OwnedStatus.PENDING_RELEASE, answer.effective_at) == (again.state, again.effective_at)
    assert 1 == len(sandbox.releases)


@pytest.mark.anyio
async def test_a_number_with_no_paid_period_is_released_now(workspace: Callable[..., Any]) -> None:
    sandbox, bird, numbers = await workspace()
    number = next(n for n in numbers if n.status is OwnedStatus.PENDING)  # no subscription yet

    answer = await bird.release(number)

    assert OwnedStatus.INACTIVE is answer.state
    assert [(number.e164, "released")] == [(r["e164"], r["state"]) for r in sandbox.releases]
    assert None is shown((await bird.list_owned())[0], number.e164)
    with pytest.raises(NotFoundError):
        await bird.release(number)


@pytest.mark.anyio
async def test_a_cancel_the_list_lags_behind_still_shows_it_as_it_was(workspace: Callable[..., Any]) -> None:
    sandbox, bird, numbers = await workspace(faults=Faults(release_list_lag_seconds=600))
    number = next(n for n in numbers if n.status is OwnedStatus.ACTIVE and n.next_renewal is not None)

    await bird.release(number)

    assert [(number.e164, "pending_release")] == [(r["e164"], r["state"]) for r in sandbox.releases]
    assert OwnedStatus.ACTIVE is shown((await bird.list_owned())[0], number.e164)
