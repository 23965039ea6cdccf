"""Vonage emulator: number search, buying and cancelling a number and the owned list, at ``https://rest.nexmo.com``.

Speaks the Numbers API as its definition describes it (``Nexmo/api-specification``
``definitions/numbers.yml``), with the behaviour the SDK and its fixtures show (``Vonage/vonage-python-sdk``
``number_management/``) and the paging reported in ``Vonage/vonage-node-sdk#928`` (``base_path=""``):

* auth: ``Authorization: Basic base64(api_key:api_secret)`` (the SDK) or ``api_key``/``api_secret``
  query parameters (the spec); anything else is 401 ``{"error-code": "401", "error-code-label":
  "authentication failed"}``.
* ``GET /number/search``: ``country`` (required), ``type`` (``landline``, ``mobile-lvn``,
  ``landline-toll-free``), ``features`` (comma-joined ``SMS``/``VOICE``/``MMS``, all required),
  ``pattern`` + ``search_pattern`` (0 starts with, on the number with its country code; 1 contains;
  2 ends with; default 0), ``size`` (default 10, at most 100) and ``index`` (a page number from 1).
  Answers ``{"count", "numbers": [{"country", "msisdn", "cost", "type", "features"}]}``, the numbers
  without ``+`` and ``cost`` a decimal string (monthly, EUR; no currency field); an empty page (nothing
  matches, or an ``index`` past the end) is ``{}``.
* ``POST /number/buy``, form-encoded ``country`` and ``msisdn`` (a JSON body is not read): 200
  ``{"error-code": "200", "error-code-label": "success"}``; a number not for sale (unknown, already
  bought, taken, or listed under another country) is 420 ``method failed`` (the SDK's ``no_number.json``);
  a country in ``address_required`` is 420 with the spec's example label (a local address is needed).
  With ``refusal_status=200`` those refusals come with HTTP 200 and only the body's ``error-code`` says
  they failed, which is why success is read from the body.
* ``GET /account/numbers``: the numbers the account rents (``owned`` of them before anything is bought,
  then each one bought), ``pattern``/``search_pattern``, ``country``, ``size`` (default 10, at most 100)
  and ``index`` as above; ``{"count", "numbers": [{"country", "msisdn", "type", "features", ...}]}`` or
  ``{}`` (past the last page too). The seeded numbers show each routing of the spec's ``ownednumber``
  and the SDK's ``app_id`` (:data:`OWNED_ROUTES`): an application, a voice callback to a SIP URI or a
  number, only the deprecated messages callback, only an inbound-SMS webhook, nothing set (routed
  nowhere) and no routing field at all; none states a price, as Vonage's do not. With
  ``empty_after_first=True`` every page after the first answers ``{}`` while ``count`` still says the
  whole list (what vonage-node-sdk#928 reports). A bought number shows here
  ``Faults.owned_list_lag_seconds`` after its purchase committed.
* ``POST /number/cancel``, form-encoded ``country`` and ``msisdn`` (the SDK's ``cancel_number``): a number
  the account rents under that country is given back at once, 200 ``{"error-code": "200",
  "error-code-label": "success"}``, and leaves the owned list (``Faults.release_list_lag_seconds`` keeps it
  listed as it was for a while); one it does not rent is 420 ``method failed`` (HTTP 200 with
  ``refusal_status=200``). ``Faults.rate_release_refused`` makes a cancel of a rented number fail the
  documented way, HTTP 200 with ``{"error-code": "420", "error-code-label": "method failed"}`` (the SDK's
  ``no_number.json`` served with 200), and the number stays the account's. A purchase-kind endpoint: the
  ambiguous knobs and holds apply.

Where the sources are silent the emulator chooses, and says so here: a missing or malformed parameter
is a 400 naming it (``{"country": "Is required."}``, the shape quoted in
``Vonage/vonage-ruby-sdk#95``); fault answers (429, 5xx) use the ``error-code`` envelope.
"""

from __future__ import annotations

