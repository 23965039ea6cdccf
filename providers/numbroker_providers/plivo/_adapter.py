"""The Plivo adapter: phone-number search (``GET /Account/{auth_id}/PhoneNumber/``), purchases and ownership.

Plivo publishes no API definition; these wire facts come from its SDKs and docs, read at the commits named:

* ``plivo/plivo-python`` (a0cd3237d2ce1dc46434572997f9ccf380502af0): ``plivo/rest/client.py`` builds every
  URL as ``https://api.plivo.com/v1/Account/{auth_id}/<path>/`` (with the trailing slash), authenticates
  with HTTP Basic (auth id, auth token), sends GET parameters in the query string and POST bodies as JSON;
  ``plivo/resources/numbers.py``: search is ``GET PhoneNumber/`` with ``country_iso``, ``type``,
  ``pattern``, ``region``, ``services``, ``lata``, ``rate_center``, ``city``, ``limit``, ``offset``;
  buying is ``POST PhoneNumber/{number}/``; one owned number is ``GET Number/{number}/``, the owned list
  ``GET Number/`` with ``limit`` (at most 20) and ``offset``; ``tests/resources/fixtures/``
  ``phoneNumberListResponse.json`` (``{api_id, meta: {limit, next, offset, previous, total_count},
  objects}``; ``number`` as digits without ``+``; ``country`` a name, ``"UNITED STATES"``; ``region``
  ``"United States"``; ``lata`` an integer; rates as five-place decimal strings; no currency field),
  ``phoneNumberCreateResponse.json`` (``{api_id, message, numbers: [{number, status: "Success",
  fallback_number}], status: "fulfilled"}``), ``numberGetResponse.json`` (an owned number, ``"active":
  false`` possible).
* ``plivo/plivo-go`` (273a8369467eeb2e2603d3916a0f6587dbde4ec4) ``numbers.go``: the ``PhoneNumber`` record
  adds ``city``, ``mms_enabled``, ``mms_rate`` and ``fallback_number`` (a second number bought with
  ``ha_enable``, which numbroker never sends); ``lata`` is an ``int``.
* ``plivo/plivo-ruby`` (52737a894c1de9cc1256d431bf74e45f11579042) ``lib/plivo/resources/numbers.rb``:
  ``type`` is ``fixed``, ``mobile`` or ``tollfree``, defaulting to ``any`` (all three); ``pattern``
  matches numbers that start with *the country code + pattern* (``415`` with ``US`` finds ``1415…``), so
  the pattern is the digits after the country code; ``limit`` is 1–20; ``offset`` counts records, not pages.
* plivo.com, "Phone numbers" (``/docs/numbers/phone-numbers``): ``sub_type`` is ``fixed``, ``mobile``,
  ``tollfree``, ``national`` or ``local``; ``setup_rate`` is "one-time setup fee in USD",
  ``monthly_rental_rate`` "monthly rental fee in USD"; ``restriction`` is ``city-address``,
  ``country-address``, ``terms-and-conditions`` or null, explained by ``restriction_text``.
  "Buy a phone number" (``/docs/numbers/api/phone-number/buy-a-phone-number``): 201; for a country with
  verification requirements the number's ``status`` is ``pending`` while the top-level ``status`` still
  reads ``fulfilled``, and the number is activated only once documents are provided.
* ``plivo/plivo-node#144`` and ``plivo/plivo-ruby#8``: buying a number Plivo does not have answers 404
  ``{"api_id", "error": "not found"}``; errors are ``{api_id, error}``.

Where sources disagree: the docs type ``lata`` as a string, the example and the Go SDK as an integer (both
are read); some docs say ``local`` for ``type`` (read as fixed, never sent); the carrier notes describe
``pattern`` as "country code plus digits", which is what it *matches*: the Ruby SDK's description of what
is *sent* (digits after the country code) is followed.

What numbroker makes of them:

* paging: ``limit=20`` and ``offset=(page-1)*20``: numbered pages, fetched concurrently once
  ``total_count`` is known; an answer whose ``meta.offset`` is not the one asked, or whose ``meta.limit``
  is smaller while more records remain, stops the search (offset paging would skip records);
* the country: the query's ``country_iso`` decides it; each record's country *name* must name that country
  (a generated ISO 3166-1 table, :mod:`numbroker_providers.plivo._countries`), else the record is rejected
  on ``country``; the number must also be valid for it (else rejected on ``number``);
* prices are USD by Plivo's docs, not by the record: every offer carries
  ``provider_details["currency_assumed"] = True`` (buy-cheapest skips such offers unless allowed), unless
  a record ever states a ``currency`` of its own;
* ``restriction``/``restriction_text`` stay in ``provider_details`` (a restricted number needs paperwork);
* a purchase is one ``POST``; a number whose own ``status`` is ``pending`` is not bought: it is raised as
  an ambiguous :class:`~numbroker.ProviderResponseError`, so buy-cheapest confirms ownership before doing
  anything else; a number assigned other than the one asked is reported in the receipt (``e164`` is the
  number assigned, ``details["requested_e164"]`` the one asked);
* a number is given back with ``DELETE Number/{number}/`` (``plivo/resources/numbers.py`` ``delete``): 204
  with no body, immediate (Plivo's support can restore it within about 10 days); a 404 means the account
  does not hold it (the caller confirms against the owned list);
* ownership is one ``GET Number/{number}/`` (200: owned, active or not; a 404 in Plivo's error envelope:
  not owned; anything else: unknown, raised).
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import logging
import re
import unicodedata
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from numbroker import (
    AfterPurchase,
    AvailableNumber,
    BadRequestError,
    Capability,
    FilterSupport,
    Money,
    NotFoundError,
    NumberType,
    NumberUnavailableError,
    OwnedNumber,
    OwnedQuery,
    OwnedStatus,
    ProviderResponseError,
    QueryFilter,
    ReleaseAnswer,
    ReleaseMode,
    SearchQuery,
)
from numbroker.adapters import (
    Cursor,
    ErrorEnvelope,
    FieldError,
    Provider,
    PurchaseReceipt,
    RawPage,
    json_safe,
    make_offer,
    make_owned,
    money_from_string,
    parse_e164,
    path_segment,
    read_date,
    read_timestamp,
    same_number,
    validate_currency,
    wire,
)
from numbroker_providers.plivo._countries import COUNTRY_NAMES

__all__ = ["PlivoProvider"]

purchase_logger = logging.getLogger("numbroker.purchase")

PER_PAGE = 20
"""Plivo's largest ``limit`` (search and owned list)."""
ASSUMED_CURRENCY = "USD"
"""What Plivo's docs price numbers in (the records name no currency)."""

