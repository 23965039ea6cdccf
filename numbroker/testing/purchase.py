"""The purchase suite a buying provider's tests subclass, and the one helper that runs buy-cheapest.

Usage, in an adapter's tests::

    from numbroker.buying import FailureKind
    from numbroker.testing.purchase import Answer, PurchaseSuite

    class TestAcmePurchase(PurchaseSuite):
        provider_class = AcmeProvider
        credentials = {"api_key": "acme-canary-key-0001"}
        offer_to_buy = offer("+14155552671", provider="acme")
        answers = (
            Answer(httpx.Response(404, json={"error": "gone"}), NumberUnavailableError, FailureKind.GONE),
            Answer(httpx.Response(200, text="<html>"), ProviderResponseError, FailureKind.AMBIGUOUS),
        )

        @pytest.mark.anyio
        async def test_the_purchase_request(self) -> None:
            receipt, requests = await self.buy(lambda request: httpx.Response(201, json={"id": "n-1"}))
            ...

The suite checks that every answer in :attr:`PurchaseSuite.answers` becomes its one error class and its one
meaning to buy-cheapest (:func:`numbroker.buying.classify_purchase_error`), that the purchase is sent
exactly once whatever the answer (a purchase is never retried), that a rate limit keeps the vendor's
``Retry-After``, and that no credential shows in the error. :meth:`PurchaseSuite.buy` and
:meth:`PurchaseSuite.owns` give the provider's own tests the adapter against a mock vendor, every request
kept. :func:`buy_cheapest_from` runs buy-cheapest over providers (adapters on sandboxes, usually): the
one place the suites call it. This module imports pytest.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar, Final, NamedTuple, TypeVar

import httpx
import pytest

from numbroker._exceptions import RateLimitedError
from numbroker._models import AvailableNumber, SearchQuery
from numbroker._search import Searcher
from numbroker.adapters import Provider, PurchaseReceipt, RetryPolicy
from numbroker.buying import BuyResult, BuyTerms, FailureKind, buy_cheapest, classify_purchase_error
from numbroker.testing import Recorder

__all__ = ["Answer", "PurchaseSuite", "buy_cheapest_from"]

Handler = Callable[[httpx.Request], httpx.Response]
_T = TypeVar("_T")

SANDBOX_TERMS: Final[Mapping[str, Any]] = {"confirm_delay": 0, "confirm_window": 0}
"""The terms :func:`buy_cheapest_from` starts from: it settles an ambiguous outcome at once."""

_TERM_NAMES: Final = frozenset(field.name for field in dataclasses.fields(BuyTerms))


async def buy_cheapest_from(providers: Sequence[Provider], query: SearchQuery, **given: Any) -> BuyResult:
    """Run :func:`numbroker.buy_cheapest` for ``query`` over ``providers`` (closed after).

    ``given`` holds :class:`~numbroker.BuyTerms` fields (``max_monthly``, ``max_first_bill``, ``quantity``, ...)
    and :func:`~numbroker.buy_cheapest`'s run options (``dry_run``, ``audit_log``, ``ledger``, ...), told apart by
    name. Meant for sandboxes: unless told otherwise it buys (``dry_run=False``) and confirms an ambiguous
    purchase at once (``confirm_delay=0``, ``confirm_window=0``: a sandbox's owned list lags only when told to).
    """
    terms = BuyTerms(**{**SANDBOX_TERMS, **{k: v for k, v in given.items() if k in _TERM_NAMES}})
    options = {"dry_run": False, **{k: v for k, v in given.items() if k not in _TERM_NAMES}}
    async with Searcher(providers, own_providers=True) as searcher:
        return await buy_cheapest(searcher, query, terms, **options)


class Answer(NamedTuple):
    """A vendor's answer to a purchase, and what it must mean."""

    answer: httpx.Response | Handler
    """The response (or a function from the request to one) every request gets."""
    error: type[Exception]
    """The exact error class the purchase raises."""
    kind: FailureKind
    """What it means to buy-cheapest."""
    says: str = ""
    """Text the error's message must hold."""


class PurchaseSuite:
    """Subclass me (name the subclass ``Test…``) with the provider's data; write its own tests as methods.

    The class attributes are the provider's data; :meth:`provider`, :meth:`buy` and :meth:`owns` build it
    against a mock vendor, keeping every request sent.
    """

    provider_class: ClassVar[type[Provider]]
    credentials: ClassVar[Mapping[str, str]]
    """Canary credentials (keyword arguments) the provider is built with; none may show in an error."""
    options: ClassVar[Mapping[str, Any]] = {}
    """Other keyword arguments the provider is built with (a base URL, a polling interval)."""
    offer_to_buy: ClassVar[AvailableNumber]
    """The offer :meth:`buy` buys."""
    retry: ClassVar[RetryPolicy] = RetryPolicy(attempts=3, initial=0.001, max_delay=0.002, jitter=0.0)
    """The provider's retry policy (a purchase is never retried; reads are)."""
    answers: ClassVar[Sequence[Answer]] = ()
    """Purchase answers and their meanings: each is checked by the suite."""
    buy_terms: ClassVar[Mapping[str, Any]] = {}
    """The buy-cheapest terms every :meth:`buy_cheapest` run starts from (caps, ``allow_assumed_currency``...)."""

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Parametrize the answers test by :attr:`answers`."""
        if "purchase_answer" in metafunc.fixturenames:
            ids = [f"{index}-{answer.error.__name__}" for index, answer in enumerate(self.answers)]
            metafunc.parametrize("purchase_answer", self.answers, ids=ids)

    # -- the provider against a mock vendor ----------------------------------------------------------

    def provider(self, handler: Handler, requests: list[httpx.Request], **options: Any) -> Provider:
        """The provider answered by ``handler``, every request appended to ``requests`` (``options`` override)."""
        options = {**self.credentials, **self.options, **options}
        return self.provider_class(
            transport=httpx.MockTransport(Recorder(handler, requests)), retry=self.retry, **options
        )

    async def buy(
        self, handler: Handler, offer: AvailableNumber | None = None, **options: Any
    ) -> tuple[PurchaseReceipt | Exception, list[httpx.Request]]:
        """Buy ``offer`` (default :attr:`offer_to_buy`): the receipt or the error raised, and the requests sent."""
        return await self._outcome(handler, options, lambda provider: provider.purchase(offer or self.offer_to_buy))

    async def owns(
        self, handler: Handler, e164: str | None = None, **options: Any
    ) -> tuple[bool | Exception, list[httpx.Request]]:
        """Whether the account owns ``e164`` (default the offer's number), or the error raised; the requests sent."""
        return await self._outcome(handler, options, lambda provider: provider.owns(e164 or self.offer_to_buy.e164))

    async def _outcome(
        self, handler: Handler, options: Mapping[str, Any], act: Callable[[Provider], Awaitable[_T]]
    ) -> tuple[_T | Exception, list[httpx.Request]]:
        requests: list[httpx.Request] = []
        async with self.provider(handler, requests, **options) as provider:
            try:
                return await act(provider), requests
            except Exception as exc:
                return exc, requests

    def check_receipt(
        self, receipt: object, *, vendor_id: str | None, request_id: str | None, details: Mapping[str, Any]
    ) -> None:
        """``receipt`` is this provider's for :attr:`offer_to_buy` with these vendor fields; it shows no credential."""
        assert isinstance(receipt, PurchaseReceipt), receipt
        offer = self.offer_to_buy
        assert (self.provider_class.id, offer.offer_id, offer.e164, vendor_id, request_id) == (
            receipt.provider,
            receipt.offer_id,
            receipt.e164,
            receipt.vendor_id,
            receipt.request_id,
        )
        assert dict(details) == receipt.details
        shown = json.dumps(receipt.model_dump(mode="json"))
        assert not [secret for secret in self.credentials.values() if secret in shown]

    async def buy_cheapest(self, providers: Sequence[Provider], query: SearchQuery, **terms: Any) -> BuyResult:
        """Run buy-cheapest over ``providers`` on :attr:`buy_terms` and ``terms`` (see :func:`buy_cheapest_from`)."""
        return await buy_cheapest_from(providers, query, **{**self.buy_terms, **terms})

    # -- the suite -----------------------------------------------------------------------------------

    @pytest.mark.anyio
    async def test_every_purchase_answer_maps_to_one_meaning_and_is_never_resent(self, purchase_answer: Answer) -> None:
        """Each answer becomes one error class and one meaning; the purchase is sent exactly once, whatever happens."""
        answer = purchase_answer.answer
        raised, requests = await self.buy(answer if callable(answer) else lambda request: answer)

        assert purchase_answer.error is type(raised)
        assert isinstance(raised, Exception)
        assert purchase_answer.kind == classify_purchase_error(raised)
        assert purchase_answer.says in str(raised)
        assert ["POST"] == [request.method for request in requests]
        for secret in self.credentials.values():
            assert secret not in str(raised) and secret not in repr(raised)
        if isinstance(raised, RateLimitedError) and isinstance(answer, httpx.Response):
            stated = answer.headers.get("retry-after")
            assert stated is None or float(stated) == raised.retry_after
