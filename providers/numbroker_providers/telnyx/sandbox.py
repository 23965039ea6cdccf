"""Telnyx emulator: number search, asynchronous number orders and the owned-number list.

Speaks ``https://api.telnyx.com/v2`` (``base_path="/v2"``), following the SDK ``team-telnyx/telnyx-python``
(commit 6d68c8ca) and the developers.telnyx.com pages cited in
:mod:`numbroker_providers.telnyx._adapter`:

* ``GET /v2/available_phone_numbers`` with ``Authorization: Bearer KEY…``. Only deepObject parameters
  are read: ``filter[country_code]``, ``filter[phone_number_type]`` (``local``, ``mobile``,
  ``toll_free``, ``national``, ``shared_cost``), ``filter[features]`` (comma-joined, all required),
  ``filter[phone_number][starts_with|contains|ends_with]`` (matched against the national number, without
  the country code), ``filter[limit]``, ``filter[best_effort]``, ``filter[quickship]``,
  ``filter[reservable]``. A parameter without the ``filter[...]`` wrapping is ignored, so a client
  that drops it gets unfiltered numbers back, as telnyx-node#289 reports (no country: every country).
  Without ``filter[limit]`` at most :data:`DEFAULT_LIMIT` numbers come back (Telnyx documents no
  default; this is the sandbox's own). No paging: ``{"data": [...], "meta": {"total_results",
  "best_effort_results"}}``. Records carry no number type.
* Best-effort results: in US and CA, a search with a ``filter[phone_number]`` pattern that finds fewer
  numbers than its limit is topped up with up to :data:`BEST_EFFORT_EXTRAS` nearby numbers of the same
  country and type that do **not** match, flagged ``"best_effort": true``, unless
  ``filter[best_effort]=false``.
* ``POST /v2/number_orders`` ``{"phone_numbers": [{"phone_number", "requirement_group_id"?}]}``: 200
  with the order ``{"data": {"id", "record_type": "number_order", "status": "pending",
  "phone_numbers": [{..., "status": "pending"}], ...}}``. Only numbers a search of this sandbox served
  can be ordered; any other (or one taken meanwhile) is a 422 ``... is not available``. The order is
  committed (the number leaves the inventory and is listed as ``purchase-pending``) and settles after
  ``order_polls`` reads of ``GET /v2/number_orders/{id}``: to ``success`` (``active``), or ``failure``
  for the numbers in ``failing_numbers`` (listed ``purchase-failed``, no longer ours). Numbers of
  ``requirement_countries`` ordered without a ``requirement_group_id`` never settle (their
  requirements are pending), and neither does any number with ``order_polls=None``.
* ``GET /v2/phone_numbers``: the numbers the account holds (``owned`` of them before anything is bought,
  then each one ordered), ``filter[phone_number]`` (digits contained in the number; anything but digits
  matches nothing, as documented), ``page[number]``, ``page[size]`` (default 20, max 250), ``meta
  {total_pages, total_results, page_number, page_size}``. Records are ``NumbersPhoneNumberDetailed``'s
  fields: the seeded ones show each quirk of the list (:data:`OWNED_QUIRKS`): routed by a connection,
  by a messaging profile only, or nowhere; deletion-locked; pending purchase, requirements or port-out;
  deleted and purchase-failed numbers Telnyx still lists; ``emergency-only``; a ``longcode`` type. No
  record states a price or a renewal date, as Telnyx's do not.
* ``DELETE /v2/phone_numbers/{id}``: gives the number back at once and answers its final representation,
  ``{"data": {..., "status": "deleted"}}``; a number ordered with its deletion lock on (``deletion_locked``)
  is refused 403 ``10035`` "Resource locked" and stays the account's; an unknown id is a 404 ``10005``. A
  purchase-kind endpoint (the ambiguous knobs and holds apply); ``Faults.release_list_lag_seconds`` keeps
  the owned list showing the number as it was.
* Errors ``{"errors": [{"code", "title", "detail"[, "source"]}]}``: 401 ``10009``, 404 ``10005``,
  400/422 ``10015``, 429 ``10011`` with ``x-ratelimit-limit``, ``x-ratelimit-remaining: 0`` and
  ``x-ratelimit-reset`` (``ratelimit_reset`` seconds), 5xx ``10007``. Refused countries answer 400.

Reservations (``POST /v2/number_reservations``) are not emulated: the adapter does not use them.
"""

from __future__ import annotations

__all__ = [
    "BASE_PATH",
    "OWNED_QUIRKS",
    "BEST_EFFORT_EXTRAS",
    "BUCKETS",
    "DEFAULT_LIMIT",
    "DEFAULT_PER_BUCKET",
    "LANE",
    "WIRE_TYPES",
    "create_app",
]

import hmac
import random
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import phonenumbers

from numbroker.sandbox import (
    Faults,
    GeneratedNumber,
    Refused,
    Reply,
    Sandbox,
    SandboxRecord,
    bucketed_inventory,
    draw_money,
    draw_number,
    draw_numbers,
    now_iso,
    seeded_uuid,
    shared_numbers,
)

