"""Twilio emulator: available-number search, the Pricing API's price lists, purchases, the owned list, releases.

Speaks ``https://api.twilio.com/2010-04-01`` (``base_path="/2010-04-01"``) and, on the same server,
``https://pricing.twilio.com/v1`` at its own path ``/v1`` (``env["TWILIO_PRICING_BASE_URL"] = "/v1"``: a
path on the sandbox's origin). Wire format as ``twilio/twilio-oai`` ``spec/json/twilio_api_v2010.json``
and ``spec/json/twilio_pricing_v1.json`` define it, with the live API's known quirks:

* every request is HTTP Basic with the Account SID (``AC`` + 32 hex digits) and Auth Token; a wrong one
  is 401 code 20003; another account's SID in the path is 404 code 20404;
* ``GET /2010-04-01/Accounts/{sid}/AvailablePhoneNumbers/{ISO}.json``: the country resource, whose
  ``subresource_uris`` name the types in stock (``local``, ``mobile``, ``toll_free``, ``national``);
  a country not in stock is 404 code 20404;
* ``GET /2010-04-01/Accounts/{sid}/AvailablePhoneNumbers/{ISO}/{Local|Mobile|TollFree|National}.json``
  with ``AreaCode`` (US/CA), ``Contains`` (Twilio's pattern: digits, letters as keypad digits, ``*`` one
  character, ``%`` a run, ``+`` anchoring the start and ``$`` the end of the number's digits),
  ``SmsEnabled``/``MmsEnabled``/``VoiceEnabled``/``FaxEnabled``, ``Beta``, ``InRegion``, ``InLocality``,
  ``InPostalCode``, ``ExcludeAllAddressRequired`` and ``PageSize`` (1-1000, default 50). It answers
  ``{"available_phone_numbers": [...], "uri": ...}`` with **at most 30 numbers and no next page**
  whatever ``PageSize`` says (twilio/twilio-node issue 316, twilio/twilio-php issue 632): the first
  matches in listing order. A type the country lacks is 404 code 20404;
* records carry no price and no number type; their ``capabilities`` keys are ``voice``, ``SMS``,
  ``MMS``, ``fax`` as the live API sends them (twilio/twilio-node issue 833), about one record in six
  in the API definition's lower-case spelling; ``latitude``/``longitude`` are strings, as in the examples;
* ``GET /v1/PhoneNumbers/Countries/{ISO}``: ``{country, iso_country, price_unit, phone_number_prices:
  [{number_type, base_price, current_price}], url}`` (``toll free`` with a space; prices as strings, or
  as JSON numbers for CA; ``price_unit`` ``USD``, or ``usd`` for CA); a country not in stock is 404;
* ``POST /2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json``, form-encoded ``PhoneNumber``: 201 with
  the IncomingPhoneNumber (``sid`` ``PN…``); 400 code 21422 when the number is not available, 21421
  when it is not a phone number, 21631 when its country is in ``address_required_countries`` and no
  ``AddressSid`` was given;
* ``GET /2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json``: the numbers bought, ``PhoneNumber``
  (partial digits match) and ``PageSize`` (default 50), paged by ``next_page_uri`` with a ``PageToken``;
  the account's subaccounts' lists answer under their own SID to the parent's credentials (a closed
  subaccount's is 404). Records are IncomingPhoneNumbers: ``sid``, ``account_sid``, ``type``,
  ``date_created`` (RFC 2822), the routing fields (``voice_url``, ``sms_url``, ``voice_application_sid``,
  ``sms_application_sid``, ``trunk_sid``), no price and no renewal date. ``owned=N`` starts the account
  owning N numbers showing each quirk (subaccount numbers, a suspended subaccount's, unrouted numbers,
  renewals within days, numbers the price list does not price, one with no type);
* ``DELETE /2010-04-01/Accounts/{sid}/IncomingPhoneNumbers/{PN…}.json``: the number, held by the account
  (or one of its open subaccounts) the path names, is given back at once: 204 with no body, and it leaves
  the owned list (``Faults.release_list_lag_seconds`` keeps it listed as it was for a while); a number that
  account does not hold is 404 code 20404. A purchase-kind endpoint: the ambiguous knobs and holds apply;
* ``GET /2010-04-01/Accounts.json``: the account and its subaccounts (one active, one suspended, one
  closed), ``{accounts: [...], next_page_uri}``, paged like the owned list.

Errors are ``{"code", "message", "more_info", "status"}``. Deliberate defects, each a record a correct
adapter rejects naming the field: an invalid and a too-short number, a Canadian number said to be
American, a number that is not a string, a non-boolean capability, two spellings of a
capability that disagree, a ``capabilities`` that is not an object, a non-string ``iso_country``.
Price-list defects (the offers stay valid, unpriced, with a note): DE lists no ``mobile`` price; NL's
``national`` price is not a number.
"""

from __future__ import annotations

__all__ = ["BASE_PATH", "BUCKETS", "DEFAULT_OWNED", "PRICE_LISTS", "PRICING_PATH", "SEARCH_CAP", "create_app"]

import hmac
import random
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs, urlencode

import phonenumbers

