"""Bird (formerly MessageBird) Numbers API: numbers in stock, ``GET /organizations/{id}/numbers-stock-items``.

Wire facts this module relies on (from Bird's API reference, "Search Available Numbers" in the Numbers API):

* auth is ``Authorization: AccessKey <key>`` (the ``Bearer`` in Bird's "try it" sample is a user JWT);
* array query parameters are sent as repeated keys (``countryCodes=US&countryCodes=NL``);
* ``prefix`` is in full international format (``+1212``) and only valid together with ``countryCodes``;
* paging is by ``pageToken`` / ``nextPageToken``, at most 99 records a page, no total;
* ``monthlyPrice`` is ``amount × 10^exponent`` (``3500000, -6`` is 3.500000); there is no setup price;
* capabilities are directional (``sms.inbound`` / ``sms.outbound``); stock items say nothing of fax or WhatsApp;
* buying is ``POST /workspaces/{workspaceId}/numbers-long-code`` with ``{"numberStockItemIds": [id]}``
  (``BIRD_WORKSPACE_ID`` is needed only for this and for the owned list).

The owned list (Bird's API reference, "List your numbers", "Manage endpoint subscriptions" and its
"Cancel number subscription" page) is ``GET /workspaces/{workspaceId}/numbers``: "all purchased numbers
assigned to the workspace", ``limit`` 1..99 and ``pageToken`` like the search. Its records are Bird's
``Number``: ``id`` (what the number's subscription is cancelled by: the endpoint id of a long-code number),
``number``, ``country``, ``type``, ``capabilities`` (``voice``/``sms``/``mms``/``fax``, each ``inbound`` and
``outbound``), ``status``, ``monthlyRecurringPrice`` (Money: ``amount × 10^exponent``), ``subscription``
``{status, subscribedAt, cancelledAt}``, ``endpointSubscription`` ``{status, startAt, endAt, canceledAt}``
(one body spells the cancellation both ways; both are read), ``configurations`` (``voice``/``sms`` →
``inbound``/``outbound`` → ``connectorId``), ``createdAt`` and ``activatedAt``. What numbroker makes of it:

* the monthly price is the subscription's ``monthlyRecurringPrice`` when it states an amount (``vendor``);
  one that names only a currency (as Bird's examples do) is no price at all: null, never a guess;
* the next renewal is the endpoint subscription's ``endAt``, the end of the paid period (``vendor``): a
  subscription renews then, or, once cancelled, the number is released then;
* ``status`` ``active`` is active unless its subscription was cancelled, which makes it
  ``pending_release`` (Bird keeps a cancelled number until its paid period ends: ``provider_details``
  ``releases_at`` is that ``endAt``, the word Bird's SDK uses for it); ``pending`` and
  ``provisioning`` are pending; ``inactive``, ``cancelled``, ``deprovisioned`` and ``suspended`` are
  inactive; any other word is ``other`` (Bird's enum is not published; the word is kept);
* routed: a ``connectorId`` is set under ``configurations`` (null when the record has no configurations);
* numbers belong to a workspace of the organization: the configured workspace lists its own, and no
  number is another account's (``sub_account`` is null).

Buying's ownership check reads the same list through the owned-list hook.

A number is given back by cancelling its subscription: ``POST /workspaces/{workspaceId}/numbers/{numberId}/
cancel-subscription`` ("Cancel number subscription"), which answers 200 with the updated ``Number``. Bird marks
that call deprecated in favour of "Manage Endpoint Subscriptions" (the number id as the endpoint id, ``main``
as the subscription name, "identical behavior"), whose cancel verb and path its reference does not give: the
one documented exactly is the one sent. A cancelled number stays the workspace's, and billed, until its paid
period ends (Bird's SDK: "A billed number stays yours until its paid period ends, then is released"; "One
with no subscription is released now"), so the answer is read as:

* cancelled (``endpointSubscription.canceledAt`` or ``subscription.cancelledAt`` set) with the paid period's
  ``endAt`` still ahead: ``pending_release``, effective at ``endAt``, with no undo Bird documents;
* cancelled with no paid period ahead (no ``endAt``, or one already past), or the number no longer
  ``active``: released now;
* a 200 that does not say the subscription is cancelled: no answer (the caller confirms against the
  owned list, which shows a cancelled number ``pending_release``). A 404 means the workspace holds no such
  number; other 4xx are refusals in Bird's words.

The reservation gap: Bird's buy page says "Before buying the number, you must reserve it" (for users)
but documents no reservation endpoint. numbroker implements only what is documented: it sends the
purchase as is; a refusal that mentions a reservation is raised as :class:`ReservationRequiredError`
(a refusal of the provider: nothing was bought, and buy-cheapest stops using Bird for the run).
A 409, or a 404 naming the stock item, means the item is gone (:class:`NumberUnavailableError`);
any other 404 means the workspace is wrong (:class:`ConfigurationError`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, JsonValue, StrictStr, ValidationError

from numbroker import (
    AfterPurchase,
    AvailableNumber,
    BadRequestError,
    Capability,
    ConfigurationError,
    FilterSupport,
    MissingCredentialsError,
    Money,
    NotFoundError,
    NumberType,
    NumberUnavailableError,
    OwnedNumber,
    OwnedQuery,
    OwnedStatus,
    ProviderResponseError,
    PurchaseError,
    QueryFilter,
    ReleaseAnswer,
    ReleaseMode,
    ReservationRequiredError,
    SearchQuery,
)
from numbroker.adapters import (
    Cursor,
    FieldError,
    Provider,
    PurchaseReceipt,
    RateLimit,
    RawPage,
    json_safe,
    make_offer,
    make_owned,
    money_from_scaled_int,
    path_segment,
    read_date,
    read_timestamp,
    same_number,
    wire,
)

__all__ = ["BirdProvider"]

_TYPES: Mapping[str, NumberType] = {
    "local": NumberType.LOCAL,
    "mobile": NumberType.MOBILE,
    "toll-free": NumberType.TOLL_FREE,
    "national": NumberType.NATIONAL,
}
"""Bird's ``LongCodeNumberType`` values → the neutral type (Bird has no shared-cost numbers)."""

