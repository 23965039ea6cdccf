"""IdentityCall emulator: available-number search, purchase and the owned list.

Speaks ``https://api.identitycall.ai/api/v1/public`` (``base_path="/api/v1/public"``), as documented in
IdentityCall's API reference (docs.identitycall.ai: "Virtual numbers": available, purchase, list) and, for
the pass-through entries, Telnyx's "List available phone numbers" response (developers.telnyx.com):

* ``GET /virtual_numbers/available`` with ``Authorization: Bearer idc_<32 alphanumerics>``; ``country``
  (case-insensitive, default ``US``) and ``number_type`` (default ``mobile``; ``mobile|local|toll-free|
  national``); no paging: ``{"data": [...]}``. Entries come in two shapes, mixed: IdentityCall's flat one
  (``upfront_cost``/``monthly_cost`` decimal strings, string ``features``) and Telnyx's pass-through
  (``cost_information{upfront_cost, monthly_cost, currency}``, ``features: [{"name": ...}]``,
  ``record_type``, ``best_effort``, ``quickship``, ``reservable``). Many lack ``country_code`` and/or
  ``number_type`` (the client falls back to the request's), some flat ones carry a top-level
  ``currency``. An unsupported country is 422 ``{"error": "Provider error: ..."}``; a bad number_type is
  422 ``{"errors": [...]}``.
* ``POST /virtual_numbers/purchase`` with ``{"phone_number", ...}``: 201 ``{"data": {"id": int, ...}}``;
  422 ``{"errors": ["phone_number is not available"]}`` when gone; 403 ``Write permission required``
  with ``read_only_key=True``.
* ``GET /virtual_numbers``: the numbers bought, ``page``/``per_page`` (max 100) with ``meta``; a number
  shows here ``Faults.owned_list_lag_seconds`` after its purchase committed.

Errors are ``{"error": "..."}`` or, for validation, ``{"errors": [...]}``.
"""

from __future__ import annotations

__all__ = ["BASE_PATH", "BUCKETS", "DEFAULT_PER_QUERY", "LANE", "create_app"]

import hmac
import random
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
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
    shared_numbers,
)

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.routing import Route

    from numbroker.sandbox import RequestContext, SharedNumber

LANE: Final = 2
"""This emulator's lane in :func:`numbroker.sandbox.shared_numbers`."""
DEFAULT_PER_QUERY: Final = 40
"""Entries per (country, number_type) query when ``size`` is not given."""
BASE_PATH: Final = "/api/v1/public"
BUCKETS: Final[tuple[tuple[str, str], ...]] = (
    ("US", "mobile"),
    ("US", "local"),
    ("US", "toll-free"),
    ("CA", "local"),
    ("GB", "mobile"),
    ("GB", "local"),
    ("GB", "toll-free"),
    ("GB", "national"),
    ("DE", "mobile"),
    ("DE", "local"),
    ("DE", "toll-free"),
    ("NL", "mobile"),
    ("NL", "local"),
    ("NL", "toll-free"),
    ("NL", "national"),
    ("IN", "mobile"),
    ("IN", "local"),
    ("IN", "toll-free"),
)
"""The (country, number_type) pairs in stock; other supported countries answer ``{"data": []}``."""

_TYPES: Final = ("mobile", "local", "toll-free", "national")
_REFUSED: Final = frozenset({"CU", "IR", "KP", "SY"})
_KEY: Final = re.compile(r"idc_[A-Za-z0-9]{32}")
_MAX_PER_PAGE: Final = 100
_RANGES: Final = {
    "local": ("1.00", "2.50"),
    "mobile": ("1.50", "4.00"),
    "toll-free": ("2.00", "6.00"),
    "national": ("1.50", "3.00"),
}
_FEATURES: Final = {
    "mobile": ("sms", "voice", "mms"),
    "local": ("voice", "sms"),
    "toll-free": ("voice",),
    "national": ("voice",),
}


