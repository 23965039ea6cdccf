"""Vendor-neutral plumbing for numbroker's built-in vendor emulators ("sandboxes").

A sandbox is a small Starlette app that speaks one vendor's wire format over a deterministic
inventory. The vendor modules (``numbroker_providers.<id>.sandbox``) only describe their wire
format; everything they share lives here, once:

* :class:`Faults`, the fault knobs, and the fault-injection pipeline. Every vendor endpoint is
  registered through :meth:`Sandbox.route`, which wraps the vendor handler like this:

  1. ``latency``: sleep before every request;
  2. ``rate_stall``: sleep ``stall_seconds``, then carry on (a client that gave up meanwhile is
     logged with status 0);
  3. ``rate_429``: the vendor's own rate-limit error, with ``Retry-After: <retry_after>``;
  4. read (GET) endpoints: ``rate_5xx`` (500/503 in the vendor's envelope, 502/504 as a proxy's
     HTML page); purchase endpoints: ``rate_ambiguous_before_commit`` (502/504, nothing
     committed) and the decision for ``rate_race`` (the vendor handler asks
     :meth:`RequestContext.lose_race`, which hands the number to "someone else");
  5. the vendor handler;
  6. read endpoints answering 2xx: ``rate_malformed`` (200 with a body that is not JSON or has the
     wrong shape), then ``rate_truncated`` (over loopback: the full ``Content-Length`` but only
     half the bytes, then the connection closes; in-process: half the JSON);
  7. purchase endpoints that committed: ``rate_ambiguous_after_commit`` (502/504, or over
     loopback the response is cut off mid-body).

  ``repeat_token`` and ``lying_total`` are applied by the paging helpers
  :meth:`Sandbox.token_page` and :meth:`Sandbox.numbered_page`.
  Every decision is drawn from one ``random.Random(faults.seed)`` owned by the sandbox, so a
  seeded run with the same request sequence is reproducible; assigning :attr:`Sandbox.faults`
  re-seeds it.
* The request log (:class:`ServedRequest`) and purchase state (:class:`Purchase`).
* :class:`LoopbackServer`: an ASGI app under uvicorn in a background thread on ``127.0.0.1``.
  :func:`serve_sandboxes` serves several sandboxes, **each on its own port** (so every vendor keeps
  its real path layout, even an empty base path).
* Deterministic data helpers: :func:`generate_number` (valid numbers for a region and number type),
  :func:`draw_numbers`, :func:`shared_numbers` (the cross-vendor overlap), money and timestamps.
"""

from __future__ import annotations

__all__ = [
    "Faults",
    "ServedRequest",
    "SandboxRecord",
    "Purchase",
    "Reply",
    "RequestContext",
    "Sandbox",
    "NumberedPage",
    "TokenPage",
    "InvalidPageToken",
    "LoopbackServer",
    "serve_sandboxes",
    "GeneratedNumber",
    "SharedNumber",
    "NUMBER_TYPES",
    "LANE_DIGITS",
    "generate_number",
    "draw_numbers",
    "shared_numbers",
    "draw_money",
    "draw_timestamp",
    "json_number",
    "seeded_uuid",
    "http_date",
    "now_iso",
    "STALL",
    "RATE_LIMITED",
    "SERVER_ERROR",
    "MALFORMED",
    "TRUNCATED",
    "REPEAT_TOKEN",
    "LYING_TOTAL",
    "RACE",
    "AMBIGUOUS_BEFORE_COMMIT",
    "AMBIGUOUS_AFTER_COMMIT",
]

import base64
import binascii
import contextlib
import functools
import hashlib
import hmac
import json
import random
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, TypeVar

import anyio
import phonenumbers
from phonenumbers import PhoneNumberType
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

if TYPE_CHECKING:
    import httpx
    from starlette.types import ASGIApp, Receive, Scope, Send

T = TypeVar("T")

# Fault labels written to ServedRequest.fault (several are joined with "+").
STALL: Final = "stall"
RATE_LIMITED: Final = "rate_limited"
SERVER_ERROR: Final = "server_error"
MALFORMED: Final = "malformed"
TRUNCATED: Final = "truncated"
REPEAT_TOKEN: Final = "repeat_token"
LYING_TOTAL: Final = "lying_total"
RACE: Final = "race"
AMBIGUOUS_BEFORE_COMMIT: Final = "ambiguous_before_commit"
AMBIGUOUS_AFTER_COMMIT: Final = "ambiguous_after_commit"

_LOOPBACK_SCOPE_KEY: Final = "numbroker.sandbox.loopback"
_RATES: Final = (
    "rate_429",
    "rate_5xx",
    "rate_malformed",
    "rate_truncated",
    "rate_stall",
    "rate_race",
    "rate_ambiguous_after_commit",
    "rate_ambiguous_before_commit",
)


