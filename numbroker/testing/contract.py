"""The contract every provider must pass, as a pytest test class to subclass.

Usage, in a third-party adapter's tests::

    import httpx
    from numbroker.testing.contract import ProviderContract

    class TestAcmeContract(ProviderContract):
        provider_class = AcmeProvider

        def environment(self) -> dict[str, str]:
            return {"ACME_API_KEY": "test-key-0123456789"}

        def valid_transport(self) -> httpx.AsyncBaseTransport:
            return httpx.MockTransport(serve_recorded_pages)  # a few valid offers for `query`

The suite checks that the provider declares itself fully, yields only valid offers with exact money,
honours ``max_offers``, maps 401/403/429/5xx, timeouts and garbage bodies into numbroker's error tree,
closes only the client it created, and never shows a credential in a repr or an error.
Async tests run on asyncio and, when installed, trio. This module imports pytest.
"""

from __future__ import annotations

import importlib.util
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
import pytest

from numbroker._exceptions import (
    AuthenticationError,
    MissingCredentialsError,
    PermissionDeniedError,
    ProviderResponseError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)
from numbroker._models import AvailableNumber, SearchQuery
from numbroker._phone import parse_e164
from numbroker._types import FilterSupport, QueryFilter
from numbroker.adapters import Provider, RetryPolicy

if TYPE_CHECKING:
    from numbroker.sandbox import Sandbox

__all__ = ["ProviderContract", "SandboxContract"]

_BACKENDS = ["asyncio", *(["trio"] if importlib.util.find_spec("trio") else [])]
_NO_RETRY = RetryPolicy(attempts=1)


class ProviderContract:
    """Subclass me (name the subclass ``Test…``) and fill in the three members below."""

    provider_class: ClassVar[type[Provider]]
    query: ClassVar[SearchQuery] = SearchQuery(country="US")
    """A query ``valid_transport`` answers with at least two offers."""

    def environment(self) -> dict[str, str]:
        """The credential environment variables (name → value) the provider needs."""
        raise NotImplementedError

    def valid_transport(self) -> httpx.AsyncBaseTransport:
        """A transport serving valid vendor pages for :attr:`query` (fixtures, or a sandbox app)."""
        raise NotImplementedError

    def base_url(self) -> str:
        """The base URL to give the provider (loopback http or any https)."""
        return "https://contract.invalid"

    # -- helpers -----------------------------------------------------------------------------------

    def make(self, transport: httpx.AsyncBaseTransport, **options: Any) -> Provider:
        """Build the provider under test over ``transport``."""
        options.setdefault("retry", _NO_RETRY)
        return self.provider_class(env=self.environment(), base_url=self.base_url(), transport=transport, **options)

    def secrets(self) -> list[str]:
        """The credential values that must never be shown."""
        return [v for v in self.environment().values() if len(v) >= 4]

    @pytest.fixture(params=_BACKENDS)
    def anyio_backend(self, request: pytest.FixtureRequest) -> str:
        """Run each async contract test on every available anyio backend."""
        return str(request.param)

    # -- the contract ------------------------------------------------------------------------------

    def test_declares_identity_and_filters(self) -> None:
        """The class states a stable id, a name, its credentials, paging style and support for every filter."""
        cls = self.provider_class
        assert re.fullmatch(r"[a-z][a-z0-9_]{0,39}", cls.id)
        assert cls.display_name
        assert f"{cls.id.upper()}_BASE_URL" == cls.base_url_env
        assert cls.paging in ("numbered", "token", "none")
        assert set(cls.filter_support) <= set(QueryFilter)
        assert all(isinstance(v, FilterSupport) for v in cls.filter_support.values())
        assert all(var.startswith(cls.id.upper() + "_") for var in cls.env_vars())

    def test_missing_credentials_name_the_variables(self) -> None:
        """Without its environment, the provider refuses to build and names what to set (not values)."""
        if not self.provider_class.credentials:
            pytest.skip("this provider needs no credentials")
        with pytest.raises(MissingCredentialsError) as info:
            self.provider_class(env={}, base_url=self.base_url())
        for var in self.provider_class.credentials.values():
            assert var in str(info.value)

    @pytest.mark.anyio
    async def test_yields_only_valid_offers_with_exact_money(self) -> None:
        """Every offer is an AvailableNumber of this provider with canonical E.164 and Decimal prices."""
        async with self.make(self.valid_transport()) as provider:
            result = await provider.search(self.query)

        assert len(result.offers) >= 2
        for offer in result.offers:
            assert isinstance(offer, AvailableNumber)
            assert provider.id == offer.provider
            assert offer.e164 == parse_e164(offer.e164, country=offer.country, strictness="possible").e164
            for price in (offer.setup_price, offer.monthly_price):
                if price is not None:
                    assert isinstance(price.amount, Decimal)
                    assert price.amount.is_finite() and price.amount >= 0

    @pytest.mark.anyio
    async def test_honours_max_offers(self) -> None:
        """max_offers stops delivery at that many offers."""
        async with self.make(self.valid_transport()) as provider:
            result = await provider.search(self.query, max_offers=1)

        assert 1 == len(result.offers)

    @pytest.mark.anyio
    @pytest.mark.parametrize(
        ("status", "error"),
        [
            (401, AuthenticationError),
            (403, PermissionDeniedError),
            (429, RateLimitedError),
            (500, ProviderUnavailableError),
            (503, ProviderUnavailableError),
        ],
    )
    async def test_maps_error_statuses_into_the_tree(self, status: int, error: type[Exception]) -> None:
        """Vendor error statuses become numbroker errors carrying the provider id."""
        transport = httpx.MockTransport(
            lambda request: httpx.Response(status, headers={"Retry-After": "3"}, json={"error": "no"})
        )
        async with self.make(transport) as provider:
            with pytest.raises(error) as info:
                await provider.search(self.query)

        assert provider.id == info.value.provider  # type: ignore[attr-defined]
        if isinstance(info.value, RateLimitedError):
            assert 3.0 == info.value.retry_after

    @pytest.mark.anyio
    async def test_maps_timeouts_and_garbage(self) -> None:
        """A timeout is a ProviderTimeoutError; an unparseable body a ProviderResponseError."""

        def timeout(request: httpx.Request) -> httpx.Response:
            raise httpx.ReadTimeout("slow", request=request)

        async with self.make(httpx.MockTransport(timeout)) as provider:
            with pytest.raises(ProviderTimeoutError):
                await provider.search(self.query)
        garbage = httpx.MockTransport(lambda request: httpx.Response(200, content=b"<html>maintenance</html>"))
        async with self.make(garbage) as provider:
            with pytest.raises(ProviderResponseError):
                await provider.search(self.query)

    @pytest.mark.anyio
    async def test_closes_only_the_client_it_created(self) -> None:
        """An injected client is left open; a client the provider created is closed with it."""
        client = httpx.AsyncClient(transport=self.valid_transport())
        provider = self.provider_class(env=self.environment(), base_url=self.base_url(), http_client=client)
        async with provider:
            await provider.search(self.query, max_offers=1)
        assert not client.is_closed
        await client.aclose()

        own = self.make(self.valid_transport())
        created = own.client
        await own.aclose()
        assert created.is_closed

    @pytest.mark.anyio
    async def test_never_shows_a_credential(self) -> None:
        """Credentials echoed by the vendor appear in no repr, message or kept body."""
        echo = " ".join(self.secrets())
        transport = httpx.MockTransport(lambda request: httpx.Response(401, json={"error": f"bad {echo}"}))
        async with self.make(transport) as provider:
            with pytest.raises(AuthenticationError) as info:
                await provider.search(self.query)

        shown = [repr(provider), str(info.value), repr(info.value), info.value.body]
        for secret in self.secrets():
            assert all(secret not in text for text in shown)