_QUERY_TYPES: Mapping[NumberType, str] = {
    NumberType.LOCAL: "fixed",
    NumberType.NATIONAL: "fixed",
    NumberType.MOBILE: "mobile",
    NumberType.TOLL_FREE: "tollfree",
}
"""What ``type=`` is sent for each neutral type (local and national numbers are both ``fixed``)."""

_RECORD_TYPES: Mapping[str, NumberType] = {
    "fixed": NumberType.LOCAL,
    "local": NumberType.LOCAL,
    "national": NumberType.NATIONAL,
    "mobile": NumberType.MOBILE,
    "tollfree": NumberType.TOLL_FREE,
}
"""A record's ``type`` (``sub_type`` ``national`` refines ``fixed``)."""

_SERVICES: tuple[tuple[Capability, str], ...] = (
    (Capability.VOICE, "voice_enabled"),
    (Capability.SMS, "sms_enabled"),
    (Capability.MMS, "mms_enabled"),
)
"""The capabilities a record reports and their flags (``services=`` takes the same three names)."""

_TEXT_DETAILS = ("city", "rate_center", "prefix", "sub_type", "restriction", "restriction_text")
_NOT_AVAILABLE = re.compile(
    r"not available|no longer available|unavailable|already (?:taken|purchased|owned|rented)", re.IGNORECASE
)


class _Meta(BaseModel):
    model_config = ConfigDict(extra="allow")

    limit: int | None = Field(default=None, ge=1)
    offset: int | None = Field(default=None, ge=0)
    total_count: int | None = Field(default=None, ge=0)


class _Page(BaseModel):
    """The list envelope (search and owned list); records stay raw so one bad record cannot fail the page."""

    model_config = ConfigDict(extra="allow")

    api_id: str | None = None
    meta: _Meta | None = None
    objects: list[Any]