from numbroker.sandbox import (
    Faults,
    GeneratedNumber,
    InvalidPageToken,
    Refused,
    Reply,
    Sandbox,
    SandboxRecord,
    basic_auth,
    draw_number,
    draw_numbers,
    shared_numbers,
    shares,
)

if TYPE_CHECKING:
    from starlette.datastructures import QueryParams
    from starlette.requests import Request
    from starlette.routing import Route

    from numbroker.sandbox import RequestContext

BASE_PATH: Final = "/2010-04-01"
DEFAULT_OWNED: Final = 12
"""Numbers ``owned=DEFAULT_OWNED`` starts the account with: each quirk once, and plain ones."""
PRICING_PATH: Final = "/v1"
SEARCH_CAP: Final = 30
"""The most numbers one search answers."""

BUCKETS: Final[tuple[tuple[str, str], ...]] = (
    ("US", "Local"),
    ("US", "TollFree"),
    ("CA", "Local"),
    ("CA", "TollFree"),
    ("GB", "Local"),
    ("GB", "Mobile"),
    ("GB", "TollFree"),
    ("GB", "National"),
    ("DE", "Local"),
    ("DE", "Mobile"),
    ("DE", "TollFree"),
    ("NL", "Local"),
    ("NL", "Mobile"),
    ("NL", "TollFree"),
    ("NL", "National"),
    ("IN", "Local"),
    ("IN", "TollFree"),
)
"""The (country, search path type) pairs in stock; US Local holds three shares (more than one search shows)."""

_WEIGHTS: Final = {("US", "Local"): 3}
_PER_SHARE: Final = 20
DEFAULT_SIZE: Final = _PER_SHARE * (len(BUCKETS) + 2)
"""Records when ``size`` is not given: 60 US Local (over the cap), 20 in every other bucket.

Sizes up to about 160 keep every bucket under the cap (every search then sees its whole bucket)."""

PRICE_LISTS: Final[Mapping[str, tuple[str, tuple[tuple[str, Any, Any], ...]]]] = {
    "US": ("USD", (("local", "1.1500", "1.1500"), ("toll free", "2.1500", "2.1500"))),
    "CA": ("usd", (("local", Decimal("1.15"), Decimal("1.15")), ("toll free", Decimal("2.15"), Decimal("2.15")))),
    "GB": (
        "USD",
        (
            ("local", "1.15", "1.15"),
            ("mobile", "1.15", "1.15"),
            ("toll free", "2.50", "2.00"),
            ("national", "1.15", "1.15"),
        ),
    ),
    "DE": ("USD", (("local", "2.30", "2.30"), ("toll free", "20.00", "20.00"))),
    "NL": (
        "USD",
        (
            ("local", "4.00", "4.00"),
            ("mobile", "5.00", "5.00"),
            ("toll free", "25.00", "25.00"),
            ("national", "n/a", "n/a"),
        ),
    ),
    "IN": ("USD", (("local", "3.00", "3.00"), ("toll free", "8.50", "8.50"))),
}
"""Per country: ``price_unit`` and ``(number_type, base_price, current_price)`` rows as served.

Decimals are served as JSON numbers, strings as they are."""

_COUNTRY_NAMES: Final = {
    "US": "United States",
    "CA": "Canada",
    "GB": "United Kingdom",
    "DE": "Germany",
    "NL": "Netherlands",
    "IN": "India",
}
_SUBRESOURCE: Final = {"Local": "local", "Mobile": "mobile", "TollFree": "toll_free", "National": "national"}
_PRICE_TYPE: Final = {"Local": "local", "Mobile": "mobile", "TollFree": "toll free", "National": "national"}
_NEUTRAL: Final = {"Local": "local", "Mobile": "mobile", "TollFree": "toll-free", "National": "national"}
_KIND: Final = {neutral: kind for kind, neutral in _NEUTRAL.items()}
_ADDRESS: Final = {"US": "none", "CA": "none", "GB": "none", "DE": "local", "NL": "any", "IN": "local"}
_CITIES: Final = {
    "NY": ("New York", "NEW YORK", "10001", "132", "40.71", "-74.00"),
    "CA": ("San Francisco", "SNFC CNTL", "94105", "722", "37.78", "-122.40"),
    "IL": ("Chicago", "CHICAGO", "60601", "358", "41.88", "-87.63"),
    "FL": ("Miami", "MIAMI", "33101", "460", "25.77", "-80.19"),
    "TX": ("Austin", "AUSTIN", "78701", "558", "30.27", "-97.74"),
    "WA": ("Seattle", "SEATTLE", "98101", "674", "47.61", "-122.33"),
    "MA": ("Boston", "BOSTON", "02108", "128", "42.36", "-71.06"),
    "GA": ("Atlanta", "ATLANTA", "30301", "438", "33.75", "-84.39"),
    "ON": ("Toronto", "TORONTO", "M5H", "888", "43.65", "-79.38"),
    "BC": ("Vancouver", "VANCOUVER", "V6B", "888", "49.28", "-123.12"),
    "QC": ("Montreal", "MONTREAL", "H2Y", "888", "45.50", "-73.57"),
}
_CAPABILITIES: Final = {
    "Local": {"voice": True, "SMS": True, "MMS": True, "fax": True},
    "TollFree": {"voice": True, "SMS": True, "MMS": False, "fax": True},
    "Mobile": {"voice": True, "SMS": True, "MMS": False, "fax": False},
    "National": {"voice": True, "SMS": False, "MMS": False, "fax": False},
}
_LOCAL_ABROAD: Final = {"voice": True, "SMS": False, "MMS": False, "fax": False}
_KEYPAD: Final = {
    c: str(d)
    for d, letters in enumerate(("", "", "abc", "def", "ghi", "jkl", "mno", "pqrs", "tuv", "wxyz"))
    for c in letters
}
_SID_RE: Final = re.compile(r"AC[0-9a-f]{32}")
_MAX_PAGE_SIZE: Final = 1000