if TYPE_CHECKING:
    from starlette.datastructures import QueryParams
    from starlette.requests import Request
    from starlette.routing import Route

    from numbroker.sandbox import RequestContext, SharedNumber

LANE: Final = 2
"""This emulator's lane in :func:`numbroker.sandbox.shared_numbers`: IdentityCall's, whose entries come
from Telnyx, so the numbers both offer are the ones Telnyx has in stock (at Telnyx's own prices)."""
BASE_PATH: Final = "/v2"
DEFAULT_PER_BUCKET: Final = 30
"""Numbers per (country, type) bucket when ``size`` is not given."""
DEFAULT_LIMIT: Final = 10
"""Numbers answered when a search sends no ``filter[limit]`` (the sandbox's choice; Telnyx documents none)."""
MAX_LIMIT: Final = 1000
BEST_EFFORT_EXTRAS: Final = 3
BUCKETS: Final[tuple[tuple[str, str], ...]] = (
    ("US", "local"),
    ("US", "toll-free"),
    ("CA", "local"),
    ("CA", "toll-free"),
    ("GB", "local"),
    ("GB", "mobile"),
    ("GB", "toll-free"),
    ("GB", "national"),
    ("DE", "local"),
    ("DE", "toll-free"),
    ("NL", "local"),
    ("NL", "mobile"),
    ("NL", "national"),
)
"""(country, neutral type) pairs in stock; other types of supported countries answer ``{"data": []}``."""
WIRE_TYPES: Final[Mapping[str, str]] = {
    "local": "local",
    "mobile": "mobile",
    "toll-free": "toll_free",
    "national": "national",
}
"""Neutral type names (:data:`numbroker.sandbox.NUMBER_TYPES`) → ``filter[phone_number_type]`` values."""

_FROM_WIRE: Final = {wire: neutral for neutral, wire in WIRE_TYPES.items()}
_WIRE_TYPE_NAMES: Final = ("local", "mobile", "toll_free", "national", "shared_cost")
_FEATURE_NAMES: Final = frozenset(
    {"sms", "mms", "voice", "fax", "emergency", "hd_voice", "international_sms", "local_calling"}
)
_REFUSED: Final = frozenset({"CU", "IR", "KP", "SY"})
_KEY: Final = re.compile(r"KEY[0-9A-F]{32}_[A-Za-z0-9]{22}")
_RANGES: Final = {
    "local": ("0.50", "1.50"),
    "mobile": ("1.00", "3.00"),
    "toll-free": ("0.75", "2.00"),
    "national": ("1.00", "2.50"),
}
_FEATURES: Final = {
    "local": ("voice", "sms", "mms", "fax", "emergency", "hd_voice"),
    "mobile": ("voice", "sms", "mms"),
    "toll-free": ("voice", "sms", "hd_voice"),
    "national": ("voice",),
}
_OWNED_DEFAULT_SIZE: Final = 20
_OWNED_MAX_SIZE: Final = 250
OWNED_QUIRKS: Final[tuple[tuple[str, str | None, str | None, bool, str | None], ...]] = (
    ("active", "connection", None, False, None),
    ("active", None, "messaging", False, None),  # messages only
    ("active", None, None, False, None),  # unrouted
    ("active", "connection", "messaging", True, None),  # deletion-locked
    ("purchase-pending", None, None, False, None),
    ("requirement-info-pending", "connection", None, False, None),
    ("port-out-pending", "connection", None, False, None),
    ("deleted", None, None, False, None),  # listed, not held
    ("purchase-failed", None, None, False, None),  # listed, not held
    ("emergency-only", "connection", None, False, None),
    ("active", "connection", None, False, "longcode"),  # a type numbroker does not name
)
"""The seeded owned numbers' (status, connection, messaging profile, deletion lock, wire type), in order."""
_OWNED_MIX: Final[tuple[tuple[str, str, float], ...]] = (
    ("US", "local", 6),
    ("US", "toll-free", 1),
    ("GB", "local", 2),
    ("GB", "mobile", 1),
    ("DE", "local", 1),
    ("NL", "mobile", 1),
)


