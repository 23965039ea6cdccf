"""The Vonage adapter: number search (``GET /number/search``), purchases, the owned list and releases.

Wire facts this adapter relies on, with where they were read:

* Sources: Vonage's API definition ``Nexmo/api-specification`` ``definitions/numbers.yml`` (commit
  ad042003e946, last changed in 2020; "the spec" below) and its current SDK ``Vonage/vonage-python-sdk``
  ``number_management/src/vonage_numbers/{number_management,requests,responses,enums}.py`` with the
  fixtures in ``number_management/tests/data/`` (commit b308cb1e9419; "the SDK"); the SDK's HTTP client
  ``http_client/src/vonage_http_client/{http_client,auth}.py`` (same commit); and the issue thread
  ``Vonage/vonage-node-sdk#928``. Where they disagree, which one is followed is said below.
* auth: the spec declares ``api_key``/``api_secret`` query parameters; the SDK sends HTTP Basic
  (``Authorization: Basic base64(key:secret)``; ``_auth_type = 'basic'``). This adapter follows the SDK:
  credentials travel only in that header, never in a URL (a URL reaches logs, proxies and error
  messages); the header value is registered as a secret, so a vendor echoing it is redacted too.
* search: ``GET {base}/number/search`` with ``country`` (required), ``type`` (``landline``,
  ``mobile-lvn``, ``landline-toll-free``), ``features`` (``SMS``, ``VOICE``, ``MMS``; several as one
  comma-joined value, all required: the spec's enum spells the combinations, and those spellings are sent),
  ``pattern`` with ``search_pattern`` (0 starts with, the pattern then including the country code; 1
  contains; 2 ends with), ``size`` (spec: at most 100, default 10; sent as 100) and ``index``.
* ``index`` is a **page number** from 1 (spec: "Page index", default 1; the SDK returns ``index + 1`` as
  the next page while ``count > size * index``), not an offset: a client sending offsets gets ``{}``
  past the end and loses the rest (vonage-node-sdk#928). Numbered paging (``paging = "numbered"``): page
  1 gives ``count``, the other pages are fetched concurrently. A short page while ``count`` says more
  records lie beyond it means the vendor paged by another size: the paging engine reads on at that size
  and reports the provider truncated if the pages stay short of ``count``.
* answer: ``{"count": int, "numbers": [...]}``; an empty answer may carry neither key (the SDK's
  ``nothing.json`` is ``{}``, and it treats a missing ``numbers`` as no numbers).
* records: ``country``, ``msisdn`` (the full international number in digits, without ``+``),
  ``type``, ``features`` (a list of names) and ``cost``: a decimal **string**, "the monthly rental cost
  for this number, in Euros" (spec, ``availablenumber.cost``; the SDK's ``AvailableNumber`` docstring
  says the same). No record names a currency, so EUR is assumed from that sentence and every offer is
  marked ``provider_details["currency_assumed"] = True`` (buy-cheapest skips such offers unless told
  ``allow_assumed_currency``). There is no setup price at all: ``setup_price`` is None and the setup
  price filter is unsupported (buy-cheapest counts the first bill as the first month).
* Vonage has no offer id: it buys by number, so an offer's id is its canonical E.164.
* buying: ``POST {base}/number/buy``, form-encoded (spec ``requestBody``:
  ``application/x-www-form-urlencoded``; the SDK's ``_sent_data_type = 'form'``) ``country`` and
  ``msisdn``. The answer is ``{"error-code", "error-code-label"}``; success is the body's ``error-code``
  being ``"200"`` (the SDK's ``_check_for_error``), not the HTTP status: a 2xx with any other code is a
  failure, read as if that code were the HTTP status. HTTP 420 with ``error-code-label`` is a refusal
  (spec ``response420``: "you may need to request the number via the dashboard, or you may already own
  this number"); the label is kept as the reason. The SDK's fixture for a number that cannot be bought
  (``no_number.json``) is a 420 ``method failed``, so a 420 never proves the number gone: it is a
  refusal (nothing bought, Vonage not asked again in the run), not "gone".
* owned numbers (the owned-list hook, and ownership): ``GET {base}/account/numbers`` with ``size`` (at most
  100) and ``index`` (the same page numbers), answering ``{"count", "numbers": [...]}`` or ``{}`` (spec
  ``inbound-numbers``; ``count`` is "the total amount of numbers owned by the account"). An ownership check
  narrows it with ``pattern=<the number's digits>`` and ``search_pattern=1`` (contains: whatever form the
  vendor keeps, the full digits are in it); the core then compares canonical numbers, so the narrowing
  never decides on its own. Records (spec ``ownednumber``): ``country``, ``msisdn`` (digits, no ``+``),
  ``type``, ``features``, ``voiceCallbackType`` (``sip``, ``tel``, ``app``) with ``voiceCallbackValue``,
  ``messagesCallbackType``/``messagesCallbackValue`` (deprecated) and ``moHttpUrl``; the SDK's model adds
  ``app_id`` (its fixture ``list_owned_numbers_basic.json`` has it, the spec does not). A number is routed
  when any of ``app_id``, ``voiceCallbackValue``, ``messagesCallbackValue`` or ``moHttpUrl`` is set; a
  record with none of those fields does not say. **No price, status, purchase or renewal date**: a
  listed number is one the account rents (``active``, with no vendor word for it); its price is only the
  ledger's; the renewal ("on the same date of the next month", support) cannot be derived without the
  purchase date the list does not give. Subaccounts list their own numbers with their own API key (one
  provider per key): ``sub_account`` stays null. A number is cancelled by ``country`` and ``msisdn``
  (``POST /number/cancel``), so its id here is its E.164 (the country is the record's own).
* releasing: ``POST {base}/number/cancel``, form-encoded ``country`` and ``msisdn`` (what the SDK's
  ``cancel_number`` sends; the spec: "Cancel your subscription for a specific inbound number"), answering
  ``{"error-code", "error-code-label"}`` like a purchase: ``"200"`` is success, immediate (the spec states
  no period and no undo; support's 90-day buy-back is a console matter). Any other ``error-code`` under
  HTTP 200 is a failure (the SDK's ``_check_for_error``; its fixture ``no_number.json``,
  ``{"error-code": "420", "error-code-label": "method failed"}``, is served with HTTP 200): a 4xx code is a
  refusal with the label as its reason, a 5xx code is read as that server error (the caller confirms
  against the owned list), and a body with no ``error-code`` (or a code that is no HTTP status) is no
  answer. The number is sent as the exact digits the owned list holds (a cancel that took another form of
  a number cancelled another one: vonage-php-sdk-core#100).
* no request rate is documented for these endpoints, so none is enforced (429s are retried).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx
from pydantic import JsonValue

from numbroker import (
    AfterPurchase,
    AvailableNumber,
    BadRequestError,
    Capability,
    ConfigurationError,
    FilterSupport,
    NumberType,
    OwnedNumber,
    OwnedQuery,
    OwnedStatus,
    ProviderError,
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
    make_offer,
    make_owned,
    money_from_string,
    wire,
)

__all__ = ["CURRENCY", "VonageProvider"]

CURRENCY = "EUR"
"""The currency of every Vonage ``cost`` (assumed: the spec says "in Euros"; records carry no currency)."""

_TYPES: Mapping[str, NumberType] = {
    "landline": NumberType.LOCAL,
    "mobile-lvn": NumberType.MOBILE,
    "landline-toll-free": NumberType.TOLL_FREE,
}
"""Vonage's number types (spec ``parameters.type``, the SDK's ``NumberType``) → the neutral ones."""
_WIRE_TYPES: Mapping[NumberType, str] = {neutral: name for name, neutral in _TYPES.items()}

_FEATURES: Mapping[str, Capability] = {"SMS": Capability.SMS, "VOICE": Capability.VOICE, "MMS": Capability.MMS}
_REPORTED = frozenset(_FEATURES.values())
"""The capabilities Vonage reports; fax and WhatsApp never appear in ``features``."""
_FEATURE_VALUES: Mapping[frozenset[Capability], str] = {
    frozenset({Capability.SMS}): "SMS",
    frozenset({Capability.VOICE}): "VOICE",
    frozenset({Capability.MMS}): "MMS",
    frozenset({Capability.SMS, Capability.VOICE}): "SMS,VOICE",
    frozenset({Capability.SMS, Capability.MMS}): "SMS,MMS",
    frozenset({Capability.VOICE, Capability.MMS}): "VOICE,MMS",
    frozenset({Capability.SMS, Capability.MMS, Capability.VOICE}): "SMS,MMS,VOICE",
}
"""The ``features`` values of the spec's enum, by the set of capabilities they require."""

