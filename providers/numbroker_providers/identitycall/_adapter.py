"""IdentityCall adapter: ``GET /virtual_numbers/available``, entries passed through from its carrier (Telnyx).

Buying is ``POST /virtual_numbers/purchase`` with ``phone_number``, ``country_code``, ``number_type`` and,
when configured, the integer ``requirement_group_id`` that regulated countries need: 201 on success,
403 without write permission, 422 with the reason (``"phone_number is not available"`` is raised as
:class:`~numbroker.NumberUnavailableError`). Owned numbers are ``GET /virtual_numbers``, paged by
``page``/``per_page`` (max 100) with ``meta``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError

from numbroker import (
    AfterPurchase,
    AvailableNumber,
    BadRequestError,
    Capability,
    ConfigurationError,
    FilterSupport,
    Money,
    NumberType,
    NumberUnavailableError,
    OtherNumberSoldError,
    OwnedNumber,
    OwnedQuery,
    OwnedStatus,
    ProviderError,
    ProviderResponseError,
    QueryFilter,
    ReleaseMode,
    SearchQuery,
)
from numbroker.adapters import (
    Cursor,
    FieldError,
    Provider,
    PurchaseReceipt,
    RateLimit,
    RawPage,
    Tagged,
    json_safe,
    make_offer,
    make_owned,
    money_from_string,
    parse_e164,
    same_number,
    validate_currency,
    wire,
)

__all__ = ["IdentityCallProvider"]

_T = TypeVar("_T")

_VENDOR_TYPES: Mapping[NumberType, str] = {
    NumberType.MOBILE: "mobile",
    NumberType.LOCAL: "local",
    NumberType.TOLL_FREE: "toll-free",
    NumberType.NATIONAL: "national",
}
"""What the search endpoint accepts as ``number_type`` (its default, when omitted, is ``mobile``)."""

_FROM_VENDOR: Mapping[str, NumberType] = {
    **{vendor: ours for ours, vendor in _VENDOR_TYPES.items()},
    "shared-cost": NumberType.SHARED_COST,
}
"""Entry types, after lower-casing and ``_`` → ``-`` (Telnyx writes ``toll_free`` and ``shared_cost``)."""

_NOT_AVAILABLE = re.compile(r"not available|no longer available|unavailable|already (taken|purchased|owned)", re.I)
_RECEIPT_FIELDS = ("name", "country_code", "active", "recording")
_OWNED_PER_PAGE = 100

_CAPABILITIES = frozenset(c.value for c in Capability)
_REGION_TYPES = frozenset({"state", "rate_center", "location"})
_EXTRAS = ("best_effort", "quickship", "reservable")


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="allow")
    data: list[Any]


class IdentityCallProvider(Provider):
    """IdentityCall virtual numbers (``Authorization: Bearer idc_…``).

    The numbers pages document ``https://api.identitycall.ai/api/v1/public`` (the default); the overview
    and auth pages show ``https://api.identitycall.com/api/v1/public``. Set ``base_url=`` or
    ``IDENTITYCALL_BASE_URL`` to use the other host.

    The search has no paging, prefix, contains or capability parameters: those filters are applied by
    numbroker on the entries. Its ``number_type`` defaults to ``mobile`` upstream, so it is always sent.
    A query without a number type fans out to one request per vendor type (``mobile``, ``local``,
    ``toll-free``, ``national``), run concurrently (at most ``page_concurrency`` at once) inside
    ``_fetch_page`` and merged into one page in that order. This keeps ``paging = "none"`` true (every
    request is a complete answer, not a page of one), so the base's paging engines are not bent into
    iterating over types. A 422 (the carrier has
    no such numbers in that country) on one type of a fan-out is noted in the run's statistics and the
    other types' entries still arrive; it is a :class:`~numbroker.BadRequestError` when that type was
    asked for, or when every type failed. Any other failure fails the search.

    Prices are decimal strings, flat (``upfront_cost``/``monthly_cost``) or nested in Telnyx's
    ``cost_information``; the currency comes from the entry, else the ``currency`` setting (default
    USD) with ``provider_details["currency_assumed"] = True``.

    Rate limit: the free plan allows 60 requests a minute, so the token bucket holds 60 (a burst) and
    refills one a second; paid plans are faster, so this never throttles them below their quota.
    """

    id: ClassVar[str] = "identitycall"
    display_name: ClassVar[str] = "IdentityCall"
    default_base_url: ClassVar[str] = "https://api.identitycall.ai/api/v1/public"
    credentials: ClassVar[Mapping[str, str]] = {"api_key": "IDENTITYCALL_API_KEY"}
    settings: ClassVar[Mapping[str, str]] = {
        "currency": "IDENTITYCALL_CURRENCY",
        "requirement_group_id": "IDENTITYCALL_REQUIREMENT_GROUP_ID",
    }
    filter_support: ClassVar[Mapping[QueryFilter, FilterSupport]] = {
        QueryFilter.COUNTRY: FilterSupport.NATIVE,
        QueryFilter.NUMBER_TYPE: FilterSupport.NATIVE,
        QueryFilter.CAPABILITIES: FilterSupport.EMULATED,
        QueryFilter.PREFIX: FilterSupport.EMULATED,
        QueryFilter.CONTAINS: FilterSupport.EMULATED,
        QueryFilter.MAX_SETUP_PRICE: FilterSupport.EMULATED,
        QueryFilter.MAX_MONTHLY_PRICE: FilterSupport.EMULATED,
    }
    paging = "none"
    rate_limit: ClassVar[RateLimit | None] = RateLimit(60, 60.0)
    sandbox: ClassVar[str | None] = "numbroker_providers.identitycall.sandbox:create_app"
    supports_purchase: ClassVar[bool] = True
    owned_paging = "numbered"
    owned_per_page = _OWNED_PER_PAGE
    after_purchase = AfterPurchase(
        can_list=True,
        can_get=True,
        release=ReleaseMode.UNSUPPORTED,  # no release call; `active: false` only stops calls
        states_prices=False,  # none listed (a first bill in the ledger may include the upfront cost)
        states_renewals=False,
        sub_accounts="project-scoped API keys list their project's numbers",
    )
    record_id_field: ClassVar[str | None] = "phone_number"
    wire_fields: ClassVar[Mapping[str, str]] = {
        "e164": "phone_number",
        "offer_id": "phone_number",
        "country": "country_code",
        "capabilities": "features",
        "region": "region_information",
        "setup_price": "upfront_cost",
        "monthly_price": "monthly_cost",
    }

    def __init__(
        self,
        *,
        api_key: str | None = None,
        currency: str | None = None,
        requirement_group_id: int | str | None = None,
        **options: Any,
    ) -> None:
        """Create the adapter.

        Args:
            api_key: the API key (``idc_…``; read permission to search, write to buy); default env
                ``IDENTITYCALL_API_KEY``.
            currency: ISO 4217 code assumed for entries that state none; default env
                ``IDENTITYCALL_CURRENCY``, else ``USD``.
            requirement_group_id: the approved regulatory requirement group sent with every purchase
                (regulated countries need one); default env ``IDENTITYCALL_REQUIREMENT_GROUP_ID``, else none.
            **options: the :class:`~numbroker.Provider` options (``base_url``, ``http_client``, ...).

        Raises:
            MissingCredentialsError: no API key.
            ConfigurationError: ``currency`` is not an ISO 4217 code, or ``requirement_group_id`` not an integer.
        """
        super().__init__(**options)
        self._creds = self._resolve_credentials({"api_key": api_key})
        try:
            self.currency = validate_currency(self._setting("currency", currency, "USD"))
        except FieldError as exc:
            raise ConfigurationError(f"{self.id}: currency= (or env IDENTITYCALL_CURRENCY): {exc.reason}") from None
        group = self._setting(
            "requirement_group_id", None if requirement_group_id is None else str(requirement_group_id)
        )
        if group is not None and not re.fullmatch(r"\d{1,18}", group.strip()):
            raise ConfigurationError(
                f"{self.id}: requirement_group_id= (or env IDENTITYCALL_REQUIREMENT_GROUP_ID) must be an integer"
            )
        self.requirement_group_id = int(group) if group is not None else None

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._creds['api_key'].get_secret_value()}"}

    async def _fetch_page(self, query: SearchQuery, cursor: Cursor) -> RawPage:
        if query.number_type is not None:
            wanted = _VENDOR_TYPES.get(query.number_type)
            if wanted is None:
                self._note(f"IdentityCall sells no {query.number_type.value} numbers; nothing was requested")
                return RawPage(records=[])
            return RawPage(records=await self._search_type(query, wanted))
        results, rejected = await self._fan_out(
            list(_VENDOR_TYPES.values()), lambda vendor_type: self._search_type(query, vendor_type), skip=_is_rejection
        )
        for vendor_type, exc in rejected.items():
            self._note(f"number_type={vendor_type} was rejected upstream and is missing: {exc.detail}")
        return RawPage(records=[entry for entries in results.values() for entry in entries])

    async def _search_type(self, query: SearchQuery, vendor_type: str) -> list[Tagged[str | None]]:
        """One type's entries, each tagged with the ``number_type`` it was asked with (its fallback type)."""
        params = {"country": query.country, "number_type": vendor_type}
        body = self.connection.json(
            await self.connection.get(self.connection.url("virtual_numbers", "available"), params=params)
        )
        try:
            envelope = _Envelope.model_validate(body)
        except ValidationError:
            raise ProviderResponseError(
                self.id, f'number_type={vendor_type}: expected an object {{"data": [...]}}, got {type(body).__name__}'
            ) from None
        return [Tagged(raw, vendor_type) for raw in envelope.data]

    def _normalize(self, record: Any, query: SearchQuery) -> AvailableNumber:
        raw, requested = Tagged.split(record, None)
        rec = wire.record(raw)
        nested = wire.mapping(rec, "cost_information") or {}
        details: dict[str, JsonValue] = {k: rec[k] for k in _EXTRAS if isinstance(rec.get(k), bool)}
        currency = _one_of(
            rec.get("currency"),
            "currency",
            nested.get("currency"),
            "cost_information.currency",
            lambda v, f: validate_currency(v, field=f),
        )
        if currency is None:
            currency = self.currency
            details["currency_assumed"] = True
        setup = _price(rec.get("upfront_cost"), nested.get("upfront_cost"), "upfront_cost", currency)
        monthly = _price(rec.get("monthly_cost"), nested.get("monthly_cost"), "monthly_cost", currency)
        vendor_type = rec.get("number_type")
        number_type = _number_type(vendor_type if vendor_type is not None else requested, details)
        capabilities = _capabilities(rec, details)
        region = _region(rec)
        country = rec.get("country_code")
        # The vendor buys by number: offer_id=None makes the offer id the canonical E.164.
        return make_offer(
            provider=self.id,
            offer_id=None,
            number=rec.get("phone_number"),
            country=country if country is not None else query.country,
            region=region,
            number_type=number_type,
            capabilities=capabilities,
            setup_price=setup,
            monthly_price=monthly,
            provider_details=details,
            strictness=self.number_strictness,
        )

    # -- purchasing --------------------------------------------------------------------------------

    async def _purchase(self, offer: AvailableNumber) -> PurchaseReceipt:
        body: dict[str, Any] = {"phone_number": offer.e164, "country_code": offer.country}
        vendor_type = _VENDOR_TYPES.get(offer.number_type)
        if vendor_type is not None:
            body["number_type"] = vendor_type
        if self.requirement_group_id is not None:
            body["requirement_group_id"] = self.requirement_group_id
        try:
            response = await self.connection.post(self.connection.url("virtual_numbers", "purchase"), json=body)
        except BadRequestError as exc:
            if exc.status_code == 422 and _NOT_AVAILABLE.search(exc.detail):
                raise exc.recast(NumberUnavailableError) from None
            raise
        answer = self.connection.json(response)
        data = wire.pick(answer, "data", dict)
        if data is None:
            raise ProviderResponseError(self.id, f"purchase answered {response.status_code} without a data object")
        bought = data.get("phone_number")
        if bought is not None and not same_number(bought, offer.e164):
            raise OtherNumberSoldError(
                self.id, f"purchase of {offer.e164} answered with another number {bought!r}", sold=_canonical(bought)
            )
        return PurchaseReceipt(
            provider=self.id,
            offer_id=offer.offer_id,
            e164=offer.e164,
            vendor_id=wire.identifier(data, "id"),
            request_id=self.connection.request_id(response),
            details={k: json_safe(data[k]) for k in _RECEIPT_FIELDS if k in data},
        )

    # -- owned numbers -----------------------------------------------------------------------------

    async def _fetch_owned_page(self, query: OwnedQuery, cursor: Cursor) -> RawPage:
        number = cursor if isinstance(cursor, int) else 1
        answer = self.connection.json(
            await self.connection.get(
                self.connection.url("virtual_numbers"), params={"page": number, "per_page": self.owned_per_page}
            )
        )
        data = answer.get("data") if isinstance(answer, dict) else None
        meta = answer.get("meta") if isinstance(answer, dict) else None
        meta = meta if isinstance(meta, dict) else {}
        if not isinstance(data, list):
            raise ProviderResponseError(self.id, f"owned numbers page {number}: expected {{'data': [...]}}")
        current, total = meta.get("current_page"), meta.get("total_count")
        if isinstance(current, int) and current != number:
            raise ProviderResponseError(self.id, f"owned numbers: asked for page {number}, got page {current}")
        return RawPage(records=data, total=total if isinstance(total, int) and not isinstance(total, bool) else None)

    def _normalize_owned(self, record: Any, query: OwnedQuery) -> OwnedNumber:
        data = wire.record(record)
        vendor_id = data.get("id")
        if isinstance(vendor_id, bool) or not isinstance(vendor_id, int | str):
            raise FieldError("id must be the number's integer id", field="id", value=vendor_id)
        active = wire.flag(data, "active")
        count = data.get("operators_count")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
            raise FieldError("operators_count must be a whole number", field="operators_count", value=count)
        details: dict[str, JsonValue] = {"operators_count": count} if count is not None else {}
        name = wire.text(data, "name", optional=True)
        if name is not None:
            details["name"] = name[:200]
        receptionist = wire.flag(data, "ai_receptionist_enabled")
        if receptionist is not None:
            details["ai_receptionist_enabled"] = receptionist
        return make_owned(
            provider=self.id,
            provider_number_id=vendor_id,
            number=data.get("phone_number"),
            country=data.get("country_code"),
            status=OwnedStatus.OTHER if active is None else OwnedStatus.ACTIVE if active else OwnedStatus.INACTIVE,
            vendor_status=None if active is None else f"active={str(active).lower()}",
            # Calls ring the number's operators (or its AI receptionist): none of either, nowhere to go.
            routed=None if count is None else bool(count or receptionist),
            provider_details=details,
        )


