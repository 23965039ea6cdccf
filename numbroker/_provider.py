"""The provider contract and the plumbing every adapter shares.

An adapter subclasses :class:`Provider`, declares its identity, credentials, paging style and filter
support as class attributes, and writes three small hooks:

* ``_auth_headers()``: the vendor's auth headers;
* ``_fetch_page(query, cursor)``: one HTTP call (through ``self._get``) returning a :class:`RawPage`;
* ``_normalize(record, query)``: one raw record to an :class:`AvailableNumber` (via :func:`make_offer`
  and the money converters), raising :class:`FieldError` or a pydantic ``ValidationError`` when the
  record is bad.

An adapter that can buy also sets ``supports_purchase = True`` and writes ``_purchase(offer)`` (one
``_post``, never retried) and ``_owned_numbers()`` (every owned number, through ``_get``); the templates
:meth:`Provider.purchase` and :meth:`Provider.owns` wrap them.

Everything else lives here: base URL and id validation, owning or borrowing the HTTP client, secret
redaction, the status → exception table, retries of idempotent GETs, rate limiting, response size
limits, and the two paging engines (numbered pages fetched concurrently once ``total`` is known;
token chains fetched by a task of their own that never waits for normalization), both guarded
against runaway paging.

Scheduling, on one event loop: the network steps come first. Pages are normalized one at a time per
search (a shared lock) in slices of :data:`NORMALIZE_SLICE_SECONDS`, so an arrived response waits for
at most one slice of normalization (plus other responses being decoded) before the task that reads it,
and sends the next request, runs.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import logging
import math
import os
import re
import ssl
import time
import zlib
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, Literal, Self, TypeVar
from urllib.parse import quote, urlsplit

import anyio
import anyio.lowlevel
import httpx
from anyio.streams.memory import MemoryObjectSendStream
from pydantic import SecretStr, ValidationError

from numbroker._events import PageFetched, RequestFinished, RetryScheduled, SearchEvent, notify
from numbroker._exceptions import (
    ConfigurationError,
    MissingCredentialsError,
    ProviderConnectionError,
    ProviderError,
    ProviderResponseError,
    ProviderTimeoutError,
    PurchaseError,
)
from numbroker._http import RateLimit, RateLimiter, RetryPolicy, error_for_status, loads
from numbroker._models import AvailableNumber, RejectedRecord, SearchQuery
from numbroker._money import FieldError
from numbroker._phone import Strictness, parse_e164
from numbroker._receipts import PurchaseReceipt
from numbroker._types import FilterSupport, QueryFilter

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "PageResult",
    "Provider",
    "ProviderResult",
    "ProviderRun",
    "ProviderStats",
    "RawPage",
    "check_base_url",
    "path_segment",
]

logger = logging.getLogger("numbroker.http")
purchase_logger = logging.getLogger("numbroker.purchase")
_T = TypeVar("_T")

DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024
"""Responses larger than this (10 MiB, after decompression) are cut off with a ProviderResponseError."""

NORMALIZE_SLICE_SECONDS = 0.0001
"""CPU time a page's normalization runs before it yields to the event loop (responses waiting to be read)."""

DEFAULT_TIMEOUT = 15.0
"""Seconds one HTTP request may take (connect, read, write, pool) before it times out."""

_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,127}")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


async def _once(content: bytes) -> AsyncIterator[bytes]:
    yield content