__all__ = ["ADDRESS_LABEL", "BASE_PATH", "DEFAULT_SIZE", "OWNED_ROUTES", "create_app"]

import hashlib
import hmac
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import parse_qs

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
    seeded_uuid,
    shared_numbers,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from starlette.datastructures import QueryParams
    from starlette.requests import Request
    from starlette.routing import Route

    from numbroker.sandbox import NumberedPage, RequestContext

DEFAULT_SIZE: Final = 300
"""Listed numbers when ``size`` is not given (GB and US each need two pages at size=100)."""
BASE_PATH: Final = ""
ADDRESS_LABEL: Final = (
    "Numbers from this country can be requested from the Dashboard (https://dashboard.nexmo.com/buy-numbers) "
    "as they require a valid local address to be provided before being purchased."
)
"""The spec's example ``error-code-label`` of a 420 (``response420``)."""

_METHOD_FAILED: Final = "method failed"
_MAX_SIZE: Final = 100
_DEFAULT_PAGE_SIZE: Final = 10
_WIRE_TYPES: Final = {"local": "landline", "mobile": "mobile-lvn", "toll-free": "landline-toll-free"}
_FEATURES: Final = ("SMS", "VOICE", "MMS")
_MIX: Final[tuple[tuple[str, str, float], ...]] = (
    ("GB", "local", 14),
    ("GB", "mobile", 14),
    ("GB", "toll-free", 3),
    ("US", "local", 18),
    ("US", "toll-free", 5),
    ("CA", "local", 4),
    ("DE", "local", 6),
    ("DE", "mobile", 3),
    ("NL", "local", 5),
    ("NL", "mobile", 4),
)
OWNED_ROUTES: Final[tuple[dict[str, str] | None, ...]] = (
    {"app_id": "app"},
    {"voiceCallbackType": "sip", "voiceCallbackValue": "sip:reception@pbx.example.com"},
    {"voiceCallbackType": "tel", "voiceCallbackValue": "number"},
    {"messagesCallbackType": "app", "messagesCallbackValue": "app"},  # deprecated, still listed
    {"moHttpUrl": "https://hooks.example.com/inbound-sms"},
    {},  # every routing field empty: calls reach nothing
    None,  # no routing field at all: the record does not say
)
"""How the seeded owned numbers route, in order (``"app"``: a drawn application id; ``"number"``: a drawn
number); the rest route to an application."""
_ROUTING_FIELDS: Final = (
    "app_id",
    "voiceCallbackType",
    "voiceCallbackValue",
    "messagesCallbackType",
    "messagesCallbackValue",
    "moHttpUrl",
)
_EUR_RANGES: Final = {"local": ("0.60", "2.50"), "mobile": ("0.80", "4.00"), "toll-free": ("1.50", "12.00")}
_MESSAGES: Final = {
    401: "authentication failed",
    429: "too many requests",
    500: "internal error",
    503: "service unavailable",
}