def create_app(
    *,
    seed: int = 0,
    faults: Faults | None = None,
    size: int | None = None,
    address_required_countries: Iterable[str] = (),
    owned: int = 0,
) -> Sandbox:
    """Build a Twilio sandbox.

    Args:
        seed: Inventory seed (same seed, same inventory and credentials).
        faults: Fault knobs (default: none); the Pricing API's route has them too.
        size: Records across all :data:`BUCKETS` besides the defects (default :data:`DEFAULT_SIZE`).
        address_required_countries: Countries whose purchases need an ``AddressSid`` (else 21631).
        owned: Numbers the account and its subaccounts own before anything is bought (0..100,000; the
            quirks first). ``sandbox.options["owned"]`` is the live list; ``options["subaccounts"]`` maps
            each subaccount SID to its status.

    Returns:
        The sandbox; ``env`` holds ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN`` and
        ``TWILIO_PRICING_BASE_URL`` (``/v1``, a path on the sandbox's own origin).

    Raises:
        ValueError: ``size`` is negative, or ``owned`` out of range.
    """
    if size is not None and size < 0:
        raise ValueError("size must not be negative")
    if not 0 <= owned <= 100_000:
        raise ValueError("owned must be 0..100000")
    key_rng = random.Random(f"twilio:{seed}:credentials")
    sid = "AC" + "".join(key_rng.choices("0123456789abcdef", k=32))
    token = "".join(key_rng.choices(string.hexdigits.lower()[:16], k=32))
    regulated = frozenset(c.upper() for c in address_required_countries)
    sandbox = Sandbox(
        name="twilio",
        seed=seed,
        base_path=BASE_PATH,
        env={"TWILIO_ACCOUNT_SID": sid, "TWILIO_AUTH_TOKEN": token, "TWILIO_PRICING_BASE_URL": PRICING_PATH},
        records=_inventory(seed, DEFAULT_SIZE if size is None else size),
        error_reply=_error_reply,
        faults=faults,
        options={"account_sid": sid, "address_required_countries": regulated},
    )
    twilio = _Twilio(sandbox, sid, token, regulated)
    twilio.subaccounts.update(_subaccounts(seed))
    twilio.numbers.extend(_owned_numbers(seed, owned, sid, twilio.subaccounts, {r.e164 for r in sandbox.records}))
    sandbox.options["owned"] = twilio.numbers
    sandbox.options["subaccounts"] = twilio.subaccounts
    sandbox.build(twilio.routes())
    return sandbox


# --------------------------------------------------------------------------------------------
# Wire behaviour
# --------------------------------------------------------------------------------------------


def _error(status: int, code: int, message: str) -> Reply:
    return Reply(
        status,
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
    )


def _error_reply(sandbox: Sandbox, status: int, message: str) -> Reply:
    if status == 429:
        return _error(429, 20429, message or "Too Many Requests")
    return _error(status, 20500, message or "Internal Server Error")


def _not_found(path: str) -> Reply:
    return _error(404, 20404, f"The requested resource {path} was not found")


def _flag(params: QueryParams, name: str) -> bool | None:
    value = params.get(name)
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise Refused(_error(400, 20001, f"Invalid value for {name}: {value!r}"))
    return lowered == "true"


def _pattern(contains: str) -> re.Pattern[str] | None:
    """Twilio's ``Contains`` pattern as a regex over the number's digits (None when it is not valid)."""
    if not 2 <= len(contains) <= 16 or not re.fullmatch(r"\+?[0-9A-Za-z*%]+\$?", contains):
        return None
    start = contains.startswith("+")
    end = contains.endswith("$")
    body = contains[1 if start else 0 : -1 if end else None]
    if sum(c.isalnum() for c in body) < 2:
        return None
    regex = "".join(
        r"\d" if c == "*" else r"\d*" if c == "%" else _KEYPAD.get(c.lower(), c)
        for c in body
        if c.isalnum() or c in "*%"
    )
    return re.compile(("^" if start else "") + regex + ("$" if end else ""))


# -- reading a search ----------------------------------------------------------------------------

_FLAG_NAMES: Final = ("SmsEnabled", "MmsEnabled", "VoiceEnabled", "FaxEnabled", "Beta", "ExcludeAllAddressRequired")
_CAPABILITY_FLAGS: Final = (
    ("SmsEnabled", "sms"),
    ("MmsEnabled", "mms"),
    ("VoiceEnabled", "voice"),
    ("FaxEnabled", "fax"),
)
_PLACE_PARAMS: Final = {"InRegion": "region", "InLocality": "locality", "InPostalCode": "postal_code"}


