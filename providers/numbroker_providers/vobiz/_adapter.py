"""The Vobiz adapter: inventory search (``GET /v1/account/{auth_id}/inventory/numbers``) and purchases.

Wire facts this adapter relies on (Vobiz's API reference: "List Inventory Numbers", the Phone Numbers API;
and Vobiz's official SDK, generated from its API definition: ``vobiz-ai/Vobiz-Python-SDK``,
``src/vobiz/phone_numbers/raw_client.py`` and
``src/vobiz/phone_numbers/types/list_inventory_numbers_response_items_item.py``):

* auth: ``X-Auth-ID`` / ``X-Auth-Token`` headers; the auth id is also a path segment. The SDK also sends
  ``Authorization: Bearer``; the API reference documents only the ``X-Auth-*`` pair, which is what is sent;
* paths: the API reference writes ``/v1/account/…`` (lower case), the SDK ``/v1/Account/…``. The reference's
  form is used; if the inventory answers 404 to it, the SDK's form is tried once and kept when it answers;
* paging: ``page`` (1-based) + ``per_page`` (max 100) in, ``page``/``per_page``/``total`` echoed out;
* ``search`` is a *substring* match against the E.164 number (``"80"`` matches ``+918065…``);
* ``exclude`` (SDK): E.164 prefixes removed server-side, comma-separated, ANDed with the other filters,
  ``total`` counting the filtered set. Sent where a query can use it: a query for any number type but
  toll-free in the North American plan excludes the toll-free area codes (which it would drop anyway);
* fees ``setup_fee`` / ``monthly_fee`` (alias ``monthly_cost``) are JSON numbers in major units, in the
  item's own ``currency`` (a US number may be priced in INR). The API reference's examples show both ``0.0``
  and ``0``; the SDK types them int in the inventory item and float in its shared number model: both are
  read, exactly;
* capabilities: the API reference's inventory examples carry none, the SDK declares
  ``capabilities {voice, sms, mms, fax}`` (booleans) on every item. Parsed when present; absent (as in the
  reference), they stay unknown, not "none";
* ``minimum_commitment_months`` (SDK) is the offer's own ``minimum_commitment_months``; the other
  buyer-relevant item fields the SDK declares are kept in ``provider_details`` when they have their
  declared type: ``is_trial_number``, ``aadhaar_verification_required``, ``is_blocked``, ``voice_enabled``;
* inventory items carry no number type (inferred from the numbering plan);
* buying is ``POST /v1/account/{auth_id}/numbers/purchase-from-inventory`` with ``{"e164": ...}``; a 404
  means the number is no longer in inventory; an insufficient balance is a 402 ``INSUFFICIENT_BALANCE``
  (errors page) or a 500 after a rolled-back debit (purchase page; the SDK declares only 404 and 500 for
  this call). That 500 is raised as :class:`~numbroker.DebitFailedError`: still ambiguous (a crash after
  the commit looks the same), so the caller confirms ownership, and stops using Vobiz;
* owned numbers are ``GET /v1/account/{auth_id}/numbers``; the docs drift between ``page``/``per_page``
  and ``limit``/``offset`` for the request, so both are sent, describing the same slice. A master account
  (``MA_``) asks ``include_subaccounts=true`` (documented as its default, absent from the SDK) and each
  item's ``account_id`` names the ``SA_`` sub-account holding it. Items carry ``monthly_fee`` (or
  ``monthly_cost``) in ``currency``, ``next_billing_date`` (the renewal), ``application_id`` and
  ``trunk_group_id`` (routing: neither set means calls have nowhere to go), ``purchased_at``; a number is
  released by its E.164;
* a number is given back with ``DELETE /v1/account/{auth_id}/numbers/{e164}`` (``+`` sent as ``%2B``, as the
  SDK writes it). The SDK (generated from Vobiz's API definition) answers ``{status: "pending_release",
  cooldown_ends_at, release_fee, cancel_url, message}``: a 24-hour cooldown, cancellable (and the fee
  refunded) with ``POST …/numbers/{e164}/cancel-release``; ``?immediate=true`` skips it. The docs pages
  say the release is immediate and answer ``200 {"message": "number returned to inventory"}`` or a 204 with
  no body. All three are read; a 200 whose ``status`` says error is a refusal; ``403 "account does not own
  this number"`` is read as "not there" (the caller confirms against the owned list);
* a number moves to a sub-account with ``POST /v1/account/{auth_id}/numbers/{e164}/assign-subaccount``
  ``{"sub_account_id": "SA_…"}`` and back to the parent with ``DELETE`` on the same path (``?force=true``
  only when asked: an administrator's override that writes an audit record at Vobiz). A number called within
  the last 15 days is refused ``409 did_cool_off_in_effect`` with ``cool_off_until`` and
  ``cool_off_remaining_seconds`` (seed 001; the SDK declares 403 and 409 for this call);
* the Partner API (read-only) lists every customer's numbers (``GET /v1/partner/numbers``) or one
  customer's (``GET /v1/partner/accounts/{customer_auth_id}/numbers``), paged like the owned list, each
  item's ``account_id`` its customer.

Where the API reference (primary) and the SDK disagree — the path's case, the auth headers, the
capabilities' presence — the reference is followed and the SDK's form tolerated, as above.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from numbroker import (
    AfterPurchase,
    AvailableNumber,
    BadRequestError,
    Capability,
    CoolOffError,
    DebitFailedError,
    FilterSupport,
    Money,
    NotFoundError,
    NumberType,
    NumberUnavailableError,
    OtherNumberSoldError,
    OwnedNumber,
    OwnedQuery,
    OwnedStatus,
    OwnedView,
    PermissionDeniedError,
    ProviderResponseError,
    ProviderUnavailableError,
    QueryFilter,
    ReleaseAnswer,
    ReleaseMode,
    SearchQuery,
)
from numbroker.adapters import (
    FieldError,
    Provider,
    PurchaseReceipt,
    RawPage,
    decimal_from_json_number,
    json_safe,
    make_offer,
    make_owned,
    money_from_json_number,
    parse_e164,
    path_segment,
    read_date,
    read_timestamp,
    wire,
)

__all__ = ["VobizProvider"]

_DETAIL_FIELDS = ("status", "created_at", "updated_at", "provider", "provider_ref")
_BUYER_FLAGS = ("is_trial_number", "aadhaar_verification_required", "is_blocked", "voice_enabled")
_CAPABILITY_KEYS = ("voice", "sms", "mms", "fax")
_CAPABILITIES = {key: Capability(key) for key in _CAPABILITY_KEYS}
_MAX_COMMITMENT_MONTHS = 1200
NANP_TOLL_FREE = ("1800", "1833", "1844", "1855", "1866", "1877", "1888")
"""The North American toll-free area codes, with the calling code (the form ``exclude`` takes)."""
_RECEIPT_FIELDS = ("status", "purchased_at", "setup_fee", "monthly_fee", "currency", "source")
_OWNED_STATUS = {
    "active": OwnedStatus.ACTIVE,
    "pending_purchase": OwnedStatus.PENDING,
    "pending_release": OwnedStatus.PENDING_RELEASE,
    "released": OwnedStatus.INACTIVE,
    "blocked": OwnedStatus.INACTIVE,
}
_OWNED_TEXT_FIELDS = (
    "region",
    "source",
    "provider",
    "application_id",
    "trunk_group_id",
    "last_billing_date",
    "released_at",
    "cooldown_ends_at",
)
_OWNED_FLAGS = ("is_trial_number", "is_blocked", "voice_enabled", "aadhaar_verification_required", "aadhaar_verified")
_DEBIT_FAILED = re.compile(r"INSUFFICIENT_BALANCE|balance|debit", re.IGNORECASE)
_NOT_OWNED = re.compile(r"does not own|not owned|not found", re.IGNORECASE)
_FAILED_STATUSES = frozenset({"error", "failed", "failure"})
_RELEASED_STATUSES = frozenset({"released", "success", "ok", "deleted", "returned"})


class _VobizPage(BaseModel):
    """The inventory envelope; records stay raw so one bad record cannot fail the page."""

    model_config = ConfigDict(extra="allow")

    items: list[Any]
    page: int | None = Field(default=None, ge=1)
    per_page: int | None = Field(default=None, ge=1)
    total: int | None = Field(default=None, ge=0)


class _VobizRecord(BaseModel):
    """One inventory item, leniently: prices stay ``Any`` and are judged by the core converters."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1)
    e164: Any = None
    country: Any = None
    region: str | None = None
    status: Any = None
    setup_fee: Any = None
    monthly_fee: Any = None
    monthly_cost: Any = None
    currency: Any = None
    capabilities: Any = None
    minimum_commitment_months: Any = None


