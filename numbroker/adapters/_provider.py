"""The provider contract: what an adapter author reads to write one.

An adapter subclasses :class:`Provider`, declares its identity, credentials, paging style and filter
support as class attributes, and writes three small hooks:

* ``_auth_headers()``: the vendor's auth headers;
* ``_fetch_page(query, cursor)``: one request through ``self.connection`` returning a :class:`RawPage`
  (whose ``truncated`` notes say an answer was cut short with no next page: the run is then ``truncated``);
* ``_normalize(record, query)``: one raw record to an :class:`AvailableNumber` (via :func:`make_offer`
  and the money converters), raising :class:`FieldError` or a pydantic ``ValidationError`` when the
  record is bad.

Optional hooks: ``_error_envelope(body, headers)`` reads the vendor's error answers (default: the
common shapes); ``_retry_after(response)`` reads a vendor's own wait header on a 429 (default
``Retry-After``); ``_owns_number(e164)`` answers ownership for one number when the vendor can (a lookup
by number, or a list filtered by it), used by :meth:`Provider.owns` before walking ``_owned_numbers()``.
An adapter that can buy also sets ``supports_purchase = True`` and writes ``_purchase(offer)`` (one
``self.connection.post``, never retried) and ``_owned_numbers()`` (every owned number, walked with
``_walk_owned_numbered`` / ``_walk_owned_tokens``); the templates :meth:`Provider.purchase` and
:meth:`Provider.owns` wrap them. An adapter that lists the account's numbers as a portfolio writes the
owned-list hook, ``_fetch_owned_page(query, cursor)`` and ``_normalize_owned(record, query)`` (a search
page's twins, paged by ``owned_paging``), and declares ``after_purchase``; :meth:`Provider.stream_owned`
wraps them, and :meth:`Provider.owns` then walks that list (narrowed by ``query.e164`` where the vendor
can filter by number) when ``_owns_number`` has no answer. ``_is_held(number)`` says False for a number the
vendor still lists though the account no longer holds it (released, an order that failed): it is listed,
never counted as owned.
An adapter that gives numbers back writes ``_release(number, immediate=...)`` (and ``_cancel_release``,
``_move_number`` where the vendor can); :meth:`Provider.release`, :meth:`Provider.cancel_release` and
:meth:`Provider.move_number` wrap them.

The engine is composed, each part in its own module: a provider *has* a
:class:`~numbroker.adapters.Connection` (client, auth headers, redaction, send and bounded receive,
retries, rate limit), which the adapter calls itself; the paging engines (:mod:`numbroker.adapters._paging`),
the page streaming template (:mod:`numbroker.adapters._streaming`), the page normalization
(:mod:`numbroker.adapters._normalizing`) and the owned-number walkers (:mod:`numbroker.adapters._owned`)
are free functions the templates call. The few helpers left here (``_note``, ``_fan_out``, the owned
walkers) bind them to the provider's own declarations.

Per-search statistics ride on a context variable (see :mod:`numbroker.adapters._stats`): the streaming
template sets the search's run for the walk, and every request, retry and note made in a hook is counted
on that run, whatever task it is made in; two searches on one provider never mix their counts.
"""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any, ClassVar, Literal, Self, TypeVar

import httpx
from pydantic import SecretStr

