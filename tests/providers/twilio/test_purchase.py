"""Twilio purchases and ownership: the form-encoded POST, Twilio's error codes, the owned list, buy-cheapest."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any, ClassVar

import httpx
import pytest

from numbroker import (
    AttemptOutcome,
    BadRequestError,
    BuyStatus,
    Money,
    NumberType,
    NumberUnavailableError,
    ProviderResponseError,
    ProviderUnavailableError,
    PurchaseReceipt,
    RateLimitedError,
    RetryPolicy,
    SearchQuery,
)
from numbroker.buying import FailureKind
from numbroker.sandbox import Faults, LoopbackServer, Sandbox
from numbroker.testing import offer
from numbroker.testing.purchase import Answer, PurchaseSuite
from numbroker_providers.twilio import TwilioProvider
from numbroker_providers.twilio.sandbox import create_app

SID = "AC" + "b0b0" * 8  # canary credentials
TOKEN = "5ec7" * 8
INCOMING = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/IncomingPhoneNumbers.json"
FAST = RetryPolicy(attempts=3, initial=0.001, max_delay=0.002, jitter=0.0)
NY = offer("+12125550143", provider="twilio", number_type=NumberType.LOCAL)

Handler = Callable[[httpx.Request], httpx.Response]


def twilio_error(status: int, code: int, message: str) -> httpx.Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return httpx.Response(status, json=body)


CREATED = httpx.Response(
    201,
    json={"sid": "PN" + "0a" * 16, "phone_number": "+12125550143", "status": "in-use", "type": "local", "beta": False},
    headers={"Twilio-Request-Id": "RQ" + "1" * 32},
)


def owned_page(numbers: list[str], next_page_uri: str | None) -> httpx.Response:
    items = [{"sid": f"PN{i:032x}", "phone_number": n} for i, n in enumerate(numbers)]
    return httpx.Response(200, json={"incoming_phone_numbers": items, "next_page_uri": next_page_uri, "page_size": 2})


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


@pytest.fixture
def served() -> Iterator[tuple[Sandbox, str]]:
    sandbox = create_app(seed=5, address_required_countries=["DE"])
    with LoopbackServer(sandbox.app) as server:
        yield sandbox, server.base_url + sandbox.base_path


class TestTwilioPurchase(PurchaseSuite):
    provider_class = TwilioProvider
    credentials: ClassVar[Mapping[str, str]] = {"account_sid": SID, "auth_token": TOKEN}
    options: ClassVar[Mapping[str, Any]] = {"env": {}}
    offer_to_buy = NY
    buy_terms: ClassVar[Mapping[str, Any]] = {"max_monthly": usd("3"), "max_first_bill": usd("3")}
    answers = (
        Answer(
            twilio_error(400, 21422, "PhoneNumber requested is not available"),
            NumberUnavailableError,
            FailureKind.GONE,
            "no longer available",
        ),
        Answer(
            twilio_error(400, 21421, "PhoneNumber is invalid"), BadRequestError, FailureKind.PROVIDER_REFUSED, "invalid"
        ),
        Answer(
            twilio_error(400, 21631, "Phone Number Requires an Address"),
            BadRequestError,
            FailureKind.PROVIDER_REFUSED,
            "Address or a regulatory Bundle",
        ),
        Answer(
            twilio_error(400, 21613, "PhoneNumber Requires a Local Address"),
            BadRequestError,
            FailureKind.PROVIDER_REFUSED,
            "Address or a regulatory Bundle",
        ),
        Answer(
            twilio_error(400, 21649, "Phone Number Requires a Bundle"),
            BadRequestError,
            FailureKind.PROVIDER_REFUSED,
            "Address or a regulatory Bundle",
        ),
        Answer(twilio_error(429, 20429, "Too Many Requests"), RateLimitedError, FailureKind.AMBIGUOUS, "20429"),
        Answer(
            twilio_error(500, 20500, "Internal Server Error"), ProviderUnavailableError, FailureKind.AMBIGUOUS, "500"
        ),
        Answer(
            httpx.Response(201, json={"sid": "PN1", "phone_number": "+12125550100"}),
            ProviderResponseError,
            FailureKind.AMBIGUOUS,
            "another number",
        ),
        Answer(httpx.Response(201, content=b"<html>"), ProviderResponseError, FailureKind.AMBIGUOUS, "JSON"),
    )

    async def buy_cheapest_at(self, sandbox: Sandbox, base_url: str, query: SearchQuery, **terms: Any) -> Any:
        adapter = TwilioProvider(base_url=base_url, env=sandbox.env, retry=FAST)
        return await self.buy_cheapest([adapter], query, **terms)

    @pytest.mark.anyio
    async def test_the_purchase_is_one_form_encoded_post_of_the_number(self) -> None:
        """POST IncomingPhoneNumbers.json, exactly ``PhoneNumber=%2B1...`` form-encoded, Basic auth; a 201: receipt."""
        receipt, requests = await self.buy(lambda r: CREATED)

        (request,) = requests
        assert ("POST", INCOMING) == (request.method, str(request.url))
        assert "application/x-www-form-urlencoded" == request.headers["content-type"]
        assert b"PhoneNumber=%2B12125550143" == request.content
        assert str(len(request.content)) == request.headers["content-length"]
        assert "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode() == request.headers["authorization"]
        assert isinstance(receipt, PurchaseReceipt)
        assert ("PN" + "0a" * 16, "RQ" + "1" * 32) == (receipt.vendor_id, receipt.request_id)
        assert {"status": "in-use", "type": "local"} == receipt.details

    @pytest.mark.anyio
    async def test_ownership_asks_for_the_number_and_follows_next_pages_by_their_query_only(self) -> None:
        """GET IncomingPhoneNumbers.json?PhoneNumber=...&PageSize=250, then each next_page_uri's query, same URL."""
        path = f"/2010-04-01/Accounts/{SID}/IncomingPhoneNumbers.json"
        pages = {
            None: owned_page(
                ["+12125550100", "+12125550101"], f"{path}?PhoneNumber=%2B12125550143&Page=1&PageToken=PA1"
            ),
            "PA1": owned_page(["+12125550143"], None),
        }
        requests: list[httpx.Request] = []
        async with self.provider(lambda r: pages[r.url.params.get("PageToken")], requests) as twilio:
            assert await twilio.owns("+1 212 555 0143")
            requests.clear()
            pages[None] = owned_page([], None)
            assert not await twilio.owns("+12125550199")

        assert [f"{INCOMING}?PhoneNumber=%2B12125550199&PageSize=250"] == [str(r.url) for r in requests]

    @pytest.mark.anyio
    async def test_the_first_of_two_pages_is_asked_exactly(self) -> None:
        """The first owned request is pinned byte for byte; the second is the next page's query on the account's URL."""
        path = f"/2010-04-01/Accounts/{SID}/IncomingPhoneNumbers.json"
        pages = {
            None: owned_page(["+12125550100"], f"{path}?PhoneNumber=%2B12125550143&PageSize=250&Page=1&PageToken=PA1"),
            "PA1": owned_page(["+12125550143"], None),
        }
        requests: list[httpx.Request] = []
        async with self.provider(lambda r: pages[r.url.params.get("PageToken")], requests) as twilio:
            assert await twilio.owns("+12125550143")

        assert [
            f"{INCOMING}?PhoneNumber=%2B12125550143&PageSize=250",
            f"{INCOMING}?PhoneNumber=%2B12125550143&PageSize=250&Page=1&PageToken=PA1",
        ] == [str(r.url) for r in requests]

    @pytest.mark.anyio
    @pytest.mark.parametrize(
        "next_page_uri",
        [
            "https://evil.example/2010-04-01/Accounts/x/IncomingPhoneNumbers.json?PageToken=PA1",
            "/2010-04-01/Other.json?p=1",
        ],
    )
    async def test_a_next_page_elsewhere_is_refused(self, next_page_uri: str) -> None:
        """Credentials never follow a next_page_uri to another host or another resource: ownership stays unknown."""
        requests: list[httpx.Request] = []
        async with self.provider(lambda r: owned_page(["+12125550100"], next_page_uri), requests) as twilio:
            with pytest.raises(ProviderResponseError, match="points elsewhere"):
                await twilio.owns("+12125550143")
        assert all("api.twilio.com" == r.url.host for r in requests)

    @pytest.mark.anyio
    async def test_buy_cheapest_buys_through_twilio_and_the_number_is_then_owned(
        self, served: tuple[Sandbox, str]
    ) -> None:
        """Two US numbers at the price list's 1.15 USD: bought by form POST, listed as owned, gone from the search."""
        sandbox, base_url = served
        result = await self.buy_cheapest_at(
            sandbox, base_url, SearchQuery(country="US", number_type=NumberType.LOCAL), quantity=2
        )

        assert BuyStatus.COMPLETE == result.status
        bought = [a.e164 for a in result.bought]
        assert sorted(bought) == sorted(p.e164 for p in sandbox.purchases)
        assert all(p.monthly == Decimal("1.1500") and p.currency == "USD" for p in sandbox.purchases)
        async with TwilioProvider(base_url=base_url, env=sandbox.env) as adapter:
            assert all([await adapter.owns(n) for n in bought])
            assert not await adapter.owns("+12125550000")
            again = await adapter.search(SearchQuery(country="US", number_type=NumberType.LOCAL, prefix=bought[0][2:5]))
        assert not set(bought) & {o.e164 for o in again.offers}

    @pytest.mark.anyio
    async def test_a_lost_race_is_gone_and_an_ambiguous_answer_is_confirmed(self, served: tuple[Sandbox, str]) -> None:
        """21422 after a race moves on to the next number; a commit whose answer was lost is found in the owned list."""
        sandbox, base_url = served
        sandbox.faults = Faults(rate_race=1.0)
        raced = await self.buy_cheapest_at(sandbox, base_url, SearchQuery(country="CA", number_type=NumberType.LOCAL))
        assert raced.attempts and {AttemptOutcome.GONE} == {a.outcome for a in raced.attempts}
        assert [] == sandbox.purchases and BuyStatus.NONE == raced.status

        sandbox.faults = Faults(rate_ambiguous_after_commit=1.0, seed=4)
        lost = await self.buy_cheapest_at(sandbox, base_url, SearchQuery(country="GB", number_type=NumberType.LOCAL))
        assert [AttemptOutcome.CONFIRMED_OWNED] == [a.outcome for a in lost.attempts]
        assert [lost.attempts[0].e164] == [p.e164 for p in sandbox.purchases]

    @pytest.mark.anyio
    async def test_an_address_demand_is_a_refusal_with_its_reason(self, served: tuple[Sandbox, str]) -> None:
        """DE wants an Address: 21631 refuses; nothing is bought and Twilio is not asked again in the run."""
        sandbox, base_url = served
        result = await self.buy_cheapest_at(
            sandbox, base_url, SearchQuery(country="DE", number_type=NumberType.LOCAL), quantity=2
        )

        assert [AttemptOutcome.REFUSED] == [a.outcome for a in result.attempts]
        assert "21631" in (result.attempts[0].reason or "") and "Address" in (result.attempts[0].reason or "")
        assert "twilio" in result.dropped_providers
        assert [] == sandbox.purchases