_WIRE_TYPES: Mapping[NumberType, str] = {neutral: wire for wire, neutral in _TYPES.items()}

_RESERVATION = re.compile(r"not\s*reserved|be\s+reserved|must\s+reserve|reservation", re.IGNORECASE)
"""A refusal for want of a reservation (``NumberNotReserved``, "must be reserved"), not "reserved by someone else"."""
_RECEIPT_FIELDS = ("endpointId", "type", "countryCode", "createdAt")

_REPORTED = (Capability.VOICE, Capability.SMS, Capability.MMS)
"""The capabilities a stock item reports; fax and WhatsApp never appear in its ``capabilities``."""
_REPORTED_FIELDS: Mapping[Capability, tuple[str, str, str, str]] = {
    cap: (
        cap.value,
        f"capabilities.{cap.value}",
        f"capabilities.{cap.value}.inbound",
        f"capabilities.{cap.value}.outbound",
    )
    for cap in (*_REPORTED, Capability.FAX)
}
"""Per capability (an owned ``Number`` also reports ``fax``): its key in ``capabilities``, and the field names
its flags are read under."""

_OWNED_STATUS: Mapping[str, OwnedStatus] = {
    "active": OwnedStatus.ACTIVE,
    "pending": OwnedStatus.PENDING,
    "provisioning": OwnedStatus.PENDING,
    "inactive": OwnedStatus.INACTIVE,
    "cancelled": OwnedStatus.INACTIVE,
    "canceled": OwnedStatus.INACTIVE,
    "deprovisioned": OwnedStatus.INACTIVE,
    "suspended": OwnedStatus.INACTIVE,
}
"""A ``Number``'s ``status`` (Bird publishes no enum; an unknown word is ``other``)."""
_OWNED_DETAILS = ("createdAt", "activatedAt", "updatedAt")


