"""Vonage purchases and ownership: the form request, the body-level result, every mapping, and buy-cheapest."""

from __future__ import annotations

import base64
import json
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
    BuyStatus,
    ConfigurationError,
    InsufficientFundsError,
    Money,
    NotFoundError,
    PermissionDeniedError,
    PlanDecision,
    ProviderConnectionError,
    ProviderError,
    ProviderResponseError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    PurchaseReceipt,
    RateLimitedError,
    RetryPolicy,
    SearchQuery,
)
from numbroker.buying import FailureKind, classify_purchase_error
from numbroker.sandbox import Faults, LoopbackServer, Sandbox
from numbroker.testing import offer
from numbroker.testing.purchase import Answer, PurchaseSuite
from numbroker_providers.vonage import VonageProvider
from numbroker_providers.vonage.sandbox import ADDRESS_LABEL, create_app

KEY = "c4n4ry02"
SECRET = "Vonage-Buy-Canary-51d0"
BASIC = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
OFFER = offer("+447400123456", provider="vonage", offer_id="+447400123456", currency="EUR", setup=None)
FAST = RetryPolicy(attempts=3, initial=0.001, max_delay=0.002, jitter=0.0)

Handler = Callable[[httpx.Request], httpx.Response]


def http_status(code: int) -> httpx.Response:
    """An HTTP status with Vonage's error fields and a Retry-After."""
    return httpx.Response(code, json={"error-code": str(code), "error-code-label": "x"}, headers={"Retry-After": "4"})


def answer(status: int, body: Any = None, **options: Any) -> Handler:
    if body is not None and not isinstance(body, bytes):
        options["json"] = body
    elif isinstance(body, bytes):
        options["content"] = body
    return lambda request: httpx.Response(status, **options)


def owned_pages(msisdns: list[str], *, count: int | None = None) -> Handler:
    def respond(request: httpx.Request) -> httpx.Response:
        index, size = int(request.url.params["index"]), int(request.url.params["size"])
        chunk = msisdns[(index - 1) * size : index * size]
        if not chunk:
            return httpx.Response(200, json={})
        numbers = [{"country": "GB", "msisdn": m, "type": "mobile-lvn", "features": ["SMS"]} for m in chunk]
        return httpx.Response(200, json={"count": len(msisdns) if count is None else count, "numbers": numbers})

    return respond


def sandboxed(sandbox: Sandbox, base_url: str | None = None) -> VonageProvider:
    if base_url is None:
        return VonageProvider(
            env=sandbox.env, base_url="http://127.0.0.1", transport=httpx.ASGITransport(sandbox.app), retry=FAST
        )
    return VonageProvider(env=sandbox.env, base_url=base_url, retry=FAST)