def create_app(
    *,
    seed: int = 0,
    faults: Faults | None = None,
    size: int | None = None,
    read_only_key: bool = False,
    requirement_group_countries: Iterable[str] = (),
    owned: int = 0,
) -> Sandbox:
    """Build an IdentityCall sandbox.

    Args:
        seed: Inventory seed (same seed, same inventory).
        faults: Fault knobs (default: none).
        size: Total entries across all :data:`BUCKETS` (default ``DEFAULT_PER_QUERY`` per bucket).
        read_only_key: The API key lacks write permission: purchases answer 403.
        requirement_group_countries: Countries whose purchases need an integer ``requirement_group_id``.
        owned: Numbers the account owns before anything is bought (0..100,000; the quirks first: a number
            with no operator to ring, one switched off). ``sandbox.options["owned"]`` is the live list.

    Returns:
        The sandbox; ``env`` holds ``IDENTITYCALL_API_KEY``.

    Raises:
        ValueError: ``size`` is negative.
    """
    if size is not None and size < 0:
        raise ValueError("size must not be negative")
    key_rng = random.Random(f"identitycall:{seed}:key")
    key = "idc_" + "".join(key_rng.choices(string.ascii_letters + string.digits, k=32))
    regulated = frozenset(c.upper() for c in requirement_group_countries)
    sandbox = Sandbox(
        name="identitycall",
        seed=seed,
        base_path=BASE_PATH,
        env={"IDENTITYCALL_API_KEY": key},
        records=_inventory(seed, DEFAULT_PER_QUERY * len(BUCKETS) if size is None else size),
        error_reply=_error_reply,
        faults=faults,
        options={"read_only_key": read_only_key, "requirement_group_countries": regulated},
    )
    identitycall = _IdentityCall(sandbox, key, read_only_key, regulated)
    if not 0 <= owned <= 100_000:
        raise ValueError("owned must be 0..100000")
    identitycall.numbers.extend(_owned_numbers(seed, owned, {r.e164 for r in sandbox.records}))
    sandbox.options["owned"] = identitycall.numbers
    sandbox.build(identitycall.routes())
    return sandbox


# --------------------------------------------------------------------------------------------
# Wire behaviour
# --------------------------------------------------------------------------------------------


def _error(status: int, message: str) -> Reply:
    return Reply(status, {"error": message})


def _errors(*messages: str) -> Reply:
    return Reply(422, {"errors": list(messages)})


def _error_reply(sandbox: Sandbox, status: int, message: str) -> Reply:
    defaults = {429: "Rate limit exceeded", 500: "Internal server error", 503: "Service unavailable"}
    return _error(status, message or defaults.get(status, "Request failed"))


def _purchase_request(context: RequestContext) -> tuple[dict[str, Any], str, int | None]:
    """A purchase's body, the number it asks for (stripped) and its requirement group.

    Raises:
        Refused: 400 when the body is not JSON; 422 without a ``phone_number`` or with a group that is not an integer.
    """
    try:
        payload = context.json()
    except ValueError:
        raise Refused(_error(400, "Request body must be valid JSON")) from None
    phone = payload.get("phone_number") if isinstance(payload, dict) else None
    if not isinstance(phone, str) or not phone.strip():
        raise Refused(_errors("phone_number is required"))
    group = payload.get("requirement_group_id")
    if group is not None and (isinstance(group, bool) or not isinstance(group, int)):
        raise Refused(_errors("requirement_group_id must be an integer"))
    return payload, phone.strip(), group


