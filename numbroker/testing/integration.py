"""The integration suite: the real adapter against its own sandbox over loopback HTTP, as a class to subclass.

Usage, for a provider whose class names a sandbox (its ``sandbox`` attribute)::

    from numbroker.testing.integration import IntegrationSuite

    class TestAcmeIntegration(IntegrationSuite):
        provider_id = "acme"
        defect_fields = {"invalid_number": "number", "negative_price": "monthly"}
        refusals = (Refusal(AuthenticationError, env={"ACME_API_KEY": "acme-wrong-key-0000"}),)

        def check_offer(self, record: SandboxRecord, offer: AvailableNumber) -> None:
            assert (record.e164, record.monthly) == (offer.e164, offer.monthly_price.amount)

The suite searches every country the sandbox stocks and checks the sandbox's ground truth: every valid
record arrives exactly once (as :meth:`IntegrationSuite.check_offer` says it should), every deliberate
defect is rejected naming its field (:attr:`~IntegrationSuite.defect_fields`), and every request was
answered 200; the same again with rate limits and server errors injected (retries deliver everything
once); a spoiled body (malformed, or cut off mid-body) fails the search with the provider's id; a search
the vendor refuses (:attr:`~IntegrationSuite.refusals`: a wrong credential, a country it does not sell) fails
with the vendor's own error, which shows no credential.
:class:`NumberedIntegrationSuite` adds, for a vendor paged by number with a total, that a total lying low
or high changes how many pages are fetched, never which offers arrive.

The sandbox is served on a real loopback socket once per test class (the ``served`` fixture:
``(sandbox, base_url)``), so a provider's own tests in the subclass use it too, with :meth:`adapter`.
Needs the ``sandbox`` extra. This module imports pytest.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import pytest

from numbroker._exceptions import (
    AuthenticationError,
    ProviderConnectionError,
    ProviderError,
    ProviderHTTPError,
    ProviderResponseError,
)
from numbroker._models import AvailableNumber, RejectedRecord, SearchQuery
from numbroker._registry import get_provider_class
from numbroker.adapters import Provider, ProviderResult, RetryPolicy
from numbroker.sandbox import Faults, LoopbackServer, Sandbox, SandboxRecord, ServedRequest, create_sandboxes

__all__ = ["IntegrationSuite", "NumberedIntegrationSuite", "Refusal", "Spoiled"]


class Spoiled(NamedTuple):
    """A sandbox fault that spoils every answer's body, and the error the search must fail with."""

    faults: Faults
    error: type[ProviderError]
    says: str | None = None
    """A regular expression the error's message must match, if any."""


class Refusal(NamedTuple):
    """A search the vendor refuses, and the error the search must fail with."""

    error: type[ProviderHTTPError]
    query: SearchQuery | None = None
    """What is searched (default the suite's :attr:`~IntegrationSuite.query`)."""
    env: Mapping[str, str] | None = None
    """Environment variables over the sandbox's own (a wrong credential, an unknown account)."""
    says: str | None = None
    """A regular expression the error's message must match, if any."""