def _page_size(params: QueryParams) -> int:
    try:
        page_size = int(params.get("PageSize") or 50)
    except ValueError:
        raise Refused(_error(400, 20001, "Invalid PageSize")) from None
    if not 1 <= page_size <= _MAX_PAGE_SIZE:
        raise Refused(_error(400, 20001, f"PageSize must be between 1 and {_MAX_PAGE_SIZE}"))
    return page_size


def _flags(params: QueryParams) -> dict[str, bool]:
    flags = {name: _flag(params, name) for name in _FLAG_NAMES}
    return {name: value for name, value in flags.items() if value is not None}


def _area_code(params: QueryParams) -> str | None:
    area = params.get("AreaCode")
    if area is not None and not re.fullmatch(r"\d{3}", area):
        raise Refused(_error(400, 20001, f"Invalid AreaCode: {area!r}"))
    return area


def _contains(params: QueryParams) -> re.Pattern[str] | None:
    contains = params.get("Contains")
    if contains is None:
        return None
    pattern = _pattern(contains)
    if pattern is None:
        raise Refused(_error(400, 20001, f"Invalid Contains pattern: {contains!r}"))
    return pattern


@dataclass(frozen=True)
class _Search:
    """A search's filters, as the AvailablePhoneNumbers list reads them."""

    country: str
    page_size: int
    flags: Mapping[str, bool]
    area: str | None
    pattern: re.Pattern[str] | None
    places: Mapping[str, str]
    """Record field -> the lower-cased text it must equal (``InRegion``, ``InLocality``, ``InPostalCode``)."""

    @classmethod
    def read(cls, country: str, params: QueryParams) -> _Search:
        """The filters of a search request, checked in Twilio's order.

        Raises:
            Refused: A 400 (code 20001) naming the first parameter Twilio refuses.
        """
        return cls(
            country=country,
            page_size=_page_size(params),
            flags=_flags(params),
            area=_area_code(params),
            pattern=_contains(params),
            places={field: params[name].strip().lower() for name, field in _PLACE_PARAMS.items() if params.get(name)},
        )

    def matches(self, record: SandboxRecord) -> bool:
        """Whether the record passes every filter (capabilities in either spelling)."""
        raw = record.raw
        number = raw.get("phone_number")
        digits = number[1:] if isinstance(number, str) else ""
        return (
            self._in_area(digits)
            and (self.pattern is None or self.pattern.search(digits) is not None)
            and self._has_capabilities(raw)
            and self._has_flags(raw)
            and all(str(raw.get(field) or "").lower() == value for field, value in self.places.items())
        )

    def _in_area(self, digits: str) -> bool:
        return self.area is None or self.country not in ("US", "CA") or digits.startswith("1" + self.area)

    def _has_capabilities(self, raw: Mapping[str, Any]) -> bool:
        caps = raw.get("capabilities")
        caps = {str(k).lower(): v for k, v in caps.items()} if isinstance(caps, dict) else {}
        return all((caps.get(key) is True) == self.flags[name] for name, key in _CAPABILITY_FLAGS if name in self.flags)

    def _has_flags(self, raw: Mapping[str, Any]) -> bool:
        if self.flags.get("Beta") is False and raw.get("beta") is True:
            return False
        return not (
            self.flags.get("ExcludeAllAddressRequired") and raw.get("address_requirements") not in (None, "none")
        )


