"""A provider's connection to its vendor: the client, auth, redaction, send and bounded receive, retries.

A :class:`~numbroker.adapters.Provider` *has* one :class:`Connection`, ``provider.connection``, and an
adapter makes every request through it: ``self.connection.get(self.connection.url("numbers"), params=...)``,
``self.connection.post(url, json=...)``, ``self.connection.json(response)``. The connection owns the HTTP
client (or borrows an injected one and leaves it open), adds the vendor's auth headers to every request,
redacts the provider's secrets from what it logs and raises, sends each request under the provider's rate
limit and the search's in-flight limit, reads the body with a size cap that holds after decompression (a
compression bomb never inflates), maps error statuses onto the error tree (reading the vendor's error
envelope with the adapter's reader) and retries idempotent GETs (honouring ``Retry-After`` and the
deadline). What a request does for a search (a request counted, a retry counted, an event) is recorded on
the run of the search the calling task belongs to (:func:`~numbroker.adapters._stats.current_run`).
"""

from __future__ import annotations

import contextlib
import functools
import http.cookiejar
import logging
import os
import ssl
import sys
import threading
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import anyio
import httpx

from numbroker._exceptions import (
    ConfigurationError,
    ProviderConnectionError,
    ProviderError,
    ProviderHTTPError,
    ProviderResponseError,
    ProviderTimeoutError,
)
from numbroker._inputs import check_count, check_seconds
from numbroker._redaction import LIBRARY_LOGS, Redactor, check_secret_length
from numbroker.adapters._http_errors import (
    ErrorEnvelope,
    error_for_status,
    error_json,
    read_error_envelope,
    retry_after_header,
)
from numbroker.adapters._json import loads
from numbroker.adapters._rate_limit import RateLimit, RateLimiter
from numbroker.adapters._retry import RetryPolicy
from numbroker.adapters._stats import ProviderRun, current_run
from numbroker.events import RequestFinished, RetryScheduled, SearchEvent, notify

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "DEFAULT_TIMEOUT", "Connection", "request_id"]

logger = logging.getLogger("numbroker.http")
_T = TypeVar("_T")

DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024
"""Responses larger than this (10 MiB, after decompression) are cut off with a ProviderResponseError."""

DEFAULT_TIMEOUT = 15.0
"""Seconds one HTTP request may take (connect, read, write, pool) before it times out."""

_ERROR_TEXT = 2000
"""How much of an error body is read for its message (redacted before it is cut)."""


