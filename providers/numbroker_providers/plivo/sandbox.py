"""Plivo emulator: phone-number search, buying a number, one owned number and the owned list.

Speaks ``https://api.plivo.com/v1`` (``base_path="/v1"``) as Plivo's SDKs and docs describe it (the sources
are listed in :mod:`numbroker_providers.plivo._adapter`); every path ends with a slash:

* every request: HTTP Basic (auth id, auth token), and the path's auth id must be the Basic user: else 401;
* ``GET /v1/Account/{auth_id}/PhoneNumber/``: ``country_iso`` (required), ``type`` (``fixed``, ``mobile``,
  ``tollfree``, ``any``; ``local`` is read as ``fixed``; default ``any``), ``pattern`` (digits after the
  country code), ``region`` (part of the region or city), ``services`` (comma-joined ``voice``, ``sms``,
  ``mms``: all required), ``limit`` (1–20, default 20), ``offset`` (records, default 0); anything else out
  of range is 400. Answers ``{api_id, meta: {limit, next, offset, previous, total_count}, objects}``
  where ``next``/``previous`` are paths relative to the host or null. Records carry ``number`` as digits
  without ``+``, ``country`` as an upper-case *name* (``"UNITED STATES"``), ``region`` as the country's
  name or ``"<area>, <COUNTRY>"``, ``type``/``sub_type``, five-place decimal-string rates in USD (no
  currency field), the three ``*_enabled`` flags (``mms_enabled`` missing from some, as in the Python
  SDK's fixture), ``lata`` (an integer, a digit string in a few), ``restriction``/``restriction_text``.
* ``POST /v1/Account/{auth_id}/PhoneNumber/{number}/``: 201 ``{api_id, message: "created", numbers:
  [{number, status}], status: "fulfilled"}``; the number's status is ``Success``, or ``pending`` for a
  restricted number or one of ``verification_countries`` (it joins the account inactive, awaiting
  documents); 404 ``{"error": "not found"}`` for a number that is not for sale (or lost to a race). With
  ``substitute=True`` Plivo assigns another number of the same country and type, and says so only by
  the number in its answer.
* ``GET /v1/Account/{auth_id}/Number/{number}/``: one owned number (``active`` false while pending), 404
  ``{"error": "not found"}`` otherwise; ``GET /v1/Account/{auth_id}/Number/``: the owned list, by
  ``limit`` (1–20) and ``offset``, in the same envelope as the search. Both show a bought number only
  ``Faults.owned_list_lag_seconds`` after its purchase committed (until then it is not found).
* ``DELETE /v1/Account/{auth_id}/Number/{number}/``: gives the number back at once, 204 with no body; 404
  ``{"error": "not found"}`` for a number the account does not hold. A purchase-kind endpoint (the
  ambiguous knobs and holds apply); ``Faults.release_list_lag_seconds`` keeps it listed as it was.

Errors are ``{"api_id": ..., "error": "..."}``. The inventory is deterministic per seed, includes the
shared US numbers of :func:`numbroker.sandbox.shared_numbers` (at Plivo's own price) and a set of
deliberate defects (see :func:`_defects`).
"""

from __future__ import annotations

__all__ = ["BASE_PATH", "COUNTRY_NAMES", "DEFAULT_AUTH_ID", "DEFAULT_SIZE", "MAX_LIMIT", "create_app"]

import hashlib
import hmac
import random
import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode

import phonenumbers

from numbroker.sandbox import (
    Faults,
    GeneratedNumber,
    Refused,
    Reply,
    Sandbox,
    SandboxRecord,
    basic_auth,
    draw_money,
    draw_number,
    draw_numbers,
    shared_numbers,
)

if TYPE_CHECKING:
    from starlette.datastructures import QueryParams
    from starlette.requests import Request
    from starlette.routing import Route

    from numbroker.sandbox import RequestContext, SharedNumber