def _form(request: Request, context: RequestContext) -> dict[str, list[str]]:
    """The form-encoded body's fields (none unless the request says it is a form)."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    return parse_qs(context.body.decode("utf-8", "replace"), keep_blank_values=True)


def _requested_number(form: Mapping[str, list[str]]) -> str:
    """The ``PhoneNumber`` asked for, in E.164 (400 code 21451 when missing, 21421 when not a number)."""
    phone = (form.get("PhoneNumber") or [""])[0].strip()
    if not phone:
        raise Refused(_error(400, 21451, "A 'PhoneNumber' or 'AreaCode' is required."))
    try:
        parsed = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        raise Refused(_error(400, 21421, "PhoneNumber is invalid"))
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class _Twilio:
    def __init__(self, sandbox: Sandbox, sid: str, token: str, regulated: frozenset[str]) -> None:
        self.sandbox = sandbox
        self.sid = sid
        self.token = token
        self.regulated = regulated
        self.numbers: list[dict[str, Any]] = []
        self.released: list[dict[str, Any]] = []
        """Numbers given back, as they were listed (the owned list shows them during their release lag)."""
        self.subaccounts: dict[str, str] = {}
        """Each subaccount's SID and status (``active``, ``suspended`` or ``closed``)."""
        self.clock = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    def routes(self) -> list[Route]:
        sb = self.sandbox
        account = f"{BASE_PATH}/Accounts/{{sid}}"
        return [
            sb.route(f"{account}/AvailablePhoneNumbers/{{country}}.json", self.country, name="country"),
            sb.route(f"{account}/AvailablePhoneNumbers/{{country}}/{{kind}}.json", self.search, name="search"),
            sb.route(f"{PRICING_PATH}/PhoneNumbers/Countries/{{country}}", self.pricing, name="pricing"),
            sb.purchase_route(f"{account}/IncomingPhoneNumbers.json", self.purchase),
            sb.route(f"{account}/IncomingPhoneNumbers.json", self.owned, name="owned"),
            sb.route(
                f"{account}/IncomingPhoneNumbers/{{number_sid}}.json",
                self.release,
                methods=("DELETE",),
                kind="purchase",
            ),
            sb.route(f"{BASE_PATH}/Accounts.json", self.accounts, name="accounts"),
        ]

    def _authorize(self, request: Request, *, account: bool = True) -> None:
        scheme, user, password = basic_auth(request)
        good = (
            scheme == "Basic"
            and _SID_RE.fullmatch(user) is not None
            and hmac.compare_digest(user.encode(), self.sid.encode())
            and hmac.compare_digest(password.encode(), self.token.encode())
        )
        if not good:
            raise Refused(_error(401, 20003, "Authenticate"))
        if account and request.path_params.get("sid") != self.sid:
            raise Refused(_not_found(request.url.path))

    async def country(self, request: Request, context: RequestContext) -> Reply:
        self._authorize(request)
        country = request.path_params["country"]
        kinds = [kind for c, kind in BUCKETS if c == country]
        if not kinds:
            return _not_found(request.url.path)
        prefix = f"{BASE_PATH}/Accounts/{self.sid}/AvailablePhoneNumbers/{country}"
        return Reply(
            200,
            {
                "country_code": country,
                "country": _COUNTRY_NAMES[country],
                "uri": f"{prefix}.json",
                "beta": False,
                "subresource_uris": {_SUBRESOURCE[kind]: f"{prefix}/{kind}.json" for kind in kinds},
            },
        )

    async def search(self, request: Request, context: RequestContext) -> Reply:
        self._authorize(request)
        country, kind = request.path_params["country"], request.path_params["kind"]
        if (country, kind) not in BUCKETS:
            return _not_found(request.url.path)
        query = _Search.read(country, request.query_params)
        neutral = _NEUTRAL[kind]
        stocked = self.sandbox.view(
            ("available", country, kind), lambda r: r.country == country and r.number_type == neutral
        )
        served = [r for r in stocked if query.matches(r)][: min(query.page_size, SEARCH_CAP)]
        suffix = ("?" + str(request.url.query)) if request.url.query else ""
        body = {
            "available_phone_numbers": [r.raw for r in served],
            "uri": f"{request.url.path}{suffix}",
        }
        return Reply(200, body, offer_ids=tuple(r.offer_id for r in served))

    async def pricing(self, request: Request, context: RequestContext) -> Reply:
        self._authorize(request, account=False)
        country = request.path_params["country"]
        listed = PRICE_LISTS.get(country)
        if listed is None:
            return _not_found(request.url.path)
        unit, rows = listed
        return Reply(
            200,
            {
                "country": _COUNTRY_NAMES[country],
                "iso_country": country,
                "phone_number_prices": [
                    {"number_type": kind, "base_price": _wire(base), "current_price": _wire(current)}
                    for kind, base, current in rows
                ],
                "price_unit": unit,
                "url": f"https://pricing.twilio.com/v1/PhoneNumbers/Countries/{country}",
            },
        )

    async def purchase(self, request: Request, context: RequestContext) -> Reply:
        sb = self.sandbox
        self._authorize(request)
        form = _form(request, context)
        e164 = _requested_number(form)
        record = context.claim(sb.record_by_e164(e164))
        if record is None:
            return _error(400, 21422, "PhoneNumber requested is not available")
        if record.country in self.regulated and not (form.get("AddressSid") or [""])[0]:
            return _error(400, 21631, "Phone Number Requires an Address")
        context.commit(record, upfront=None, monthly=record.monthly, currency=record.currency)
        number = self._incoming(record)
        self.numbers.append(number)
        return Reply(201, number, headers={"Twilio-Request-Id": "RQ" + sb.new_hex(32)})

    def _incoming(self, record: SandboxRecord) -> dict[str, Any]:
        """The IncomingPhoneNumber a purchase creates (each one a minute after the one before)."""
        self.clock += timedelta(minutes=1)
        stamp = format_datetime(self.clock)
        sid = "PN" + self.sandbox.new_hex(32)
        raw = record.raw
        return {
            "account_sid": self.sid,
            "address_requirements": raw.get("address_requirements", "none"),
            "address_sid": None,
            "api_version": "2010-04-01",
            "beta": False,
            "capabilities": {str(k).lower(): v for k, v in (raw.get("capabilities") or {}).items()},
            "date_created": stamp,
            "date_updated": stamp,
            "friendly_name": raw.get("friendly_name") or record.e164,
            "origin": "twilio",
            "phone_number": record.e164,
            "sid": sid,
            "status": "in-use",
            "type": _PRICE_TYPE[_KIND[record.number_type or "local"]].replace("toll free", "tollfree"),
            "uri": f"{BASE_PATH}/Accounts/{self.sid}/IncomingPhoneNumbers/{sid}.json",
            **_routing(None),  # a number just bought is routed nowhere
        }

    async def owned(self, request: Request, context: RequestContext) -> Reply:
        sb = self.sandbox
        self._authorize(request, account=False)
        account = request.path_params.get("sid")
        if account != self.sid and self.subaccounts.get(account or "", "closed") == "closed":
            return _not_found(request.url.path)
        params = request.query_params
        page_size, page = _paging(params)
        wanted = re.sub(r"\D", "", params.get("PhoneNumber") or "")
        lagging = [n for n in self.released if sb.release_lagging(n["phone_number"])]
        listed = sb.listed(self.numbers + lagging, lambda number: number["phone_number"])  # owned_list_lag_seconds
        items = [n for n in listed if n["account_sid"] == account and wanted in n["phone_number"][1:]]
        try:
            result = sb.token_page(items, token=params.get("PageToken"), limit=page_size)
        except InvalidPageToken:
            return _error(400, 20001, "Invalid PageToken")
        path = f"{BASE_PATH}/Accounts/{account}/IncomingPhoneNumbers.json"
        kept = [("PhoneNumber", params["PhoneNumber"])] if params.get("PhoneNumber") else []
        base = [*kept, ("PageSize", str(page_size))]
        next_uri = None
        if result.next_token is not None:
            next_uri = f"{path}?{urlencode([*base, ('Page', str(page + 1)), ('PageToken', result.next_token)])}"
        body = {
            "first_page_uri": f"{path}?{urlencode([*base, ('Page', '0')])}",
            "end": page * page_size + max(len(result.items) - 1, 0),
            "incoming_phone_numbers": list(result.items),
            "next_page_uri": next_uri,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": None,
            "start": page * page_size,
            "uri": f"{path}?{urlencode([*base, ('Page', str(page))])}",
        }
        return Reply(200, body, faults=result.labels)

    async def release(self, request: Request, context: RequestContext) -> Reply:
        """``DELETE …/IncomingPhoneNumbers/{Sid}.json``: given back at once, 204; another account's number is 404."""
        self._authorize(request, account=False)
        account, number_sid = request.path_params.get("sid"), request.path_params["number_sid"]
        if account != self.sid and self.subaccounts.get(account or "", "closed") == "closed":
            return _not_found(request.url.path)
        number = next((n for n in self.numbers if n["sid"] == number_sid and n["account_sid"] == account), None)
        if number is None:
            return _not_found(request.url.path)
        self.numbers.remove(number)
        self.released.append(dict(number))
        context.commit_release(number["phone_number"], "released")
        return Reply(204, text="")

    async def accounts(self, request: Request, context: RequestContext) -> Reply:
        """``Accounts.json``: this account, then its subaccounts, paged like the owned list."""
        self._authorize(request, account=False)
        page_size, page = _paging(request.query_params)
        items = [self._account(self.sid, "active", None)] + [
            self._account(sub, status, self.sid) for sub, status in self.subaccounts.items()
        ]
        try:
            result = self.sandbox.token_page(items, token=request.query_params.get("PageToken"), limit=page_size)
        except InvalidPageToken:
            return _error(400, 20001, "Invalid PageToken")
        path = f"{BASE_PATH}/Accounts.json"
        next_uri = None
        if result.next_token is not None:
            query = [("PageSize", str(page_size)), ("Page", str(page + 1)), ("PageToken", result.next_token)]
            next_uri = f"{path}?{urlencode(query)}"
        body = {"accounts": list(result.items), "next_page_uri": next_uri, "page": page, "page_size": page_size}
        return Reply(200, body, faults=result.labels)

    def _account(self, sid: str, status: str, owner: str | None) -> dict[str, Any]:
        return {
            "sid": sid,
            "owner_account_sid": owner or sid,
            "friendly_name": f"Sandbox {'subaccount' if owner else 'project'} {sid[-4:]}",
            "status": status,
            "type": "Full",
            "uri": f"{BASE_PATH}/Accounts/{sid}.json",
        }