class TestVonagePurchase(PurchaseSuite):
    provider_class = VonageProvider
    credentials: ClassVar[Mapping[str, str]] = {"api_key": KEY, "api_secret": SECRET}
    offer_to_buy = OFFER
    buy_terms: ClassVar[Mapping[str, Any]] = {
        "max_monthly": Money(amount=Decimal("2.00"), currency="EUR"),
        "max_first_bill": Money(amount=Decimal("2.00"), currency="EUR"),
        "quantity": 2,
        "allow_assumed_currency": True,
    }
    answers = (  # the form POST maps statuses like every other request
        Answer(http_status(400), BadRequestError, FailureKind.PROVIDER_REFUSED),
        Answer(http_status(401), AuthenticationError, FailureKind.PROVIDER_REFUSED),
        Answer(http_status(402), InsufficientFundsError, FailureKind.PROVIDER_REFUSED),
        Answer(http_status(403), PermissionDeniedError, FailureKind.PROVIDER_REFUSED),
        Answer(http_status(404), NotFoundError, FailureKind.GONE),
        Answer(http_status(429), RateLimitedError, FailureKind.AMBIGUOUS),
        Answer(http_status(500), ProviderUnavailableError, FailureKind.AMBIGUOUS),
        Answer(http_status(502), ProviderUnavailableError, FailureKind.AMBIGUOUS),
        Answer(http_status(302), BadRequestError, FailureKind.PROVIDER_REFUSED),
    )

    async def buy_with(
        self, sandbox: Sandbox, tmp_path: Path, base_url: str | None = None, **terms: Any
    ) -> tuple[Any, list[dict[str, Any]]]:
        audit = tmp_path / "audit.jsonl"
        result = await self.buy_cheapest(
            [sandboxed(sandbox, base_url)], SearchQuery(country="GB"), audit_log=audit, **terms
        )
        lines = [json.loads(line) for line in audit.read_text().splitlines()] if audit.exists() else []
        return result, lines

    @pytest.mark.anyio
    async def test_the_purchase_request_byte_for_byte(self) -> None:
        """POST /number/buy, form-encoded country and msisdn (no '+'), HTTP Basic; nothing secret in URL or body."""
        receipt, requests = await self.buy(answer(200, {"error-code": "200", "error-code-label": "success"}))

        (request,) = requests
        assert ("POST", "https://rest.nexmo.com/number/buy") == (request.method, str(request.url))
        assert "application/x-www-form-urlencoded" == request.headers["content-type"]
        assert b"country=GB&msisdn=447400123456" == request.content
        assert BASIC == request.headers["authorization"]
        assert all(secret not in str(request.url) + request.content.decode() for secret in (KEY, SECRET))
        assert (
            PurchaseReceipt(
                provider="vonage",
                offer_id="+447400123456",
                e164="+447400123456",
                details={"error-code": "200", "error-code-label": "success"},
            )
            == receipt
        )

    @pytest.mark.anyio
    @pytest.mark.parametrize(
        ("body", "error", "kind", "status"),
        [
            (
                {"error-code": "420", "error-code-label": "method failed"},
                BadRequestError,
                FailureKind.PROVIDER_REFUSED,
                420,
            ),
            (
                {"error-code": "401", "error-code-label": "authentication failed"},
                AuthenticationError,
                "provider_refused",
                401,
            ),
            ({"error-code": "403", "error-code-label": "forbidden"}, PermissionDeniedError, "provider_refused", 403),
            ({"error-code": "429", "error-code-label": "throttled"}, RateLimitedError, FailureKind.AMBIGUOUS, 429),
            ({"error-code": "500", "error-code-label": "internal error"}, ProviderUnavailableError, "ambiguous", 500),
            ({"error-code": 420, "error-code-label": "method failed"}, BadRequestError, "provider_refused", 420),
        ],
        ids=["420", "401", "403", "429", "500", "420-as-a-number"],
    )
    async def test_a_200_with_another_error_code_is_that_failure(
        self, body: dict[str, Any], error: type[Exception], kind: str, status: int
    ) -> None:
        """Success is the body's error-code "200", not the HTTP status: a 200 saying 420 is a refusal, and so on."""
        outcome, requests = await self.buy(answer(200, body))

        assert type(outcome) is error
        assert FailureKind(kind) == classify_purchase_error(outcome)
        assert status == outcome.status_code  # type: ignore[attr-defined]
        assert body["error-code-label"] in str(outcome)
        assert 1 == len(requests)

    @pytest.mark.anyio
    @pytest.mark.parametrize(
        "body",
        [
            {"error-code-label": "success"},
            {},
            {"error-code": "OK"},
            {"error-code": None},
            {"error-code": " 200"},
            {"error-code": "201"},
            [{"error-code": "200"}],
            b"<html>200 OK</html>",
            b"",
        ],
        ids=["no-code", "empty", "not-a-status", "null", "padded-200", "201", "a-list", "html", "no-body"],
    )
    async def test_a_2xx_that_does_not_say_200_is_ambiguous(self, body: Any) -> None:
        """A 2xx whose body does not carry error-code "200" proves nothing either way: ambiguous, confirm first."""
        outcome, _ = await self.buy(answer(200, body))

        assert isinstance(outcome, ProviderResponseError)
        assert FailureKind.AMBIGUOUS == classify_purchase_error(outcome)

    @pytest.mark.anyio
    async def test_a_420_is_a_refusal_with_its_reason(self) -> None:
        """HTTP 420 with error-code-label: refused (nothing bought), the label kept as the reason."""
        outcome, _ = await self.buy(answer(420, {"error-code": "420", "error-code-label": ADDRESS_LABEL}))

        assert type(outcome) is BadRequestError
        assert (420, FailureKind.PROVIDER_REFUSED) == (outcome.status_code, classify_purchase_error(outcome))
        assert f"vonage: purchase refused (420): {ADDRESS_LABEL}" == str(outcome)

        bare, _ = await self.buy(answer(420, b"not json"))
        assert "vonage: purchase refused (420): no error-code-label given" == str(bare)

    @pytest.mark.anyio
    async def test_transport_failures_are_ambiguous(self) -> None:
        """A timeout or a dropped connection after sending may have bought the number: ambiguous."""

        def timeout(request: httpx.Request) -> httpx.Response:
            raise httpx.ReadTimeout("slow", request=request)

        def drop(request: httpx.Request) -> httpx.Response:
            raise httpx.RemoteProtocolError("gone", request=request)

        for handler, error in ((timeout, ProviderTimeoutError), (drop, ProviderConnectionError)):
            outcome, requests = await self.buy(handler)
            assert isinstance(outcome, error)
            assert (FailureKind.AMBIGUOUS, 1) == (classify_purchase_error(outcome), len(requests))

    @pytest.mark.anyio
    async def test_an_echoed_credential_is_redacted_from_a_purchase_error(self) -> None:
        """The vendor echoing the key, secret or Basic token in a refusal: none of them reaches the error."""
        echo = f"{KEY} {SECRET} {BASIC}"
        outcome, _ = await self.buy(
            answer(420, {"error-code": "420", "error-code-label": echo}, headers={"x-echo": echo})
        )

        assert isinstance(outcome, BadRequestError)
        shown = f"{outcome} {outcome!r} {outcome.body} {outcome.headers}"
        assert all(s not in shown for s in (KEY, SECRET, BASIC.split()[1]))

    @pytest.mark.anyio
    async def test_ownership_asks_for_the_number_by_pattern(self) -> None:
        """self.owns() reads GET /account/numbers?pattern=<digits>&search_pattern=1&size=100&index=1, Basic auth."""
        owned, requests = await self.owns(owned_pages(["447400123456"]))

        assert owned is True
        (request,) = requests
        assert "https://rest.nexmo.com/account/numbers?pattern=447400123456&search_pattern=1&size=100&index=1" == str(
            request.url
        )
        assert BASIC == request.headers["authorization"]

    @pytest.mark.anyio
    async def test_ownership_compares_canonical_numbers_over_every_page(self) -> None:
        """The pattern only narrows: the answer is read page by page and compared exactly."""
        others = [f"4474001{i:05d}" for i in range(150)]
        absent, absent_requests = await self.owns(owned_pages(others))
        present, present_requests = await self.owns(owned_pages([*others, "447400123456"]))
        empty, empty_requests = await self.owns(answer(200, {}))

        assert (False, 2) == (absent, len(absent_requests))
        assert (True, 2) == (present, len(present_requests))
        assert (False, 1) == (empty, len(empty_requests))
        assert ["1", "2"] == [r.url.params["index"] for r in present_requests]

    @pytest.mark.anyio
    async def test_ownership_that_cannot_be_proven_raises(self) -> None:
        """A list shorter than its count, an unreadable entry or a 200 carrying an error never says "not owned"."""
        short, _ = await self.owns(owned_pages([f"4474001{i:05d}" for i in range(150)], count=300))
        unreadable, _ = await self.owns(owned_pages(["not-a-number"]))
        errored, _ = await self.owns(answer(200, {"error-code": "401", "error-code-label": "authentication failed"}))
        broken, requests = await self.owns(answer(200, {"count": 1, "numbers": "447400123456"}))

        assert isinstance(short, ProviderResponseError) and "150 of 300" in str(short)
        assert isinstance(unreadable, ProviderResponseError)
        assert isinstance(errored, AuthenticationError)
        assert isinstance(broken, ProviderResponseError)
        assert FAST.attempts == len(requests)  # an unreadable list is read again from the start, then given up

    @pytest.mark.anyio
    async def test_ownership_of_something_that_is_not_a_number_is_a_configuration_error(self) -> None:
        outcome, requests = await self.owns(owned_pages([]), e164="not a number")

        assert (ConfigurationError, []) == (type(outcome), requests)

    @pytest.mark.anyio
    async def test_buy_cheapest_buys_the_cheapest_over_loopback_and_logs_it(self, tmp_path: Path) -> None:
        """The two cheapest GB numbers by the sandbox's truth are bought, owned, logged, and leave the search."""
        sandbox = create_app(seed=4)
        with LoopbackServer(sandbox.app) as server:
            result, lines = await self.buy_with(sandbox, tmp_path, server.base_url)
            async with sandboxed(sandbox, server.base_url) as vonage:
                owned = [await vonage.owns(a.e164) for a in result.bought]
                after = await vonage.search(SearchQuery(country="GB"))

        priced = [(r.monthly, r.e164) for r in sandbox.records if r.expected_valid and r.country == "GB" and r.monthly]
        truth = sorted(p for p in priced if p[0] <= Decimal("2.00"))
        assert BuyStatus.COMPLETE == result.status
        assert [e164 for _, e164 in truth[:2]] == [a.e164 for a in result.bought] == [p.e164 for p in sandbox.purchases]
        assert [Money(amount=m, currency="EUR") for m, _ in truth[:2]] == [a.monthly_price for a in result.bought]
        assert all(a.setup_price is None and a.first_bill == a.monthly for a in result.bought)
        assert [True, True] == owned
        assert not {a.e164 for a in result.bought} & {o.e164 for o in after.offers}
        assert ["bought", "bought"] == [line["outcome"] for line in lines if line["outcome"] != "pending"]
        text = json.dumps(lines)
        assert all(secret not in text for secret in sandbox.env.values())

    @pytest.mark.anyio
    async def test_assumed_euros_are_not_bought_unless_allowed(self, tmp_path: Path) -> None:
        """Vonage states no currency: without allow_assumed_currency nothing is sent, and the plan says why."""
        sandbox = create_app(seed=4)
        result, _ = await self.buy_with(sandbox, tmp_path, allow_assumed_currency=False)

        assert ([], []) == (result.attempts, sandbox.purchases)
        assert {PlanDecision.CURRENCY_ASSUMED} == {e.decision for e in result.plan if e.offer.provider == "vonage"}

    @pytest.mark.anyio
    async def test_a_200_refusal_from_the_sandbox_is_refused_and_nothing_is_bought(self, tmp_path: Path) -> None:
        """With refusals answered HTTP 200 + error-code 420 (address required), buy-cheapest records a refusal."""
        sandbox = create_app(seed=4, refusal_status=200, address_required=["GB"])
        result, lines = await self.buy_with(sandbox, tmp_path)

        assert [AttemptOutcome.REFUSED] == [a.outcome for a in result.attempts]  # Vonage is not asked again
        assert ADDRESS_LABEL in (result.attempts[0].reason or "")
        assert ([], 1) == (sandbox.purchases, sum(1 for r in sandbox.log if r.endpoint == "purchase"))
        assert ["refused"] == [line["outcome"] for line in lines if line["outcome"] != "pending"]

    @pytest.mark.anyio
    async def test_an_answer_lost_after_the_commit_is_confirmed_owned(self, tmp_path: Path) -> None:
        """The purchase commits, the answer is a 502: the owned list (by pattern) confirms it; nothing is resent."""
        sandbox = create_app(seed=4, faults=Faults(rate_ambiguous_after_commit=1.0))
        result, _ = await self.buy_with(sandbox, tmp_path, quantity=1)

        assert [AttemptOutcome.CONFIRMED_OWNED] == [a.outcome for a in result.attempts]
        assert [result.attempts[0].e164] == [p.e164 for p in sandbox.purchases]
        owned_queries = [dict(r.query) for r in sandbox.log if r.endpoint == "owned"]
        assert owned_queries and all(q["pattern"] == result.attempts[0].e164[1:] for q in owned_queries)
        assert 1 == sum(1 for r in sandbox.log if r.endpoint == "purchase")

    @pytest.mark.anyio
    async def test_a_lost_race_is_refused_and_nothing_is_bought(self, tmp_path: Path) -> None:
        """Someone else takes the number first: a 420 ``method failed`` (no proof it is gone), nothing bought."""
        sandbox = create_app(seed=4, faults=Faults(rate_race=1.0))
        result, _ = await self.buy_with(sandbox, tmp_path)

        assert [AttemptOutcome.REFUSED] == [a.outcome for a in result.attempts]
        assert "method failed" in (result.attempts[0].reason or "")
        assert [] == sandbox.purchases

    @pytest.mark.anyio
    async def test_an_oversized_or_compressed_purchase_answer_is_ambiguous(self) -> None:
        """The form POST reads at most max_response_bytes and asks for no compression; past either, ambiguous."""
        requests: list[httpx.Request] = []
        big = answer(200, {"error-code": "200", "error-code-label": "x" * 500})
        async with VonageProvider(
            api_key=KEY, api_secret=SECRET, transport=httpx.MockTransport(big), max_response_bytes=100
        ) as vonage:
            with pytest.raises(ProviderResponseError) as oversized:
                await vonage.purchase(OFFER)
        gzipped = answer(200, b"\x1f\x8b...", headers={"content-encoding": "gzip"})
        compressed, requests = await self.buy(gzipped)

        assert FailureKind.AMBIGUOUS == classify_purchase_error(oversized.value)
        assert isinstance(compressed, ProviderError)
        assert FailureKind.AMBIGUOUS == classify_purchase_error(compressed)
        assert "identity" == requests[0].headers["accept-encoding"]