def create_app(
    *,
    seed: int = 0,
    faults: Faults | None = None,
    size: int | None = None,
    order_polls: int | None = 1,
    failing_numbers: Iterable[str] = (),
    requirement_countries: Iterable[str] = (),
    ratelimit_reset: int = 1,
    owned: int = 0,
    deletion_locked: Iterable[str] = (),
) -> Sandbox:
    """Build a Telnyx sandbox.

    Args:
        seed: Inventory seed (same seed, same inventory).
        faults: Fault knobs (default: none).
        size: Total numbers across all :data:`BUCKETS` (default ``DEFAULT_PER_BUCKET`` per bucket).
        order_polls: Reads of a number order that answer ``pending`` before it settles (0: the order
            answers settled at once); None: orders never settle.
        failing_numbers: Numbers whose orders settle to ``failure``.
        requirement_countries: Countries whose numbers, ordered without a ``requirement_group_id``, stay
            ``pending`` for ever (their regulatory requirements are not met).
        ratelimit_reset: Seconds a 429 says in ``x-ratelimit-reset``.
        owned: Numbers the account holds before anything is bought (0..100,000; :data:`OWNED_QUIRKS`
            first). ``sandbox.options["owned"]`` is the live list, numbers ordered included.
        deletion_locked: Numbers listed with ``deletion_lock_enabled`` once ordered: their deletion is refused.

    Returns:
        The sandbox; ``env`` holds ``TELNYX_API_KEY``.

    Raises:
        ValueError: ``size``, ``order_polls`` or ``ratelimit_reset`` is negative, or ``owned`` out of range.
    """
    if not 0 <= owned <= 100_000:
        raise ValueError("owned must be 0..100000")
    if size is not None and size < 0:
        raise ValueError("size must not be negative")
    if (order_polls is not None and order_polls < 0) or ratelimit_reset < 0:
        raise ValueError("order_polls and ratelimit_reset must not be negative")
    rng = random.Random(f"telnyx:{seed}:key")
    key = (
        "KEY"
        + "".join(rng.choices("0123456789ABCDEF", k=32))
        + "_"
        + "".join(rng.choices(string.ascii_letters + string.digits, k=22))
    )
    options = {
        "order_polls": order_polls,
        "failing_numbers": frozenset(failing_numbers),
        "requirement_countries": frozenset(c.upper() for c in requirement_countries),
        "ratelimit_reset": ratelimit_reset,
        "deletion_locked": frozenset(deletion_locked),
    }
    sandbox = Sandbox(
        name="telnyx",
        seed=seed,
        base_path=BASE_PATH,
        env={"TELNYX_API_KEY": key},
        records=_inventory(seed, DEFAULT_PER_BUCKET * len(BUCKETS) if size is None else size),
        error_reply=_error_reply,
        faults=faults,
        options=options,
    )
    telnyx = _Telnyx(sandbox, key)
    telnyx.numbers.extend(_owned_seed(seed, owned, {r.e164 for r in sandbox.records}))
    sandbox.options["owned"] = telnyx.numbers
    sandbox.build(telnyx.routes())
    return sandbox


# --------------------------------------------------------------------------------------------
# Wire behaviour
# --------------------------------------------------------------------------------------------


_TITLES: Final = {
    400: ("10015", "Bad Request"),
    401: ("10009", "Authentication failed"),
    404: ("10005", "Resource not found"),
    422: ("10015", "Bad Request"),
    429: ("10011", "Too many requests"),
    500: ("10007", "Unexpected error"),
    503: ("10007", "Unexpected error"),
}


def _error(status: int, detail: str, *, parameter: str | None = None, pointer: str | None = None) -> Reply:
    code, title = _TITLES.get(status, ("10007", "Unexpected error"))
    error: dict[str, Any] = {"code": code, "title": title, "detail": detail}
    if parameter is not None:
        error["source"] = {"parameter": parameter}
    elif pointer is not None:
        error["source"] = {"pointer": pointer}
    return Reply(status, {"errors": [error]})


def _error_reply(sandbox: Sandbox, status: int, message: str) -> Reply:
    if status == 429:
        reply = _error(429, message or "You have exceeded the maximum number of allowed requests.")
        reply.headers.update(
            {
                "x-ratelimit-limit": "100",
                "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": str(sandbox.options["ratelimit_reset"]),
            }
        )
        return reply
    return _error(status, message or "An unexpected error occurred.")


def _truth(value: str | None) -> bool | None:
    if value is None:
        return None
    text = value.strip().lower()
    return True if text == "true" else False if text == "false" else None


# -- reading a search ----------------------------------------------------------------------------

_PATTERN_NAMES: Final = ("starts_with", "contains", "ends_with")


def _country(query: QueryParams) -> str | None:
    country = query.get("filter[country_code]")
    if country is None:
        return None
    country = country.strip().upper()
    if country not in phonenumbers.SUPPORTED_REGIONS or country in _REFUSED:
        raise Refused(
            _error(400, f"Country {country!r} is not supported for number search.", parameter="filter[country_code]")
        )
    return country


def _wire_type(query: QueryParams) -> str | None:
    wire_type = query.get("filter[phone_number_type]")
    if wire_type is not None and wire_type not in _WIRE_TYPE_NAMES:
        raise Refused(
            _error(
                400,
                f"phone_number_type must be one of: {', '.join(_WIRE_TYPE_NAMES)}",
                parameter="filter[phone_number_type]",
            )
        )
    return wire_type


def _features(query: QueryParams) -> tuple[str, ...]:
    features = tuple(f.strip().lower() for f in (query.get("filter[features]") or "").split(",") if f.strip())
    if unknown := [f for f in features if f not in _FEATURE_NAMES]:
        raise Refused(_error(400, f"Unknown feature {unknown[0]!r}", parameter="filter[features]"))
    return features