def _directional(
    item: Mapping[str, Any], reported: tuple[Capability, ...]
) -> tuple[list[Capability] | None, JsonValue]:
    """The capabilities of a record's directional ``capabilities`` (either direction counts), and the flags."""
    found = wire.mapping(item, "capabilities")
    if found is None:
        return None, None
    capabilities: list[Capability] = []
    directions: dict[str, JsonValue] = {}
    for cap in reported:
        name, where, where_in, where_out = _REPORTED_FIELDS[cap]
        flags = wire.mapping(found, name, field=where)
        if flags is None:
            continue
        inbound = bool(wire.flag(flags, "inbound", field=where_in))
        outbound = bool(wire.flag(flags, "outbound", field=where_out))
        directions[name] = {"inbound": inbound, "outbound": outbound}
        if inbound or outbound:
            capabilities.append(cap)
    return capabilities, directions


def _money(item: Mapping[str, Any], key: str, *, stated: bool = False) -> Money | None:
    """Bird's Money at ``key`` (``amount × 10^exponent``).

    None when absent, and, unless ``stated`` (a price that must be there), when it names no amount.
    """
    price = wire.mapping(item, key)
    if price is None or (not stated and price.get("amount") is None):
        return None
    return money_from_scaled_int(
        price.get("amount"),
        price.get("exponent"),
        price.get("currencyCode"),
        field=f"{key}.amount",
        exponent_field=f"{key}.exponent",
        currency_field=f"{key}.currencyCode",
    )


class _BirdPage(BaseModel):
    """The page envelope; records stay raw so one bad record cannot fail the page."""

    model_config = ConfigDict(extra="allow")

    results: list[Any]
    nextPageToken: StrictStr | None = None