class _IdentityCall:
    def __init__(self, sandbox: Sandbox, key: str, read_only_key: bool, regulated: frozenset[str]) -> None:
        self.sandbox = sandbox
        self.key = key
        self.read_only_key = read_only_key
        self.regulated = regulated
        self.numbers: list[dict[str, Any]] = []

    def routes(self) -> list[Route]:
        sb = self.sandbox
        return [
            sb.route(f"{BASE_PATH}/virtual_numbers/available", self.search, name="search"),
            sb.purchase_route(f"{BASE_PATH}/virtual_numbers/purchase", self.purchase),
            sb.route(f"{BASE_PATH}/virtual_numbers", self.owned, name="owned"),
        ]

    def _authorize(self, request: Request) -> None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or not _KEY.fullmatch(key) or not hmac.compare_digest(key.encode(), self.key.encode()):
            raise Refused(_error(401, "Invalid or expired API key"))

    async def search(self, request: Request, context: RequestContext) -> Reply:
        self._authorize(request)
        country = (request.query_params.get("country") or "US").strip().upper()
        number_type = request.query_params.get("number_type") or "mobile"
        if number_type not in _TYPES:
            return _errors(f"number_type must be one of: {', '.join(_TYPES)}")
        if country not in phonenumbers.SUPPORTED_REGIONS or country in _REFUSED:
            return _error(422, f"Provider error: country {country!r} is not supported for number search")
        items = self.sandbox.view(
            ("available", country, number_type), lambda r: r.country == country and r.number_type == number_type
        )
        return Reply(200, {"data": [r.raw for r in items]}, offer_ids=tuple(r.offer_id for r in items))

    async def owned(self, request: Request, context: RequestContext) -> Reply:
        self._authorize(request)
        try:
            page = int(request.query_params.get("page") or 1)
            per_page = min(int(request.query_params.get("per_page") or 25), _MAX_PER_PAGE)
        except ValueError:
            return _errors("page and per_page must be integers")
        if page < 1 or per_page < 1:
            return _errors("page and per_page must be positive")
        listed = self.sandbox.listed(self.numbers, lambda number: number["phone_number"])
        result = self.sandbox.numbered_page(listed, page=page, per_page=per_page)
        meta = {
            "current_page": page,
            "total_pages": -(-result.total // per_page),
            "total_count": result.total,
            "per_page": per_page,
        }
        return Reply(200, {"data": list(result.items), "meta": meta}, faults=result.labels)

    async def purchase(self, request: Request, context: RequestContext) -> Reply:
        sb = self.sandbox
        self._authorize(request)
        if self.read_only_key:
            return _error(403, "Write permission required")
        payload, phone, group = _purchase_request(context)
        record = context.claim(sb.record_by_e164(phone))
        if record is None:
            return _errors("phone_number is not available")
        if record.country in self.regulated and group is None:
            return _errors(f"Requirement group is required to purchase numbers in {record.country}")
        context.commit(record, upfront=record.upfront, monthly=record.monthly, currency=record.currency)
        name = payload.get("name")
        number = {
            "id": 5000 + len(self.numbers) + 1,
            "phone_number": record.e164,
            "name": name if isinstance(name, str) else None,
            "country_code": record.country,
            "active": True,
            "recording": True,
            "ai_receptionist_enabled": False,
            "operators": [],
            "operators_count": 0,
        }
        self.numbers.append(number)
        return Reply(201, {"data": number})


# --------------------------------------------------------------------------------------------
# Inventory
# --------------------------------------------------------------------------------------------


def _inventory(seed: int, size: int) -> list[SandboxRecord]:
    rng = random.Random(f"identitycall:{seed}:inventory")
    everything_shared = shared_numbers(seed)
    exclude = {s.e164 for s in everything_shared}
    specials = _defects(rng, exclude) + [_shared(rng, s) for s in everything_shared if LANE in s.lanes]
    specials = specials[:size]

    def regular(number: GeneratedNumber) -> SandboxRecord:
        upfront, monthly = _prices(rng, number.number_type)
        return _record(rng, number, number.country, number.number_type, upfront, monthly)

    return bucketed_inventory(
        rng, BUCKETS, size - len(specials), regular, specials=specials, lane=LANE, exclude=exclude
    )


def _prices(rng: random.Random, number_type: str) -> tuple[Decimal, Decimal]:
    low, high = _RANGES[number_type]
    monthly = draw_money(rng, low, high, step=rng.choice(("0.01", "0.05", "0.25", "0.005")))
    upfront = Decimal(rng.choice(("0", "0.50", "1.00", "1.00")))
    return upfront, monthly


def _text(rng: random.Random, amount: Decimal) -> str:
    return f"{amount:.4f}" if rng.random() < 0.25 or amount.as_tuple().exponent == -3 else f"{amount:.2f}"


def _entry(
    rng: random.Random,
    number: GeneratedNumber,
    country: str,
    number_type: str,
    *,
    upfront: Any,
    monthly: Any,
    shape: str | None = None,
    currency: str | None = None,
    with_country: bool | None = None,
) -> tuple[dict[str, Any], str | None]:
    """Build one entry, in the flat or the Telnyx shape (drawn when not given).

    ``currency`` and ``with_country`` (whether it carries ``country_code``) are drawn when not given.

    Returns:
        The entry and the currency it states (None when it states none).
    """
    shape = shape or ("flat" if rng.random() < 0.5 else "telnyx")
    build = _flat_entry if shape == "flat" else _telnyx_entry
    return build(rng, _Listed(number, country, number_type, upfront, monthly, currency, with_country))


@dataclass(frozen=True)
class _Listed:
    """What one entry lists: the number under a country and type, its costs as served, and what to draw."""

    number: GeneratedNumber
    country: str
    number_type: str
    upfront: Any
    monthly: Any
    currency: str | None
    """The currency to state; None: drawn."""
    with_country: bool | None
    """Whether the entry carries ``country_code``; None: drawn."""


def _flat_entry(rng: random.Random, listed: _Listed) -> tuple[dict[str, Any], str | None]:
    """IdentityCall's own shape: decimal-string costs, string features, a top-level currency in a few."""
    number = listed.number
    entry: dict[str, Any] = {"phone_number": number.e164}
    if _given_or_drawn(rng, listed.with_country, 0.85):
        entry["country_code"] = listed.country
    if rng.random() < 0.85:
        entry["number_type"] = listed.number_type
    entry["upfront_cost"], entry["monthly_cost"] = listed.upfront, listed.monthly
    entry["features"] = list(_FEATURES[listed.number_type])
    region_type = "state" if number.country in ("US", "CA") else "location"
    entry["region_information"] = [{"region_type": region_type, "region_name": number.area}] if number.area else []
    stated = listed.currency
    if stated is None and rng.random() < 0.3:
        stated = rng.choice(("USD", "USD", "EUR"))
    if stated is not None:
        entry["currency"] = stated
    return entry, stated


def _telnyx_entry(rng: random.Random, listed: _Listed) -> tuple[dict[str, Any], str | None]:
    """Telnyx's available-number record, passed through: ``cost_information`` and feature objects."""
    number = listed.number
    stated = listed.currency or ("EUR" if number.country in ("DE", "NL") and rng.random() < 0.3 else "USD")
    regions = [{"region_type": "country_code", "region_name": number.country}]
    if number.area:
        area_type = "rate_center" if number.country in ("US", "CA") else "location"
        regions.append({"region_type": area_type, "region_name": number.area})
    entry = {
        "record_type": "available_phone_number",
        "phone_number": number.e164,
        "vanity_format": "",
        "best_effort": rng.random() < 0.1,
        "quickship": rng.random() < 0.6,
        "reservable": rng.random() < 0.7,
        "region_information": regions,
        "cost_information": {"upfront_cost": listed.upfront, "monthly_cost": listed.monthly, "currency": stated},
        "features": [{"name": name} for name in [*_FEATURES[listed.number_type], "emergency"]],
    }
    if _given_or_drawn(rng, listed.with_country, 0.3):
        entry["country_code"] = listed.country
    return entry, stated


def _given_or_drawn(rng: random.Random, given: bool | None, chance: float) -> bool:
    """``given`` when it is given, else true with probability ``chance``."""
    return given if given is not None else rng.random() < chance


def _record(
    rng: random.Random,
    number: GeneratedNumber,
    country: str,
    number_type: str,
    upfront: Decimal,
    monthly: Decimal,
    *,
    shared: bool = False,
) -> SandboxRecord:
    raw, currency = _entry(
        rng,
        number,
        country,
        number_type,
        upfront=_text(rng, upfront),
        monthly=_text(rng, monthly),
        currency="USD" if shared else None,
    )
    return SandboxRecord(
        offer_id=number.e164,
        e164=number.e164,
        country=country,
        expected_valid=True,
        defect=None,
        raw=raw,
        number_type=number_type,
        region=number.area,
        monthly=monthly,
        upfront=upfront,
        currency=currency,
        shared=shared,
    )


def _shared(rng: random.Random, shared: SharedNumber) -> SandboxRecord:
    return _record(rng, shared.number, shared.country, shared.number_type, shared.upfront, shared.monthly, shared=True)


def _defects(rng: random.Random, exclude: set[str]) -> list[SandboxRecord]:
    def draw(region: str, type_name: str) -> GeneratedNumber:
        return draw_number(rng, region, type_name, lane=LANE, exclude=exclude)

    def defect(
        number: GeneratedNumber,
        bucket: tuple[str, str],
        tag: str,
        *,
        upfront: Any = "1.00",
        monthly: Any = "1.00",
        shape: str = "flat",
        with_country: bool = True,
    ) -> SandboxRecord:
        raw, currency = _entry(
            rng,
            number,
            bucket[0],
            bucket[1],
            upfront=upfront,
            monthly=monthly,
            shape=shape,
            currency="USD",
            with_country=with_country,
        )
        return SandboxRecord(
            offer_id=number.e164,
            e164=number.e164,
            country=bucket[0],
            expected_valid=False,
            defect=tag,
            raw=raw,
            number_type=bucket[1],
            region=number.area,
            currency=currency,
        )

    us_mobile, us_local = ("US", "mobile"), ("US", "local")
    return [
        # The documentation's own example number: +1 555 is not a NANP area code.
        defect(GeneratedNumber("+15551234567", "US", "mobile", "CA"), us_mobile, "invalid_number"),
        defect(GeneratedNumber("+44207", "GB", "local", "London"), ("GB", "local"), "too_short"),
        # A Canadian number that says it is American.
        defect(draw("CA", "local"), us_local, "country_mismatch"),
        # A British mobile without country_code in a US answer: the request's US does not fit it.
        defect(draw("GB", "mobile"), us_mobile, "country_mismatch", with_country=False),
        defect(draw("US", "mobile"), us_mobile, "negative_price", monthly="-1.00"),
        defect(draw("GB", "mobile"), ("GB", "mobile"), "garbage_price", upfront="abc"),
        defect(draw("DE", "local"), ("DE", "local"), "garbage_price", monthly="1,50", shape="telnyx"),
        defect(draw("US", "local"), us_local, "nan_price", monthly="NaN"),
        defect(draw("NL", "mobile"), ("NL", "mobile"), "nan_price", monthly="Infinity", shape="telnyx"),
    ]


def _owned_numbers(seed: int, count: int, taken: set[str]) -> list[dict[str, Any]]:
    """The account's numbers before anything is bought (ids from 1001; bought ones from 5001)."""
    rng = random.Random(f"identitycall:{seed}:owned")
    exclude = taken | {s.e164 for s in shared_numbers(seed)}
    mix = [(country, type_name, 1.0) for country, type_name in BUCKETS]
    numbers = []
    for index, number in enumerate(draw_numbers(rng, mix, count, lane=LANE, exclude=exclude)):
        operators = 0 if index == 1 else rng.randint(1, 5)  # the second rings nobody
        numbers.append(
            {
                "id": 1001 + index,
                "phone_number": number.e164,
                "name": f"Line {index + 1}",
                "country_code": number.country,
                "active": index != 2,  # the third is switched off
                "ai_receptionist_enabled": index % 4 == 0,
                "operators": [{"id": 70 + k, "name": f"Operator {k + 1}"} for k in range(min(operators, 3))],
                "operators_count": operators,
            }
        )
    return numbers
