"""The numbers an account owns, normalized across vendors, and what each vendor can do after purchase. Data only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationInfo, field_validator, model_validator

from numbroker._models import _sorted_capabilities, check_provider_id
from numbroker._money import Money
from numbroker._phone import Strictness, infer_number_type, parse_e164, validate_country
from numbroker._types import Capability, NumberType

__all__ = [
    "AfterPurchase",
    "OwnedNumber",
    "OwnedQuery",
    "OwnedStatus",
    "OwnedView",
    "PriceSource",
    "ReleaseAnswer",
    "ReleaseMode",
    "RenewalSource",
    "make_owned",
]

_ACCOUNT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_CHECKED: Final = object()
"""Validation-context marker: :func:`make_owned` already parsed the number."""


class OwnedStatus(StrEnum):
    """An owned number's state, across vendors' vocabularies (the vendor's own word is kept beside it).

    ``active``: in service. ``pending``: being bought, ported in or verified. ``pending_release``: a release
    was asked for and can still be undone or has not taken effect. ``inactive``: released, blocked, disabled
    or otherwise out of service while still listed. ``other``: a state none of these describes.
    """

    ACTIVE = "active"
    PENDING = "pending"
    PENDING_RELEASE = "pending_release"
    INACTIVE = "inactive"
    OTHER = "other"


class PriceSource(StrEnum):
    """Where an owned number's monthly price came from.

    ``vendor``: the owned list states it. ``ledger``: numbroker bought the number and recorded the price.
    ``price_list``: the vendor's published price for the number's country and type.
    """

    VENDOR = "vendor"
    LEDGER = "ledger"
    PRICE_LIST = "price_list"


class RenewalSource(StrEnum):
    """Where an owned number's next renewal date came from.

    ``vendor``: the owned list states it. ``derived``: computed from the vendor's documented billing rule
    (monthly on the purchase day, say) and the purchase date.
    """

    VENDOR = "vendor"
    DERIVED = "derived"


class ReleaseMode(StrEnum):
    """How a vendor gives a number back.

    ``immediate``: gone when the call returns. ``cooldown``: pending for a while, cancellable. ``end_of_period``:
    billed and kept until the paid period ends. ``unsupported``: the API cannot release numbers.
    """

    IMMEDIATE = "immediate"
    COOLDOWN = "cooldown"
    END_OF_PERIOD = "end_of_period"
    UNSUPPORTED = "unsupported"


class OwnedView(StrEnum):
    """Whose numbers an owned list reads.

    ``account``: the configured account's (with its sub-accounts where the vendor includes them).
    ``partner``: every customer's of a partner (reseller) account. ``customer``: one customer's of a partner.
    """

    ACCOUNT = "account"
    PARTNER = "partner"
    CUSTOMER = "customer"


class OwnedQuery(BaseModel):
    """Whose owned numbers to list: the account's (default), a partner's every customer's, or one customer's.

    Attributes:
        view: which list.
        customer: the customer's account id, for ``view=customer`` only (letters, digits, ``_``, ``-``).
        e164: one number in canonical E.164, to narrow the list to where the vendor can filter by number
            (an ownership check); a vendor that cannot lists everything. Narrowing never decides alone:
            the numbers listed are still compared.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    view: OwnedView = OwnedView.ACCOUNT
    customer: str | None = None
    e164: str | None = None

    @model_validator(mode="after")
    def _check_customer(self) -> OwnedQuery:
        if (self.view is OwnedView.CUSTOMER) != (self.customer is not None):
            raise ValueError("a customer account id is given with the customer view, and only with it")
        if self.customer is not None and not _ACCOUNT_ID.fullmatch(self.customer):
            raise ValueError("a customer account id is 1-64 letters, digits, '_' or '-'")
        if self.e164 is not None and not _E164.fullmatch(self.e164):
            raise ValueError("a number to narrow the list to is in E.164 ('+' and up to 15 digits)")
        return self


@dataclass(frozen=True, slots=True)
class AfterPurchase:
    """What a vendor's API can do with numbers once they are bought (a provider's declaration).

    Attributes:
        can_list: the account's numbers can be listed.
        can_get: one owned number can be read on its own.
        release: how a number is given back.
        states_prices: the owned list states each number's monthly price.
        states_renewals: the owned list states each number's next renewal (or expiry) date.
        sub_accounts: how the vendor groups numbers below the account, in a few words.
        partner_views: the vendor lists a partner's customers' numbers (``OwnedView.PARTNER``/``CUSTOMER``).
        undo_window: how long a release can be undone through the API (a cooldown), if it can.
        release_fee: the vendor charges a fee to release a number (refunded by an undo, where there is one).
    """

    can_list: bool
    can_get: bool
    release: ReleaseMode
    states_prices: bool
    states_renewals: bool
    sub_accounts: str
    partner_views: bool = False
    undo_window: timedelta | None = None
    release_fee: bool = False

    def as_dict(self) -> dict[str, JsonValue]:
        """The declaration as JSON values."""
        return {
            "can_list": self.can_list,
            "can_get": self.can_get,
            "release": self.release.value,
            "states_prices": self.states_prices,
            "states_renewals": self.states_renewals,
            "sub_accounts": self.sub_accounts,
            "partner_views": self.partner_views,
            "undo_window_hours": None if self.undo_window is None else self.undo_window.total_seconds() / 3600,
            "release_fee": self.release_fee,
        }


@dataclass(frozen=True, slots=True)
class ReleaseAnswer:
    """What a vendor said to a release (or to the undoing of one) it accepted: an adapter's release hook returns it.

    A refusal is raised, never returned; an answer that says failure (a 2xx whose body says so) is a refusal.

    Attributes:
        state: ``inactive`` (released: billing stopped, final), ``pending_release`` (deferred: a cooldown or
            the end of the paid period) or, for an undo, ``active`` (the number is the account's again).
        effective_at: when the release takes effect (the end of a cooldown or of the paid period), if deferred.
        undo_until: until when it can still be undone, if it can.
        fee: what the vendor charges for the release (or, for an undo, refunds), when it says.
        message: the vendor's own words, kept as data (at most 200 characters).
        refund_failed: an undo whose refund the vendor could not process says why here.
    """

    state: OwnedStatus
    effective_at: datetime | None = None
    undo_until: datetime | None = None
    fee: Money | None = None
    message: str | None = None
    refund_failed: str | None = None


class OwnedNumber(BaseModel):
    """One number an account owns at one provider, normalized.

    The JSON field names are a contract that scripts parse; they never change.

    Attributes:
        provider: the provider id.
        provider_number_id: the vendor's id for the number: what it is released by.
        e164: the number in canonical E.164.
        country: ISO 3166-1 alpha-2.
        number_type: the kind of number; ``unknown`` when neither the vendor nor the numbering plan says.
        capabilities: sorted capabilities, or None when the vendor does not say.
        status: the normalized state; ``vendor_status`` is the vendor's own word for it.
        vendor_status: the vendor's status value as it wrote it (None when it states none).
        monthly_price: what the number costs a month, exactly, or None when unknown (never a guess).
        price_source: where ``monthly_price`` came from (None when it is None).
        next_renewal: the date the number is next billed (or expires), or None when unknown.
        renewal_source: where ``next_renewal`` came from (None when it is None).
        routed: whether calls or messages to the number go somewhere (an application, connection, trunk
            or callback is set); None when the vendor does not say.
        sub_account: the sub-account holding the number, when it is not the listing account itself.
        account: the customer account the number is assigned to (a partner's views), else None.
        purchased_at: when the number was bought, if the vendor says.
        provider_details: the vendor's other fields worth keeping.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)  # validators built on first use

    provider: str
    provider_number_id: str = Field(min_length=1, max_length=200)
    e164: str
    country: str
    number_type: NumberType = NumberType.UNKNOWN
    capabilities: tuple[Capability, ...] | None = None
    status: OwnedStatus
    vendor_status: str | None = Field(default=None, max_length=200)
    monthly_price: Money | None = None
    price_source: PriceSource | None = None
    next_renewal: date | None = None
    renewal_source: RenewalSource | None = None
    routed: bool | None = None
    sub_account: str | None = Field(default=None, max_length=200)
    account: str | None = Field(default=None, max_length=200)
    purchased_at: datetime | None = None
    provider_details: dict[str, JsonValue] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _normalize_number(cls, data: Any, info: ValidationInfo) -> Any:
        """Parse the number once, in canonical form, and check it against the stated country."""
        if not isinstance(data, dict) or info.context is _CHECKED:
            return data
        country = validate_country(data.get("country"))
        parsed = parse_e164(data.get("e164"), country=country, strictness="possible")
        return {**data, "country": country, "e164": parsed.e164}

    @model_validator(mode="after")
    def _check_sources(self) -> OwnedNumber:
        if (self.monthly_price is None) != (self.price_source is None):
            raise ValueError("monthly_price and price_source are given together or not at all")
        if (self.next_renewal is None) != (self.renewal_source is None):
            raise ValueError("next_renewal and renewal_source are given together or not at all")
        return self

    @field_validator("provider")
    @classmethod
    def _check_provider(cls, value: str) -> str:
        return check_provider_id(value)

    @field_validator("capabilities", mode="before")
    @classmethod
    def _check_capabilities(cls, value: Any) -> Any:
        return _sorted_capabilities(value)

    def with_price(self, price: Money, source: PriceSource) -> OwnedNumber:
        """This number with ``price`` from ``source`` (for a price the owned list did not state)."""
        return self.model_copy(update={"monthly_price": price, "price_source": source})

    def renews_within(self, days: int, today: date) -> bool:
        """True when the next renewal is known and falls within ``days`` days of ``today`` (past dates too)."""
        return self.next_renewal is not None and (self.next_renewal - today).days <= days


def make_owned(
    *,
    provider: str,
    provider_number_id: str | int | None,
    number: object,
    country: object,
    status: OwnedStatus,
    vendor_status: str | None = None,
    number_type: NumberType | None = None,
    capabilities: Any = None,
    monthly_price: Money | None = None,
    next_renewal: date | None = None,
    renewal_source: RenewalSource | None = None,
    routed: bool | None = None,
    sub_account: str | None = None,
    account: str | None = None,
    purchased_at: datetime | None = None,
    provider_details: dict[str, JsonValue] | None = None,
    strictness: Strictness = "possible",
) -> OwnedNumber:
    """Build an :class:`OwnedNumber` from vendor values, parsing the number once.

    A ``monthly_price`` given here is the vendor's own (``price_source="vendor"``); a ``next_renewal`` is the
    vendor's unless ``renewal_source`` says it was derived. ``number_type=None`` infers the type from the
    numbering plan and sets ``provider_details["number_type_inferred"]``. ``provider_number_id=None`` means
    the vendor releases by number: the id is the canonical E.164. ``country=None`` takes the country from
    the number's numbering plan (its calling code's main country when the number is valid nowhere).
    Numbers are parsed as *possible* by default: a number the account already holds is a fact, not an
    offer to vet.

    Raises:
        FieldError: the number or country is invalid (with the field named).
        pydantic.ValidationError: another field is invalid.
    """
    if country is None:
        # The vendor does not say: the number's own numbering plan does.
        parsed = parse_e164(number, strictness=strictness)
        # A shared calling code (+1) names its country only through the number's own plan.
        region = parsed.region or phonenumbers.region_code_for_number(parsed.number)
        main = phonenumbers.region_code_for_country_code(parsed.number.country_code or 0)
        code = validate_country(region or (None if main == "ZZ" else main), field="country")
    else:
        code = validate_country(country)
        parsed = parse_e164(number, country=code, strictness=strictness)
    details = dict(provider_details or {})
    if number_type is None:
        number_type = infer_number_type(parsed)
        details["number_type_inferred"] = True
    return OwnedNumber.model_validate(
        {
            "provider": provider,
            "provider_number_id": parsed.e164 if provider_number_id is None else str(provider_number_id),
            "e164": parsed.e164,
            "country": code,
            "number_type": number_type,
            "capabilities": capabilities,
            "status": status,
            "vendor_status": vendor_status,
            "monthly_price": monthly_price,
            "price_source": None if monthly_price is None else PriceSource.VENDOR,
            "next_renewal": next_renewal,
            "renewal_source": None if next_renewal is None else (renewal_source or RenewalSource.VENDOR),
            "routed": routed,
            "sub_account": sub_account,
            "account": account,
            "purchased_at": purchased_at,
            "provider_details": details,
        },
        context=_CHECKED,
    )