def _is_rejection(exc: ProviderError) -> bool:
    """A 422: the upstream carrier refused this search (e.g. no such numbers in the country)."""
    return isinstance(exc, BadRequestError) and exc.status_code == 422


def _one_of(flat: Any, flat_name: str, nested: Any, nested_name: str, convert: Callable[[Any, str], _T]) -> _T | None:
    """Convert the flat or the nested form of a value (whichever is present); both present must agree."""
    if nested is None:
        return None if flat is None else convert(flat, flat_name)
    if flat is None:
        return convert(nested, nested_name)
    first, second = convert(flat, flat_name), convert(nested, nested_name)
    if first != second:
        raise FieldError(f"{flat_name} {flat!r} disagrees with {nested_name} {nested!r}", field=flat_name, value=flat)
    return first


def _price(flat: Any, nested: Any, name: str, currency: str) -> Money | None:
    """A decimal-string price from ``name`` or ``cost_information.name``; None when the entry has neither."""
    return _one_of(flat, name, nested, f"cost_information.{name}", lambda v, f: money_from_string(v, currency, field=f))


def _number_type(value: Any, details: dict[str, JsonValue]) -> NumberType | None:
    """Map a vendor type; an unknown name is kept in ``details`` and the type inferred (None)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(f"expected a number type name, got {value!r}", field="number_type", value=value)
    known = _FROM_VENDOR.get(value.strip().lower().replace("_", "-"))
    if known is None:
        details["vendor_number_type"] = value
    return known


def _capabilities(rec: Mapping[str, Any], details: dict[str, JsonValue]) -> list[str] | None:
    """The capabilities ``features`` names (None when the entry has none); other features go to ``details``."""
    features = wire.items(rec, "features")
    if features is None:
        return None
    names = [_feature_name(feature, i) for i, feature in enumerate(features)]
    if other := sorted({n for n in names if n not in _CAPABILITIES}):
        details["other_features"] = list(other)
    return [n for n in names if n in _CAPABILITIES]


def _region(rec: Mapping[str, Any]) -> str | None:
    """The first state, rate center or location named in ``region_information``."""
    for i, info in enumerate(wire.items(rec, "region_information") or ()):
        if not isinstance(info, Mapping):
            raise FieldError(f"expected an object, got {info!r}", field=f"region_information[{i}]", value=info)
        kind, name = info.get("region_type"), info.get("region_name")
        if isinstance(kind, str) and kind.lower() in _REGION_TYPES and isinstance(name, str) and name.strip():
            return name.strip()
    return None


def _feature_name(feature: Any, index: int) -> str:
    """A feature is a name or Telnyx's ``{"name": ...}``; returned lower-cased."""
    name = feature.get("name") if isinstance(feature, dict) else feature
    if not isinstance(name, str) or not name.strip():
        raise FieldError(
            f"expected a feature name or {{'name': ...}}, got {feature!r}", field=f"features.{index}", value=feature
        )
    return name.strip().lower()


def _canonical(number: object) -> str | None:
    """``number`` in canonical E.164, or None when it is not a phone number."""
    try:
        return parse_e164(number, strictness="possible").e164
    except FieldError:
        return None