from numbroker._exceptions import ConfigurationError, ProviderError, PurchaseError
from numbroker._models import AvailableNumber, RejectedRecord, SearchQuery
from numbroker._owned import AfterPurchase, OwnedNumber, OwnedQuery, OwnedView, ReleaseAnswer, ReleaseMode
from numbroker._phone import Strictness
from numbroker._redaction import Redactor, redact_result
from numbroker._types import FilterSupport, QueryFilter
from numbroker.adapters import _normalizing
from numbroker.adapters._connection import DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, Connection
from numbroker.adapters._credentials import account_key, missing_env, resolve_credentials, resolve_setting
from numbroker.adapters._http_errors import ErrorEnvelope, read_error_envelope, retry_after_header
from numbroker.adapters._normalizing import PageResult
from numbroker.adapters._owned import (
    OwnedItem,
    OwnedPage,
    holds_number,
    owns_number,
    walk_owned_numbered,
    walk_owned_tokens,
)
from numbroker.adapters._paging import Cursor, RawPage, fan_out
from numbroker.adapters._portfolio import OwnedPageResult, OwnedSink, holds_owned, stream_owned
from numbroker.adapters._rate_limit import RateLimit
from numbroker.adapters._receipts import PurchaseReceipt, redact_receipt
from numbroker.adapters._retry import RetryPolicy
from numbroker.adapters._stats import ProviderResult, ProviderRun, ProviderStats, current_run
from numbroker.adapters._streaming import PageSink, stream_pages
from numbroker.adapters._urls import check_base_url

__all__ = ["PageSink", "Provider"]

logger = logging.getLogger("numbroker.http")
purchase_logger = logging.getLogger("numbroker.purchase")
_ACCOUNT_VIEW = OwnedQuery()
_T = TypeVar("_T")
_K = TypeVar("_K")


