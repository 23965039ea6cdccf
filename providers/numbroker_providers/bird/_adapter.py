"""Bird (formerly MessageBird) Numbers API: numbers in stock, ``GET /organizations/{id}/numbers-stock-items``.

Wire facts this module relies on (from Bird's API reference, "Search Available Numbers" in the Numbers API):

* auth is ``Authorization: AccessKey <key>`` (the ``Bearer`` in Bird's "try it" sample is a user JWT);
* array query parameters are sent as repeated keys (``countryCodes=US&countryCodes=NL``);
* ``prefix`` is in full international format (``+1212``) and only valid together with ``countryCodes``;
* paging is by ``pageToken`` / ``nextPageToken``, at most 99 records a page, no total;
* ``monthlyPrice`` is ``amount × 10^exponent`` (``3500000, -6`` is 3.500000); there is no setup price;
* capabilities are directional (``sms.inbound`` / ``sms.outbound``); stock items say nothing of fax or WhatsApp;
* buying is ``POST /workspaces/{workspaceId}/numbers-long-code`` with ``{"numberStockItemIds": [id]}``
  (``BIRD_WORKSPACE_ID`` is needed only for this and for the owned list,
  ``GET /workspaces/{workspaceId}/numbers-long-code``, token-paged like the search).

The reservation gap: Bird's buy page says "Before buying the number, you must reserve it" (for users)
but documents no reservation endpoint. numbroker implements only what is documented: it sends the
purchase as is; a refusal that mentions a reservation is raised as :class:`ReservationRequiredError`
(a refusal of the provider: nothing was bought, and buy-cheapest stops using Bird for the run).
A 409, or a 404 naming the stock item, means the item is gone (:class:`NumberUnavailableError`);
any other 404 means the workspace is wrong (:class:`ConfigurationError`).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, JsonValue, StrictStr, ValidationError

from numbroker import (
    AvailableNumber,
    BadRequestError,
    Capability,
    ConfigurationError,
    FilterSupport,
    MissingCredentialsError,
    NotFoundError,
    NumberType,
    NumberUnavailableError,
    ProviderResponseError,
    QueryFilter,
    ReservationRequiredError,
    SearchQuery,
)
from numbroker.adapters import (
    Cursor,
    FieldError,
    OwnedEntry,
    OwnedPage,
    Provider,
    PurchaseReceipt,
    RateLimit,
    RawPage,
    json_safe,
    make_offer,
    money_from_scaled_int,
    path_segment,
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
    for cap in _REPORTED
}
"""Per reported capability: its key in ``capabilities``, and the field names its flags are read under."""


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
        response = await self.connection.get(url, params=self._params(query, cursor))
        try:
            page = _BirdPage.model_validate(self.connection.json(response))
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in error["loc"]) or "body"
            raise ProviderResponseError(self.id, f"unexpected page shape at {where}: {error['msg']}") from None
        return RawPage(records=page.results, next_token=page.nextPageToken)

    def _normalize(self, record: Any, query: SearchQuery) -> AvailableNumber:
        item = wire.record(record)
        offer_id = str(wire.text(item, "id"))
        price = wire.mapping(item, "monthlyPrice")
        if price is None:
            raise FieldError("no monthly price", field="monthlyPrice", value=None)
        monthly = money_from_scaled_int(
            price.get("amount"),
            price.get("exponent"),
            price.get("currencyCode"),
            field="monthlyPrice.amount",
            exponent_field="monthlyPrice.exponent",
            currency_field="monthlyPrice.currencyCode",
        )
        details: dict[str, JsonValue] = {
            "backOrderRequired": wire.flag(item, "backOrderRequired"),
            "backOrderStockId": wire.text(item, "backOrderStockId", optional=True),
        }
        number_type: NumberType | None = None
        vendor_type = wire.text(item, "type", optional=True)
        if vendor_type is not None:
            number_type = _TYPES.get(vendor_type.strip().lower().replace("_", "-"), NumberType.UNKNOWN)
            if number_type is NumberType.UNKNOWN:
                details["vendor_type"] = vendor_type
        capabilities: list[Capability] | None = None
        reported = wire.mapping(item, "capabilities")
        if reported is not None:
            capabilities = []
            directions: dict[str, JsonValue] = {}
            for cap, (name, where, where_in, where_out) in _REPORTED_FIELDS.items():
                flags = wire.mapping(reported, name, field=where)
                if flags is None:
                    continue
                inbound = bool(wire.flag(flags, "inbound", field=where_in))
                outbound = bool(wire.flag(flags, "outbound", field=where_out))
                directions[name] = {"inbound": inbound, "outbound": outbound}
                if inbound or outbound:
                    capabilities.append(cap)
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

    def _owned_numbers(self) -> AsyncIterator[str | OwnedEntry]:
        url = self.connection.url("workspaces", self._workspace(), "numbers-long-code")

        async def fetch(token: str | None) -> OwnedPage:
            params = [("limit", str(self.per_page))] + ([("pageToken", token)] if token else [])
            try:
                page = _BirdPage.model_validate(self.connection.json(await self.connection.get(url, params=params)))
            except ValidationError:
                raise ProviderResponseError(self.id, "owned numbers page: unexpected shape") from None
            return OwnedPage.from_items(page.results, "numberString", next_token=page.nextPageToken)

        return self._walk_owned_tokens(fetch)