class _SecretRedactor(logging.Filter):
    """Redacts credentials from records of the HTTP libraries numbroker drives.

    httpx logs every request's full URL at INFO (account ids are path segments) and httpcore logs raw
    response headers at DEBUG (a vendor may echo a credential). numbroker's own log lines are redacted
    where they are written; this filter does the same for those libraries' loggers, for every credential
    any provider in this process registered.
    """

    LOGGERS = (
        "httpx",
        "httpcore",
        "httpcore.connection",
        "httpcore.http11",
        "httpcore.http2",
        "httpcore.proxy",
        "httpcore.socks",
    )

    def __init__(self) -> None:
        super().__init__()
        self._secrets: list[str] = []
        self._installed = False

    def add(self, secret: str) -> None:
        if not self._installed:
            for name in self.LOGGERS:
                logging.getLogger(name).addFilter(self)
            self._installed = True
        if secret not in self._secrets:
            self._secrets.append(secret)
            self._secrets.sort(key=len, reverse=True)
            quoted = quote(secret, safe="")
            if quoted != secret:
                self._secrets.append(quoted)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        for secret in self._secrets:
            redacted = redacted.replace(secret, "***")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_LIBRARY_LOG_REDACTOR = _SecretRedactor()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One default-verifying TLS context for every client numbroker creates.

    Building a context loads the CA bundle (tens of milliseconds of CPU); a search creates a client per
    provider, so sharing one keeps that cost out of every search. Contexts are safe to share.
    """
    return httpx.create_ssl_context()


def path_segment(value: str, name: str) -> str:
    """Validate an id that goes into a URL path (so ``../`` or ``/`` cannot reach another endpoint)."""
    if not _SEGMENT.fullmatch(value):
        raise ConfigurationError(
            f"{name} must be 1-128 letters, digits, '_' or '-' (it goes into the URL path); got an invalid value"
        )
    return value


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, *, name: str = "base_url") -> str:
    """Require ``https://``, or ``http://`` to a loopback address; return the URL without a trailing slash."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if (parts.scheme == "https" and host) or (parts.scheme == "http" and host and _is_loopback(host)):
        pass
    else:
        raise ConfigurationError(
            f"{name} must be an https:// URL (plain http:// is allowed only to loopback addresses): {url!r}"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigurationError(f"{name} must not carry a query, fragment or user info: {url!r}")
    return url.rstrip("/")


@dataclass(frozen=True, slots=True)
class RawPage:
    """One vendor page as fetched: raw records plus what the paging engine needs.

    Attributes:
        records: the raw JSON records (each normalized or rejected, never dropped).
        next_token: token-paged vendors: the next page token (None or "" when there is none).
        total: numbered-page vendors: the total number of matching records, if the vendor says.
    """

    records: Sequence[Any]
    next_token: str | None = None
    total: int | None = None


@dataclass(frozen=True, slots=True)
class PageResult:
    """One normalized page: offers that match the query's number filters, and rejected records."""

    provider: str
    page: int
    offers: list[AvailableNumber]
    rejected: list[RejectedRecord]


@dataclass(slots=True)
class ProviderStats:
    """What one provider did during one search (mutable while it runs)."""

    requests: int = 0
    pages: int = 0
    retries: int = 0
    offers: int = 0
    rejected: int = 0
    duplicates: int = 0
    excluded: Counter[str] = field(default_factory=Counter)
    truncated: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ProviderRun:
    """The context a search gives a provider.

    Attributes:
        stats: statistics to fill.
        emit: the event sink.
        limiter: requests in flight, shared by every provider of the search.
        normalizing: held while a page is normalized, shared by every provider of the search (see
            :meth:`Provider._page_result`); ``stream_pages`` makes one when none is given.
    """

    stats: ProviderStats = field(default_factory=ProviderStats)
    emit: Callable[[SearchEvent], None] | None = None
    limiter: anyio.Semaphore | None = None
    normalizing: anyio.Lock | None = None


_current_run: ContextVar[ProviderRun | None] = ContextVar("numbroker_provider_run", default=None)


@dataclass(frozen=True, slots=True)
class ProviderResult:
    """Everything one provider returned for one query."""

    offers: list[AvailableNumber]
    rejected: list[RejectedRecord]
    stats: ProviderStats


PageSink = Callable[[PageResult], Awaitable[None]]
Cursor = int | str | None


@dataclass(frozen=True, slots=True)
class OwnedPage:
    """One page of the account's own numbers, for the owned-list walkers.

    Attributes:
        numbers: each entry's number as the vendor wrote it ("" for an entry without a readable one).
        echoed_page: numbered lists: the page number the vendor says it sent, if it says.
        page_size: numbered lists: the page size the vendor says it used, if it says.
        total: numbered lists: the total the vendor states, if any.
        next_token: token lists: the next page's token (None or "" at the end).
    """

    numbers: Sequence[str]
    echoed_page: int | None = None
    page_size: int | None = None
    total: int | None = None
    next_token: str | None = None


class _PageWindow:
    """Which numbered pages may be requested now.

    At most ``concurrency`` requests in flight, and at most twice that many pages fetched but not yet
    delivered (normalization lagging behind a fast network never piles up raw pages); with ``wanted``
    (offers still wanted), only as many undelivered pages as could fill it. One page may always go.
    """

    def __init__(self, concurrency: int, per_page: int, wanted: Callable[[], int] | None) -> None:
        self._concurrency = concurrency
        self._per_page = per_page
        self._wanted = wanted
        self._requesting = 0
        self._undelivered = 0
        self._changed = anyio.Event()

    def room(self) -> bool:
        if self._undelivered == 0:
            return True
        if self._requesting >= self._concurrency:
            return False
        if self._wanted is not None:
            return self._undelivered * self._per_page < self._wanted()
        return self._undelivered < 2 * self._concurrency

    def opened(self) -> None:
        self._requesting += 1
        self._undelivered += 1

    def answered(self) -> None:
        self._requesting -= 1
        self._notify()

    def delivered(self) -> None:
        self._undelivered -= 1
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def changed(self) -> None:
        await self._changed.wait()


async def _send_soon(send: MemoryObjectSendStream[_T], item: _T) -> None:
    """Send without a checkpoint when the buffer has room (a chain's next request is not held up)."""
    try:
        send.send_nowait(item)
    except anyio.WouldBlock:
        await send.send(item)


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
    record_id_field: ClassVar[str | None] = None
    wire_fields: ClassVar[Mapping[str, str]] = {}
    """Normalized field → vendor field, so a rejection names the field the vendor sent."""
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
        """Set up the shared plumbing.

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
        self.base_url = check_base_url(url, name=self.base_url_env if not base_url else "base_url")
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.max_response_bytes = max_response_bytes
        self.number_strictness: Strictness = number_strictness
        self._secrets: list[str] = []
        if http_client is not None and transport is not None:
            raise ConfigurationError("give http_client or transport, not both")
        self._own_client = http_client is None
        self._client = http_client
        self._transport = transport
        self._rate_limiter = RateLimiter(self.rate_limit) if self.rate_limit else None
        self._closed = False

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
        source = os.environ if env is None else env
        return [var for var in cls.credentials.values() if not source.get(var)]

    @classmethod
    def is_configured(cls, env: Mapping[str, str] | None = None) -> bool:
        """True when every required credential variable is set."""
        return not cls.missing_env(env)

    def _resolve_credentials(self, given: Mapping[str, str | None]) -> dict[str, SecretStr]:
        """Resolve each credential from its argument or environment variable; raise naming all missing ones."""
        resolved: dict[str, SecretStr] = {}
        missing: dict[str, str] = {}
        for kwarg, env_var in self.credentials.items():
            value = given.get(kwarg) or self._env.get(env_var)
            if not value:
                missing[kwarg] = env_var
                continue
            resolved[kwarg] = SecretStr(value)
            self._add_secret(value)
        if missing:
            raise MissingCredentialsError(self.id, missing)
        return resolved

    def _setting(self, kwarg: str, given: str | None, default: str | None = None) -> str | None:
        """Resolve an optional setting from its argument, then its environment variable, then ``default``."""
        env_var = self.settings.get(kwarg)
        return given or (self._env.get(env_var) if env_var else None) or default

    def _add_secret(self, value: str) -> None:
        if value and value not in self._secrets:
            self._secrets.append(value)
            self._secrets.sort(key=len, reverse=True)
            _LIBRARY_LOG_REDACTOR.add(value)

    def redact(self, text: str) -> str:
        """Replace every credential value (and its URL-quoted form) in ``text`` with ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
            quoted = quote(secret, safe="")
            if quoted != secret:
                text = text.replace(quoted, "***")
        return text

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={self.id!r} base_url={self.redact(self.base_url)!r}>"

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def client(self) -> httpx.AsyncClient:
        """The HTTP client: the injected one, or one created on first use."""
        if self._client is None:
            if self._closed:
                raise ConfigurationError(f"{self.id}: provider is closed")
            self._client = httpx.AsyncClient(
                transport=self._transport,
                verify=_tls_context(),
                timeout=httpx.Timeout(self.timeout),
                follow_redirects=False,
                limits=httpx.Limits(max_connections=max(8, self.page_concurrency * 2)),
                headers={"Accept": "application/json", "User-Agent": "numbroker"},
            )
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client if this provider created it (an injected client is left open)."""
        self._closed = True
        if self._own_client and self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

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

    # -- HTTP ------------------------------------------------------------------------------------

    def _url(self, *segments: str) -> str:
        return self.base_url + "".join("/" + quote(s, safe="") for s in segments)

    async def _get(self, url: str, *, params: Any = None) -> httpx.Response:
        """GET with retries on 429/5xx/timeouts/connection errors, honouring Retry-After and the deadline."""
        return await self._with_retries(lambda: self._send("GET", url, params=params))

    async def _with_retries(self, operation: Callable[[], Awaitable[_T]]) -> _T:
        """Run an idempotent ``operation``, retrying per :attr:`retry`; never sleeps past the deadline."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await operation()
            except ProviderError as exc:
                delay = self.retry.delay(attempt, exc)
                if delay is None or anyio.current_time() + delay >= anyio.current_effective_deadline():
                    raise
                run = _current_run.get()
                if run is not None:
                    run.stats.retries += 1
                self._emit(RetryScheduled(self.id, attempt=attempt, delay=delay, reason=exc.detail))
                logger.info("%s: retry %d in %.2fs after: %s", self.id, attempt, delay, exc.detail)
                await anyio.sleep(delay)

    async def _post(self, url: str, *, json: Any) -> httpx.Response:
        """POST once. Never retried: a purchase's outcome must be confirmed, not guessed."""
        return await self._send("POST", url, json=json)

    async def _send(self, method: str, url: str, *, params: Any = None, json: Any = None) -> httpx.Response:
        """Send one request; map every failure into the error tree; cap and buffer the body."""
        if self._rate_limiter is not None:
            await self._rate_limiter.acquire()
        run = _current_run.get()
        request = self.client.build_request(
            method,
            url,
            params=params,
            json=json,
            headers={"Accept": "application/json", "Accept-Encoding": "gzip, deflate", **self._auth_headers()},
        )
        shown = self.redact(str(request.url.copy_with(query=None)).removeprefix(self.base_url) or "/")
        started = anyio.current_time()
        status: int | None = None
        if run is not None:
            run.stats.requests += 1
        try:
            if run is not None and run.limiter is not None:
                async with run.limiter:
                    response = await self._receive(request)
            else:
                response = await self._receive(request)
            status = response.status_code
        finally:
            elapsed = anyio.current_time() - started
            logger.debug("%s %s %s -> %s (%.0f ms)", self.id, method, shown, status or "failed", elapsed * 1000)
            self._emit(RequestFinished(self.id, method=method, path=shown, status=status, elapsed=elapsed))
        if status >= 300:
            body = self.redact(response.content[:2000].decode("utf-8", "replace"))
            headers = {name: self.redact(value) for name, value in response.headers.items()}
            raise error_for_status(self.id, response, body, headers=headers)
        return response

    async def _receive(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self.client.send(request, stream=True, follow_redirects=False)
        except httpx.TimeoutException as exc:
            raise ProviderTimeoutError(self.id, f"request timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            from numbroker._transport_errors import describe_connection_failure  # host, port and cause

            raise ProviderConnectionError(self.id, self.redact(describe_connection_failure(request, exc))) from None
        try:
            chunks: list[bytes] = []
            size = 0
            limit = self.max_response_bytes
            try:
                loaded: bytes | None = response.content  # in-memory responses (mock transports) arrive read
            except httpx.ResponseNotRead:
                loaded = None
            decoder = None if loaded is not None else self._decoder(response.headers.get("content-encoding", ""))
            if loaded is not None:
                stream: AsyncIterator[bytes] = _once(loaded)
            else:
                # The raw network stream, iterated (and closed) here directly: cut off early, nothing is left open.
                assert isinstance(response.stream, httpx.AsyncByteStream)
                stream = response.stream.__aiter__()
            async with contextlib.aclosing(stream) as body:  # type: ignore[type-var]
                async for raw in body:
                    # Decompress at most one byte past the limit per step: a compression bomb never inflates.
                    chunk = decoder.decompress(raw, limit - size + 1) if decoder is not None else raw
                    size += len(chunk)
                    if size > limit:
                        raise ProviderResponseError(self.id, f"response body exceeds the {limit}-byte limit; cut off")
                    chunks.append(chunk)
            if decoder is not None:
                chunks.append(decoder.flush())
        except httpx.TimeoutException as exc:
            raise ProviderTimeoutError(self.id, f"response timed out ({type(exc).__name__})") from None
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise ProviderConnectionError(self.id, f"response broken off ({type(exc).__name__})") from None
        except zlib.error:
            raise ProviderResponseError(self.id, "response body is not valid compressed data") from None
        finally:
            await response.aclose()
        headers = [
            (k, v) for k, v in response.headers.multi_items() if k.lower() not in ("content-encoding", "content-length")
        ]
        return httpx.Response(response.status_code, headers=headers, content=b"".join(chunks), request=request)

    def _decoder(self, encoding: str) -> Any:
        """A bounded decompressor for the response's content encoding (None for identity)."""
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            return None
        if encoding in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if encoding == "deflate":
            return zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib-wrapped (auto-detected header)
        raise ProviderResponseError(self.id, f"unsupported content encoding {encoding!r} (asked for gzip or deflate)")

    def _json(self, response: httpx.Response) -> Any:
        """Parse a response body as JSON with Decimal numbers (see :func:`numbroker._http.loads`)."""
        return loads(self.id, response.content)

    def _note(self, text: str) -> None:
        """Record something worth knowing about this run (shown in the provider's report) and log it."""
        logger.info("%s: %s", self.id, text)
        run = _current_run.get()
        if run is not None:
            run.stats.notes.append(text)

    def _emit(self, event: SearchEvent) -> None:
        run = _current_run.get()
        notify(run.emit if run is not None else None, event)

    # -- normalization -----------------------------------------------------------------------------

    def _record_id(self, record: Any) -> str | None:
        if self.record_id_field and isinstance(record, Mapping):
            value = record.get(self.record_id_field)
            if isinstance(value, str | int) and not isinstance(value, bool):
                return str(value)[:200]
        return None

    def _reject(self, record: Any, field_name: str | None, value: object, reason: str) -> RejectedRecord:
        wire = self.wire_fields.get(field_name, field_name) if field_name else None
        return RejectedRecord.from_value(
            provider=self.id, offer_id=self._record_id(record), field=wire, value=value, reason=reason
        )

    def normalize_record(self, record: Any, query: SearchQuery) -> AvailableNumber | RejectedRecord:
        """Normalize one raw vendor record: an offer, or a rejection naming field and reason. Never raises."""
        try:
            return self._normalize(record, query)
        except FieldError as exc:
            return self._reject(record, exc.field, exc.value, exc.reason)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            loc = ".".join(str(p) for p in error["loc"]) or None
            return self._reject(record, loc, error.get("input"), error["msg"])
        except (TypeError, KeyError, AttributeError, ArithmeticError, ValueError) as exc:
            logger.warning("%s: unexpected record shape (%s)", self.id, type(exc).__name__)
            return self._reject(record, None, None, f"unexpected record shape: {type(exc).__name__}: {exc}")

    async def _page_result(self, raw: RawPage, number: int, query: SearchQuery, seen: set[str] | None) -> PageResult:
        run = _current_run.get()
        stats = run.stats if run is not None else ProviderStats()
        if run is None or run.normalizing is None:
            return await self._normalize_page(raw, number, query, seen, stats)
        # One page at a time per search. Normalization is CPU work on one thread: interleaving several
        # pages finishes none of them sooner, and each page waiting its turn at a checkpoint would stand
        # between an arrived response and the task that sends the next request (a token chain's next hop).
        async with run.normalizing:
            return await self._normalize_page(raw, number, query, seen, stats)

    async def _normalize_page(
        self, raw: RawPage, number: int, query: SearchQuery, seen: set[str] | None, stats: ProviderStats
    ) -> PageResult:
        offers: list[AvailableNumber] = []
        rejected: list[RejectedRecord] = []
        clock = time.perf_counter
        yield_at = clock() + NORMALIZE_SLICE_SECONDS
        for record in raw.records:
            if clock() >= yield_at:
                # Normalization is CPU work: yield now and then so requests in flight (the next page's,
                # other providers') are sent and read while a long page is normalized.
                await anyio.lowlevel.checkpoint()
                yield_at = clock() + NORMALIZE_SLICE_SECONDS
            result = self.normalize_record(record, query)
            if isinstance(result, RejectedRecord):
                rejected.append(result)
                continue
            if seen is not None:
                key = result.offer_id
                if key in seen:
                    stats.duplicates += 1
                    continue
                seen.add(key)
            reason = query.exclusion(result)
            if reason is not None:
                stats.excluded[reason] += 1
                continue
            offers.append(result)
        stats.pages += 1
        stats.offers += len(offers)
        stats.rejected += len(rejected)
        self._emit(PageFetched(self.id, page=number, offers=len(offers), rejected=len(rejected)))
        return PageResult(self.id, number, offers, rejected)

    # -- searching ---------------------------------------------------------------------------------

    def unapplied_filters(self, query: SearchQuery) -> dict[QueryFilter, FilterSupport]:
        """The filters ``query`` uses that this provider cannot apply natively, with how they are handled."""
        used = {
            QueryFilter.NUMBER_TYPE: query.number_type is not None,
            QueryFilter.CAPABILITIES: bool(query.capabilities),
            QueryFilter.PREFIX: query.prefix is not None,
            QueryFilter.CONTAINS: query.contains is not None,
            QueryFilter.MAX_SETUP_PRICE: query.max_setup_price is not None,
            QueryFilter.MAX_MONTHLY_PRICE: query.max_monthly_price is not None,
        }
        out: dict[QueryFilter, FilterSupport] = {}
        for name, in_use in used.items():
            support = self.filter_support.get(name, FilterSupport.EMULATED)
            if in_use and support is not FilterSupport.NATIVE:
                out[name] = support
        return out

    async def stream_pages(
        self,
        query: SearchQuery,
        sink: PageSink,
        *,
        run: ProviderRun | None = None,
        max_offers: int | None = None,
        dedupe: bool = True,
    ) -> ProviderStats:
        """Fetch and normalize every page for ``query``, handing each to ``sink`` as soon as it is ready.

        Args:
            query: the search.
            sink: awaited with each normalized page.
            run: statistics, event sink and shared limiter (a fresh one by default).
            max_offers: stop fetching once this many matching offers were delivered (in vendor order).
            dedupe: deliver an offer the vendor serves twice (shifting pages) only once. This keeps every
                offer id seen, so memory grows with the offers; a consumer that keeps a bounded selection
                (``Searcher.top_k``) turns it off and drops repeats among what it keeps instead.

        Returns:
            The statistics of this run.

        Raises:
            ProviderError: the provider failed; pages already handed to ``sink`` stay delivered.
        """
        run = run or ProviderRun()
        if run.normalizing is None:
            run.normalizing = anyio.Lock()
        token = _current_run.set(run)
        try:
            delivered = 0
            seen: set[str] | None = set() if dedupe else None

            async def deliver(raw: RawPage, number: int) -> bool:
                nonlocal delivered
                page = await self._page_result(raw, number, query, seen)
                if max_offers is not None:
                    page = PageResult(page.provider, page.page, page.offers[: max_offers - delivered], page.rejected)
                delivered += len(page.offers)
                await sink(page)
                return max_offers is not None and delivered >= max_offers

            if self.paging == "numbered":
                await self._walk_numbered(query, deliver, run.stats, max_offers=max_offers)
            elif self.paging == "token":
                await self._walk_tokens(query, deliver, run.stats)
            else:
                await deliver(await self._fetch_page(query, None), 1)
            return run.stats
        finally:
            _current_run.reset(token)

    async def _walk_numbered(
        self,
        query: SearchQuery,
        deliver: Callable[[RawPage, int], Awaitable[bool]],
        stats: ProviderStats,
        *,
        max_offers: int | None = None,
    ) -> None:
        """Walk numbered pages: page 1 (for the total), then the others ``page_concurrency`` at a time.

        Without ``max_offers`` the other pages are requested before page 1 is normalized. With it, no
        request is sent in vain: only as many pages are in flight as the offers still wanted could fill,
        and each holds its slot until it is delivered.
        """
        first = await self._fetch_page(query, 1)
        eager = max_offers is None
        pipelined = (
            eager
            and self.max_pages >= 2
            and first.total is not None
            and first.total > len(first.records) >= self.per_page
        )
        if not pipelined and (await deliver(first, 1) or len(first.records) < self.per_page):
            return
        number = 1
        last_full = True
        if first.total is not None:
            # The first page gave the total: fetch every other page at once, bounded.
            needed = math.ceil(first.total / self.per_page)
            last = min(needed, self.max_pages)
            if needed > self.max_pages:
                stats.truncated = True
                stats.notes.append(
                    f"total {first.total} needs {needed} pages; stopped at the {self.max_pages}-page cap"
                )
            if last >= 2:
                sizes: dict[int, int] = {}
                failure: ProviderError | None = None
                window = _PageWindow(
                    self.page_concurrency,
                    self.per_page,
                    None if max_offers is None else (lambda: max_offers - stats.offers),
                )

                # Page 1, in hand, is delivered even when a later page fails while it is normalized.
                first_delivered = anyio.Event()
                if not pipelined:
                    first_delivered.set()

                async with anyio.create_task_group() as tg:

                    async def fetch(page_number: int) -> None:
                        nonlocal failure
                        try:
                            try:
                                page = await self._fetch_page(query, page_number)
                            except ProviderError as exc:
                                # One failed page fails the provider; pages already delivered stay delivered.
                                failure = failure or exc
                                await first_delivered.wait()
                                tg.cancel_scope.cancel()
                                return
                            finally:
                                window.answered()
                            sizes[page_number] = len(page.records)
                            if await deliver(page, page_number):
                                tg.cancel_scope.cancel()
                        finally:
                            window.delivered()

                    # Pages start in page order (whatever order tasks are scheduled in), as the window
                    # allows: those that fit now at once, the rest from a launcher task.
                    remaining = iter(range(2, last + 1))
                    for page_number in remaining:
                        window.opened()
                        tg.start_soon(fetch, page_number)
                        if not window.room():
                            break

                    async def launch() -> None:
                        for page_number in remaining:
                            while not window.room():
                                await window.changed()
                            if failure is not None:
                                return  # no new requests for a provider that already failed
                            window.opened()
                            tg.start_soon(fetch, page_number)

                    tg.start_soon(launch)
                    if pipelined:
                        # The requests leave at this delivery's first checkpoint; page 1 is normalized
                        # while they are on the wire.
                        await deliver(first, 1)
                        first_delivered.set()
                if failure is not None:
                    raise failure
                if tg.cancel_scope.cancel_called:
                    return
                last_full = sizes.get(last, 0) >= self.per_page
            number = last
        # No total, or a total that may lie low (its last page was full): walk on one page at a time
        # until a short or empty page, or the cap.
        while last_full:
            if number >= self.max_pages:
                stats.truncated = True
                stats.notes.append(f"stopped at the {self.max_pages}-page cap")
                return
            number += 1
            page = await self._fetch_page(query, number)
            if not page.records:
                return
            if first.total is not None:
                stats.notes.append(f"page {number} lies beyond the stated total {first.total} and had records")
            duplicates_before = stats.duplicates
            if await deliver(page, number):
                return
            if stats.duplicates - duplicates_before == len(page.records):
                stats.notes.append(f"page {number} only repeated earlier records; paging stopped")
                return
            last_full = len(page.records) >= self.per_page

    async def _walk_tokens(
        self, query: SearchQuery, deliver: Callable[[RawPage, int], Awaitable[bool]], stats: ProviderStats
    ) -> None:
        # Two tasks: this one walks the chain, fetching page after page and never normalizing, so each
        # hop's request leaves as soon as the previous page's token is read (and the first one leaves
        # without waiting for a task to start); a consumer task normalizes and delivers them in order.
        # One page may wait in the buffer while another is normalized (memory stays bounded).
        send, receive = anyio.create_memory_object_stream[RawPage | ProviderError](1)
        failure: ProviderError | None = None

        async def consume() -> None:
            nonlocal failure
            number = 0
            async for item in receive:
                if isinstance(item, ProviderError):
                    failure = item
                    break
                number += 1
                if await deliver(item, number):
                    break
            tg.cancel_scope.cancel()  # done early: stop the chain

        async with receive, anyio.create_task_group() as tg:
            tg.start_soon(consume)
            with send:
                seen_tokens: set[str] = set()
                token: str | None = None
                number = 0
                while True:
                    try:
                        page = await self._fetch_page(query, token)
                    except ProviderError as exc:
                        await send.send(exc)  # after the pages already fetched
                        break
                    number += 1
                    await _send_soon(send, page)
                    token = page.next_token or None
                    if token is None:
                        break
                    if token in seen_tokens:
                        error = f"page {number} repeated an earlier page token; paging stopped"
                        await send.send(ProviderResponseError(self.id, error))
                        break
                    if number >= self.max_pages:
                        stats.truncated = True
                        stats.notes.append(f"stopped at the {self.max_pages}-page cap")
                        break
                    seen_tokens.add(token)
        if failure is not None:
            raise failure

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

    # -- purchasing --------------------------------------------------------------------------------

    async def purchase(self, offer: AvailableNumber) -> PurchaseReceipt:
        """Buy ``offer`` with one request. Never retried: a failure's meaning is for the caller to decide.

        Use :func:`~numbroker.classify_purchase_error` on what this raises: ``gone`` (nothing bought),
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
        try:
            receipt = await self._purchase(offer)
        except Exception as exc:
            purchase_logger.info(
                "%s: buying %s failed: %s: %s", self.id, offer.e164, type(exc).__name__, self.redact(str(exc))
            )
            raise
        purchase_logger.info("%s: bought %s (vendor id %s)", self.id, offer.e164, receipt.vendor_id or "not given")
        return receipt

    async def owns(self, e164: str) -> bool:
        """True when ``e164`` is among this account's own numbers (every page is read; reads are retried).

        Numbers are compared in canonical E.164 on both sides. A page that cannot be read is fetched again
        from the start (up to ``retry.attempts`` times); an owned entry that is not a readable phone
        number makes a "no" unprovable, so it raises instead of answering False.

        Raises:
            ConfigurationError: ``e164`` is not a phone number.
            PurchaseError: this provider cannot list its numbers.
            ProviderError: the list could not be read completely: ownership is unknown.
        """
        try:
            target = parse_e164(e164, strictness="possible").e164
        except FieldError as exc:
            raise ConfigurationError(f"{self.id}: not a phone number: {e164!r} ({exc.reason})") from None
        attempts = max(1, self.retry.attempts)
        for attempt in range(1, attempts + 1):
            try:
                return await self._scan_owned(target)
            except ProviderResponseError as exc:
                if attempt >= attempts:
                    raise
                purchase_logger.info("%s: owned-number list unreadable (%s); reading it again", self.id, exc.detail)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _scan_owned(self, target: str) -> bool:
        unreadable = 0
        numbers = self._owned_numbers()
        try:
            async for raw in numbers:
                try:
                    if parse_e164(raw, strictness="possible").e164 == target:
                        return True
                except FieldError:
                    unreadable += 1
        finally:
            close = getattr(numbers, "aclose", None)
            if close is not None:
                await close()
        if unreadable:
            raise ProviderResponseError(
                self.id, f"{unreadable} owned numbers are not readable phone numbers; ownership cannot be ruled out"
            )
        return False

    async def _purchase(self, offer: AvailableNumber) -> PurchaseReceipt:
        """Buy one offer with one ``_post`` (never retried); return the receipt or raise in the error tree.

        Translate vendor-specific answers: "gone/taken" → :class:`NumberUnavailableError`, a refusal → the
        matching HTTP error, a 2xx whose body cannot be read → :class:`ProviderResponseError`.
        """
        raise PurchaseError(f"{self.id}: this provider cannot buy numbers")

    def _owned_numbers(self) -> AsyncIterator[str]:
        """Every number the account owns, over all pages, through ``_get`` (so reads are retried).

        Yield each entry's number as the vendor wrote it ("" when an entry has none); guard paging with
        ``max_pages`` and raise :class:`ProviderResponseError` when the list cannot be walked completely.
        """
        raise PurchaseError(f"{self.id}: this provider cannot list its numbers")

    async def _walk_owned_numbered(
        self, fetch: Callable[[int], Awaitable[OwnedPage]], page_size: int
    ) -> AsyncIterator[str]:
        """Every owned number over numbered pages, or a ProviderResponseError when the list cannot be proven whole.

        ``fetch(n)`` reads page ``n``. Only a short or empty page ends the list (a total can lie low); a page
        other than the one asked for, a page of nothing but repeats, a list that ends before its stated
        total, and the page cap all raise: "not owned" must never rest on a partial list.
        """
        seen: set[str] = set()
        count = 0
        total: int | None = None
        for number in range(1, self.max_pages + 1):
            page = await fetch(number)
            if page.echoed_page is not None and page.echoed_page != number:
                raise ProviderResponseError(
                    self.id, f"owned numbers: asked for page {number}, got page {page.echoed_page}"
                )
            total = page.total if page.total is not None else total
            fresh = 0
            for text in page.numbers:
                fresh += text not in seen
                seen.add(text)
                yield text
            count += len(page.numbers)
            if page.numbers and not fresh:
                raise ProviderResponseError(self.id, f"owned numbers page {number} only repeated earlier entries")
            if len(page.numbers) < (page.page_size or page_size):
                if total is not None and total > count:
                    raise ProviderResponseError(self.id, f"owned numbers: the list ended at {count} of {total}")
                return
        raise ProviderResponseError(self.id, f"owned numbers: more than {self.max_pages} pages; not read completely")

    async def _walk_owned_tokens(self, fetch: Callable[[str | None], Awaitable[OwnedPage]]) -> AsyncIterator[str]:
        """Every owned number over a page-token chain; a repeated token or the page cap raises (see above)."""
        token: str | None = None
        used: set[str] = set()
        for number in range(1, self.max_pages + 1):
            page = await fetch(token)
            for text in page.numbers:
                yield text
            token = page.next_token or None
            if token is None:
                return
            if token in used:
                raise ProviderResponseError(self.id, f"owned numbers page {number} repeated an earlier page token")
            used.add(token)
        raise ProviderResponseError(self.id, f"owned numbers: more than {self.max_pages} pages; not read completely")

    @staticmethod
    def _response_request_id(response: httpx.Response) -> str | None:
        """The vendor's request id from the usual response headers, if any."""
        for name in ("x-request-id", "request-id", "x-correlation-id"):
            value: str | None = response.headers.get(name)
            if value:
                return value[:200]
        return None