class Provider(ABC):
    """Base class of every number provider adapter.

    Subclasses set the class attributes below and implement ``_auth_headers``, ``_fetch_page`` and
    ``_normalize``. Constructors are keyword-only; a credential not passed as an argument is read from
    its environment variable, and a missing one raises :class:`MissingCredentialsError` naming both.

    Class attributes:
        id: stable lowercase id: registry key, JSON ``provider`` value and env-var prefix. Never renamed.
        display_name: human-readable name.
        default_base_url: the vendor's production base URL (overridable by ``base_url=`` or ``<ID>_BASE_URL``).
        credentials: keyword argument → environment variable, for every required credential.
        settings: keyword argument → environment variable, for optional settings.
        filter_support: how each :class:`QueryFilter` is honoured.
        paging: ``numbered`` (page/per_page/total), ``token`` (next-page token) or ``none``.
        per_page: page size requested from numbered or token-paged vendors.
        max_pages: hard cap on pages per search (runaway-paging guard).
        page_concurrency: how many of one search's listing requests may be in flight at once (numbered
            pages; requests an adapter fans out within one page, such as one per number type, too).
        rate_limit: the vendor's documented request rate, enforced per provider instance.
        sandbox: ``"module:function"`` of the built-in emulator, if there is one.
        supports_purchase: the adapter implements ``_purchase`` and ``_owned_numbers`` (see :meth:`purchase`).
        states_setup_prices: whether the vendor states a setup price (see below).
        after_purchase: what the vendor can do with numbers once bought (listing, release, prices...).
        owned_paging: how the owned list pages (``_fetch_owned_page``): as ``paging`` does for a search.
        owned_per_page: page size requested from a numbered or token-paged owned list.
        owned_max_pages: hard cap on pages per owned list (runaway-paging guard).

    Attributes:
        connection: the :class:`~numbroker.adapters.Connection` every request goes through (its timeout,
            retry policy and response cap are the provider's options).
        number_strictness: ``valid`` or ``possible`` phone-number validation for its offers.
    """

    id: ClassVar[str]
    display_name: ClassVar[str]
    default_base_url: ClassVar[str]
    credentials: ClassVar[Mapping[str, str]] = {}
    settings: ClassVar[Mapping[str, str]] = {}
    filter_support: ClassVar[Mapping[QueryFilter, FilterSupport]] = {}
    paging: ClassVar[Literal["numbered", "token", "none"]] = "none"
    per_page: ClassVar[int] = 100
    max_pages: ClassVar[int] = 200
    page_concurrency: ClassVar[int] = 8
    rate_limit: ClassVar[RateLimit | None] = None
    sandbox: ClassVar[str | None] = None
    supports_purchase: ClassVar[bool] = False
    states_setup_prices: ClassVar[bool] = True
    """Whether the vendor states a setup price; when False a missing setup price means the vendor has none,
    not that it is unknown."""
    record_id_field: ClassVar[str | None] = None
    wire_fields: ClassVar[Mapping[str, str]] = {}
    """Normalized field → vendor field, so a rejection names the field the vendor sent."""
    owned_wire_fields: ClassVar[Mapping[str, str]] = {}
    """The same for the owned list's records, where they name a field differently from the search's."""
    account_id_credential: ClassVar[str | None] = None
    """The credential that names the vendor account (an account id, not a token), if the vendor has one:
    the purchase ledger keys the account on it, so a rotated token is the same account."""
    after_purchase: ClassVar[AfterPurchase | None] = None
    owned_paging: ClassVar[Literal["numbered", "token", "none"]] = "none"
    owned_per_page: ClassVar[int] = 100
    owned_max_pages: ClassVar[int] = 5000
    """Hard cap on pages of one owned list (a portfolio is read whole; a search stops at ``max_pages``)."""
    base_url_env: ClassVar[str] = ""
    """The environment variable that overrides the base URL: ``<ID>_BASE_URL`` (set from ``id``)."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        number_strictness: Strictness = "valid",
        env: Mapping[str, str] | None = None,
    ) -> None:
        """Set up the connection.

        Args:
            base_url: overrides ``<ID>_BASE_URL`` and the default; ``https://`` or loopback ``http://``.
            http_client: an ``httpx.AsyncClient`` to use (it is left open); by default one is created and
                closed by :meth:`aclose`.
            transport: an httpx transport for the client the provider creates (e.g. ``httpx.ASGITransport``
                to talk to an in-process sandbox, or ``httpx.MockTransport``); not with ``http_client``.
            timeout: seconds per HTTP request.
            retry: retry policy for idempotent GETs.
            max_response_bytes: cap on one response body.
            number_strictness: ``valid`` (default) or ``possible`` phone-number validation.
            env: where credentials and settings are read from (default ``os.environ``).
        """
        self._env: Mapping[str, str] = os.environ if env is None else env
        url = base_url or self._env.get(self.base_url_env) or self.default_base_url
        self.number_strictness: Strictness = number_strictness
        self.connection = Connection(
            self.id,
            check_base_url(url, name=self.base_url_env if not base_url else "base_url"),
            auth_headers=lambda: self._auth_headers(),
            http_client=http_client,
            transport=transport,
            timeout=timeout,
            retry=retry,
            max_response_bytes=max_response_bytes,
            rate_limit=self.rate_limit,
            max_connections=max(8, self.page_concurrency * 2),
            retry_after=lambda response: self._retry_after(response),
            error_envelope=lambda body, headers: self._error_envelope(body, headers),
        )

    # -- identity and configuration -------------------------------------------------------------

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "id" in cls.__dict__:
            cls.base_url_env = f"{cls.id.upper()}_BASE_URL"

    @classmethod
    def env_vars(cls) -> tuple[str, ...]:
        """Every environment variable this provider reads (credentials, settings, base URL)."""
        return (*cls.credentials.values(), *cls.settings.values(), cls.base_url_env)

    @classmethod
    def missing_env(cls, env: Mapping[str, str] | None = None) -> list[str]:
        """The required credential variables not set in ``env`` (default ``os.environ``). Never values."""
        return missing_env(cls.credentials, os.environ if env is None else env)

    @classmethod
    def is_configured(cls, env: Mapping[str, str] | None = None) -> bool:
        """True when every required credential variable is set."""
        return not cls.missing_env(env)

    @property
    def base_url(self) -> str:
        """The vendor's base URL, without a trailing slash."""
        return self.connection.base_url

    @property
    def client(self) -> httpx.AsyncClient:
        """The HTTP client: the injected one, or one created on first use."""
        return self.connection.client

    def _resolve_credentials(self, given: Mapping[str, str | None]) -> dict[str, SecretStr]:
        """Resolve each credential from its argument or environment variable; raise naming all missing ones."""
        resolved = resolve_credentials(
            self.id, self.credentials, given, self._env, on_secret=self.connection.add_secret
        )
        named = self.account_id_credential
        self._account_id = resolved[named].get_secret_value() if named and named in resolved else None
        return resolved

    def _setting(self, kwarg: str, given: str | None, default: str | None = None) -> str | None:
        """Resolve an optional setting from its argument, then its environment variable, then ``default``."""
        return resolve_setting(self.settings, kwarg, given, self._env, default)

    def redact(self, text: str) -> str:
        """Replace every credential value (in every form a vendor may echo it) in ``text`` with ``***``."""
        return self.connection.redact(text)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={self.id!r} base_url={self.redact(self.base_url)!r}>"

    async def aclose(self) -> None:
        """Close the HTTP client if this provider created it (an injected client is left open)."""
        await self.connection.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- the hooks an adapter writes ---------------------------------------------------------------

    @abstractmethod
    def _auth_headers(self) -> dict[str, str]:
        """The vendor's authentication headers."""

    @abstractmethod
    async def _fetch_page(self, query: SearchQuery, cursor: Cursor) -> RawPage:
        """Fetch one page: ``cursor`` is the 1-based page number (numbered), a token or None (token), or None."""

    @abstractmethod
    def _normalize(self, record: Any, query: SearchQuery) -> AvailableNumber:
        """Turn one raw record into an offer; raise FieldError or ValidationError when it is bad."""

    async def _purchase(self, offer: AvailableNumber) -> PurchaseReceipt:
        """Buy one offer with one ``self.connection.post`` (never retried); return the receipt or raise.

        Translate vendor-specific answers: "gone/taken" → :class:`NumberUnavailableError`, a refusal → the
        matching HTTP error, a 2xx whose body cannot be read → :class:`ProviderResponseError`.
        """
        raise PurchaseError(f"{self.id}: this provider cannot buy numbers")

    def _owned_numbers(self) -> AsyncIterator[OwnedItem]:
        """Every entry of the account's list of numbers (walk it with ``_walk_owned_numbered`` / ``_tokens``).

        An entry is the number as the vendor wrote it ("" for none), or an :class:`~numbroker.adapters.OwnedEntry`.
        """
        raise PurchaseError(f"{self.id}: this provider cannot list its numbers")

    async def _owns_number(self, e164: str) -> bool | None:
        """Whether the account owns canonical ``e164``, when the vendor can say for one number; None walks the list.

        A lookup by number, or a list filtered by it and checked with :meth:`_holds_number`. An answer that
        proves neither raises :class:`ProviderResponseError`: it is asked again, like an unreadable list.
        """
        return None

    async def _fetch_owned_page(self, query: OwnedQuery, cursor: Cursor) -> RawPage:
        """One page of the account's own numbers: the owned-list hook (a search page's twin).

        ``cursor`` is as for ``_fetch_page`` (per ``owned_paging``); ``query`` says whose numbers
        (:class:`~numbroker.OwnedQuery`; partner views are asked only of a vendor whose ``after_purchase``
        declares them). One request through ``self.connection``; the paging engine checks the pages.
        """
        raise PurchaseError(f"{self.id}: this provider cannot list its numbers")

    def _normalize_owned(self, record: Any, query: OwnedQuery) -> OwnedNumber:
        """Turn one owned-list record into an :class:`~numbroker.OwnedNumber` (via ``make_owned``).

        Raise FieldError or ValidationError when the record is bad: it becomes a rejected record.
        """
        raise PurchaseError(f"{self.id}: this provider cannot list its numbers")

    def _is_held(self, number: OwnedNumber) -> bool:
        """False for a listed number the account no longer holds (released, an order that failed); default True.

        Such a number stays in the portfolio (with its status) but never answers "owned", and the ledger's
        reconciliation does not count it as listed.
        """
        return True

    @classmethod
    def lists_owned(cls) -> bool:
        """True when the adapter writes the owned-list hook (``_fetch_owned_page`` and ``_normalize_owned``)."""
        return cls._fetch_owned_page is not Provider._fetch_owned_page

    def _error_envelope(self, body: Any, headers: Mapping[str, str]) -> ErrorEnvelope:
        """What an error answer says, from its JSON ``body`` (None when not JSON) and ``headers``, both redacted.

        Its message follows the status in the error's; its code and message stay on the error
        (``vendor_code``, ``vendor_message``). The default reads the common shapes.
        """
        return read_error_envelope(body)

    def _retry_after(self, response: httpx.Response) -> float | None:
        """Seconds a 429 ``response`` asks to wait before a retry (at least), or None when it does not say.

        The default reads ``Retry-After`` (seconds or an HTTP date); a vendor with a wait header of its own
        (``x-ratelimit-reset``, say) overrides this, usually falling back to the default.
        """
        return retry_after_header(response)

    def _record_id(self, record: Any) -> str | None:
        """The vendor record's own id (from ``record_id_field``), named by its rejection if it is rejected."""
        return _normalizing.record_id(record, self.record_id_field)

    # -- helpers bound to the provider's declarations ---------------------------------------------

    def _note(self, text: str) -> None:
        """Record something worth knowing about this search (shown in the provider's report) and log it.

        A note may quote the vendor (a number type it named), so any credential it echoes is masked first.
        """
        text = self.redact(text)
        logger.info("%s: %s", self.id, text)
        run = current_run()
        if run is not None:
            run.stats.note(text)

    async def _fan_out(
        self,
        keys: Sequence[_K],
        fetch: Callable[[_K], Awaitable[_T]],
        *,
        skip: Callable[[ProviderError], bool] = lambda exc: False,
    ) -> tuple[dict[_K, _T], dict[_K, ProviderError]]:
        """One request per key (a number type, say), concurrently within ``page_concurrency``.

        Returns (each answered key's result, each skipped key's failure), in the order of ``keys``. A
        failure ``skip`` accepts is left for the adapter to note; any other cancels the rest and is raised
        (see :func:`numbroker.adapters._paging.fan_out`).
        """
        return await fan_out(keys, fetch, concurrency=self.page_concurrency, skip=skip)

    def _walk_owned_numbered(
        self, fetch: Callable[[int], Awaitable[OwnedPage]], page_size: int
    ) -> AsyncIterator[OwnedItem]:
        """Every owned entry over numbered pages (see :func:`numbroker.adapters._owned.walk_owned_numbered`)."""
        return walk_owned_numbered(fetch, page_size, provider_id=self.id, max_pages=self.max_pages)

    def _walk_owned_tokens(self, fetch: Callable[[str | None], Awaitable[OwnedPage]]) -> AsyncIterator[OwnedItem]:
        """Every owned entry over a page-token chain (see :func:`numbroker.adapters._owned.walk_owned_tokens`)."""
        return walk_owned_tokens(fetch, provider_id=self.id, max_pages=self.max_pages)

    async def _holds_number(self, entries: AsyncIterator[OwnedItem], e164: str) -> bool:
        """True when canonical ``e164`` is among the held ``entries`` (see :func:`.holds_number`)."""
        return await holds_number(entries, e164, provider_id=self.id)

    # -- searching ---------------------------------------------------------------------------------

    def normalize_record(self, record: Any, query: SearchQuery) -> AvailableNumber | RejectedRecord:
        """Normalize one raw vendor record: an offer, or a rejection naming field and reason. Never raises.

        A credential the vendor echoed in its answers never reaches the offer or the rejection.
        """
        result = _normalizing.normalize_record(self, record, query)
        if not self.connection.echoed:
            return result  # no answer of this vendor has shown a secret: nothing to mask
        return redact_result(self.connection.redactor, result, id_field=self.wire_fields.get("offer_id"))

    def unapplied_filters(self, query: SearchQuery) -> dict[QueryFilter, FilterSupport]:
        """The filters ``query`` uses that this provider cannot apply natively, with how they are handled."""
        return {
            name: support
            for name in query.filters_in_use()
            if (support := self.filter_support.get(name, FilterSupport.EMULATED)) is not FilterSupport.NATIVE
        }

    async def stream_pages(
        self,
        query: SearchQuery,
        sink: PageSink,
        *,
        run: ProviderRun | None = None,
        max_offers: int | None = None,
        drop_repeats: bool = True,
    ) -> ProviderStats:
        """Fetch and normalize every page for ``query``, handing each to ``sink`` as soon as it is ready.

        Args:
            query: the search.
            sink: awaited with each normalized page.
            run: statistics, event sink and shared limiter (a fresh one by default).
            max_offers: stop fetching once this many matching offers were delivered (in vendor order).
            drop_repeats: deliver an offer the vendor serves twice (shifting pages) only once. This keeps every
                offer id seen, so memory grows with the offers; a consumer that keeps a bounded selection
                (``Searcher.top_k``) turns it off and drops repeats among what it keeps instead.

        Returns:
            The statistics of this run.

        Raises:
            ProviderError: the provider failed; pages already handed to ``sink`` stay delivered.
        """
        return await stream_pages(self, query, sink, run=run, max_offers=max_offers, drop_repeats=drop_repeats)

    async def search(self, query: SearchQuery, *, max_offers: int | None = None) -> ProviderResult:
        """Collect every matching offer and rejected record for ``query`` from this provider alone.

        Raises:
            ProviderError: the provider failed (use :class:`~numbroker.Searcher` for partial results).
        """
        offers: list[AvailableNumber] = []
        rejected: list[RejectedRecord] = []

        async def collect(page: PageResult) -> None:
            offers.extend(page.offers)
            rejected.extend(page.rejected)

        stats = await self.stream_pages(query, collect, max_offers=max_offers)
        return ProviderResult(offers, rejected, stats)

    # -- owned numbers -----------------------------------------------------------------------------

    def _owned_redactor(self) -> Redactor | None:
        """The redactor owned records are masked with, once one of this vendor's answers showed a secret."""
        return self.connection.redactor if self.connection.echoed else None

    async def stream_owned(
        self, sink: OwnedSink, *, query: OwnedQuery = _ACCOUNT_VIEW, run: ProviderRun | None = None
    ) -> ProviderStats:
        """Fetch and normalize every page of the account's own numbers, handing each to ``sink`` when ready.

        The same engines as a search page its list (retries, deadline, page cap, bounded page window,
        ``truncated`` notes on ``run``); a record that cannot be read is a rejected record, never dropped;
        a credential the vendor echoed never reaches a number or a rejection. ``sink`` returning True stops.

        Raises:
            PurchaseError: this provider cannot list its numbers.
            ConfigurationError: ``query`` asks for a partner view this vendor does not have.
            ProviderError: the list could not be read; pages already handed on stay delivered.
        """
        if not self.lists_owned():
            raise PurchaseError(f"{self.id}: this provider cannot list its numbers")
        declared = self.after_purchase
        if query.view is not OwnedView.ACCOUNT and (declared is None or not declared.partner_views):
            raise ConfigurationError(f"{self.id}: has no partner views")
        return await stream_owned(self, query, sink, run=run)

    async def list_owned(
        self, *, query: OwnedQuery = _ACCOUNT_VIEW
    ) -> tuple[list[OwnedNumber], list[RejectedRecord], ProviderStats]:
        """Every owned number and rejected record at once (see :meth:`stream_owned`; raises the same)."""
        numbers: list[OwnedNumber] = []
        rejected: list[RejectedRecord] = []

        async def collect(page: OwnedPageResult) -> None:
            numbers.extend(page.numbers)
            rejected.extend(page.rejected)

        stats = await self.stream_owned(collect, query=query)
        return numbers, rejected, stats

    # -- giving numbers back -----------------------------------------------------------------------

    async def _release(self, number: OwnedNumber, *, immediate: bool) -> ReleaseAnswer:
        """Give ``number`` (from this account's owned list) back with one request (never retried).

        ``immediate`` asks a vendor with a cancellable cooldown to skip it. Return what the vendor said
        (:class:`~numbroker.ReleaseAnswer`); raise a refusal (an HTTP error of the tree, or
        :class:`ProviderResponseError` for a 2xx whose body says failure) and let transport failures through.
        """
        raise PurchaseError(f"{self.id}: this provider cannot release numbers")

    async def _cancel_release(self, number: OwnedNumber) -> ReleaseAnswer:
        """Undo a pending release of ``number`` with one request; the answer's state is ``active``."""
        raise PurchaseError(f"{self.id}: this provider cannot undo a release")

    async def _move_number(self, number: OwnedNumber, sub_account: str | None, *, force: bool) -> ReleaseAnswer:
        """Move ``number`` to ``sub_account`` (None: back to the parent account) with one request.

        ``force`` overrides a cool-off where the vendor lets an administrator do so. Raise
        :class:`~numbroker.CoolOffError` for a refusal until a cool-off ends; the answer's state is ``active``.
        """
        raise PurchaseError(f"{self.id}: this provider cannot move numbers between sub-accounts")

    @classmethod
    def moves_numbers(cls) -> bool:
        """True when the adapter can move numbers between the account and its sub-accounts."""
        return cls._move_number is not Provider._move_number

    async def move_number(self, number: OwnedNumber, sub_account: str | None, *, force: bool = False) -> ReleaseAnswer:
        """Move ``number`` to ``sub_account``, or back to the parent account (None), with one request.

        Raises:
            PurchaseError: this provider cannot move numbers, or ``number`` is another provider's.
            CoolOffError: the vendor refused until a cool-off ends (nothing changed).
            ProviderError: another refusal or a transport failure, in the error tree.
        """
        if not self.moves_numbers():
            raise PurchaseError(f"{self.id}: this provider cannot move numbers between sub-accounts")
        what = f"move to {sub_account}" if sub_account else "move back to the parent account"
        return await self._changed(number, what, lambda: self._move_number(number, sub_account, force=force))

    @classmethod
    def releases_numbers(cls) -> bool:
        """True when the adapter writes the release hook and its declaration does not say releases are unsupported."""
        declared = cls.after_purchase
        unsupported = declared is not None and declared.release is ReleaseMode.UNSUPPORTED
        return cls._release is not Provider._release and not unsupported

    @classmethod
    def undoes_releases(cls) -> bool:
        """True when the adapter can cancel a pending release (``_cancel_release``)."""
        return cls._cancel_release is not Provider._cancel_release

    async def release(self, number: OwnedNumber, *, immediate: bool = False) -> ReleaseAnswer:
        """Give ``number`` back to the vendor with one request. Never retried: confirm a failure against the list.

        Raises:
            PurchaseError: this provider cannot release numbers, or ``number`` is another provider's.
            ProviderError: the vendor's refusal or a transport failure, in the error tree.
        """
        return await self._changed(number, "release", lambda: self._release(number, immediate=immediate))

    async def cancel_release(self, number: OwnedNumber) -> ReleaseAnswer:
        """Undo a pending release of ``number`` with one request (the vendor's answer says the refund).

        Raises:
            PurchaseError: this provider cannot undo a release, or ``number`` is another provider's.
            ProviderError: the vendor's refusal or a transport failure, in the error tree.
        """
        if not self.undoes_releases():
            raise PurchaseError(f"{self.id}: this provider cannot undo a release")
        return await self._changed(number, "undo the release of", lambda: self._cancel_release(number))

    async def _changed(
        self, number: OwnedNumber, what: str, call: Callable[[], Awaitable[ReleaseAnswer]]
    ) -> ReleaseAnswer:
        """One account-changing call on ``number``, logged and redacted like a purchase."""
        if what == "release" and not self.releases_numbers():
            raise PurchaseError(f"{self.id}: this provider cannot release numbers")
        if number.provider != self.id:
            raise PurchaseError(f"{self.id}: {number.e164} is listed by provider {number.provider!r}")
        purchase_logger.info("%s: about to %s %s", self.id, what, number.e164)
        try:
            answer = await call()
        except Exception as exc:
            self.connection.redactor.scrub(exc)
            purchase_logger.info(
                "%s: could not %s %s: %s: %s", self.id, what, number.e164, type(exc).__name__, self.redact(str(exc))
            )
            raise
        if answer.message is not None:
            answer = replace(answer, message=self.redact(answer.message)[:200])
        if answer.refund_failed is not None:
            answer = replace(answer, refund_failed=self.redact(answer.refund_failed)[:200])
        purchase_logger.info("%s: %s %s: %s", self.id, what, number.e164, answer.state.value)
        return answer

    # -- purchasing --------------------------------------------------------------------------------

    async def purchase(self, offer: AvailableNumber) -> PurchaseReceipt:
        """Buy ``offer`` with one request. Never retried: a failure's meaning is for the caller to decide.

        Use :func:`~numbroker.buying.classify_purchase_error` on what this raises: ``gone`` (nothing bought),
        ``provider_refused`` (nothing bought; this provider will not sell as configured) or ``ambiguous``
        (maybe bought: confirm with :meth:`owns` before doing anything else).

        Raises:
            PurchaseError: this provider cannot buy, or ``offer`` is another provider's.
            ProviderError: the vendor's refusal or a transport failure, in the error tree.
        """
        if not self.supports_purchase:
            raise PurchaseError(f"{self.id}: this provider cannot buy numbers")
        if offer.provider != self.id:
            raise PurchaseError(f"{self.id}: offer {offer.offer_id!r} belongs to provider {offer.provider!r}")
        purchase_logger.info("%s: buying %s (offer %s)", self.id, offer.e164, self.redact(offer.offer_id))
        redactor = self.connection.redactor
        try:
            receipt = redact_receipt(redactor, await self._purchase(offer))
        except Exception as exc:
            redactor.scrub(exc)
            purchase_logger.info(
                "%s: buying %s failed: %s: %s", self.id, offer.e164, type(exc).__name__, self.redact(str(exc))
            )
            raise
        purchase_logger.info("%s: bought %s (vendor id %s)", self.id, offer.e164, receipt.vendor_id or "not given")
        return receipt

    async def owns(self, e164: str) -> bool:
        """True when ``e164`` is among this account's own numbers (every page is read; reads are retried).

        The adapter's :meth:`_owns_number` is asked first (a vendor that can answer for one number);
        when it has no answer, ``_owned_numbers()`` is walked. Numbers are compared in canonical E.164 on
        both sides. A page that cannot be read is fetched again from the start (up to ``retry.attempts``
        times); an owned entry that is not a readable phone number makes a "no" unprovable, so it raises
        instead of answering False.

        Raises:
            ConfigurationError: ``e164`` is not a phone number.
            PurchaseError: this provider cannot list its numbers.
            ProviderError: the list could not be read completely: ownership is unknown.
        """
        lookup: Callable[[str], Awaitable[bool | None]] = self._owns_number
        if self.lists_owned():
            # Without a vendor lookup's answer, the owned-list hook answers: the very walk `numbroker owned`
            # makes, read completely.

            async def walk(target: str) -> bool:
                answer = await self._owns_number(target)
                if answer is None:
                    return await holds_owned(self, target, OwnedQuery(e164=target))
                return answer

            lookup = walk
        return await owns_number(
            self._owned_numbers,
            e164,
            provider_id=self.id,
            attempts=self.connection.retry.attempts,
            lookup=lookup,
        )

    def account_key(self) -> str:
        """The account this instance buys for, as ``<id>:<digest>``: what the purchase ledger keys on.

        The digest is SHA-256 over the provider id, the canonical base URL (see
        :func:`~numbroker.adapters._credentials.canonical_base_url`) and the account's identity: the
        vendor's account id when ``account_id_credential`` names it (a rotated token is the same
        account), else the credential names and the resolved secret values. The key reveals no
        credential.
        """
        return account_key(
            self.id,
            self.base_url,
            self.credentials,
            self.connection.redactor.secrets,
            account_id=getattr(self, "_account_id", None),
        )