def _fold(name: str) -> str:
    """A country name for comparison: accents dropped, upper case, words of letters and digits only.

    A short name is remembered (bounded): a search reads the same few region and country names on
    thousands of records.
    """
    return _fold_short(name) if len(name) <= 80 else _folded(name)


@functools.lru_cache(maxsize=4096)
def _fold_short(name: str) -> str:
    return _folded(name)


def _folded(name: str) -> str:
    text = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return " ".join(re.findall(r"[A-Z0-9]+", text.upper()))


@functools.cache
def _names_by_code() -> Mapping[str, frozenset[str]]:
    return {code: frozenset(_fold(n) for n in names) for code, names in COUNTRY_NAMES.items()}


@functools.cache
def _codes_by_name() -> Mapping[str, str]:
    return {name: code for code, names in _names_by_code().items() for name in names}


@functools.lru_cache(maxsize=512)
def _country_of(name: str) -> tuple[str, str | None]:
    """(the folded name, the ISO code it names or None)."""
    folded = _fold(name)
    return folded, _codes_by_name().get(folded)


def _optional_text(rec: Mapping[str, Any], key: str) -> str | None:
    """A string field where null and "" both mean absent; anything but a string is a bad record."""
    value = rec.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise FieldError(f"expected a string or null, got {value!r}", field=key, value=value)
    return value.strip()


_LATA_DIGITS = 5
"""LATA codes are three digits; five leaves room and keeps a hostile digit string from ever reaching ``int``."""
_LATA_LIMIT = 10**_LATA_DIGITS


def _lata(rec: Mapping[str, Any]) -> int | None:
    """``lata``: an integer in the examples and the Go SDK, a string in the docs' table; both are read."""
    value = rec.get("lata")
    if value is None or value == "":
        return None
    number = wire.integer(rec, "lata", lenient=True)
    if number is not None and 0 <= number < _LATA_LIMIT:
        return number
    text = value.strip() if isinstance(value, str) else ""
    if text.isascii() and text.isdigit() and len(text) <= _LATA_DIGITS:
        return int(text)
    shown = value if not isinstance(value, str) or len(value) <= 20 else value[:20] + "…"
    raise FieldError(
        f"expected a LATA number of at most {_LATA_DIGITS} digits, got {shown!r}", field="lata", value=shown
    )


