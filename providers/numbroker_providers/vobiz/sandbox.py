"""Vobiz emulator: inventory search, purchase from inventory and the owned-number list.

Speaks ``https://api.vobiz.ai/api`` (``base_path="/api"``), as documented in Vobiz's API reference
(docs.vobiz.ai: "List Inventory Numbers", "Purchase from Inventory", "List Account Phone Numbers", "Errors"):

* ``GET /api/v1/account/{auth_id}/inventory/numbers``: ``X-Auth-ID`` (must equal the path auth id) and
  ``X-Auth-Token``; ``country``, ``search`` (substring of the E.164), ``exclude`` (E.164 prefixes, ``+``
  optional, comma-separated or repeated; ``total`` counts what is left), ``page`` (1-based), ``per_page``
  (default 25, max 100, else 422); answers ``{"items", "page", "per_page", "total"}``. Only
  ``status="active"`` numbers are listed, except one non-active record that leaks through (a defect).
  Most items carry the fields Vobiz's SDK declares (``vobiz-ai/Vobiz-Python-SDK``,
  ``src/vobiz/phone_numbers/types/list_inventory_numbers_response_items_item.py``): ``capabilities
  {voice, sms, mms, fax}``, ``minimum_commitment_months``, ``is_trial_number``, …; a fifth carry none, as
  in the API reference's examples.
* Every path also answers with ``Account`` (capital A, as the SDK writes it), and ``Authorization: Bearer
  <token>`` is accepted beside (or instead of) ``X-Auth-Token``, as the SDK sends both.
* ``POST /api/v1/account/{auth_id}/numbers/purchase-from-inventory`` with ``{"e164": ...}``: 200
  ``{"message", "number", "items"}``; 404 when not in inventory; insufficient balance is 402
  ``INSUFFICIENT_BALANCE`` or, with ``balance_error=500``, a 500 and a rollback. The balance is debited
  ``setup_fee + monthly_fee`` (one number, currencies ignored).
* ``GET /api/v1/account/{auth_id}/numbers``: owned numbers, ``page``/``per_page`` (default 20, max 100) or
  ``limit``/``offset``; answers ``{"items", "page", "per_page", "total"}``. A number bought shows here
  ``Faults.owned_list_lag_seconds`` after its purchase committed. The account can start out owning
  ``owned`` seeded numbers (``sandbox.options["owned"]``, the live list) that show the owned list's quirks:
  numbers held by ``SA_`` sub-accounts (listed for an ``MA_`` account unless ``include_subaccounts=false``),
  unrouted numbers (neither ``application_id`` nor ``trunk_group_id``), renewals due within days, a
  number without a monthly fee, one pending release, one with no billing date.
* ``GET /api/v1/partner/numbers`` and ``GET /api/v1/partner/accounts/{customer_auth_id}/numbers`` (the
  Partner API, read-only): every customer's numbers, or one customer's (404 for an unknown customer),
  paged the same way, with ``account_auth_id`` echoed; ``sandbox.options["partner"]`` maps each customer
  to its numbers.

Errors use the documented envelope ``{"status": "error", "error": {"code", "message"[, "details"]},
"timestamp", "requestId": "req_..."}``.
"""

from __future__ import annotations

__all__ = [
    "BASE_PATH",
    "CUSTOMERS",
    "DEFAULT_AUTH_ID",
    "DEFAULT_BALANCE",
    "DEFAULT_OWNED",
    "DEFAULT_SIZE",
    "LANE",
    "SUB_ACCOUNTS",
    "create_app",
]

import hashlib
import hmac
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Literal

