"""Plivo purchases and ownership: the exact requests, pending numbers, another number assigned, every answer's
meaning, and buy-cheapest through the sandbox (ledger, classifier, ownership checks)."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from numbroker import (
    AttemptOutcome,
    AuthenticationError,
    BadRequestError,
    BuyResult,
    BuyStatus,
    ConfigurationError,
    Money,
    NumberUnavailableError,
    PlanDecision,
    ProviderResponseError,
    ProviderUnavailableError,
    PurchaseReceipt,
    RetryPolicy,
    SearchQuery,
)
from numbroker.buying import FailureKind, classify_purchase_error
from numbroker.sandbox import Faults, Sandbox, in_process_providers
from numbroker.testing import offer
from numbroker.testing.purchase import Answer, PurchaseSuite
from numbroker_providers.plivo import PlivoProvider
from numbroker_providers.plivo.sandbox import create_app

AUTH_ID = "MATESTPLIVO000000042"
TOKEN = "plivo-token-canary-5d2a"
BASIC = "Basic " + base64.b64encode(f"{AUTH_ID}:{TOKEN}".encode()).decode()
BUY = f"/v1/Account/{AUTH_ID}/PhoneNumber/14155552671/"
LOOKUP = f"/v1/Account/{AUTH_ID}/Number/14155552671/"
FAST = RetryPolicy(attempts=3, initial=0.001, max_delay=0.002, jitter=0.0)
OFFER = offer("+14155552671", provider="plivo", offer_id="+14155552671")

Handler = Callable[[httpx.Request], httpx.Response]


def fulfilled(*numbers: dict[str, Any], status: Any = "fulfilled") -> httpx.Response:
    body = {"api_id": "api-buy-1", "message": "created", "numbers": list(numbers), "status": status}
    return httpx.Response(201, json=body)


def error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"api_id": "api-err-1", "error": message})


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def cheapest(sandbox: Sandbox, country: str) -> list[str]:
    """Valid records of a country, cheapest first bill then monthly price first (ties by number)."""
    valid = [r for r in sandbox.records if r.expected_valid and r.country == country]
    ordered = sorted(valid, key=lambda r: ((r.upfront or 0) + (r.monthly or 0), r.monthly or 0, r.e164))
    return [r.e164 for r in ordered]


class TestPlivoPurchase(PurchaseSuite):
    provider_class = PlivoProvider
    credentials: ClassVar[Mapping[str, str]] = {"auth_id": AUTH_ID, "auth_token": TOKEN}
    offer_to_buy = OFFER
    buy_terms: ClassVar[Mapping[str, Any]] = {
        "max_monthly": usd("10"),
        "max_first_bill": usd("20"),
        "allow_assumed_currency": True,
    }
    answers = (
        Answer(error(404, "not found"), NumberUnavailableError, FailureKind.GONE),
        Answer(error(400, "This number is no longer available"), NumberUnavailableError, FailureKind.GONE),
        Answer(error(400, "invalid app_id"), BadRequestError, FailureKind.PROVIDER_REFUSED),
        Answer(error(401, "Authentication failed"), AuthenticationError, FailureKind.PROVIDER_REFUSED),
        Answer(error(500, "internal server error"), ProviderUnavailableError, FailureKind.AMBIGUOUS),
        Answer(
            httpx.Response(502, text="<html>502 Bad Gateway</html>"), ProviderUnavailableError, FailureKind.AMBIGUOUS
        ),
        Answer(httpx.Response(201, text="<html>ok</html>"), ProviderResponseError, FailureKind.AMBIGUOUS),
        Answer(httpx.Response(201, json=[]), ProviderResponseError, FailureKind.AMBIGUOUS),
        Answer(
            fulfilled({"number": "14155552671", "status": "Success"}, status="failed"),
            ProviderResponseError,
            FailureKind.AMBIGUOUS,
        ),
        Answer(fulfilled(status="fulfilled"), ProviderResponseError, FailureKind.AMBIGUOUS),
        Answer(
            fulfilled({"number": "1", "status": "Success"}, {"number": "2", "status": "Success"}),
            ProviderResponseError,
            FailureKind.AMBIGUOUS,
        ),
        Answer(fulfilled({"number": "14155552671", "status": "failed"}), ProviderResponseError, FailureKind.AMBIGUOUS),
        Answer(fulfilled({"number": "garbage", "status": "Success"}), ProviderResponseError, FailureKind.AMBIGUOUS),
    )

    async def run_buy(self, sandbox: Sandbox, query: SearchQuery, **terms: Any) -> BuyResult:
        """buy-cheapest over the sandbox, in-process (its owned list never lags: "not owned" is final at once)."""
        return await self.buy_cheapest(in_process_providers({"plivo": sandbox}, retry=FAST), query, **terms)

    @pytest.mark.anyio
    async def test_purchase_sends_the_documented_request_and_returns_a_receipt(self) -> None:
        """POST {base}/Account/{auth_id}/PhoneNumber/{digits}/ with a JSON body and Basic auth; Success is bought."""
        receipt, requests = await self.buy(lambda r: fulfilled({"number": "14155552671", "status": "Success"}))

        (request,) = requests
        assert ("POST", "api.plivo.com", BUY) == (request.method, request.url.host, request.url.path)
        assert {} == json.loads(request.content)
        assert ("application/json", BASIC) == (request.headers["content-type"], request.headers["authorization"])
        self.check_receipt(
            receipt,
            vendor_id="14155552671",
            request_id="api-buy-1",
            details={"status": "fulfilled", "number_status": "Success", "message": "created"},
        )

    @pytest.mark.anyio
    async def test_a_pending_number_under_a_fulfilled_order_is_ambiguous(self) -> None:
        """`fulfilled` with the number `pending` (verification) is not bought: ambiguous, so ownership is confirmed."""
        raised, requests = await self.buy(lambda r: fulfilled({"number": "14155552671", "status": "pending"}))

        assert isinstance(raised, ProviderResponseError)
        assert FailureKind.AMBIGUOUS == classify_purchase_error(raised)
        assert "+14155552671 is pending verification" in str(raised)
        assert 1 == len(requests)

    @pytest.mark.anyio
    async def test_another_number_assigned_is_reported(self, caplog: pytest.LogCaptureFixture) -> None:
        """The receipt names the number Plivo assigned; the one asked is kept; a warning is logged."""
        caplog.set_level(logging.WARNING, "numbroker.purchase")

        receipt, _ = await self.buy(lambda r: fulfilled({"number": "14155552699", "status": "Success"}))

        assert isinstance(receipt, PurchaseReceipt)
        assert ("+14155552699", "+14155552671", "+14155552671") == (
            receipt.e164,
            receipt.details["requested_e164"],
            receipt.offer_id,
        )
        assert "asked for +14155552671, Plivo assigned +14155552699" in caplog.text

    @pytest.mark.anyio
    async def test_another_number_assigned_but_pending_is_what_ownership_looks_for(self) -> None:
        """Pending and another number: ambiguous, the message names both, and `owns` finds the one assigned."""

        def respond(request: httpx.Request) -> httpx.Response:
            if request.method == "POST":
                return fulfilled({"number": "14155552699", "status": "pending"})
            if request.url.path.endswith("/14155552699/"):
                return httpx.Response(200, json={"number": "14155552699", "active": False})
            return error(404, "not found")

        requests: list[httpx.Request] = []
        async with self.provider(respond, requests) as plivo:
            with pytest.raises(ProviderResponseError) as raised:
                await plivo.purchase(OFFER)
            owned = await plivo.owns(OFFER.e164)
            other = await plivo.owns("+14155552673")

        assert "+14155552699 is pending verification (Plivo assigned +14155552699 instead of +14155552671)" in str(
            raised.value
        )
        assert (True, False) == (owned, other)
        assert [LOOKUP, LOOKUP.replace("2671", "2699")] == [r.url.path for r in requests[1:3]]

    @pytest.mark.anyio
    async def test_a_fallback_number_is_kept_in_the_receipt(self) -> None:
        """A high-availability fallback number (a second number on the bill) is reported in the receipt."""
        answer = fulfilled({"number": "14155552671", "status": "Success", "fallback_number": "14155552672"})

        receipt, _ = await self.buy(lambda r: answer)

        assert isinstance(receipt, PurchaseReceipt)
        assert "14155552672" == receipt.details["fallback_number"]

    @pytest.mark.anyio
    async def test_an_echoed_basic_header_is_redacted(self) -> None:
        """A refusal echoing the Authorization header keeps neither the token nor its Basic encoding."""
        raised, _ = await self.buy(lambda r: error(400, f"bad request with {r.headers['authorization']}"))

        assert isinstance(raised, BadRequestError)
        for shown in (str(raised), raised.body):
            assert BASIC.split()[1] not in shown and TOKEN not in shown
        assert "Basic ***" in str(raised)

    @pytest.mark.anyio
    async def test_ownership_is_one_lookup_of_the_number(self) -> None:
        """GET {base}/Account/{auth_id}/Number/{digits}/: 200 is owned (even inactive), a Plivo 404 is not."""
        found, requests = await self.owns(
            lambda r: httpx.Response(200, json={"number": "14155552671", "active": False})
        )
        absent, _ = await self.owns(lambda r: error(404, "not found"))

        assert (True, False) == (found, absent)
        (request,) = requests
        assert ("GET", LOOKUP, BASIC) == (request.method, request.url.path, request.headers["authorization"])

    @pytest.mark.anyio
    @pytest.mark.parametrize(
        ("handler", "message"),
        [
            (lambda r: httpx.Response(404, text="<html>Not Found</html>"), "without Plivo's error envelope"),
            (lambda r: httpx.Response(200, json={"number": "14155550000"}), "about '14155550000'"),
            (lambda r: httpx.Response(200, json={"objects": []}), "about None"),
            (lambda r: httpx.Response(200, text="<html>"), "not valid JSON"),
        ],
    )
    async def test_an_answer_that_cannot_prove_absence_raises(self, handler: Handler, message: str) -> None:
        """A 404 from something that is not Plivo, or an answer about another number: ownership is unknown."""
        raised, requests = await self.owns(handler)

        assert isinstance(raised, ProviderResponseError)
        assert message in str(raised)
        assert FAST.attempts == len(requests)  # read again before giving up

    @pytest.mark.anyio
    async def test_ownership_reads_are_retried_and_the_number_checked(self) -> None:
        """A 503 is retried like any GET; a number that is not a phone number is a ConfigurationError."""
        answers = iter([httpx.Response(503), httpx.Response(200, json={"number": "14155552671"})])

        found, requests = await self.owns(lambda r: next(answers))
        bad, sent = await self.owns(lambda r: httpx.Response(200), "not-a-number")

        assert (True, 2) == (found, len(requests))
        assert isinstance(bad, ConfigurationError) and [] == sent

    @pytest.mark.anyio
    async def test_the_owned_list_is_walked_by_offset(self) -> None:
        """The owned list: GET Number/ with limit=20 and offset 0, 20, ... until a short page."""
        numbers = [f"1415200{i:04d}" for i in range(25)]
        requests: list[httpx.Request] = []

        def respond(request: httpx.Request) -> httpx.Response:
            offset = int(request.url.params["offset"])
            meta = {"limit": 20, "offset": offset, "total_count": len(numbers)}
            objects = [{"number": n} for n in numbers[offset : offset + 20]]
            return httpx.Response(200, json={"api_id": "x", "meta": meta, "objects": objects})

        async with self.provider(respond, requests) as plivo:
            owned, rejected, _ = await plivo.list_owned()

        assert (["+" + n for n in numbers], []) == (sorted(n.e164 for n in owned), rejected)
        assert [b"limit=20&offset=0", b"limit=20&offset=20"] == sorted(r.url.query for r in requests)
        assert {f"/v1/Account/{AUTH_ID}/Number/"} == {r.url.path for r in requests}

    @pytest.mark.anyio
    async def test_buy_cheapest_buys_the_cheapest_number_and_logs_it(self, tmp_path: Path) -> None:
        """The cheapest US number is bought once; the audit log has its pending line and its outcome."""
        sandbox = create_app(seed=2)
        audit = tmp_path / "audit.jsonl"

        result = await self.run_buy(sandbox, SearchQuery(country="US"), audit_log=audit)

        (attempt,) = result.attempts
        assert (BuyStatus.COMPLETE, AttemptOutcome.BOUGHT) == (result.status, attempt.outcome)
        assert cheapest(sandbox, "US")[0] == attempt.e164
        assert {attempt.e164} == set(sandbox.owned)
        assert attempt.receipt is not None and attempt.receipt.request_id
        assert ["pending", "bought"] == [json.loads(line)["outcome"] for line in audit.read_text().splitlines()]
        assert 1 == sum(1 for entry in sandbox.log if entry.method == "POST")
        for secret in sandbox.env.values():
            assert secret not in audit.read_text()

    @pytest.mark.anyio
    async def test_assumed_usd_is_not_bought_unless_allowed(self) -> None:
        """Plivo's prices are USD by its docs, not by the record: without the permission nothing is sent."""
        sandbox = create_app(seed=2)

        result = await self.run_buy(sandbox, SearchQuery(country="US"), allow_assumed_currency=False)

        assert (BuyStatus.NONE, []) == (result.status, result.attempts)
        assert {PlanDecision.CURRENCY_ASSUMED} == {e.decision for e in result.plan}
        assert [] == [entry for entry in sandbox.log if entry.method == "POST"]

    @pytest.mark.anyio
    async def test_a_pending_number_is_confirmed_in_the_account_before_it_counts(self) -> None:
        """A German number is bought pending: ambiguous, then found in the account (inactive): confirmed owned."""
        sandbox = create_app(seed=2)

        result = await self.run_buy(sandbox, SearchQuery(country="DE"), quantity=1)

        (attempt,) = result.attempts
        assert (BuyStatus.COMPLETE, AttemptOutcome.CONFIRMED_OWNED) == (result.status, attempt.outcome)
        assert "pending verification" in (attempt.reason or "")
        assert {attempt.e164} == set(sandbox.owned)
        endpoints = [entry.endpoint for entry in sandbox.log if entry.endpoint != "search"]
        assert ["purchase", "owned_number"] == endpoints[:2]

    @pytest.mark.anyio
    async def test_another_number_assigned_is_bought_and_shown_in_the_receipt(self) -> None:
        """substitute=True: the attempt is for the cheapest number, the receipt names the one Plivo assigned."""
        sandbox = create_app(seed=2, substitute=True)

        result = await self.run_buy(sandbox, SearchQuery(country="US"))

        (attempt,) = result.bought
        assert attempt.receipt is not None
        assert attempt.e164 == attempt.receipt.details["requested_e164"]
        assert attempt.receipt.e164 != attempt.e164
        assert {attempt.receipt.e164} == set(sandbox.owned)

    @pytest.mark.anyio
    async def test_another_number_assigned_pending_is_confirmed_owned_not_bought_twice(self) -> None:
        """substitute=True in a verification country: pending under another number; it is found, counted once."""
        sandbox = create_app(seed=2, substitute=True)

        result = await self.run_buy(sandbox, SearchQuery(country="DE"))

        (attempt,) = result.attempts
        assert (BuyStatus.COMPLETE, AttemptOutcome.CONFIRMED_OWNED) == (result.status, attempt.outcome)
        (owned,) = sandbox.owned
        assert owned != attempt.e164
        assert f"Plivo assigned {owned} instead of {attempt.e164}" in (attempt.reason or "")
        assert 1 == len(sandbox.purchases)

    @pytest.mark.anyio
    async def test_ambiguous_answers_are_settled_by_the_account(self, tmp_path: Path) -> None:
        """Committed then a 5xx: confirmed owned. A 5xx before any commit: not owned, and the next number is bought."""
        committed = create_app(seed=2, faults=Faults(rate_ambiguous_after_commit=1.0))
        result = await self.run_buy(committed, SearchQuery(country="US"))
        assert [AttemptOutcome.CONFIRMED_OWNED] == [a.outcome for a in result.attempts]
        assert 1 == len(committed.purchases)

        sandbox = create_app(seed=2)
        first = cheapest(sandbox, "US")[0]

        def fail_first(plan: BuyResult) -> bool:
            sandbox.faults = Faults(rate_ambiguous_before_commit=1.0)
            return True

        async def later() -> None:
            sandbox.faults = Faults()

        providers = in_process_providers({"plivo": sandbox}, retry=FAST)
        real = providers[0].purchase

        async def once_failing(offer: Any) -> PurchaseReceipt:
            try:
                return await real(offer)
            finally:
                await later()

        providers[0].purchase = once_failing  # type: ignore[method-assign]
        result = await self.buy_cheapest(
            providers,
            SearchQuery(country="US"),
            confirm=fail_first,
            ledger=tmp_path / "second-account-ledger.sqlite3",  # the first half's account bought the cheapest
        )

        assert [(first, AttemptOutcome.NOT_BOUGHT), (cheapest(sandbox, "US")[1], AttemptOutcome.BOUGHT)] == [
            (a.e164, a.outcome) for a in result.attempts
        ]
        assert BuyStatus.COMPLETE == result.status
        assert [cheapest(sandbox, "US")[1]] == list(sandbox.owned)

    @pytest.mark.anyio
    async def test_a_number_lost_to_a_race_is_gone_and_the_next_is_bought(self) -> None:
        """Someone else takes the cheapest number first: gone (404 not found), then the next one is bought."""
        sandbox = create_app(seed=2)
        order = cheapest(sandbox, "US")

        def take_first(plan: BuyResult) -> bool:
            sandbox.taken.add(order[0])
            sandbox.invalidate()
            return True

        result = await self.run_buy(sandbox, SearchQuery(country="US"), confirm=take_first)

        assert [(order[0], AttemptOutcome.GONE), (order[1], AttemptOutcome.BOUGHT)] == [
            (a.e164, a.outcome) for a in result.attempts
        ]
        assert [order[1]] == list(sandbox.owned)
