"""The normalized data: offers, queries and rejected records. Data only, no I/O."""

from __future__ import annotations

import re
from typing import Any, Final, Literal, Self

import phonenumbers
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from numbroker._exceptions import ConfigurationError, validation_summary
from numbroker._inputs import MAX_MONTHS
from numbroker._money import Money
from numbroker._phone import Strictness, infer_number_type, parse_e164, plan_cannot_tell, validate_country
from numbroker._pricing import RANKING, ExchangeRates, committed_months, convert, first_bill, total_cost
from numbroker._types import Capability, NumberType, QueryFilter

__all__ = ["AvailableNumber", "Exclusion", "PriceExclusion", "RejectedRecord", "SearchQuery", "make_offer"]

_PROVIDER_ID = re.compile(r"[a-z][a-z0-9_]{0,39}")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_DIGITS = re.compile(r"[0-9]{1,15}")
_VALUE_LIMIT = 200

_PREVALIDATED: Final = object()
"""Validation-context marker: the number was already parsed by :func:`make_offer`, skip the second parse."""


_CAPABILITY_BY_NAME = {c.value: c for c in Capability}


def check_provider_id(value: str) -> str:
    """``value`` when it is a provider id (lowercase letters, digits, ``_``; at most 40), else ValueError."""
    if not _PROVIDER_ID.fullmatch(value):
        raise ValueError(f"provider id must match {_PROVIDER_ID.pattern}: {value!r}")
    return value


