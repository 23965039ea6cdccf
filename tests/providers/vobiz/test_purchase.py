"""Vobiz purchases and the owned-number list, offline: wire shape, every status mapping, paging safety."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import httpx
import pytest

from numbroker import (
    AuthenticationError,
    BadRequestError,
    DebitFailedError,
    InsufficientFundsError,
    NumberUnavailableError,
    OtherNumberSoldError,
    PermissionDeniedError,
    ProviderResponseError,
    ProviderUnavailableError,
    PurchaseError,
)
from numbroker.buying import FailureKind
from numbroker.testing import offer
from numbroker.testing.purchase import Answer, PurchaseSuite
from numbroker_providers.vobiz import VobizProvider

AUTH_ID = "MA_TEST4242"
TOKEN = "vobiz-token-canary-7c1e"
BUY = f"/api/v1/account/{AUTH_ID}/numbers/purchase-from-inventory"
OWNED = f"/api/v1/account/{AUTH_ID}/numbers"
OFFER = offer("+14155552671", provider="vobiz", offer_id="inv-1")

Handler = Callable[[httpx.Request], httpx.Response]


def envelope(status: int, code: str, message: str) -> httpx.Response:
    body = {"status": "error", "error": {"code": code, "message": message}, "requestId": "req_abc"}
    return httpx.Response(status, json=body)


REPEATED = [{"id": f"n{i}", "e164": f"+1212555{i:04d}"} for i in range(100)]
"""A full owned page, served for every page number."""


def owned_pages(numbers: list[Any], *, total: int | None = None, per_page: int = 100) -> Handler:
    """Serve owned numbers by page/per_page with the documented envelope."""

    def respond(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        items = [{"id": f"n{i}", "e164": n} for i, n in enumerate(numbers)][(page - 1) * per_page : page * per_page]
        body = {"items": items, "page": page, "per_page": per_page, "total": len(numbers) if total is None else total}
        return httpx.Response(200, json=body)

    return respond


class TestVobizPurchase(PurchaseSuite):
    provider_class = VobizProvider
    credentials: ClassVar[Mapping[str, str]] = {"auth_id": AUTH_ID, "auth_token": TOKEN}
    offer_to_buy = OFFER
    answers = (
        Answer(envelope(404, "NOT_FOUND", "Number not found in inventory"), NumberUnavailableError, FailureKind.GONE),
        Answer(envelope(402, "INSUFFICIENT_BALANCE", "too low"), InsufficientFundsError, FailureKind.PROVIDER_REFUSED),
        Answer(
            envelope(500, "INTERNAL_ERROR", "Failed to debit account balance; rolled back"),
            DebitFailedError,
            FailureKind.AMBIGUOUS,
        ),
        Answer(envelope(500, "INSUFFICIENT_BALANCE", "x"), DebitFailedError, FailureKind.AMBIGUOUS),
        Answer(
            envelope(500, "INTERNAL_ERROR", "Internal server error"), ProviderUnavailableError, FailureKind.AMBIGUOUS
        ),
        Answer(
            httpx.Response(504, text="<html>504 Gateway Time-out</html>"),
            ProviderUnavailableError,
            FailureKind.AMBIGUOUS,
        ),
        Answer(envelope(401, "INVALID_CREDENTIALS", "bad"), AuthenticationError, FailureKind.PROVIDER_REFUSED),
        Answer(envelope(403, "FORBIDDEN", "no"), PermissionDeniedError, FailureKind.PROVIDER_REFUSED),
        Answer(envelope(422, "VALIDATION_ERROR", "e164 is required"), BadRequestError, FailureKind.PROVIDER_REFUSED),
        Answer(httpx.Response(200, text="<html>ok</html>"), ProviderResponseError, FailureKind.AMBIGUOUS),
        Answer(
            httpx.Response(200, json={"number": {"e164": "+14155550000"}}), OtherNumberSoldError, FailureKind.AMBIGUOUS
        ),
    )

    @pytest.mark.anyio
    async def test_purchase_sends_the_documented_request_and_returns_a_receipt(self) -> None:
        """POST purchase-from-inventory with {"e164"} and X-Auth headers; the receipt: the vendor id, no account id."""
        number = {"id": "num-9", "account_id": AUTH_ID, "e164": OFFER.e164, "status": "active", "setup_fee": 1.5}
        answer = {"message": "Number purchased successfully", "number": number, "items": []}

        receipt, requests = await self.buy(lambda r: httpx.Response(200, json=answer, headers={"x-request-id": "rq-1"}))

        (request,) = requests
        assert ("POST", BUY) == (request.method, request.url.path)
        assert {"e164": "+14155552671"} == json.loads(request.content)
        assert (AUTH_ID, TOKEN) == (request.headers["x-auth-id"], request.headers["x-auth-token"])
        self.check_receipt(
            receipt,
            vendor_id="num-9",
            request_id="rq-1",
            details={"status": "active", "setup_fee": "1.5", "message": "Number purchased successfully"},
        )

    @pytest.mark.anyio
    async def test_a_plain_500_is_not_taken_for_a_failed_debit(self) -> None:
        """Only a 500 whose body speaks of the balance is a DebitFailedError (which also drops Vobiz)."""
        raised, _ = await self.buy(lambda r: envelope(500, "INTERNAL_ERROR", "Internal server error"))

        assert not isinstance(raised, DebitFailedError)
        assert isinstance(raised, ProviderUnavailableError)
        assert "req_abc" == raised.request_id

    @pytest.mark.anyio
    async def test_an_offer_of_another_provider_is_refused_before_sending(self) -> None:
        """purchase() checks the offer belongs to this provider."""
        requests: list[httpx.Request] = []
        async with self.provider(lambda r: httpx.Response(200, json={}), requests) as vobiz:
            with pytest.raises(PurchaseError, match="belongs to provider 'bird'"):
                await vobiz.purchase(OFFER.model_copy(update={"provider": "bird"}))

        assert [] == requests

    @pytest.mark.anyio
    async def test_owned_list_is_read_page_by_page_with_both_paging_dialects(self) -> None:
        """page/per_page and limit/offset describe the same slice; a short page ends the walk; the match is by E.164."""
        numbers = [f"+1212555{i:04d}" for i in range(100)] + ["+12125559998", "14155552671", "+12125559999"]

        found, requests = await self.owns(owned_pages(numbers))
        absent, walked = await self.owns(owned_pages(numbers[:101]), "+442079460000")

        assert found is True
        assert [("1", "100", "100", "0"), ("2", "100", "100", "100")] == sorted(
            (r.url.params["page"], r.url.params["per_page"], r.url.params["limit"], r.url.params["offset"])
            for r in requests
        )
        assert all(r.method == "GET" and r.url.path == OWNED for r in requests)
        assert absent is False
        assert 2 == len(walked)

    @pytest.mark.anyio
    @pytest.mark.parametrize(
        ("handler", "message"),
        [
            (owned_pages(["+12125550001", "garbage"]), "1 owned entries could not be read"),
            (owned_pages(["+12125550001"], total=500), "page 2 was empty while the total 500 says 499 more"),
            (lambda r: httpx.Response(200, json={"items": REPEATED, "page": 1, "per_page": 100}),
             "asked for page 2, got page 1"),
            (lambda r: httpx.Response(200, json={"items": REPEATED, "per_page": 100}), "only repeated"),
            (lambda r: httpx.Response(200, json={"oops": True}), "unexpected envelope"),
        ],
    )  # fmt: skip
    async def test_an_owned_list_that_cannot_prove_absence_raises(self, handler: Handler, message: str) -> None:
        """Unreadable entries, a total never reached, a page served twice: 'not owned' cannot be proven: it raises."""
        raised, _ = await self.owns(handler, "+442079460000")

        assert isinstance(raised, ProviderResponseError)
        assert message in str(raised)

    @pytest.mark.anyio
    async def test_owned_list_reads_are_retried(self) -> None:
        """A 503 on the owned list is retried like any idempotent GET."""
        answers = iter(
            [httpx.Response(503), httpx.Response(200, json={"items": [{"id": "n1", "e164": OFFER.e164}], "page": 1})]
        )

        found, requests = await self.owns(lambda r: next(answers))

        assert (True, 2) == (found, len(requests))