class SandboxContract(ProviderContract):
    """The contract served by the provider's own sandbox, in-process: subclass it and set ``provider_id``.

    For a provider whose class names a sandbox (its ``sandbox`` attribute)::

        class TestAcmeContract(SandboxContract):
            provider_id = "acme"
            query = SearchQuery(country="GB")  # when the sandbox's US stock is not where two offers are

    ``seed`` chooses the sandbox's inventory. Needs the ``sandbox`` extra.
    """

    provider_id: ClassVar[str]
    seed: ClassVar[int] = 0
    """The sandbox's inventory seed."""
    _sandbox: ClassVar[Sandbox | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "provider_id" in cls.__dict__ and "provider_class" not in cls.__dict__:
            from numbroker._registry import get_provider_class

            cls.provider_class = get_provider_class(cls.provider_id)

    @classmethod
    def sandbox(cls) -> Sandbox:
        """The provider's sandbox (built once per test class)."""
        if cls._sandbox is None or cls._sandbox.name != cls.provider_id:
            from numbroker.sandbox import create_sandboxes

            cls._sandbox = create_sandboxes([cls.provider_id], seed=cls.seed)[cls.provider_id]
        return cls._sandbox

    def environment(self) -> dict[str, str]:
        """The sandbox's credentials."""
        return dict(self.sandbox().env)

    def valid_transport(self) -> httpx.AsyncBaseTransport:
        """The sandbox app, in-process."""
        return httpx.ASGITransport(app=self.sandbox().app)

    def base_url(self) -> str:
        """The sandbox's base URL on the in-process origin."""
        return "http://127.0.0.1" + self.sandbox().base_path
