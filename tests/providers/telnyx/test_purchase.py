"""Telnyx purchases: asynchronous number orders, their failure classes, ownership, and buy-cheapest end to end."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, ClassVar

import httpx
import pytest

from numbroker import (
    AttemptOutcome,
    AuthenticationError,
    BadRequestError,
    BuyStatus,
    Money,
    NumberType,
    NumberUnavailableError,
    ProviderResponseError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    PurchaseReceipt,
    RetryPolicy,
    SearchQuery,
)
from numbroker.buying import FailureKind, classify_purchase_error
from numbroker.sandbox import Faults, Sandbox, in_process_providers
from numbroker.testing import offer
from numbroker.testing.purchase import Answer, PurchaseSuite
from numbroker_providers.telnyx import TelnyxProvider
from numbroker_providers.telnyx.sandbox import create_app

KEY = "KEY" + "C4N4RY0123456789" * 2 + "_" + "canaryTelnyxPurchase01"
FAST = RetryPolicy(attempts=3, initial=0.001, max_delay=0.002, jitter=0.0)
NUMBER = offer("+13125550123", provider="telnyx", number_type=NumberType.LOCAL)
ORDER_ID = "12ade33a-21c0-473b-b055-b3c836e1c292"

Handler = Callable[[httpx.Request], httpx.Response]


def order(status: str, number_status: str | None = None, number: str = "+13125550123") -> dict[str, Any]:
    """A number order as ``GET /number_orders/{id}`` writes it (the API reference's example, trimmed)."""
    return {
        "data": {
            "id": ORDER_ID,
            "record_type": "number_order",
            "phone_numbers_count": 1,
            "phone_numbers": [
                {
                    "id": "dc8e4d67-33a0-4cbb-af74-7b58f05bd494",
                    "record_type": "number_order_phone_number",
                    "phone_number": number,
                    "requirements_met": True,
                    "status": number_status or status,
                }
            ],
            "status": status,
            "customer_reference": None,
            "created_at": "2018-01-01T00:00:00.000000Z",
            "updated_at": "2018-01-01T00:00:00.000000Z",
            "requirements_met": True,
        }
    }


class Script:
    """Answers the order POST with ``placed`` and each order read with the next of ``reads`` (the last repeats)."""

    def __init__(self, placed: httpx.Response, *reads: httpx.Response) -> None:
        self.placed = placed
        self.reads = list(reads)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "POST":
            return self.placed
        return self.reads.pop(0) if len(self.reads) > 1 else self.reads[0]


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def placed(answer: httpx.Response) -> Handler:
    """The order answered ``answer``; were it read, it would be a success."""
    return lambda request: answer if request.method == "POST" else httpx.Response(200, json=order("success"))


def refusal(status: int, detail: str, code: str = "10015") -> httpx.Response:
    return httpx.Response(status, json={"errors": [{"code": code, "title": "Bad Request", "detail": detail}]})


def owned_page(entries: list[tuple[str, str]], page: int, size: int, total: int) -> httpx.Response:
    data = [
        {"id": str(i), "record_type": "phone_number", "phone_number": n, "status": s}
        for i, (n, s) in enumerate(entries)
    ]
    meta = {"total_pages": -(-total // size), "total_results": total, "page_number": page, "page_size": size}
    return httpx.Response(200, json={"data": data, "meta": meta})


US_LOCAL = SearchQuery(country="US", number_type=NumberType.LOCAL)


class TestTelnyxPurchase(PurchaseSuite):
    provider_class = TelnyxProvider
    credentials: ClassVar[Mapping[str, str]] = {"api_key": KEY}
    options: ClassVar[Mapping[str, Any]] = {"base_url": "https://api.telnyx.com/v2", "order_poll_interval": 0.0}
    offer_to_buy = NUMBER
    buy_terms: ClassVar[Mapping[str, Any]] = {"max_monthly": usd("5"), "max_first_bill": usd("10")}
    answers = (  # the order's own answer; were it placed, it would be read as a success
        Answer(placed(refusal(422, "Number +13125550123 is not available: only numbers returned by a recent search "
               "can be ordered.")), NumberUnavailableError, FailureKind.GONE),
        Answer(placed(refusal(422, "Number +13125550123 is no longer available.")), NumberUnavailableError,
               FailureKind.GONE),
        Answer(placed(refusal(422, "A requirement group is required for numbers in DE")), BadRequestError,
               FailureKind.PROVIDER_REFUSED, "10015 Bad Request"),
        Answer(placed(refusal(401, "The required authentication headers were invalid", "10009")), AuthenticationError,
               FailureKind.PROVIDER_REFUSED),
        Answer(placed(httpx.Response(502, text="<html>502</html>")), ProviderUnavailableError, FailureKind.AMBIGUOUS),
        Answer(placed(httpx.Response(200, json={"data": "oops"})), ProviderResponseError, FailureKind.AMBIGUOUS),
        Answer(placed(httpx.Response(200, json=order("pending") | {"data": {"status": "pending"}})),
               ProviderResponseError, FailureKind.AMBIGUOUS),
    )  # fmt: skip

    async def run_buy(self, sandbox: Sandbox, query: SearchQuery, **terms: Any) -> Any:
        """buy-cheapest over the sandbox, in-process (its owned list never lags: "not owned" is final at once)."""
        providers = in_process_providers(
            {"telnyx": sandbox}, retry=FAST, order_poll_interval=0.0, order_timeout=terms.pop("order_timeout", 5.0)
        )
        return await self.buy_cheapest(providers, query, **terms)

    @pytest.mark.anyio
    async def test_an_order_is_placed_once_and_followed_until_it_succeeds(self) -> None:
        """POST /number_orders {phone_numbers: [{phone_number}]}, then GET /number_orders/{id} until success."""
        script = Script(
            httpx.Response(200, json=order("pending")),
            httpx.Response(200, json=order("pending")),
            httpx.Response(200, json=order("success")),
        )
        receipt, _ = await self.buy(script)

        post, *reads = script.requests
        assert ("POST", "/v2/number_orders") == (post.method, post.url.path)
        assert {"phone_numbers": [{"phone_number": "+13125550123"}]} == json.loads(post.content)
        assert f"Bearer {KEY}" == post.headers["authorization"]
        assert [("GET", f"/v2/number_orders/{ORDER_ID}")] * 2 == [(r.method, r.url.path) for r in reads]
        assert isinstance(receipt, PurchaseReceipt)
        assert ("+13125550123", None) == (receipt.e164, receipt.vendor_id)
        assert {"number_order_id": ORDER_ID, "status": "success", "requirements_met": True} == {
            k: receipt.details[k] for k in ("number_order_id", "status", "requirements_met")
        }

    @pytest.mark.anyio
    async def test_a_settled_answer_is_not_followed_and_the_requirement_group_goes_with_the_number(self) -> None:
        """An order that answers success at once needs no read; TELNYX_REQUIREMENT_GROUP_ID rides on the number."""
        script = Script(httpx.Response(200, json=order("success")))
        receipt, _ = await self.buy(script, env={"TELNYX_REQUIREMENT_GROUP_ID": "rg-7"})

        (post,) = script.requests
        assert {"phone_numbers": [{"phone_number": "+13125550123", "requirement_group_id": "rg-7"}]} == json.loads(
            post.content
        )
        assert isinstance(receipt, PurchaseReceipt)

    @pytest.mark.anyio
    async def test_an_order_still_pending_at_the_deadline_is_ambiguous(self) -> None:
        """Pending until order_timeout: a ProviderTimeoutError (maybe bought), never a retry of the order."""
        script = Script(httpx.Response(200, json=order("pending")), httpx.Response(200, json=order("pending")))
        raised, _ = await self.buy(script, order_timeout=0.05, order_poll_interval=0.01)

        assert isinstance(raised, ProviderTimeoutError)
        assert FailureKind.AMBIGUOUS == classify_purchase_error(raised)
        assert "still pending" in str(raised) and ORDER_ID in str(raised)
        assert 1 == sum(r.method == "POST" for r in script.requests)
        assert len(script.requests) >= 2

    @pytest.mark.anyio
    @pytest.mark.parametrize(
        ("read", "error", "kind"),
        [
            (httpx.Response(200, json=order("failure")), NumberUnavailableError, FailureKind.GONE),
            (httpx.Response(200, json=order("success", "failure")), NumberUnavailableError, FailureKind.GONE),
            (httpx.Response(404, json={"errors": [{"code": "10005"}]}), ProviderResponseError, FailureKind.AMBIGUOUS),
            (httpx.Response(401, json={"errors": [{"code": "10009"}]}), ProviderResponseError, FailureKind.AMBIGUOUS),
            (httpx.Response(503, text="down"), ProviderResponseError, FailureKind.AMBIGUOUS),
            (httpx.Response(200, text="<html>"), ProviderResponseError, FailureKind.AMBIGUOUS),
            (httpx.Response(200, json=order("success", number="+13125550999")), ProviderResponseError,
             FailureKind.AMBIGUOUS),
            (httpx.Response(200, json=order("weird")), ProviderResponseError, FailureKind.AMBIGUOUS),
        ],
    )  # fmt: skip
    async def test_what_a_followed_order_ends_in(
        self, read: httpx.Response, error: type[Exception], kind: FailureKind
    ) -> None:
        """A failure is gone (nothing bought); a read that fails after the order was placed is ambiguous, even a 404."""
        script = Script(httpx.Response(200, json=order("pending")), read)
        raised, _ = await self.buy(script)

        assert error is type(raised)
        assert kind == classify_purchase_error(raised)
        assert 1 == sum(r.method == "POST" for r in script.requests)
        assert KEY not in str(raised)

    @pytest.mark.anyio
    @pytest.mark.parametrize(
        ("status", "owned"),
        [("active", True), ("purchase-pending", True), ("purchase-failed", False), ("deleted", False)],
    )
    async def test_ownership_reads_the_filtered_list_and_its_statuses(self, status: str, owned: bool) -> None:
        """GET /phone_numbers?filter[phone_number]=<digits>; a failed or deleted entry is not the account's."""
        seen: list[httpx.Request] = []

        def respond(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return owned_page([("+13125550123", status)], 1, 250, 1)

        async with self.provider(respond, []) as telnyx:
            assert owned is await telnyx.owns("+1 312 555 0123")

        (request,) = seen
        assert "/v2/phone_numbers" == request.url.path
        assert b"filter%5Bphone_number%5D=13125550123&page%5Bnumber%5D=1&page%5Bsize%5D=250" == request.url.query

    @pytest.mark.anyio
    async def test_ownership_walks_every_page_and_refuses_a_partial_list(self) -> None:
        """Full pages are followed to a short one; a page other than the one asked for cannot prove absence."""
        filler = [(f"+1312555{i:04d}", "active") for i in range(250)]

        def paged(request: httpx.Request) -> httpx.Response:
            page = int(request.url.params["page[number]"])
            return owned_page(filler if page == 1 else [("+13125559999", "active")], page, 250, 251)

        async with self.provider(paged, []) as telnyx:
            assert await telnyx.owns("+13125559999")
        stuck = self.provider(lambda r: owned_page(filler, 1, 250, 500), [])
        async with stuck as telnyx:
            with pytest.raises(ProviderResponseError, match="asked for page 2"):
                await telnyx.owns("+13125559999")

    @pytest.mark.anyio
    async def test_buy_cheapest_follows_pending_orders_to_the_cheapest_numbers(self) -> None:
        """Two numbers bought through pending orders, cheapest first, each listed active afterwards."""
        sandbox = create_app(seed=2, order_polls=2)
        result = await self.run_buy(sandbox, US_LOCAL, quantity=2)

        assert BuyStatus.COMPLETE == result.status
        bought = [a.e164 for a in result.bought]
        assert 2 == len(bought) and set(bought) == set(sandbox.owned)
        cheapest = sorted(
            (r for r in sandbox.records if r.expected_valid and r.country == "US" and r.number_type == "local"),
            key=lambda r: ((r.upfront or 0) + (r.monthly or 0), r.monthly, r.e164),
        )
        assert [r.e164 for r in cheapest[:2]] == bought
        orders = [e for e in sandbox.log if e.endpoint == "order"]
        assert 4 == len(orders)  # two reads per order: pending, then success
        assert all(a.receipt is not None and a.receipt.details["status"] == "success" for a in result.bought)

    @pytest.mark.anyio
    async def test_a_failed_order_moves_on_to_the_next_candidate(self) -> None:
        """The cheapest number's order fails: nothing bought there; the next cheapest is bought."""
        probe = create_app(seed=2)
        first = min(
            (r for r in probe.records if r.expected_valid and r.country == "US" and r.number_type == "local"),
            key=lambda r: ((r.upfront or 0) + (r.monthly or 0), r.monthly, r.e164),
        )
        sandbox = create_app(seed=2, failing_numbers=[first.e164])
        result = await self.run_buy(sandbox, US_LOCAL)

        assert [AttemptOutcome.GONE, AttemptOutcome.BOUGHT] == [a.outcome for a in result.attempts]
        assert first.e164 == result.attempts[0].e164 and first.e164 not in sandbox.owned
        assert [result.attempts[1].e164] == list(sandbox.owned)

    @pytest.mark.anyio
    async def test_an_order_pending_past_the_deadline_is_confirmed_owned(self) -> None:
        """Still pending at the deadline: ambiguous; the owned list shows purchase-pending, so it counts as bought."""
        sandbox = create_app(seed=2, order_polls=None)
        result = await self.run_buy(sandbox, US_LOCAL, order_timeout=0.02)

        (attempt,) = result.attempts
        assert AttemptOutcome.CONFIRMED_OWNED == attempt.outcome
        assert "still pending" in (attempt.reason or "")
        assert BuyStatus.COMPLETE == result.status
        assert 1 == len(sandbox.purchases) and 1 == sum(e.method == "POST" for e in sandbox.log)
        owned = [e for e in sandbox.log if e.endpoint == "owned"]
        assert owned and all(("filter[phone_number]", attempt.e164[1:]) in e.query for e in owned)

    @pytest.mark.anyio
    async def test_ambiguous_answers_race_and_after_commit_are_classified(self) -> None:
        """A lost race is gone (next candidate); a 502 after the commit is confirmed owned, never ordered twice."""
        raced = create_app(seed=2, faults=Faults(rate_race=1.0, seed=1))
        lost = await self.run_buy(raced, US_LOCAL)
        assert {AttemptOutcome.GONE} == {a.outcome for a in lost.attempts}
        assert not raced.owned

        dropped = create_app(seed=2, faults=Faults(rate_ambiguous_after_commit=1.0, seed=1))
        kept = await self.run_buy(dropped, US_LOCAL)
        assert [AttemptOutcome.CONFIRMED_OWNED] == [a.outcome for a in kept.attempts]
        assert 1 == len(dropped.purchases) == len(dropped.owned)

        nothing = create_app(seed=2, faults=Faults(rate_ambiguous_before_commit=1.0, seed=1))
        missed = await self.run_buy(nothing, US_LOCAL)
        assert AttemptOutcome.NOT_BOUGHT == missed.attempts[0].outcome
        assert not nothing.owned
