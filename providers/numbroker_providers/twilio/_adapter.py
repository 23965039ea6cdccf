"""The Twilio adapter: available-number search joined with the Pricing API's price list, and purchases.

Wire facts this adapter relies on, with where they were read:

* ``twilio/twilio-oai`` at commit d50069b44ea8cd23141385bdb6db48f16ff75bb5, ``spec/json/twilio_api_v2010.json``:

  * search is ``GET /2010-04-01/Accounts/{AccountSid}/AvailablePhoneNumbers/{CountryCode}/{Type}.json``
    with ``Type`` one of ``Local``, ``Mobile``, ``TollFree``, ``National``, ``SharedCost``, ``Voip``,
    ``MachineToMachine``: the number type is part of the path and absent from the records;
  * ``GET /2010-04-01/Accounts/{AccountSid}/AvailablePhoneNumbers/{CountryCode}.json`` is the country
    resource, whose ``subresource_uris`` name the types the country has (keys ``local``, ``toll_free``...);
  * query parameters ``AreaCode`` (an integer, US and Canada only), ``Contains`` (2-16 characters),
    ``SmsEnabled``/``MmsEnabled``/``VoiceEnabled``/``FaxEnabled`` (booleans), ``PageSize`` (1-1000);
  * the answer is ``{available_phone_numbers: [...], next_page_uri, uri, ...}``; records carry
    ``phone_number``, ``friendly_name``, ``locality``, ``region``, ``postal_code``, ``iso_country``,
    ``lata``, ``rate_center``, ``latitude``/``longitude`` (typed numbers, strings in the examples),
    ``address_requirements`` (``none|any|local|foreign``), ``beta`` and ``capabilities``, and no price;
  * buying is ``POST /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json``, a form-encoded
    (``application/x-www-form-urlencoded``) body with ``PhoneNumber``, answered 201 with the new
    IncomingPhoneNumber (``sid`` ``PN…``, ``phone_number``, ``status``...); the owned list is
    ``GET .../IncomingPhoneNumbers.json`` with the ``PhoneNumber`` filter and ``PageSize``, paged by
    ``next_page_uri`` (a path with its query, relative to the API host);
  * both servers are HTTP Basic with the Account SID and the Auth Token.
* ``twilio/twilio-oai`` (same commit), ``spec/json/twilio_pricing_v1.json``: ``GET
  https://pricing.twilio.com/v1/PhoneNumbers/Countries/{IsoCountry}`` answers ``{country, iso_country,
  price_unit, phone_number_prices: [{number_type, base_price, current_price}]}``; ``price_unit`` is
  described as ISO 4217 "e.g. ``usd``" (lower-case) and shown as ``USD`` in the example; prices are typed
  numbers with a string override (strings in the example). The prices are monthly, per country and
  number type; ``current_price`` (after any discount) is what is charged. There is no setup price, so an
  offer's setup price is None (unknown), never zero.
* ``twilio/twilio-java``, ``src/main/java/com/twilio/type/PhoneNumberPrice.java`` (commit 035f0faf):
  ``number_type`` values ``local``, ``mobile``, ``national`` and ``toll free`` (with a space), read by
  upper-casing and removing spaces; this adapter compares them the same way (``shared cost`` included).
* ``twilio/twilio-java``, ``src/main/java/com/twilio/type/PhoneNumberCapabilities.java`` (commit
  179e78b8): the capability keys are ``voice``, ``SMS``, ``MMS`` and ``fax``, a key missing reading as
  false. The API definition says ``sms``/``mms``; the SDK's upper-case keys are what the live API sends
  (twilio/twilio-node issue 833), so keys are read case-insensitively and the SDK's "missing is false"
  is followed; two spellings of one key that disagree reject the record.
* twilio/twilio-node issue 316 and twilio/twilio-php issue 632 (maintainers): a search answers at most
  about 30 numbers and no next page, whatever ``PageSize`` says; twilio/twilio-csharp issue 136: the
  resource cannot be paged. An answer of 30 or more numbers is therefore reported as ``truncated``, with
  a note on how to narrow the search; a smaller answer is all Twilio has for that search.
* Errors are ``{code, message, more_info, status}``: 20003 authentication (401), 20404 not found (404),
  20429 too many concurrent requests (429, retried on reads), 21422 number not available (a purchase's
  :class:`~numbroker.NumberUnavailableError`), 21421 invalid number, 21631/21613 and bundle or address
  demands (refusals, with the reason in the message).

An answer at the cap is reported through the page's ``RawPage.truncated`` notes, which mark the run truncated.

The owned list (wire facts in :mod:`numbroker_providers.twilio._owned`) is walked as one token chain: the
account's ``IncomingPhoneNumbers.json`` by ``next_page_uri``, then each subaccount's that ``Accounts.json``
names (closed ones hold no numbers and are skipped). Each page's numbers are priced from the Pricing API's
list for their country by the record's ``type`` (``price_source: price_list``; a number whose type is not
stated, or which the list does not price, stays unpriced with a note: never a guess); the next renewal is
derived from ``date_created`` by Twilio's documented rule (monthly on the purchase day: ``renewal_source:
derived``); routed means a voice/SMS URL, an application SID or a trunk is set; a subaccount's numbers
carry its SID as ``sub_account``. Buying's ownership check reads the same owned-list hook, asking only the
buying account's list, filtered by ``PhoneNumber``.

A number is given back by ``DELETE /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{Sid}.json`` (the
API definition's ``DeleteIncomingPhoneNumber``: 204, "The resource was deleted successfully"), under the
SID of the account that holds it: a subaccount's number under the subaccount's SID, with the parent's
credentials, as its list is read. Immediate and final through the API (support: the console can buy it
back within 10 days, billing restarting), with no cooldown to skip. Only the documented 204 is a release;
another 2xx is no answer (the caller confirms against the owned list); a 404 (20404) means that account
does not hold the SID; other 4xx are refusals in Twilio's words (support: "Before a number can be released
any registered emergency address will need to be removed").
"""

