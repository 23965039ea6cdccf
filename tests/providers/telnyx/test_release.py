"""The Telnyx release hook: the exact request against recorded answers (``httpx.MockTransport``), and the real
adapter against its sandbox over loopback (the deleted representation, a deletion lock, a lagging list)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from numbroker import (
    Money,
    NotFoundError,
    NumberType,
    OwnedNumber,
    OwnedStatus,
    PermissionDeniedError,
    ProviderResponseError,
    ReleaseAnswer,
    SearchQuery,
)
from numbroker.adapters import make_owned
from numbroker.sandbox import Faults, Sandbox
from numbroker.testing import Recorder
from numbroker.testing.integration import IntegrationSuite
from numbroker_providers.telnyx import TelnyxProvider
from numbroker_providers.telnyx.sandbox import create_app

KEY = "KEY0123456789ABCDEF0123456789ABCDEF_abcdefghijklmnopqrstuv"
NUMBER_ID = "1293384261075731499"
SEED = 3
Handler = Callable[[httpx.Request], httpx.Response]


def owned(e164: str = "+13125550123", number_id: str = NUMBER_ID) -> OwnedNumber:
    return make_owned(
        provider="telnyx",
        provider_number_id=number_id,
        number=e164,
        country="US",
        status=OwnedStatus.ACTIVE,
        monthly_price=Money(amount=Decimal("1.00"), currency="USD"),
    )


async def release(handler: Handler, number: OwnedNumber, **options: Any) -> tuple[ReleaseAnswer, list[httpx.Request]]:
    recorder = Recorder(handler)
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as client:
        telnyx = TelnyxProvider(api_key=KEY, http_client=client)
        return await telnyx.release(number, **options), recorder.requests


def deleted(**fields: Any) -> httpx.Response:
    data = {"id": NUMBER_ID, "record_type": "phone_number", "phone_number": "+13125550123", "status": "deleted"}
    return httpx.Response(200, json={"data": {**data, **fields}})


@pytest.mark.anyio
@pytest.mark.parametrize("immediate", [False, True])
async def test_the_deleted_representation_is_a_final_release(immediate: bool) -> None:
    answer, [sent] = await release(lambda r: deleted(), owned(), immediate=immediate)

    assert ("DELETE", f"/v2/phone_numbers/{NUMBER_ID}", b"") == (
        sent.method,
        sent.url.raw_path.decode(),
        sent.url.query,
    )
    assert f"Bearer {KEY}" == sent.headers["authorization"]
    assert (OwnedStatus.INACTIVE, None, None, None) == (
        answer.state,
        answer.effective_at,
        answer.undo_until,
        answer.fee,
    )


@pytest.mark.anyio
async def test_the_id_is_one_path_segment() -> None:
    _, [sent] = await release(lambda r: deleted(), owned(number_id="12/../34?x"))

    assert "/v2/phone_numbers/12%2F..%2F34%3Fx" == sent.url.raw_path.decode()


@pytest.mark.anyio
async def test_a_deletion_lock_is_a_refusal_in_telnyxs_words() -> None:
    body = {"errors": [{"code": "10035", "title": "Resource locked", "detail": "Deletion lock is enabled."}]}

    with pytest.raises(PermissionDeniedError) as caught:
        await release(lambda r: httpx.Response(403, json=body), owned())

    assert ("10035", 403) == (caught.value.vendor_code, caught.value.status_code)
    assert "Resource locked" in str(caught.value) and "Deletion lock is enabled." in str(caught.value)


@pytest.mark.anyio
async def test_an_unknown_id_is_not_found() -> None:
    body = {"errors": [{"code": "10005", "title": "Resource not found", "detail": "not found"}]}

    with pytest.raises(NotFoundError):
        await release(lambda r: httpx.Response(404, json=body), owned())


@pytest.mark.anyio
@pytest.mark.parametrize(
    "answer",
    [deleted(status="active"), deleted(status=None), httpx.Response(200, json={"data": []}), httpx.Response(204)],
    ids=["active", "no-status", "no-record", "no-body"],
)
async def test_a_2xx_that_does_not_say_deleted_is_no_answer(answer: httpx.Response) -> None:
    with pytest.raises(ProviderResponseError):
        await release(lambda r: answer, owned())


# -- the real adapter against its sandbox, over loopback ---------------------------------------------------


@pytest.fixture
async def bought() -> AsyncIterator[Callable[..., Any]]:
    """Buy ``count`` US local numbers from a fresh sandbox (built with ``options``) served on loopback."""
    with contextlib.ExitStack() as served:
        opened: list[TelnyxProvider] = []

        async def buy(count: int, **options: Any) -> tuple[Sandbox, TelnyxProvider, list[OwnedNumber]]:
            sandbox = create_app(seed=SEED, order_polls=0, **options)
            telnyx = TelnyxProvider(env=sandbox.env, base_url=served.enter_context(IntegrationSuite.serving(sandbox)))
            opened.append(telnyx)
            offers = (await telnyx.search(SearchQuery(country="US", number_type=NumberType.LOCAL))).offers
            valid = {r.e164 for r in sandbox.records if r.expected_valid}
            for offer in [o for o in offers if o.e164 in valid][:count]:
                await telnyx.purchase(offer)
            return sandbox, telnyx, await listed(sandbox, telnyx)

        yield buy
        for telnyx in opened:
            await telnyx.aclose()


async def listed(sandbox: Sandbox, telnyx: TelnyxProvider) -> list[OwnedNumber]:
    """The owned list as Telnyx shows it (id, number, status), read raw."""
    key = {"Authorization": f"Bearer {sandbox.env['TELNYX_API_KEY']}"}
    answer = await telnyx.client.get(telnyx.base_url + "/phone_numbers", params={"page[size]": 250}, headers=key)
    return [
        make_owned(
            provider="telnyx",
            provider_number_id=item["id"],
            number=item["phone_number"],
            country="US",
            status=OwnedStatus.ACTIVE if item["status"] == "active" else OwnedStatus.INACTIVE,
        )
        for item in answer.json()["data"]
    ]


@pytest.mark.anyio
async def test_the_sandbox_deletes_a_number_and_the_list_no_longer_shows_it(bought: Callable[..., Any]) -> None:
    sandbox, telnyx, [first, second] = await bought(2)

    answer = await telnyx.release(first)

    assert OwnedStatus.INACTIVE is answer.state
    assert [(first.e164, "released")] == [(r["e164"], r["state"]) for r in sandbox.releases]
    assert [second.e164] == [n.e164 for n in await listed(sandbox, telnyx)]
    assert (False, True) == (await telnyx.owns(first.e164), await telnyx.owns(second.e164))
    with pytest.raises(NotFoundError):  # gone: a second request finds nothing to delete
        await telnyx.release(first)


@pytest.mark.anyio
async def test_a_deletion_locked_number_is_refused_and_stays_the_accounts(bought: Callable[..., Any]) -> None:
    every = [r.e164 for r in create_app(seed=SEED).records]
    sandbox, telnyx, [locked] = await bought(1, deletion_locked=every)

    with pytest.raises(PermissionDeniedError, match="10035 Resource locked"):
        await telnyx.release(locked)

    assert [] == sandbox.releases
    assert [locked.e164] == [n.e164 for n in await listed(sandbox, telnyx)]
    assert await telnyx.owns(locked.e164)


@pytest.mark.anyio
async def test_a_release_the_list_lags_behind_still_shows_it_as_it_was(bought: Callable[..., Any]) -> None:
    sandbox, telnyx, [number] = await bought(1, faults=Faults(release_list_lag_seconds=600))

    await telnyx.release(number)

    assert [(number.e164, "released")] == [(r["e164"], r["state"]) for r in sandbox.releases]
    assert [(number.e164, OwnedStatus.ACTIVE)] == [(n.e164, n.status) for n in await listed(sandbox, telnyx)]