class BirdProvider(Provider):
    """Bird's stock of long-code numbers for one organization.

    Offers carry the stock-item id as ``offer_id`` (what a purchase needs), a monthly price and no setup
    price. ``provider_details`` keeps the directional capability flags and the back-order fields.
    """

    id: ClassVar[str] = "bird"
    display_name: ClassVar[str] = "Bird"
    default_base_url: ClassVar[str] = "https://api.bird.com"
    account_id_credential: ClassVar[str | None] = "organization_id"
    credentials: ClassVar[Mapping[str, str]] = {
        "access_key": "BIRD_ACCESS_KEY",
        "organization_id": "BIRD_ORGANIZATION_ID",
    }
    settings: ClassVar[Mapping[str, str]] = {"workspace_id": "BIRD_WORKSPACE_ID"}
    filter_support: ClassVar[Mapping[QueryFilter, FilterSupport]] = {
        QueryFilter.COUNTRY: FilterSupport.NATIVE,
        QueryFilter.NUMBER_TYPE: FilterSupport.NATIVE,
        QueryFilter.CAPABILITIES: FilterSupport.EMULATED,
        QueryFilter.PREFIX: FilterSupport.NATIVE,
        QueryFilter.CONTAINS: FilterSupport.EMULATED,
        QueryFilter.MAX_SETUP_PRICE: FilterSupport.EMULATED,  # no setup price stated: none charged, under any cap
        QueryFilter.MAX_MONTHLY_PRICE: FilterSupport.EMULATED,
    }
    paging = "token"
    per_page: ClassVar[int] = 99
    rate_limit: ClassVar[RateLimit | None] = RateLimit(50, 1.0)
    sandbox: ClassVar[str | None] = "numbroker_providers.bird.sandbox:create_app"
    supports_purchase: ClassVar[bool] = True
    owned_paging = "token"
    owned_per_page: ClassVar[int] = 99
    after_purchase = AfterPurchase(
        can_list=True,
        can_get=True,  # the list's searchTerm
        release=ReleaseMode.END_OF_PERIOD,  # a cancelled subscription keeps the number until its paid period ends
        states_prices=True,  # the subscription's monthlyRecurringPrice, when it states an amount
        states_renewals=True,  # endpointSubscription.endAt, the end of the paid period
        sub_accounts="workspaces of an organization; each lists its own numbers (BIRD_WORKSPACE_ID)",
    )
    states_setup_prices: ClassVar[bool] = False  # Bird lists no setup fee: a missing one is none, not unknown
    record_id_field: ClassVar[str | None] = "id"
    wire_fields: ClassVar[Mapping[str, str]] = {
        "offer_id": "id",
        "e164": "numberString",
        "country": "countryCode",
        "number_type": "type",
        "monthly_price": "monthlyPrice.amount",
        "currency": "monthlyPrice.currencyCode",
    }
    owned_wire_fields: ClassVar[Mapping[str, str]] = {
        "provider_number_id": "id",
        "e164": "number",
        "country": "country",
    }

    def __init__(
        self,
        *,
        access_key: str | None = None,
        organization_id: str | None = None,
        workspace_id: str | None = None,
        **options: Any,
    ) -> None:
        """Create the provider.

        Args:
            access_key: a Bird access key (env ``BIRD_ACCESS_KEY``).
            organization_id: the organization whose stock is searched (env ``BIRD_ORGANIZATION_ID``).
            workspace_id: the workspace numbers are bought into (env ``BIRD_WORKSPACE_ID``; purchases only).
            **options: the shared options of :class:`~numbroker.Provider` (``base_url``, ``http_client``…).

        Raises:
            MissingCredentialsError: ``access_key`` or ``organization_id`` is given nowhere.
            ConfigurationError: an id is not a safe URL path segment, or the base URL is invalid.
        """
        super().__init__(**options)
        self._creds = self._resolve_credentials({"access_key": access_key, "organization_id": organization_id})
        self._organization_id = path_segment(self._creds["organization_id"].get_secret_value(), "BIRD_ORGANIZATION_ID")
        workspace = self._setting("workspace_id", workspace_id)
        self._workspace_id = path_segment(workspace, "BIRD_WORKSPACE_ID") if workspace else None
        if workspace:
            # An account id like the organization id: never shown.
            self.connection.add_secret(workspace, name="workspace_id= (env BIRD_WORKSPACE_ID)")

    def unapplied_filters(self, query: SearchQuery) -> dict[QueryFilter, FilterSupport]:
        """The filters ``query`` uses that Bird cannot apply natively, refined per value.

        A number type Bird has no name for (``shared_cost``) is not sent, so it is filtered client-side;
        fax and WhatsApp are never reported by stock items, so a query needing them cannot be decided.
        """
        out = super().unapplied_filters(query)
        if query.number_type is not None and query.number_type not in _WIRE_TYPES:
            out[QueryFilter.NUMBER_TYPE] = FilterSupport.EMULATED
        if any(cap not in _REPORTED for cap in query.capabilities):
            out[QueryFilter.CAPABILITIES] = FilterSupport.UNSUPPORTED
        return out

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"AccessKey {self._creds['access_key'].get_secret_value()}"}

    def _params(self, query: SearchQuery, cursor: Cursor) -> list[tuple[str, str]]:
        # Capabilities are never sent: Bird's `features` are directional (`sms-outbound`), and the neutral
        # `sms` means "either direction", which one directional value cannot express.
        params = [("limit", str(self.per_page)), ("countryCodes", query.country)]
        if cursor is not None:
            params.append(("pageToken", str(cursor)))
        wire_type = _WIRE_TYPES.get(query.number_type) if query.number_type is not None else None
        if wire_type is not None:
            params.append(("types", wire_type))
        if query.prefix is not None:
            params.append(("prefix", query.e164_prefix))
        return params

    async def _fetch_page(self, query: SearchQuery, cursor: Cursor) -> RawPage:
        url = self.connection.url("organizations", self._organization_id, "numbers-stock-items")
        return await self._page(url, self._params(query, cursor), "")

    async def _page(self, url: str, params: list[tuple[str, str]], what: str) -> RawPage:
        """One token-paged list page (``{"results": [...], "nextPageToken"}``); another shape cannot be read."""
        response = await self.connection.get(url, params=params)
        try:
            page = _BirdPage.model_validate(self.connection.json(response))
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in error["loc"]) or "body"
            raise ProviderResponseError(self.id, f"{what}unexpected page shape at {where}: {error['msg']}") from None
        return RawPage(records=page.results, next_token=page.nextPageToken)

    def _normalize(self, record: Any, query: SearchQuery) -> AvailableNumber:
        item = wire.record(record)
        offer_id = str(wire.text(item, "id"))
        monthly = _money(item, "monthlyPrice", stated=True)
        if monthly is None:
            raise FieldError("no monthly price", field="monthlyPrice", value=None)
        details: dict[str, JsonValue] = {
            "backOrderRequired": wire.flag(item, "backOrderRequired"),
            "backOrderStockId": wire.text(item, "backOrderStockId", optional=True),
        }
        number_type = self._number_type(item, details)
        capabilities, directions = _directional(item, _REPORTED)
        if capabilities is not None:
            details["capability_directions"] = directions
        return make_offer(
            provider=self.id,
            offer_id=offer_id,
            number=item.get("numberString"),
            country=item.get("countryCode"),
            number_type=number_type,
            capabilities=capabilities,
            monthly_price=monthly,
            provider_details=details,
            strictness=self.number_strictness,
        )

    @staticmethod
    def _number_type(item: Mapping[str, Any], details: dict[str, JsonValue]) -> NumberType | None:
        """A record's ``type``: None when absent; ``unknown`` (kept as ``vendor_type``) when Bird names another."""
        vendor_type = wire.text(item, "type", optional=True)
        if vendor_type is None:
            return None
        number_type = _TYPES.get(vendor_type.strip().lower().replace("_", "-"), NumberType.UNKNOWN)
        if number_type is NumberType.UNKNOWN:
            details["vendor_type"] = vendor_type
        return number_type

    # -- purchasing --------------------------------------------------------------------------------

    def _workspace(self) -> str:
        if self._workspace_id is None:
            raise MissingCredentialsError(self.id, {"workspace_id": "BIRD_WORKSPACE_ID"})
        return self._workspace_id

    async def _purchase(self, offer: AvailableNumber) -> PurchaseReceipt:
        url = self.connection.url("workspaces", self._workspace(), "numbers-long-code")
        try:
            response = await self.connection.post(url, json={"numberStockItemIds": [offer.offer_id]})
        except BadRequestError as exc:
            if _RESERVATION.search(exc.body) or _RESERVATION.search(exc.detail):
                raise exc.recast(
                    ReservationRequiredError,
                    f"{exc.detail} (Bird wants the stock item reserved first and documents no way to do it)",
                ) from None
            if exc.status_code == 409:
                raise exc.recast(NumberUnavailableError, f"{exc.detail} (no longer in stock)") from None
            raise
        except NotFoundError as exc:
            if offer.offer_id in exc.body or "stock item" in exc.body.lower():
                raise exc.recast(NumberUnavailableError, f"{exc.detail} (no longer in stock)") from None
            raise ConfigurationError(f"{self.id}: buying answered {exc.detail}: check BIRD_WORKSPACE_ID") from None
        body = self.connection.json(response)
        entries = body if isinstance(body, list) else [body]
        for entry in entries:
            if isinstance(entry, dict) and same_number(entry.get("numberString"), offer.e164):
                return PurchaseReceipt(
                    provider=self.id,
                    offer_id=offer.offer_id,
                    e164=offer.e164,
                    vendor_id=wire.pick(entry, "id", str),
                    request_id=self.connection.request_id(response),
                    details={k: json_safe(entry[k]) for k in _RECEIPT_FIELDS if k in entry},
                )
        raise ProviderResponseError(
            self.id, f"purchase answered {response.status_code} without listing {offer.e164}; outcome unclear"
        )

    # -- owned numbers -----------------------------------------------------------------------------

    async def _fetch_owned_page(self, query: OwnedQuery, cursor: Cursor) -> RawPage:
        url = self.connection.url("workspaces", self._workspace(), "numbers")
        params = [("limit", str(self.owned_per_page))] + ([("pageToken", str(cursor))] if cursor else [])
        if query.e164 is not None:  # an ownership check: the numbers containing its digits (still compared whole)
            params.append(("searchTerm", query.e164[1:]))
        return await self._page(url, params, "owned numbers: ")

    def _normalize_owned(self, record: Any, query: OwnedQuery) -> OwnedNumber:
        item = wire.record(record)
        details: dict[str, JsonValue] = {}
        number_type = self._number_type(item, details)
        capabilities, directions = _directional(item, (*_REPORTED, Capability.FAX))
        if capabilities is not None:
            details["capability_directions"] = directions
        plan = wire.mapping(item, "endpointSubscription") or {}
        billing = wire.mapping(item, "subscription") or {}
        cancelled = read_timestamp(plan, "canceledAt", field="endpointSubscription.canceledAt") or read_timestamp(
            billing, "cancelledAt", field="subscription.cancelledAt"
        )
        vendor_status = wire.text(item, "status", optional=True)
        status = _OWNED_STATUS.get((vendor_status or "").strip().lower(), OwnedStatus.OTHER)
        if cancelled is not None:
            details["cancelled_at"] = cancelled.isoformat()
            if status is OwnedStatus.ACTIVE:
                status = OwnedStatus.PENDING_RELEASE  # kept and billed until the paid period ends
                with contextlib.suppress(FieldError):  # a date alone is still the renewal below
                    if (ends := read_timestamp(plan, "endAt")) is not None:
                        details["releases_at"] = ends.isoformat()  # when it is released (Bird's SDK's word)
        for key in ("status", "id"):
            if isinstance(plan.get(key), str):
                details[f"endpoint_subscription_{key}"] = plan[key]
        for key in _OWNED_DETAILS:
            if isinstance(item.get(key), str):
                details[key] = item[key]
        return make_owned(
            provider=self.id,
            provider_number_id=wire.text(item, "id"),
            number=item.get("number"),
            country=item.get("country"),
            status=status,
            vendor_status=vendor_status,
            number_type=number_type,
            capabilities=capabilities,
            monthly_price=_money(item, "monthlyRecurringPrice"),
            next_renewal=read_date(plan, "endAt", field="endpointSubscription.endAt"),
            routed=_routed(item),
            purchased_at=read_timestamp(billing, "subscribedAt", field="subscription.subscribedAt")
            or read_timestamp(item, "createdAt"),
            provider_details=details,
        )

    # -- giving numbers back -----------------------------------------------------------------------

    async def _release(self, number: OwnedNumber, *, immediate: bool) -> ReleaseAnswer:
        # Bird keeps a cancelled number until its paid period ends: there is no earlier release to ask for.
        try:
            number_id = path_segment(number.provider_number_id or "", "number id")
        except ConfigurationError:
            raise PurchaseError(f"{self.id}: {number.e164} is not listed under a usable number id") from None
        url = self.connection.url("workspaces", self._workspace(), "numbers", number_id, "cancel-subscription")
        response = await self.connection.post(url)
        item = self.connection.json(response)
        try:
            return _cancelled(item, datetime.now(UTC))
        except (FieldError, ValueError) as exc:
            raise ProviderResponseError(
                self.id, f"the cancel of {number.e164} answered {response.status_code}: {exc}; outcome unknown"
            ) from None