def create_app(
    *,
    seed: int = 0,
    faults: Faults | None = None,
    size: int | None = None,
    address_required: Iterable[str] = (),
    refusal_status: Literal[420, 200] = 420,
    owned: int = 0,
    empty_after_first: bool = False,
) -> Sandbox:
    """Build a Vonage sandbox.

    Args:
        seed: Inventory seed (same seed, same inventory).
        faults: Fault knobs (default: none).
        size: Number of listed numbers (default :data:`DEFAULT_SIZE`).
        address_required: Countries whose numbers need a local address: buying one is refused (420).
        refusal_status: The HTTP status of a refused purchase: 420 as the spec says, or 200 with the
            refusal only in the body's ``error-code``.
        owned: Numbers the account rents before anything is bought (0..100,000; :data:`OWNED_ROUTES`
            first). ``sandbox.options["owned"]`` is the live list, numbers bought included.
        empty_after_first: The owned list answers ``{}`` for every page after the first.

    Returns:
        The sandbox; ``env`` holds ``VONAGE_API_KEY`` and ``VONAGE_API_SECRET``.

    Raises:
        ValueError: ``size`` is negative, or ``owned`` out of range.
    """
    if size is not None and size < 0:
        raise ValueError("size must not be negative")
    if not 0 <= owned <= 100_000:
        raise ValueError("owned must be 0..100000")
    digest = hashlib.sha256(f"vonage:{seed}:credentials".encode()).hexdigest()
    key, secret = digest[:8], "Sbx" + digest[8:21]
    regulated = frozenset(code.upper() for code in address_required)
    sandbox = Sandbox(
        name="vonage",
        seed=seed,
        base_path=BASE_PATH,
        env={"VONAGE_API_KEY": key, "VONAGE_API_SECRET": secret},
        records=_inventory(seed, DEFAULT_SIZE if size is None else size),
        error_reply=_error_reply,
        faults=faults,
        options={
            "address_required": sorted(regulated),
            "refusal_status": refusal_status,
            "empty_after_first": empty_after_first,
        },
    )
    vonage = _Vonage(sandbox, key, secret, regulated, refusal_status)
    vonage.numbers.extend(_owned_seed(seed, owned, {r.e164 for r in sandbox.records}))
    sandbox.options["owned"] = vonage.numbers
    sandbox.build(vonage.routes())
    return sandbox


# --------------------------------------------------------------------------------------------
# Wire behaviour
# --------------------------------------------------------------------------------------------


def _status(code: int, label: str, *, http: int | None = None) -> Reply:
    return Reply(code if http is None else http, {"error-code": str(code), "error-code-label": label})


def _error_reply(sandbox: Sandbox, status: int, message: str) -> Reply:
    return _status(status, message or _MESSAGES.get(status, "request failed"))


def _missing(name: str, problem: str = "Is required.") -> Reply:
    return Reply(400, {name: problem})


def _int_param(query: QueryParams | Mapping[str, str], name: str, default: int, low: int, high: int) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit():
        return None
    value = int(raw)
    return value if low <= value <= high else None


def _matches(msisdn: str, pattern: str, how: int) -> bool:
    if how == 0:
        return msisdn.startswith(pattern)
    if how == 1:
        return pattern in msisdn
    return msisdn.endswith(pattern)