BASE_PATH: Final = "/v1"
DEFAULT_AUTH_ID: Final = "MASANDBOX0PLIVO0AUTH"
DEFAULT_SIZE: Final = 160
"""Listed records when ``size`` is not given (the US needs several 20-record pages)."""
MAX_LIMIT: Final = 20
DEFAULT_OWNED: Final = 8
"""Numbers ``numbroker owned --sandbox`` starts the account with (each quirk once)."""
SUB_ACCOUNT: Final = "SAZJNDYWMWNDZKMTJKNZ"
"""The sandbox account's subaccount."""
COUNTRY_NAMES: Final[Mapping[str, str]] = {
    "US": "UNITED STATES",
    "CA": "CANADA",
    "GB": "UNITED KINGDOM",
    "DE": "GERMANY",
    "NL": "NETHERLANDS",
}
"""The countries in stock and the names Plivo writes for them."""

_MIX: Final[tuple[tuple[str, str, float], ...]] = (
    ("US", "local", 30),
    ("US", "toll-free", 6),
    ("CA", "local", 6),
    ("GB", "local", 8),
    ("GB", "mobile", 6),
    ("GB", "national", 2),
    ("DE", "local", 5),
    ("NL", "local", 3),
    ("NL", "mobile", 2),
)
_RANGES: Final = {
    "local": ("0.50", "1.50"),
    "mobile": ("2.00", "6.00"),
    "toll-free": ("1.00", "2.50"),
    "national": ("1.50", "4.00"),
}
_WIRE_TYPES: Final = {
    "local": ("fixed", "local"),
    "national": ("fixed", "national"),
    "mobile": ("mobile", "mobile"),
    "toll-free": ("tollfree", "tollfree"),
}
_TYPE_FILTER: Final = {
    "any": frozenset(_WIRE_TYPES),
    "fixed": frozenset({"local", "national"}),
    "local": frozenset({"local", "national"}),
    "mobile": frozenset({"mobile"}),
    "tollfree": frozenset({"toll-free"}),
}
_CITIES: Final = {
    "NY": "NEW YORK",
    "CA": "SAN FRANCISCO",
    "IL": "CHICAGO",
    "FL": "MIAMI",
    "TX": "AUSTIN",
    "WA": "SEATTLE",
    "MA": "BOSTON",
    "GA": "ATLANTA",
    "ON": "TORONTO",
    "BC": "VANCOUVER",
    "QC": "MONTREAL",
}
_RESTRICTIONS: Final = {
    "city-address": "A proof of address within the city of the number is required.",
    "country-address": "A proof of address within the country of the number is required.",
}
_SERVICES: Final = {"voice": "voice_enabled", "sms": "sms_enabled", "mms": "mms_enabled"}
_DIGITS: Final = re.compile(r"\d{1,15}")


def create_app(
    *,
    seed: int = 0,
    faults: Faults | None = None,
    size: int | None = None,
    auth_id: str = DEFAULT_AUTH_ID,
    verification_countries: Iterable[str] = ("DE",),
    substitute: bool = False,
    owned: int = 0,
) -> Sandbox:
    """Build a Plivo sandbox.

    Args:
        seed: Inventory seed (same seed, same inventory).
        faults: Fault knobs (default: none).
        size: Number of listed records (default :data:`DEFAULT_SIZE`).
        auth_id: The account Auth ID (also the path segment every URL carries).
        verification_countries: Countries whose numbers are bought ``pending`` (awaiting documents), as
            restricted numbers are anywhere.
        substitute: Purchases assign another available number of the same country and type.
        owned: Numbers the account owns before anything is bought (0..100,000; the quirks first:
            subaccount numbers, unrouted numbers, renewals within days, one without a rental rate, one
            inactive). ``sandbox.options["owned"]`` is the live list.

    Returns:
        The sandbox; ``env`` holds ``PLIVO_AUTH_ID`` and ``PLIVO_AUTH_TOKEN``.

    Raises:
        ValueError: ``size`` is negative.
    """
    if size is not None and size < 0:
        raise ValueError("size must not be negative")
    if not 0 <= owned <= 100_000:
        raise ValueError("owned must be 0..100000")
    records = _inventory(seed, DEFAULT_SIZE if size is None else size, auth_id)
    token = "sandbox-token-" + hashlib.sha256(f"plivo:{seed}:token".encode()).hexdigest()[:24]
    countries = frozenset(c.upper() for c in verification_countries)
    sandbox = Sandbox(
        name="plivo",
        seed=seed,
        base_path=BASE_PATH,
        env={"PLIVO_AUTH_ID": auth_id, "PLIVO_AUTH_TOKEN": token},
        records=records,
        error_reply=_error_reply,
        faults=faults,
        options={"verification_countries": sorted(countries), "substitute": substitute},
    )
    plivo = _Plivo(sandbox, auth_id, token, countries, substitute)
    for entry in _owned_entries(seed, owned, auth_id, {r.e164 for r in records}):
        plivo.numbers[entry["number"]] = entry
    sandbox.options["owned"] = plivo.numbers
    sandbox.build(plivo.routes())
    return sandbox


