"""Bird purchases and the workspace's owned list, offline: wire shape, every mapping, the reservation gap."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import ClassVar

import httpx
import pytest

from numbroker import (
    BadRequestError,
    ConfigurationError,
    MissingCredentialsError,
    NumberUnavailableError,
    ProviderResponseError,
    ProviderUnavailableError,
    PurchaseReceipt,
    ReservationRequiredError,
)
from numbroker.buying import FailureKind
from numbroker.testing import offer
from numbroker.testing.purchase import Answer, PurchaseSuite
from numbroker_providers.bird import BirdProvider

KEY = "bird-access-key-canary-55aa"
ORG = "org-0001"
WORKSPACE = "ws-canary-0002"
PATH = f"/workspaces/{WORKSPACE}/numbers-long-code"
OWNED = f"/workspaces/{WORKSPACE}/numbers"
OFFER = offer("+19283764510", provider="bird", offer_id="stock-1")

Handler = Callable[[httpx.Request], httpx.Response]


def error(status: int, code: str, message: str) -> Handler:
    return lambda request: httpx.Response(status, json={"code": code, "message": message})


class TestBirdPurchase(PurchaseSuite):
    provider_class = BirdProvider
    credentials: ClassVar[Mapping[str, str]] = {"access_key": KEY, "organization_id": ORG, "workspace_id": WORKSPACE}
    offer_to_buy = OFFER
    answers = (
        Answer(
            error(409, "NumberStockItemUnavailable", "number stock item stock-1 is no longer available"),
            NumberUnavailableError,
            FailureKind.GONE,
        ),
        Answer(error(404, "NotFound", "number stock item stock-1 not found"), NumberUnavailableError, FailureKind.GONE),
        Answer(error(404, "NotFound", "workspace not found"), ConfigurationError, FailureKind.PROVIDER_REFUSED),
        Answer(
            error(422, "NumberNotReserved", "number stock item must be reserved"),
            ReservationRequiredError,
            FailureKind.PROVIDER_REFUSED,
        ),
        Answer(
            error(400, "InvalidPayload", "Before buying the number, you must reserve it"),
            ReservationRequiredError,
            FailureKind.PROVIDER_REFUSED,
        ),
        Answer(
            error(409, "Conflict", "number is reserved by another customer"), NumberUnavailableError, FailureKind.GONE
        ),
        Answer(
            error(422, "InvalidPayload", "additional properties are not allowed"),
            BadRequestError,
            FailureKind.PROVIDER_REFUSED,
        ),
        Answer(
            error(503, "ServiceUnavailable", "service unavailable"), ProviderUnavailableError, FailureKind.AMBIGUOUS
        ),
        Answer(
            lambda r: httpx.Response(201, json=[{"id": "x", "numberString": "+19283760000"}]),
            ProviderResponseError,
            FailureKind.AMBIGUOUS,
        ),
    )

    @pytest.mark.anyio
    async def test_purchase_posts_the_stock_item_id_to_the_workspace(self) -> None:
        """POST /workspaces/{id}/numbers-long-code with exactly {"numberStockItemIds": [id]} and AccessKey auth."""
        bought = [{"id": "lcn-7", "numberString": "+19283764510", "endpointId": "ep-1", "type": "local"}]

        receipt, requests = await self.buy(lambda r: httpx.Response(201, json=bought))

        (request,) = requests
        assert ("POST", PATH) == (request.method, request.url.path)
        assert {"numberStockItemIds": ["stock-1"]} == json.loads(request.content)
        assert f"AccessKey {KEY}" == request.headers["authorization"]
        assert isinstance(receipt, PurchaseReceipt)
        assert ("lcn-7", {"endpointId": "ep-1", "type": "local"}) == (receipt.vendor_id, receipt.details)

    @pytest.mark.anyio
    async def test_a_single_object_answer_is_accepted_too(self) -> None:
        """The docs do not say whether one number comes back as an object or a list: both are read."""
        receipt, _ = await self.buy(lambda r: httpx.Response(200, json={"id": "lcn-8", "numberString": "19283764510"}))

        assert isinstance(receipt, PurchaseReceipt)
        assert "lcn-8" == receipt.vendor_id

    @pytest.mark.anyio
    async def test_a_reservation_refusal_says_what_is_missing(self) -> None:
        """The reservation gap is explained in the error: Bird wants a reservation and documents no way to make one."""
        raised, _ = await self.buy(error(422, "NumberNotReserved", "number stock item must be reserved"))

        assert isinstance(raised, ReservationRequiredError)
        assert 422 == raised.status_code
        assert "documents no way" in str(raised)

    @pytest.mark.anyio
    async def test_no_workspace_id_refuses_to_buy_before_sending(self) -> None:
        """Buying needs BIRD_WORKSPACE_ID; without it nothing is sent and the error names the variable."""
        raised, requests = await self.buy(lambda r: httpx.Response(201, json=[]), workspace_id=None)

        assert isinstance(raised, MissingCredentialsError)
        assert "BIRD_WORKSPACE_ID" in str(raised)
        assert [] == requests

    @pytest.mark.anyio
    async def test_owned_list_follows_the_token_chain(self) -> None:
        """GET the workspace's numbers page by page until the token runs out; '+' is optional."""
        pages = {
            None: {"results": [{"id": "n1", "number": "+12125550001", "country": "US"}], "nextPageToken": "t1"},
            "t1": {"results": [{"id": "n2", "number": "19283764510", "country": "US"}], "nextPageToken": ""},
        }
        requests: list[httpx.Request] = []
        async with self.provider(
            lambda r: httpx.Response(200, json=pages[r.url.params.get("pageToken")]), requests
        ) as bird:
            found = await bird.owns(OFFER.e164)
            absent = await bird.owns("+442079460000")

        assert (True, False) == (found, absent)
        assert all(("GET", OWNED, "99") == (r.method, r.url.path, r.url.params["limit"]) for r in requests)
        assert [None, "t1", None, "t1"] == [r.url.params.get("pageToken") for r in requests]

    @pytest.mark.anyio
    async def test_a_repeated_owned_page_token_cannot_prove_absence(self) -> None:
        """A token served twice would loop: the walk stops with an error instead of answering 'not owned'."""
        requests: list[httpx.Request] = []
        body = {"results": [{"id": "n1", "number": "+12125550001", "country": "US"}], "nextPageToken": "again"}
        async with self.provider(lambda r: httpx.Response(200, json=body), requests) as bird:
            with pytest.raises(ProviderResponseError, match="repeated"):
                await bird.owns(OFFER.e164)