def _paging(params: QueryParams) -> tuple[int, int]:
    """``PageSize`` (1-1000, default 50) and ``Page`` (from 0) of a list request (400 code 20001 otherwise)."""
    try:
        page_size = int(params.get("PageSize") or 50)
        page = int(params.get("Page") or 0)
    except ValueError:
        raise Refused(_error(400, 20001, "Invalid paging parameters")) from None
    if not 1 <= page_size <= _MAX_PAGE_SIZE or page < 0:
        raise Refused(_error(400, 20001, "Invalid paging parameters"))
    return page_size, page


def _wire(value: Any) -> Any:
    """A price as served: Decimals as JSON numbers (the API definition's type), strings as they are."""
    return float(value) if isinstance(value, Decimal) else value


# --------------------------------------------------------------------------------------------
# Inventory
# --------------------------------------------------------------------------------------------


def _price_for(country: str, kind: str) -> tuple[Decimal | None, str | None]:
    """The monthly price a correct adapter joins to a (country, kind) record: None when the list lacks it."""
    unit, rows = PRICE_LISTS[country]
    for number_type, _base, current in rows:
        if number_type == _PRICE_TYPE[kind]:
            try:
                return Decimal(str(current)), unit.upper()
            except ArithmeticError:
                return None, None
    return None, None