def _record_fields(record: Any) -> Mapping[str, Any]:
    """An inventory item's fields, read as :class:`_VobizRecord` reads them.

    A plain object whose ``id`` is a non-empty string and whose ``region`` is a string or null (all the model
    checks) is read as it is; anything else goes through the model, which names what is wrong.
    """
    if type(record) is dict:
        ident, region = record.get("id"), record.get("region")
        if type(ident) is str and ident and (region is None or type(region) is str):
            return record
    item = _VobizRecord.model_validate(record)
    return {**(item.model_extra or {}), **item.__dict__}


def _capabilities(value: Any) -> list[Capability] | None:
    """The capabilities an item states: ``{voice, sms, mms, fax}`` booleans; None when it states none.

    Raises:
        FieldError: ``capabilities`` is not an object of booleans, or lacks one of the four flags the API
            definition requires (a missing flag would read as "cannot", which nothing said).
    """
    if value is None:
        return None
    if type(value) is dict and all(type(value.get(key)) is bool for key in _CAPABILITY_KEYS):
        return [capability for key, capability in _CAPABILITIES.items() if value[key]]  # every flag stated
    if not isinstance(value, dict):
        raise FieldError("capabilities must be an object of booleans", field="capabilities", value=value)
    missing = [key for key in _CAPABILITY_KEYS if key not in value]
    wrong = [key for key in _CAPABILITY_KEYS if key in value and not isinstance(value[key], bool)]
    if missing or wrong:
        reason = f"capabilities lacks {', '.join(missing)}" if missing else f"capabilities.{wrong[0]} is not a boolean"
        raise FieldError(
            reason + " (voice, sms, mms and fax are each true or false)", field="capabilities", value=value
        )
    return [Capability(key) for key in _CAPABILITY_KEYS if value[key]]