class _Vonage:
    def __init__(self, sandbox: Sandbox, key: str, secret: str, regulated: frozenset[str], refusal: int) -> None:
        self.sandbox = sandbox
        self.key = key
        self.secret = secret
        self.regulated = regulated
        self.refusal = refusal
        self.numbers: list[dict[str, Any]] = []
        self.released: list[dict[str, Any]] = []
        """Numbers given back, as they were listed (the owned list shows them during their release lag)."""

    def routes(self) -> list[Route]:
        sb = self.sandbox
        return [
            sb.route(f"{BASE_PATH}/number/search", self.search, name="search"),
            sb.purchase_route(f"{BASE_PATH}/number/buy", self.purchase),
            sb.route(f"{BASE_PATH}/account/numbers", self.owned, name="owned"),
            sb.route(f"{BASE_PATH}/number/cancel", self.release, methods=("POST",), kind="purchase"),
        ]

    def _authorize(self, request: Request) -> None:
        scheme, key, secret = basic_auth(request)
        if scheme.lower() != "basic":
            key = request.query_params.get("api_key") or ""
            secret = request.query_params.get("api_secret") or ""
        if not (
            hmac.compare_digest(key.encode(), self.key.encode())
            and hmac.compare_digest(secret.encode(), self.secret.encode())
        ):
            raise Refused(_status(401, _MESSAGES[401]))

    async def search(self, request: Request, context: RequestContext) -> Reply:
        self._authorize(request)
        search = _Search.read(request.query_params)
        index, size = _paging(request.query_params)
        items = self.sandbox.view(("search", search), search.matches)
        result = self.sandbox.numbered_page(items, page=index, per_page=size)
        return _listing(result, [r.raw for r in result.items], offer_ids=tuple(r.offer_id for r in result.items))

    async def owned(self, request: Request, context: RequestContext) -> Reply:
        self._authorize(request)
        query = request.query_params
        term = _term(query)
        index, size = _paging(query)
        country = (query.get("country") or "").strip().upper()
        lagging = [n for n in self.released if self.sandbox.release_lagging("+" + n["msisdn"])]
        numbers = [
            n
            for n in self.sandbox.listed(self.numbers + lagging, lambda number: "+" + number["msisdn"])
            if (not country or n["country"] == country) and (term is None or _matches(n["msisdn"], *term))
        ]
        result = self.sandbox.numbered_page(numbers, page=index, per_page=size)
        if index > 1 and self.sandbox.options["empty_after_first"]:
            return Reply(200, {})
        return _listing(result, list(result.items))

    async def purchase(self, request: Request, context: RequestContext) -> Reply:
        self._authorize(request)
        country, msisdn = _number_form(request, context)
        record = context.claim(self._listed_under(msisdn, country))
        if record is None:
            return _status(420, _METHOD_FAILED, http=self.refusal)
        if country in self.regulated:
            return _status(420, ADDRESS_LABEL, http=self.refusal)
        context.commit(record, upfront=None, monthly=record.monthly, currency=record.currency)
        raw = record.raw
        self.numbers.append(
            {"country": country, "msisdn": msisdn, "type": raw.get("type"), "features": raw.get("features")}
        )
        return _status(200, "success")

    async def release(self, request: Request, context: RequestContext) -> Reply:
        """``POST /number/cancel``: the rented number given back at once, or a failure in the body's code."""
        self._authorize(request)
        country, msisdn = _number_form(request, context)
        entry = next((n for n in self.numbers if n["msisdn"] == msisdn and n["country"] == country), None)
        if entry is None:
            return _status(420, _METHOD_FAILED, http=self.refusal)
        if context.refuse_release:
            context.labels.append("release_refused")
            return _status(420, _METHOD_FAILED, http=200)
        self.numbers.remove(entry)
        self.released.append(dict(entry))
        context.commit_release("+" + msisdn, "released")
        return _status(200, "success")

    def _listed_under(self, msisdn: str, country: str) -> SandboxRecord | None:
        """The record of ``msisdn`` (digits) if the search lists it under ``country``."""
        record = self.sandbox.record_by_e164("+" + msisdn) if msisdn.isascii() and msisdn.isdigit() else None
        return record if record is not None and record.raw.get("country") == country else None


def _term(query: QueryParams) -> tuple[str, int] | None:
    """``pattern`` and ``search_pattern`` (0 starts with, 1 contains, 2 ends with), or None without a pattern."""
    pattern = query.get("pattern")
    how = _int_param(query, "search_pattern", 0, 0, 2)
    if how is None:
        raise Refused(_missing("search_pattern", "Must be 0, 1 or 2."))
    if pattern is None or pattern == "":
        return None
    if not pattern.isascii() or not pattern.isdigit():
        raise Refused(_missing("pattern", "Must be digits."))
    return pattern, how


def _paging(query: QueryParams) -> tuple[int, int]:
    """``index`` (a page number from 1) and ``size`` (1 to 100)."""
    size = _int_param(query, "size", _DEFAULT_PAGE_SIZE, 1, _MAX_SIZE)
    if size is None:
        raise Refused(_missing("size", f"Must be between 1 and {_MAX_SIZE}."))
    index = _int_param(query, "index", 1, 1, 10**9)
    if index is None:
        raise Refused(_missing("index", "Must be a positive integer."))
    return index, size