def _inventory(seed: int, size: int) -> list[SandboxRecord]:
    rng = random.Random(f"twilio:{seed}:inventory")
    exclude = {s.e164 for s in shared_numbers(seed)}
    out: list[SandboxRecord] = []
    defects = _defects(rng, exclude)
    counts = shares(size, [_WEIGHTS.get(bucket, 1) for bucket in BUCKETS])
    for (country, kind), count in zip(BUCKETS, counts, strict=True):
        numbers = draw_numbers(rng, [(country, _NEUTRAL[kind], 1)], count, exclude=exclude)
        regular = [_record(rng, number, country, kind) for number in numbers]
        rng.shuffle(regular)
        # Defects lead their bucket, so a search at the cap always shows them.
        out += [d for d in defects if (d.country, d.number_type) == (country, _NEUTRAL[kind])] + regular
    return out


def _raw(
    rng: random.Random, number: GeneratedNumber, country: str, kind: str, *, capabilities: Any = None
) -> dict[str, Any]:
    if capabilities is None:
        capabilities = _capabilities(rng, country, kind)
    return {
        "friendly_name": _friendly_name(number.e164),
        "phone_number": number.e164,
        **_place(number, country, kind),
        "iso_country": country,
        "address_requirements": _ADDRESS[country],
        "beta": rng.random() < 0.05,
        "capabilities": capabilities,
    }


def _friendly_name(e164: str) -> str:
    """The number in its national format, as Twilio names it (the E.164 when it does not parse)."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        return e164


def _capabilities(rng: random.Random, country: str, kind: str) -> dict[str, bool]:
    """A record's capabilities: its type's (voice alone for a local number abroad).

    Fax is off in one record of five; one in six spells the keys in the API definition's lower case.
    """
    local_abroad = kind == "Local" and country not in ("US", "CA")
    caps = dict(_LOCAL_ABROAD if local_abroad else _CAPABILITIES[kind])
    if rng.random() < 0.2:
        caps["fax"] = False
    if rng.random() < 1 / 6:
        caps = {k.lower(): v for k, v in caps.items()}
    return caps


def _place(number: GeneratedNumber, country: str, kind: str) -> dict[str, Any]:
    """Where a number is, as Twilio's location fields say it.

    A NANP local number: its city (rate center, LATA, postal code, coordinates) and state; any other local
    number: its area as the locality; the other types: nothing.
    """
    nanp_local = kind == "Local" and country in ("US", "CA")
    city = _CITIES.get(number.area or "") if nanp_local else None
    if city is None:
        return {
            "lata": None,
            "locality": number.area if kind == "Local" else None,
            "rate_center": None,
            "latitude": None,
            "longitude": None,
            "region": number.area if nanp_local else None,
            "postal_code": None,
        }
    locality, rate_center, postal_code, lata, latitude, longitude = city
    return {
        "lata": lata,
        "locality": locality,
        "rate_center": rate_center,
        "latitude": latitude,
        "longitude": longitude,
        "region": number.area,
        "postal_code": postal_code,
    }


def _record(rng: random.Random, number: GeneratedNumber, country: str, kind: str) -> SandboxRecord:
    raw = _raw(rng, number, country, kind)
    monthly, currency = _price_for(country, kind)
    return SandboxRecord(
        offer_id=number.e164,
        e164=number.e164,
        country=country,
        expected_valid=True,
        defect=None,
        raw=raw,
        number_type=_NEUTRAL[kind],
        region=raw["region"] or raw["locality"],
        monthly=monthly,
        upfront=None,
        currency=currency,
    )


def _defects(rng: random.Random, exclude: set[str]) -> list[SandboxRecord]:
    def draw(region: str, type_name: str) -> GeneratedNumber:
        return draw_number(rng, region, type_name, exclude=exclude)

    def defect(number: GeneratedNumber, bucket: tuple[str, str], tag: str, **changes: Any) -> SandboxRecord:
        country, kind = bucket
        raw = _raw(rng, number, country, kind)
        raw.update(changes)
        served = raw.get("phone_number")
        return SandboxRecord(
            offer_id=str(served),  # what a rejection can name: the number as served, even when not a string
            e164=served if isinstance(served, str) else "",
            country=country,
            expected_valid=False,
            defect=tag,
            raw=raw,
            number_type=_NEUTRAL[kind],
            region=number.area,
        )

    us_local = ("US", "Local")
    ca = draw("CA", "local")
    return [
        # The documentation's own kind of example number: +1 555 is not a NANP area code.
        defect(GeneratedNumber("+15551234567", "US", "local", "NY"), us_local, "invalid_number"),
        # A Canadian number said to be American.
        defect(ca, us_local, "country_mismatch"),
        defect(GeneratedNumber("+44207", "GB", "local", "London"), ("GB", "Local"), "too_short"),
        defect(draw("US", "toll-free"), ("US", "TollFree"), "bad_country", iso_country=1),
        defect(draw("CA", "local"), ("CA", "Local"), "bad_capabilities", capabilities=["voice", "SMS"]),
        defect(
            draw("GB", "mobile"),
            ("GB", "Mobile"),
            "bad_capabilities",
            capabilities={"voice": True, "SMS": "true", "MMS": False, "fax": False},
        ),
        defect(
            draw("DE", "local"),
            ("DE", "Local"),
            "bad_capabilities",
            capabilities={"voice": True, "sms": True, "SMS": False, "fax": False},
        ),
        defect(draw("NL", "local"), ("NL", "Local"), "bad_number", phone_number=31201234567),
    ]


# --------------------------------------------------------------------------------------------
# Owned numbers before anything is bought
# --------------------------------------------------------------------------------------------


def _subaccounts(seed: int) -> dict[str, str]:
    """The account's subaccounts: one active, one suspended (its numbers still billed), one closed (none)."""
    rng = random.Random(f"twilio:{seed}:subaccounts")
    return {
        "AC" + "".join(rng.choices("0123456789abcdef", k=32)): status for status in ("active", "suspended", "closed")
    }