class VobizProvider(Provider):
    """Vobiz inventory numbers.

    Args:
        auth_id: the account Auth ID (``MA_…`` or ``SA_…``); env ``VOBIZ_AUTH_ID``. It is sent as a header
            and as a URL path segment, so it must be letters, digits, ``_`` or ``-``.
        auth_token: the account Auth Token; env ``VOBIZ_AUTH_TOKEN``.
        **options: passed to :class:`numbroker.Provider` (``base_url``, ``http_client``, ``retry``…).

    Raises:
        MissingCredentialsError: a credential is neither passed nor set in the environment.
        ConfigurationError: the auth id cannot be a URL path segment, or the base URL is invalid.
    """

    id: ClassVar[str] = "vobiz"
    display_name: ClassVar[str] = "Vobiz"
    default_base_url: ClassVar[str] = "https://api.vobiz.ai/api"
    account_id_credential: ClassVar[str | None] = "auth_id"
    credentials: ClassVar[Mapping[str, str]] = {"auth_id": "VOBIZ_AUTH_ID", "auth_token": "VOBIZ_AUTH_TOKEN"}
    filter_support: ClassVar[Mapping[QueryFilter, FilterSupport]] = {
        # `country=` is an exact server-side filter.
        QueryFilter.COUNTRY: FilterSupport.NATIVE,
        # No type in inventory: inferred from the numbering plan and filtered client-side.
        QueryFilter.NUMBER_TYPE: FilterSupport.EMULATED,
        # Items carry capabilities (per the SDK): checked client-side; an item without them is unknown.
        QueryFilter.CAPABILITIES: FilterSupport.EMULATED,
        # `search=` is a substring match: it narrows (calling code + prefix digits), the base checks startswith.
        QueryFilter.PREFIX: FilterSupport.EMULATED,
        # Digits as a substring of the E.164 is exactly what `contains` means.
        QueryFilter.CONTAINS: FilterSupport.NATIVE,
        QueryFilter.MAX_SETUP_PRICE: FilterSupport.EMULATED,
        QueryFilter.MAX_MONTHLY_PRICE: FilterSupport.EMULATED,
    }
    paging = "numbered"
    per_page = 100
    sandbox = "numbroker_providers.vobiz.sandbox:create_app"
    supports_purchase = True
    owned_paging = "numbered"
    owned_per_page = 100
    after_purchase = AfterPurchase(
        can_list=True,
        can_get=True,  # the owned list filtered by `search`
        release=ReleaseMode.COOLDOWN,  # pending_release for 24 h, cancellable (immediate=true skips it)
        states_prices=True,
        states_renewals=True,
        sub_accounts="SA_ sub-accounts, listed with their MA_ master account",
        partner_views=True,
        undo_window=timedelta(hours=24),  # the cooldown, cancellable with cancel-release
        release_fee=True,  # the SDK's release_fee, refunded by cancel-release
    )
    record_id_field = "id"
    wire_fields: ClassVar[Mapping[str, str]] = {
        "offer_id": "id",
        "e164": "e164",
        "country": "country",
        "region": "region",
        "setup_price": "setup_fee",
        "monthly_price": "monthly_fee",
        "capabilities": "capabilities",
    }

    def __init__(self, *, auth_id: str | None = None, auth_token: str | None = None, **options: Any) -> None:
        super().__init__(**options)
        self._creds = self._resolve_credentials({"auth_id": auth_id, "auth_token": auth_token})
        self._auth_id = path_segment(self._creds["auth_id"].get_secret_value(), "VOBIZ_AUTH_ID")
        self._account = "account"  # the API reference's path; "Account" (the SDK's) once that is what answers

    def _auth_headers(self) -> dict[str, str]:
        return {"X-Auth-ID": self._auth_id, "X-Auth-Token": self._creds["auth_token"].get_secret_value()}

    # -- search ------------------------------------------------------------------------------------

    @staticmethod
    def _search_term(query: SearchQuery) -> str | None:
        """The ``search`` substring sent for ``query``, or None.

        Digits only, never the ``+``: a digit string is a substring of the number whether or not the vendor
        keeps the ``+`` in what it matches, and a ``+`` in a query string is easily mangled into a space.
        ``contains`` is sent as is (exact); a prefix is sent as calling code + prefix (``+1212…`` → ``1212``),
        which may also match mid-number, so the base re-checks ``startswith`` on every offer. With both, the
        prefix term is sent only when it already contains ``contains``, so ``contains`` stays exact.
        """
        prefix = f"{query.calling_code}{query.prefix}" if query.prefix is not None else None
        if query.contains is None or (prefix is not None and query.contains in prefix):
            return prefix
        return query.contains

    @staticmethod
    def _exclude_term(query: SearchQuery) -> str | None:
        """The ``exclude`` prefixes sent for ``query``: North American toll-free codes for a non-toll-free type.

        The base still checks every offer's type; this only keeps numbers the query cannot want off the wire.
        """
        if query.calling_code == 1 and query.number_type not in (None, NumberType.TOLL_FREE):
            return ",".join(NANP_TOLL_FREE)
        return None

    async def _inventory(self, params: Mapping[str, str | int]) -> httpx.Response:
        """One inventory page; a 404 to the reference's path is asked again in the SDK's (kept if it answers)."""
        try:
            return await self.connection.get(
                self.connection.url("v1", self._account, self._auth_id, "inventory", "numbers"), params=params
            )
        except NotFoundError:
            if self._account != "account":
                raise
        response = await self.connection.get(
            self.connection.url("v1", "Account", self._auth_id, "inventory", "numbers"), params=params
        )
        self._account = "Account"
        return response

    async def _fetch_page(self, query: SearchQuery, cursor: int | str | None) -> RawPage:
        number = cursor if isinstance(cursor, int) else 1
        params: dict[str, str | int] = {"country": query.country, "page": number, "per_page": self.per_page}
        term = self._search_term(query)
        if term is not None:
            params["search"] = term
        exclude = self._exclude_term(query)
        if exclude is not None:
            params["exclude"] = exclude
        page = self._page(await self._inventory(params), "unexpected inventory envelope")
        # Page-number paging is only sound if the vendor pages the way we asked (per_page/limit drift).
        if page.page is not None and page.page != number:
            raise ProviderResponseError(self.id, f"asked for page {number}, got page {page.page}; paging stopped")
        if (
            page.per_page is not None
            and page.per_page < self.per_page
            and len(page.items) >= page.per_page
            and (page.total is None or page.total > (number - 1) * page.per_page + len(page.items))
        ):
            raise ProviderResponseError(
                self.id,
                f"asked for per_page={self.per_page}, the vendor paged by {page.per_page}; "
                "numbered paging would skip records, so it stopped",
            )
        return RawPage(records=page.items, total=page.total)

    def _page(self, response: httpx.Response, what: str) -> _VobizPage:
        """The list envelope of ``response``; a body that is not one raises ``what`` and where it went wrong."""
        try:
            return _VobizPage.model_validate(self.connection.json(response))
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in error["loc"]) or "body"
            raise ProviderResponseError(self.id, f"{what}: {where}: {error['msg']}") from None

    # -- normalization -----------------------------------------------------------------------------

    def _normalize(self, record: Any, query: SearchQuery) -> AvailableNumber:
        fields = _record_fields(record)
        status = fields.get("status")
        if status != "active":
            reason = (
                "status is missing: cannot confirm the number is for sale ('active')"
                if status is None
                else f"status is {status!r}, not 'active': the number is not for sale"
            )
            raise FieldError(reason, field="status", value=status)
        currency = fields.get("currency")
        setup_fee = fields.get("setup_fee")
        setup = None if setup_fee is None else money_from_json_number(setup_fee, currency, field="setup_fee")
        details: dict[str, JsonValue] = {}
        for name in _DETAIL_FIELDS:
            value = fields.get(name)
            if isinstance(value, str) and value:
                details[name] = value
        for name in _BUYER_FLAGS:
            value = fields.get(name)
            if isinstance(value, bool):
                details[name] = value
        months = wire.count(record, "minimum_commitment_months")
        if months is not None and months > _MAX_COMMITMENT_MONTHS:
            raise FieldError(
                f"expected at most {_MAX_COMMITMENT_MONTHS} months, got {months}",
                field="minimum_commitment_months",
                value=months,
            )
        return make_offer(
            provider=self.id,
            offer_id=fields["id"],
            number=fields.get("e164"),
            country=fields.get("country"),
            region=fields.get("region") or None,
            number_type=None,  # inferred from the numbering plan; marked number_type_inferred
            capabilities=_capabilities(fields.get("capabilities")),  # None (unknown, not "none") when absent
            setup_price=setup,
            monthly_price=self._monthly_price(fields.get("monthly_fee"), fields.get("monthly_cost"), currency),
            minimum_commitment_months=months,
            provider_details=details,
            strictness=self.number_strictness,
        )

    @staticmethod
    def _monthly_price(monthly_fee: Any, monthly_cost: Any, currency: Any) -> Money | None:
        """``monthly_fee``, or its alias ``monthly_cost``; both present must agree; neither → None (not zero)."""
        if monthly_fee is not None and monthly_cost is not None:
            fee = decimal_from_json_number(monthly_fee, field="monthly_fee")
            cost = decimal_from_json_number(monthly_cost, field="monthly_cost")
            if fee != cost:
                raise FieldError(
                    f"monthly_fee ({monthly_fee}) and monthly_cost ({monthly_cost}) disagree",
                    field="monthly_cost",
                    value=monthly_cost,
                )
        if monthly_fee is not None:
            return money_from_json_number(monthly_fee, currency, field="monthly_fee")
        if monthly_cost is not None:
            return money_from_json_number(monthly_cost, currency, field="monthly_cost")
        return None

    # -- purchasing --------------------------------------------------------------------------------

    async def _purchase(self, offer: AvailableNumber) -> PurchaseReceipt:
        url = self.connection.url("v1", self._account, self._auth_id, "numbers", "purchase-from-inventory")
        try:
            response = await self.connection.post(url, json={"e164": offer.e164})
        except NotFoundError as exc:
            raise exc.recast(NumberUnavailableError, f"{exc.detail} (no longer in inventory)") from None
        except ProviderUnavailableError as exc:
            if exc.status_code == 500 and _DEBIT_FAILED.search(exc.body):
                raise exc.recast(DebitFailedError, f"{exc.detail} (the balance debit failed)") from None
            raise
        body = self.connection.json(response)
        if not isinstance(body, dict):
            raise ProviderResponseError(self.id, f"purchase answered {response.status_code} with an unexpected body")
        number: dict[str, Any] = wire.pick(body, "number", dict) or {}
        bought = wire.pick(number, "e164", str)
        if bought and bought.strip() and bought.strip() != offer.e164:
            raise OtherNumberSoldError(
                self.id, f"purchase of {offer.e164} answered with another number {bought!r}", sold=_canonical(bought)
            )
        details: dict[str, JsonValue] = {k: json_safe(number[k]) for k in _RECEIPT_FIELDS if k in number}
        if (message := wire.pick(body, "message", str)) is not None:
            details["message"] = message[:200]
        request_id = wire.pick(body, "requestId", str)
        return PurchaseReceipt(
            provider=self.id,
            offer_id=offer.offer_id,
            e164=offer.e164,
            vendor_id=wire.identifier(number, "id"),
            request_id=request_id if request_id is not None else self.connection.request_id(response),
            details=details,
        )

    # -- owned numbers -----------------------------------------------------------------------------

    def _owned_url(self, query: OwnedQuery) -> str:
        if query.view is OwnedView.PARTNER:
            return self.connection.url("v1", "partner", "numbers")
        if query.view is OwnedView.CUSTOMER:
            return self.connection.url("v1", "partner", "accounts", query.customer or "", "numbers")
        return self.connection.url("v1", self._account, self._auth_id, "numbers")

    async def _fetch_owned_page(self, query: OwnedQuery, cursor: int | str | None) -> RawPage:
        number = cursor if isinstance(cursor, int) else 1
        size = self.owned_per_page
        # The docs disagree on page/per_page vs limit/offset for this list: send both (the same slice).
        params: dict[str, str | int] = {"page": number, "per_page": size, "limit": size, "offset": (number - 1) * size}
        if query.view is OwnedView.ACCOUNT and self._auth_id.startswith("MA_"):
            # Documented default for master accounts, absent from the SDK: asked for explicitly.
            params["include_subaccounts"] = "true"
        page = self._page(
            await self.connection.get(self._owned_url(query), params=params),
            f"owned numbers page {number}: unexpected envelope",
        )
        if page.page is not None and page.page != number:
            raise ProviderResponseError(self.id, f"owned numbers: asked for page {number}, got page {page.page}")
        return RawPage(records=page.items, total=page.total)

    def _normalize_owned(self, record: Any, query: OwnedQuery) -> OwnedNumber:
        data = wire.record(record)
        item = _VobizRecord.model_validate(data)
        status = item.status if isinstance(item.status, str) and item.status else None
        holder = wire.text(data, "account_id", optional=True)
        own = holder is None or holder == self._auth_id
        details: dict[str, JsonValue] = {"id": item.id}
        for name in _OWNED_TEXT_FIELDS:
            value = data.get(name)
            if isinstance(value, str) and value:
                details[name] = value
        details.update({name: data[name] for name in _OWNED_FLAGS if isinstance(data.get(name), bool)})
        if item.setup_fee is not None:
            details["setup_fee"] = str(decimal_from_json_number(item.setup_fee, field="setup_fee"))
        return make_owned(
            provider=self.id,
            provider_number_id=None,  # released by its E.164 (the path of the release call)
            number=item.e164,
            country=item.country,
            status=_OWNED_STATUS.get(status or "", OwnedStatus.OTHER),
            vendor_status=status,
            capabilities=_capabilities(item.capabilities),
            monthly_price=self._monthly_price(item.monthly_fee, item.monthly_cost, item.currency),
            next_renewal=read_date(data, "next_billing_date"),
            routed=wire.routing(data, ("application_id", "trunk_group_id")),
            sub_account=None if own or query.view is not OwnedView.ACCOUNT else holder,
            # A partner's views: each number's customer (the one asked for when the item does not say).
            account=None if query.view is OwnedView.ACCOUNT else (holder or query.customer),
            purchased_at=read_timestamp(data, "purchased_at"),
            provider_details=details,
        )

    # -- giving numbers back -----------------------------------------------------------------------

    def _number_url(self, number: OwnedNumber, *tail: str) -> str:
        return self.connection.url("v1", self._account, self._auth_id, "numbers", number.e164, *tail)

    async def _release(self, number: OwnedNumber, *, immediate: bool) -> ReleaseAnswer:
        params = {"immediate": "true"} if immediate else None
        try:
            response = await self.connection.send("DELETE", self._number_url(number), params=params)
        except PermissionDeniedError as exc:
            if _NOT_OWNED.search(exc.detail) or _NOT_OWNED.search(exc.body):  # {"error", "message"}: the docs' shape
                # The vendor says the account does not hold it: perhaps already given back. The list decides.
                raise exc.recast(NotFoundError, f"{exc.detail} (not the account's number)") from None
            raise
        if response.status_code == 204 or not response.content.strip():
            return ReleaseAnswer(state=OwnedStatus.INACTIVE)
        body = self.connection.json(response)
        if not isinstance(body, dict):
            raise ProviderResponseError(self.id, f"release answered {response.status_code} with an unexpected body")
        message = wire.pick(body, "message", str)
        status = (wire.pick(body, "status", str) or "").strip().lower()
        if status in _FAILED_STATUSES or isinstance(body.get("error"), dict | str):
            raise self.connection.error(response, status=422, message=f"release refused: {message or status}")
        if status == "pending_release":
            ends = read_timestamp(body, "cooldown_ends_at")
            return ReleaseAnswer(
                state=OwnedStatus.PENDING_RELEASE,
                effective_at=ends,
                undo_until=ends,
                fee=self._fee(body, "release_fee", number),
                message=message,
            )
        if status and status not in _RELEASED_STATUSES:
            raise ProviderResponseError(self.id, f"release answered status {status[:40]!r}, which says neither way")
        return ReleaseAnswer(state=OwnedStatus.INACTIVE, fee=self._fee(body, "release_fee", number), message=message)

    async def _cancel_release(self, number: OwnedNumber) -> ReleaseAnswer:
        response = await self.connection.post(self._number_url(number, "cancel-release"), json={})
        body = self.connection.json(response) if response.content.strip() else {}
        if not isinstance(body, dict):
            raise ProviderResponseError(self.id, f"cancel-release answered {response.status_code} with an odd body")
        status = (wire.pick(body, "status", str) or "active").strip().lower()
        if status != "active":
            raise self.connection.error(response, status=422, message=f"cancel-release left the number {status!r}")
        refund_failed = None
        if wire.pick(body, "refund_status", str) == "failed":
            refund_failed = wire.pick(body, "refund_error", str) or "the refund could not be processed"
        return ReleaseAnswer(
            state=OwnedStatus.ACTIVE,
            fee=self._fee(body, "refund_amount", number),
            message=wire.pick(body, "message", str),
            refund_failed=refund_failed,
        )

    async def _move_number(self, number: OwnedNumber, sub_account: str | None, *, force: bool) -> ReleaseAnswer:
        url = self._number_url(number, "assign-subaccount")
        try:
            if sub_account is not None:
                response = await self.connection.post(url, json={"sub_account_id": sub_account})
            else:
                params = {"force": "true"} if force else None
                response = await self.connection.send("DELETE", url, params=params)
        except BadRequestError as exc:
            if exc.status_code == 409 and "cool_off" in (exc.vendor_code or "") + exc.body:
                raise _cool_off(exc) from None
            raise
        body = self.connection.json(response) if response.content.strip() else {}
        message = wire.pick(body, "message", str) if isinstance(body, dict) else None
        return ReleaseAnswer(state=OwnedStatus.ACTIVE, message=message)

    @staticmethod
    def _fee(body: Mapping[str, Any], key: str, number: OwnedNumber) -> Money | None:
        """A fee (or refund) of an answer, in its ``currency`` or else the number's; None when it states none."""
        value = body.get(key)
        currency = body.get("currency") or (number.monthly_price.currency if number.monthly_price else None)
        if value is None or currency is None:
            return None
        return money_from_json_number(value, currency, field=key)


def _cool_off(exc: BadRequestError) -> CoolOffError:
    """The cool-off refusal, with ``cool_off_until`` and ``cool_off_remaining_seconds`` from its body."""
    try:
        body = json.loads(exc.body)
    except ValueError:
        body = {}
    found: dict[str, Any] = dict(body) if isinstance(body, dict) else {}
    nested = found.get("error")
    if isinstance(nested, dict):  # the documented envelope: {"error": {"code", "message", "details"}}
        details = nested.get("details")
        found.update(nested)
        found.update(details if isinstance(details, dict) else {})
    until = found.get("cool_off_until")
    remaining = found.get("cool_off_remaining_seconds")
    error = exc.recast(CoolOffError, f"{exc.detail} (a cool-off: the number was used recently)")
    error.until = until if isinstance(until, str) else None
    error.remaining_seconds = remaining if isinstance(remaining, int) and not isinstance(remaining, bool) else None
    return error


def _canonical(number: str) -> str | None:
    """``number`` in canonical E.164, or None when it is not a phone number."""
    try:
        return parse_e164(number, strictness="possible").e164
    except FieldError:
        return None