class VerifyingContext(ssl.SSLContext):
    """A verifying client TLS context (httpx's default) that loads its CA bundle when a TLS connection first needs it.

    Loading the bundle takes tens of milliseconds of CPU, and a search against plain-``http`` URLs (the
    sandboxes on loopback) never makes a TLS connection. Verification is never weakened: the context
    requires a certificate and checks the host name from the start (without the bundle it trusts nothing,
    so a handshake that somehow came first would fail, never pass), and every TLS connection is wrapped by
    :meth:`wrap_bio` or :meth:`wrap_socket`, which load the bundle first: ``SSL_CERT_FILE`` or
    ``SSL_CERT_DIR`` when set, else certifi's, as ``httpx.create_ssl_context()`` chooses.
    """

    _lock = threading.Lock()

    def __new__(cls) -> VerifyingContext:
        return super().__new__(cls, ssl.PROTOCOL_TLS_CLIENT)  # requires a certificate, checks the host name

    def __init__(self) -> None:
        self._loaded = False
        if sys.version_info >= (3, 13):  # the flags ssl.create_default_context sets from Python 3.13 on
            self.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN | ssl.VERIFY_X509_STRICT
        keylog = os.environ.get("SSLKEYLOGFILE")  # as ssl.create_default_context does
        if keylog and not sys.flags.ignore_environment:
            self.keylog_filename = keylog

    @property
    def loaded(self) -> bool:
        """True once the CA bundle is loaded (the first TLS connection loads it)."""
        return self._loaded

    def load_bundle(self) -> None:
        """Load the CA bundle httpx would trust, once."""
        with self._lock:
            if self._loaded:
                return
            if os.environ.get("SSL_CERT_FILE"):
                self.load_verify_locations(cafile=os.environ["SSL_CERT_FILE"])
            elif os.environ.get("SSL_CERT_DIR"):
                self.load_verify_locations(capath=os.environ["SSL_CERT_DIR"])
            else:
                import certifi

                self.load_verify_locations(cafile=certifi.where())
            self._loaded = True

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        """:meth:`ssl.SSLContext.wrap_socket`, the CA bundle loaded first."""
        self.load_bundle()
        return super().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        """:meth:`ssl.SSLContext.wrap_bio` (how asyncio, trio and anyio wrap), the CA bundle loaded first."""
        self.load_bundle()
        return super().wrap_bio(*args, **kwargs)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One default-verifying TLS context for every client numbroker creates.

    Building a context loads the CA bundle (tens of milliseconds of CPU); a search creates a client per
    provider, so sharing one keeps that cost out of every search, and :class:`VerifyingContext` pays it
    only when a TLS connection is made. Contexts are safe to share.
    """
    return VerifyingContext()


class _NoCookies(http.cookiejar.CookieJar):
    """The cookie jar of the clients numbroker creates: it keeps nothing.

    Vendor APIs authenticate every request with its credentials, so a cookie a vendor (or a proxy in front
    of it) sets is never stored nor sent back: no state carries from one request to the next, and no
    ``Set-Cookie`` is parsed per response. A client passed in as ``http_client`` keeps its own jar.
    """

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        """Keep nothing."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        """Read nothing."""


def _without_query(url: httpx.URL) -> str:
    """``str(url.copy_with(query=None))`` without parsing the URL again (the request log's path, per request).

    In a URL as httpx writes it, ``#`` appears only where the fragment starts, and the first ``?`` before
    it starts the query (both are escaped anywhere else): the query is what lies between.
    """
    text = str(url)
    end = text.find("#")
    head, fragment = (text, "") if end < 0 else (text[:end], text[end:])
    start = head.find("?")
    return text if start < 0 else head[:start] + fragment


async def _once(content: bytes) -> AsyncIterator[bytes]:
    yield content


class _Chunks(list[bytes]):
    """A response body's chunks as they are read; their repr shows only their size (a traceback's locals)."""

    def __repr__(self) -> str:
        return f"<{sum(map(len, self))} bytes of a vendor's answer>"


def request_id(response: httpx.Response | Mapping[str, str]) -> str | None:
    """The vendor's request id from the usual headers of a response (or of its headers, names lower-cased)."""
    headers = response.headers if isinstance(response, httpx.Response) else response
    for name in ("x-request-id", "request-id", "x-correlation-id"):
        value: str | None = headers.get(name)
        if value:
            return value[:200]
    return None


def _emit(run: ProviderRun | None, event: SearchEvent) -> None:
    notify(run.emit if run is not None else None, event)