def _routing(kind: str | None, rng: random.Random | None = None) -> dict[str, Any]:
    """The routing fields of an IncomingPhoneNumber: ``kind`` set (a URL, an application or a trunk), or none."""
    out: dict[str, Any] = {
        "voice_url": "",
        "sms_url": "",
        "voice_application_sid": None,
        "sms_application_sid": None,
        "trunk_sid": None,
    }
    if kind is None:
        return out
    token = "".join((rng or random.Random(kind)).choices("0123456789abcdef", k=32))
    if kind == "voice_url":
        out["voice_url"] = f"https://hooks.example.com/voice/{token[:8]}"
    elif kind == "sms_url":
        out["sms_url"] = f"https://hooks.example.com/sms/{token[:8]}"
    elif kind == "voice_application_sid":
        out["voice_application_sid"] = "AP" + token
    elif kind == "sms_application_sid":
        out["sms_application_sid"] = "AP" + token
    elif kind == "trunk_sid":
        out["trunk_sid"] = "TK" + token
    return out


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    for last in range(day.day, 0, -1):
        try:
            return date(year, month + 1, last)
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


# (bucket, days to the next bill or None for any, routing, holder: "main", "active" or "suspended", typed)
_OWNED_QUIRKS: Final[tuple[tuple[tuple[str, str], int | None, str | None, str, bool], ...]] = (
    (("US", "Local"), 20, "voice_url", "main", True),
    (("US", "Local"), 3, "voice_url", "main", True),  # renews within days
    (("CA", "Local"), 25, None, "main", True),  # unrouted
    (("US", "TollFree"), 11, "voice_application_sid", "active", True),  # a subaccount's
    (("GB", "Mobile"), 6, None, "active", True),  # a subaccount's, unrouted, renewing soon
    (("DE", "Mobile"), 16, "voice_url", "main", True),  # the price list has no mobile price for DE
    (("US", "Local"), 28, "sms_url", "main", False),  # no type stated: unpriced, its type inferred
    (("GB", "Local"), 9, "trunk_sid", "suspended", True),  # a suspended subaccount's (still billed)
    (("IN", "Local"), 19, "sms_application_sid", "main", True),
    (("NL", "National"), 30, "voice_url", "main", True),  # the price list's national price is not a number
)


def _owned_numbers(
    seed: int, count: int, sid: str, subaccounts: Mapping[str, str], taken: set[str]
) -> list[dict[str, Any]]:
    """IncomingPhoneNumbers the account and its subaccounts hold before anything is bought."""
    rng = random.Random(f"twilio:{seed}:owned")
    now = datetime.combine(datetime.now(UTC).date(), datetime.min.time(), UTC)  # one seed, one inventory all day
    holders = {"main": sid, **{status: sub for sub, status in subaccounts.items()}}
    exclude = taken | {s.e164 for s in shared_numbers(seed)}
    out: list[dict[str, Any]] = []
    for index in range(count):
        if index < len(_OWNED_QUIRKS):
            bucket, days, routing, holder, typed = _OWNED_QUIRKS[index]
        else:
            bucket, days, routing, holder, typed = rng.choice(BUCKETS), None, "voice_url", "main", True
        country, kind = bucket
        (drawn,) = draw_numbers(rng, [(country, _NEUTRAL[kind], 1)], 1, exclude=exclude)
        exclude.add(drawn.e164)
        if days is None:
            created = now - timedelta(days=rng.randint(30, 900))
        else:
            created = datetime.combine(
                _months_before(now.date() + timedelta(days=days), rng.randint(1, 20)), now.time(), UTC
            )
        created -= timedelta(seconds=rng.randint(0, 3600))
        account = holders[holder]
        number_sid = "PN" + "".join(rng.choices("0123456789abcdef", k=32))
        stamp = format_datetime(created)
        out.append(
            {
                "account_sid": account,
                "address_requirements": _ADDRESS[country],
                "address_sid": None,
                "api_version": "2010-04-01",
                "beta": False,
                "bundle_sid": None,
                "capabilities": {k.lower(): v for k, v in _CAPABILITIES[kind].items()},
                "date_created": stamp,
                "date_updated": stamp,
                "emergency_status": "Inactive",
                "friendly_name": _friendly_name(drawn.e164),
                "identity_sid": None,
                "origin": "twilio",
                "phone_number": drawn.e164,
                "sid": number_sid,
                "status": "in-use",
                "type": _PRICE_TYPE[kind].replace("toll free", "tollfree") if typed else None,
                "uri": f"{BASE_PATH}/Accounts/{account}/IncomingPhoneNumbers/{number_sid}.json",
                "voice_receive_mode": "voice",
                **_routing(routing, rng),
            }
        )
    return out
