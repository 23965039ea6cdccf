"""Test doubles for code that uses numbroker, and the shared suites for adapter authors.

* :class:`FakeProvider`: an in-memory provider with pages, delays and failures on demand.
* :func:`offer`: a quick valid :class:`~numbroker.AvailableNumber`.
* :func:`mock_transport`: an ``httpx.MockTransport`` from a ``{(method, path): response}`` table.
* :class:`Recorder`: a mock handler that keeps every request it answers.
* :class:`InFlight`: a mock handler that holds each request a moment and records the peak in flight.

The suites a provider's tests subclass, each with the provider's data (one class per suite, named
``Test…``; the modules marked *pytest* import it, and only for pytest runs):

* :mod:`numbroker.testing.contract`: the contract every provider must pass (pytest).
* :mod:`numbroker.testing.integration`: the real adapter against its sandbox over loopback HTTP (pytest).
* :mod:`numbroker.testing.fuzz`: structure-aware fuzzing of normalization, and hostile values (needs hypothesis,
  which imports pytest where it is installed).
* :mod:`numbroker.testing.purchase`: purchases against a mock vendor, and buy-cheapest over sandboxes (pytest).
* :mod:`numbroker.testing.live`: a read-only search of the real API when credentials are set (pytest).

And the kits: :mod:`numbroker.testing.hostile` (any vendor's emulator with its answers spoiled),
:mod:`numbroker.testing.hostile_wire` (raw loopback sockets writing what no ASGI app can: interim-answer floods) and
:mod:`numbroker.testing.processes` (real processes for end-to-end tests: a sandbox server that outlives its
clients, CLI runs signalled at their purchase, a file-size limit for a full disk).

Importing this module does not import pytest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar, Literal

import anyio
import httpx
from pydantic import JsonValue

from numbroker._exceptions import ProviderError
from numbroker._models import AvailableNumber, SearchQuery, make_offer
from numbroker._money import Money
from numbroker._types import Capability, FilterSupport, NumberType, QueryFilter
from numbroker.adapters import Cursor, Provider, RawPage

__all__ = ["FakeProvider", "InFlight", "Recorder", "mock_transport", "offer"]


def offer(
    e164: str = "+14155552671",
    *,
    provider: str = "fake",
    offer_id: str | None = None,
    country: str | None = None,
    monthly: str | Decimal | None = "1.00",
    setup: str | Decimal | None = "0.00",
    currency: str = "USD",
    number_type: NumberType | None = NumberType.LOCAL,
    capabilities: Iterable[Capability | str] | None = (Capability.VOICE, Capability.SMS),
    region: str | None = None,
    provider_details: dict[str, JsonValue] | None = None,
) -> AvailableNumber:
    """Build a valid offer for tests; ``country`` defaults to the number's own region."""
    if country is None:
        import phonenumbers

        country = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    return make_offer(
        provider=provider,
        offer_id=offer_id or e164,
        number=e164,
        country=country,
        region=region,
        number_type=number_type,
        capabilities=None if capabilities is None else list(capabilities),
        setup_price=None if setup is None else Money(amount=Decimal(setup), currency=currency),
        monthly_price=None if monthly is None else Money(amount=Decimal(monthly), currency=currency),
        provider_details=provider_details,
    )