from __future__ import annotations

import base64
import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import anyio
from pydantic import JsonValue, SecretStr

from numbroker import (
    AfterPurchase,
    AvailableNumber,
    BadRequestError,
    Capability,
    ConfigurationError,
    FilterSupport,
    Money,
    NotFoundError,
    NumberType,
    NumberUnavailableError,
    OwnedNumber,
    OwnedQuery,
    OwnedStatus,
    PriceSource,
    ProviderError,
    ProviderHTTPError,
    ProviderResponseError,
    PurchaseError,
    QueryFilter,
    ReleaseAnswer,
    ReleaseMode,
    RenewalSource,
    SearchQuery,
)
from numbroker.adapters import (
    Cursor,
    ErrorEnvelope,
    FieldError,
    Provider,
    PurchaseReceipt,
    RawPage,
    Tagged,
    check_base_url,
    json_safe,
    make_offer,
    make_owned,
    parse_e164,
    path_segment,
    read_timestamp,
    same_number,
    wire,
)
from numbroker_providers.twilio._owned import (
    DETAIL_FIELDS,
    OwnedTag,
    derived_renewal,
    make_token,
    owned_status,
    owned_type,
    routed,
    split_token,
)
from numbroker_providers.twilio._pricing import PriceList

__all__ = ["DEFAULT_PRICING_BASE_URL", "SEARCH_CAP", "TwilioProvider"]

DEFAULT_PRICING_BASE_URL = "https://pricing.twilio.com/v1"
"""Where the Pricing API lives (a host of its own)."""

SEARCH_CAP = 30
"""The most numbers one Twilio search answers (and it offers no next page)."""

_PAGE_SIZE = 1000
"""``PageSize`` sent with every search: the API definition's maximum (Twilio still answers at most ~30)."""

_OWNED_PAGE_SIZE = 250
"""``PageSize`` of the owned list (the API definition allows 1 to 1000, default 50).

Pages are read one after another, each normalized before the next is handed on; a page of a thousand
numbers held about 3 MB while it waited. A quarter of that keeps a large account's read in the memory
of the other providers' windows, for four times the (small) requests."""
_ACCOUNTS_PAGE_SIZE = 1000
"""``PageSize`` of the accounts list: the API definition's maximum (a subaccount is a few fields)."""
_NO_TAG = OwnedTag()
_UNREADABLE_ACCOUNTS = frozenset({401, 403, 404})

_PATHS: Mapping[NumberType, str] = {
    NumberType.LOCAL: "Local",
    NumberType.MOBILE: "Mobile",
    NumberType.TOLL_FREE: "TollFree",
    NumberType.NATIONAL: "National",
    NumberType.SHARED_COST: "SharedCost",
}
"""numbroker's number types and the path segment Twilio lists them under."""

_SUBRESOURCES: Mapping[str, NumberType] = {
    "local": NumberType.LOCAL,
    "mobile": NumberType.MOBILE,
    "toll_free": NumberType.TOLL_FREE,
    "national": NumberType.NATIONAL,
    "shared_cost": NumberType.SHARED_COST,
}
"""The country resource's ``subresource_uris`` keys numbroker searches (``voip`` and
``machine_to_machine`` have no numbroker type: they are named in a note, not searched)."""

