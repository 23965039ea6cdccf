"""The Telnyx adapter: number search (``GET /available_phone_numbers``), number orders, the owned list, releases.

Wire facts this adapter relies on, with where they were read. Sources: the SDK ``team-telnyx/telnyx-python``
at commit 6d68c8ca (generated from Telnyx's API definition; paths below are under ``src/telnyx/``) and the
developers.telnyx.com pages on number search, number orders, rate limiting and API errors. Where a docs
page and the SDK disagree, the SDK (the API definition) is followed.

* Base URL ``https://api.telnyx.com/v2``, ``Authorization: Bearer <API key>``; the SDK reads
  ``TELNYX_API_KEY`` and ``TELNYX_BASE_URL`` (``_client.py``).
* Search filters are deepObject query parameters, ``filter[country_code]``, ``filter[phone_number_type]``
  (``local``, ``toll_free``, ``mobile``, ``national``, ``shared_cost``), ``filter[features]`` (a list the
  SDK joins with commas, ``array_format="comma"`` in ``_client.py``), ``filter[phone_number][starts_with|
  contains|ends_with]``, ``filter[limit]``, ``filter[best_effort]``, ``filter[quickship]``,
  ``filter[reservable]``, ``filter[exclude_held_numbers]`` (``types/available_phone_number_list_params.py``).
  The SDK's ``_qs.py`` encodes them with ``urllib.parse.urlencode``: brackets and commas percent-encoded
  (``filter%5Bfeatures%5D=sms%2Cvoice``), which is exactly what httpx sends, byte for byte. Clients that
  drop the ``filter[...]`` wrapping get unfiltered numbers back (telnyx-node#289), so the tests pin the
  query string.
* ``filter[limit]`` has no documented default or maximum, so it is always sent (:attr:`per_page`).
* ``starts_with`` is matched against the national number, without the country code (the portal search
  guide: "never include the country code"), which is exactly numbroker's ``prefix``. ``contains`` is
  matched against the national number as well, so a ``contains`` whose digits may run into the country
  code (``4420`` in ``+4420…``) is not sent: numbroker applies it to the numbers returned.
* The answer is ``{data: [...], meta: {total_results, best_effort_results}}`` (``metadata`` with the same
  fields may appear too) and has no paging (``types/available_phone_number_list_response.py``,
  ``types/shared/available_phone_numbers_metadata.py``). When it holds as many numbers as the limit, or
  ``total_results`` says more exist, the provider's report says ``truncated`` with a note.
* Records: ``phone_number`` (E.164), ``record_type``, ``vanity_format``, ``best_effort`` ("whether the
  phone number is an exact match based on the search criteria or not"), ``quickship``, ``reservable``,
  ``region_information [{region_type: country_code|rate_center|state|location, region_name}]``,
  ``features [{name}]`` and ``cost_information {upfront_cost, monthly_cost, currency}`` with the amounts
  as decimal strings (``types/shared/{region_information,feature,cost_information}.py``). Feature names
  include ``emergency``, ``hd_voice``, ``international_sms`` and ``local_calling``: only ``voice``,
  ``sms``, ``mms`` and ``fax`` are capabilities; the others are kept in ``provider_details``.
* **Records carry no number type.** With a type asked, it is sent and is the offers' type. With none,
  one request per type the country's numbering plan has (phonenumbers' metadata; all five when it knows
  none) is sent, concurrently, at most :attr:`page_concurrency` at once, and each record takes the type
  it was asked with. A 4xx on one type of such a fan-out (no coverage for it) is noted and the other
  types still arrive.
* ``best_effort``, ``quickship`` and ``reservable`` are kept in ``provider_details``; numbroker's own
  filters still decide whether a best-effort (near) result matches. ``filter[best_effort]`` is never sent.
* Errors are ``{errors: [{code, title, detail, source, meta}]}``: 401 code ``10009``, 403 ``10010``, 404
  ``10005``, 429 ``10011`` (the error-codes page; the rate-limiting page). 429 answers carry
  ``x-ratelimit-limit``, ``x-ratelimit-remaining`` and ``x-ratelimit-reset`` ("the time in seconds until
  the rate limit resets"); without a ``Retry-After``, ``x-ratelimit-reset`` is the wait before a retry.
* Buying: ``POST /number_orders`` with ``{"phone_numbers": [{"phone_number": ...}]}`` (optional
  ``requirement_group_id`` per number, ``types/number_order_create_params.py``). The order is
  asynchronous: ``data.status`` and each ``data.phone_numbers[].status`` are ``pending``, ``success`` or
  ``failure`` (``types/number_order_with_phone_numbers.py``, ``types/phone_number.py``), read again with
  ``GET /number_orders/{id}``. Only numbers returned by a recent search can be ordered (the number
  orders guide). A refusal that says the number is not available is
  :class:`~numbroker.NumberUnavailableError`; an order whose number ends in ``failure`` is one too
  (nothing was bought). A number still ``pending`` at the deadline, or an order whose status cannot be
  read after it was placed, is ambiguous (:class:`~numbroker.ProviderTimeoutError` /
  :class:`~numbroker.ProviderResponseError`): buy-cheapest confirms ownership before going on.
* The owned list (the owned-list hook, and ownership): ``GET /phone_numbers`` with ``page[number]`` and
  ``page[size]`` (at most 250), answering ``{data, meta {page_number, page_size, total_pages,
  total_results}}`` (``types/phone_number_list_params.py``; the SDK's pager stops when ``page_number >=
  total_pages``, ``pagination.py``). An ownership check narrows it with ``filter[phone_number]=<digits>``
  ("requires at least three digits. Non-numerical characters will result in no values being returned":
  the ``+`` is left out). Records (``types/numbers_phone_number_detailed.py``): ``id`` (an integer-like
  string: what a number is deleted by), ``phone_number``, ``country_iso_alpha2``, ``phone_number_type``
  (``local``, ``toll_free``, ``mobile``, ``national``, ``shared_cost``, ``landline``, ``tollfree``,
  ``shortcode``, ``longcode``: the last two are kept in ``provider_details`` and the type inferred),
  ``status`` (13 values, mapped below), ``connection_id`` and ``messaging_profile_id`` (where calls and
  messages go: neither set means routed nowhere), ``deletion_lock_enabled`` (kept: such a number cannot be
  deleted), ``purchased_at``. **No price, currency or renewal date**: a price is only the ledger's; the
  next renewal is *derived* from Telnyx's billing rule, "The billing cycle for monthly recurring charges
  (MRC) occurs at the start of each new month" (support article 4425088): the first of next month, for an
  active number. Managed accounts (sub-accounts) each have their own API key and list their own numbers:
  one provider per key, so ``sub_account`` stays null. Statuses ``purchase-failed``, ``deleted``,
  ``ported-out`` and ``port-failed`` are listed (``inactive``) but not held: they never answer "owned";
  ``purchase-pending`` is held (the order was accepted: buying the number again could pay for it twice).
* Releasing: ``DELETE /phone_numbers/{id}`` (``resources/phone_numbers/phone_numbers.py`` ``delete``) answers
  the number's "final deleted representation", ``{data: {..., status: "deleted"}}``
  (``types/phone_number_delete_response.py``): immediate and final, with no cooldown to skip. A number whose
  ``deletion_lock_enabled`` is on cannot be deleted through the API (``types/phone_number_detailed.py``); the
  refusal (403, code ``10035`` "Resource locked" for locked resources on the error-codes page) is a refusal
  with Telnyx's words. A 2xx that does not say ``deleted`` is read as no answer (the caller confirms against
  the owned list); a 404 means the account does not hold the id.
* Reservations (``POST /number_reservations``, about 30 minutes, not every number is ``reservable``) are
  **not used**: buy-cheapest buys one number at a time through :meth:`Provider.purchase`, which has no
  place to reserve several numbers before ordering them; a single-number order needs no reservation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, ClassVar

import httpx
import phonenumbers
from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError

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
    ProviderError,
    ProviderResponseError,
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
    json_safe,
    make_offer,
    make_owned,
    money_from_string,
    read_timestamp,
    validate_currency,
    wire,
)
from numbroker_providers.telnyx._orders import follow, order_data, status_of

__all__ = ["TelnyxProvider"]

_VENDOR_TYPES: Mapping[NumberType, str] = {
    NumberType.LOCAL: "local",
    NumberType.MOBILE: "mobile",
    NumberType.TOLL_FREE: "toll_free",
    NumberType.NATIONAL: "national",
    NumberType.SHARED_COST: "shared_cost",
}
"""``filter[phone_number_type]`` values, in the order a fan-out asks and delivers them."""

_PLAN_TYPES: Mapping[NumberType, frozenset[int]] = {
    NumberType.LOCAL: frozenset({phonenumbers.PhoneNumberType.FIXED_LINE}),
    NumberType.MOBILE: frozenset({phonenumbers.PhoneNumberType.MOBILE}),
    NumberType.TOLL_FREE: frozenset({phonenumbers.PhoneNumberType.TOLL_FREE}),
    NumberType.NATIONAL: frozenset({phonenumbers.PhoneNumberType.UAN, phonenumbers.PhoneNumberType.PERSONAL_NUMBER}),
    NumberType.SHARED_COST: frozenset({phonenumbers.PhoneNumberType.SHARED_COST}),
}
"""The numbering-plan types (phonenumbers) that tell a country has numbers of a Telnyx type."""

_CAPABILITIES: Mapping[Capability, str] = {
    Capability.VOICE: "voice",
    Capability.SMS: "sms",
    Capability.MMS: "mms",
    Capability.FAX: "fax",
}
"""Capabilities Telnyx lists as ``features`` (and accepts in ``filter[features]``)."""

_FEATURE_CAPABILITIES = frozenset(_CAPABILITIES.values())
_FLAGS = ("best_effort", "quickship", "reservable")
_REGION_ORDER = ("state", "location", "rate_center")
_NOT_OWNED = frozenset({"purchase-failed", "deleted", "ported-out", "port-failed"})
"""Statuses of numbers Telnyx still lists though the account does not hold them (never "owned")."""
_OWNED_STATUS: Mapping[str, OwnedStatus] = {
    "active": OwnedStatus.ACTIVE,
    "purchase-pending": OwnedStatus.PENDING,
    "port-pending": OwnedStatus.PENDING,
    "provision-pending": OwnedStatus.PENDING,
    "requirement-info-pending": OwnedStatus.PENDING,
    "requirement-info-under-review": OwnedStatus.PENDING,
    "requirement-info-exception": OwnedStatus.PENDING,
    "port-out-pending": OwnedStatus.PENDING_RELEASE,
    **dict.fromkeys(_NOT_OWNED, OwnedStatus.INACTIVE),
}
"""A record's ``status`` (``emergency-only`` and any value not listed here are ``other``)."""
_OWNED_TYPES: Mapping[str, NumberType] = {
    "local": NumberType.LOCAL,
    "landline": NumberType.LOCAL,
    "toll_free": NumberType.TOLL_FREE,
    "tollfree": NumberType.TOLL_FREE,
    "mobile": NumberType.MOBILE,
    "national": NumberType.NATIONAL,
    "shared_cost": NumberType.SHARED_COST,
}
"""A record's ``phone_number_type`` (``shortcode``, ``longcode``: kept in details, the type inferred)."""
_ROUTING = ("connection_id", "messaging_profile_id")
_OWNED_TEXT = (
    "connection_id",
    "connection_name",
    "messaging_profile_id",
    "messaging_profile_name",
    "billing_group_id",
    "customer_reference",
    "emergency_status",
    "source_type",
    "activated_at",
)
_OWNED_FLAGS = ("deletion_lock_enabled", "emergency_enabled")
_NOT_AVAILABLE = re.compile(
    r"not available|no longer available|unavailable|already (reserved|taken|ordered|purchased|owned)|"
    r"not (found in|part of) (a )?(recent )?search",
    re.IGNORECASE,
)
_RECEIPT_FIELDS = ("status", "requirements_met", "created_at", "updated_at", "customer_reference")
_OWNED_PAGE_SIZE = 250
_MAX_ERROR_TEXT = 300