# --------------------------------------------------------------------------------------------
# Value types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Faults:
    """Fault knobs of a sandbox; all off by default.

    Rates are probabilities in ``[0, 1]``, drawn per request from ``random.Random(seed)``.

    Attributes:
        latency: Seconds added to every request.
        rate_429: Probability of a 429 in the vendor's error shape.
        retry_after: ``Retry-After`` value sent with a 429 (seconds or an HTTP date); None = no header.
        rate_5xx: Probability that a read endpoint answers 500/502/503/504.
        rate_malformed: Probability that a read endpoint answers 200 with an unparseable or
            wrongly-shaped body.
        rate_truncated: Probability that a read endpoint's 200 body is cut short.
        rate_stall: Probability that a request sleeps ``stall_seconds`` before being answered.
        stall_seconds: Length of a stall.
        repeat_token: Token-paged endpoints hand back the token the client just used.
        lying_total: Numbered-page endpoints report this total instead of the truth.
        rate_race: Probability that the number is taken by someone else just before our purchase.
        rate_ambiguous_after_commit: Probability that a purchase commits, then answers 502/504 or
            drops the connection.
        rate_ambiguous_before_commit: Probability that a purchase answers 502/504 without committing.
        seed: Seed of the sandbox's fault RNG.
    """

    latency: float = 0.0
    rate_429: float = 0.0
    retry_after: str | None = "1"
    rate_5xx: float = 0.0
    rate_malformed: float = 0.0
    rate_truncated: float = 0.0
    rate_stall: float = 0.0
    stall_seconds: float = 30.0
    repeat_token: bool = False
    lying_total: int | None = None
    rate_race: float = 0.0
    rate_ambiguous_after_commit: float = 0.0
    rate_ambiguous_before_commit: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in _RATES:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Faults.{name} must be a probability in [0, 1], got {value!r}")
        if self.latency < 0 or self.stall_seconds < 0:
            raise ValueError("Faults.latency and Faults.stall_seconds must not be negative")
        if self.lying_total is not None and self.lying_total < 0:
            raise ValueError("Faults.lying_total must not be negative")


@dataclass(frozen=True)
class ServedRequest:
    """One request a sandbox answered (or that was abandoned during a stall: ``status == 0``).

    Attributes:
        method: HTTP method.
        path: Request path, including the vendor's base path.
        query: Query parameters in order, repeated keys kept.
        status: Status line sent (0 if nothing was sent).
        fault: Fault labels applied, joined with ``+``; None for a clean answer.
        offer_ids: Inventory ids of the records served intact (search endpoints only; empty when a
            fault spoiled the body).
        endpoint: The vendor's name for the endpoint (``"search"``, ``"purchase"``, ``"owned"``).
    """

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    status: int
    fault: str | None
    offer_ids: tuple[str, ...]
    endpoint: str = ""


@dataclass(frozen=True)
class SandboxRecord:
    """One inventory record and the truth about it.

    Attributes:
        offer_id: The vendor's id for the offer (uuid, or the E.164 where the vendor has no id).
        e164: The number exactly as served (may be invalid for defect records).
        country: The country the vendor lists it under (what its country filter matches).
        expected_valid: Whether a correct adapter keeps this record.
        defect: Why it must be rejected (``invalid_number``, ``too_short``, ``country_mismatch``,
            ``negative_price``, ``garbage_price``, ``null_price``, ``nan_price``,
            ``absurd_exponent``, ``status``), or None.
        raw: The wire object served for it (do not mutate).
        number_type: ``local``/``mobile``/``toll-free``/``national`` as generated.
        region: Area label (state, city), if any.
        monthly: The true monthly price, if well-formed.
        upfront: The true one-off price, if the vendor has one.
        currency: The currency as served, or None where the vendor does not say.
        shared: Whether the E.164 also appears at another vendor (see :func:`shared_numbers`).
    """

    offer_id: str
    e164: str
    country: str
    expected_valid: bool
    defect: str | None
    raw: dict[str, Any] = field(hash=False)
    number_type: str | None = None
    region: str | None = None
    monthly: Decimal | None = None
    upfront: Decimal | None = None
    currency: str | None = None
    shared: bool = False


@dataclass(frozen=True)
class Purchase:
    """A purchase the server committed.

    Attributes:
        offer_id: The record bought.
        e164: Its number.
        upfront: One-off amount charged, if any.
        monthly: Monthly amount charged, if any.
        currency: Currency of the amounts.
        fault: ``ambiguous_after_commit`` if the client never saw the success answer.
    """

    offer_id: str
    e164: str
    upfront: Decimal | None
    monthly: Decimal | None
    currency: str | None
    fault: str | None = None