def _sorted_capabilities(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        raise ValueError("capabilities must be a list of capability names or null")
    return tuple(sorted({_CAPABILITY_BY_NAME.get(v) or Capability(v) for v in value}))


class AvailableNumber(BaseModel):
    """One number on offer from one provider, normalized.

    The JSON field names are a contract that scripts parse; they never change.

    Attributes:
        provider: the provider id (a built-in's or a plug-in's).
        offer_id: what the vendor needs to sell this offer (its inventory or stock-item id, or the
            number itself for vendors that sell by number).
        e164: the number in canonical E.164, valid for ``country`` by phonenumbers' metadata.
        country: ISO 3166-1 alpha-2.
        region: the vendor's region (state code or name), or None.
        number_type: the kind of number; ``unknown`` when neither the vendor nor the numbering plan says.
        capabilities: sorted capabilities, or **None when the vendor does not say** (unknown is not none).
        setup_price: one-time price, or None when the vendor gives none.
        monthly_price: recurring monthly price, or None when the vendor gives none.
        minimum_commitment_months: the months of the monthly price a purchase commits to (a 12-month
            contract is 12), or None when the vendor states none. What buying binds the buyer to pay is
            :meth:`committed_cost`; ``total`` rankings never count fewer months than this.
        provider_details: vendor extras (e.g. a back-order flag); ``number_type_inferred``
            is true when the type came from the numbering plan (``number_type_fixed_or_mobile`` too when
            the plan cannot tell a fixed line from a mobile, as in North America: such a geographic
            number is ``local``), ``currency_assumed`` when the vendor gave no currency.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str
    offer_id: str = Field(min_length=1, max_length=200)
    e164: str
    country: str
    region: str | None = None
    number_type: NumberType = NumberType.UNKNOWN
    capabilities: tuple[Capability, ...] | None = None
    setup_price: Money | None = None
    monthly_price: Money | None = None
    minimum_commitment_months: int | None = Field(default=None, ge=0, le=MAX_MONTHS)
    provider_details: dict[str, JsonValue] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _normalize_number(cls, data: Any, info: ValidationInfo) -> Any:
        """Parse the number once, in canonical form, and check it against the stated country."""
        if not isinstance(data, dict) or info.context is _PREVALIDATED:
            return data
        strictness: Strictness = "valid"
        if isinstance(info.context, dict) and info.context.get("number_strictness") == "possible":
            strictness = "possible"
        country = validate_country(data.get("country"))
        parsed = parse_e164(data.get("e164"), country=country, strictness=strictness)
        return {**data, "country": country, "e164": parsed.e164}

    @field_validator("provider")
    @classmethod
    def _check_provider(cls, value: str) -> str:
        return check_provider_id(value)

    @field_validator("e164")
    @classmethod
    def _check_e164(cls, value: str) -> str:
        if not _E164.fullmatch(value):
            raise ValueError(f"not canonical E.164: {value!r}")
        return value

    @field_validator("capabilities", mode="before")
    @classmethod
    def _check_capabilities(cls, value: Any) -> Any:
        return _sorted_capabilities(value)

    @property
    def first_bill(self) -> Money | None:
        """What buying costs today: setup plus the first month (None if monthly is missing or currencies differ).

        A missing setup price counts as none charged here (the offer alone does not say whether its vendor
        states setup prices); buy-cheapest also asks whether the provider ``states_setup_prices``: from a
        vendor that states them, a missing one is unknown, and so is the first bill.
        """
        return first_bill(self.setup_price, self.monthly_price, setup_stated=False, context=RANKING)

    def total_cost(self, months: int) -> Money | None:
        """Setup plus ``months`` × monthly, never fewer months than the minimum commitment.

        None if monthly is missing or currencies differ; see :attr:`first_bill`.
        """
        return total_cost(
            self.setup_price,
            self.monthly_price,
            months=committed_months(months, self.minimum_commitment_months),
            setup_stated=False,
            context=RANKING,
        )

    def committed_cost(self) -> Money | None:
        """What buying binds the buyer to pay: setup plus the longer of one month and the minimum commitment."""
        return self.total_cost(1)


def make_offer(
    *,
    provider: str,
    offer_id: str | None,
    number: object,
    country: object,
    region: str | None = None,
    number_type: NumberType | None = None,
    capabilities: Any = None,
    setup_price: Money | None = None,
    monthly_price: Money | None = None,
    minimum_commitment_months: int | None = None,
    provider_details: dict[str, JsonValue] | None = None,
    strictness: Strictness = "valid",
) -> AvailableNumber:
    """Build an :class:`AvailableNumber` from vendor values, parsing the number exactly once.

    ``number`` may be in any form :func:`~numbroker.adapters.parse_e164` accepts. When ``number_type`` is
    None it is inferred from the numbering plan and ``provider_details["number_type_inferred"]`` is set
    (and ``number_type_fixed_or_mobile`` when the plan cannot tell: the number is then ``local``).
    ``offer_id=None`` means the vendor sells by number: the offer id is the canonical E.164.

    Raises:
        FieldError: the number or country is invalid (with the field named).
        pydantic.ValidationError: another field is invalid.
    """
    code = validate_country(country)
    parsed = parse_e164(number, country=code, strictness=strictness)
    details = dict(provider_details or {})
    if number_type is None:
        number_type = infer_number_type(parsed)
        details["number_type_inferred"] = True
        if plan_cannot_tell(parsed):
            details["number_type_fixed_or_mobile"] = True
    values = {
        "provider": provider,
        "offer_id": parsed.e164 if offer_id is None else offer_id,
        "e164": parsed.e164,
        "country": code,
        "region": region,
        "number_type": number_type,
        "capabilities": capabilities,
        "setup_price": setup_price,
        "monthly_price": monthly_price,
        "minimum_commitment_months": minimum_commitment_months,
        "provider_details": details,
    }
    return _checked_offer(values) or AvailableNumber.model_validate(values, context=_PREVALIDATED)


_PLAIN_DETAIL = frozenset({str, bool, int, type(None)})
_NOT_PLAIN: Final = object()


def _plain_copy(value: Any, depth: int) -> Any:
    """``value`` copied as validation copies a ``JsonValue``, when it holds only plain values; else :data:`_NOT_PLAIN`.

    Plain: strings, booleans, integers and None, in lists and dicts (string keys) at most ``depth`` deep; the
    lists and dicts are new ones, as validation makes. Anything else is for validation to decide. One pass
    over each container: a search copies every offer's details.
    """
    kind = type(value)
    if kind in _PLAIN_DETAIL:
        return value
    if not depth:
        return _NOT_PLAIN
    plain = _PLAIN_DETAIL
    if kind is dict:
        copied: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str:
                return _NOT_PLAIN
            if type(item) not in plain:
                item = _plain_copy(item, depth - 1)
                if item is _NOT_PLAIN:
                    return _NOT_PLAIN
            copied[key] = item
        return copied
    if kind is list:
        if plain.issuperset(map(type, value)):
            return list(value)
        items = []
        for item in value:
            item = _plain_copy(item, depth - 1)
            if item is _NOT_PLAIN:
                return _NOT_PLAIN
            items.append(item)
        return items
    return _NOT_PLAIN


_OFFER_FIELDS = frozenset(AvailableNumber.model_fields)


def _checked_offer(
    values: dict[str, Any], _new: Any = object.__new__, _set: Any = object.__setattr__
) -> AvailableNumber | None:
    """The offer ``values`` make when each is of the type the model keeps as it is; None when one is not.

    ``values`` holds every field, the number already parsed; on None the model validates them and names
    what is wrong.

    Normalization builds one offer per record, and pydantic's generic validation of eleven fields costs
    more than these checks. The instance state is filled exactly as validation fills it;
    ``tests/test_models.py`` pins that the result is indistinguishable from a validated offer.
    """
    offer_id = values["offer_id"]
    region = values["region"]
    months = values["minimum_commitment_months"]
    if not (
        type(offer_id) is str
        and 0 < len(offer_id) <= 200
        and (region is None or type(region) is str)
        and type(values["number_type"]) is NumberType
        and (months is None or (type(months) is int and 0 <= months <= MAX_MONTHS))
        and all(price is None or type(price) is Money for price in (values["setup_price"], values["monthly_price"]))
        and type(values["provider"]) is str
        and _PROVIDER_ID.fullmatch(values["provider"])
    ):
        return None
    details = _plain_copy(values["provider_details"], 3)
    if type(details) is not dict:
        return None
    try:
        capabilities = _sorted_capabilities(values["capabilities"])
    except (TypeError, ValueError):
        return None
    offer: AvailableNumber = _new(AvailableNumber)
    _set(offer, "__dict__", {**values, "capabilities": capabilities, "provider_details": details})
    _set(offer, "__pydantic_fields_set__", set(_OFFER_FIELDS))
    _set(offer, "__pydantic_extra__", None)
    _set(offer, "__pydantic_private__", None)
    return offer


class RejectedRecord(BaseModel):
    """A vendor record that could not become an offer, and why. Nothing is dropped silently.

    Attributes:
        provider: the provider id.
        offer_id: the vendor's id for the record, when it could be read.
        field: the vendor field at fault (or ``None`` when the whole record was unusable).
        value: a short ``repr`` of the value at fault (never a credential).
        reason: a human-readable reason.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str
    offer_id: str | None = None
    field: str | None = None
    value: str | None = None
    reason: str

    @classmethod
    def from_value(
        cls, *, provider: str, offer_id: str | None, field: str | None, value: object, reason: str
    ) -> RejectedRecord:
        """Build a record, turning the offending value into a bounded ``repr``."""
        text = None if value is None and field is None else repr(value)
        if text is not None and len(text) > _VALUE_LIMIT:
            text = text[: _VALUE_LIMIT - 1] + "…"
        return cls(provider=provider, offer_id=offer_id, field=field, value=text, reason=reason)


Exclusion = Literal[
    "country",
    "number_type",
    "number_type_unknown",
    "capabilities",
    "capabilities_unknown",
    "prefix",
    "contains",
]
"""Why an offer did not match a query's number filters (``*_unknown``: the vendor did not say)."""

PriceExclusion = Literal[
    "setup_price_unknown",
    "setup_cap_not_comparable",
    "over_setup_cap",
    "monthly_price_unknown",
    "monthly_cap_not_comparable",
    "over_monthly_cap",
]
"""Why an offer's prices failed a query's price caps (``*_not_comparable``: no rate to the cap's currency)."""


def _digits(value: Any, name: str) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string of digits")
    text = value.strip()
    if not _DIGITS.fullmatch(text):
        raise ValueError(f"{name} must be 1 to 15 digits 0-9 (ASCII: no '+', spaces or country code), got {value!r}")
    return text


class SearchQuery(BaseModel):
    """What the user asks for, in neutral terms; each provider maps it onto its own parameters.

    Invalid queries fail at construction (and in :meth:`model_validate`) with numbroker's
    :class:`~numbroker.ConfigurationError` (a ``ValueError``), one line naming each field and what to fix,
    with a hint where a code is plainly mistaken (``UK``: did you mean GB?).

    Attributes:
        country: ISO 3166-1 alpha-2 (required).
        number_type: wanted type, or None for any. ``unknown`` is not a valid request.
        capabilities: every capability the number must have (an offer whose capabilities are unknown
            does not match and is counted as ``capabilities_unknown``).
        prefix: digits the number must start with right after the country code (an area code), e.g. ``212``.
        contains: digits the number must contain anywhere after the ``+``.
        max_setup_price: cap on the setup price (compared in its currency, converting when rates are given).
        max_monthly_price: cap on the monthly price, likewise.
        limit: keep at most this many offers after ranking (of each currency, when offers in several
            currencies are ranked separately because no exchange rates were given).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    country: str
    number_type: NumberType | None = None
    capabilities: tuple[Capability, ...] = ()
    prefix: str | None = None
    contains: str | None = None
    max_setup_price: Money | None = None
    max_monthly_price: Money | None = None
    limit: int | None = Field(default=None, ge=1)

    def __init__(
        self,
        *,
        country: str,
        number_type: NumberType | None = None,
        capabilities: tuple[Capability, ...] = (),
        prefix: str | None = None,
        contains: str | None = None,
        max_setup_price: Money | None = None,
        max_monthly_price: Money | None = None,
        limit: int | None = None,
    ) -> None:
        fields = {
            "country": country,
            "number_type": number_type,
            "capabilities": capabilities,
            "prefix": prefix,
            "contains": contains,
            "max_setup_price": max_setup_price,
            "max_monthly_price": max_monthly_price,
            "limit": limit,
        }
        try:
            super().__init__(**fields)
        except ValidationError as exc:
            raise ConfigurationError(f"invalid search: {validation_summary(exc)}") from None

    # Validation itself never runs this __init__ (pydantic's own marker, as RootModel sets it), so a query
    # nested in another model still fails as a ValidationError there, and model_validate below raises once.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def model_validate(
        cls,
        obj: Any,
        *,
        strict: bool | None = None,
        from_attributes: bool | None = None,
        context: Any | None = None,
        **options: Any,
    ) -> Self:
        """Validate ``obj`` into a query; raise :class:`~numbroker.ConfigurationError` when it is invalid."""
        try:
            return super().model_validate(
                obj, strict=strict, from_attributes=from_attributes, context=context, **options
            )
        except ValidationError as exc:
            raise ConfigurationError(f"invalid search: {validation_summary(exc)}") from None

    @field_validator("country", mode="before")
    @classmethod
    def _check_country(cls, value: object) -> str:
        return validate_country(value)

    @field_validator("number_type")
    @classmethod
    def _check_type(cls, value: NumberType | None) -> NumberType | None:
        if value is NumberType.UNKNOWN:
            raise ValueError("number_type 'unknown' cannot be searched for; leave it unset for any type")
        return value

    @field_validator("capabilities", mode="before")
    @classmethod
    def _check_capabilities(cls, value: Any) -> Any:
        return _sorted_capabilities(value) or ()

    @field_validator("prefix", mode="before")
    @classmethod
    def _check_prefix(cls, value: Any) -> Any:
        return _digits(value, "prefix")

    @field_validator("contains", mode="before")
    @classmethod
    def _check_contains(cls, value: Any) -> Any:
        return _digits(value, "contains")

    @property
    def calling_code(self) -> int:
        """The country calling code of :attr:`country` (1 for US, 44 for GB)."""
        return phonenumbers.country_code_for_region(self.country)

    @property
    def e164_prefix(self) -> str:
        """``+`` + calling code + :attr:`prefix` (e.g. ``+1212``): what matching numbers start with."""
        return f"+{self.calling_code}{self.prefix or ''}"

    def filters_in_use(self) -> list[QueryFilter]:
        """The filters this query uses beyond the country (what a provider is asked to honour)."""
        used = {
            QueryFilter.NUMBER_TYPE: self.number_type is not None,
            QueryFilter.CAPABILITIES: bool(self.capabilities),
            QueryFilter.PREFIX: self.prefix is not None,
            QueryFilter.CONTAINS: self.contains is not None,
            QueryFilter.MAX_SETUP_PRICE: self.max_setup_price is not None,
            QueryFilter.MAX_MONTHLY_PRICE: self.max_monthly_price is not None,
        }
        return [name for name, in_use in used.items() if in_use]

    def exclusion(self, offer: AvailableNumber) -> Exclusion | None:
        """Return why ``offer`` fails this query's number filters, or None if it matches.

        Price caps are checked by :meth:`price_exclusion`, once prices are in the ranking currency.
        """
        if offer.country != self.country:
            return "country"
        if self.number_type is not None and offer.number_type != self.number_type:
            return "number_type_unknown" if offer.number_type is NumberType.UNKNOWN else "number_type"
        if self.capabilities:
            if offer.capabilities is None:
                return "capabilities_unknown"
            if not set(self.capabilities) <= set(offer.capabilities):
                return "capabilities"
        if self.prefix is not None and not offer.e164.startswith(self.e164_prefix):
            return "prefix"
        if self.contains is not None and self.contains not in offer.e164[1:]:
            return "contains"
        return None

    def price_exclusion(
        self,
        setup: Money | None,
        monthly: Money | None,
        rates: ExchangeRates | None = None,
        *,
        setup_stated: bool = True,
    ) -> PriceExclusion | None:
        """Return why these prices fail this query's price caps, or None if they pass.

        Each cap is compared in its own currency, converting with ``rates`` when given. A price that is
        missing, or cannot be converted to the cap's currency, cannot be proven under the cap: it fails,
        except a missing setup price when ``setup_stated`` is False (the vendor states no setup prices at
        all, so none is charged: it passes any setup cap). The setup cap is checked first.
        """
        caps: tuple[tuple[Literal["setup", "monthly"], Money | None, Money | None], ...] = (
            ("setup", setup, self.max_setup_price),
            ("monthly", monthly, self.max_monthly_price),
        )
        for name, price, cap in caps:
            if cap is None:
                continue
            if price is None:
                if name == "setup" and not setup_stated:
                    continue
                return "setup_price_unknown" if name == "setup" else "monthly_price_unknown"
            comparable = convert(price, cap.currency, rates)
            if comparable is None:
                return "setup_cap_not_comparable" if name == "setup" else "monthly_cap_not_comparable"
            if comparable.amount > cap.amount:
                return "over_setup_cap" if name == "setup" else "over_monthly_cap"
        return None