class _Envelope(BaseModel):
    """The search answer; records stay raw so one bad record cannot fail the answer."""

    model_config = ConfigDict(extra="allow")

    data: list[Any]
    meta: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None


class TelnyxProvider(Provider):
    """Telnyx phone numbers (``Authorization: Bearer <API key>``).

    Search is one request per number type, never paged: ``filter[limit]`` is :attr:`per_page`, and an
    answer that fills it is reported as ``truncated`` (narrow the search with a prefix). Without a number
    type, every type the country's numbering plan has is asked for, concurrently. Prices are exact
    decimal strings in the currency each record states. Buying places a number order and follows it
    until it settles or ``order_timeout`` passes (see the module docstring for every wire fact).
    """

    id: ClassVar[str] = "telnyx"
    display_name: ClassVar[str] = "Telnyx"
    default_base_url: ClassVar[str] = "https://api.telnyx.com/v2"
    credentials: ClassVar[Mapping[str, str]] = {"api_key": "TELNYX_API_KEY"}
    settings: ClassVar[Mapping[str, str]] = {"requirement_group_id": "TELNYX_REQUIREMENT_GROUP_ID"}
    filter_support: ClassVar[Mapping[QueryFilter, FilterSupport]] = {
        QueryFilter.COUNTRY: FilterSupport.NATIVE,
        QueryFilter.NUMBER_TYPE: FilterSupport.NATIVE,
        QueryFilter.CAPABILITIES: FilterSupport.NATIVE,
        QueryFilter.PREFIX: FilterSupport.NATIVE,
        QueryFilter.CONTAINS: FilterSupport.NATIVE,
        QueryFilter.MAX_SETUP_PRICE: FilterSupport.EMULATED,
        QueryFilter.MAX_MONTHLY_PRICE: FilterSupport.EMULATED,
    }
    paging = "none"
    per_page: ClassVar[int] = 100
    page_concurrency: ClassVar[int] = 5
    sandbox: ClassVar[str | None] = "numbroker_providers.telnyx.sandbox:create_app"
    supports_purchase: ClassVar[bool] = True
    owned_paging = "numbered"
    owned_per_page: ClassVar[int] = _OWNED_PAGE_SIZE
    after_purchase = AfterPurchase(
        can_list=True,
        can_get=True,  # GET /phone_numbers/{id}
        release=ReleaseMode.IMMEDIATE,  # DELETE answers the final deleted representation
        states_prices=False,
        states_renewals=False,  # MRC is billed on the 1st of each month: derived, not stated
        sub_accounts="managed accounts, each with its own API key (one provider per key)",
    )
    record_id_field: ClassVar[str | None] = "phone_number"
    wire_fields: ClassVar[Mapping[str, str]] = {
        "e164": "phone_number",
        "offer_id": "phone_number",
        "country": "region_information",
        "region": "region_information",
        "capabilities": "features",
        "setup_price": "cost_information.upfront_cost",
        "monthly_price": "cost_information.monthly_cost",
        "provider_number_id": "id",
    }

    def __init__(
        self,
        *,
        api_key: str | None = None,
        requirement_group_id: str | None = None,
        order_timeout: float = 30.0,
        order_poll_interval: float = 1.0,
        **options: Any,
    ) -> None:
        """Create the adapter.

        Args:
            api_key: a Telnyx API v2 key; default env ``TELNYX_API_KEY``.
            requirement_group_id: a requirement group sent with every ordered number (regulated countries
                need one); default env ``TELNYX_REQUIREMENT_GROUP_ID``, else none.
            order_timeout: seconds a purchase follows a pending number order before giving up (the
                outcome is then ambiguous and ownership is confirmed by the caller).
            order_poll_interval: seconds between two reads of a pending order.
            **options: the :class:`~numbroker.Provider` options (``base_url``, ``http_client``, ...).

        Raises:
            MissingCredentialsError: no API key.
            ConfigurationError: a bad requirement group id, timeout or interval.
        """
        super().__init__(**options)
        self._creds = self._resolve_credentials({"api_key": api_key})
        group = self._setting("requirement_group_id", requirement_group_id)
        if group is not None and not re.fullmatch(r"[A-Za-z0-9_\-]{1,128}", group.strip()):
            raise ConfigurationError(
                f"{self.id}: requirement_group_id= (or env TELNYX_REQUIREMENT_GROUP_ID) must be an id "
                "(letters, digits, '_' or '-')"
            )
        self.requirement_group_id = group.strip() if group is not None else None
        if not (math.isfinite(order_timeout) and order_timeout >= 0):
            raise ConfigurationError(f"{self.id}: order_timeout must be a non-negative number of seconds")
        if not (math.isfinite(order_poll_interval) and order_poll_interval >= 0):
            raise ConfigurationError(f"{self.id}: order_poll_interval must be a non-negative number of seconds")
        self.order_timeout = order_timeout
        self.order_poll_interval = order_poll_interval

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._creds['api_key'].get_secret_value()}"}

    # -- HTTP: Telnyx's error envelope and rate-limit headers ------------------------------------------

    def _error_envelope(self, body: Any, headers: Mapping[str, str]) -> ErrorEnvelope:
        """Telnyx's ``errors[]``, each ``code title: detail (source)``: its titles name the status themselves."""
        common = super()._error_envelope(body, headers)
        summary = _errors_summary(body)
        if summary is None:
            return common
        return ErrorEnvelope(message=summary, code=_first_code(body), request_id=common.request_id, titled=True)

    def _retry_after(self, response: httpx.Response) -> float | None:
        """``Retry-After`` when a 429 sends one, else ``x-ratelimit-reset`` (seconds until the limit resets)."""
        wait = super()._retry_after(response)
        return wait if wait is not None else _seconds(response.headers.get("x-ratelimit-reset"))

    # -- search ------------------------------------------------------------------------------------

    def search_types(self, query: SearchQuery) -> list[NumberType]:
        """The number types one search for ``query`` asks Telnyx for, in request order.

        The query's type when it has one; else each type the country's numbering plan has (all five
        when phonenumbers knows no plan for it).
        """
        if query.number_type is not None:
            return [query.number_type] if query.number_type in _VENDOR_TYPES else []
        plan = phonenumbers.supported_types_for_region(query.country)
        found = [kind for kind, plan_types in _PLAN_TYPES.items() if plan & plan_types]
        return found or list(_VENDOR_TYPES)

    def search_params(self, query: SearchQuery, number_type: NumberType) -> list[tuple[str, str]]:
        """The query parameters of one search request, in the order they are sent."""
        params: list[tuple[str, str]] = [
            ("filter[country_code]", query.country),
            ("filter[phone_number_type]", _VENDOR_TYPES[number_type]),
        ]
        if query.capabilities:
            params.append(("filter[features]", ",".join(_CAPABILITIES[c] for c in query.capabilities)))
        if query.prefix is not None:
            params.append(("filter[phone_number][starts_with]", query.prefix))
        if query.contains is not None and not _may_touch_calling_code(query.contains, str(query.calling_code)):
            params.append(("filter[phone_number][contains]", query.contains))
        params.append(("filter[limit]", str(self.per_page)))
        return params

    async def _fetch_page(self, query: SearchQuery, cursor: Cursor) -> RawPage:
        if unknown := [c for c in query.capabilities if c not in _CAPABILITIES]:
            names = ", ".join(c.value for c in unknown)
            self._note(f"Telnyx lists no {names} feature; nothing was requested")
            return RawPage(records=[])
        if query.number_type is not None and query.number_type not in _VENDOR_TYPES:
            self._note(f"Telnyx sells no {query.number_type.value} numbers; nothing was requested")
            return RawPage(records=[])
        if query.contains is not None and _may_touch_calling_code(query.contains, str(query.calling_code)):
            self._note(
                f"contains={query.contains} may include digits of the country code, which Telnyx does not match: "
                "it was applied to the numbers returned, not sent"
            )
        kinds = self.search_types(query)
        if len(kinds) == 1:
            entries, cut = await self._search_type(query, kinds[0])
            return RawPage(records=entries, truncated=[cut] if cut else [])
        results, refused = await self._fan_out(kinds, lambda kind: self._search_type(query, kind), skip=_is_refusal)
        for kind, exc in refused.items():
            self._note(f"phone_number_type={_VENDOR_TYPES[kind]} was refused and is missing: {exc.detail}")
        found = list(results.values())
        return RawPage(records=[e for entries, _ in found for e in entries], truncated=[cut for _, cut in found if cut])

    async def _search_type(
        self, query: SearchQuery, kind: NumberType
    ) -> tuple[list[Tagged[NumberType | None]], str | None]:
        """One type's records, and a note when the answer was cut at ``filter[limit]`` (else None)."""
        vendor_type = _VENDOR_TYPES[kind]
        response = await self.connection.get(
            self.connection.url("available_phone_numbers"), params=self.search_params(query, kind)
        )
        body = self.connection.json(response)
        try:
            envelope = _Envelope.model_validate(body)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in error["loc"]) or "body"
            raise ProviderResponseError(
                self.id, f"phone_number_type={vendor_type}: unexpected answer: {where}: {error['msg']}"
            ) from None
        meta = envelope.meta if envelope.meta is not None else (envelope.metadata or {})
        total = wire.integer(meta, "total_results", lenient=True)
        served = len(envelope.data)
        cut: str | None = None
        if served >= self.per_page or (total is not None and total > served):
            said = f" of {total}" if total is not None and total > served else ""
            cut = (
                f"phone_number_type={vendor_type}: Telnyx returned {served}{said} numbers, as many as "
                f"filter[limit]={self.per_page} allows and with no next page; more may exist "
                "(narrow the search with a prefix or contains)"
            )
        return [Tagged(raw, kind) for raw in envelope.data], cut

    # -- normalization -----------------------------------------------------------------------------

    def _normalize(self, record: Any, query: SearchQuery) -> AvailableNumber:
        raw, kind = Tagged.split(record, query.number_type)
        rec = wire.record(raw)
        details: dict[str, JsonValue] = {}
        for name in _FLAGS:
            value = wire.flag(rec, name)
            if value is not None:
                details[name] = value
        setup, monthly = _prices(rec)
        capabilities: list[str] | None = None
        features = wire.items(rec, "features")
        if features is not None:
            names = [_feature_name(feature, i) for i, feature in enumerate(features)]
            capabilities = sorted({n for n in names if n in _FEATURE_CAPABILITIES})
            if other := sorted({n for n in names if n not in _FEATURE_CAPABILITIES}):
                details["other_features"] = list(other)
        country, region = _regions(rec, query.country)
        vanity = wire.pick(rec, "vanity_format", str)
        if vanity and vanity.strip():
            details["vanity_format"] = vanity.strip()[:40]
        # Telnyx orders by number: offer_id=None makes the offer id the canonical E.164.
        return make_offer(
            provider=self.id,
            offer_id=None,
            number=rec.get("phone_number"),
            country=country,
            region=region,
            number_type=kind,
            capabilities=capabilities,
            setup_price=setup,
            monthly_price=monthly,
            provider_details=details,
            strictness=self.number_strictness,
        )

    # -- purchasing --------------------------------------------------------------------------------

    async def _purchase(self, offer: AvailableNumber) -> PurchaseReceipt:
        number: dict[str, str] = {"phone_number": offer.e164}
        if self.requirement_group_id is not None:
            number["requirement_group_id"] = self.requirement_group_id
        try:
            response = await self.connection.post(
                self.connection.url("number_orders"), json={"phone_numbers": [number]}
            )
        except (NotFoundError, BadRequestError) as exc:
            if isinstance(exc, NotFoundError) or _NOT_AVAILABLE.search(exc.vendor_message or ""):
                raise exc.recast(NumberUnavailableError) from None
            raise
        order = order_data(self.connection, response, offer.e164)
        order_id = order.get("id")
        status = status_of(order, offer.e164)
        if status == "pending":
            if not isinstance(order_id, str) or not order_id.strip():
                raise ProviderResponseError(
                    self.id, f"the order for {offer.e164} is pending but has no id to follow; ownership unknown"
                )
            order, status = await follow(
                self.connection,
                order_id,
                offer.e164,
                within=self.order_timeout,
                poll_interval=self.order_poll_interval,
            )
        if status == "failure":
            raise NumberUnavailableError(
                self.id,
                f"the number order {order_id} for {offer.e164} failed: nothing was bought",
                status_code=response.status_code,
                body=self.redact(response.text[:2000]),
                request_id=self.connection.request_id(response),
            )
        if status != "success":
            raise ProviderResponseError(
                self.id, f"the number order for {offer.e164} answered an unknown status {status!r}; ownership unknown"
            )
        details: dict[str, JsonValue] = {k: json_safe(order[k]) for k in _RECEIPT_FIELDS if k in order}
        if isinstance(order_id, str):
            details["number_order_id"] = order_id
        return PurchaseReceipt(
            provider=self.id,
            offer_id=offer.offer_id,
            e164=offer.e164,
            vendor_id=None,
            request_id=self.connection.request_id(response),
            details=details,
        )

    # -- owned numbers -----------------------------------------------------------------------------

    async def _fetch_owned_page(self, query: OwnedQuery, cursor: Cursor) -> RawPage:
        number = cursor if isinstance(cursor, int) else 1
        params: list[tuple[str, str | int]] = []
        if query.e164 is not None:
            params.append(("filter[phone_number]", query.e164[1:]))  # digits only: a "+" matches nothing
        params += [("page[number]", number), ("page[size]", self.owned_per_page)]
        answer = self.connection.json(await self.connection.get(self.connection.url("phone_numbers"), params=params))
        data = wire.pick(answer, "data", list)
        if data is None:
            raise ProviderResponseError(self.id, f"owned numbers page {number}: expected {{'data': [...]}}")
        meta = wire.pick(answer, "meta", dict) or {}
        echoed = wire.integer(meta, "page_number", lenient=True)
        if echoed is not None and echoed != number:
            raise ProviderResponseError(self.id, f"owned numbers: asked for page {number}, got page {echoed}")
        return RawPage(records=data, total=wire.count(meta, "total_results", lenient=True))

    def _normalize_owned(self, record: Any, query: OwnedQuery) -> OwnedNumber:
        data = wire.record(record)
        vendor_id = wire.identifier(data, "id")
        if vendor_id is None or not vendor_id.strip():
            raise FieldError("id must be the number's id (what it is deleted by)", field="id", value=data.get("id"))
        status = wire.words(data, "status")
        details: dict[str, JsonValue] = {}
        for name in _OWNED_TEXT:
            if (text := wire.words(data, name)) is not None:
                details[name] = text[:200]
        for name in _OWNED_FLAGS:
            if (value := wire.flag(data, name)) is not None:
                details[name] = value
        tags = wire.items(data, "tags")
        if tags:
            details["tags"] = [str(tag)[:100] for tag in tags[:50]]
        vendor_type = wire.words(data, "phone_number_type")
        number_type = None if vendor_type is None else _OWNED_TYPES.get(vendor_type.lower())
        if vendor_type is not None and number_type is None:
            details["vendor_number_type"] = vendor_type[:40]
        normalized = OwnedStatus.OTHER if status is None else _OWNED_STATUS.get(status.lower(), OwnedStatus.OTHER)
        renewal = _next_month_start(datetime.now(UTC).date()) if normalized is OwnedStatus.ACTIVE else None
        return make_owned(
            provider=self.id,
            provider_number_id=vendor_id.strip(),
            number=data.get("phone_number"),
            country=wire.words(data, "country_iso_alpha2"),
            status=normalized,
            vendor_status=status,
            number_type=number_type,
            next_renewal=renewal,
            renewal_source=RenewalSource.DERIVED,
            routed=wire.routing(data, _ROUTING),
            purchased_at=read_timestamp(data, "purchased_at"),
            provider_details=details,
        )

    def _is_held(self, number: OwnedNumber) -> bool:
        """Numbers whose order failed, or that were deleted or ported out, are listed but not the account's."""
        return (number.vendor_status or "").lower() not in _NOT_OWNED

    # -- giving numbers back -----------------------------------------------------------------------

    async def _release(self, number: OwnedNumber, *, immediate: bool) -> ReleaseAnswer:
        # Immediate and final at Telnyx: there is no cooldown to skip.
        url = self.connection.url("phone_numbers", number.provider_number_id)
        data = wire.pick(self.connection.json(await self.connection.send("DELETE", url)), "data", dict)
        status = None if data is None else data.get("status")
        if status != "deleted":
            shown = status if isinstance(status, str) else type(status).__name__
            raise ProviderResponseError(
                self.id, f"the release of {number.e164} answered status {shown[:40]!r}, not 'deleted'; outcome unknown"
            )
        return ReleaseAnswer(state=OwnedStatus.INACTIVE)