@dataclass
class Reply:
    """What a vendor handler answers; the plumbing encodes it (and may spoil it).

    Attributes:
        status: HTTP status.
        body: A JSON-serialisable body (ignored when ``text`` is set).
        headers: Extra response headers.
        offer_ids: Ids of the inventory records in the body (search endpoints).
        faults: Fault labels the vendor applied itself (``repeat_token``, ``lying_total``, ``race``).
        text: A non-JSON body.
        media_type: Content type.
    """

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    offer_ids: tuple[str, ...] = ()
    faults: list[str] = field(default_factory=list)
    text: str | None = None
    media_type: str = "application/json"

    def encode(self) -> bytes:
        """Return the body bytes."""
        if self.text is not None:
            return self.text.encode()
        return json.dumps(self.body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


@dataclass(frozen=True)
class NumberedPage(Generic[T]):
    """One page of a page/per_page listing.

    Attributes:
        items: The records on the page.
        total: The total to report (``Faults.lying_total`` if set).
        fault: ``lying_total`` when the total is a lie.
    """

    items: Sequence[T]
    total: int
    fault: str | None


@dataclass(frozen=True)
class TokenPage(Generic[T]):
    """One page of a token-paged listing.

    Attributes:
        items: The records on the page.
        next_token: The token for the next page, or None on the last page.
        fault: ``repeat_token`` when the token handed back was already used.
    """

    items: Sequence[T]
    next_token: str | None
    fault: str | None


class InvalidPageToken(ValueError):
    """Raised by :meth:`Sandbox.decode_token` for a token this sandbox did not issue."""


ErrorReply = Callable[["Sandbox", int, str], Reply]
"""``(sandbox, status, message) -> Reply`` in the vendor's error shape (message may be empty)."""
Handler = Callable[[Request, "RequestContext"], Awaitable[Reply]]


# --------------------------------------------------------------------------------------------
# The sandbox
# --------------------------------------------------------------------------------------------


class RequestContext:
    """Per-request state handed to a vendor handler.

    Attributes:
        sandbox: The sandbox serving the request.
        request: The Starlette request.
        body: The raw request body (already read).
        loopback: Whether the request came over real loopback HTTP.
    """

    def __init__(self, sandbox: Sandbox, request: Request, body: bytes, *, loopback: bool) -> None:
        self.sandbox = sandbox
        self.request = request
        self.body = body
        self.loopback = loopback
        self.race = False
        self.committed: list[int] = []
        self.labels: list[str] = []

    def json(self) -> Any:
        """Parse the request body as JSON.

        Returns:
            The parsed JSON value.

        Raises:
            ValueError: The body is not JSON.
        """
        return json.loads(self.body)

    def lose_race(self, offer_ids: Iterable[str]) -> bool:
        """Apply the ``rate_race`` decision for this purchase.

        When the race was drawn, the offers are taken by "someone else" (they leave the inventory
        without becoming ours) and the handler must answer with the vendor's "gone" error.

        Args:
            offer_ids: The offers the purchase is about.

        Returns:
            True if the race was lost.
        """
        if not self.race:
            return False
        self.race = False
        for offer_id in offer_ids:
            self.sandbox.taken.add(offer_id)
        self.sandbox.invalidate()
        self.labels.append(RACE)
        return True

    def commit(
        self,
        record: SandboxRecord,
        *,
        upfront: Decimal | None,
        monthly: Decimal | None,
        currency: str | None,
    ) -> Purchase:
        """Record a committed purchase: the number leaves the inventory and becomes ours.

        Args:
            record: The record bought.
            upfront: One-off amount charged.
            monthly: Monthly amount charged.
            currency: Currency of the amounts.

        Returns:
            The purchase.
        """
        purchase = Purchase(record.offer_id, record.e164, upfront, monthly, currency)
        sandbox = self.sandbox
        sandbox.owned[record.e164] = record.offer_id
        sandbox.purchases.append(purchase)
        self.committed.append(len(sandbox.purchases) - 1)
        sandbox.invalidate()
        return purchase


class Sandbox:
    """A vendor emulator: an ASGI app plus its ground truth, request log and purchase state.

    Built by a vendor module's ``create_app``; tests read and poke the attributes below.

    Attributes:
        name: The provider id (used in seeds and the in-process base URL).
        seed: The inventory seed.
        base_path: Path prefix that corresponds to the vendor's base URL.
        env: Credential environment variables a client needs (not the base URL).
        records: The ground-truth inventory, in the vendor's listing order.
        log: Every request served, in order.
        owned: E.164 -> offer id of every number we bought.
        purchases: Every purchase the server committed.
        taken: Offer ids bought by "someone else" (``rate_race``).
        balance: Account balance where the vendor keeps one, else None.
        options: Vendor-specific knobs, for reference.
    """

    def __init__(
        self,
        *,
        name: str,
        seed: int,
        base_path: str,
        env: Mapping[str, str],
        records: Sequence[SandboxRecord],
        error_reply: ErrorReply,
        faults: Faults | None = None,
        balance: Decimal | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.seed = seed
        self.base_path = base_path
        self.env: dict[str, str] = dict(env)
        self.records: list[SandboxRecord] = list(records)
        self.log: list[ServedRequest] = []
        self.owned: dict[str, str] = {}
        self.purchases: list[Purchase] = []
        self.taken: set[str] = set()
        self.balance = balance
        self.options: dict[str, Any] = dict(options or {})
        self._error_reply = error_reply
        self._app: ASGIApp | None = None
        self._faults = faults or Faults()
        self._fault_rng = random.Random(self._faults.seed)
        self._token_rng = random.Random(f"{name}:{seed}:tokens")
        self._id_rng = random.Random(f"{name}:{seed}:ids")
        self._secret = hashlib.sha256(f"numbroker-sandbox:{name}:{seed}".encode()).digest()
        self._by_id = {record.offer_id: record for record in self.records}
        self._by_e164: dict[str, SandboxRecord] = {}
        for record in self.records:
            self._by_e164.setdefault(record.e164, record)
        self._views: dict[Hashable, list[SandboxRecord]] = {}

    # -- configuration ---------------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        """The active fault knobs; assigning a new :class:`Faults` re-seeds the fault RNG."""
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._faults = faults
        self._fault_rng = random.Random(faults.seed)

    @property
    def app(self) -> ASGIApp:
        """The ASGI application."""
        if self._app is None:
            raise RuntimeError(f"{self.name} sandbox: build() was never called")
        return self._app

    @property
    def asgi_base_url(self) -> str:
        """The vendor base URL to use with an in-process ``httpx.ASGITransport``."""
        return f"http://{self.name}.sandbox{self.base_path}"

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        """Return an ``httpx.AsyncClient`` that talks to this sandbox in-process.

        Args:
            **kwargs: Passed to ``httpx.AsyncClient``.

        Returns:
            A client whose ``base_url`` is the vendor base URL.
        """
        import httpx

        kwargs.setdefault("base_url", self.asgi_base_url)
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), **kwargs)

    def route(
        self,
        path: str,
        handler: Handler,
        *,
        methods: Sequence[str] = ("GET",),
        kind: Literal["read", "purchase"] = "read",
        name: str | None = None,
    ) -> Route:
        """Wrap a vendor handler in the fault pipeline and return its route.

        Args:
            path: Route path (including the base path).
            handler: ``async (request, context) -> Reply``.
            methods: HTTP methods.
            kind: ``read`` (search and list endpoints) or ``purchase``.
            name: Endpoint name for the log; defaults to the handler's name.

        Returns:
            A Starlette route.
        """
        endpoint_name = name or handler.__name__

        async def endpoint(request: Request) -> Response:
            return await self._serve(request, handler, kind, endpoint_name)

        return Route(path, endpoint, methods=list(methods), name=endpoint_name)

    def build(self, routes: Sequence[Route]) -> None:
        """Create the ASGI app from the vendor's routes.

        Args:
            routes: Routes made with :meth:`route`.
        """
        self._app = Starlette(routes=list(routes))

    # -- inventory state -------------------------------------------------------------------

    def record_by_id(self, offer_id: str) -> SandboxRecord | None:
        """Return the record with this offer id, available or not."""
        return self._by_id.get(offer_id)

    def record_by_e164(self, e164: str) -> SandboxRecord | None:
        """Return the record with this number, available or not."""
        return self._by_e164.get(e164)

    def is_available(self, offer_id: str) -> bool:
        """Return whether the offer is still in the inventory (neither ours nor taken)."""
        return (
            offer_id not in self.taken
            and self._by_id.get(offer_id) is not None
            and (self._by_id[offer_id].e164 not in self.owned)
        )

    def invalidate(self) -> None:
        """Forget cached inventory views (call after the inventory changed)."""
        self._views.clear()

    def view(self, key: Hashable, keep: Callable[[SandboxRecord], bool]) -> list[SandboxRecord]:
        """Return the available records that ``keep`` accepts, cached under ``key``.

        Args:
            key: A cache key that identifies the filter.
            keep: The filter.

        Returns:
            Matching available records in listing order.
        """
        cached = self._views.get(key)
        if cached is None:
            if len(self._views) >= 256:
                self._views.clear()
            cached = [r for r in self.records if keep(r) and self.is_available(r.offer_id)]
            self._views[key] = cached
        return cached

    # -- paging helpers --------------------------------------------------------------------

    def numbered_page(self, items: Sequence[T], *, page: int, per_page: int) -> NumberedPage[T]:
        """Slice one 1-indexed page, applying ``Faults.lying_total``.

        Args:
            items: All matching items.
            page: 1-indexed page number.
            per_page: Page size.

        Returns:
            The page and the total to report.
        """
        start = (page - 1) * per_page
        chunk = items[start : start + per_page]
        lie = self._faults.lying_total
        if lie is not None and lie != len(items):
            return NumberedPage(chunk, lie, LYING_TOTAL)
        return NumberedPage(chunk, len(items), None)

    def encode_token(self, offset: int) -> str:
        """Return an opaque page token for an offset (salted, so tokens never repeat)."""
        salt = self._token_rng.getrandbits(48)
        payload = f"{salt:012x}.{offset}"
        mac = hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()[:16]
        return base64.urlsafe_b64encode(f"{payload}.{mac}".encode()).decode().rstrip("=")

    def decode_token(self, token: str) -> int:
        """Return the offset inside a token issued by :meth:`encode_token`.

        Raises:
            InvalidPageToken: The token is malformed or was not issued by this sandbox.
        """
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            salt, offset, mac = text.split(".")
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidPageToken(f"malformed page token {token[:40]!r}") from exc
        expected = hmac.new(self._secret, f"{salt}.{offset}".encode(), hashlib.sha256).hexdigest()[:16]
        if not hmac.compare_digest(mac, expected) or not offset.isdigit():
            raise InvalidPageToken(f"unknown page token {token[:40]!r}")
        return int(offset)

    def token_page(self, items: Sequence[T], *, token: str | None, limit: int) -> TokenPage[T]:
        """Slice one token-paged page, applying ``Faults.repeat_token``.

        Args:
            items: All matching items.
            token: The page token the client sent (None or empty for the first page).
            limit: Page size.

        Returns:
            The page and the next token (None on the last page).

        Raises:
            InvalidPageToken: The token is not one of ours.
        """
        offset = self.decode_token(token) if token else 0
        chunk = items[offset : offset + limit]
        end = offset + len(chunk)
        next_token = self.encode_token(end) if end < len(items) else None
        if self._faults.repeat_token and token:
            return TokenPage(chunk, token, REPEAT_TOKEN)
        return TokenPage(chunk, next_token, None)

    # -- misc helpers for vendor modules ---------------------------------------------------

    def new_uuid(self) -> str:
        """Return a fresh uuid4 string from the sandbox's id RNG (deterministic per seed)."""
        return seeded_uuid(self._id_rng)

    def new_hex(self, length: int = 12) -> str:
        """Return fresh hex characters from the sandbox's id RNG."""
        return f"{self._id_rng.getrandbits(4 * length):0{length}x}"

    # -- the fault pipeline ----------------------------------------------------------------

    def _hit(self, rate: float) -> bool:
        if rate <= 0.0:
            return False
        if rate >= 1.0:
            return True
        return self._fault_rng.random() < rate

    def _log(self, request: Request, status: int, labels: list[str], offers: tuple[str, ...], name: str) -> None:
        self.log.append(
            ServedRequest(
                method=request.method,
                path=request.url.path,
                query=tuple(request.query_params.multi_items()),
                status=status,
                fault="+".join(labels) or None,
                offer_ids=offers,
                endpoint=name,
            )
        )

    async def _serve(self, request: Request, handler: Handler, kind: str, name: str) -> Response:
        faults = self._faults
        body = await request.body()
        loopback = bool(request.scope.get(_LOOPBACK_SCOPE_KEY))
        context = RequestContext(self, request, body, loopback=loopback)
        labels = context.labels
        try:
            if faults.latency > 0:
                await anyio.sleep(faults.latency)
            if self._hit(faults.rate_stall):
                labels.append(STALL)
                await anyio.sleep(faults.stall_seconds)
                if loopback and await request.is_disconnected():
                    self._log(request, 0, labels, (), name)
                    return Response(status_code=499)
        except anyio.get_cancelled_exc_class():
            self._log(request, 0, labels, (), name)
            raise
        response, status, offers = await self._answer(context, handler, kind, faults)
        self._log(request, status, labels, offers, name)
        return response

    async def _answer(
        self, context: RequestContext, handler: Handler, kind: str, faults: Faults
    ) -> tuple[Response, int, tuple[str, ...]]:
        labels = context.labels
        if self._hit(faults.rate_429):
            labels.append(RATE_LIMITED)
            reply = self._error_reply(self, 429, "")
            if faults.retry_after is not None:
                reply.headers["Retry-After"] = faults.retry_after
            return _plain(reply), 429, ()
        spoil_after = False
        if kind == "read":
            if self._hit(faults.rate_5xx):
                labels.append(SERVER_ERROR)
                status = self._fault_rng.choice((500, 502, 503, 504))
                reply = self._gateway_page(status) if status in (502, 504) else self._error_reply(self, status, "")
                return _plain(reply), status, ()
        else:
            if self._hit(faults.rate_ambiguous_before_commit):
                labels.append(AMBIGUOUS_BEFORE_COMMIT)
                reply = self._gateway_page(self._fault_rng.choice((502, 504)))
                return _plain(reply), reply.status, ()
            context.race = self._hit(faults.rate_race)
            spoil_after = self._hit(faults.rate_ambiguous_after_commit)

        reply = await handler(context.request, context)
        labels.extend(reply.faults)
        payload = reply.encode()
        ok = 200 <= reply.status < 300
        if kind == "read" and ok:
            if self._hit(faults.rate_malformed):
                labels.append(MALFORMED)
                return _plain(_malformed(self._fault_rng, reply)), reply.status, ()
            if self._hit(faults.rate_truncated):
                labels.append(TRUNCATED)
                return _cut(reply, payload, len(payload) // 2, context.loopback), reply.status, ()
        if spoil_after and context.committed:
            labels.append(AMBIGUOUS_AFTER_COMMIT)
            for index in context.committed:
                self.purchases[index] = replace(self.purchases[index], fault=AMBIGUOUS_AFTER_COMMIT)
            choices: tuple[int, ...] = (502, 504, 0) if context.loopback else (502, 504)
            status = self._fault_rng.choice(choices)
            if status == 0:  # the connection drops mid-answer
                return _cut(reply, payload, len(payload) // 3, True), reply.status, ()
            return _plain(self._gateway_page(status)), status, ()
        return _plain(reply, payload), reply.status, reply.offer_ids

    @staticmethod
    def _gateway_page(status: int) -> Reply:
        title = "502 Bad Gateway" if status == 502 else "504 Gateway Time-out"
        html = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n"
            f"<body>\r\n<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
        )
        return Reply(status, text=html, media_type="text/html")


def _plain(reply: Reply, payload: bytes | None = None) -> Response:
    return Response(
        content=reply.encode() if payload is None else payload,
        status_code=reply.status,
        headers=reply.headers,
        media_type=reply.media_type,
    )


def _malformed(rng: random.Random, reply: Reply) -> Reply:
    """Return a 200 whose body is unparseable or wrongly shaped (vendor-neutral)."""
    body = reply.body
    variants: list[Reply] = [
        Reply(reply.status, text='{"unexpected": true, "oops": [1, 2, ', media_type="application/json"),
        Reply(reply.status, text="<html><body><h1>Service Temporarily Unavailable</h1></body></html>"),
        Reply(reply.status, body=None),
        Reply(reply.status, body=["unexpected"]),
    ]
    if isinstance(body, dict):
        # Same keys, but every list becomes a string: the envelope parses, the shape does not.
        variants.append(Reply(reply.status, body={k: "oops" if isinstance(v, list) else v for k, v in body.items()}))
    return rng.choice(variants)


class _CutResponse(Response):
    """Announces ``Content-Length`` for the whole body, sends ``sent`` bytes, then ends (loopback only)."""

    def __init__(self, status: int, headers: Mapping[str, str], media_type: str, payload: bytes, sent: int) -> None:
        super().__init__(content=b"", status_code=status, media_type=media_type)
        self._extra = dict(headers)
        self._payload = payload
        self._sent = sent

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self._extra.items()]
        headers += [
            (b"content-type", (self.media_type or "application/json").encode("latin-1")),
            (b"content-length", str(len(self._payload)).encode()),
        ]
        await send({"type": "http.response.start", "status": self.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": self._payload[: self._sent], "more_body": True})
        # Returning without the final body message makes the server close the connection.


def _cut(reply: Reply, payload: bytes, sent: int, loopback: bool) -> Response:
    if loopback:
        return _CutResponse(reply.status, reply.headers, reply.media_type, payload, sent)
    return Response(payload[:sent], status_code=reply.status, headers=reply.headers, media_type=reply.media_type)


# --------------------------------------------------------------------------------------------
# Loopback serving
# --------------------------------------------------------------------------------------------


class _LoopbackMarker:
    """Marks requests as arriving over real HTTP, so faults can cut connections."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, _LOOPBACK_SCOPE_KEY: True}
        await self.app(scope, receive, send)


class LoopbackServer:
    """Serve an ASGI app with uvicorn on ``127.0.0.1`` in a background thread.

    Use it as a context manager (``with LoopbackServer(app) as server: server.base_url``) or call
    :meth:`start` / :meth:`stop`. Port 0 (the default) picks a free port. uvicorn's own loggers
    are set to ``log_level`` (default ``critical``: deliberately broken responses are not errors).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ready_timeout: float = 10.0,
        graceful_shutdown: int = 1,
        log_level: str | None = "critical",
    ) -> None:
        self._app = app
        self._host = host
        self._requested_port = port
        self._ready_timeout = ready_timeout
        self._graceful_shutdown = graceful_shutdown
        self._log_level = log_level
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The bound port."""
        if self._port is None:
            raise RuntimeError("LoopbackServer is not running")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self._host}:{self.port}"

    def start(self) -> LoopbackServer:
        """Bind, start serving and wait until ready.

        Returns:
            self.

        Raises:
            RuntimeError: The server thread died or is already running.
            TimeoutError: The server was not ready within ``ready_timeout``.
        """
        import uvicorn

        if self._thread is not None:
            raise RuntimeError("LoopbackServer is already running")
        # IPPROTO_TCP (not 0) so the server's asyncio transport sets TCP_NODELAY: no 40 ms delayed-ACK stalls.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._requested_port))
        config = uvicorn.Config(
            _LoopbackMarker(self._app),
            lifespan="off",
            log_config=None,
            log_level=self._log_level,
            access_log=False,
            http="h11",
            ws="none",
            loop="asyncio",
            timeout_graceful_shutdown=self._graceful_shutdown,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="numbroker-sandbox", daemon=True)
        self._server, self._thread, self._socket = server, thread, sock
        self._port = sock.getsockname()[1]
        thread.start()
        deadline = time.monotonic() + self._ready_timeout
        while not server.started:
            if not thread.is_alive():
                self._cleanup()
                raise RuntimeError("the sandbox server thread exited during startup")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the sandbox server was not ready within {self._ready_timeout}s")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Ask the server to exit and wait for its thread."""
        if self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=self._graceful_shutdown + 10)
        self._cleanup()

    def _cleanup(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None
        self._port = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@contextlib.contextmanager
def serve_sandboxes(sandboxes: Mapping[str, Sandbox], **options: Any) -> Iterator[dict[str, str]]:
    """Serve several sandboxes over loopback, each on its own port.

    Args:
        sandboxes: Key (e.g. the provider id) -> sandbox.
        **options: Passed to every :class:`LoopbackServer`.

    Yields:
        Key -> the vendor base URL (``http://127.0.0.1:PORT`` + the sandbox's ``base_path``).
    """
    with contextlib.ExitStack() as stack:
        urls: dict[str, str] = {}
        for key, sandbox in sandboxes.items():
            server = stack.enter_context(LoopbackServer(sandbox.app, **options))
            urls[key] = server.base_url + sandbox.base_path
        yield urls


# --------------------------------------------------------------------------------------------
# Deterministic data
# --------------------------------------------------------------------------------------------

#: Neutral number-type names -> phonenumbers types.
NUMBER_TYPES: Final[Mapping[str, int]] = {
    "local": PhoneNumberType.FIXED_LINE,
    "mobile": PhoneNumberType.MOBILE,
    "toll-free": PhoneNumberType.TOLL_FREE,
    "national": PhoneNumberType.UAN,
}

#: Last digits per lane: numbers drawn for different lanes never collide.
LANE_DIGITS: Final[tuple[tuple[int, ...], ...]] = ((0, 3, 6, 9), (1, 4, 7), (2, 5, 8))

# (national prefix, national length, area label, weight), curated for realistic numbers.
_Stem = tuple[str, int, str | None, int]
_US: Final[tuple[_Stem, ...]] = (
    ("212", 10, "NY", 3),
    ("646", 10, "NY", 1),
    ("415", 10, "CA", 2),
    ("213", 10, "CA", 1),
    ("312", 10, "IL", 1),
    ("305", 10, "FL", 1),
    ("512", 10, "TX", 1),
    ("206", 10, "WA", 1),
    ("617", 10, "MA", 1),
    ("404", 10, "GA", 1),
)
_CA: Final[tuple[_Stem, ...]] = (("416", 10, "ON", 2), ("604", 10, "BC", 1), ("514", 10, "QC", 1))
_IN_LOCAL: Final[tuple[_Stem, ...]] = (
    ("802", 10, "Karnataka", 2),
    ("804", 10, "Karnataka", 1),
    ("222", 10, "Maharashtra", 2),
    ("224", 10, "Maharashtra", 1),
    ("112", 10, "Delhi", 1),
    ("114", 10, "Delhi", 1),
    ("442", 10, "Tamil Nadu", 1),
)
_FL, _MO, _TF, _UAN = (
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.MOBILE,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.UAN,
)
_STEMS: Final[dict[tuple[str, int], tuple[_Stem, ...]]] = {
    ("US", _FL): _US,
    ("US", _MO): _US,
    ("US", _TF): tuple((p, 10, None, 1) for p in ("800", "833", "844", "855", "866", "877", "888")),
    ("CA", _FL): _CA,
    ("CA", _MO): _CA,
    ("GB", _FL): (
        ("2079", 10, "London", 2),
        ("2071", 10, "London", 1),
        ("2030", 10, "London", 1),
        ("121", 10, "Birmingham", 1),
        ("161", 10, "Manchester", 1),
        ("131", 10, "Edinburgh", 1),
        ("1132", 10, "Leeds", 1),
    ),
    ("GB", _MO): tuple((p, 10, None, 1) for p in ("74", "75", "77", "78", "79")),
    ("GB", _TF): (("800", 10, None, 1), ("808", 10, None, 1)),
    ("GB", _UAN): tuple((p, 10, None, 1) for p in ("300", "330", "333", "345")),
    ("DE", _FL): (
        ("30", 10, "Berlin", 2),
        ("89", 10, "München", 1),
        ("40", 10, "Hamburg", 1),
        ("69", 10, "Frankfurt am Main", 1),
        ("221", 10, "Köln", 1),
    ),
    ("DE", _MO): (("151", 11, None, 1), ("160", 10, None, 1), ("170", 10, None, 1), ("176", 11, None, 1)),
    ("DE", _TF): (("800", 10, None, 1),),
    ("NL", _FL): (
        ("20", 9, "Amsterdam", 2),
        ("10", 9, "Rotterdam", 1),
        ("70", 9, "Den Haag", 1),
        ("30", 9, "Utrecht", 1),
    ),
    ("NL", _MO): tuple((p, 9, None, 1) for p in ("61", "62", "63", "64", "65", "68")),
    ("NL", _TF): (("800", 7, None, 1), ("800", 10, None, 1)),
    ("NL", _UAN): (("88", 9, None, 1),),
    ("IN", _FL): _IN_LOCAL,
    ("IN", _MO): (
        ("98", 10, "Maharashtra", 1),
        ("99", 10, "Karnataka", 1),
        ("97", 10, "Delhi", 1),
        ("70", 10, "Gujarat", 1),
        ("90", 10, "Tamil Nadu", 1),
    ),
    ("IN", _TF): (("1800", 10, None, 1), ("1800", 11, None, 1)),
}
_MAX_ATTEMPTS: Final = 500


@functools.cache
def _stems(region: str, number_type: int) -> tuple[tuple[_Stem, ...], tuple[int, ...]]:
    stems = _STEMS.get((region, number_type))
    if stems is None:
        example = phonenumbers.example_number_for_type(region, number_type)
        if example is None:
            raise ValueError(f"phonenumbers has no example {number_type} number for region {region!r}")
        nsn = phonenumbers.national_significant_number(example)
        vary = max(2, min(6, len(nsn) // 2))
        stems = ((nsn[: len(nsn) - vary], len(nsn), None, 1),)
    cumulative: list[int] = []
    total = 0
    for stem in stems:
        total += stem[3]
        cumulative.append(total)
    return stems, tuple(cumulative)


def _draw(
    rng: random.Random, region: str, number_type: int, last_digits: Sequence[int] | None
) -> tuple[str, str | None]:
    stems, cumulative = _stems(region, number_type)
    country_code = phonenumbers.country_code_for_region(region)
    for _ in range(_MAX_ATTEMPTS):
        prefix, length, area, _weight = rng.choices(stems, cum_weights=cumulative)[0]
        free = length - len(prefix)
        if free <= 0:
            rest = ""
        elif last_digits:
            head = f"{rng.randrange(10 ** (free - 1)):0{free - 1}d}" if free > 1 else ""
            rest = head + str(rng.choice(last_digits))
        else:
            rest = f"{rng.randrange(10**free):0{free}d}"
        national = prefix + rest
        number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
        zeros = len(national) - len(national.lstrip("0"))
        if zeros:
            number.italian_leading_zero = True
            number.number_of_leading_zeros = zeros
        if phonenumbers.is_valid_number_for_region(number, region):
            return f"+{country_code}{national}", area
    raise ValueError(f"could not draw a valid {number_type} number for {region} in {_MAX_ATTEMPTS} attempts")


def generate_number(
    rng: random.Random, region: str, number_type: int, *, last_digits: Sequence[int] | None = None
) -> str:
    """Draw a valid number for a region and phonenumbers number type, deterministically.

    Curated area codes are used for US, CA, GB, DE, NL and IN; any other region starts from
    ``phonenumbers.example_number_for_type`` and varies the trailing digits. Every candidate is
    re-checked with ``is_valid_number_for_region``, so ``+1555…``-style placeholders never come out.

    Args:
        rng: The random source.
        region: ISO 3166-1 alpha-2 region.
        number_type: A ``phonenumbers.PhoneNumberType`` (FIXED_LINE, MOBILE, TOLL_FREE, UAN...).
        last_digits: Allowed final digits (see :data:`LANE_DIGITS`), or None for any.

    Returns:
        The number in E.164.

    Raises:
        ValueError: No valid number could be drawn for that region and type.
    """
    return _draw(rng, region.upper(), number_type, last_digits)[0]


@dataclass(frozen=True)
class GeneratedNumber:
    """A drawn number.

    Attributes:
        e164: The number in E.164.
        country: Its region.
        number_type: Neutral type name (a key of :data:`NUMBER_TYPES`).
        area: Area label (state, city) when the stem has one.
    """

    e164: str
    country: str
    number_type: str
    area: str | None


def draw_numbers(
    rng: random.Random,
    mix: Sequence[tuple[str, str, float]],
    count: int,
    *,
    lane: int | None = None,
    exclude: set[str] | None = None,
) -> list[GeneratedNumber]:
    """Draw ``count`` distinct valid numbers from a weighted (region, type) mix.

    Args:
        rng: The random source.
        mix: ``(region, neutral type, weight)`` triples.
        count: How many numbers.
        lane: Restrict the last digit to ``LANE_DIGITS[lane]``, so lanes never collide.
        exclude: Numbers not to produce; the drawn numbers are added to it.

    Returns:
        The numbers, in draw order.
    """
    seen = exclude if exclude is not None else set()
    digits = LANE_DIGITS[lane] if lane is not None else None
    picks = rng.choices(mix, weights=[m[2] for m in mix], k=count)
    out: list[GeneratedNumber] = []
    for region, type_name, _weight in picks:
        pn_type = NUMBER_TYPES[type_name]
        for _ in range(_MAX_ATTEMPTS):
            e164, area = _draw(rng, region, pn_type, digits)
            if e164 not in seen:
                break
        else:
            raise ValueError(f"number space exhausted for {region} {type_name}")
        seen.add(e164)
        out.append(GeneratedNumber(e164, region, type_name, area))
    return out


@dataclass(frozen=True)
class SharedNumber:
    """A number that more than one emulator offers.

    Attributes:
        e164: The number.
        country: Its region.
        number_type: Neutral type name.
        area: Area label.
        monthly: Reference monthly price in USD (each emulator applies its own markup).
        upfront: Reference one-off price in USD.
        lanes: Which emulators (by lane) offer it.
    """

    e164: str
    country: str
    number_type: str
    area: str | None
    monthly: Decimal
    upfront: Decimal
    lanes: frozenset[int]


_SHARED_PLAN: Final[tuple[tuple[str, str, frozenset[int]], ...]] = (
    ("US", "local", frozenset({0, 1})),
    ("GB", "mobile", frozenset({0, 1})),
    ("NL", "local", frozenset({1, 2})),
    ("US", "toll-free", frozenset({1, 2})),
    ("DE", "local", frozenset({0, 2})),
    ("IN", "mobile", frozenset({0, 2})),
    ("US", "local", frozenset({0, 1, 2})),
)


@functools.lru_cache(maxsize=64)
def shared_numbers(seed: int) -> tuple[SharedNumber, ...]:
    """Return the numbers offered by more than one emulator, for a seed.

    Seven numbers: two each for lane pairs (0, 1), (1, 2) and (0, 2), and one for all three lanes.
    Every emulator draws its overlap from here and excludes all of them from its other numbers.

    Args:
        seed: The inventory seed.

    Returns:
        The shared numbers.
    """
    rng = random.Random(f"numbroker-sandbox:shared:{seed}")
    seen: set[str] = set()
    out: list[SharedNumber] = []
    for region, type_name, lanes in _SHARED_PLAN:
        (number,) = draw_numbers(rng, [(region, type_name, 1)], 1, exclude=seen)
        monthly = draw_money(rng, "1.00", "3.00", step="0.05")
        upfront = rng.choice((Decimal("0"), Decimal("0.50"), Decimal("1.00")))
        out.append(SharedNumber(number.e164, region, type_name, number.area, monthly, upfront, lanes))
    return tuple(out)


def draw_money(rng: random.Random, low: str, high: str, *, step: str = "0.01") -> Decimal:
    """Draw an amount in ``[low, high]`` on a grid of ``step``.

    Args:
        rng: The random source.
        low: Lowest amount (decimal string).
        high: Highest amount (decimal string).
        step: Grid (decimal string).

    Returns:
        The amount.
    """
    lo, hi, st = Decimal(low), Decimal(high), Decimal(step)
    return lo + st * rng.randint(0, int((hi - lo) / st))


def json_number(rng: random.Random, amount: Decimal) -> int | float:
    """Return ``amount`` as a JSON number: whole amounts randomly as ``1`` or ``1.0``."""
    if amount == amount.to_integral_value():
        return int(amount) if rng.random() < 0.5 else float(amount)
    return float(amount)


def draw_timestamp(rng: random.Random, *, micro: bool = False, days: int = 365) -> str:
    """Draw an ISO-8601 UTC timestamp in 2025 (``Z`` suffix; optionally with microseconds)."""
    moment = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(days * 86_400))
    if micro:
        moment += timedelta(microseconds=rng.randrange(1_000_000))
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def seeded_uuid(rng: random.Random) -> str:
    """Return a uuid4 string drawn from ``rng``."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def http_date(when: datetime) -> str:
    """Format a datetime as an HTTP date (for ``Retry-After``)."""
    return format_datetime(when.astimezone(UTC), usegmt=True)


def now_iso() -> str:
    """Return the current UTC time as ISO-8601 with milliseconds and ``Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