def _limit(query: QueryParams) -> int:
    raw = query.get("filter[limit]")
    try:
        limit = DEFAULT_LIMIT if raw is None else int(raw)
    except ValueError:
        raise Refused(_error(400, "limit must be an integer", parameter="filter[limit]")) from None
    if not 1 <= limit <= MAX_LIMIT:
        raise Refused(_error(400, f"limit must be between 1 and {MAX_LIMIT}", parameter="filter[limit]"))
    return limit


def _patterns(query: QueryParams) -> tuple[str | None, str | None, str | None]:
    starts, contains, ends = (query.get(f"filter[phone_number][{name}]") for name in _PATTERN_NAMES)
    for name, value in zip(_PATTERN_NAMES, (starts, contains, ends), strict=True):
        if value is not None and not value.isdigit():
            raise Refused(_error(400, f"{name} must be digits", parameter=f"filter[phone_number][{name}]"))
    return starts, contains, ends


@dataclass(frozen=True)
class _Search:
    """A search's filters as Telnyx reads them: only the ``filter[...]`` parameters count."""

    country: str | None
    wire_type: str | None
    features: tuple[str, ...]
    limit: int
    patterns: tuple[str | None, str | None, str | None]
    quickship: bool | None
    reservable: bool | None
    best_effort: bool | None

    @classmethod
    def read(cls, query: QueryParams) -> _Search:
        """The filters of a search request, checked in Telnyx's order.

        Raises:
            Refused: A 400 naming the first parameter Telnyx refuses.
        """
        return cls(
            country=_country(query),
            wire_type=_wire_type(query),
            features=_features(query),
            limit=_limit(query),
            patterns=_patterns(query),
            quickship=_truth(query.get("filter[quickship]")),
            reservable=_truth(query.get("filter[reservable]")),
            best_effort=_truth(query.get("filter[best_effort]")),
        )

    @property
    def neutral_type(self) -> str | None:
        """The neutral number type asked for (None: any, or a type the sandbox never stocks)."""
        return _FROM_WIRE.get(self.wire_type) if self.wire_type is not None else None

    @property
    def stocks_nothing(self) -> bool:
        """Whether the type asked for is one no bucket holds (``shared_cost``): the answer is empty."""
        return self.wire_type is not None and self.neutral_type is None

    def in_bucket(self, record: SandboxRecord) -> bool:
        """Whether the record is of the country and type asked for."""
        neutral = self.neutral_type
        return (self.country is None or record.country == self.country) and (
            neutral is None or record.number_type == neutral
        )

    def matches(self, record: SandboxRecord, *, patterns: bool = True) -> bool:
        """Whether the record has the features and flags asked for and (unless ``patterns`` is off) the digits."""
        return (
            self._has_features(record.raw)
            and self._has_flags(record.raw)
            and (not patterns or self._has_digits(record))
        )

    def tops_up(self, found: int) -> bool:
        """Whether a pattern search that found ``found`` numbers gets best-effort extras (US and CA only)."""
        return (
            self.best_effort is not False and self.country in ("US", "CA") and any(self.patterns) and found < self.limit
        )

    def _has_features(self, raw: Mapping[str, Any]) -> bool:
        if not self.features:
            return True
        names = {f.get("name") for f in raw.get("features") or () if isinstance(f, dict)}
        return set(self.features) <= names

    def _has_flags(self, raw: Mapping[str, Any]) -> bool:
        return (self.quickship is not True or raw.get("quickship") is True) and (
            self.reservable is not True or raw.get("reservable") is True
        )

    def _has_digits(self, record: SandboxRecord) -> bool:
        if not any(self.patterns):
            return True
        national = _national(record.e164, record.country)
        starts, contains, ends = self.patterns
        return (
            (starts is None or national.startswith(starts))
            and (contains is None or contains in national)
            and (ends is None or national.endswith(ends))
        )


@dataclass
class _Order:
    """A number order and how far it has come."""

    id: str
    created_at: str
    numbers: list[dict[str, Any]]
    reads: int = 0
    customer_reference: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


_E164: Final = re.compile(r"\+[1-9]\d{1,14}")
_ORDER_FIELDS: Final = ("connection_id", "messaging_profile_id", "billing_group_id")


def _ordered_numbers(context: RequestContext) -> tuple[dict[str, Any], list[Any]]:
    """The order's body and its ``phone_numbers`` list (422 unless a non-empty list; 400 unless JSON)."""
    try:
        payload = context.json()
    except ValueError:
        raise Refused(_error(400, "The request body is not valid JSON.")) from None
    numbers = payload.get("phone_numbers") if isinstance(payload, dict) else None
    if not isinstance(numbers, list) or not numbers:
        raise Refused(_error(422, "phone_numbers must be a non-empty list", pointer="/phone_numbers"))
    return payload, numbers