# -- helpers ---------------------------------------------------------------------------------------


def _is_refusal(exc: ProviderError) -> bool:
    """A 400/404/422 on one type of a fan-out: Telnyx has no such numbers (no coverage) in the country."""
    return isinstance(exc, BadRequestError | NotFoundError) and exc.status_code in (400, 404, 422)


def _may_touch_calling_code(contains: str, calling_code: str) -> bool:
    """True when some digits of ``contains`` could be the end of the calling code (``4420`` in ``+4420…``)."""
    return any(contains.startswith(calling_code[-k:]) for k in range(1, len(calling_code) + 1))


def _seconds(value: str | None) -> float | None:
    """``x-ratelimit-reset``: seconds until the limit resets, or None when it is not a number."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _errors(body: Any) -> list[Any]:
    """The entries of Telnyx's ``{"errors": [...]}`` (none for any other body)."""
    return wire.pick(body, "errors", list) or []


def _error_text(error: Any) -> str:
    """One entry of ``errors[]`` as ``code title: detail (source)``."""
    if not isinstance(error, dict):
        return str(error)[:_MAX_ERROR_TEXT]
    code, title, detail = error.get("code"), error.get("title"), error.get("detail")
    text = " ".join(str(p) for p in (code, title) if p not in (None, ""))
    if detail not in (None, "") and detail != title:
        text = f"{text}: {detail}" if text else str(detail)
    source = error.get("source")
    if isinstance(source, dict) and (where := source.get("pointer") or source.get("parameter")):
        text += f" ({where})"
    return text[:_MAX_ERROR_TEXT]


