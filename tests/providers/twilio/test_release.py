"""The Twilio release hook: the exact DELETE against recorded answers (``httpx.MockTransport``), and the real
adapter against its sandbox over loopback (the account's and a subaccount's number, a lagging list)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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
from numbroker_providers.twilio import TwilioProvider
from numbroker_providers.twilio.sandbox import create_app

SID = "AC" + "c0de" * 8
SUB = "AC" + "5b5b" * 8
TOKEN = "70ce" * 8
NUMBER_SID = "PN" + "0123456789abcdef" * 2
Handler = Callable[[httpx.Request], httpx.Response]


def owned(sub_account: str | None = None, number_sid: str = NUMBER_SID) -> OwnedNumber:
    return make_owned(
        provider="twilio",
        provider_number_id=number_sid,
        number="+12125550143",
        country="US",
        status=OwnedStatus.ACTIVE,
        monthly_price=Money(amount=Decimal("1.15"), currency="USD"),
        sub_account=sub_account,
    )


async def release(handler: Handler, number: OwnedNumber, **options: Any) -> tuple[ReleaseAnswer, list[httpx.Request]]:
    recorder = Recorder(handler)
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as client:
        twilio = TwilioProvider(account_sid=SID, auth_token=TOKEN, http_client=client)
        return await twilio.release(number, **options), recorder.requests


def deleted(request: httpx.Request) -> httpx.Response:
    return httpx.Response(204)


@pytest.mark.anyio
@pytest.mark.parametrize("immediate", [False, True])
async def test_the_204_is_a_final_release(immediate: bool) -> None:
    answer, [sent] = await release(deleted, owned(), immediate=immediate)

    assert ("DELETE", f"/2010-04-01/Accounts/{SID}/IncomingPhoneNumbers/{NUMBER_SID}.json", b"", b"") == (
        sent.method,
        sent.url.raw_path.decode(),
        sent.url.query,
        sent.content,
    )
    assert sent.headers["authorization"].startswith("Basic ")
    assert (OwnedStatus.INACTIVE, None, None, None) == (
        answer.state,
        answer.effective_at,
        answer.undo_until,
        answer.fee,
    )


@pytest.mark.anyio
async def test_a_subaccounts_number_goes_under_the_subaccounts_sid() -> None:
    _, [sent] = await release(deleted, owned(sub_account=SUB))

    assert f"/2010-04-01/Accounts/{SUB}/IncomingPhoneNumbers/{NUMBER_SID}.json" == sent.url.raw_path.decode()


@pytest.mark.anyio
@pytest.mark.parametrize(
    "number",
    [
        owned(number_sid="PN../../Accounts"),
        owned().model_copy(update={"provider_number_id": None}),
        owned(sub_account="AC/../x"),
    ],
    ids=["traversal", "no-sid", "bad-account"],
)
async def test_a_number_without_usable_sids_is_never_sent(number: OwnedNumber) -> None:
    with pytest.raises(PurchaseError):
        await release(deleted, number)


@pytest.mark.anyio
async def test_a_refusal_is_in_twilios_words() -> None:
    body = {"code": 21452, "message": "Emergency address must be removed first", "status": 400}

    with pytest.raises(BadRequestError) as caught:
        await release(lambda r: httpx.Response(400, json=body), owned())

    assert (400, "21452") == (caught.value.status_code, caught.value.vendor_code)
    assert "Emergency address must be removed first" in str(caught.value.vendor_message)


@pytest.mark.anyio
async def test_an_sid_the_account_does_not_hold_is_not_found() -> None:
    body = {"code": 20404, "message": "The requested resource was not found", "status": 404}

    with pytest.raises(NotFoundError):
        await release(lambda r: httpx.Response(404, json=body), owned())


@pytest.mark.anyio
@pytest.mark.parametrize("status", [200, 202])
async def test_another_2xx_is_no_answer(status: int) -> None:
    with pytest.raises(ProviderResponseError, match="not 204"):
        await release(lambda r: httpx.Response(status, json={}), owned())


# -- the real adapter against its sandbox, over loopback ---------------------------------------------------


@pytest.fixture
def holding(served_adapter: Callable[..., Awaitable[Provider]]) -> Callable[..., Any]:
    """A fresh sandbox (built with ``options``; its account and subaccounts own numbers) on loopback."""

    async def serve(**options: Any) -> tuple[Sandbox, Provider, list[OwnedNumber]]:
        sandbox = create_app(seed=4, owned=12, **options)
        twilio = await served_adapter(sandbox, retry=RetryPolicy(initial=0.01))
        return sandbox, twilio, (await twilio.list_owned())[0]

    return serve


@pytest.mark.anyio
@pytest.mark.parametrize("where", ["account", "subaccount"])
async def test_the_sandbox_deletes_the_number_and_the_list_no_longer_shows_it(
    holding: Callable[..., Any], where: str
) -> None:
    sandbox, twilio, numbers = await holding()
    number = next(n for n in numbers if (n.sub_account is None) == (where == "account"))

    answer = await twilio.release(number)

    assert OwnedStatus.INACTIVE is answer.state
    assert [(number.e164, "released")] == [(r["e164"], r["state"]) for r in sandbox.releases]
    left = [n.e164 for n in (await twilio.list_owned())[0]]
    assert sorted(n.e164 for n in numbers if n.e164 != number.e164) == sorted(left)
    with pytest.raises(NotFoundError):  # gone: a second request finds nothing to delete
        await twilio.release(number)


@pytest.mark.anyio
async def test_a_number_under_another_accounts_sid_is_not_found_and_stays(holding: Callable[..., Any]) -> None:
    sandbox, twilio, numbers = await holding()
    number = next(n for n in numbers if n.sub_account is not None)
    elsewhere = number.model_copy(update={"sub_account": None})  # the parent's SID: not the holder

    with pytest.raises(NotFoundError):
        await twilio.release(elsewhere)

    assert [] == sandbox.releases
    assert number.e164 in [n.e164 for n in (await twilio.list_owned())[0]]


@pytest.mark.anyio
async def test_a_release_the_list_lags_behind_still_shows_it_as_it_was(holding: Callable[..., Any]) -> None:
    sandbox, twilio, numbers = await holding(faults=Faults(release_list_lag_seconds=600))

    await twilio.release(numbers[0])

    assert [(numbers[0].e164, "released")] == [(r["e164"], r["state"]) for r in sandbox.releases]
    assert numbers[0].e164 in [n.e164 for n in (await twilio.list_owned())[0]]