_MSISDN = re.compile(r"\+?[1-9][0-9]{1,14}")
_NOT_DIGITS = re.compile(r"[^0-9]")
_MAX_SIZE = 100
_OK = "200"
_ROUTING = ("app_id", "voiceCallbackValue", "messagesCallbackValue", "moHttpUrl")
"""Where an owned number's calls and messages go: an application, a SIP URI or number, a webhook."""
_OWNED_TEXT = ("app_id", "voiceCallbackType", "voiceCallbackValue", "messagesCallbackType", "messagesCallbackValue")


class VonageProvider(Provider):
    """Vonage (formerly Nexmo) numbers available to buy, at ``https://rest.nexmo.com``.

    Offers are priced monthly in EUR, marked ``currency_assumed`` (see the module docstring), with no
    setup price; the offer id is the number. ``provider_details`` keeps a type or feature Vonage names
    that numbroker has no word for (``vendor_type``, ``other_features``).
    """

    id: ClassVar[str] = "vonage"
    display_name: ClassVar[str] = "Vonage"
    default_base_url: ClassVar[str] = "https://rest.nexmo.com"
    account_id_credential: ClassVar[str | None] = "api_key"
    credentials: ClassVar[Mapping[str, str]] = {"api_key": "VONAGE_API_KEY", "api_secret": "VONAGE_API_SECRET"}
    filter_support: ClassVar[Mapping[QueryFilter, FilterSupport]] = {
        QueryFilter.COUNTRY: FilterSupport.NATIVE,
        QueryFilter.NUMBER_TYPE: FilterSupport.NATIVE,
        QueryFilter.CAPABILITIES: FilterSupport.NATIVE,
        # `pattern` with search_pattern=0 (starts with; calling code + prefix).
        QueryFilter.PREFIX: FilterSupport.NATIVE,
        # `pattern` with search_pattern=1 (contains); one pattern per request, so with a prefix it is emulated.
        QueryFilter.CONTAINS: FilterSupport.NATIVE,
        QueryFilter.MAX_SETUP_PRICE: FilterSupport.EMULATED,  # no setup price stated: none charged, under any cap
        QueryFilter.MAX_MONTHLY_PRICE: FilterSupport.EMULATED,
    }
    paging = "numbered"
    per_page: ClassVar[int] = _MAX_SIZE
    sandbox: ClassVar[str | None] = "numbroker_providers.vonage.sandbox:create_app"
    supports_purchase: ClassVar[bool] = True
    states_setup_prices: ClassVar[bool] = False  # no setup price at all: a missing one is none, not unknown
    owned_paging = "numbered"
    owned_per_page: ClassVar[int] = _MAX_SIZE
    after_purchase = AfterPurchase(
        can_list=True,
        can_get=True,  # the owned list narrowed by pattern
        release=ReleaseMode.IMMEDIATE,  # POST /number/cancel answers at once; the API states no period
        states_prices=False,
        states_renewals=False,
        sub_accounts="subaccounts, each with its own API key (one provider per key)",
    )
    record_id_field: ClassVar[str | None] = "msisdn"  # read by _record_id below
    wire_fields: ClassVar[Mapping[str, str]] = {
        "offer_id": "msisdn",
        "e164": "msisdn",
        "country": "country",
        "number_type": "type",
        "capabilities": "features",
        "monthly_price": "cost",
    }

    def __init__(self, *, api_key: str | None = None, api_secret: str | None = None, **options: Any) -> None:
        """Create the adapter.

        Args:
            api_key: the account's API key; default env ``VONAGE_API_KEY``.
            api_secret: the account's API secret; default env ``VONAGE_API_SECRET``.
            **options: the :class:`~numbroker.Provider` options (``base_url``, ``http_client``, ...).

        Raises:
            MissingCredentialsError: a credential is neither passed nor set in the environment.
            ConfigurationError: the API key contains ``:`` (HTTP Basic cannot carry it), or the base URL is invalid.
        """
        super().__init__(**options)
        self._creds = self._resolve_credentials({"api_key": api_key, "api_secret": api_secret})
        key = self._creds["api_key"].get_secret_value()
        if ":" in key:
            raise ConfigurationError(f"{self.id}: the API key (VONAGE_API_KEY) must not contain ':'")
        pair = f"{key}:{self._creds['api_secret'].get_secret_value()}"
        self._basic = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        self.connection.add_secret(self._basic.removeprefix("Basic "))

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": self._basic}

    def _record_id(self, record: Any) -> str | None:
        """A rejected record's id: its number as ``+`` and the digits Vonage wrote, like an offer's id."""
        msisdn = record.get("msisdn") if isinstance(record, Mapping) else None
        if isinstance(msisdn, int) and not isinstance(msisdn, bool):
            msisdn = str(msisdn)
        digits = _NOT_DIGITS.sub("", msisdn) if isinstance(msisdn, str) else ""
        return "+" + digits[:30] if digits else None

    # -- search ------------------------------------------------------------------------------------

    def unapplied_filters(self, query: SearchQuery) -> dict[QueryFilter, FilterSupport]:
        """The filters ``query`` uses that Vonage cannot apply natively, refined per value.

        Fax and WhatsApp are never among a number's ``features``, so a query needing them cannot be
        decided; ``contains`` together with a prefix is checked by numbroker (one pattern per request).
        """
        out = super().unapplied_filters(query)
        if any(cap not in _REPORTED for cap in query.capabilities):
            out[QueryFilter.CAPABILITIES] = FilterSupport.UNSUPPORTED
        term = self._pattern(query)
        if query.contains is not None and (term is None or query.contains not in term[0]):
            out[QueryFilter.CONTAINS] = FilterSupport.EMULATED
        return out

    @staticmethod
    def _pattern(query: SearchQuery) -> tuple[str, int] | None:
        """``(pattern, search_pattern)`` for ``query``, or None.

        A prefix is sent as starts-with on calling code + prefix (the spec: the pattern then includes
        the country code), which is exact; ``contains`` alone as contains. Both: the prefix is sent and
        ``contains`` is checked on every offer by numbroker (it always re-checks both anyway).
        """
        if query.prefix is not None:
            return f"{query.calling_code}{query.prefix}", 0
        if query.contains is not None:
            return query.contains, 1
        return None

    def _params(self, query: SearchQuery, index: int) -> list[tuple[str, str]]:
        params = [("country", query.country)]
        if query.number_type is not None:
            params.append(("type", _WIRE_TYPES[query.number_type]))
        wanted = frozenset(cap for cap in query.capabilities if cap in _REPORTED)
        if wanted:
            params.append(("features", _FEATURE_VALUES[wanted]))
        term = self._pattern(query)
        if term is not None:
            params += [("pattern", term[0]), ("search_pattern", str(term[1]))]
        params += [("size", str(self.per_page)), ("index", str(index))]
        return params

    async def _fetch_page(self, query: SearchQuery, cursor: Cursor) -> RawPage:
        if query.number_type is not None and query.number_type not in _WIRE_TYPES:
            self._note(f"Vonage sells no {query.number_type.value} numbers; nothing was requested")
            return RawPage(records=[])
        index = cursor if isinstance(cursor, int) else 1
        response = await self.connection.get(self.connection.url("number", "search"), params=self._params(query, index))
        numbers, count = self._listing(response, f"search page {index}")
        if (
            numbers
            and len(numbers) < self.per_page
            and count is not None
            and count > (index - 1) * self.per_page + len(numbers)
        ):
            # Vonage does not echo the page size, so an overstated count cannot be told from a page size other
            # than the one asked for: say so; the paging engine reads on and reports what stays missing.
            self._note(
                f"page {index} held {len(numbers)} numbers (size={self.per_page}) while count={count} says more "
                "exist; Vonage does not echo the page size"
            )
        return RawPage(records=numbers, total=count)

    def _listing(self, response: httpx.Response, what: str) -> tuple[list[Any], int | None]:
        """``(numbers, count)`` of a search or owned-list answer (``{}`` is an empty one)."""
        body = self.connection.json(response)
        if not isinstance(body, dict):
            raise ProviderResponseError(self.id, f"{what}: expected a JSON object, got {type(body).__name__}")
        code = body.get("error-code")
        if code is not None and str(code) != _OK:
            raise self._body_error(response, body)
        numbers = body.get("numbers", [])
        if numbers is None:
            numbers = []
        if not isinstance(numbers, list):
            raise ProviderResponseError(self.id, f"{what}: 'numbers' is {type(numbers).__name__}, not an array")
        return numbers, wire.count(body, "count")  # no count: the walk goes on until a short page

    # -- normalization -----------------------------------------------------------------------------

    def _normalize(self, record: Any, query: SearchQuery) -> AvailableNumber:
        rec = wire.record(record)
        msisdn = _msisdn(rec)
        details: dict[str, JsonValue] = {"currency_assumed": True}
        number_type: NumberType | None = None
        vendor_type = wire.text(rec, "type", optional=True)
        if vendor_type is not None:
            number_type = _TYPES.get(vendor_type.strip().lower(), NumberType.UNKNOWN)
            if number_type is NumberType.UNKNOWN:
                details["vendor_type"] = vendor_type
        capabilities = _capabilities(wire.items(rec, "features"), details)
        cost = rec.get("cost")
        if cost is None:
            raise FieldError("no monthly price (cost)", field="cost", value=None)
        monthly = money_from_string(cost, CURRENCY, field="cost")
        country = rec.get("country")
        try:
            return make_offer(
                provider=self.id,
                offer_id=None,  # Vonage buys by number: the offer id is the canonical E.164
                number=msisdn if msisdn.startswith("+") else "+" + msisdn,
                country=country if country is not None else query.country,
                number_type=number_type,
                capabilities=capabilities,
                setup_price=None,  # Vonage has no setup price
                monthly_price=monthly,
                provider_details=details,
                strictness=self.number_strictness,
            )
        except FieldError as exc:
            if exc.field == "e164":  # the number as Vonage wrote it, not with the '+' added here
                raise FieldError(exc.reason, field="msisdn", value=msisdn) from None
            raise

    # -- purchasing --------------------------------------------------------------------------------

    async def _purchase(self, offer: AvailableNumber) -> PurchaseReceipt:
        form = {"country": offer.country, "msisdn": offer.e164.removeprefix("+")}
        try:
            # The answer is a few bytes: asked uncompressed (the connection would decode it within the cap anyway).
            response = await self.connection.post(
                self.connection.url("number", "buy"), data=form, headers={"Accept-Encoding": "identity"}
            )
        except BadRequestError as exc:
            if exc.status_code == 420:
                reason = exc.vendor_message or "no error-code-label given"
                raise exc.recast(BadRequestError, f"purchase refused (420): {reason}") from None
            raise
        label = self._outcome(response, "purchase")
        return PurchaseReceipt(
            provider=self.id,
            offer_id=offer.offer_id,
            e164=offer.e164,
            vendor_id=None,  # the answer names nothing but the outcome
            request_id=self.connection.request_id(response),
            details={"error-code": _OK, **({"error-code-label": label} if label is not None else {})},
        )

    def _outcome(self, response: httpx.Response, what: str) -> str | None:
        """The ``error-code-label`` of an answer whose body says success; any other ``error-code`` is raised."""
        body = self.connection.json(response)
        if not isinstance(body, dict):
            raise ProviderResponseError(self.id, f"{what} answered {response.status_code} with an unexpected body")
        code = body.get("error-code")
        if code is None:
            raise ProviderResponseError(
                self.id, f"{what} answered {response.status_code} without an error-code; outcome unclear"
            )
        if str(code) != _OK:
            raise self._body_error(response, body)
        label = body.get("error-code-label")
        return label[:200] if isinstance(label, str) else None

    def _body_error(self, response: httpx.Response, body: Mapping[str, Any]) -> ProviderError:
        """The error an answer's ``error-code`` other than ``"200"`` stands for, read as an HTTP status."""
        code, label = body.get("error-code"), body.get("error-code-label")
        reason = f"HTTP {response.status_code} with error-code {code!r}" + (
            f": {self.redact(label[:200])}" if isinstance(label, str) and label else ""
        )
        text = str(code).strip()
        if not text.isascii() or not text.isdigit() or not 300 <= int(text) <= 599:
            return ProviderResponseError(self.id, f"{reason}; not an error status, outcome unclear")
        return self.connection.error(response, status=int(text), message=reason)

    def _error_envelope(self, body: Any, headers: Mapping[str, str]) -> ErrorEnvelope:
        """``{"error-code", "error-code-label"}``: the label is the message; the request id is in the headers."""
        label = body.get("error-code-label") if isinstance(body, dict) else None
        code = body.get("error-code") if isinstance(body, dict) else None
        return ErrorEnvelope(
            message=label[:200] if isinstance(label, str) and label.strip() else None,
            code=None if code is None else str(code)[:20],
            request_id=self.connection.request_id(headers),
        )

    # -- owned numbers -----------------------------------------------------------------------------

    async def _fetch_owned_page(self, query: OwnedQuery, cursor: Cursor) -> RawPage:
        index = cursor if isinstance(cursor, int) else 1
        params = [("pattern", query.e164[1:]), ("search_pattern", "1")] if query.e164 is not None else []
        params += [("size", str(self.owned_per_page)), ("index", str(index))]
        response = await self.connection.get(self.connection.url("account", "numbers"), params=params)
        numbers, count = self._listing(response, f"owned numbers page {index}")
        return RawPage(records=numbers, total=count)

    def _normalize_owned(self, record: Any, query: OwnedQuery) -> OwnedNumber:
        rec = wire.record(record)
        msisdn = _msisdn(rec)
        details: dict[str, JsonValue] = {}
        for name in _OWNED_TEXT:
            if (text := wire.words(rec, name)) is not None:
                details[name] = text[:200]
        if (webhook := wire.words(rec, "moHttpUrl")) is not None:
            details["moHttpUrl"] = webhook[:300]
        number_type: NumberType | None = None
        vendor_type = wire.words(rec, "type")
        if vendor_type is not None:
            number_type = _TYPES.get(vendor_type.lower())
            if number_type is None:
                details["vendor_type"] = vendor_type[:40]
        return make_owned(
            provider=self.id,
            provider_number_id=None,  # cancelled by country and msisdn: the id is the E.164
            number="+" + msisdn.removeprefix("+"),
            country=wire.words(rec, "country"),
            status=OwnedStatus.ACTIVE,  # the list holds the numbers the account rents; it states no status
            number_type=number_type,
            capabilities=_capabilities(wire.items(rec, "features"), details),
            routed=wire.routing(rec, _ROUTING),
            provider_details=details,
        )

    # -- giving numbers back -----------------------------------------------------------------------

    async def _release(self, number: OwnedNumber, *, immediate: bool) -> ReleaseAnswer:
        # Immediate at Vonage: there is no cooldown to skip. The number goes as the exact digits listed.
        form = {"country": number.country, "msisdn": number.e164.removeprefix("+")}
        response = await self.connection.post(
            self.connection.url("number", "cancel"), data=form, headers={"Accept-Encoding": "identity"}
        )
        self._outcome(response, f"the cancel of {number.e164}")
        return ReleaseAnswer(state=OwnedStatus.INACTIVE)


def _msisdn(rec: Mapping[str, Any]) -> str:
    """The record's ``msisdn``: international digits without ``+`` (a ``+`` is tolerated)."""
    msisdn = rec.get("msisdn")
    if not isinstance(msisdn, str) or not _MSISDN.fullmatch(msisdn):
        raise FieldError(
            f"expected the number as international digits (no '+'), got {msisdn!r}", field="msisdn", value=msisdn
        )
    return msisdn


def _capabilities(features: list[Any] | None, details: dict[str, JsonValue]) -> list[Capability] | None:
    """The capabilities ``features`` names (None when the record has none); other names go to ``details``."""
    if features is None:
        return None
    capabilities: list[Capability] = []
    others: set[str] = set()
    for i, feature in enumerate(features):
        if not isinstance(feature, str) or not feature.strip():
            raise FieldError(f"expected a feature name, got {feature!r}", field=f"features.{i}", value=feature)
        known = _FEATURES.get(feature.strip().upper())
        if known is None:
            others.add(feature.strip())
        elif known not in capabilities:
            capabilities.append(known)
    if others:
        details["other_features"] = [*sorted(others)]
    return capabilities