def _errors_summary(body: Any) -> str | None:
    """Each of the first five entries of Telnyx's ``{"errors": [...]}``, joined; None for any other body."""
    return "; ".join(p for p in map(_error_text, _errors(body)[:5]) if p) or None


def _first_code(body: Any) -> str | None:
    """The ``code`` of the first entry of ``errors[]``, if it has one."""
    first = next(iter(_errors(body)), None)
    code = first.get("code") if isinstance(first, dict) else None
    return str(code) if code not in (None, "") else None


def _next_month_start(today: date) -> date:
    """The first day of the month after ``today``'s: when Telnyx next bills a number's monthly charge."""
    return date(today.year + 1, 1, 1) if today.month == 12 else date(today.year, today.month + 1, 1)


def _prices(rec: Mapping[str, Any]) -> tuple[Money | None, Money | None]:
    """``cost_information``'s amounts in its currency; no cost information means no prices (not zero)."""
    cost = wire.mapping(rec, "cost_information")
    if cost is None:
        return None, None
    upfront, monthly = cost.get("upfront_cost"), cost.get("monthly_cost")
    if upfront is None and monthly is None:
        return None, None
    currency = cost.get("currency")
    if currency is None:
        raise FieldError(
            "cost_information states amounts without a currency", field="cost_information.currency", value=None
        )
    code = validate_currency(currency, field="cost_information.currency")
    setup = None if upfront is None else money_from_string(upfront, code, field="cost_information.upfront_cost")
    month = None if monthly is None else money_from_string(monthly, code, field="cost_information.monthly_cost")
    return setup, month


def _regions(rec: Mapping[str, Any], asked: str) -> tuple[str, str | None]:
    """The record's country (its ``country_code`` region, else the one asked) and its best region name."""
    country = asked
    names: dict[str, str] = {}
    for i, info in enumerate(wire.items(rec, "region_information") or ()):
        if type(info) is not dict and not isinstance(info, Mapping):  # a plain dict skips the ABC check
            raise FieldError(f"expected an object, got {info!r}", field=f"region_information.{i}", value=info)
        kind, name = info.get("region_type"), info.get("region_name")
        if not isinstance(kind, str) or not isinstance(name, str) or not name.strip():
            continue
        kind = kind.strip().lower()
        if kind == "country_code":
            country = name.strip()
        else:
            names.setdefault(kind, name.strip())
    region = next((names[k] for k in _REGION_ORDER if k in names), None)
    return country, region


def _feature_name(feature: Any, index: int) -> str:
    name = wire.pick(feature, "name", str)
    if name is None or not name.strip():
        raise FieldError(f"expected {{'name': ...}}, got {feature!r}", field=f"features.{index}", value=feature)
    return name.strip().lower()
