"""The fault knobs (:class:`Faults`) and the fault-injection pipeline every vendor endpoint runs through.

Every vendor endpoint is registered through :meth:`Sandbox.route`, which hands each request to the
sandbox's :class:`FaultPipeline`; it wraps the vendor handler like this:

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
Every decision is drawn from one ``random.Random(faults.seed)`` owned by the pipeline, so a
seeded run with the same request sequence is reproducible; assigning :attr:`Sandbox.faults`
re-seeds it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final, Literal

import anyio
from starlette.requests import Request
from starlette.responses import Response

from numbroker.sandbox._context import Handler, RequestContext
from numbroker.sandbox._types import (
    AMBIGUOUS_AFTER_COMMIT,
    AMBIGUOUS_BEFORE_COMMIT,
    LOOPBACK_SCOPE_KEY,
    MALFORMED,
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
)


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
        loopback = bool(request.scope.get(LOOPBACK_SCOPE_KEY))
        context = RequestContext(self._sandbox, request, body, loopback=loopback)
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
            reply = self._error_reply(self._sandbox, 429, "")
            if faults.retry_after is not None:
                reply.headers["Retry-After"] = faults.retry_after
            return _plain(reply), 429, ()
        spoil_after = False
        if kind == "read":
            if self._hit(faults.rate_5xx):
                labels.append(SERVER_ERROR)
                status = self._rng.choice((500, 502, 503, 504))
                reply = (
                    self._gateway_page(status) if status in (502, 504) else self._error_reply(self._sandbox, status, "")
                )
                return _plain(reply), status, ()
        else:
            if self._hit(faults.rate_ambiguous_before_commit):
                labels.append(AMBIGUOUS_BEFORE_COMMIT)
                reply = self._gateway_page(self._rng.choice((502, 504)))
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
                return _plain(_malformed(self._rng, reply)), reply.status, ()
            if self._hit(faults.rate_truncated):
                labels.append(TRUNCATED)
                return _cut(reply, payload, len(payload) // 2, context.loopback), reply.status, ()
        if spoil_after and context.committed:
            labels.append(AMBIGUOUS_AFTER_COMMIT)
            purchases = self._sandbox.purchases
            for index in context.committed:
                purchases[index] = replace(purchases[index], fault=AMBIGUOUS_AFTER_COMMIT)
            choices: tuple[int, ...] = (502, 504, 0) if context.loopback else (502, 504)
            status = self._rng.choice(choices)
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