_CAPABILITIES: Mapping[str, Capability] = {
    "voice": Capability.VOICE,
    "sms": Capability.SMS,
    "mms": Capability.MMS,
    "fax": Capability.FAX,
}
_FILTERS: Mapping[Capability, str] = {
    Capability.SMS: "SmsEnabled",
    Capability.MMS: "MmsEnabled",
    Capability.VOICE: "VoiceEnabled",
    Capability.FAX: "FaxEnabled",
}
_NANP_AREA = frozenset({"US", "CA"})
_DETAIL_TEXT = ("locality", "postal_code", "lata", "rate_center", "address_requirements")
_RECEIPT_FIELDS = ("status", "friendly_name", "address_requirements", "date_created", "type", "origin")
_NOT_AVAILABLE = "21422"
_INVALID_NUMBER = "21421"
_ADDRESS_OR_BUNDLE = frozenset({"21631", "21613"})
_SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")
"""An account (``AC…``) or number (``PN…``) SID: what a release's path is built from."""
_DEMAND = re.compile(r"\b(address|bundle)", re.IGNORECASE)
_TRUNCATED_NOTE = (
    "Twilio answers at most {cap} numbers per search and offers no next page; the {kind} answer for {country} "
    "held {count}, so more may exist: narrow the search (a number type, an area code or --prefix, --contains, "
    "capabilities) to see others"
)


@dataclass(frozen=True, slots=True)
class _Asked:
    """What a search record's request knew (its tag): the type its path asked for, and its joined prices."""

    number_type: NumberType | None
    monthly: Money | None = None
    base_price: Decimal | None = None


_UNASKED = _Asked(None)
"""The tag of a record that has none (one normalized on its own)."""

_Entry = Tagged[_Asked]


def _error_code(body: Any) -> str | None:
    """Twilio's numeric error ``code`` of an error body (``{code, message, more_info, status}``): a number or digits."""
    if not isinstance(body, dict):
        return None
    code = body.get("code")
    if isinstance(code, str) and code.isascii() and code.isdigit():
        return str(int(code))
    number = wire.integer(body, "code", lenient=True)
    return None if number is None else str(number)