class PlivoProvider(Provider):
    """Plivo phone numbers: search, purchase and ownership over Plivo's REST API (HTTP Basic).

    Args:
        auth_id: the account Auth ID (``MA…`` or ``SA…``); env ``PLIVO_AUTH_ID``. It is a URL path
            segment, so it must be letters, digits, ``_`` or ``-``.
        auth_token: the account Auth Token; env ``PLIVO_AUTH_TOKEN``.
        **options: passed to :class:`numbroker.Provider` (``base_url``, ``http_client``, ``retry``…).

    Raises:
        MissingCredentialsError: a credential is neither passed nor set in the environment.
        ConfigurationError: the auth id cannot be a URL path segment, or the base URL is invalid.
    """

    id: ClassVar[str] = "plivo"
    display_name: ClassVar[str] = "Plivo"
    default_base_url: ClassVar[str] = "https://api.plivo.com/v1"
    account_id_credential: ClassVar[str | None] = "auth_id"
    credentials: ClassVar[Mapping[str, str]] = {"auth_id": "PLIVO_AUTH_ID", "auth_token": "PLIVO_AUTH_TOKEN"}
    filter_support: ClassVar[Mapping[QueryFilter, FilterSupport]] = {
        QueryFilter.COUNTRY: FilterSupport.NATIVE,
        # `type=` (fixed covers local and national; the sub_type tells them apart, checked per offer).
        QueryFilter.NUMBER_TYPE: FilterSupport.NATIVE,
        # `services=` voice, sms, mms (fax and WhatsApp are never reported, so never matched).
        QueryFilter.CAPABILITIES: FilterSupport.NATIVE,
        # `pattern=`: numbers starting with the country code + pattern.
        QueryFilter.PREFIX: FilterSupport.NATIVE,
        QueryFilter.CONTAINS: FilterSupport.EMULATED,
        QueryFilter.MAX_SETUP_PRICE: FilterSupport.EMULATED,
        QueryFilter.MAX_MONTHLY_PRICE: FilterSupport.EMULATED,
    }
    paging = "numbered"
    per_page = PER_PAGE
    sandbox = "numbroker_providers.plivo.sandbox:create_app"
    supports_purchase = True
    owned_paging = "numbered"
    owned_per_page = PER_PAGE
    after_purchase = AfterPurchase(
        can_list=True,
        can_get=True,
        release=ReleaseMode.IMMEDIATE,  # DELETE answers 204; support can restore it within 10 days
        states_prices=True,  # monthly_rental_rate, in USD by the docs (marked currency_assumed)
        states_renewals=True,  # renewal_date
        sub_accounts="subaccounts; the main account lists their numbers with sub_account",
    )
    record_id_field = "number"
    wire_fields: ClassVar[Mapping[str, str]] = {
        "e164": "number",
        "offer_id": "number",
        "country": "country",
        "region": "region",
        "setup_price": "setup_rate",
        "monthly_price": "monthly_rental_rate",
    }

    def __init__(self, *, auth_id: str | None = None, auth_token: str | None = None, **options: Any) -> None:
        super().__init__(**options)
        self._creds = self._resolve_credentials({"auth_id": auth_id, "auth_token": auth_token})
        self._auth_id = path_segment(self._creds["auth_id"].get_secret_value(), "PLIVO_AUTH_ID")
        pair = f"{self._auth_id}:{self._creds['auth_token'].get_secret_value()}"
        self._basic = base64.b64encode(pair.encode()).decode()
        self.connection.add_secret(self._basic)
        self._assigned_instead: dict[str, str] = {}
        """Numbers asked for → the number Plivo assigned in their place, when that purchase was not confirmed."""

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Basic {self._basic}"}

    def _error_envelope(self, body: Any, headers: Mapping[str, str]) -> ErrorEnvelope:
        """Plivo's ``{"api_id", "error"}``, its message never None; any other body (a proxy's page) says nothing.

        So an error whose ``vendor_message`` is not None was answered by Plivo itself.
        """
        if not isinstance(body, dict) or "error" not in body:
            return ErrorEnvelope()
        common = super()._error_envelope(body, headers)
        return dataclasses.replace(common, message=common.message or "")

    def _account_url(self, *segments: str) -> str:
        """``{base}/Account/{auth_id}/<segments>/``: every Plivo resource URL ends with a slash."""
        return self.connection.url("Account", self._auth_id, *segments) + "/"

    # -- search ------------------------------------------------------------------------------------

    def _params(self, query: SearchQuery, page: int) -> list[tuple[str, str | int]] | None:
        """The search parameters for one page, or None when Plivo sells no such type."""
        if query.number_type is None:
            vendor_type = "any"
        elif (known := _QUERY_TYPES.get(query.number_type)) is not None:
            vendor_type = known
        else:
            return None
        params: list[tuple[str, str | int]] = [("country_iso", query.country), ("type", vendor_type)]
        if query.prefix is not None:
            params.append(("pattern", query.prefix))
        services = [name.value for name, _flag in _SERVICES if name in query.capabilities]
        if services:
            params.append(("services", ",".join(services)))
        params += [("limit", self.per_page), ("offset", (page - 1) * self.per_page)]
        return params

    async def _fetch_page(self, query: SearchQuery, cursor: Cursor) -> RawPage:
        number = cursor if isinstance(cursor, int) else 1
        params = self._params(query, number)
        if params is None:
            assert query.number_type is not None
            self._note(f"Plivo sells no {query.number_type.value} numbers; nothing was requested")
            return RawPage(records=[], total=0)
        offset = (number - 1) * self.per_page
        response = await self.connection.get(self._account_url("PhoneNumber"), params=params)
        page = self._envelope(response, f"search page {number}")
        meta = page.meta or _Meta()
        if meta.offset is not None and meta.offset != offset:
            raise ProviderResponseError(self.id, f"asked for offset {offset}, got offset {meta.offset}; paging stopped")
        if (
            meta.limit is not None
            and meta.limit < self.per_page
            and len(page.objects) >= meta.limit
            and (meta.total_count is None or meta.total_count > offset + len(page.objects))
        ):
            raise ProviderResponseError(
                self.id,
                f"asked for limit={self.per_page}, Plivo paged by {meta.limit}; offset paging would skip records, "
                "so it stopped",
            )
        return RawPage(records=page.objects, total=meta.total_count)

    def _envelope(self, response: Any, what: str) -> _Page:
        try:
            return _Page.model_validate(self.connection.json(response))
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in error["loc"]) or "body"
            raise ProviderResponseError(self.id, f"{what}: unexpected envelope: {where}: {error['msg']}") from None

    # -- normalization -----------------------------------------------------------------------------

    def _record_id(self, record: Any) -> str | None:
        """A rejected record's id is its number as the offer id would have been (E.164, with the ``+``)."""
        found = super()._record_id(record)
        return _plus(found) if found is not None else None

    def _normalize(self, record: Any, query: SearchQuery) -> AvailableNumber:
        rec = wire.record(record)
        country_name = wire.text(rec, "country")
        assert country_name is not None
        folded, named = _country_of(country_name)
        own_names = _names_by_code().get(query.country, frozenset())
        if folded not in own_names:
            names = f"names {named}, not" if named is not None else "is not a name of"
            raise FieldError(
                f"country {country_name!r} {names} {query.country}, the country searched (country_iso)",
                field="country",
                value=country_name,
            )
        details: dict[str, JsonValue] = {}
        currency = rec.get("currency")
        if currency is None:
            currency = ASSUMED_CURRENCY
            details["currency_assumed"] = True
        else:
            currency = validate_currency(currency, field="currency")
        setup = self._price(rec, "setup_rate", currency)
        monthly = self._price(rec, "monthly_rental_rate", currency)
        for key in _TEXT_DETAILS:
            if (text := _optional_text(rec, key)) is not None:
                details[key] = text
        if (lata := _lata(rec)) is not None:
            details["lata"] = lata
        flags = {capability: wire.flag(rec, key) for capability, key in _SERVICES}
        capabilities = None if all(v is None for v in flags.values()) else [c for c, v in flags.items() if v]
        return make_offer(
            provider=self.id,
            offer_id=None,  # Plivo sells by number: the offer id is the E.164
            number=_plus(rec.get("number")),  # international digits without the "+"
            country=query.country,
            region=self._region(rec, own_names),
            number_type=self._number_type(rec, details),
            capabilities=capabilities,
            setup_price=setup,
            monthly_price=monthly,
            provider_details=details,
            strictness=self.number_strictness,
        )

    @staticmethod
    def _price(rec: Mapping[str, Any], key: str, currency: str) -> Money | None:
        value = rec.get(key)
        return None if value is None else money_from_string(value, currency, field=key)

    @staticmethod
    def _region(rec: Mapping[str, Any], country_names: frozenset[str]) -> str | None:
        """``region`` without a trailing country name ("California, UNITED STATES"); None if only the country."""
        region = _optional_text(rec, "region")
        if region is None:
            return None
        head, comma, tail = region.rpartition(",")
        if comma and _fold(tail) in country_names:
            region = head.strip()
        return None if not region or _fold(region) in country_names else region

    @staticmethod
    def _number_type(rec: Mapping[str, Any], details: dict[str, JsonValue]) -> NumberType | None:
        """The record's ``type`` refined by ``sub_type``; an unknown one is kept in details and inferred (None)."""
        value = _optional_text(rec, "type")
        if value is None:
            return None
        known = _RECORD_TYPES.get(value.lower())
        if known is None:
            details["vendor_number_type"] = value
            return None
        if known is NumberType.LOCAL and str(details.get("sub_type", "")).lower() == "national":
            return NumberType.NATIONAL
        return known

    # -- purchasing --------------------------------------------------------------------------------

    async def _purchase(self, offer: AvailableNumber) -> PurchaseReceipt:
        try:
            response = await self.connection.post(self._account_url("PhoneNumber", offer.e164[1:]), json={})
        except NotFoundError as exc:
            raise exc.recast(NumberUnavailableError, f"{exc.detail} (Plivo has no such number for sale)") from None
        except BadRequestError as exc:
            if _NOT_AVAILABLE.search(exc.detail):
                raise exc.recast(NumberUnavailableError) from None
            raise
        body, entry = self._fulfilled(response, offer)
        assigned = self._assigned(entry, offer)
        self._check_active(entry, offer, assigned)
        details: dict[str, JsonValue] = {"status": body["status"], "number_status": entry.get("status")}
        if (message := wire.pick(body, "message", str)) is not None:
            details["message"] = message[:200]
        if assigned != offer.e164:
            details["requested_e164"] = offer.e164
            purchase_logger.warning("%s: asked for %s, Plivo assigned %s", self.id, offer.e164, assigned)
        fallback = entry.get("fallback_number")
        if fallback:
            details["fallback_number"] = json_safe(fallback)
            purchase_logger.warning("%s: Plivo also assigned a fallback number %s", self.id, json_safe(fallback))
        api_id = wire.pick(body, "api_id", str)
        return PurchaseReceipt(
            provider=self.id,
            offer_id=offer.offer_id,
            e164=assigned,
            vendor_id=assigned[1:],
            request_id=api_id[:200] if api_id else self.connection.request_id(response),
            details=details,
        )

    def _fulfilled(
        self, response: httpx.Response, offer: AvailableNumber
    ) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
        """The answer (its ``status`` ``fulfilled``) and its entry for ``offer``: the one naming it, or the only one."""
        body = self.connection.json(response)
        if not isinstance(body, dict):
            raise ProviderResponseError(self.id, f"purchase answered {response.status_code} with an unexpected body")
        top = body.get("status")
        if not isinstance(top, str) or top.strip().lower() != "fulfilled":
            raise ProviderResponseError(
                self.id,
                f"purchase of {offer.e164} answered {response.status_code} with status {top!r}, not 'fulfilled'",
            )
        entries = [e for e in wire.pick(body, "numbers", list) or [] if isinstance(e, dict)]
        mine = [e for e in entries if same_number(_plus(e.get("number")), offer.e164)]
        entry = mine[0] if mine else (entries[0] if len(entries) == 1 else None)
        if entry is None:
            raise ProviderResponseError(
                self.id, f"purchase of {offer.e164} was 'fulfilled' but named {len(entries)} numbers, none of them it"
            )
        return body, entry

    def _check_active(self, entry: Mapping[str, Any], offer: AvailableNumber, assigned: str) -> None:
        """A number that is not ``Success`` yet (pending verification) is not bought until the owned list says so.

        When it is another number than the one asked, :meth:`owns` looks for that one in its place.
        """
        status = entry.get("status")
        state = status.strip().lower() if isinstance(status, str) else None
        if state == "success":
            return
        if assigned != offer.e164:
            self._assigned_instead[offer.e164] = assigned
        instead = "" if assigned == offer.e164 else f" (Plivo assigned {assigned} instead of {offer.e164})"
        what = "is pending verification" if state == "pending" else f"has status {status!r}"
        raise ProviderResponseError(
            self.id,
            f"{assigned} {what}{instead}: the order is 'fulfilled' but the number is not active, so it is not "
            "counted as bought until the account's numbers confirm it",
        )

    def _assigned(self, entry: Mapping[str, Any], offer: AvailableNumber) -> str:
        """The number the answer says was assigned, in E.164 (the one asked when the entry names none)."""
        raw = entry.get("number")
        if raw is None:
            return offer.e164
        try:
            return parse_e164(_plus(raw), strictness="possible").e164
        except FieldError:
            raise ProviderResponseError(
                self.id, f"purchase of {offer.e164} answered with an unreadable number {json_safe(raw)!r}"
            ) from None

    async def _owns_number(self, e164: str) -> bool:
        """True when ``e164`` is one of this account's numbers, active or awaiting verification.

        One ``GET Account/{auth_id}/Number/{number}/`` (reads are retried): 200 naming the number means
        owned; a 404 in Plivo's ``{api_id, error}`` envelope means not owned. Anything else (a 404 from
        something that is not Plivo, a 200 about another number) cannot prove either, so it raises
        (:meth:`numbroker.Provider.owns` asks again, up to ``retry.attempts`` times). When a purchase of
        ``e164`` was answered with another number that was not active yet, that number is looked up too:
        the account then holds it in place of the one asked, and a caller settling that purchase must
        count it.
        """
        if await self._lookup_owned(e164):
            return True
        instead = self._assigned_instead.get(e164)
        return instead is not None and await self._lookup_owned(instead)

    async def _lookup_owned(self, target: str) -> bool:
        try:
            response = await self.connection.get(self._account_url("Number", target[1:]))
        except NotFoundError as exc:
            if exc.vendor_message is not None:  # Plivo's own envelope: the number is not the account's
                return False
            raise ProviderResponseError(
                self.id, f"ownership of {target}: a 404 without Plivo's error envelope; ownership is unknown"
            ) from None
        body = self.connection.json(response)
        number = body.get("number") if isinstance(body, dict) else None
        if same_number(_plus(number), target):
            return True
        raise ProviderResponseError(
            self.id, f"ownership of {target}: the answer is about {json_safe(number)!r}; ownership is unknown"
        )

    # -- owned numbers -----------------------------------------------------------------------------

    async def _fetch_owned_page(self, query: OwnedQuery, cursor: Cursor) -> RawPage:
        number = cursor if isinstance(cursor, int) else 1
        size = self.owned_per_page
        offset = (number - 1) * size
        page = self._envelope(
            await self.connection.get(self._account_url("Number"), params={"limit": size, "offset": offset}),
            "owned numbers",
        )
        meta = page.meta or _Meta()
        if meta.offset is not None and meta.offset != offset:
            raise ProviderResponseError(self.id, f"owned numbers: asked for offset {offset}, got {meta.offset}")
        return RawPage(records=page.objects, total=meta.total_count)

    async def _release(self, number: OwnedNumber, *, immediate: bool) -> ReleaseAnswer:
        # Immediate at Plivo in any case: there is no cooldown to skip.
        response = await self.connection.send("DELETE", self._account_url("Number", _digits(number.e164)))
        if response.status_code != 204 and response.content.strip():
            body = self.connection.json(response)
            if isinstance(body, dict) and body.get("error"):
                raise self.connection.error(response, status=422, message=f"release refused: {body['error']}")
        return ReleaseAnswer(state=OwnedStatus.INACTIVE)

    def _normalize_owned(self, record: Any, query: OwnedQuery) -> OwnedNumber:
        data = wire.record(record)
        details: dict[str, JsonValue] = {}
        active = wire.flag(data, "active")
        vendor_type = wire.text(data, "number_type", optional=True)
        number_type = None if vendor_type is None else _RECORD_TYPES.get(vendor_type.lower())
        if vendor_type is not None and number_type is None:
            details["vendor_number_type"] = vendor_type
        for name in ("alias", "carrier", "city", "region", "country", "resource_uri"):
            value = data.get(name)
            if isinstance(value, str) and value:
                details[name] = value
        rate = data.get("monthly_rental_rate")
        price = None if rate is None else money_from_string(rate, ASSUMED_CURRENCY, field="monthly_rental_rate")
        if price is not None:
            details["currency_assumed"] = True  # the docs: "Monthly fee (USD)"; the record names no currency
        application = data.get("application")
        if application is not None and not isinstance(application, str):
            raise FieldError("application must be a URI or null", field="application", value=application)
        return make_owned(
            provider=self.id,
            provider_number_id=None,  # released by its number
            number=_plus(data.get("number")),
            country=None,  # a country name ("United States"): the number says which
            status=OwnedStatus.OTHER if active is None else OwnedStatus.ACTIVE if active else OwnedStatus.PENDING,
            vendor_status=None if active is None else f"active={str(active).lower()}",
            number_type=number_type,
            capabilities=[c for c, key in _SERVICES if data.get(key) is True] if _SERVICES[0][1] in data else None,
            monthly_price=price,
            next_renewal=read_date(data, "renewal_date"),
            routed=None if "application" not in data else bool(application),
            sub_account=wire.text(data, "sub_account", optional=True) or wire.text(data, "subaccount", optional=True),
            purchased_at=read_timestamp(data, "added_on"),
            provider_details=details,
        )


def _digits(e164: str) -> str:
    """A number as Plivo writes it in paths: the digits, without the ``+``."""
    return e164.lstrip("+")


def _plus(value: Any) -> Any:
    """Plivo's international digits as E.164 text (other values unchanged, for the readers to judge)."""
    return "+" + value if isinstance(value, str) and value.isdigit() else value