# --------------------------------------------------------------------------------------------
# Wire behaviour
# --------------------------------------------------------------------------------------------


def _error(sandbox: Sandbox, status: int, message: str) -> Reply:
    return Reply(status, {"api_id": sandbox.new_uuid(), "error": message})


def _error_reply(sandbox: Sandbox, status: int, message: str) -> Reply:
    defaults = {429: "too many requests", 500: "internal server error", 503: "service unavailable"}
    return _error(sandbox, status, message or defaults.get(status, "request failed"))


def _int_param(request: Request, name: str, default: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    return int(raw) if raw.isdigit() else None


_TYPES_MESSAGE: Final = "type must be one of fixed, mobile, tollfree, any"
_SERVICES_MESSAGE: Final = "services must be a comma-separated list of voice, sms, mms"


@dataclass(frozen=True)
class _Search:
    """A search's filters, as Plivo reads them."""

    country: str
    kind: str
    pattern: str
    services: tuple[str, ...]
    region: str
    """Upper-cased text the record's region or city must contain (empty: any)."""

    @classmethod
    def read(cls, sandbox: Sandbox, query: QueryParams) -> _Search:
        """The filters of a search request, checked in Plivo's order.

        Raises:
            Refused: A 400 saying what is wrong with the first parameter Plivo refuses.
        """
        country = (query.get("country_iso") or "").strip().upper()
        if len(country) != 2:
            raise Refused(_error(sandbox, 400, "country_iso is required: an ISO 3166-1 alpha-2 code"))
        kind = (query.get("type") or "any").strip().lower()
        if kind not in _TYPE_FILTER:
            raise Refused(_error(sandbox, 400, _TYPES_MESSAGE))
        pattern = query.get("pattern") or ""
        if pattern and not _DIGITS.fullmatch(pattern):
            raise Refused(_error(sandbox, 400, "pattern must be digits"))
        services = tuple(s.strip().lower() for s in (query.get("services") or "").split(",") if s.strip())
        if any(s not in _SERVICES for s in services):
            raise Refused(_error(sandbox, 400, _SERVICES_MESSAGE))
        return cls(country, kind, pattern, services, (query.get("region") or "").strip().upper())

    @property
    def key(self) -> Hashable:
        """The filters as a key of :meth:`Sandbox.view`."""
        return ("search", self.country, self.kind, self.pattern, self.services, self.region)

    def matches(self, record: SandboxRecord) -> bool:
        """Whether the record is of the country and type asked for, starts with the pattern, and has the services."""
        raw = record.raw
        start = f"+{phonenumbers.country_code_for_region(self.country)}{self.pattern}"
        return (
            record.country == self.country
            and (record.number_type or "") in _TYPE_FILTER[self.kind]
            and record.e164.startswith(start)
            and all(raw.get(_SERVICES[s]) is True for s in self.services)
            and (not self.region or any(self._names_region(raw, key) for key in ("region", "city")))
        )

    def _names_region(self, raw: Mapping[str, Any], key: str) -> bool:
        value = raw.get(key)
        return isinstance(value, str) and self.region in value.upper()


class _Plivo:
    def __init__(
        self, sandbox: Sandbox, auth_id: str, token: str, verification: frozenset[str], substitute: bool
    ) -> None:
        self.sandbox = sandbox
        self.auth_id = auth_id
        self.token = token
        self.verification = verification
        self.substitute = substitute
        self.numbers: dict[str, dict[str, Any]] = {}
        """Owned numbers by digits, in the order bought."""
        self.released: dict[str, dict[str, Any]] = {}
        """Numbers given back, by digits (the owned list shows them as they were during its release lag)."""

    def routes(self) -> list[Route]:
        sb = self.sandbox
        account = f"{BASE_PATH}/Account/{{auth_id}}"
        return [
            sb.route(f"{account}/PhoneNumber/", self.search, name="search"),
            sb.purchase_route(f"{account}/PhoneNumber/{{number}}/", self.purchase),
            sb.route(f"{account}/Number/", self.owned, name="owned"),
            sb.route(f"{account}/Number/{{number}}/", self.owned_number, name="owned_number"),
            sb.route(f"{account}/Number/{{number}}/", self.release, methods=("DELETE",), kind="purchase"),
        ]

    def _authorize(self, request: Request) -> None:
        scheme, user, password = basic_auth(request)
        if (
            scheme.lower() != "basic"
            or user != self.auth_id
            or request.path_params["auth_id"] != user
            or not hmac.compare_digest(password.encode(), self.token.encode())
        ):
            raise Refused(_error(self.sandbox, 401, "Authentication failed"))

    def _slice(self, request: Request) -> tuple[int, int]:
        """The ``limit`` and ``offset`` of a listing (400 unless 1 to :data:`MAX_LIMIT` and a non-negative integer)."""
        limit = _int_param(request, "limit", MAX_LIMIT)
        offset = _int_param(request, "offset", 0)
        if limit is None or not 1 <= limit <= MAX_LIMIT:
            raise Refused(_error(self.sandbox, 400, f"limit must be an integer between 1 and {MAX_LIMIT}"))
        if offset is None:
            raise Refused(_error(self.sandbox, 400, "offset must be a non-negative integer"))
        return limit, offset

    def _listing(self, request: Request, items: list[Any], limit: int, offset: int) -> tuple[dict[str, Any], list[str]]:
        """The list envelope for ``items[offset:offset+limit]``, with ``Faults.lying_total`` applied."""
        chunk = items[offset : offset + limit]
        lie = self.sandbox.faults.lying_total
        total, faults = (lie, ["lying_total"]) if lie is not None and lie != len(items) else (len(items), [])
        others = [(k, v) for k, v in request.query_params.multi_items() if k not in ("limit", "offset")]

        def link(at: int) -> str:
            return f"{request.url.path}?{urlencode([('limit', limit), ('offset', at), *others])}"

        meta = {
            "limit": limit,
            "next": link(offset + limit) if offset + limit < total else None,
            "offset": offset,
            "previous": link(max(0, offset - limit)) if offset > 0 else None,
            "total_count": total,
        }
        return {"api_id": self.sandbox.new_uuid(), "meta": meta, "objects": chunk}, faults

    async def search(self, request: Request, context: RequestContext) -> Reply:
        self._authorize(request)
        query = _Search.read(self.sandbox, request.query_params)
        limit, offset = self._slice(request)
        items = self.sandbox.view(query.key, query.matches)
        body, faults = self._listing(request, [r.raw for r in items], limit, offset)
        return Reply(200, body, offer_ids=tuple(r.offer_id for r in items[offset : offset + limit]), faults=faults)

    async def purchase(self, request: Request, context: RequestContext) -> Reply:
        sb = self.sandbox
        self._authorize(request)
        self._check_body(context)
        digits = request.path_params["number"]
        record = context.claim(sb.record_by_e164("+" + digits) if _DIGITS.fullmatch(digits) else None)
        if record is None:
            return _error(sb, 404, "not found")
        if self.substitute:
            record = self._substitute(record)
        raw = record.raw
        pending = raw.get("restriction") is not None or record.country in self.verification
        context.commit(
            record,
            upfront=_charged(raw.get("setup_rate")),
            monthly=_charged(raw.get("monthly_rental_rate")),
            currency="USD",
        )
        assigned = record.e164[1:]
        self.numbers[assigned] = self._owned_entry(record, active=not pending)
        return Reply(
            201,
            {
                "api_id": sb.new_uuid(),
                "message": "created",
                "numbers": [{"number": assigned, "status": "pending" if pending else "Success"}],
                "status": "fulfilled",
            },
        )

    def _check_body(self, context: RequestContext) -> None:
        """A purchase's body, when it has one, must be a JSON object (400)."""
        if not context.body.strip():
            return
        try:
            payload = context.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise Refused(_error(self.sandbox, 400, "the request body must be a JSON object"))

    def _substitute(self, asked: SandboxRecord) -> SandboxRecord:
        """Another available, valid number of the same country and type (the one asked when there is none)."""
        others = self.sandbox.view(
            ("substitute", asked.country, asked.number_type),
            lambda r: r.expected_valid and r.country == asked.country and r.number_type == asked.number_type,
        )
        return next((r for r in others if r.offer_id != asked.offer_id), asked)

    def _owned_entry(self, record: SandboxRecord, *, active: bool) -> dict[str, Any]:
        raw = record.raw
        today = datetime.now(UTC).date()
        digits = record.e164[1:]
        return {
            "added_on": today.isoformat(),
            "active": active,
            "alias": None,
            "application": None,
            "carrier": "Plivo",
            "city": raw.get("city"),
            "country": COUNTRY_NAMES.get(record.country, record.country).title(),
            "monthly_rental_rate": raw.get("monthly_rental_rate"),
            "number": digits,
            "number_type": {"toll-free": "tollfree"}.get(record.number_type or "", record.number_type),
            "region": raw.get("region"),
            "renewal_date": (today + timedelta(days=30)).isoformat(),
            "resource_uri": f"{BASE_PATH}/Account/{self.auth_id}/Number/{digits}/",
            "sms_enabled": raw.get("sms_enabled") is True,
            "voice_enabled": raw.get("voice_enabled") is True,
            "mms_enabled": raw.get("mms_enabled") is True,
            "sub_account": None,
        }

    async def owned_number(self, request: Request, context: RequestContext) -> Reply:
        self._authorize(request)
        entry = self.numbers.get(request.path_params["number"])
        if entry is None or not self._listed([entry]):
            return _error(self.sandbox, 404, "not found")
        return Reply(200, {"api_id": self.sandbox.new_uuid(), **entry})

    async def release(self, request: Request, context: RequestContext) -> Reply:
        """``DELETE Number/{number}/``: 204, the number gone at once (the owned list may lag behind it)."""
        self._authorize(request)
        digits = request.path_params["number"]
        entry = self.numbers.get(digits)
        if entry is None:
            return _error(self.sandbox, 404, "not found")
        self.released[digits] = self.numbers.pop(digits)
        context.commit_release("+" + digits, "released")
        return Reply(204, text="")

    async def owned(self, request: Request, context: RequestContext) -> Reply:
        self._authorize(request)
        body, faults = self._listing(request, self._listed(list(self.numbers.values())), *self._slice(request))
        return Reply(200, body, faults=faults)

    def _listed(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The owned entries past their owned-list lag, and those given back still within their release lag."""
        lagging = [e for d, e in self.released.items() if self.sandbox.release_lagging("+" + d)]
        return self.sandbox.listed(entries + lagging, lambda entry: "+" + entry["number"])


def _charged(value: Any) -> Decimal | None:
    """A rate as charged (garbage and negatives charge nothing)."""
    if not isinstance(value, str):
        return None
    try:
        amount = Decimal(value)
    except ArithmeticError:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


# --------------------------------------------------------------------------------------------
# Inventory
# --------------------------------------------------------------------------------------------


def _rate(amount: Decimal) -> str:
    return f"{amount:.5f}"


def _item(
    rng: random.Random, number: GeneratedNumber, auth_id: str, *, setup: Any, monthly: Any, region: str | None
) -> dict[str, Any]:
    """One search record as Plivo writes it; ``region`` is the area the region names (or None)."""
    name = COUNTRY_NAMES[number.country]
    digits = number.e164[1:]
    national = digits[len(str(phonenumbers.country_code_for_region(number.country))) :]
    type_name, sub_type = _WIRE_TYPES[number.number_type]
    sms = number.number_type in ("local", "mobile") or (number.number_type == "toll-free" and rng.random() < 0.5)
    city, rate_center, lata = _geography(rng, number)
    raw: dict[str, Any] = {
        "number": digits,
        "prefix": national[:3],
        "city": city,
        "country": name,
        "region": f"{region}, {name}" if region else name.title(),
        "rate_center": rate_center,
        "lata": lata,
        "type": type_name,
        "sub_type": sub_type,
        "setup_rate": setup,
        "monthly_rental_rate": monthly,
        "sms_enabled": sms,
        "sms_rate": "0.00000" if sms else None,
        "voice_enabled": True,
        "voice_rate": _rate(draw_money(rng, "0.00300", "0.01000", step="0.00050")),
        "restriction": None,
        "restriction_text": None,
        "resource_uri": f"{BASE_PATH}/Account/{auth_id}/PhoneNumber/{digits}/",
    }
    if rng.random() < 0.7:  # the Python SDK's fixture has no mms_enabled; the Go SDK's record has one
        raw["mms_enabled"] = number.country in ("US", "CA") and sms and rng.random() < 0.6
        raw["mms_rate"] = "0.00000" if raw["mms_enabled"] else None
    if lata is not None and rng.random() < 0.1:
        raw["lata"] = str(lata)  # the docs' table types lata as a string
    return raw


def _geography(rng: random.Random, number: GeneratedNumber) -> tuple[str | None, str | None, int | None]:
    """A local number's city, and in the US and CA its rate center and LATA (None for other types)."""
    if number.number_type != "local":
        return None, None, None
    if number.country not in ("US", "CA"):
        return (number.area or "").upper() or None, None, None
    city = _CITIES.get(number.area or "")
    return city, f"{(city or 'CNTRL')[:8]} {rng.randint(1, 9)}", rng.randint(120, 980)


def _record(
    rng: random.Random,
    number: GeneratedNumber,
    auth_id: str,
    setup: Decimal,
    monthly: Decimal,
    *,
    shared: bool = False,
) -> SandboxRecord:
    named = number.area if number.number_type == "local" and number.area and rng.random() < 0.4 else None
    raw = _item(rng, number, auth_id, setup=_rate(setup), monthly=_rate(monthly), region=named)
    if number.country == "GB" and number.number_type == "local" and rng.random() < 0.25:
        restriction = rng.choice(sorted(_RESTRICTIONS))
        raw["restriction"], raw["restriction_text"] = restriction, _RESTRICTIONS[restriction]
    return SandboxRecord(
        offer_id=number.e164,
        e164=number.e164,
        country=number.country,
        expected_valid=True,
        defect=None,
        raw=raw,
        number_type=number.number_type,
        region=named,
        monthly=Decimal(raw["monthly_rental_rate"]),
        upfront=Decimal(raw["setup_rate"]),
        currency=None,
        shared=shared,
    )


def _inventory(seed: int, size: int, auth_id: str) -> list[SandboxRecord]:
    rng = random.Random(f"plivo:{seed}:inventory")
    everything_shared = shared_numbers(seed)
    exclude = {s.e164 for s in everything_shared}
    specials = _defects(rng, auth_id, exclude) + [
        _shared(rng, s, auth_id) for s in everything_shared if s.country == "US"
    ]
    specials = specials[:size]
    records: list[SandboxRecord] = []
    for number in draw_numbers(rng, _MIX, size - len(specials), exclude=exclude):
        low, high = _RANGES[number.number_type]
        step = rng.choice(("0.05", "0.10", "0.005"))
        monthly = draw_money(rng, low, high, step=step)
        setup = Decimal(rng.choice(("0", "0", "0", "0", "1", "5", "0.5")))
        records.append(_record(rng, number, auth_id, setup, monthly))
    records += specials
    rng.shuffle(records)
    return records


def _shared(rng: random.Random, shared: SharedNumber, auth_id: str) -> SandboxRecord:
    monthly = (shared.monthly * Decimal("0.95")).quantize(Decimal("0.00001"))
    return _record(rng, shared.number, auth_id, shared.upfront, monthly, shared=True)


def _defects(rng: random.Random, auth_id: str, exclude: set[str]) -> list[SandboxRecord]:
    """Records a correct adapter must reject, each tagged with what is wrong."""

    def draw(region: str, type_name: str) -> GeneratedNumber:
        return draw_number(rng, region, type_name, exclude=exclude)

    def defect(number: GeneratedNumber, tag: str, *, listed: str | None = None, **fields: Any) -> SandboxRecord:
        raw = _item(rng, number, auth_id, setup="0.00000", monthly="0.80000", region=None)
        raw.update(fields)
        return SandboxRecord(
            offer_id=number.e164,
            e164=number.e164,
            country=listed or number.country,
            expected_valid=False,
            defect=tag,
            raw=raw,
            number_type=number.number_type,
            region=None,
        )

    canada = draw("CA", "local")
    us = GeneratedNumber("+15550001234", "US", "local", "CA")
    return [
        # +1 555 is not a NANP area code: the placeholder numbers of the docs.
        defect(us, "invalid_number"),
        defect(GeneratedNumber("+1212555", "US", "local", "NY"), "too_short"),
        # A Canadian number listed as a US one, named UNITED STATES: the number gives it away.
        defect(canada, "country_mismatch", listed="US", country=COUNTRY_NAMES["US"]),
        # A US number whose country name is another country's.
        defect(draw("US", "local"), "country_name", country=COUNTRY_NAMES["CA"]),
        defect(draw("GB", "local"), "negative_price", monthly_rental_rate="-0.80000"),
        defect(draw("GB", "mobile"), "garbage_price", monthly_rental_rate="abc"),
        defect(draw("DE", "local"), "typed_price", monthly_rental_rate=0.8),
        defect(draw("US", "toll-free"), "nan_price", setup_rate="NaN"),
        defect(draw("NL", "local"), "garbage_flag", sms_enabled="true"),
        defect(draw("US", "local"), "garbage_lata", lata="N/A"),
    ]


# --------------------------------------------------------------------------------------------
# Owned numbers before anything is bought
# --------------------------------------------------------------------------------------------

# (renewal in days or None, routed, subaccount, priced, active)
_OWNED_QUIRKS: Final[tuple[tuple[int | None, bool, bool, bool, bool], ...]] = (
    (20, True, False, True, True),
    (4, True, False, True, True),  # renews within days
    (40, False, False, True, True),  # unrouted: no application
    (11, False, True, True, True),  # a subaccount's, unrouted, renewing soon
    (25, True, True, True, True),
    (18, True, False, False, True),  # no rental rate stated
    (None, True, False, True, True),  # no renewal date
    (9, True, False, True, False),  # inactive (awaiting verification)
)


def _owned_entries(seed: int, count: int, auth_id: str, taken: set[str]) -> list[dict[str, Any]]:
    """The account's numbers before anything is bought, shaped like Plivo's owned-number fixtures."""
    rng = random.Random(f"plivo:{seed}:owned")
    today = datetime.now(UTC).date()
    exclude = taken | {s.e164 for s in shared_numbers(seed)}
    entries = []
    for index, number in enumerate(draw_numbers(rng, _MIX, count, exclude=exclude)):
        if index < len(_OWNED_QUIRKS):
            days, routed, sub, priced, active = _OWNED_QUIRKS[index]
        else:
            days, routed, sub, priced, active = rng.randint(1, 31), True, False, True, True
        digits = number.e164[1:]
        wire_type = _WIRE_TYPES[number.number_type][1]
        low, high = _RANGES[number.number_type]
        entry: dict[str, Any] = {
            "added_on": (today - timedelta(days=rng.randint(30, 900))).isoformat(),
            "active": active,
            "alias": None,
            "application": f"{BASE_PATH}/Account/{auth_id}/Application/{rng.randint(10**7, 10**8 - 1)}/"
            if routed
            else None,
            "carrier": "Plivo",
            "city": _CITIES.get(number.area or "", ""),
            "country": COUNTRY_NAMES.get(number.country, number.country).title(),
            "monthly_rental_rate": _rate(draw_money(rng, low, high, step="0.05")),
            "number": digits,
            "number_type": wire_type,
            "region": number.area or "",
            "renewal_date": None if days is None else (today + timedelta(days=days)).isoformat(),
            "resource_uri": f"{BASE_PATH}/Account/{auth_id}/Number/{digits}/",
            "sms_enabled": number.number_type == "mobile",
            "voice_enabled": True,
            "mms_enabled": False,
            "sub_account": SUB_ACCOUNT if sub else None,
        }
        if not priced:
            del entry["monthly_rental_rate"]
        entries.append(entry)
    return entries
