"""The sandbox's value types: the request log, the ground truth, purchases, replies and pages.

Plain data, shared by the fault pipeline (:mod:`numbroker.sandbox._faults`), the app
(:mod:`numbroker.sandbox._app`) and the vendor emulators; nothing here needs Starlette.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Generic, Protocol, TypeVar

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
COMMIT_THEN_503: Final = "commit_then_503"
HELD: Final = "held"
OWNED_STALL: Final = "owned_stall"
DRIP: Final = "drip"

LOOPBACK_SCOPE_KEY: Final = "numbroker.sandbox.loopback"
"""ASGI scope key the loopback server sets, so the fault pipeline knows a real socket is underneath."""


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
        fault: ``ambiguous_after_commit`` or ``commit_then_503`` if the client never saw the success
            answer.
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

    @property
    def labels(self) -> list[str]:
        """The fault labels for :attr:`Reply.faults` (``["lying_total"]`` or none)."""
        return [self.fault] if self.fault else []


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

    @property
    def labels(self) -> list[str]:
        """The fault labels for :attr:`Reply.faults` (``["repeat_token"]`` or none)."""
        return [self.fault] if self.fault else []


class InvalidPageToken(ValueError):
    """Raised by :meth:`Sandbox.decode_token` for a token this sandbox did not issue."""


class Refused(Exception):
    """Raised by a vendor handler, or a helper it calls, to answer at once with ``reply``.

    What a request-checking helper raises instead of returning its error (a bad parameter, a missing
    credential), so the handler reads as the successful path. :meth:`Sandbox.route` answers with
    ``reply`` as if the handler had returned it; whatever the handler did before stands.

    Attributes:
        reply: The answer, in the vendor's error envelope.
    """

    def __init__(self, reply: Reply) -> None:
        super().__init__(f"refused with {reply.status}")
        self.reply = reply


class SandboxState(Protocol):
    """What a request's context and the fault pipeline read and change on the sandbox serving the request.

    :class:`~numbroker.sandbox.Sandbox` is the one implementation; naming only this much keeps the
    context and the pipeline below the sandbox that owns them.
    """

    log: list[ServedRequest]
    owned: dict[str, str]
    purchases: list[Purchase]
    taken: set[str]
    received: Counter[str]
    listed_from: dict[str, float]
    unlisted_from: dict[str, float]
    releases: list[dict[str, Any]]
    records: list[SandboxRecord]

    @property
    def faults(self) -> Any:
        """The sandbox's :class:`~numbroker.sandbox.Faults` (typed loosely: the knobs live above this module)."""
        ...

    def invalidate(self) -> None:
        """Forget cached views of the inventory (after a purchase or a lost race changed it)."""
        ...

    def is_available(self, offer_id: str) -> bool:
        """Whether the offer is still in the inventory (neither ours nor taken)."""
        ...


ErrorReply = Callable[[Any, int, str], Reply]
"""``(sandbox, status, message) -> Reply``: a vendor's error envelope (the sandbox is the vendor's own class)."""
