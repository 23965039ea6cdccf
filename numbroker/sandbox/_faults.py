"""The fault knobs (:class:`Faults`) and the fault-injection pipeline every vendor endpoint runs through.

Every vendor endpoint is registered through :meth:`Sandbox.route`, which hands each request to the
sandbox's :class:`FaultPipeline`; it wraps the vendor handler like this:

1. the request is counted as received (:attr:`Sandbox.received`, per endpoint name, before any
   fault: a test can wait until a purchase request has reached the sandbox);
2. ``latency``: sleep before every request;
3. ``rate_stall``: sleep ``stall_seconds``, then carry on (a client that gave up meanwhile is
   logged with status 0);
4. the owned-numbers list (the endpoint named ``"owned"``): ``owned_list_stall`` seconds of
   silence before it is handled (``math.inf``: it never answers); a client that goes away ends it,
   logged with status 0;
5. purchase endpoints, ``hold_purchase_seconds`` with ``hold_purchase_commit="after"`` or
   ``"unless_gone"``: the request is held before the vendor handler runs (see step 10 for
   ``"before"``);
6. ``rate_429``: the vendor's own rate-limit error, with ``Retry-After: <retry_after>``;
7. read (GET) endpoints: ``rate_5xx`` (500/503 in the vendor's envelope, 502/504 as a proxy's
   HTML page); purchase endpoints: ``rate_ambiguous_before_commit`` (502/504, nothing
   committed) and the decision for ``rate_race`` (the vendor handler asks
   :meth:`RequestContext.lose_race`, which hands the number to "someone else") and for
   ``rate_release_refused`` (a release handler that emulates it reads ``context.refuse_release``);
8. the vendor handler (a committed number shows in the owned list only ``owned_list_lag_seconds``
   after its commit: vendor handlers filter their owned list through :meth:`Sandbox.listed`);
9. read endpoints answering 2xx: ``rate_malformed`` (200 with a body that is not JSON or has the
   wrong shape), then ``rate_truncated`` (over loopback: the full ``Content-Length`` but only
   half the bytes, then the connection closes; in-process: half the JSON); purchase endpoints
   that committed: ``rate_ambiguous_after_commit`` (502/504, or over loopback the response is cut
   off mid-body), else ``commit_then_503`` (a 503 in the vendor's own error envelope);
10. purchase endpoints, ``hold_purchase_seconds`` with ``hold_purchase_commit="before"`` (the
    default): the purchase has committed (or been refused), the answer is held back that long; a
    client that goes away ends the hold, logged with status 0 (the commit stands);
11. ``drip_seconds``, on the endpoints named in ``drip_endpoints`` (default the purchase and the
    owned list): the answer's status line and headers (with the true ``Content-Length``) go out at
    once, then the body one byte every ``drip_seconds`` (a cut-off answer is not dripped).

``repeat_token`` and ``lying_total`` are applied by the paging helpers
:meth:`Sandbox.token_page` and :meth:`Sandbox.numbered_page`.
Every decision is drawn from one ``random.Random(faults.seed)`` owned by the pipeline, so a
seeded run with the same request sequence is reproducible; assigning :attr:`Sandbox.faults`
re-seeds it. A knob that is off (or a rate of 0 or 1) draws nothing.

Knobs travel as JSON (:meth:`Faults.to_json`, :meth:`Faults.from_json`, :func:`load_faults`), e.g. in
the ``NUMBROKER_SANDBOX_FAULTS`` environment variable read by
:func:`~numbroker.sandbox.create_sandboxes` (so ``numbroker sandbox serve`` serves them) and by
``PUT /_sandbox/faults`` on a running sandbox (see :class:`~numbroker.sandbox.Sandbox`).
"""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Final, Literal

import anyio
from starlette.requests import Request
from starlette.responses import Response

from numbroker.sandbox._context import Handler, RequestContext
from numbroker.sandbox._types import (
    AMBIGUOUS_AFTER_COMMIT,
    AMBIGUOUS_BEFORE_COMMIT,
    COMMIT_THEN_503,
    DRIP,
    HELD,
    LOOPBACK_SCOPE_KEY,
    MALFORMED,
    OWNED_STALL,
    RATE_LIMITED,
    SERVER_ERROR,
    STALL,
    TRUNCATED,
    ErrorReply,
    Reply,
    SandboxState,
    ServedRequest,
)

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send