class TwilioProvider(Provider):
    """Twilio phone numbers (HTTP Basic with the Account SID and Auth Token).

    Search: the number type is part of Twilio's search path, so a query with a type sends one request;
    a query without one first reads the country resource (which types the country has) and then asks
    every type numbroker knows, concurrently (at most ``page_concurrency`` at once), merged into one page
    in the order Local, Mobile, TollFree, National, SharedCost. Types the country lists that numbroker
    has no type for (``voip``, ``machine_to_machine``) are named in a note. ``AreaCode`` carries a
    US/Canadian ``prefix`` (its first three digits), ``Contains`` the ``contains`` digits (2-16 of them),
    ``SmsEnabled``/``MmsEnabled``/``VoiceEnabled``/``FaxEnabled=true`` the capabilities; numbroker
    re-checks every offer against the whole query.

    Twilio answers at most about 30 numbers per search and never a next page: an answer that size is
    reported ``truncated`` with a note saying how to narrow the search. It is never complete inventory.

    Prices: search records carry none. The Pricing API's list for the country
    (``GET {pricing_base_url}/PhoneNumbers/Countries/{ISO}``) is requested together with the first search
    request, once per search, and joined by number type: an offer's monthly price is the type's
    ``current_price`` in ``price_unit``, its setup price None: Twilio states none (``states_setup_prices`` is
    False, so buy-cheapest counts the first month as the first bill). When the price list
    cannot be had (any failure, a missing type, an unreadable price), the offers concerned stay unpriced
    and a note says why; the search itself does not fail.

    Buying: one form-encoded ``POST .../IncomingPhoneNumbers.json`` with ``PhoneNumber``. Error 21422 is
    :class:`~numbroker.NumberUnavailableError`; address and bundle demands (21631, 21613, or a message
    asking for one) are refusals whose message says what Twilio wants. Ownership reads
    ``IncomingPhoneNumbers.json?PhoneNumber=...`` over every page.
    """

    id: ClassVar[str] = "twilio"
    display_name: ClassVar[str] = "Twilio"
    default_base_url: ClassVar[str] = "https://api.twilio.com/2010-04-01"
    account_id_credential: ClassVar[str | None] = "account_sid"
    credentials: ClassVar[Mapping[str, str]] = {
        "account_sid": "TWILIO_ACCOUNT_SID",
        "auth_token": "TWILIO_AUTH_TOKEN",
    }
    settings: ClassVar[Mapping[str, str]] = {"pricing_base_url": "TWILIO_PRICING_BASE_URL"}
    filter_support: ClassVar[Mapping[QueryFilter, FilterSupport]] = {
        QueryFilter.COUNTRY: FilterSupport.NATIVE,
        QueryFilter.NUMBER_TYPE: FilterSupport.NATIVE,
        QueryFilter.CAPABILITIES: FilterSupport.NATIVE,
        QueryFilter.PREFIX: FilterSupport.EMULATED,
        QueryFilter.CONTAINS: FilterSupport.NATIVE,
        # Twilio states no setup price at all: none is charged, so every offer is under a setup-price cap.
        QueryFilter.MAX_SETUP_PRICE: FilterSupport.EMULATED,
        QueryFilter.MAX_MONTHLY_PRICE: FilterSupport.EMULATED,
    }
    paging = "none"
    page_concurrency: ClassVar[int] = 5
    sandbox: ClassVar[str | None] = "numbroker_providers.twilio.sandbox:create_app"
    supports_purchase: ClassVar[bool] = True
    states_setup_prices: ClassVar[bool] = False  # no setup fee is stated: buy-cheapest's first bill is the first month
    owned_paging = "token"
    owned_per_page: ClassVar[int] = _OWNED_PAGE_SIZE
    after_purchase = AfterPurchase(
        can_list=True,
        can_get=True,  # IncomingPhoneNumbers/{Sid}.json, or the list's PhoneNumber filter
        release=ReleaseMode.IMMEDIATE,  # DELETE answers 204; the console can buy it back within 10 days
        states_prices=False,  # the Pricing API's list by country and type (price_source: price_list)
        states_renewals=False,  # derived: billed monthly on the purchase day (renewal_source: derived)
        sub_accounts="subaccounts (Accounts.json), each listed under its own SID with the parent's credentials",
    )
    record_id_field: ClassVar[str | None] = "phone_number"
    wire_fields: ClassVar[Mapping[str, str]] = {
        "e164": "phone_number",
        "offer_id": "phone_number",
        "country": "iso_country",
        "region": "region",
        "monthly_price": "current_price",
    }
    owned_wire_fields: ClassVar[Mapping[str, str]] = {"provider_number_id": "sid"}

    def __init__(
        self,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        pricing_base_url: str | None = None,
        **options: Any,
    ) -> None:
        """Create the adapter.

        Args:
            account_sid: the Account SID (``AC…``; also a path segment); default env ``TWILIO_ACCOUNT_SID``.
            auth_token: the Auth Token; default env ``TWILIO_AUTH_TOKEN``.
            pricing_base_url: the Pricing API's base URL; default env ``TWILIO_PRICING_BASE_URL``, else
                ``https://pricing.twilio.com/v1``. ``https://``, or ``http://`` to a loopback address; a
                value starting with ``/`` is a path on the base URL's own origin (an emulator serving
                both APIs on one port).
            **options: the :class:`~numbroker.Provider` options (``base_url``, ``http_client``, ...).

        Raises:
            MissingCredentialsError: no Account SID or no Auth Token.
            ConfigurationError: the Account SID cannot be a path segment, or the pricing URL is not
                ``https://`` (or loopback ``http://``).
        """
        super().__init__(**options)
        self._creds = self._resolve_credentials({"account_sid": account_sid, "auth_token": auth_token})
        self._sid = path_segment(self._creds["account_sid"].get_secret_value(), "account_sid")
        pair = f"{self._sid}:{self._creds['auth_token'].get_secret_value()}"
        encoded = base64.b64encode(pair.encode()).decode()
        self.connection.add_secret(encoded)
        self._basic = SecretStr("Basic " + encoded)
        given = pricing_base_url
        pricing = self._setting("pricing_base_url", given, DEFAULT_PRICING_BASE_URL) or DEFAULT_PRICING_BASE_URL
        if pricing.startswith("/"):
            origin = urlsplit(self.base_url)
            pricing = f"{origin.scheme}://{origin.netloc}{pricing}"
        self.pricing_base_url = check_base_url(pricing, name="pricing_base_url" if given else "TWILIO_PRICING_BASE_URL")
        self._owned_accounts: tuple[str, ...] = (self._sid,)
        """The accounts the owned list walks, in order: this one, then its open subaccounts (read per walk)."""
        self._owned_prices: dict[str, PriceList] = {}
        """Price lists read for the owned list, by country (read once per walk)."""
        self._owned_unpriced: set[tuple[str, str]] = set()

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} id={self.id!r} base_url={self.redact(self.base_url)!r} "
            f"pricing_base_url={self.redact(self.pricing_base_url)!r}>"
        )

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": self._basic.get_secret_value()}

    def _error_envelope(self, body: Any, headers: Mapping[str, str]) -> ErrorEnvelope:
        """The common ``{code, message}`` reading, with Twilio's numeric ``code`` kept (21422: not available)."""
        return dataclasses.replace(super()._error_envelope(body, headers), code=_error_code(body))

    def _account_url(self, *segments: str) -> str:
        return self.connection.url("Accounts", self._sid, *segments)

    # -- searching ---------------------------------------------------------------------------------

    async def _fetch_page(self, query: SearchQuery, cursor: Cursor) -> RawPage:
        prices = PriceList()
        entries: list[_Entry] = []
        cut: list[str] = []
        failure: ProviderError | None = None
        async with anyio.create_task_group() as tg:
            # The price list's request leaves with the first search request, not after it: the search
            # waits only until the pricing request is handed to the transport (no round trip).
            leaving = anyio.Event()
            tg.start_soon(self._load_prices, query.country, prices, leaving)
            await leaving.wait()
            try:
                entries = await self._search(query, cut)
            except ProviderError as exc:
                failure = exc  # raised as itself below, not inside the task group's exception group
                tg.cancel_scope.cancel()
        if failure is not None:
            raise failure
        self._report_prices(query.country, prices, {e.tag.number_type for e in entries})
        return RawPage(records=[self._priced(entry, prices) for entry in entries], truncated=cut)

    async def _search(self, query: SearchQuery, cut: list[str]) -> list[_Entry]:
        """Every asked type's records in type order; a note for each answer at Twilio's cap goes to ``cut``."""
        if query.number_type is not None:
            if query.number_type not in _PATHS:
                self._note(f"Twilio sells no {query.number_type.value} numbers; nothing was requested")
                return []
            try:
                return await self._search_type(query, query.number_type, cut)
            except NotFoundError as exc:
                # A 404 is what a type the country does not have looks like; so is a wrong path.
                # The country resource tells them apart (one more request, on this path only).
                types, _ = await self._country_types(query.country, exc)
                if query.number_type in types:
                    raise
                if types:
                    self._note(f"Twilio lists no {_PATHS[query.number_type]} numbers for {query.country}")
                return []
        types, others = await self._country_types(query.country)
        if others:
            self._note(
                f"{query.country} also has {', '.join(others)} numbers at Twilio, which numbroker does not search"
            )
        results, missing = await self._fan_out(
            types,
            lambda number_type: self._search_type(query, number_type, cut),
            skip=lambda exc: isinstance(exc, NotFoundError),
        )
        for number_type, gone in missing.items():
            self._note(f"{_PATHS[number_type]} numbers were listed but not found: {gone.detail}")
        return [entry for entries in results.values() for entry in entries]

    def _params(self, query: SearchQuery) -> list[tuple[str, str]]:
        params: list[tuple[str, str]] = []
        if query.prefix is not None and query.country in _NANP_AREA and len(query.prefix) >= 3:
            params.append(("AreaCode", query.prefix[:3]))
        if query.contains is not None and 2 <= len(query.contains) <= 16:
            params.append(("Contains", query.contains))
        params += [(_FILTERS[c], "true") for c in query.capabilities if c in _FILTERS]
        params.append(("PageSize", str(_PAGE_SIZE)))
        return params

    async def _search_type(self, query: SearchQuery, number_type: NumberType, cut: list[str]) -> list[_Entry]:
        kind = _PATHS[number_type]
        url = self._account_url("AvailablePhoneNumbers", query.country, f"{kind}.json")
        body = self.connection.json(await self.connection.get(url, params=self._params(query)))
        records = wire.pick(body, "available_phone_numbers", list)
        if records is None:
            raise ProviderResponseError(
                self.id, f'{kind}: expected an object {{"available_phone_numbers": [...]}}, got {type(body).__name__}'
            )
        next_page = body.get("next_page_uri")
        if len(records) >= SEARCH_CAP or next_page:
            note = _TRUNCATED_NOTE.format(cap=SEARCH_CAP, kind=kind, country=query.country, count=len(records))
            if next_page:
                note += " (the answer named a next page, which a Twilio search does not have; it was not followed)"
            cut.append(note)
        return [Tagged(raw, _Asked(number_type)) for raw in records]

    async def _country_types(
        self, country: str, cause: ProviderError | None = None
    ) -> tuple[list[NumberType], list[str]]:
        """The types the country resource lists: (those numbroker searches, in order; the others' names).

        A country Twilio does not stock answers 404, and so would a wrong path: the account's own numbers
        (one more request, on this path only) tell them apart. When they answer, the account's path is
        right and the country has no numbers: nothing is listed (the search is empty, with a note).
        """
        url = self._account_url("AvailablePhoneNumbers", f"{country}.json")
        try:
            body = self.connection.json(await self.connection.get(url))
        except NotFoundError as exc:
            missing = (cause if isinstance(cause, NotFoundError) else exc).recast(
                NotFoundError, f"Twilio lists no available numbers for {country} ({exc.detail})"
            )
            try:
                await self.connection.get(self._account_url("IncomingPhoneNumbers.json"), params={"PageSize": "1"})
            except ProviderError:
                raise missing from None
            self._note(f"Twilio stocks no numbers in {country} (its country resource answered 404)")
            return [], []
        uris = wire.pick(body, "subresource_uris", dict)
        if uris is None:
            raise ProviderResponseError(self.id, f"country {country}: expected an object with subresource_uris")
        listed = {_SUBRESOURCES[k] for k in uris if k in _SUBRESOURCES}
        others = sorted(str(k) for k in uris if k not in _SUBRESOURCES)
        return [t for t in _PATHS if t in listed], others

    # -- the price list ----------------------------------------------------------------------------

    async def _load_prices(self, country: str, prices: PriceList, leaving: anyio.Event) -> None:
        """Fetch and read the country's price list into ``prices``; a failure is recorded, never raised.

        ``leaving`` is set as the request is handed to the transport (or when it fails before that).
        """
        try:
            await self._read_prices(country, prices, sent=leaving)
        finally:
            leaving.set()

    async def _read_prices(self, country: str, prices: PriceList, *, sent: anyio.Event | None = None) -> None:
        """One request for ``country``'s price list, read into ``prices`` (a failure is recorded there)."""
        url = self.pricing_base_url + "/PhoneNumbers/Countries/" + path_segment(country, "country")
        try:
            body = self.connection.json(await self.connection.get(url, sent=sent))
        except ProviderError as exc:
            prices.failure = f"the Pricing API failed ({type(exc).__name__}: {exc.detail})"
            return
        prices.read(body)

    def _report_prices(self, country: str, prices: PriceList, types: set[NumberType | None]) -> None:
        if not types:
            return
        asked = [_PATHS[number_type] for number_type in _PATHS if number_type in types]
        for note in prices.unpriced(country, asked):
            self._note(note)

    @staticmethod
    def _priced(entry: _Entry, prices: PriceList) -> _Entry:
        kind = entry.tag.number_type
        found = None if kind is None else prices.find(_PATHS[kind])
        return entry if found is None else Tagged(entry.record, _Asked(kind, found[0], found[1]))

    # -- normalization -----------------------------------------------------------------------------

    def _normalize(self, record: Any, query: SearchQuery) -> AvailableNumber:
        raw, asked = Tagged.split(record, _UNASKED)
        rec = wire.record(raw)
        details: dict[str, JsonValue] = {}
        for key in _DETAIL_TEXT:
            value = wire.words(rec, key)
            if value is not None:
                details[key] = value
        beta = wire.flag(rec, "beta")
        if beta is not None:
            details["beta"] = beta
        if asked.base_price is not None and asked.monthly is not None and asked.base_price != asked.monthly.amount:
            details["base_price"] = format(asked.base_price, "f")
        country = wire.words(rec, "iso_country")
        region = wire.words(rec, "region") or wire.words(rec, "locality")
        # Twilio sells by number: offer_id=None makes the offer id the canonical E.164.
        return make_offer(
            provider=self.id,
            offer_id=None,
            number=rec.get("phone_number"),
            country=country if country is not None else query.country,
            region=region,
            number_type=asked.number_type,
            capabilities=_capabilities(wire.mapping(rec, "capabilities")),
            setup_price=None,
            monthly_price=asked.monthly,
            provider_details=details,
            strictness=self.number_strictness,
        )

    # -- purchasing --------------------------------------------------------------------------------

    async def _purchase(self, offer: AvailableNumber) -> PurchaseReceipt:
        try:
            response = await self.connection.post(
                self._account_url("IncomingPhoneNumbers.json"), data={"PhoneNumber": offer.e164}
            )
        except BadRequestError as exc:
            raise _purchase_refusal(exc) from None
        answer = self.connection.json(response)
        if not isinstance(answer, dict):
            raise ProviderResponseError(self.id, f"purchase answered {response.status_code} without an object")
        bought = answer.get("phone_number")
        if not isinstance(bought, str) or not same_number(bought, offer.e164):
            raise ProviderResponseError(self.id, f"purchase of {offer.e164} answered with another number {bought!r}")
        return PurchaseReceipt(
            provider=self.id,
            offer_id=offer.offer_id,
            e164=offer.e164,
            vendor_id=wire.pick(answer, "sid", str) or None,
            request_id=response.headers.get("twilio-request-id") or self.connection.request_id(response),
            details={k: json_safe(answer[k]) for k in _RECEIPT_FIELDS if k in answer},
        )

    # -- owned numbers -----------------------------------------------------------------------------

    async def _fetch_owned_page(self, query: OwnedQuery, cursor: Cursor) -> RawPage:
        wanted = query.e164
        if wanted is not None:  # an ownership check: only the buying account's list, filtered by the number
            account, uri = split_token(str(cursor)) if cursor else (self._sid, "")
            records, next_uri = await self._incoming_page(account, uri, [("PhoneNumber", wanted)])
            return RawPage(records=records, next_token=make_token(account, next_uri) if next_uri else None)
        notes: list[str] = []
        if not cursor:
            self._owned_prices, self._owned_unpriced = {}, set()
            self._owned_accounts = await self._accounts(notes)
            account, uri = self._sid, ""
        else:
            account, uri = split_token(str(cursor))
        while True:
            records, next_uri = await self._incoming_page(account, uri, [])
            following = self._next_account(account) if not next_uri else account
            if records or following is None or next_uri:
                break
            account, uri = following, ""  # an empty subaccount: on to the next one in this same page
        next_token = None if following is None else make_token(following, next_uri or "")
        tagged = await self._tag_owned(records, account)
        return RawPage(records=tagged, next_token=next_token, truncated=notes)

    def _next_account(self, account: str) -> str | None:
        accounts = self._owned_accounts
        if account not in accounts:
            raise ProviderResponseError(self.id, f"owned numbers: account {account} is not among those being listed")
        index = accounts.index(account) + 1
        return accounts[index] if index < len(accounts) else None

    async def _incoming_page(
        self, account: str, uri: str, first: list[tuple[str, str]]
    ) -> tuple[list[Any], str | None]:
        """One page of ``account``'s IncomingPhoneNumbers: its first (``uri`` empty) or the one ``uri`` names."""
        url = self.connection.url("Accounts", path_segment(account, "account_sid"), "IncomingPhoneNumbers.json")
        params: Sequence[tuple[str, str]] = [*first, ("PageSize", str(_OWNED_PAGE_SIZE))]
        if uri:
            params = self._next_query(url, uri)
        answer = self.connection.json(await self.connection.get(url, params=params))
        items = wire.pick(answer, "incoming_phone_numbers", list)
        if items is None:
            raise ProviderResponseError(self.id, "owned numbers: expected {'incoming_phone_numbers': [...]}")
        next_uri = wire.pick(answer, "next_page_uri", str) or None
        used = dict(params).get("PageToken")
        if next_uri and used and dict(self._next_query(url, next_uri)).get("PageToken") == used:
            # The page number moves on but the token does not: the same page again, for ever.
            raise ProviderResponseError(self.id, f"owned numbers of {account}: the next page repeated the page token")
        return items, next_uri

    def _next_query(self, url: str, uri: str) -> list[tuple[str, str]]:
        """A ``next_page_uri``'s query, once it is known to name ``url``'s own resource (credentials stay home)."""
        parts = urlsplit(uri)
        if parts.scheme or parts.netloc or not urlsplit(url).path.endswith(parts.path):
            raise ProviderResponseError(self.id, f"owned numbers: next_page_uri points elsewhere: {uri!r}")
        return parse_qsl(parts.query, keep_blank_values=True)

    async def _accounts(self, notes: list[str]) -> tuple[str, ...]:
        """This account, then each open subaccount ``Accounts.json`` names (every page of it)."""
        url = self.connection.url("Accounts.json")
        params: Sequence[tuple[str, str]] = [("PageSize", str(_ACCOUNTS_PAGE_SIZE))]
        found: list[str] = [self._sid]
        for _ in range(self.owned_max_pages):
            try:
                answer = self.connection.json(await self.connection.get(url, params=params))
            except ProviderHTTPError as exc:
                if exc.status_code not in _UNREADABLE_ACCOUNTS:
                    raise
                notes.append(f"subaccounts could not be listed ({exc.detail}); only this account's numbers are shown")
                return tuple(found)
            accounts = wire.pick(answer, "accounts", list)
            if accounts is None:
                raise ProviderResponseError(self.id, "accounts: expected {'accounts': [...]}")
            for account in accounts:
                sid = wire.pick(account, "sid", str) if isinstance(account, dict) else None
                state = (wire.pick(account, "status", str) or "") if isinstance(account, dict) else ""
                if sid and sid not in found and state.lower() != "closed":
                    try:
                        found.append(path_segment(sid, "subaccount sid"))
                    except ConfigurationError:  # not a sid: the list without its numbers is cut short
                        notes.append(
                            "a subaccount's sid is not one (it cannot go into a URL): its numbers are not shown"
                        )
            uri = wire.pick(answer, "next_page_uri", str)
            if not uri:
                return tuple(found)
            params = self._next_query(url, uri)
        raise ProviderResponseError(self.id, f"accounts: more than {self.owned_max_pages} pages; not read completely")

    async def _tag_owned(self, records: list[Any], account: str) -> list[Any]:
        """Each record tagged with its account and the price list's monthly price for its country and type."""
        places: list[tuple[str, str] | None] = [_priced_as(record) for record in records]
        missing = sorted({p[0] for p in places if p is not None} - self._owned_prices.keys())
        if missing:

            async def load(country: str) -> PriceList:
                prices = PriceList()
                await self._read_prices(country, prices)
                return prices

            loaded, _ = await self._fan_out(missing, load)
            self._owned_prices.update(loaded)
        tagged: list[Any] = []
        for record, place in zip(records, places, strict=True):
            found = None
            if place is not None:
                country, kind = place
                found = self._owned_prices[country].find(kind)
                if found is None:
                    self._unpriced(country, kind)
            monthly, base = found if found is not None else (None, None)
            tagged.append(Tagged(record, OwnedTag(account, monthly, base)))
        return tagged

    def _unpriced(self, country: str, kind: str) -> None:
        if (country, kind) in self._owned_unpriced:
            return
        self._owned_unpriced.add((country, kind))
        for note in self._owned_prices[country].unpriced(country, [kind]):
            self._note(note.replace("offers for", "numbers in", 1))

    def _normalize_owned(self, record: Any, query: OwnedQuery) -> OwnedNumber:
        raw, tag = Tagged.split(record, _NO_TAG)
        data = wire.record(raw)
        details: dict[str, JsonValue] = {}
        for key in DETAIL_FIELDS:
            value = data.get(key)
            if isinstance(value, str) and value:
                details[key] = value
        if tag.base_price is not None and tag.monthly is not None and tag.base_price != tag.monthly.amount:
            details["base_price"] = format(tag.base_price, "f")
        created = read_timestamp(data, "date_created")
        holder = wire.text(data, "account_sid", optional=True) or tag.account
        vendor_status = wire.text(data, "status", optional=True)
        owned = make_owned(
            provider=self.id,
            provider_number_id=wire.text(data, "sid"),
            number=data.get("phone_number"),
            country=None,  # IncomingPhoneNumbers name no country: the number's numbering plan does
            status=owned_status(vendor_status),
            vendor_status=vendor_status,
            number_type=owned_type(data, details),
            capabilities=_capabilities(wire.mapping(data, "capabilities")),
            next_renewal=None if created is None else derived_renewal(created.date(), datetime.now(UTC).date()),
            renewal_source=RenewalSource.DERIVED,
            routed=routed(data),
            sub_account=None if holder in (None, self._sid) else holder,
            purchased_at=created,
            provider_details=details,
        )
        return owned if tag.monthly is None else owned.with_price(tag.monthly, PriceSource.PRICE_LIST)

    # -- giving numbers back -----------------------------------------------------------------------

    async def _release(self, number: OwnedNumber, *, immediate: bool) -> ReleaseAnswer:
        # Immediate at Twilio: there is no cooldown to skip. The number goes under the account that holds it.
        holder, sid = number.sub_account or self._sid, number.provider_number_id or ""
        if not (_SID.fullmatch(holder) and _SID.fullmatch(sid)):
            raise PurchaseError(f"{self.id}: {number.e164} is not listed under a usable account and number SID")
        url = self.connection.url("Accounts", holder, "IncomingPhoneNumbers", f"{sid}.json")
        response = await self.connection.send("DELETE", url)
        if response.status_code != 204:
            raise ProviderResponseError(
                self.id, f"the release of {number.e164} answered {response.status_code}, not 204; outcome unknown"
            )
        return ReleaseAnswer(state=OwnedStatus.INACTIVE)


