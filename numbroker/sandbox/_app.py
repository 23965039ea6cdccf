"""The :class:`Sandbox` base: a vendor emulator's ASGI app, ground truth, request log and purchase state.

A vendor module (``numbroker_providers.<id>.sandbox``) builds one in its ``create_app``: it describes
its wire format (routes made with :meth:`Sandbox.route`, an error shape) over a deterministic inventory;
the fault pipeline (:mod:`numbroker.sandbox._faults`), the inventory views, the paging helpers and
the page tokens are shared here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from numbroker.sandbox._context import Handler, RequestContext
from numbroker.sandbox._faults import PURCHASE_ENDPOINT, FaultPipeline, Faults
from numbroker.sandbox._types import (
    LYING_TOTAL,
    REPEAT_TOKEN,
    ErrorReply,
    InvalidPageToken,
    NumberedPage,
    Purchase,
    Refused,
    Reply,
    SandboxRecord,
    ServedRequest,
    T,
    TokenPage,
)
from numbroker.sandbox._values import seeded_uuid

if TYPE_CHECKING:
    import httpx
    from starlette.types import ASGIApp

STATE_PATH = "/_sandbox/state"
"""``GET``: the sandbox's state as JSON (:meth:`Sandbox.state`); loopback clients only."""
FAULTS_PATH = "/_sandbox/faults"
"""``PUT`` a JSON object of knobs to replace the sandbox's :class:`Faults`; loopback clients only."""


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
        received: Endpoint name -> requests that reached it (counted on arrival, before any fault).
        listed_from: E.164 -> ``time.monotonic()`` from which an owned number shows in the owned
            list (``Faults.owned_list_lag_seconds``; see :meth:`listed`).
        unlisted_from: E.164 -> ``time.monotonic()`` until which a number given back still shows in the
            owned list as it was (``Faults.release_list_lag_seconds``; see :meth:`release_lagging`).
        releases: Every release the server committed (``e164``, ``state``, ``fault``), in order.
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
        self.received: Counter[str] = Counter()
        self.listed_from: dict[str, float] = {}
        self.unlisted_from: dict[str, float] = {}
        self.releases: list[dict[str, Any]] = []
        self.taken: set[str] = set()
        self.balance = balance
        self.options: dict[str, Any] = dict(options or {})
        self._app: ASGIApp | None = None
        self._pipeline = FaultPipeline(self, error_reply, faults or Faults())
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
        return self._pipeline.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._pipeline.faults = faults

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

        async def answer(request: Request, context: RequestContext) -> Reply:
            try:
                return await handler(request, context)
            except Refused as refusal:
                return refusal.reply

        async def endpoint(request: Request) -> Response:
            return await self._pipeline.serve(request, answer, kind, endpoint_name)

        return Route(path, endpoint, methods=list(methods), name=endpoint_name)

    def purchase_route(self, path: str, handler: Handler) -> Route:
        """The route of the vendor's purchase endpoint: :meth:`route` for a ``POST`` named ``"purchase"``."""
        return self.route(path, handler, methods=("POST",), kind="purchase", name=PURCHASE_ENDPOINT)

    def build(self, routes: Sequence[Route]) -> None:
        """Create the ASGI app from the vendor's routes, plus the inspection endpoints.

        Args:
            routes: Routes made with :meth:`route`.
        """
        inspection = [
            Route(STATE_PATH, self._state_endpoint, methods=["GET"], name="_sandbox_state"),
            Route(FAULTS_PATH, self._faults_endpoint, methods=["PUT"], name="_sandbox_faults"),
        ]
        self._app = Starlette(routes=[*inspection, *routes])

    # -- inspection ------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """What the account owns and what reached the server (the body of ``GET /_sandbox/state``).

        Returns:
            A JSON-ready dict: ``provider``; ``owned`` (every number bought, in purchase order:
            ``e164``, ``offer_id``, ``listed`` = whether the owned list shows it yet);
            ``purchases`` (every commit: ``offer_id``, ``e164``, ``upfront``, ``monthly`` as decimal
            strings or None, ``currency``, ``fault``); ``releases`` (every release committed: ``e164``,
            ``state``, ``fault``); ``requests`` (endpoint name -> ``received``,
            ``answered`` = logged with a status, ``abandoned`` = logged with status 0 because the
            client went away; received minus both is still in flight); ``faults``
            (:meth:`Faults.to_json`).
        """
        now = time.monotonic()
        requests: dict[str, dict[str, int]] = {
            name: {"received": count, "answered": 0, "abandoned": 0} for name, count in self.received.items()
        }
        for entry in self.log:
            counts = requests.setdefault(entry.endpoint, {"received": 0, "answered": 0, "abandoned": 0})
            counts["answered" if entry.status else "abandoned"] += 1
        return {
            "provider": self.name,
            "owned": [
                {"e164": e164, "offer_id": offer_id, "listed": self.listed_from.get(e164, now) <= now}
                for e164, offer_id in self.owned.items()
            ],
            "purchases": [
                {
                    "offer_id": p.offer_id,
                    "e164": p.e164,
                    "upfront": None if p.upfront is None else str(p.upfront),
                    "monthly": None if p.monthly is None else str(p.monthly),
                    "currency": p.currency,
                    "fault": p.fault,
                }
                for p in self.purchases
            ],
            "releases": [dict(r) for r in self.releases],
            "requests": requests,
            "faults": self.faults.to_json(),
        }

    async def _state_endpoint(self, request: Request) -> Response:
        if not _from_loopback(request):
            return Response(status_code=404)
        return _json(200, self.state())

    async def _faults_endpoint(self, request: Request) -> Response:
        if not _from_loopback(request):
            return Response(status_code=404)
        try:
            data = json.loads(await request.body())
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object of fault knobs")
            self.faults = Faults.from_json(data)
        except ValueError as exc:
            return _json(400, {"error": str(exc)})
        return _json(200, self.faults.to_json())

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

    def listed(self, numbers: Sequence[T], e164_of: Callable[[T], Any]) -> list[T]:
        """The owned numbers the owned list shows now: ``numbers`` less those still in their lag.

        Vendor handlers filter their owned list through this (``Faults.owned_list_lag_seconds``).

        Args:
            numbers: The vendor's owned-number objects, in its order.
            e164_of: Returns an object's E.164 (as committed).

        Returns:
            The objects to list.
        """
        now = time.monotonic()
        return [n for n in numbers if self.listed_from.get(e164_of(n), now) <= now]

    def release_lagging(self, e164: str) -> bool:
        """Whether the owned list still shows ``e164`` as it was before its release (the release's list lag)."""
        return self.unlisted_from.get(e164, 0.0) > time.monotonic()

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
        lie = self.faults.lying_total
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
        if self.faults.repeat_token and token:
            return TokenPage(chunk, token, REPEAT_TOKEN)
        return TokenPage(chunk, next_token, None)

    # -- misc helpers for vendor modules ---------------------------------------------------

    def new_uuid(self) -> str:
        """Return a fresh uuid4 string from the sandbox's id RNG (deterministic per seed)."""
        return seeded_uuid(self._id_rng)

    def new_hex(self, length: int = 12) -> str:
        """Return fresh hex characters from the sandbox's id RNG."""
        return f"{self._id_rng.getrandbits(4 * length):0{length}x}"


def _from_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _json(status: int, body: Any) -> Response:
    # json.dumps (not Starlette's JSONResponse) so an infinite duration is written as Infinity.
    return Response(json.dumps(body), status_code=status, media_type="application/json")