@dataclass(frozen=True)
class _Search:
    """A search's filters, as the Numbers API reads them."""

    country: str
    wire_type: str | None
    features: frozenset[str]
    term: tuple[str, int] | None

    @classmethod
    def read(cls, query: QueryParams) -> _Search:
        """The filters of a search request, checked in order (a 400 naming the first parameter refused)."""
        country = (query.get("country") or "").strip().upper()
        if not country:
            raise Refused(_missing("country"))
        wire_type = query.get("type") or None
        if wire_type is not None and wire_type not in _WIRE_TYPES.values():
            raise Refused(_missing("type", f"Must be one of {', '.join(_WIRE_TYPES.values())}."))
        features = frozenset(f for f in (query.get("features") or "").split(",") if f)
        if not features <= set(_FEATURES):
            raise Refused(_missing("features", "Must be SMS, VOICE or MMS, comma-separated."))
        return cls(country, wire_type, features, _term(query))

    def matches(self, record: SandboxRecord) -> bool:
        """Whether the record is listed under the country and type, has the features and matches the pattern."""
        raw = record.raw
        msisdn = raw.get("msisdn")
        listed = raw.get("features")
        return (
            raw.get("country") == self.country
            and (self.wire_type is None or raw.get("type") == self.wire_type)
            and self.features <= set(listed if isinstance(listed, list) else ())
            and (self.term is None or (isinstance(msisdn, str) and _matches(msisdn, *self.term)))
        )


def _listing(result: NumberedPage[Any], numbers: list[Any], *, offer_ids: tuple[str, ...] = ()) -> Reply:
    """A page of a search or the owned list: ``{"count", "numbers"}``, or ``{}`` when the page is empty."""
    if not result.items:
        return Reply(200, {})
    return Reply(200, {"count": result.total, "numbers": numbers}, offer_ids=offer_ids, faults=result.labels)


def _number_form(request: Request, context: RequestContext) -> tuple[str, str]:
    """The ``country`` (upper case) and ``msisdn`` of a buy or cancel form; a 400 naming the first one missing."""
    form = _form(request, context)
    country = (form.get("country") or "").strip().upper()
    msisdn = (form.get("msisdn") or "").strip()
    for name, value in (("country", country), ("msisdn", msisdn)):
        if not value:
            raise Refused(_missing(name))
    return country, msisdn