class IntegrationSuite:
    """Subclass me (name the subclass ``Test…``), set :attr:`provider_id` and write :meth:`check_offer`.

    The class attributes below are the provider's data; the methods after them are hooks with defaults.
    """

    provider_id: ClassVar[str]
    """The provider's registry id; its class and its sandbox are looked up by it."""
    provider_class: ClassVar[type[Provider]]
    """The adapter (set from :attr:`provider_id`)."""
    seed: ClassVar[int] = 7
    """The served sandbox's inventory seed."""
    size: ClassVar[int | None] = None
    """The sandbox's inventory size (default its own): big enough that a country needs several pages."""
    sandbox_options: ClassVar[Mapping[str, Any]] = {}
    """Vendor-specific options for every sandbox built (its ``create_app`` keywords)."""
    query: ClassVar[SearchQuery] = SearchQuery(country="US")
    """A query the sandbox stocks (for the spoiled-body and wrong-credential tests)."""
    retry: ClassVar[RetryPolicy] = RetryPolicy(initial=0.01)
    """The adapter's retry policy in every search."""
    fault_retry: ClassVar[RetryPolicy] = RetryPolicy(8, initial=0.01)
    """The retry policy against injected rate limits and server errors."""
    retry_faults: ClassVar[Faults] = Faults(rate_429=0.2, rate_5xx=0.2, retry_after="0", seed=11)
    """The rate limits and server errors the retries must see through."""
    defect_fields: ClassVar[Mapping[str, str]] = {}
    """The vendor field each kind of sandbox defect (``SandboxRecord.defect``) must be rejected on."""
    spoiled: ClassVar[Sequence[Spoiled]] = (
        Spoiled(Faults(rate_malformed=1.0), ProviderResponseError),
        Spoiled(Faults(rate_truncated=1.0), ProviderConnectionError),
    )
    """Faults that spoil every answer's body, each failing the search with its error."""
    refusals: ClassVar[Sequence[Refusal]] = ()
    """Searches the vendor refuses (at least a wrong credential: an :class:`~numbroker.AuthenticationError`)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "provider_id" in cls.__dict__ and "provider_class" not in cls.__dict__:
            cls.provider_class = get_provider_class(cls.provider_id)
            wrong = any(issubclass(refusal.error, AuthenticationError) for refusal in cls.refusals)
            if cls.provider_class.credentials and not wrong:
                raise TypeError(f"{cls.__name__}.refusals: give a credential the vendor refuses (AuthenticationError)")

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Parametrize the spoiled-body test by :attr:`spoiled`, the refusal test by :attr:`refusals`."""
        tables: dict[str, Sequence[Spoiled | Refusal]] = {"spoiled": self.spoiled, "refusal": self.refusals}
        for name, rows in tables.items():
            if name in metafunc.fixturenames:
                ids = [f"{row.error.__name__}-{index}" for index, row in enumerate(rows)]
                metafunc.parametrize(name, rows, ids=ids)

    # -- the sandbox and the adapter -----------------------------------------------------------------

    @classmethod
    def create_sandbox(cls, *, seed: int | None = None, faults: Faults | None = None, **options: Any) -> Sandbox:
        """A fresh sandbox of this provider (``seed`` default :attr:`seed`, options over :attr:`sandbox_options`)."""
        chosen = seed if seed is not None else cls.seed
        options = {"size": cls.size, **cls.sandbox_options, **options}
        return create_sandboxes([cls.provider_id], seed=chosen, faults=faults or Faults(), **options)[cls.provider_id]

    @staticmethod
    @contextlib.contextmanager
    def serving(sandbox: Sandbox) -> Iterator[str]:
        """Serve ``sandbox`` on loopback; yield the adapter's base URL."""
        with LoopbackServer(sandbox.app) as server:
            yield server.base_url + sandbox.base_path

    @pytest.fixture(scope="class")
    @classmethod
    def served(cls) -> Iterator[tuple[Sandbox, str]]:
        """The provider's sandbox (:attr:`seed`, :attr:`size`) on loopback for the whole class: (sandbox, base URL)."""
        sandbox = cls.create_sandbox()
        with cls.serving(sandbox) as base_url:
            yield sandbox, base_url

    def adapter(self, sandbox: Sandbox, base_url: str, **options: Any) -> Provider:
        """The real adapter on ``base_url`` with the sandbox's credentials (``options`` override)."""
        options.setdefault("retry", self.retry)
        options.setdefault("env", sandbox.env)
        return self.provider_class(base_url=base_url, **options)

    def countries(self, sandbox: Sandbox) -> list[str]:
        """The countries to search for the whole stock (default: every country a record is listed under)."""
        return sorted({record.country for record in sandbox.records})

    async def search_all(self, sandbox: Sandbox, base_url: str, **options: Any) -> list[ProviderResult]:
        """One search per country of :meth:`countries`, through one adapter."""
        async with self.adapter(sandbox, base_url, **options) as adapter:
            return [await adapter.search(SearchQuery(country=country)) for country in self.countries(sandbox)]

    # -- the provider's checks -----------------------------------------------------------------------

    def check_offer(self, record: SandboxRecord, offer: AvailableNumber) -> None:
        """Check the offer made of a valid ``record``: its number, country, type, prices, capabilities, details."""
        raise NotImplementedError

    def defect_field(self, record: SandboxRecord) -> str | None:
        """The vendor field a defect ``record`` must be rejected on (default from :attr:`defect_fields`)."""
        return self.defect_fields[record.defect or ""]

    def expected_rejection(self, record: SandboxRecord) -> tuple[str | None, str | None]:
        """What rejecting a defect ``record`` must say: (offer id, field)."""
        return record.offer_id, self.defect_field(record)

    def rejection(self, rejected: RejectedRecord) -> tuple[str | None, str | None]:
        """What a rejection said, in the form of :meth:`expected_rejection`."""
        return rejected.offer_id, rejected.field

    def check_requests(
        self, sandbox: Sandbox, sent: Sequence[ServedRequest], results: Sequence[ProviderResult]
    ) -> None:
        """Check the requests a whole-stock search sent (``sent``: what the sandbox answered), e.g. page sizes."""

    def check_faults_seen(self, sandbox: Sandbox, results: Sequence[ProviderResult]) -> None:
        """Check that the injected faults were really served."""
        assert any(entry.fault for entry in sandbox.log)

    def check_refusal(self, error: ProviderHTTPError) -> None:
        """Check more of a refusal's error (its status, request id, body)."""

    # -- what every search must give -----------------------------------------------------------------

    def check_inventory(self, sandbox: Sandbox, results: Sequence[ProviderResult]) -> None:
        """Every valid record arrives exactly once as :meth:`check_offer` says; every defect is rejected."""
        offers = [offer for result in results for offer in result.offers]
        valid = [record for record in sandbox.records if record.expected_valid]
        assert {record.offer_id: 1 for record in valid} == dict(Counter(offer.offer_id for offer in offers))
        by_id = {offer.offer_id: offer for offer in offers}
        for record in valid:
            self.check_offer(record, by_id[record.offer_id])
        self.check_rejected(sandbox, [rejected for result in results for rejected in result.rejected])

    def check_rejected(self, sandbox: Sandbox, rejected: Sequence[RejectedRecord]) -> None:
        """Every defect record is rejected once, as :meth:`expected_rejection` says, with a field and a reason."""
        defects = [record for record in sandbox.records if not record.expected_valid]
        assert Counter(map(self.expected_rejection, defects)) == Counter(map(self.rejection, rejected))
        assert {self.provider_id} == {r.provider for r in rejected}
        assert all(r.field and r.reason for r in rejected)

    # -- the suite -----------------------------------------------------------------------------------

    @pytest.mark.anyio
    async def test_every_stocked_country_arrives_exactly_once(self, served: tuple[Sandbox, str]) -> None:
        """Every valid record arrives once, exactly as the sandbox states it; every defect is rejected on its field."""
        sandbox, base_url = served
        start = len(sandbox.log)

        results = await self.search_all(sandbox, base_url)

        self.check_inventory(sandbox, results)
        sent = sandbox.log[start:]
        assert {200} == {entry.status for entry in sent}
        self.check_requests(sandbox, sent, results)

    @pytest.mark.anyio
    async def test_survives_rate_limits_and_server_errors(self) -> None:
        """With 429s and 5xx injected, retries still deliver the whole inventory exactly once."""
        sandbox = self.create_sandbox(seed=3, faults=self.retry_faults)
        with self.serving(sandbox) as base_url:
            results = await self.search_all(sandbox, base_url, retry=self.fault_retry)

        self.check_inventory(sandbox, results)
        self.check_faults_seen(sandbox, results)

    @pytest.mark.anyio
    async def test_a_spoiled_body_fails_the_search(self, spoiled: Spoiled) -> None:
        """A 200 whose body is not the vendor's answer, or is cut off mid-body, fails the search (never a page)."""
        sandbox = self.create_sandbox(seed=5, faults=spoiled.faults)
        with self.serving(sandbox) as base_url:
            async with self.adapter(sandbox, base_url, retry=RetryPolicy(attempts=1)) as adapter:
                with pytest.raises(spoiled.error, match=spoiled.says) as caught:
                    await adapter.search(self.query)

        assert self.provider_id == caught.value.provider

    @pytest.mark.anyio
    async def test_a_refused_search_fails_with_the_vendors_error(
        self, served: tuple[Sandbox, str], refusal: Refusal
    ) -> None:
        """A search the vendor refuses is its error (a wrong credential: AuthenticationError); no credential shows."""
        sandbox, base_url = served
        env = {**sandbox.env, **(refusal.env or {})}
        async with self.adapter(sandbox, base_url, env=env) as adapter:
            with pytest.raises(refusal.error, match=refusal.says) as caught:
                await adapter.search(refusal.query or self.query)

        error = caught.value
        shown = f"{error} {error!r} {error.body} {error.headers}"
        for name in self.provider_class.credentials.values():
            assert env[name] not in shown, name
        self.check_refusal(error)


class NumberedIntegrationSuite(IntegrationSuite):
    """The integration suite for a vendor paged by number with a total: lying totals change nothing."""

    @pytest.mark.anyio
    @pytest.mark.parametrize("lie", [30, 1000], ids=["total-too-low", "total-too-high"])
    async def test_lying_totals_still_deliver_everything_once(self, lie: int) -> None:
        """A total that lies low or high changes how many pages are fetched, never which offers arrive."""
        sandbox = self.create_sandbox(faults=Faults(lying_total=lie))
        with self.serving(sandbox) as base_url:
            results = await self.search_all(sandbox, base_url)

        self.check_inventory(sandbox, results)
        assert any(entry.fault == "lying_total" for entry in sandbox.log)
