"""The Vonage release hook: the exact cancel request against recorded answers (``httpx.MockTransport``), and the
real adapter against its sandbox over loopback (a cancel, the 200-with-failure, a lagging list)."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from numbroker import (
    BadRequestError,
    Money,
    OwnedNumber,
    OwnedStatus,
    ProviderHTTPError,
    ProviderResponseError,
    ProviderUnavailableError,
    ReleaseAnswer,
)
from numbroker.adapters import Provider, make_owned
from numbroker.sandbox import Faults, Sandbox
from numbroker.testing import Recorder
from numbroker_providers.vonage import VonageProvider
from numbroker_providers.vonage.sandbox import create_app

KEY = "c4n4ry02"
SECRET = "Vonage-Release-Canary-7e1"
BASIC = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
Handler = Callable[[httpx.Request], httpx.Response]


def owned(e164: str = "+447700900123", country: str = "GB") -> OwnedNumber:
    return make_owned(
        provider="vonage",
        provider_number_id=None,
        number=e164,
        country=country,
        status=OwnedStatus.ACTIVE,
        monthly_price=Money(amount=Decimal("1.00"), currency="EUR"),
    )


async def release(handler: Handler, number: OwnedNumber, **options: Any) -> tuple[ReleaseAnswer, list[httpx.Request]]:
    recorder = Recorder(handler)
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as client:
        vonage = VonageProvider(api_key=KEY, api_secret=SECRET, http_client=client)
        return await vonage.release(number, **options), recorder.requests


def coded(code: str, label: str, *, status: int = 200) -> Handler:
    return lambda request: httpx.Response(status, json={"error-code": code, "error-code-label": label})


@pytest.mark.anyio
@pytest.mark.parametrize("immediate", [False, True])
async def test_the_cancel_request_and_its_success_are_an_immediate_release(immediate: bool) -> None:
    answer, [sent] = await release(coded("200", "success"), owned(), immediate=immediate)

    assert ("POST", "/number/cancel", b"") == (sent.method, sent.url.raw_path.decode(), sent.url.query)
    assert "application/x-www-form-urlencoded" == sent.headers["content-type"]
    assert {"country": ["GB"], "msisdn": ["447700900123"]} == parse_qs(sent.content.decode())
    assert BASIC == sent.headers["authorization"]
    assert all(secret not in str(sent.url) + sent.content.decode() for secret in (KEY, SECRET))
    assert (OwnedStatus.INACTIVE, None, None, None) == (
        answer.state,
        answer.effective_at,
        answer.undo_until,
        answer.fee,
    )


@pytest.mark.anyio
async def test_a_200_whose_error_code_says_failure_is_a_refusal_with_its_label() -> None:
    with pytest.raises(BadRequestError) as caught:
        await release(coded("420", "method failed"), owned())

    assert (420, "420", "method failed") == (
        caught.value.status_code,
        caught.value.vendor_code,
        caught.value.vendor_message,
    )
    assert "HTTP 200 with error-code '420': method failed" in str(caught.value)


@pytest.mark.anyio
async def test_a_420_status_is_a_refusal_too() -> None:
    with pytest.raises(BadRequestError) as caught:
        await release(coded("420", "method failed", status=420), owned())

    assert (420, "method failed") == (caught.value.status_code, caught.value.vendor_message)


@pytest.mark.anyio
async def test_a_200_with_a_server_error_code_is_that_server_error() -> None:
    with pytest.raises(ProviderUnavailableError) as caught:
        await release(coded("500", "internal error"), owned())

    assert 500 == caught.value.status_code


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body",
    [{"error-code-label": "success"}, {"error-code": "ok"}, [], "success"],
    ids=["no-code", "not-a-status", "array", "string"],
)
async def test_a_200_that_does_not_say_its_outcome_is_no_answer(body: Any) -> None:
    with pytest.raises(ProviderResponseError):
        await release(lambda request: httpx.Response(200, json=body), owned())


@pytest.mark.anyio
async def test_an_echoed_credential_is_redacted_from_a_refusal() -> None:
    with pytest.raises(ProviderHTTPError) as caught:
        await release(coded("420", f"no such number for {KEY} {SECRET}"), owned())

    shown = str(caught.value) + repr(caught.value) + str(caught.value.vendor_message)
    assert all(secret not in shown for secret in (KEY, SECRET, BASIC.split()[1]))


# -- the real adapter against its sandbox, over loopback ---------------------------------------------------


@pytest.fixture
def rented(served_adapter: Callable[..., Awaitable[Provider]]) -> Callable[..., Any]:
    """A fresh sandbox (built with ``options``, three numbers rented) served on loopback, its adapter and list."""

    async def serve(**options: Any) -> tuple[Sandbox, Provider, list[OwnedNumber]]:
        sandbox = create_app(seed=5, owned=3, size=0, **options)
        vonage = await served_adapter(sandbox)
        return sandbox, vonage, (await vonage.list_owned())[0]

    return serve


@pytest.mark.anyio
async def test_the_sandbox_cancels_a_number_and_the_list_no_longer_shows_it(rented: Callable[..., Any]) -> None:
    sandbox, vonage, [first, *others] = await rented()

    answer = await vonage.release(first)

    assert OwnedStatus.INACTIVE is answer.state
    assert [(first.e164, "released")] == [(r["e164"], r["state"]) for r in sandbox.releases]
    assert [n.e164 for n in others] == [n.e164 for n in (await vonage.list_owned())[0]]
    assert (False, True) == (await vonage.owns(first.e164), await vonage.owns(others[0].e164))
    with pytest.raises(BadRequestError, match="method failed"):  # no longer rented: Vonage's 420
        await vonage.release(first)


@pytest.mark.anyio
async def test_the_sandboxs_200_with_failure_changes_nothing(rented: Callable[..., Any]) -> None:
    sandbox, vonage, [first, *_] = await rented(faults=Faults(rate_release_refused=1.0))

    with pytest.raises(BadRequestError, match="HTTP 200 with error-code '420': method failed"):
        await vonage.release(first)

    assert [] == sandbox.releases
    assert first.e164 in [n.e164 for n in (await vonage.list_owned())[0]]
    assert await vonage.owns(first.e164)


@pytest.mark.anyio
async def test_a_number_not_rented_under_that_country_is_refused(rented: Callable[..., Any]) -> None:
    sandbox, vonage, [first, *_] = await rented()
    elsewhere = first.model_copy(update={"country": "US" if first.country != "US" else "GB"})

    with pytest.raises(BadRequestError, match="method failed"):
        await vonage.release(elsewhere)

    assert [] == sandbox.releases


@pytest.mark.anyio
async def test_a_cancel_the_list_lags_behind_still_shows_it_as_it_was(rented: Callable[..., Any]) -> None:
    sandbox, vonage, [first, *_] = await rented(faults=Faults(release_list_lag_seconds=600))

    await vonage.release(first)

    assert [(first.e164, "released")] == [(r["e164"], r["state"]) for r in sandbox.releases]
    assert first.e164 in [n.e164 for n in (await vonage.list_owned())[0]]