def _cancelled(item: Any, now: datetime) -> ReleaseAnswer:
    """What a cancel-subscription answer (the updated ``Number``) says; ValueError when it says no cancellation."""
    if not isinstance(item, Mapping):
        raise ValueError("expected the updated Number")
    plan = wire.mapping(item, "endpointSubscription") or {}
    billing = wire.mapping(item, "subscription") or {}
    cancelled = read_timestamp(plan, "canceledAt", field="endpointSubscription.canceledAt") or read_timestamp(
        billing, "cancelledAt", field="subscription.cancelledAt"
    )
    status = (wire.text(item, "status", optional=True) or "").strip().lower()
    if _OWNED_STATUS.get(status) is OwnedStatus.INACTIVE:
        return ReleaseAnswer(state=OwnedStatus.INACTIVE)
    if cancelled is None:
        raise ValueError("the subscription is not said to be cancelled")
    ends = read_timestamp(plan, "endAt", field="endpointSubscription.endAt")
    if ends is None or ends <= now:
        return ReleaseAnswer(state=OwnedStatus.INACTIVE)
    return ReleaseAnswer(state=OwnedStatus.PENDING_RELEASE, effective_at=ends)


def _routed(item: Mapping[str, Any]) -> bool | None:
    """Whether a ``connectorId`` is set under ``configurations`` (None when the record has none)."""
    configurations = wire.mapping(item, "configurations")
    if configurations is None:
        return None
    for channel, directions in configurations.items():
        if not isinstance(directions, Mapping):
            raise FieldError("expected an object", field=f"configurations.{channel}", value=directions)
        for direction, setting in directions.items():
            where = f"configurations.{channel}.{direction}"
            if setting is None:
                continue
            if not isinstance(setting, Mapping):
                raise FieldError("expected an object", field=where, value=setting)
            if wire.text(setting, "connectorId", field=f"{where}.connectorId", optional=True):
                return True
    return False