class _Telnyx:
    def __init__(self, sandbox: Sandbox, key: str) -> None:
        self.sandbox = sandbox
        self.key = key
        self.searched: set[str] = set()
        self.orders: dict[str, _Order] = {}
        self.numbers: list[dict[str, Any]] = []
        self.polls: int | None = sandbox.options["order_polls"]
        self.failing: frozenset[str] = sandbox.options["failing_numbers"]
        self.regulated: frozenset[str] = sandbox.options["requirement_countries"]
        self.locked: frozenset[str] = sandbox.options["deletion_locked"]
        self.released: list[dict[str, Any]] = []
        """Numbers given back, as they were listed (the owned list shows them during their release lag)."""
        self.ordered = 0
        """Numbers ordered so far: each ordered number's id is new, whatever was given back meanwhile."""

    def routes(self) -> list[Route]:
        sb = self.sandbox
        return [
            sb.route(f"{BASE_PATH}/available_phone_numbers", self.search, name="search"),
            sb.purchase_route(f"{BASE_PATH}/number_orders", self.order),
            sb.route(f"{BASE_PATH}/number_orders/{{order_id}}", self.read_order, name="order"),
            sb.route(f"{BASE_PATH}/phone_numbers", self.owned, name="owned"),
            sb.route(f"{BASE_PATH}/phone_numbers/{{number_id}}", self.release, methods=("DELETE",), kind="purchase"),
        ]

    def _authorize(self, request: Request) -> None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or not _KEY.fullmatch(key) or not hmac.compare_digest(key.encode(), self.key.encode()):
            raise Refused(
                _error(401, "The required authentication headers were either invalid or not included in the request.")
            )

    # -- search ----------------------------------------------------------------------------

    async def search(self, request: Request, context: RequestContext) -> Reply:
        self._authorize(request)
        query = _Search.read(request.query_params)
        if query.stocks_nothing:
            return Reply(200, {"data": [], "meta": {"total_results": 0, "best_effort_results": 0}})
        pool = self.sandbox.view(("available", query.country, query.neutral_type), query.in_bucket)
        chosen = [r for r in pool if query.matches(r)][: query.limit]
        extras = self._best_effort(query, pool, chosen)
        served = [r.raw for r in chosen] + [{**r.raw, "best_effort": True} for r in extras]
        ids = tuple(r.offer_id for r in [*chosen, *extras])
        self.searched.update(ids)
        meta = {"total_results": len(served), "best_effort_results": len(extras)}
        return Reply(200, {"data": served, "meta": meta}, offer_ids=ids)

    @staticmethod
    def _best_effort(query: _Search, pool: list[SandboxRecord], chosen: list[SandboxRecord]) -> list[SandboxRecord]:
        """Nearby numbers of the country and type that miss the pattern, topping up a short pattern search."""
        if not query.tops_up(len(chosen)):
            return []
        picked = {r.offer_id for r in chosen}
        near = [r for r in pool if r.offer_id not in picked and query.matches(r, patterns=False)]
        return near[: min(BEST_EFFORT_EXTRAS, query.limit - len(chosen))]

    # -- orders ----------------------------------------------------------------------------

    async def order(self, request: Request, context: RequestContext) -> Reply:
        sb = self.sandbox
        self._authorize(request)
        payload, numbers = _ordered_numbers(context)
        wanted = [self._orderable(index, item) for index, item in enumerate(numbers)]
        if context.lose_race([record.offer_id for record, _ in wanted]):
            return _error(422, f"Number {wanted[0][0].e164} is no longer available.", pointer="/phone_numbers/0")
        order = _Order(id=sb.new_uuid(), created_at=now_iso(), numbers=[])
        reference = payload.get("customer_reference")
        order.customer_reference = reference if isinstance(reference, str) else None
        order.fields = {key: payload.get(key) if isinstance(payload.get(key), str) else None for key in _ORDER_FIELDS}
        for record, group in wanted:
            cost = record.raw.get("cost_information") or {}
            context.commit(record, upfront=record.upfront, monthly=record.monthly, currency=cost.get("currency"))
            order.numbers.append(self._order_entry(record, group))
            self.numbers.append(self._owned_entry(record))
        self.orders[order.id] = order
        if self.polls == 0:
            self._settle(order)
        return Reply(200, {"data": self._order_view(order)})

    def _orderable(self, index: int, item: object) -> tuple[SandboxRecord, str | None]:
        """The record and requirement group of the order's ``index``-th number (422 unless a searched one)."""
        sb = self.sandbox
        fields: dict[str, Any] = item if isinstance(item, dict) else {}
        phone = fields.get("phone_number")
        if not isinstance(phone, str) or not _E164.fullmatch(phone):
            raise Refused(
                _error(422, "Phone number must be in +E.164 format", pointer=f"/phone_numbers/{index}/phone_number")
            )
        group = fields.get("requirement_group_id")
        if group is not None and not isinstance(group, str):
            raise Refused(_error(422, "requirement_group_id must be a string", pointer=f"/phone_numbers/{index}"))
        record = sb.record_by_e164(phone)
        if record is None or record.offer_id not in self.searched or not sb.is_available(record.offer_id):
            raise Refused(
                _error(
                    422,
                    f"Number {phone} is not available: only numbers returned by a recent search can be ordered.",
                    pointer=f"/phone_numbers/{index}/phone_number",
                )
            )
        return record, group

    def _order_entry(self, record: SandboxRecord, group: str | None) -> dict[str, Any]:
        return {
            "id": self.sandbox.new_uuid(),
            "record_type": "number_order_phone_number",
            "phone_number": record.e164,
            "country_code": record.country,
            "phone_number_type": WIRE_TYPES.get(record.number_type or "", "local"),
            "regulatory_requirements": [],
            "requirements_met": not (record.country in self.regulated and group is None),
            "status": "pending",
            "requirement_group_id": group,
        }

    async def read_order(self, request: Request, context: RequestContext) -> Reply:
        self._authorize(request)
        order = self.orders.get(request.path_params["order_id"])
        if order is None:
            return _error(404, "The requested resource or URL could not be found.")
        order.reads += 1
        if self.polls is not None and order.reads >= self.polls:
            self._settle(order)
        return Reply(200, {"data": self._order_view(order)})

    def _settle(self, order: _Order) -> None:
        sb = self.sandbox
        for entry in order.numbers:
            if entry["status"] != "pending" or not entry["requirements_met"]:
                continue
            e164 = entry["phone_number"]
            failed = e164 in self.failing
            entry["status"] = "failure" if failed else "success"
            for owned in self.numbers:
                if owned["phone_number"] == e164 and owned["status"] == "purchase-pending":
                    owned["status"] = "purchase-failed" if failed else "active"
            if failed:
                # Nothing was bought: the number is not ours, and not for sale again here.
                offer_id = sb.owned.pop(e164, None)
                if offer_id is not None:
                    sb.taken.add(offer_id)
                for index, purchase in enumerate(sb.purchases):
                    if purchase.e164 == e164 and purchase.fault is None:
                        sb.purchases[index] = type(purchase)(
                            purchase.offer_id,
                            purchase.e164,
                            purchase.upfront,
                            purchase.monthly,
                            purchase.currency,
                            fault="order_failed",
                        )
                sb.invalidate()

    def _order_view(self, order: _Order) -> dict[str, Any]:
        statuses = {entry["status"] for entry in order.numbers}
        status = "pending" if "pending" in statuses else "failure" if statuses == {"failure"} else "success"
        return {
            "id": order.id,
            "record_type": "number_order",
            "phone_numbers_count": len(order.numbers),
            **order.fields,
            "customer_reference": order.customer_reference,
            "phone_numbers": [dict(entry) for entry in order.numbers],
            "sub_number_orders_ids": [],
            "status": status,
            "requirements_met": all(entry["requirements_met"] for entry in order.numbers),
            "created_at": order.created_at,
            "updated_at": now_iso(),
        }

    def _next_order(self) -> int:
        self.ordered += 1
        return self.ordered

    def _owned_entry(self, record: SandboxRecord) -> dict[str, Any]:
        return {
            "id": str(1_000_000_000_000_000_000 + self._next_order()),
            "record_type": "phone_number",
            "phone_number": record.e164,
            "status": "purchase-pending",
            "country_iso_alpha2": record.country,
            "phone_number_type": WIRE_TYPES.get(record.number_type or "", "local"),
            "tags": [],
            "connection_id": None,
            "messaging_profile_id": None,
            "billing_group_id": None,
            "emergency_enabled": False,
            "deletion_lock_enabled": record.e164 in self.locked,
            "source_type": "number_order",
            "purchased_at": now_iso(),
            "created_at": now_iso(),
            "updated_at": now_iso(),
        }

    # -- owned numbers ---------------------------------------------------------------------

    async def owned(self, request: Request, context: RequestContext) -> Reply:
        self._authorize(request)
        q = request.query_params
        try:
            page = int(q.get("page[number]") or 1)
            size = int(q.get("page[size]") or _OWNED_DEFAULT_SIZE)
        except ValueError:
            return _error(400, "page[number] and page[size] must be integers", parameter="page")
        if page < 1 or not 1 <= size <= _OWNED_MAX_SIZE:
            return _error(400, f"page[number] must be positive and page[size] 1 to {_OWNED_MAX_SIZE}", parameter="page")
        items = self._listed()
        wanted = q.get("filter[phone_number]")
        if wanted is not None:
            # "Requires at least three digits. Non-numerical characters will result in no values being returned."
            if len(wanted) < 3 and wanted.isdigit():
                return _error(400, "filter[phone_number] requires at least three digits", parameter="filter")
            items = [n for n in items if wanted.isdigit() and wanted in n["phone_number"]]
        result = self.sandbox.numbered_page(items, page=page, per_page=size)
        meta = {
            "total_pages": max(1, -(-result.total // size)),
            "total_results": result.total,
            "page_number": page,
            "page_size": size,
        }
        body = {"data": [dict(n) for n in result.items], "meta": meta}
        return Reply(200, body, faults=result.labels)

    def _listed(self) -> list[dict[str, Any]]:
        """The owned entries past their owned-list lag, and those given back still within their release lag."""
        lagging = [entry for entry in self.released if self.sandbox.release_lagging(entry["phone_number"])]
        return self.sandbox.listed(self.numbers + lagging, lambda number: number["phone_number"])

    async def release(self, request: Request, context: RequestContext) -> Reply:
        """``DELETE /phone_numbers/{id}``: the number's final representation, ``deleted``; a lock refuses it."""
        self._authorize(request)
        number_id = request.path_params["number_id"]
        entry = next((n for n in self.numbers if n["id"] == number_id), None)
        if entry is None:
            return _error(404, "The requested resource or URL could not be found.")
        if entry["deletion_lock_enabled"]:
            detail = "This phone number has deletion lock enabled and cannot be deleted."
            return Reply(403, {"errors": [{"code": "10035", "title": "Resource locked", "detail": detail}]})
        self.numbers.remove(entry)
        self.released.append(dict(entry))
        context.commit_release(entry["phone_number"], "released")
        return Reply(200, {"data": {**entry, "status": "deleted", "updated_at": now_iso()}})


def _national(e164: str, country: str) -> str:
    """The national significant number of ``e164`` (the digits after the calling code)."""
    code = str(phonenumbers.country_code_for_region(country))
    digits = e164.lstrip("+")
    return digits[len(code) :] if digits.startswith(code) else digits


# --------------------------------------------------------------------------------------------
# Inventory
# --------------------------------------------------------------------------------------------


def _inventory(seed: int, size: int) -> list[SandboxRecord]:
    rng = random.Random(f"telnyx:{seed}:inventory")
    everything_shared = shared_numbers(seed)
    exclude = {s.e164 for s in everything_shared}
    stocked = set(BUCKETS)
    mine = [s for s in everything_shared if LANE in s.lanes and (s.country, s.number_type) in stocked]
    specials = (_defects(rng, exclude) + [_shared(rng, s) for s in mine])[:size]

    def regular(number: GeneratedNumber) -> SandboxRecord:
        low, high = _RANGES[number.number_type]
        monthly = draw_money(rng, low, high, step=rng.choice(("0.01", "0.05", "0.25", "0.001")))
        upfront = Decimal(rng.choice(("0", "0", "0.50", "1.00", "1.00", "2.00")))
        currency = "EUR" if number.country in ("DE", "NL") and rng.random() < 0.25 else "USD"
        return _record(rng, number, number.country, number.number_type, upfront, monthly, currency)

    return bucketed_inventory(
        rng, BUCKETS, size - len(specials), regular, specials=specials, lane=LANE, exclude=exclude
    )


def _amount(rng: random.Random, amount: Decimal) -> str:
    """Telnyx writes five decimals ("1.00000"); some records carry two. Never a digit lost."""
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2 and rng.random() < 0.3:
        return f"{amount:.2f}"
    return f"{amount:.5f}" if isinstance(exponent, int) and exponent >= -5 else str(amount)


def _entry(
    rng: random.Random,
    number: GeneratedNumber,
    country: str,
    number_type: str,
    *,
    upfront: Any,
    monthly: Any,
    currency: Any,
) -> dict[str, Any]:
    regions: list[dict[str, str]] = [{"region_type": "country_code", "region_name": country}]
    if number.area and number_type in ("local", "mobile"):
        if country in ("US", "CA"):
            regions.append({"region_type": "state", "region_name": number.area})
            regions.append({"region_type": "rate_center", "region_name": f"{number.area} ZONE {rng.randint(1, 19)}"})
        else:
            regions.append({"region_type": "location", "region_name": number.area})
    names = [name for name in _FEATURES[number_type] if name in ("voice",) or rng.random() < 0.85]
    cost: dict[str, Any] = {"currency": currency, "monthly_cost": monthly, "upfront_cost": upfront}
    return {
        "best_effort": False,
        "cost_information": cost,
        "features": [{"name": name} for name in names],
        "phone_number": number.e164,
        "quickship": number_type == "toll-free" or rng.random() < 0.5,
        "record_type": "available_phone_number",
        "region_information": regions,
        "reservable": rng.random() < 0.6,
        "vanity_format": None,
    }


def _record(
    rng: random.Random,
    number: GeneratedNumber,
    country: str,
    number_type: str,
    upfront: Decimal,
    monthly: Decimal,
    currency: str,
    *,
    shared: bool = False,
) -> SandboxRecord:
    raw = _entry(
        rng,
        number,
        country,
        number_type,
        upfront=_amount(rng, upfront),
        monthly=_amount(rng, monthly),
        currency=currency,
    )
    return SandboxRecord(
        offer_id=number.e164,
        e164=number.e164,
        country=country,
        expected_valid=True,
        defect=None,
        raw=raw,
        number_type=number_type,
        region=_region(raw),
        monthly=monthly,
        upfront=upfront,
        currency=currency,
        shared=shared,
    )


def _region(raw: Mapping[str, Any]) -> str | None:
    """The region the adapter reports: ``state``, else ``location``, else ``rate_center``."""
    names = {r["region_type"]: r["region_name"] for r in raw.get("region_information") or ()}
    return next((names[k] for k in ("state", "location", "rate_center") if k in names), None)


def _shared(rng: random.Random, shared: SharedNumber) -> SandboxRecord:
    number = shared.number
    # Telnyx is the wholesale source of these: its price is below the reference price IdentityCall marks up.
    monthly = (shared.monthly * Decimal("0.85")).quantize(Decimal("0.0001"))
    return _record(rng, number, shared.country, shared.number_type, shared.upfront, monthly, "USD", shared=True)


def _defects(rng: random.Random, exclude: set[str]) -> list[SandboxRecord]:
    def draw(region: str, type_name: str) -> GeneratedNumber:
        return draw_number(rng, region, type_name, lane=LANE, exclude=exclude)

    def defect(
        number: GeneratedNumber,
        bucket: tuple[str, str],
        tag: str,
        *,
        upfront: Any = "1.00000",
        monthly: Any = "1.00000",
        currency: Any = "USD",
        change: Mapping[str, Any] | None = None,
    ) -> SandboxRecord:
        raw = _entry(rng, number, bucket[0], bucket[1], upfront=upfront, monthly=monthly, currency=currency)
        raw.update(change or {})
        return SandboxRecord(
            offer_id=number.e164,
            e164=number.e164,
            country=bucket[0],
            expected_valid=False,
            defect=tag,
            raw=raw,
            number_type=bucket[1],
            region=number.area,
            currency=currency if isinstance(currency, str) else None,
        )

    us_local, gb_local, de_local = ("US", "local"), ("GB", "local"), ("DE", "local")
    no_currency = {"cost_information": {"monthly_cost": "1.00000", "upfront_cost": "0.00000"}}
    return [
        # A documentation-style placeholder: +1 555 is not a NANP area code.
        defect(GeneratedNumber("+15551234567", "US", "local", "NY"), us_local, "invalid_number"),
        defect(GeneratedNumber("+44207", "GB", "local", "London"), gb_local, "too_short"),
        # A Canadian number listed in a US answer.
        defect(draw("CA", "local"), us_local, "country_mismatch"),
        defect(draw("US", "local"), us_local, "negative_price", monthly="-1.00000"),
        defect(draw("GB", "mobile"), ("GB", "mobile"), "garbage_price", upfront="abc"),
        defect(draw("DE", "local"), de_local, "garbage_price", monthly="1,50"),
        defect(draw("US", "toll-free"), ("US", "toll-free"), "nan_price", monthly="NaN"),
        defect(draw("NL", "local"), ("NL", "local"), "absurd_exponent", monthly="1e999999"),
        defect(draw("CA", "local"), ("CA", "local"), "no_currency", change=no_currency),
        defect(draw("GB", "local"), gb_local, "bad_currency", currency="US$"),
        defect(draw("NL", "mobile"), ("NL", "mobile"), "bad_features", change={"features": ["sms", "voice"]}),
        defect(
            draw("DE", "local"),
            de_local,
            "bad_region",
            change={"region_information": [{"region_type": "country_code", "region_name": "Germany"}]},
        ),
    ]


# --------------------------------------------------------------------------------------------
# Owned numbers before anything is bought
# --------------------------------------------------------------------------------------------


def _owned_seed(seed: int, count: int, taken: set[str]) -> list[dict[str, Any]]:
    """The account's numbers before anything is bought, shaped like ``NumbersPhoneNumberDetailed``."""
    rng = random.Random(f"telnyx:{seed}:owned")
    # Stamped from the day's start: one seed gives one inventory all day (two sandboxes built a second
    # apart, a command's and a test's, hold the same numbers bought at the same times).
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    exclude = taken | {s.e164 for s in shared_numbers(seed)}
    entries = []
    for index, number in enumerate(draw_numbers(rng, _OWNED_MIX, count, lane=LANE, exclude=exclude)):
        quirk = OWNED_QUIRKS[index] if index < len(OWNED_QUIRKS) else ("active", "connection", None, False, None)
        status, connection, messaging, locked, wire_type = quirk
        bought = now - timedelta(days=rng.randint(20, 900), seconds=rng.randint(0, 86_399))
        stamp = bought.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        entries.append(
            {
                "id": str(1_293_384_261_075_731_499 + index),
                "record_type": "phone_number",
                "phone_number": number.e164,
                "status": status,
                "country_iso_alpha2": number.country,
                "phone_number_type": wire_type or WIRE_TYPES[number.number_type],
                "tags": ["support"] if index % 3 == 0 else [],
                "connection_id": str(rng.randint(10**18, 10**19 - 1)) if connection else None,
                "connection_name": "main-sip" if connection else None,
                "messaging_profile_id": seeded_uuid(rng) if messaging else None,
                "messaging_profile_name": "alerts" if messaging else None,
                "billing_group_id": None,
                "customer_reference": f"cust-{index}" if index % 4 == 0 else None,
                "emergency_enabled": number.country == "US",
                "emergency_status": "active" if number.country == "US" else "disabled",
                "deletion_lock_enabled": locked,
                "source_type": "number_order",
                "purchased_at": stamp,
                "activated_at": stamp if status == "active" else None,
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
    return entries
