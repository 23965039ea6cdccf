"""Bird emulator: numbers-stock-items search, buying long-code numbers, the owned list and cancelling numbers.

Speaks ``https://api.bird.com`` (``base_path=""``), as documented in Bird's Numbers API reference
(docs.bird.com: "Search available numbers", "Buy a number", "Long-code numbers"):

* ``GET /organizations/{organization_id}/numbers-stock-items`` (also the workspace-scoped
  ``/workspaces/{workspace_id}/numbers-stock-items``), ``Authorization: AccessKey <key>``; ``limit``
  1..99 (default 10), opaque ``pageToken``, repeated ``countryCodes``, ``types``
  (``local|mobile|toll-free|national``), ``features`` (``sms-inbound``...), ``prefix`` (``+1212``,
  only with ``countryCodes``); answers ``{"results": [...], "nextPageToken": "..."}``. On the last page
  of a multi-page walk (a ``pageToken`` was sent) ``nextPageToken`` is omitted; an answer that fits on
  the first page carries ``"nextPageToken": ""``.
* ``POST /workspaces/{workspace_id}/numbers-long-code`` with exactly ``{"numberStockItemIds": [...]}``
  (1..25 ids): 201 with a JSON list of WorkspaceLongCodeNumber; all-or-nothing; an unknown id is 404,
  an id no longer in stock is 409; ``require_reservation=True`` answers 422 ``NumberNotReserved``.
* ``GET /workspaces/{workspace_id}/numbers``: the workspace's numbers as Bird's ``Number`` (its subscription,
  ``monthlyRecurringPrice``, ``endpointSubscription`` with the paid period's ``endAt``, ``configurations``
  with ``connectorId`` routing), token-paged like the search, ``searchTerm`` keeping the numbers that
  contain it; ``GET .../numbers-long-code`` lists the same
  numbers in the long-code shape. A bought number shows in both ``Faults.owned_list_lag_seconds`` after
  its purchase committed; ``owned=N`` starts the workspace with N numbers showing each quirk (renewing
  within days, unrouted, no configurations at all, a subscription stating no amount, one cancelled and
  awaiting the end of its period, one pending).
* ``POST /workspaces/{workspace_id}/numbers/{number_id}/cancel-subscription``: 200 with the updated ``Number``.
  A number with a paid period ahead stays listed, ``active``, with its subscription's ``canceledAt`` /
  ``cancelledAt`` set (its release is pending) until ``endAt``, when it leaves the list; one with no paid
  period (no ``endAt``) is released at once and leaves the list. Cancelling an already cancelled
  subscription answers the number as it is and changes nothing (the emulator's choice: Bird's reference
  says nothing of it); an unknown id is 404. ``Faults.release_list_lag_seconds`` keeps the owned list
  showing the number as it was before the cancel. A purchase-kind endpoint: the ambiguous knobs and holds
  apply.

Errors are ``{"code": "...", "message": "..."}``.
"""

from __future__ import annotations

__all__ = ["BASE_PATH", "DEFAULT_OWNED", "DEFAULT_SIZE", "LANE", "create_app"]