from numbroker.sandbox import (
    Faults,
    GeneratedNumber,
    Refused,
    Reply,
    Sandbox,
    SandboxRecord,
    draw_money,
    draw_number,
    draw_numbers,
    draw_timestamp,
    json_number,
    now_iso,
    seeded_uuid,
    shared_numbers,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from starlette.datastructures import QueryParams
    from starlette.requests import Request
    from starlette.routing import Route

    from numbroker.sandbox import RequestContext, SharedNumber

LANE: Final = 0
"""This emulator's lane in :func:`numbroker.sandbox.shared_numbers`."""
DEFAULT_SIZE: Final = 150
"""Listed inventory records when ``size`` is not given (2 pages at per_page=100, 6 at the default 25)."""
DEFAULT_AUTH_ID: Final = "MA_SANDBOX"
DEFAULT_BALANCE: Final = Decimal("1000000")
DEFAULT_OWNED: Final = 12
"""Numbers ``numbroker owned --sandbox`` starts the account with (every quirk of the owned list at least once)."""
SUB_ACCOUNTS: Final = ("SA_BRANCH0001", "SA_BRANCH0002")
"""The sandbox master account's sub-accounts."""
CUSTOMERS: Final = ("MA_CUSTOMER01", "MA_CUSTOMER02")
"""The partner's customers (the Partner API's views)."""
BASE_PATH: Final = "/api"

_MAX_PER_PAGE: Final = 100
_MAX_OWNED: Final = 100_000
_HIDDEN_STATUSES: Final = ("pending_purchase", "pending_release", "released", "blocked")
_MIX: Final[tuple[tuple[str, str, float], ...]] = (
    ("US", "local", 20),
    ("US", "toll-free", 5),
    ("CA", "local", 4),
    ("IN", "local", 12),
    ("IN", "mobile", 10),
    ("IN", "toll-free", 3),
    ("GB", "local", 10),
    ("GB", "mobile", 8),
    ("GB", "toll-free", 3),
    ("DE", "local", 8),
    ("DE", "mobile", 5),
    ("NL", "local", 7),
    ("NL", "mobile", 5),
)
_USD_RANGES: Final = {
    "local": ("0.50", "3.00"),
    "mobile": ("1.00", "5.00"),
    "toll-free": ("2.00", "8.00"),
    "national": ("1.00", "4.00"),
}
_CODES: Final = {
    400: "BAD_REQUEST",
    401: "INVALID_CREDENTIALS",
    402: "INSUFFICIENT_BALANCE",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMIT_EXCEEDED",
    500: "INTERNAL_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}
_MESSAGES: Final = {
    429: "Rate limit exceeded",
    500: "Internal server error",
    503: "Service is temporarily overloaded, try again later",
}


def create_app(
    *,
    seed: int = 0,
    faults: Faults | None = None,
    size: int | None = None,
    balance: Decimal | int | str | None = DEFAULT_BALANCE,
    balance_error: Literal[402, 500] = 402,
    auth_id: str = DEFAULT_AUTH_ID,
    owned: int = 0,
) -> Sandbox:
    """Build a Vobiz sandbox.

    Args:
        seed: Inventory seed (same seed, same inventory).
        faults: Fault knobs (default: none).
        size: Number of listed inventory records (default :data:`DEFAULT_SIZE`). About 2% more
            non-active numbers exist but are never listed (``sandbox.options["hidden"]``).
        balance: Starting balance; None for no balance check.
        balance_error: How an insufficient balance is answered: 402 ``INSUFFICIENT_BALANCE`` or a
            500 (the purchase is rolled back either way).
        auth_id: The account Auth ID.
        owned: How many numbers the account owns before anything is bought (0..100,000; the quirks come first;
            :data:`DEFAULT_OWNED` shows each quirk once). The partner's customers' numbers are always there.

    Returns:
        The sandbox; ``env`` holds ``VOBIZ_AUTH_ID`` and ``VOBIZ_AUTH_TOKEN``.

    Raises:
        ValueError: ``size`` is negative.
    """
    if size is not None and size < 0:
        raise ValueError("size must not be negative")
    if not 0 <= owned <= _MAX_OWNED:
        raise ValueError(f"owned must be 0..{_MAX_OWNED}")
    records, hidden = _inventory(seed, DEFAULT_SIZE if size is None else size)
    token = "sandbox-token-" + hashlib.sha256(f"vobiz:{seed}:token".encode()).hexdigest()[:24]
    sandbox = Sandbox(
        name="vobiz",
        seed=seed,
        base_path=BASE_PATH,
        env={"VOBIZ_AUTH_ID": auth_id, "VOBIZ_AUTH_TOKEN": token},
        records=records,
        error_reply=_error_reply,
        faults=faults,
        balance=None if balance is None else Decimal(str(balance)),
        options={"balance_error": balance_error, "hidden": hidden},
    )
    vobiz = _Vobiz(sandbox, auth_id, token, balance_error)
    taken = {r.e164 for r in records} | {h["e164"] for h in hidden}
    vobiz.numbers, vobiz.partner = _owned_inventory(seed, owned, auth_id, taken)
    sandbox.options["owned"] = vobiz.numbers
    sandbox.options["partner"] = vobiz.partner
    sandbox.build(vobiz.routes())
    return sandbox


# --------------------------------------------------------------------------------------------
# Wire behaviour
# --------------------------------------------------------------------------------------------


def _envelope(
    sandbox: Sandbox, status: int, message: str, *, code: str | None = None, details: Mapping[str, Any] | None = None
) -> Reply:
    error: dict[str, Any] = {"code": code or _CODES.get(status, "ERROR"), "message": message}
    if details is not None:
        error["details"] = dict(details)
    body = {"status": "error", "error": error, "timestamp": now_iso(), "requestId": f"req_{sandbox.new_hex(12)}"}
    return Reply(status, body)


def _error_reply(sandbox: Sandbox, status: int, message: str) -> Reply:
    return _envelope(sandbox, status, message or _MESSAGES.get(status, "Request failed"))


def _int_param(query: QueryParams, name: str, default: int) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        return None


def _fee(value: Any) -> Decimal:
    """A fee as charged: garbage and negatives count as zero."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return Decimal(0)
    amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return amount if amount.is_finite() and amount > 0 else Decimal(0)


class _Vobiz:
    def __init__(self, sandbox: Sandbox, auth_id: str, token: str, balance_error: int) -> None:
        self.sandbox = sandbox
        self.auth_id = auth_id
        self.token = token
        self.balance_error = balance_error
        self.numbers: list[dict[str, Any]] = []
        self.partner: dict[str, list[dict[str, Any]]] = {}

    def routes(self) -> list[Route]:
        sb = self.sandbox
        routes = []
        for segment in ("account", "Account"):  # the API reference's path, and the SDK's
            account = f"{BASE_PATH}/v1/{segment}/{{auth_id}}"
            routes += [
                sb.route(f"{account}/inventory/numbers", self.search, name="search"),
                sb.purchase_route(f"{account}/numbers/purchase-from-inventory", self.purchase),
                sb.route(f"{account}/numbers", self.owned, name="owned"),
            ]
        routes += [
            sb.route(f"{BASE_PATH}/v1/partner/numbers", self.partner_numbers, name="partner_numbers"),
            sb.route(
                f"{BASE_PATH}/v1/partner/accounts/{{customer}}/numbers", self.partner_numbers, name="customer_numbers"
            ),
        ]
        return routes

    def _authorize(self, request: Request) -> None:
        header_id = request.headers.get("x-auth-id")
        path_id = request.path_params.get("auth_id", header_id)
        header_token = request.headers.get("x-auth-token")
        scheme, _, bearer = (request.headers.get("authorization") or "").partition(" ")
        tokens = [t for t in (header_token, bearer if scheme.lower() == "bearer" else None) if t]
        if not header_id or not tokens:
            raise Refused(_envelope(self.sandbox, 401, "Missing X-Auth-ID or X-Auth-Token header"))
        if (
            header_id != self.auth_id
            or path_id != header_id
            or not all(hmac.compare_digest(t.encode(), self.token.encode()) for t in tokens)
        ):
            raise Refused(_envelope(self.sandbox, 401, "Invalid authentication credentials"))

    def _paging(self, request: Request, default_per_page: int) -> tuple[int, int]:
        query = request.query_params
        if "page" not in query and ("limit" in query or "offset" in query):
            limit = _int_param(query, "limit", default_per_page)
            offset = _int_param(query, "offset", 0)
            if limit is None or not 1 <= limit <= _MAX_PER_PAGE or offset is None or offset < 0 or offset % limit:
                raise Refused(
                    _envelope(self.sandbox, 422, "limit must be 1..100 and offset a non-negative multiple of limit")
                )
            return offset // limit + 1, limit
        page = _int_param(query, "page", 1)
        per_page = _int_param(query, "per_page", default_per_page)
        if page is None or page < 1:
            raise Refused(
                _envelope(
                    self.sandbox, 422, "Invalid query parameters", details={"field": "page", "message": "must be >= 1"}
                )
            )
        if per_page is None or not 1 <= per_page <= _MAX_PER_PAGE:
            raise Refused(
                _envelope(
                    self.sandbox,
                    422,
                    "Invalid query parameters",
                    details={"field": "per_page", "message": f"must be between 1 and {_MAX_PER_PAGE}"},
                )
            )
        return page, per_page

    async def search(self, request: Request, context: RequestContext) -> Reply:
        self._authorize(request)
        page, per_page = self._paging(request, 25)
        country = (request.query_params.get("country") or "").strip().upper()
        search = request.query_params.get("search") or ""
        exclude = tuple(
            sorted(
                {
                    "+" + part.strip().lstrip("+")
                    for value in request.query_params.getlist("exclude")
                    for part in value.split(",")
                    if part.strip().lstrip("+")
                }
            )
        )
        items = self.sandbox.view(
            ("inventory", country, search, exclude),
            lambda r: (
                (not country or r.country == country)
                and (not search or search in r.e164)
                and not r.e164.startswith(exclude or ("\0",))
            ),
        )
        result = self.sandbox.numbered_page(items, page=page, per_page=per_page)
        body = {"items": [r.raw for r in result.items], "page": page, "per_page": per_page, "total": result.total}
        return Reply(200, body, offer_ids=tuple(r.offer_id for r in result.items), faults=result.labels)

    async def owned(self, request: Request, context: RequestContext) -> Reply:
        return self._numbers_page(request, self._account_numbers)

    async def partner_numbers(self, request: Request, context: RequestContext) -> Reply:
        return self._numbers_page(request, self._customer_numbers, account_auth_id=self.auth_id)

    def _numbers_page(self, request: Request, choose: Callable[[Request], list[dict[str, Any]]], **extra: Any) -> Reply:
        """One page of the numbers ``choose`` picks for ``request`` (an owned list or a partner view)."""
        self._authorize(request)
        page, per_page = self._paging(request, 20)
        result = self.sandbox.numbered_page(choose(request), page=page, per_page=per_page)
        body = {"items": list(result.items), "page": page, "per_page": per_page, "total": result.total, **extra}
        return Reply(200, body, faults=result.labels)

    def _account_numbers(self, request: Request) -> list[dict[str, Any]]:
        listed = self.sandbox.listed(self.numbers, lambda number: number["e164"])
        if request.query_params.get("include_subaccounts", "true").lower() == "false":
            listed = [number for number in listed if number.get("account_id") == self.auth_id]
        return listed

    def _customer_numbers(self, request: Request) -> list[dict[str, Any]]:
        customer = request.path_params.get("customer")
        if customer is None:
            numbers = [number for customer_numbers in self.partner.values() for number in customer_numbers]
        elif customer in self.partner:
            numbers = self.partner[customer]
        else:
            raise Refused(_envelope(self.sandbox, 404, f"Customer account {customer} not found"))
        search = request.query_params.get("search") or ""
        return [number for number in numbers if search in number["e164"]]

    async def purchase(self, request: Request, context: RequestContext) -> Reply:
        sb = self.sandbox
        self._authorize(request)
        try:
            payload = context.json()
        except ValueError:
            return _envelope(sb, 400, "Request body must be valid JSON")
        e164 = payload.get("e164") if isinstance(payload, dict) else None
        if not isinstance(e164, str) or not e164:
            return _envelope(sb, 422, "Invalid request body", details={"field": "e164", "message": "e164 is required"})
        record = context.claim(sb.record_by_e164(e164))
        if record is None:
            return _envelope(sb, 404, f"Number {e164} not found in inventory")
        record = context.sold_instead(record)
        raw = record.raw
        setup = _fee(raw.get("setup_fee"))
        monthly = _fee(raw.get("monthly_fee", raw.get("monthly_cost")))
        cost = setup + monthly
        if sb.balance is not None and cost > sb.balance:
            if self.balance_error == 500:
                return _envelope(sb, 500, "Failed to debit account balance; the purchase was rolled back")
            details = {"required": float(cost), "available": float(sb.balance), "currency": raw.get("currency")}
            return _envelope(sb, 402, "Account balance too low to complete this operation", details=details)
        if sb.balance is not None:
            sb.balance -= cost
        currency = raw.get("currency") if isinstance(raw.get("currency"), str) else None
        context.commit(record, upfront=setup, monthly=monthly, currency=currency)
        number = self._owned_number(record)
        self.numbers.append(number)
        return Reply(200, {"message": "Number purchased successfully", "number": number, "items": [raw]})

    def _owned_number(self, record: SandboxRecord) -> dict[str, Any]:
        raw = record.raw
        now = datetime.now(UTC)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "id": record.offer_id,
            "account_id": self.auth_id,
            "e164": record.e164,
            "country": raw.get("country"),
            "region": raw.get("region"),
            "capabilities": {"voice": True, "sms": False, "mms": False, "fax": False},
            "status": "active",
            "provider": "",
            "setup_fee": raw.get("setup_fee"),
            "monthly_fee": raw.get("monthly_fee", raw.get("monthly_cost")),
            "currency": raw.get("currency"),
            "application_id": None,
            "voice_enabled": True,
            "tags": [],
            "purchased_at": stamp,
            "is_blocked": False,
            "created_at": raw.get("created_at"),
            "updated_at": stamp,
            "is_trial_number": False,
            "last_billing_date": stamp,
            "next_billing_date": (now + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "minimum_commitment_months": 0,
            "aadhaar_verification_required": record.country == "IN",
            "aadhaar_verified": False,
            "source": "inventory",
        }


# --------------------------------------------------------------------------------------------
# Inventory
# --------------------------------------------------------------------------------------------


def _inventory(seed: int, size: int) -> tuple[list[SandboxRecord], list[dict[str, Any]]]:
    rng = random.Random(f"vobiz:{seed}:inventory")
    everything_shared = shared_numbers(seed)
    exclude = {s.e164 for s in everything_shared}
    specials = _defects(rng, exclude) + [_shared(rng, s) for s in everything_shared if LANE in s.lanes]
    specials = specials[:size]
    numbers = draw_numbers(rng, _MIX, size - len(specials), lane=LANE, exclude=exclude)
    records: list[SandboxRecord] = []
    inr_example_done = False
    for index, number in enumerate(numbers):
        currency = _currency(rng, number.country)
        monthly = _monthly(rng, number.number_type, currency)
        setup = _setup(rng, currency)
        if not inr_example_done and number.country == "US":
            # The documented example: a US number priced in INR, setup 0, monthly 1.
            currency, monthly, setup, inr_example_done = "INR", Decimal(1), Decimal(0), True
        fee_key = "monthly_cost" if index in (3, 11) or rng.random() < 0.02 else "monthly_fee"
        records.append(_record(rng, number, currency, setup, monthly, fee_key=fee_key))
    records += specials
    rng.shuffle(records)
    hidden_count = max(1, size // 50) if size else 0
    hidden = [
        _item(
            rng,
            number,
            currency="USD",
            setup=json_number(rng, Decimal(0)),
            monthly=json_number(rng, Decimal(1)),
            status=rng.choice(_HIDDEN_STATUSES),
        )
        for number in draw_numbers(rng, _MIX, hidden_count, lane=LANE, exclude=exclude)
    ]
    return records, hidden


def _currency(rng: random.Random, country: str) -> str:
    if country == "IN":
        return "INR" if rng.random() < 0.85 else "USD"
    if country in ("US", "CA"):
        return rng.choices(("USD", "INR", "EUR"), weights=(8, 1, 1))[0]
    return rng.choices(("EUR", "USD"), weights=(7, 3))[0]


def _monthly(rng: random.Random, number_type: str, currency: str) -> Decimal:
    if currency == "INR":
        return draw_money(rng, "50", "500", step=rng.choice(("10", "50", "0.5")))
    low, high = _USD_RANGES[number_type]
    return draw_money(rng, low, high, step=rng.choice(("0.01", "0.05", "0.25", "0.5", "1")))


def _setup(rng: random.Random, currency: str) -> Decimal:
    if currency == "INR":
        return Decimal(rng.choice((0, 0, 50, 100)))
    return Decimal(rng.choice(("0", "0", "0", "0.1", "0.5", "1", "2.75")))


def _item(
    rng: random.Random,
    number: GeneratedNumber,
    *,
    currency: Any,
    setup: Any,
    monthly: Any,
    fee_key: str = "monthly_fee",
    status: str = "active",
    country: str | None = None,
) -> dict[str, Any]:
    created = draw_timestamp(rng, micro=rng.random() < 0.3)
    item = {
        "id": seeded_uuid(rng),
        "e164": number.e164,
        "country": country or number.country,
        "region": number.area or "",
        "status": status,
        "setup_fee": setup,
        fee_key: monthly,
        "currency": currency,
        "created_at": created,
        "updated_at": created if rng.random() < 0.5 else draw_timestamp(rng, micro=rng.random() < 0.3),
    }
    return item | _sdk_fields(number, item["country"])


def _sdk_fields(number: GeneratedNumber, country: str) -> dict[str, Any]:
    """The fields Vobiz's SDK declares on an inventory item, for most items (the reference's examples lack them).

    Drawn from the number alone, so the rest of the inventory is what it was before these fields existed.
    """
    rng = random.Random(f"vobiz:sdk:{number.e164}")
    if rng.random() < 0.2:
        return {}  # as in the API reference's examples: no capabilities stated (unknown)
    voice = rng.random() < 0.9
    return {
        "capabilities": {
            "voice": voice,
            "sms": number.number_type == "mobile" or rng.random() < 0.3,
            "mms": rng.random() < 0.1,
            "fax": rng.random() < 0.05,
        },
        "voice_enabled": voice,
        "is_blocked": False,
        "is_trial_number": rng.random() < 0.05,
        "minimum_commitment_months": rng.choice((0, 0, 0, 1, 3, 12)),
        "aadhaar_verification_required": country == "IN",
        "aadhaar_verified": False,
        "tags": [],
    }


def _record(
    rng: random.Random,
    number: GeneratedNumber,
    currency: str,
    setup: Decimal,
    monthly: Decimal,
    *,
    fee_key: str = "monthly_fee",
    shared: bool = False,
) -> SandboxRecord:
    setup_value, monthly_value = json_number(rng, setup), json_number(rng, monthly)
    raw = _item(rng, number, currency=currency, setup=setup_value, monthly=monthly_value, fee_key=fee_key)
    return SandboxRecord(
        offer_id=raw["id"],
        e164=number.e164,
        country=number.country,
        expected_valid=True,
        defect=None,
        raw=raw,
        number_type=number.number_type,
        region=number.area,
        monthly=Decimal(repr(monthly_value)) if isinstance(monthly_value, float) else Decimal(monthly_value),
        upfront=Decimal(repr(setup_value)) if isinstance(setup_value, float) else Decimal(setup_value),
        currency=currency,
        shared=shared,
    )


def _shared(rng: random.Random, shared: SharedNumber) -> SandboxRecord:
    monthly = (shared.monthly * Decimal("1.10")).quantize(Decimal("0.01"))
    return _record(rng, shared.number, "USD", shared.upfront, monthly, shared=True)


def _defects(rng: random.Random, exclude: set[str]) -> list[SandboxRecord]:
    def draw(region: str, type_name: str) -> GeneratedNumber:
        return draw_number(rng, region, type_name, lane=LANE, exclude=exclude)

    def defect(number: GeneratedNumber, tag: str, *, country: str | None = None, **fields: Any) -> SandboxRecord:
        values: dict[str, Any] = {"currency": "USD", "setup": 0, "monthly": 1.5, "status": "active"}
        values.update(fields)
        raw = _item(
            rng,
            number,
            currency=values["currency"],
            setup=values["setup"],
            monthly=values["monthly"],
            status=values["status"],
            country=country,
        )
        return SandboxRecord(
            offer_id=raw["id"],
            e164=number.e164,
            country=raw["country"],
            expected_valid=False,
            defect=tag,
            raw=raw,
            number_type=number.number_type,
            region=number.area,
        )

    canada = draw("CA", "local")
    return [
        # +1 555 is not a NANP area code: the placeholder numbers of the docs.
        defect(GeneratedNumber("+15550001234", "US", "local", "CA"), "invalid_number"),
        defect(GeneratedNumber("+1212555", "US", "local", "NY"), "too_short"),
        # A Canadian number listed as US: same +1 calling code, wrong country.
        defect(canada, "country_mismatch", country="US"),
        defect(draw("IN", "local"), "negative_price", currency="INR", monthly=-100),
        defect(draw("GB", "local"), "garbage_price", currency="EUR", monthly="abc"),
        defect(draw("DE", "mobile"), "garbage_price", currency="EUR", monthly=True),
        defect(draw("US", "local"), "nan_price", setup="NaN"),
        # Not for sale, yet listed: the adapter must skip non-active numbers.
        defect(draw("NL", "local"), "status", currency="EUR", status="pending_release"),
    ]


# --------------------------------------------------------------------------------------------
# Owned numbers (before anything is bought) and the partner's customers
# --------------------------------------------------------------------------------------------


def _owned_item(
    rng: random.Random,
    number: GeneratedNumber,
    holder: str,
    now: datetime,
    *,
    renews_in_days: int | None,
    routed: str | None,
    priced: bool = True,
    status: str = "active",
) -> dict[str, Any]:
    """One owned number as the list shows it (the fields of the documented example, in its order)."""
    currency = "INR" if number.country == "IN" else "USD"
    monthly = draw_money(rng, "100", "400", step="50") if currency == "INR" else draw_money(rng, "1", "6", step="0.25")
    bought = now - timedelta(days=rng.randint(40, 700), seconds=rng.randint(0, 86_399))
    renewal = None if renews_in_days is None else now + timedelta(days=renews_in_days)
    item: dict[str, Any] = {
        "id": seeded_uuid(rng),
        "account_id": holder,
        "e164": number.e164,
        "country": number.country,
        "region": number.area or "",
        "capabilities": {"voice": True, "sms": number.number_type == "mobile", "mms": False, "fax": False},
        "status": status,
        "provider": "",
        "setup_fee": json_number(rng, Decimal(100) if currency == "INR" else Decimal(0)),
        "monthly_fee": json_number(rng, monthly),
        "currency": currency,
        "application_id": str(rng.randint(10**16, 10**17 - 1)) if routed == "application" else None,
        "voice_enabled": True,
        "tags": [],
        "purchased_at": _stamp(bought),
        "is_blocked": False,
        "created_at": _stamp(bought - timedelta(days=3)),
        "updated_at": _stamp(bought),
        "is_trial_number": False,
        "last_billing_date": None if renewal is None else _stamp(renewal - timedelta(days=30)),
        "next_billing_date": None if renewal is None else _stamp(renewal),
        "minimum_commitment_months": 0,
        "aadhaar_verification_required": number.country == "IN",
        "aadhaar_verified": number.country == "IN",
        "source": "purchased",
        "trunk_group_id": f"tg_{seeded_uuid(rng)[:8]}" if routed == "trunk" else None,
    }
    if not priced:
        del item["monthly_fee"]  # a number the list states no monthly fee for: its price is unknown
    return item


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# (holder: "" for the account itself or a sub-account index, renewal in days, routing, priced, status)
_OWNED_QUIRKS: Final[tuple[tuple[int | None, int | None, str | None, bool, str], ...]] = (
    (None, 20, "application", True, "active"),
    (None, 5, "application", True, "active"),  # renews within days
    (None, 45, None, True, "active"),  # unrouted: calls have nowhere to go
    (None, 12, "trunk", True, "active"),  # routed through a trunk group, renewal soon
    (None, 25, "application", False, "active"),  # no monthly fee stated
    (None, None, "application", True, "active"),  # no billing date
    (0, 9, None, True, "active"),  # a sub-account's, unrouted, renewing soon
    (0, 30, "application", True, "active"),
    (1, 3, "application", True, "pending_release"),
    (1, 60, "trunk", True, "active"),
)


def _owned_inventory(
    seed: int, count: int, auth_id: str, taken: set[str]
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """The account's numbers before anything is bought, and each partner customer's numbers."""
    rng = random.Random(f"vobiz:{seed}:owned")
    # Dates hang off today's midnight (UTC): the same seed gives the same list all day, renewals stay near.
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    exclude = set(taken) | {s.e164 for s in shared_numbers(seed)}
    numbers = draw_numbers(rng, _MIX, count + 5, lane=LANE, exclude=exclude)
    owned: list[dict[str, Any]] = []
    for index, number in enumerate(numbers[:count]):
        if index < len(_OWNED_QUIRKS):
            holder_index, days, routed, priced, status = _OWNED_QUIRKS[index]
        else:
            holder_index, days, routed, priced, status = None, rng.randint(1, 31), "application", True, "active"
        holder = auth_id if holder_index is None else SUB_ACCOUNTS[holder_index]
        owned.append(
            _owned_item(rng, number, holder, now, renews_in_days=days, routed=routed, priced=priced, status=status)
        )
    extra = numbers[count:]
    partner = {
        CUSTOMERS[0]: [
            _owned_item(rng, extra[0], CUSTOMERS[0], now, renews_in_days=10, routed="application"),
            _owned_item(rng, extra[1], CUSTOMERS[0], now, renews_in_days=40, routed=None),
            _owned_item(rng, extra[2], CUSTOMERS[0], now, renews_in_days=22, routed="trunk", priced=False),
        ],
        CUSTOMERS[1]: [
            _owned_item(rng, extra[3], CUSTOMERS[1], now, renews_in_days=2, routed="application"),
            _owned_item(rng, extra[4], CUSTOMERS[1], now, renews_in_days=None, routed=None),
        ],
    }
    return owned, partner