class Connection:
    """One provider's HTTP connection to its vendor (see the module docstring).

    Attributes:
        provider_id: the provider's id, named by every error and log line.
        base_url: the vendor's base URL (validated by the provider), without a trailing slash.
        timeout: seconds per HTTP request.
        retry: how idempotent GETs are retried.
        max_response_bytes: cap on one response body, after decompression.
        redactor: the provider's secrets (credentials, auth header tokens); each is also redacted from every log.
        echoed: True once a 2xx answer showed a secret (in any form): from then on offers and receipts are checked.
    """

    def __init__(
        self,
        provider_id: str,
        base_url: str,
        *,
        auth_headers: Callable[[], Mapping[str, str]],
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        rate_limit: RateLimit | None = None,
        max_connections: int = 16,
        retry_after: Callable[[httpx.Response], float | None] = retry_after_header,
        error_envelope: Callable[[Any, Mapping[str, str]], ErrorEnvelope] = lambda body, headers: read_error_envelope(
            body
        ),
    ) -> None:
        """Set up the connection; the client is created on first use unless ``http_client`` is given.

        ``retry_after`` reads the seconds a 429 asks to wait (default: its ``Retry-After`` header);
        ``error_envelope`` reads an error answer's JSON body and (redacted) headers (default: the common shapes).

        Raises:
            ConfigurationError: both ``http_client`` and ``transport`` were given, the timeout is not a
                finite number of seconds in range, or ``max_response_bytes`` is not a positive whole number.
        """
        if http_client is not None and transport is not None:
            raise ConfigurationError("give http_client or transport, not both")
        self.provider_id = provider_id
        self.base_url = base_url
        self.timeout = check_seconds("timeout", timeout)
        self.retry = retry or RetryPolicy()
        self.max_response_bytes = check_count("max_response_bytes", max_response_bytes)
        self.redactor = Redactor(on_add=LIBRARY_LOGS.add)
        self.echoed = False
        self._auth_headers = auth_headers
        self._retry_after = retry_after
        self._error_envelope = error_envelope
        self._own_client = http_client is None
        self._client = http_client
        self._transport = transport
        self._max_connections = max_connections
        self._rate_limiter = RateLimiter(rate_limit) if rate_limit else None
        self._closed = False
        self._auth_seen: set[str] = set()

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def client(self) -> httpx.AsyncClient:
        """The HTTP client: the injected one, or one created on first use."""
        if self._client is None:
            if self._closed:
                raise ConfigurationError(f"{self.provider_id}: provider is closed")
            limits = httpx.Limits(max_connections=self._max_connections)
            transport = self._transport
            if transport is None:
                from numbroker.adapters._interim import InterimBoundedTransport  # imports httpcore, as httpx does here

                transport = InterimBoundedTransport(verify=_tls_context(), limits=limits)
            self._client = httpx.AsyncClient(
                transport=transport,
                verify=_tls_context(),
                timeout=httpx.Timeout(self.timeout),
                follow_redirects=False,
                limits=limits,
                cookies=_NoCookies(),
                headers={"Accept": "application/json", "User-Agent": "numbroker"},
            )
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client if this connection created it (an injected client is left open)."""
        self._closed = True
        if self._own_client and self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    # -- what adapters call ----------------------------------------------------------------------

    def url(self, *segments: str) -> str:
        """The base URL with each segment URL-quoted and appended as a path segment."""
        return self.base_url + "".join("/" + quote(s, safe="") for s in segments)

    async def get(self, url: str, *, params: Any = None, sent: anyio.Event | None = None) -> httpx.Response:
        """GET with retries on 429/5xx/timeouts/connection errors, honouring Retry-After and the deadline.

        ``sent``, when given, is set as the request is handed to the transport (past the rate limit and the
        search's in-flight limit): a caller that must have this request leave before another one (a price
        list fetched alongside a search, say) waits for it instead of for the answer.
        """
        return await self.with_retries(lambda: self.send("GET", url, params=params, sent=sent))

    async def post(
        self,
        url: str,
        *,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """POST once, with a JSON body (``json=``) or a form-encoded one (``data=``). Never retried.

        ``data`` is sent as ``application/x-www-form-urlencoded``; ``headers`` are sent besides the auth
        headers. A purchase's outcome must be confirmed, never guessed, so a POST is not repeated.

        Raises:
            ConfigurationError: both ``json`` and ``data`` were given.
        """
        if json is not None and data is not None:
            raise ConfigurationError(f"{self.provider_id}: a POST sends json or data, not both")
        return await self.send("POST", url, json=json, data=data, headers=headers)

    def json(self, response: httpx.Response) -> Any:
        """Parse a response body as JSON with Decimal numbers (see :func:`numbroker.adapters._json.loads`)."""
        return loads(self.provider_id, response.content)

    @staticmethod
    def request_id(response: httpx.Response | Mapping[str, str]) -> str | None:
        """The vendor's request id from the usual headers (``x-request-id``...) of a response, or of its headers."""
        return request_id(response)

    def redact(self, text: str) -> str:
        """``text`` with every secret of this provider (in every escaped form) replaced by ``***``."""
        return self.redactor.redact(text)

    def add_secret(self, value: str, *, name: str | None = None) -> None:
        """Never show ``value`` (an account id, say): redact it like a credential, in logs too.

        Raises:
            ConfigurationError: ``value`` is too short to redact safely; the message names ``name``
                (e.g. the environment variable), never the value.
        """
        check_secret_length(value, name=f"{self.provider_id}: {name or 'a secret'}")
        self.redactor.add(value)

    async def with_retries(self, operation: Callable[[], Awaitable[_T]]) -> _T:
        """Run an idempotent ``operation``, retrying per :attr:`retry`; never sleeps past the deadline."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await operation()
            except ProviderError as exc:
                self.redactor.scrub(exc)  # an adapter's own error may quote vendor text
                delay = self.retry.delay(attempt, exc)
                if delay is None or anyio.current_time() + delay >= anyio.current_effective_deadline():
                    raise
                run = current_run()
                if run is not None:
                    run.stats.retries += 1
                _emit(run, RetryScheduled(self.provider_id, attempt=attempt, delay=delay, reason=exc.detail))
                logger.info("%s: retry %d in %.2fs after: %s", self.provider_id, attempt, delay, exc.detail)
                await anyio.sleep(delay)

    def error(
        self, response: httpx.Response, *, status: int | None = None, message: str | None = None
    ) -> ProviderHTTPError:
        """The exception of the error tree for an error answer, its body and headers redacted.

        The vendor's error envelope is read with the adapter's reader. ``status`` reads the answer as
        another status (a vendor that reports a failure in a 2xx body's own code); ``message`` replaces the
        ``HTTP <status> <reason>: <vendor message>`` line.
        """
        # Redacted before it is cut (a secret at the cut is never half-shown) and again once the
        # error's message is decoded from it (escapes in every form are matched: see _redaction).
        body = self.redact(response.content[: _ERROR_TEXT + self.redactor.longest].decode("utf-8", "replace"))
        body = body[:_ERROR_TEXT]  # no local ever holds the vendor's text unredacted
        headers = {name: self.redact(value) for name, value in response.headers.items()}
        error = error_for_status(
            self.provider_id,
            response,
            body,
            headers=headers,
            retry_after=self._retry_after,
            envelope=self._read_envelope(body, headers),
            status=status,
            message=message,
        )
        return self.redactor.scrub(error)

    def _read_envelope(self, body: str, headers: Mapping[str, str]) -> ErrorEnvelope:
        """The adapter's reading of an error body; a body its reader cannot read leaves the status line alone."""
        try:
            return self._error_envelope(error_json(body), headers)
        except Exception as exc:
            logger.warning("%s: the error body could not be read (%s)", self.provider_id, type(exc).__name__)
            return ErrorEnvelope()

    # -- one request -----------------------------------------------------------------------------

    async def send(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        sent: anyio.Event | None = None,
    ) -> httpx.Response:
        """Send one request (``data``: a form-encoded body); map every failure into the error tree; cap the body.

        ``sent`` is set once the request has passed the rate limit and the search's in-flight limit and
        is handed to the transport, so a caller can start another request right behind it.
        """
        if self._rate_limiter is not None:
            await self._rate_limiter.acquire()
        request = self._request(method, url, params=params, json=json, data=data, headers=headers)
        response = await self._exchange(request, sent, current_run())
        if response.status_code >= 300:
            raise self.error(response)
        if not self.echoed and self.redactor:
            # One scan of the body: only once a vendor has echoed a secret are its records' texts checked.
            self.echoed = self.redactor.shows_secret(response.content.decode("utf-8", "replace"))
        return response

    def _request(
        self,
        method: str,
        url: str,
        *,
        params: Any,
        json: Any,
        data: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Request:
        """The request with the auth headers, each of their values registered as a secret the first time."""
        auth = self._auth_headers()
        for name, value in auth.items():
            if value not in self._auth_seen:  # a vendor may echo the header itself (Basic: base64 of id:secret)
                self._auth_seen.add(value)
                self.redactor.add_auth_header(name, value)
        return self.client.build_request(
            method,
            url,
            params=params,
            json=json,
            data=data,
            headers={"Accept": "application/json", "Accept-Encoding": "gzip, deflate", **(headers or {}), **auth},
        )

    async def _exchange(
        self, request: httpx.Request, sent: anyio.Event | None, run: ProviderRun | None
    ) -> httpx.Response:
        """Send ``request`` within the search's in-flight limit; count, log and announce it."""
        shown = self.redact(_without_query(request.url).removeprefix(self.base_url) or "/")
        started = anyio.current_time()
        status: int | None = None
        if run is not None:
            run.stats.requests += 1
        limiter = run.limiter if run is not None else None
        try:
            async with limiter if limiter is not None else contextlib.nullcontext():
                if sent is not None:
                    sent.set()
                response = await self._receive(request)
            status = response.status_code
        finally:
            elapsed = anyio.current_time() - started
            logger.debug(
                "%s %s %s -> %s (%.0f ms)", self.provider_id, request.method, shown, status or "failed", elapsed * 1000
            )
            _emit(
                run,
                RequestFinished(self.provider_id, method=request.method, path=shown, status=status, elapsed=elapsed),
            )
        return response

    async def _receive(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and read its whole body, decompressed, within :attr:`max_response_bytes`."""
        provider = self.provider_id
        try:
            response = await self.client.send(request, stream=True, follow_redirects=False)
        except httpx.TimeoutException as exc:
            raise ProviderTimeoutError(provider, f"request timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            from numbroker.adapters._transport_errors import describe_connection_failure  # host, port and cause

            raise ProviderConnectionError(provider, self.redact(describe_connection_failure(request, exc))) from None
        except httpx.DecodingError:  # an in-memory answer (a mock transport) is decoded as it is made
            raise ProviderResponseError(provider, "response body is not valid compressed data") from None
        try:
            content = await self._read_body(response)
        except httpx.TimeoutException as exc:
            raise ProviderTimeoutError(provider, f"response timed out ({type(exc).__name__})") from None
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise ProviderConnectionError(provider, f"response broken off ({type(exc).__name__})") from None
        except zlib.error:
            raise ProviderResponseError(provider, "response body is not valid compressed data") from None
        finally:
            await response.aclose()
        headers = [
            (k, v) for k, v in response.headers.multi_items() if k.lower() not in ("content-encoding", "content-length")
        ]
        return httpx.Response(response.status_code, headers=headers, content=content, request=request)

    async def _read_body(self, response: httpx.Response) -> bytes:
        """The body, decompressed at most one byte past the limit per step: a compression bomb never inflates."""
        try:
            loaded: bytes | None = response.content  # in-memory responses (mock transports) arrive read
        except httpx.ResponseNotRead:
            loaded = None
        decoder = None if loaded is not None else self._decoder(response.headers.get("content-encoding", ""))
        if loaded is not None:
            stream: AsyncIterator[bytes] = _once(loaded)
            loaded = None  # read through the stream; no local keeps the body (a traceback's locals)
        else:
            # The raw network stream, iterated (and closed) here directly: cut off early, nothing is left open.
            assert isinstance(response.stream, httpx.AsyncByteStream)
            stream = response.stream.__aiter__()
        chunks = _Chunks()
        size = 0
        limit = self.max_response_bytes
        async with contextlib.aclosing(stream) as body:  # type: ignore[type-var]
            async for raw in body:
                chunk = decoder.decompress(raw, limit - size + 1) if decoder is not None else raw
                size += len(chunk)
                if size > limit:
                    raw = chunk = b""  # no local shows the vendor's bytes in a traceback
                    raise ProviderResponseError(
                        self.provider_id, f"response body exceeds the {limit}-byte limit; cut off"
                    )
                chunks.append(chunk)
            raw = chunk = b""
        if decoder is not None:
            chunks.append(decoder.flush())
        return b"".join(chunks)

    def _decoder(self, encoding: str) -> Any:
        """A bounded decompressor for the response's content encoding (None for identity)."""
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            return None
        if encoding in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if encoding == "deflate":
            return zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib-wrapped (auto-detected header)
        raise ProviderResponseError(
            self.provider_id, f"unsupported content encoding {encoding!r} (asked for gzip or deflate)"
        )