import copy
import hashlib
import hmac
import random
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from numbroker.sandbox import (
    Faults,
    GeneratedNumber,
    InvalidPageToken,
    Refused,
    Reply,
    Sandbox,
    SandboxRecord,
    draw_money,
    draw_number,
    draw_numbers,
    seeded_uuid,
    shared_numbers,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from starlette.requests import Request
    from starlette.routing import Route

    from numbroker.sandbox import RequestContext, SharedNumber

LANE: Final = 1
"""This emulator's lane in :func:`numbroker.sandbox.shared_numbers`."""
DEFAULT_SIZE: Final = 120
"""Stock items when ``size`` is not given (2 pages at limit=99)."""
BASE_PATH: Final = ""
DEFAULT_OWNED: Final = 8
"""Numbers ``owned=DEFAULT_OWNED`` starts the workspace with: each quirk once, and one plain number."""

_TYPES: Final = ("local", "mobile", "toll-free", "national")
_FEATURES: Final = {
    f"{channel}-{direction}": (channel, direction)
    for channel in ("sms", "voice", "mms")
    for direction in ("inbound", "outbound")
}
_COUNTRY: Final = re.compile(r"[A-Z]{2}")
_PREFIX: Final = re.compile(r"\+\d{1,249}")
_MAX_IDS: Final = 25
_MIX: Final[tuple[tuple[str, str, float], ...]] = (
    ("US", "local", 16),
    ("US", "toll-free", 5),
    ("GB", "local", 8),
    ("GB", "mobile", 10),
    ("GB", "toll-free", 3),
    ("GB", "national", 3),
    ("NL", "local", 8),
    ("NL", "mobile", 10),
    ("NL", "toll-free", 3),
    ("NL", "national", 2),
    ("DE", "local", 8),
    ("DE", "mobile", 6),
    ("DE", "toll-free", 2),
)
_RANGES: Final = {
    "local": ("0.80", "3.50"),
    "mobile": ("1.50", "6.00"),
    "toll-free": ("3.00", "12.00"),
    "national": ("2.00", "6.00"),
}
_CODES: Final = {
    400: "BadRequest",
    401: "Unauthorized",
    404: "NotFound",
    409: "Conflict",
    422: "InvalidParameter",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}


def create_app(
    *,
    seed: int = 0,
    faults: Faults | None = None,
    size: int | None = None,
    require_reservation: bool = False,
    owned: int = 0,
) -> Sandbox:
    """Build a Bird sandbox.

    Args:
        seed: Inventory seed (same seed, same inventory).
        faults: Fault knobs (default: none).
        size: Number of stock items (default :data:`DEFAULT_SIZE`).
        require_reservation: Refuse every purchase with 422 ``NumberNotReserved``.
        owned: Numbers the workspace holds before anything is bought (0..100,000; the quirks first).
            ``sandbox.options["owned"]`` is the live list, as ``Number`` objects.

    Returns:
        The sandbox; ``env`` holds ``BIRD_ACCESS_KEY``, ``BIRD_ORGANIZATION_ID`` and ``BIRD_WORKSPACE_ID``.

    Raises:
        ValueError: ``size`` is negative, or ``owned`` out of range.
    """
    if size is not None and size < 0:
        raise ValueError("size must not be negative")
    if not 0 <= owned <= 100_000:
        raise ValueError("owned must be 0..100000")
    account = random.Random(f"bird:{seed}:account")
    env = {
        "BIRD_ACCESS_KEY": "sandbox-" + hashlib.sha256(f"bird:{seed}:key".encode()).hexdigest()[:32],
        "BIRD_ORGANIZATION_ID": seeded_uuid(account),
        "BIRD_WORKSPACE_ID": seeded_uuid(account),
    }
    sandbox = Sandbox(
        name="bird",
        seed=seed,
        base_path=BASE_PATH,
        env=env,
        records=_inventory(seed, DEFAULT_SIZE if size is None else size),
        error_reply=_error_reply,
        faults=faults,
        options={"require_reservation": require_reservation},
    )
    bird = _Bird(sandbox, require_reservation)
    bird.numbers.extend(_owned_numbers(seed, owned, {r.e164 for r in sandbox.records}))
    sandbox.options["owned"] = bird.numbers
    sandbox.build(bird.routes())
    return sandbox


# --------------------------------------------------------------------------------------------
# Wire behaviour
# --------------------------------------------------------------------------------------------


def _error(status: int, message: str, code: str | None = None) -> Reply:
    return Reply(status, {"code": code or _CODES.get(status, "Error"), "message": message})


def _error_reply(sandbox: Sandbox, status: int, message: str) -> Reply:
    defaults = {429: "too many requests", 500: "internal server error", 503: "service unavailable"}
    return _error(status, message or defaults.get(status, "request failed"))


class _Bird:
    def __init__(self, sandbox: Sandbox, require_reservation: bool) -> None:
        self.sandbox = sandbox
        self.require_reservation = require_reservation
        self.key = sandbox.env["BIRD_ACCESS_KEY"]
        self.organization_id = sandbox.env["BIRD_ORGANIZATION_ID"]
        self.workspace_id = sandbox.env["BIRD_WORKSPACE_ID"]
        self.numbers: list[dict[str, Any]] = []
        self.before: dict[str, dict[str, Any]] = {}
        """Each cancelled number as it was listed before its cancel, by id (shown during the release lag)."""

    def routes(self) -> list[Route]:
        sb = self.sandbox
        return [
            sb.route("/organizations/{organization_id}/numbers-stock-items", self.search_organization, name="search"),
            sb.route("/workspaces/{workspace_id}/numbers-stock-items", self.search_workspace, name="search"),
            sb.purchase_route("/workspaces/{workspace_id}/numbers-long-code", self.purchase),
            sb.route("/workspaces/{workspace_id}/numbers-long-code", self.long_codes, name="long_codes"),
            sb.route("/workspaces/{workspace_id}/numbers", self.owned, name="owned"),
            sb.route(
                "/workspaces/{workspace_id}/numbers/{number_id}/cancel-subscription",
                self.release,
                methods=("POST",),
                kind="purchase",
            ),
        ]

    def _authorize(self, request: Request, scope: str) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme != "AccessKey" or not hmac.compare_digest(key.strip().encode(), self.key.encode()):
            raise Refused(_error(401, "invalid or missing access key: use 'Authorization: AccessKey <key>'"))
        if scope == "organization" and request.path_params["organization_id"] != self.organization_id:
            raise Refused(_error(404, "organization not found"))
        if scope == "workspace" and request.path_params["workspace_id"] != self.workspace_id:
            raise Refused(_error(404, "workspace not found"))

    @staticmethod
    def _limit(request: Request) -> int:
        raw = request.query_params.get("limit")
        if raw is None:
            return 10
        try:
            limit = int(raw)
        except ValueError:
            raise Refused(_error(422, f"limit must be an integer, got {raw!r}")) from None
        if not 1 <= limit <= 99:
            raise Refused(_error(422, f"limit must be between 1 and 99, got {limit}"))
        return limit

    def _page(self, request: Request, items: Sequence[Any], key: str) -> Reply:
        limit = self._limit(request)
        token = request.query_params.get("pageToken")
        if token is not None and len(token) > 8000:
            return _error(422, "pageToken must be at most 8000 characters")
        try:
            page = self.sandbox.token_page(items, token=token, limit=limit)
        except InvalidPageToken as exc:
            return _error(400, str(exc), code="InvalidPageToken")
        body: dict[str, Any] = {"results": [getattr(r, "raw", r) for r in page.items]}
        if page.next_token:
            body["nextPageToken"] = page.next_token
        elif not token:
            body["nextPageToken"] = ""
        offers = tuple(r.offer_id for r in page.items if isinstance(r, SandboxRecord)) if key == "search" else ()
        return Reply(200, body, offer_ids=offers, faults=page.labels)

    async def search_organization(self, request: Request, context: RequestContext) -> Reply:
        return self._search(request, "organization")

    async def search_workspace(self, request: Request, context: RequestContext) -> Reply:
        return self._search(request, "workspace")

    def _search(self, request: Request, scope: str) -> Reply:
        self._authorize(request, scope)
        query = request.query_params
        countries = [c.strip().upper() for c in query.getlist("countryCodes")]
        if bad := [c for c in countries if not _COUNTRY.fullmatch(c)]:
            return _error(422, f"countryCodes must be ISO 3166-1 alpha-2 codes, got {bad[0]!r}")
        types = query.getlist("types")
        if bad := [t for t in types if t not in _TYPES]:
            return _error(422, f"types must be one of {', '.join(_TYPES)}; got {bad[0]!r}")
        features = query.getlist("features")
        if bad := [f for f in features if f not in _FEATURES]:
            return _error(422, f"features must be one of {', '.join(_FEATURES)}; got {bad[0]!r}")
        prefix = query.get("prefix")
        if prefix is not None:
            if not countries:
                return _error(422, "prefix must be used in conjunction with the countryCodes filter")
            if not _PREFIX.fullmatch(prefix):
                return _error(422, f"prefix must be in full international format, like +1212; got {prefix!r}")
        wanted = [_FEATURES[f] for f in features]

        def keep(record: SandboxRecord) -> bool:
            caps = record.raw.get("capabilities") or {}
            return (
                (not countries or record.country in countries)
                and (not types or record.number_type in types)
                and (prefix is None or record.e164.startswith(prefix))
                and all(caps.get(channel, {}).get(direction) is True for channel, direction in wanted)
            )

        key = ("stock", tuple(sorted(set(countries))), tuple(sorted(set(types))), tuple(sorted(set(features))), prefix)
        return self._page(request, self.sandbox.view(key, keep), "search")

    def _listed(self) -> list[dict[str, Any]]:
        """The workspace's numbers past their owned-list lag, as they were before a cancel still in its release lag.

        A cancelled number whose paid period has ended is released: no longer listed.
        """
        sb, now = self.sandbox, datetime.now(UTC)
        shown = {n["id"]: n for n in self.numbers if not _period_over(n, now)}
        shown.update({number_id: was for number_id, was in self.before.items() if sb.release_lagging(was["number"])})
        return sb.listed(list(shown.values()), lambda number: number["number"])

    async def owned(self, request: Request, context: RequestContext) -> Reply:
        self._authorize(request, "workspace")
        term = request.query_params.get("searchTerm")  # "numbers containing the search term"
        listed = self._listed()
        if term:
            listed = [item for item in listed if term in str(item.get("number") or "")]
        return self._page(request, listed, "owned")

    async def long_codes(self, request: Request, context: RequestContext) -> Reply:
        self._authorize(request, "workspace")
        return self._page(request, [_long_code(number) for number in self._listed()], "owned")

    async def release(self, request: Request, context: RequestContext) -> Reply:
        """Cancel a number's subscription: pending until its paid period ends, or released now without one."""
        self._authorize(request, "workspace")
        number_id = request.path_params["number_id"]
        number = next((n for n in self.numbers if n["id"] == number_id), None)
        if number is None or _period_over(number, datetime.now(UTC)):
            return _error(404, f"number {number_id} not found", code="NotFound")
        if number["endpointSubscription"]["canceledAt"] is not None:
            return Reply(200, number)  # already cancelled: nothing changes
        self.before[number_id] = copy.deepcopy(number)
        now = _stamp(datetime.now(UTC))
        number["subscription"].update(cancelledAt=now, updatedAt=now)
        number["endpointSubscription"].update(canceledAt=now, updatedAt=now)
        number["updatedAt"] = now
        if number["endpointSubscription"]["endAt"] is None:
            self.numbers.remove(number)
            number["status"] = "inactive"
            context.commit_release(number["number"], "released")
        else:
            context.commit_release(number["number"], "pending_release")
        return Reply(200, number)

    async def purchase(self, request: Request, context: RequestContext) -> Reply:
        self._authorize(request, "workspace")
        ids = _stock_item_ids(context)
        if self.require_reservation:
            return _error(422, "number stock item must be reserved", code="NumberNotReserved")
        records = [self._in_stock(item_id) for item_id in ids]
        if context.lose_race(ids[:1]):
            return _unavailable(ids[0])
        return Reply(201, [self._buy(context, record) for record in records])

    def _in_stock(self, item_id: str) -> SandboxRecord:
        """The stock item a purchase names (404 when unknown, 409 when no longer in stock)."""
        record = self.sandbox.record_by_id(item_id)
        if record is None:
            raise Refused(_error(404, f"number stock item {item_id} not found"))
        if not self.sandbox.is_available(item_id):
            raise Refused(_unavailable(item_id))
        return record

    def _buy(self, context: RequestContext, record: SandboxRecord) -> dict[str, Any]:
        """Commit one stock item and list it as the workspace's: answered as its long-code number."""
        raw = record.raw
        price = raw.get("monthlyPrice") or {}
        currency = price.get("currencyCode") if isinstance(price.get("currencyCode"), str) else None
        context.commit(record, upfront=None, monthly=record.monthly, currency=currency)
        now = datetime.now(UTC)
        number = _number(
            self.sandbox.new_uuid(),
            raw,
            status="active",
            subscribed=now,
            ends=_months_after(now.date(), 1),
            configurations={},  # routed nowhere until a connector is set
        )
        self.numbers.append(number)
        return _long_code(number)


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _months_after(start: date, months: int) -> date:
    """``start`` plus whole months, clamped to the month's last day."""
    month = start.month - 1 + months
    year, month = start.year + month // 12, month % 12 + 1
    for day in range(start.day, 27, -1):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    return date(year, month, min(start.day, 28))


def _period_over(number: dict[str, Any], now: datetime) -> bool:
    """Whether ``number`` was cancelled and its paid period has ended (it is released)."""
    plan = number["endpointSubscription"]
    ends = plan["endAt"]
    return plan["canceledAt"] is not None and ends is not None and datetime.fromisoformat(ends) <= now


def _subscription_id(number_id: str) -> str:
    """The endpoint subscription's own id: a resource of its own, named apart from the number it bills."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, "bird-endpoint-subscription:" + number_id))


def _number(
    number_id: str,
    stock: dict[str, Any],
    *,
    status: str,
    subscribed: datetime,
    ends: date | None,
    configurations: dict[str, Any] | None,
    cancelled: datetime | None = None,
    price: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``Number`` as the workspace list shows it, from a stock item's fields."""
    created = _stamp(subscribed)
    capabilities = {k: dict(v) for k, v in (stock.get("capabilities") or {}).items()}
    capabilities.setdefault("fax", {"inbound": False, "outbound": False})
    item: dict[str, Any] = {
        "id": number_id,
        "number": stock.get("numberString"),
        "country": stock.get("countryCode"),
        "type": stock.get("type"),
        "capabilities": capabilities,
        "status": status,
        "monthlyRecurringPrice": price if price is not None else stock.get("monthlyPrice"),
        "subscription": {
            "status": "active" if ends is not None else "inactive",
            "subscribedAt": created,
            "updatedAt": created,
            "cancelledAt": None if cancelled is None else _stamp(cancelled),
        },
        "endpointSubscription": {
            "id": _subscription_id(number_id),
            "status": "active" if ends is not None else "inactive",
            "subscribedAt": created,
            "updatedAt": created,
            "canceledAt": None if cancelled is None else _stamp(cancelled),
            "startAt": created,
            "endAt": None if ends is None else ends.isoformat() + "T00:00:00.000Z",
        },
        "createdAt": created,
        "updatedAt": created,
        "activatedAt": created if status == "active" else None,
    }
    if configurations is not None:
        item["configurations"] = configurations
    return item


def _long_code(number: dict[str, Any]) -> dict[str, Any]:
    """A workspace number in the long-code shape (its endpoint id is its id)."""
    capabilities = {k: v for k, v in (number.get("capabilities") or {}).items() if k != "fax"}
    return {
        "id": number["id"],
        "endpointId": number["id"],
        "numberString": number["number"],
        "countryCode": number["country"],
        "type": number["type"],
        "capabilities": capabilities,
        "createdAt": number["createdAt"],
        "updatedAt": number["updatedAt"],
        "endpoint": {"id": number["id"], "type": "phone-number", "identifier": number["number"]},
    }


def _stock_item_ids(context: RequestContext) -> list[str]:
    """The stock item ids a purchase names: its body must be exactly ``{"numberStockItemIds": [...]}``.

    Raises:
        Refused: 400 when the body is not JSON; 422 for another shape, or ids that are not 1 to 25
            distinct non-empty strings.
    """
    try:
        payload = context.json()
    except ValueError:
        raise Refused(_error(400, "request body must be valid JSON", code="InvalidPayload")) from None
    if not isinstance(payload, dict) or "numberStockItemIds" not in payload:
        raise Refused(_error(422, "numberStockItemIds is required", code="InvalidPayload"))
    if extra := sorted(set(payload) - {"numberStockItemIds"}):
        raise Refused(_error(422, f"additional properties are not allowed: {', '.join(extra)}", code="InvalidPayload"))
    ids = payload["numberStockItemIds"]
    if not _distinct_ids(ids):
        raise Refused(
            _error(422, f"numberStockItemIds must be 1 to {_MAX_IDS} distinct stock item ids", code="InvalidPayload")
        )
    return list(ids)


def _distinct_ids(ids: object) -> bool:
    return (
        isinstance(ids, list)
        and 1 <= len(ids) <= _MAX_IDS
        and all(isinstance(i, str) and i for i in ids)
        and len(set(ids)) == len(ids)
    )


def _unavailable(item_id: str) -> Reply:
    return _error(409, f"number stock item {item_id} is no longer available", code="NumberStockItemUnavailable")


# --------------------------------------------------------------------------------------------
# Inventory
# --------------------------------------------------------------------------------------------


def _inventory(seed: int, size: int) -> list[SandboxRecord]:
    rng = random.Random(f"bird:{seed}:inventory")
    everything_shared = shared_numbers(seed)
    exclude = {s.e164 for s in everything_shared}
    specials = _defects(rng, exclude) + [_shared(rng, s) for s in everything_shared if LANE in s.lanes]
    specials = specials[:size]
    records = [
        _record(rng, number, _currency(rng, number.country), _monthly(rng, number.number_type))
        for number in draw_numbers(rng, _MIX, size - len(specials), lane=LANE, exclude=exclude)
    ]
    records += specials
    rng.shuffle(records)
    return records


def _currency(rng: random.Random, country: str) -> str:
    if country in ("US", "CA"):
        return "USD" if rng.random() < 0.85 else "EUR"
    if country == "GB":
        return rng.choice(("GBP", "EUR"))
    return "EUR"


def _monthly(rng: random.Random, number_type: str) -> Decimal:
    low, high = _RANGES[number_type]
    return draw_money(rng, low, high, step=rng.choice(("0.01", "0.05", "0.25")))


def _capabilities(rng: random.Random, country: str, number_type: str) -> dict[str, dict[str, bool]]:
    north_america = country in ("US", "CA")
    voice = {"inbound": True, "outbound": number_type != "toll-free" or rng.random() < 0.3}
    if number_type == "mobile":
        sms = {"inbound": True, "outbound": True}
        mms = {"inbound": north_america or rng.random() < 0.2, "outbound": north_america}
    elif number_type == "local":
        two_way = north_america and rng.random() < 0.7
        sms = {"inbound": two_way or rng.random() < 0.3, "outbound": two_way}
        mms = {"inbound": two_way and rng.random() < 0.5, "outbound": False}
    elif number_type == "toll-free":
        sms = {"inbound": north_america, "outbound": north_america}
        mms = {"inbound": False, "outbound": False}
    else:
        sms = {"inbound": False, "outbound": False}
        mms = {"inbound": False, "outbound": False}
    return {"voice": voice, "sms": sms, "mms": mms}


def _item(
    rng: random.Random,
    number: GeneratedNumber,
    *,
    currency: str,
    amount: Any,
    exponent: Any,
    country: str | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": seeded_uuid(rng),
        "countryCode": country or number.country,
        "type": number.number_type,
        "numberString": number.e164,
        "capabilities": _capabilities(rng, number.country, number.number_type),
        "monthlyPrice": {"currencyCode": currency, "amount": amount, "exponent": exponent},
        "backOrderRequired": False,
    }
    if rng.random() < 0.08:
        item["backOrderRequired"] = True
        item["backOrderStockId"] = seeded_uuid(rng)
    return item


def _record(
    rng: random.Random, number: GeneratedNumber, currency: str, monthly: Decimal, *, shared: bool = False
) -> SandboxRecord:
    exponent = -6 if shared else rng.choice((-6, -6, -2, -3))
    amount = int(monthly.scaleb(-exponent))
    raw = _item(rng, number, currency=currency, amount=amount, exponent=exponent)
    return SandboxRecord(
        offer_id=raw["id"],
        e164=number.e164,
        country=number.country,
        expected_valid=True,
        defect=None,
        raw=raw,
        number_type=number.number_type,
        region=number.area,
        monthly=monthly,
        currency=currency,
        shared=shared,
    )


def _shared(rng: random.Random, shared: SharedNumber) -> SandboxRecord:
    return _record(rng, shared.number, "USD", (shared.monthly * Decimal("0.95")).quantize(Decimal("0.01")), shared=True)


def _defects(rng: random.Random, exclude: set[str]) -> list[SandboxRecord]:
    def draw(region: str, type_name: str) -> GeneratedNumber:
        return draw_number(rng, region, type_name, lane=LANE, exclude=exclude)

    def defect(
        number: GeneratedNumber,
        tag: str,
        *,
        amount: Any = 2500000,
        exponent: Any = -6,
        currency: str = "EUR",
        country: str | None = None,
    ) -> SandboxRecord:
        raw = _item(rng, number, currency=currency, amount=amount, exponent=exponent, country=country)
        return SandboxRecord(
            offer_id=raw["id"],
            e164=number.e164,
            country=raw["countryCode"],
            expected_valid=False,
            defect=tag,
            raw=raw,
            number_type=number.number_type,
            region=number.area,
        )

    return [
        defect(GeneratedNumber("+15551234568", "US", "local", None), "invalid_number", currency="USD"),
        defect(GeneratedNumber("+3120123", "NL", "local", "Amsterdam"), "too_short"),
        # A London number listed as German.
        defect(draw("GB", "local"), "country_mismatch", country="DE"),
        defect(draw("NL", "mobile"), "negative_price", amount=-1500000),
        defect(draw("GB", "mobile"), "garbage_price", amount="abc", currency="GBP"),
        defect(draw("DE", "local"), "null_price", amount=None),
        defect(draw("US", "local"), "nan_price", amount="NaN", currency="USD"),
        # 35 × 10^400 EUR a month, and 2.5 × 10^-394 EUR (i.e. "free"): both nonsense.
        defect(draw("NL", "local"), "absurd_exponent", amount=35, exponent=400),
        defect(draw("DE", "mobile"), "absurd_exponent", amount=2500000, exponent=-400),
    ]


# --------------------------------------------------------------------------------------------
# The workspace's numbers before anything is bought
# --------------------------------------------------------------------------------------------

# (days to the paid period's end or None, routing, priced, status, cancelled)
_OWNED_QUIRKS: Final[tuple[tuple[int | None, str, bool, str, bool], ...]] = (
    (20, "connector", True, "active", False),
    (4, "connector", True, "active", False),  # renews within days
    (30, "none", True, "active", False),  # unrouted: no connector set
    (17, "absent", True, "active", False),  # no configurations at all: routing unknown
    (12, "connector", False, "active", False),  # the subscription names a currency but no amount
    (9, "connector", True, "active", True),  # cancelled: released when its paid period ends
    (None, "none", True, "pending", False),  # pending: no subscription yet
)


def _owned_numbers(seed: int, count: int, taken: set[str]) -> list[dict[str, Any]]:
    """The workspace's numbers before anything is bought, each quirk once, then plain ones."""
    rng = random.Random(f"bird:{seed}:owned")
    today = datetime.now(UTC).date()
    now = datetime.combine(today, datetime.min.time(), UTC)  # one seed, one inventory all day
    exclude = taken | {s.e164 for s in shared_numbers(seed)}
    numbers = []
    for index, drawn in enumerate(draw_numbers(rng, _MIX, count, lane=LANE, exclude=exclude)):
        days, routing, priced, status, cancelled = (
            _OWNED_QUIRKS[index]
            if index < len(_OWNED_QUIRKS)
            else (rng.randint(1, 31), "connector", True, "active", False)
        )
        monthly = _monthly(rng, drawn.number_type)
        stock = _item(rng, drawn, currency=_currency(rng, drawn.country), amount=int(monthly.scaleb(6)), exponent=-6)
        connector = {"connectorId": seeded_uuid(rng)}
        routes: dict[str, dict[str, Any] | None] = {
            "connector": {
                "voice": {"inbound": connector, "outbound": None},
                "sms": {"inbound": None, "outbound": None},
            },
            "none": {"voice": {"inbound": None, "outbound": None}, "sms": {"inbound": None, "outbound": None}},
            "absent": None,
        }
        configurations = routes[routing]
        subscribed = now - timedelta(days=rng.randint(40, 700), seconds=rng.randint(0, 86_399))
        numbers.append(
            _number(
                seeded_uuid(rng),
                stock,
                status=status,
                subscribed=subscribed,
                ends=None if days is None else today + timedelta(days=days),
                configurations=configurations,
                cancelled=now - timedelta(days=3) if cancelled else None,
                price=None if priced else {"currencyCode": stock["monthlyPrice"]["currencyCode"]},
            )
        )
    return numbers