def _form(request: Request, context: RequestContext) -> dict[str, str]:
    """The form-encoded body's fields, first values (none unless a form of UTF-8 text)."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    try:
        return {k: v[0] for k, v in parse_qs(context.body.decode(), keep_blank_values=True).items()}
    except UnicodeDecodeError:
        return {}


# --------------------------------------------------------------------------------------------
# Inventory
# --------------------------------------------------------------------------------------------


def _features(rng: random.Random, country: str, number_type: str) -> list[str]:
    if number_type == "mobile":
        return ["VOICE", "SMS"] if rng.random() < 0.8 else ["SMS"]
    if number_type == "toll-free":
        return ["VOICE"] if rng.random() < 0.7 else ["SMS", "VOICE"]
    if country in ("US", "CA"):
        return rng.choice((["SMS", "VOICE"], ["VOICE", "SMS"], ["MMS", "SMS", "VOICE"]))
    return ["VOICE"] if rng.random() < 0.85 else ["VOICE", "SMS"]


def _cost(rng: random.Random, number_type: str) -> Decimal:
    low, high = _EUR_RANGES[number_type]
    return draw_money(rng, low, high, step=rng.choice(("0.01", "0.05", "0.10", "0.25")))


def _raw(number: GeneratedNumber, cost: Any, features: Any, *, country: str | None = None) -> dict[str, Any]:
    return {
        "country": country or number.country,
        "msisdn": number.e164.removeprefix("+"),
        "cost": cost,
        "type": _WIRE_TYPES[number.number_type],
        "features": features,
    }


def _record(rng: random.Random, number: GeneratedNumber, cost: Decimal) -> SandboxRecord:
    text = f"{cost:.2f}" if rng.random() < 0.9 else f"{cost:.4f}"
    raw = _raw(number, text, _features(rng, number.country, number.number_type))
    return SandboxRecord(
        offer_id=number.e164,
        e164=number.e164,
        country=number.country,
        expected_valid=True,
        defect=None,
        raw=raw,
        number_type=number.number_type,
        region=number.area,
        monthly=Decimal(text),
        upfront=None,
        currency=None,  # Vonage states none; the adapter assumes EUR
    )


def _inventory(seed: int, size: int) -> list[SandboxRecord]:
    rng = random.Random(f"vonage:{seed}:inventory")
    # The cross-vendor numbers belong to the lanes of the first three emulators: Vonage offers none of
    # them. It has no lane of its own (every last digit is taken), so a number here may, rarely, also be
    # offered elsewhere by chance, as real carriers' pools overlap.
    exclude = {s.e164 for s in shared_numbers(seed)}
    specials = _defects(rng, exclude)[:size]
    numbers = draw_numbers(rng, _MIX, size - len(specials), exclude=exclude)
    records = [_record(rng, number, _cost(rng, number.number_type)) for number in numbers] + specials
    rng.shuffle(records)
    return records


def _defects(rng: random.Random, exclude: set[str]) -> list[SandboxRecord]:
    def draw(region: str, type_name: str) -> GeneratedNumber:
        return draw_number(rng, region, type_name, exclude=exclude)

    def defect(
        number: GeneratedNumber,
        tag: str,
        *,
        cost: Any = "1.00",
        features: Any = ("VOICE",),
        country: str | None = None,
        msisdn: str | None = None,
    ) -> SandboxRecord:
        raw = _raw(number, cost, list(features) if isinstance(features, tuple) else features, country=country)
        if msisdn is not None:
            raw["msisdn"] = msisdn
        return SandboxRecord(
            offer_id=number.e164,
            e164=number.e164,
            country=raw["country"],
            expected_valid=False,
            defect=tag,
            raw=raw,
            number_type=number.number_type,
            region=number.area,
        )

    gb = draw("GB", "local")
    return [
        # +1 555 is not a NANP area code: the placeholder numbers of the docs.
        defect(GeneratedNumber("+15550001234", "US", "local", None), "invalid_number"),
        defect(GeneratedNumber("+1212555", "US", "local", "NY"), "too_short"),
        # A Canadian number listed as US: same +1 calling code, wrong country.
        defect(draw("CA", "local"), "country_mismatch", country="US"),
        # A number written for people, not in Vonage's digits-only form.
        defect(gb, "msisdn_format", msisdn="44 " + gb.e164[3:]),
        defect(draw("GB", "mobile"), "negative_price", cost="-0.50"),
        defect(draw("GB", "local"), "garbage_price", cost="abc"),
        defect(draw("DE", "local"), "garbage_price", cost=1.25),  # a JSON number, not the documented string
        defect(draw("NL", "mobile"), "null_price", cost=None),
        defect(draw("US", "local"), "nan_price", cost="NaN"),
        defect(draw("US", "toll-free"), "absurd_exponent", cost="1E+999999"),
        defect(draw("GB", "mobile"), "features", features="VOICE,SMS"),  # a string, not a list
    ]


# --------------------------------------------------------------------------------------------
# Owned numbers before anything is bought
# --------------------------------------------------------------------------------------------


def _owned_seed(seed: int, count: int, taken: set[str]) -> list[dict[str, Any]]:
    """The numbers the account rents before anything is bought, shaped like the spec's ``ownednumber``."""
    rng = random.Random(f"vonage:{seed}:owned")
    exclude = taken | {s.e164 for s in shared_numbers(seed)}
    entries = []
    for index, number in enumerate(draw_numbers(rng, _MIX, count, exclude=exclude)):
        entry: dict[str, Any] = {
            "country": number.country,
            "msisdn": number.e164.removeprefix("+"),
            "type": _WIRE_TYPES[number.number_type],
            "features": _features(rng, number.country, number.number_type),
        }
        route = OWNED_ROUTES[index] if index < len(OWNED_ROUTES) else {"app_id": "app"}
        if route is not None:
            entry.update(dict.fromkeys(_ROUTING_FIELDS, ""))
            for key, value in route.items():
                drawn = {"app": seeded_uuid(rng), "number": f"44{rng.randint(7_000_000_000, 7_999_999_999)}"}
                entry[key] = drawn.get(value, value)
        entries.append(entry)
    return entries