def _priced_as(record: Any) -> tuple[str, str] | None:
    """``(country, type)`` the price list prices a record by; None when its number or type does not say."""
    if not isinstance(record, dict):
        return None
    kind, number = record.get("type"), record.get("phone_number")
    if not isinstance(kind, str) or not kind.strip() or not isinstance(number, str):
        return None
    try:
        region = parse_e164(number).region  # a valid number's country, as the owned record will say
    except FieldError:
        return None
    return None if region is None else (region, kind)


def _purchase_refusal(exc: BadRequestError) -> ProviderHTTPError:
    """What a purchase's 4xx means, by Twilio's error code."""
    code = exc.vendor_code
    if code == _NOT_AVAILABLE:
        return exc.recast(NumberUnavailableError, f"{exc.detail} (no longer available)")
    if code in _ADDRESS_OR_BUNDLE or _DEMAND.search(exc.detail):
        return exc.recast(
            BadRequestError,
            f"{exc.detail} (Twilio wants an Address or a regulatory Bundle on file for this number; "
            "numbroker sends neither)",
        )
    if code == _INVALID_NUMBER:
        return exc.recast(BadRequestError, f"{exc.detail} (Twilio calls the number invalid)")
    return exc


def _capabilities(raw: Mapping[str, Any] | None) -> list[Capability] | None:
    """Twilio's ``capabilities`` object, keys read case-insensitively; None when the record has none."""
    if raw is None:
        return None
    found: dict[Capability, bool] = {}
    for key, value in raw.items():
        capability = _CAPABILITIES.get(str(key).lower())
        if capability is None:
            continue
        if not isinstance(value, bool):
            raise FieldError(f"expected true or false, got {value!r}", field=f"capabilities.{key}", value=value)
        if found.get(capability, value) != value:
            raise FieldError(
                f"two spellings of {capability.value!r} disagree", field=f"capabilities.{key}", value=value
            )
        found[capability] = value
    return [c for c, on in found.items() if on]