class FakeProvider(Provider):
    """An in-memory provider implementing the whole contract, for testing code that searches.

    Offers (or raw dicts, which go through normalization and may be rejected) are served in pages of
    ``page_size`` through the token-paging engine; ``delay`` sleeps before each page; ``error`` is
    raised instead of page ``fail_on_page`` (1-based; default the first); ``errors`` is a list of
    errors raised by successive fetches before succeeding (to exercise retries).
    """

    __test__ = False
    id: ClassVar[str] = "fake"
    display_name: ClassVar[str] = "Fake provider"
    default_base_url: ClassVar[str] = "https://fake.invalid"
    credentials: ClassVar[Mapping[str, str]] = {}
    paging: ClassVar[Literal["numbered", "token", "none"]] = "token"
    record_id_field = "offer_id"
    filter_support: ClassVar[Mapping[QueryFilter, FilterSupport]] = {
        QueryFilter.COUNTRY: FilterSupport.NATIVE,
    }

    def __init__(
        self,
        offers: Sequence[AvailableNumber | Mapping[str, Any]] = (),
        *,
        provider_id: str = "fake",
        page_size: int = 50,
        delay: float = 0.0,
        error: ProviderError | None = None,
        fail_on_page: int = 1,
        errors: Sequence[ProviderError] = (),
        **options: Any,
    ) -> None:
        """Create a fake serving ``offers`` (see the class docstring for the knobs)."""
        super().__init__(**options)
        self.id = provider_id  # type: ignore[misc]
        self.offers = list(offers)
        self.page_size = page_size
        self.delay = delay
        self.error = error
        self.fail_on_page = fail_on_page
        self.errors = list(errors)
        self.fetches: list[Cursor] = []

    def _auth_headers(self) -> dict[str, str]:
        return {}

    async def _fetch_page(self, query: SearchQuery, cursor: Cursor) -> RawPage:
        self.fetches.append(cursor)
        return await self.connection.with_retries(lambda: self._serve(cursor))

    async def _serve(self, cursor: Cursor) -> RawPage:
        start = int(cursor or 0)
        if self.delay:
            await anyio.sleep(self.delay)
        if self.errors:
            raise self.errors.pop(0)
        if self.error is not None and start // self.page_size + 1 == self.fail_on_page:
            raise self.error
        end = start + self.page_size
        chunk = self.offers[start:end]
        return RawPage(records=chunk, next_token=str(end) if end < len(self.offers) else None)

    def _normalize(self, record: Any, query: SearchQuery) -> AvailableNumber:
        if isinstance(record, AvailableNumber):
            return record.model_copy(update={"provider": self.id}) if record.provider != self.id else record
        return AvailableNumber.model_validate({"provider": self.id, **record})


Handler = httpx.Response | Callable[[httpx.Request], httpx.Response]


def mock_transport(routes: Mapping[tuple[str, str], Handler]) -> httpx.MockTransport:
    """An ``httpx.MockTransport`` answering ``(method, path)`` from ``routes``; anything else gets a 404.

    A route's value is a response, or a function from the request to a response.
    """

    def handle(request: httpx.Request) -> httpx.Response:
        handler = routes.get((request.method, request.url.path))
        if handler is None:
            return httpx.Response(404, json={"error": f"no mock route for {request.method} {request.url.path}"})
        return handler(request) if callable(handler) else handler

    return httpx.MockTransport(handle)


class Recorder:
    """A mock handler that answers with ``respond`` and keeps every request in ``requests``, in order.

    Example:
        >>> recorder = Recorder(lambda request: httpx.Response(200, json={}))
        >>> transport = httpx.MockTransport(recorder)
    """

    def __init__(
        self, respond: Callable[[httpx.Request], httpx.Response], requests: list[httpx.Request] | None = None
    ) -> None:
        """Answer with ``respond``; keep the requests in ``requests`` (a new list unless one is given)."""
        self.respond = respond
        self.requests: list[httpx.Request] = [] if requests is None else requests

    def __call__(self, request: httpx.Request) -> httpx.Response:
        """Keep the request, then answer it."""
        self.requests.append(request)
        return self.respond(request)


class InFlight:
    """A mock handler that records how many requests were in flight at once (concurrency limits made visible).

    An async ``httpx.MockTransport`` handler: it holds each request ``hold`` seconds, then answers with
    ``handler``; ``peak`` is the most requests that were in flight at once.

    Example:
        >>> probe = InFlight(lambda request: httpx.Response(200, json={}))
        >>> client = httpx.AsyncClient(transport=httpx.MockTransport(probe))   # doctest: +SKIP
    """

    def __init__(self, handler: Callable[[httpx.Request], httpx.Response], *, hold: float = 0.01) -> None:
        self.handler = handler
        self.hold = hold
        self.in_flight = 0
        self.peak = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        """Hold the request, then answer it."""
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await anyio.sleep(self.hold)
        finally:
            self.in_flight -= 1
        return self.handler(request)
