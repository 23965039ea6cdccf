"""IdentityCall purchases and the owned list, offline: body fields, requirement groups, 201/403/422 mappings."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import httpx
import pytest

from numbroker import (
    BadRequestError,
    ConfigurationError,
    NumberType,
    NumberUnavailableError,
    OtherNumberSoldError,
    PermissionDeniedError,
    ProviderResponseError,
    PurchaseReceipt,
)
from numbroker.buying import FailureKind
from numbroker.testing import offer
from numbroker.testing.purchase import Answer, PurchaseSuite
from numbroker_providers.identitycall import IdentityCallProvider

KEY = "idc_" + "C4n4ry" * 5 + "ab"
BASE = "/api/v1/public"
TOLL_FREE = offer("+18005550199", provider="identitycall", number_type=NumberType.TOLL_FREE)

Handler = Callable[[httpx.Request], httpx.Response]


CREATED = httpx.Response(201, json={"data": {"id": 1001, "phone_number": "+18005550199", "active": True}})


class TestIdentityCallPurchase(PurchaseSuite):
    provider_class = IdentityCallProvider
    credentials: ClassVar[Mapping[str, str]] = {"api_key": KEY}
    offer_to_buy = TOLL_FREE
    answers = (
        Answer(
            httpx.Response(403, json={"error": "Write permission required"}),
            PermissionDeniedError,
            FailureKind.PROVIDER_REFUSED,
        ),
        Answer(
            httpx.Response(422, json={"errors": ["phone_number is not available"]}),
            NumberUnavailableError,
            FailureKind.GONE,
        ),
        Answer(
            httpx.Response(422, json={"errors": ["Requirement group is required to purchase numbers in DE"]}),
            BadRequestError,
            FailureKind.PROVIDER_REFUSED,
        ),
        Answer(httpx.Response(201, json={"ok": True}), ProviderResponseError, FailureKind.AMBIGUOUS),
        Answer(
            httpx.Response(201, json={"data": {"id": 5, "phone_number": "+18005550100"}}),
            OtherNumberSoldError,  # the vendor says it sold another number: buy-cheapest records and counts it
            FailureKind.AMBIGUOUS,
        ),
    )

    @pytest.mark.anyio
    async def test_purchase_sends_number_country_and_vendor_type(self) -> None:
        """POST /virtual_numbers/purchase: phone_number, country_code and number_type 'toll-free'; 201 gives the id."""
        receipt, requests = await self.buy(lambda r: CREATED)

        (request,) = requests
        assert ("POST", f"{BASE}/virtual_numbers/purchase") == (request.method, request.url.path)
        assert {"phone_number": "+18005550199", "country_code": "US", "number_type": "toll-free"} == json.loads(
            request.content
        )
        assert f"Bearer {KEY}" == request.headers["authorization"]
        assert isinstance(receipt, PurchaseReceipt)
        assert ("1001", {"active": True}) == (receipt.vendor_id, receipt.details)

    @pytest.mark.anyio
    @pytest.mark.parametrize(
        ("options", "env", "expected"),
        [({"requirement_group_id": 42}, {}, 42), ({}, {"IDENTITYCALL_REQUIREMENT_GROUP_ID": "7"}, 7)],
    )
    async def test_a_configured_requirement_group_goes_with_every_purchase(
        self, options: dict[str, Any], env: dict[str, str], expected: int
    ) -> None:
        """requirement_group_id (keyword or IDENTITYCALL_REQUIREMENT_GROUP_ID) is sent as an integer."""
        _, requests = await self.buy(lambda r: CREATED, env=env, **options)

        assert expected == json.loads(requests[0].content)["requirement_group_id"]

    def test_a_requirement_group_that_is_not_an_integer_is_a_configuration_error(self) -> None:
        """The vendor wants an integer id; anything else fails at construction, naming the variable."""
        with pytest.raises(ConfigurationError, match="IDENTITYCALL_REQUIREMENT_GROUP_ID"):
            IdentityCallProvider(api_key=KEY, env={"IDENTITYCALL_REQUIREMENT_GROUP_ID": "group-1"})

    @pytest.mark.anyio
    async def test_owned_list_is_paged_with_meta(self) -> None:
        """GET /virtual_numbers by page/per_page=100 until a short page; the number is matched in E.164."""

        def respond(request: httpx.Request) -> httpx.Response:
            page = int(request.url.params["page"])
            numbers = (
                [{"id": i, "phone_number": f"+1212555{i:04d}"} for i in range(100)]
                if page == 1
                else [{"id": 100, "phone_number": "+18005550199"}]
            )
            meta = {"current_page": page, "total_pages": 2, "total_count": 101, "per_page": 100}
            return httpx.Response(200, json={"data": numbers, "meta": meta})

        requests: list[httpx.Request] = []
        async with self.provider(respond, requests) as identitycall:
            found = await identitycall.owns("+18005550199")

        assert found is True
        assert [("1", "100"), ("2", "100")] == sorted(
            (r.url.params["page"], r.url.params["per_page"]) for r in requests
        )
        assert all(f"{BASE}/virtual_numbers" == r.url.path for r in requests)

    @pytest.mark.anyio
    async def test_an_owned_page_out_of_order_cannot_prove_absence(self) -> None:
        """A vendor that ignores the page parameter is caught instead of being read as 'not owned'."""
        body = {
            "data": [{"id": 1, "phone_number": "+12125550001"}] * 100,
            "meta": {"current_page": 1, "total_count": 300},
        }
        requests: list[httpx.Request] = []
        async with self.provider(lambda r: httpx.Response(200, json=body), requests) as identitycall:
            with pytest.raises(ProviderResponseError, match=r"asked for page [23], got page 1"):
                await identitycall.owns("+18005550199")