_RATES: Final = (
    "rate_429",
    "rate_5xx",
    "rate_malformed",
    "rate_truncated",
    "rate_stall",
    "rate_race",
    "rate_ambiguous_after_commit",
    "rate_ambiguous_before_commit",
    "commit_then_503",
    "sell_other_number",
    "rate_release_refused",
)
_DURATIONS: Final = (
    "latency",
    "stall_seconds",
    "hold_purchase_seconds",
    "owned_list_lag_seconds",
    "release_list_lag_seconds",
    "drip_seconds",
    "owned_list_stall",
)
_HOLD_COMMITS: Final = ("before", "after", "unless_gone")

OWNED_ENDPOINT: Final = "owned"
"""The endpoint name vendor modules give their owned-numbers list (``owned_list_stall`` applies to it)."""
PURCHASE_ENDPOINT: Final = "purchase"
"""The endpoint name vendor modules give their purchase endpoint."""

HoldCommit = Literal["before", "after", "unless_gone"]

_Answer = tuple[Response, int, tuple[str, ...]]
"""The response to send, the status to log and the offers it served intact."""


@dataclass(frozen=True)
class Faults:
    """Fault knobs of a sandbox; all off by default.

    Rates are probabilities in ``[0, 1]``, drawn per request from ``random.Random(seed)``;
    durations are seconds, never negative. The order they apply in is the pipeline's
    (:mod:`numbroker.sandbox._faults`).

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
        commit_then_503: Probability that a purchase commits, then answers 503 in the vendor's own
            error envelope (1.0: every purchase). ``rate_ambiguous_after_commit`` wins when both hit.
        hold_purchase_seconds: Every purchase request is held this long before its answer.
        hold_purchase_commit: When a held purchase commits: ``"before"`` the hold (the answer is
            held back; the commit stands if the client goes away), ``"after"`` it (the vendor
            commits when the hold ends, whether or not the client is still there), or
            ``"unless_gone"`` (after the hold, and only if the client is still connected: a client
            that went away leaves nothing committed).
        sell_other_number: Probability that a purchase sells (commits and charges) another available
            number than the one asked for, and answers 200 naming that one (emulators that support it).
        rate_release_refused: Probability that a release is refused the way its vendor documents a refusal
            (emulators that support it; nothing changes). Vonage's answers HTTP 200 with a failing ``error-code``.
        owned_list_lag_seconds: A bought number shows in the owned-numbers list only this long
            after its purchase committed (the lag in force at the commit counts).
        release_list_lag_seconds: A number given back (or whose release is pending) still shows in the
            owned list as it was before, this long after the release committed.
        drip_seconds: Answers of the ``drip_endpoints`` send their body one byte every this many
            seconds (headers at once, with the true ``Content-Length``); 0 = off.
        drip_endpoints: Endpoint names that drip (``"purchase"``, ``"owned"``, ``"search"``).
        owned_list_stall: Seconds an owned-numbers list request waits before it is handled;
            ``math.inf`` never answers (the wait ends when the client goes away).
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
    commit_then_503: float = 0.0
    sell_other_number: float = 0.0
    rate_release_refused: float = 0.0
    hold_purchase_seconds: float = 0.0
    hold_purchase_commit: HoldCommit = "before"
    owned_list_lag_seconds: float = 0.0
    release_list_lag_seconds: float = 0.0
    drip_seconds: float = 0.0
    drip_endpoints: frozenset[str] = frozenset({PURCHASE_ENDPOINT, OWNED_ENDPOINT})
    owned_list_stall: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in _RATES:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Faults.{name} must be a probability in [0, 1], got {value!r}")
        for name in _DURATIONS:
            value = getattr(self, name)
            if not value >= 0:  # also refuses NaN
                raise ValueError(f"Faults.{name} must be a non-negative number of seconds, got {value!r}")
        if self.lying_total is not None and self.lying_total < 0:
            raise ValueError("Faults.lying_total must not be negative")
        if self.hold_purchase_commit not in _HOLD_COMMITS:
            raise ValueError(
                f"Faults.hold_purchase_commit must be one of {', '.join(_HOLD_COMMITS)}, "
                f"got {self.hold_purchase_commit!r}"
            )
        endpoints: object = self.drip_endpoints
        if isinstance(endpoints, str) or not isinstance(endpoints, Iterable):
            raise ValueError("Faults.drip_endpoints must be a collection of endpoint names")
        names = frozenset(endpoints)
        if not all(isinstance(e, str) for e in names):
            raise ValueError("Faults.drip_endpoints must be a collection of endpoint names")
        object.__setattr__(self, "drip_endpoints", names)

    def to_json(self) -> dict[str, Any]:
        """Return the knobs as a JSON-ready dict.

        ``drip_endpoints`` becomes a sorted list; ``math.inf`` stays a float, which
        :func:`json.dumps` writes as ``Infinity`` (and :func:`json.loads` reads back).
        """
        data = asdict(self)
        data["drip_endpoints"] = sorted(self.drip_endpoints)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Faults:
        """Build knobs from a JSON object of field names (missing fields keep their defaults).

        Args:
            data: Field name -> value, as :meth:`to_json` writes it.

        Returns:
            The knobs.

        Raises:
            ValueError: An unknown field, or a value a knob refuses.
        """
        if unknown := sorted(set(data) - FIELD_NAMES):
            raise ValueError(f"unknown fault knob(s) {', '.join(unknown)}; known: {', '.join(sorted(FIELD_NAMES))}")
        values = dict(data)
        if "drip_endpoints" in values and isinstance(values["drip_endpoints"], list):
            values["drip_endpoints"] = frozenset(values["drip_endpoints"])
        try:
            return cls(**values)
        except TypeError as exc:
            raise ValueError(f"bad fault knobs: {exc}") from None


FIELD_NAMES: Final = frozenset(f.name for f in fields(Faults))


def load_faults(text: str, ids: Iterable[str]) -> dict[str, Faults]:
    """Read knobs from JSON: the knobs each of ``ids`` gets.

    The JSON is an object: its knob fields (as :meth:`Faults.from_json` reads them) apply to every
    provider; a key that is a provider id holds an object of knobs for that provider alone, on top of
    the shared ones. ``{"hold_purchase_seconds": 30, "acme": {"commit_then_503": 1.0}}`` holds every
    purchase 30 s, and provider ``acme``'s also answer 503 after committing.

    Args:
        text: The JSON text.
        ids: The provider ids that may be named.

    Returns:
        Provider id -> its knobs, for every id of ``ids``.

    Raises:
        ValueError: Not a JSON object, an unknown key, or a value a knob refuses.
    """
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"fault knobs must be a JSON object: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("fault knobs must be a JSON object")
    wanted = list(ids)
    shared = {k: v for k, v in data.items() if k in FIELD_NAMES}
    own = {k: v for k, v in data.items() if k not in FIELD_NAMES}
    if unknown := sorted(set(own) - set(wanted)):
        raise ValueError(
            f"unknown fault knob or provider {', '.join(unknown)}; knobs: {', '.join(sorted(FIELD_NAMES))}; "
            f"providers: {', '.join(wanted)}"
        )
    out: dict[str, Faults] = {}
    for pid in wanted:
        extra = own.get(pid, {})
        if not isinstance(extra, dict):
            raise ValueError(f"the fault knobs for {pid} must be a JSON object")
        out[pid] = Faults.from_json({**shared, **extra})
    return out


def dump_faults(faults: Faults | Mapping[str, Faults]) -> str:
    """Write knobs as the JSON :func:`load_faults` reads: one :class:`Faults` for all, or per provider id."""
    if isinstance(faults, Faults):
        return json.dumps(faults.to_json())
    return json.dumps({pid: f.to_json() for pid, f in faults.items()})


class FaultPipeline:
    """The fault-injection pipeline of one sandbox: the knobs, their RNG, and the request log it writes.

    Args:
        sandbox: The sandbox it serves (its log and purchases are written here).
        error_reply: The vendor's error shape.
        faults: The initial knobs.
    """

    def __init__(self, sandbox: SandboxState, error_reply: ErrorReply, faults: Faults) -> None:
        self._sandbox = sandbox
        self._error_reply = error_reply
        self._faults = faults
        self._rng = random.Random(faults.seed)

    @property
    def faults(self) -> Faults:
        """The active fault knobs; assigning new ones re-seeds the fault RNG."""
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._faults = faults
        self._rng = random.Random(faults.seed)

    def _hit(self, rate: float) -> bool:
        if rate <= 0.0:
            return False
        if rate >= 1.0:
            return True
        return self._rng.random() < rate

    def _log(self, request: Request, status: int, labels: list[str], offers: tuple[str, ...], name: str) -> None:
        self._sandbox.log.append(
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

    async def serve(self, request: Request, handler: Handler, kind: Literal["read", "purchase"], name: str) -> Response:
        """Answer one request: run the faults around the vendor handler and log the outcome.

        Args:
            request: The request.
            handler: The vendor handler.
            kind: ``read`` (search and list endpoints) or ``purchase``.
            name: Endpoint name for the log.

        Returns:
            The response to send.
        """
        faults = self._faults
        body = await request.body()
        self._sandbox.received[name] += 1
        loopback = bool(request.scope.get(LOOPBACK_SCOPE_KEY))
        context = RequestContext(self._sandbox, request, body, loopback=loopback)
        labels = context.labels
        hold = faults.hold_purchase_seconds if kind == "purchase" else 0.0
        with self._logged_if_cancelled(request, labels, name):
            if await self._wait_before(context, faults, name, hold):
                return self._abandon(request, labels, name)
        response, status, offers = await self._answer(context, handler, kind, faults)
        with self._logged_if_cancelled(request, labels, name):
            if await self._hold_answer(context, faults, hold):
                return self._abandon(request, labels, name)
        if faults.drip_seconds > 0 and name in faults.drip_endpoints and not isinstance(response, _CutResponse):
            labels.append(DRIP)
            response = _DripResponse(response, faults.drip_seconds)
        self._log(request, status, labels, offers, name)
        return response

    @contextlib.contextmanager
    def _logged_if_cancelled(self, request: Request, labels: list[str], name: str) -> Iterator[None]:
        """Log the request as abandoned (status 0) if its task is cancelled inside the block."""
        try:
            yield
        except anyio.get_cancelled_exc_class():
            self._log(request, 0, labels, (), name)
            raise

    async def _wait_before(self, context: RequestContext, faults: Faults, name: str, hold: float) -> bool:
        """Steps 2 to 5 (latency, a stall, the owned-list stall, a hold before the commit); True if the client left."""
        request, labels = context.request, context.labels
        if faults.latency > 0:
            await anyio.sleep(faults.latency)
        if self._hit(faults.rate_stall):
            labels.append(STALL)
            await anyio.sleep(faults.stall_seconds)
            if context.loopback and await request.is_disconnected():
                return True
        if name == OWNED_ENDPOINT and faults.owned_list_stall > 0:
            labels.append(OWNED_STALL)
            if await _client_left_within(request, faults.owned_list_stall):
                return True
        if hold > 0 and faults.hold_purchase_commit != "before":
            labels.append(HELD)
            if faults.hold_purchase_commit != "after":
                return await _client_left_within(request, hold)
            await anyio.sleep(hold)
        return False

    @staticmethod
    async def _hold_answer(context: RequestContext, faults: Faults, hold: float) -> bool:
        """Step 10: a committed (or refused) purchase's answer held back; True if the client left meanwhile."""
        if hold > 0 and faults.hold_purchase_commit == "before":
            context.labels.append(HELD)
            return await _client_left_within(context.request, hold)
        return False

    def _abandon(self, request: Request, labels: list[str], name: str) -> Response:
        """Log a request whose client went away (status 0) and return a placeholder nobody reads."""
        self._log(request, 0, labels, (), name)
        return Response(status_code=499)

    async def _answer(self, context: RequestContext, handler: Handler, kind: str, faults: Faults) -> _Answer:
        """Steps 6 to 9: a fault instead of the vendor handler, or the handler's reply (perhaps spoiled)."""
        if self._hit(faults.rate_429):
            return self._rate_limited(context.labels, faults)
        if kind == "read":
            if self._hit(faults.rate_5xx):
                return self._server_error(context.labels)
            return await self._read(context, handler, faults)
        if self._hit(faults.rate_ambiguous_before_commit):
            context.labels.append(AMBIGUOUS_BEFORE_COMMIT)
            reply = self._gateway_page(self._rng.choice((502, 504)))
            return _plain(reply), reply.status, ()
        return await self._purchase(context, handler, faults)

    def _rate_limited(self, labels: list[str], faults: Faults) -> _Answer:
        labels.append(RATE_LIMITED)
        reply = self._error_reply(self._sandbox, 429, "")
        if faults.retry_after is not None:
            reply.headers["Retry-After"] = faults.retry_after
        return _plain(reply), 429, ()

    def _server_error(self, labels: list[str]) -> _Answer:
        labels.append(SERVER_ERROR)
        status = self._rng.choice((500, 502, 503, 504))
        reply = self._gateway_page(status) if status in (502, 504) else self._error_reply(self._sandbox, status, "")
        return _plain(reply), status, ()

    async def _read(self, context: RequestContext, handler: Handler, faults: Faults) -> _Answer:
        """A read endpoint's reply; a 2xx may come back malformed or truncated."""
        reply = await handler(context.request, context)
        context.labels.extend(reply.faults)
        payload = reply.encode()
        if 200 <= reply.status < 300:
            if self._hit(faults.rate_malformed):
                context.labels.append(MALFORMED)
                return _plain(_malformed(self._rng, reply)), reply.status, ()
            if self._hit(faults.rate_truncated):
                context.labels.append(TRUNCATED)
                return _cut(reply, payload, len(payload) // 2, context.loopback), reply.status, ()
        return _plain(reply, payload), reply.status, reply.offer_ids

    async def _purchase(self, context: RequestContext, handler: Handler, faults: Faults) -> _Answer:
        """A purchase's reply; one that committed may be lost (502/504, a cut) or answered 503 instead."""
        context.race = self._hit(faults.rate_race)
        spoil_after = self._hit(faults.rate_ambiguous_after_commit)
        then_503 = self._hit(faults.commit_then_503)
        context.sell_other = self._hit(faults.sell_other_number)
        context.refuse_release = self._hit(faults.rate_release_refused)
        reply = await handler(context.request, context)
        context.labels.extend(reply.faults)
        payload = reply.encode()
        if spoil_after and (context.committed or context.changed):
            self._mark_committed(context, AMBIGUOUS_AFTER_COMMIT)
            choices: tuple[int, ...] = (502, 504, 0) if context.loopback else (502, 504)
            status = self._rng.choice(choices)
            if status == 0:  # the connection drops mid-answer
                return _cut(reply, payload, len(payload) // 3, True), reply.status, ()
            return _plain(self._gateway_page(status)), status, ()
        if then_503 and (context.committed or context.changed):
            self._mark_committed(context, COMMIT_THEN_503)
            return _plain(self._error_reply(self._sandbox, 503, "")), 503, ()
        return _plain(reply, payload), reply.status, reply.offer_ids

    def _mark_committed(self, context: RequestContext, label: str) -> None:
        """Label the request and every purchase it committed: the client never saw the success answer."""
        context.labels.append(label)
        purchases = self._sandbox.purchases
        for index in context.committed:
            purchases[index] = replace(purchases[index], fault=label)
        for index in context.released:
            self._sandbox.releases[index]["fault"] = label

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


async def _client_left_within(request: Request, seconds: float) -> bool:
    """Wait up to ``seconds`` (``math.inf``: for ever); return early, True, if the client disconnects.

    The request body has been read already, so the next ASGI message is the disconnect (over
    loopback when the peer closes; in-process when the client's task is cancelled).
    """
    with anyio.move_on_after(seconds):
        while (await request.receive())["type"] != "http.disconnect":
            pass
        return True
    return False


class _DripResponse(Response):
    """Sends a response's status and headers at once, then its body one byte every ``every`` seconds."""

    def __init__(self, response: Response, every: float) -> None:
        super().__init__(content=b"", status_code=response.status_code)
        self.raw_headers = list(response.raw_headers)  # keeps the true Content-Length
        self._payload = bytes(response.body)
        self._every = every

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        payload = self._payload
        async with anyio.create_task_group() as group:

            async def stop_when_the_client_leaves() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                group.cancel_scope.cancel()

            group.start_soon(stop_when_the_client_leaves)
            if not payload:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            for index in range(len(payload)):
                if index:
                    await anyio.sleep(self._every)
                more = index + 1 < len(payload)
                await send({"type": "http.response.body", "body": payload[index : index + 1], "more_body": more})
            group.cancel_scope.cancel()
