"""Reading Twilio's owned list: IncomingPhoneNumbers across an account and its subaccounts, priced by the price list.

Wire facts (``twilio/twilio-oai`` at d50069b44ea8cd23141385bdb6db48f16ff75bb5, ``spec/json/twilio_api_v2010.json``):

* ``GET /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json`` with ``PageSize`` (1-1000) answers
  ``{incoming_phone_numbers: [...], next_page_uri, ...}``; each record carries ``sid`` (``PN…``, what a
  number is released by), ``account_sid``, ``phone_number``, ``capabilities``, ``status`` (a free string:
  ``in-use``), ``type`` (nullable), ``date_created`` (RFC 2822), ``friendly_name``, ``origin``, the routing
  fields ``voice_url``, ``sms_url``, ``voice_application_sid``, ``sms_application_sid``, ``trunk_sid``, and
  no price and no renewal date. There is no ``IncludeSubaccounts`` on this list.
* ``GET /2010-04-01/Accounts.json`` "retrieves a collection of Accounts belonging to the account used to make
  the request" (the account and its subaccounts: ``sid``, ``owner_account_sid``, ``status`` ``active``,
  ``suspended`` or ``closed``), paged by ``next_page_uri``; a parent's credentials read its subaccounts'
  resources under their own SID.
* Twilio's support article 223182908: numbers are "billed for the full monthly price … up front … on the same
  day the phone number was provisioned every month", the day clamped to a shorter month's end.
* Support article 223183028: the numbers in subaccounts do not appear on the parent's number list; a
  suspended project keeps billing its numbers; a closed subaccount's numbers are released.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import JsonValue

from numbroker import Money, NumberType, OwnedStatus
from numbroker.adapters import FieldError, wire

__all__ = [
    "DETAIL_FIELDS",
    "OwnedTag",
    "ROUTING_FIELDS",
    "derived_renewal",
    "make_token",
    "owned_status",
    "owned_type",
    "routed",
    "split_token",
]

ROUTING_FIELDS = ("voice_url", "sms_url", "voice_application_sid", "sms_application_sid", "trunk_sid")
"""Where an IncomingPhoneNumber says calls or messages go: any one set routes it."""

_TYPES: Mapping[str, NumberType] = {
    "local": NumberType.LOCAL,
    "mobile": NumberType.MOBILE,
    "tollfree": NumberType.TOLL_FREE,
    "national": NumberType.NATIONAL,
    "sharedcost": NumberType.SHARED_COST,
}
"""A record's ``type`` with spaces, dashes and underscores removed, lower-cased (the price list's comparison)."""

_STATUS: Mapping[str, OwnedStatus] = {"in-use": OwnedStatus.ACTIVE, "active": OwnedStatus.ACTIVE}

_TOKEN_SEPARATOR = "|"
DETAIL_FIELDS = (
    "friendly_name",
    "origin",
    "address_requirements",
    "emergency_status",
    "bundle_sid",
    "voice_receive_mode",
)
"""The vendor's fields kept as they are in ``provider_details`` (``date_created`` is ``purchased_at``)."""


@dataclass(frozen=True, slots=True)
class OwnedTag:
    """What the owned-list request knew of a record: the account asked, and the price list's price for it."""

    account: str | None = None
    monthly: Money | None = None
    base_price: Decimal | None = None


def owned_type(data: Mapping[str, Any], details: dict[str, JsonValue]) -> NumberType | None:
    """The record's ``type``; an unknown one is kept in ``vendor_number_type`` (None: inferred, never priced)."""
    value = wire.text(data, "type", optional=True)
    if value is None:
        return None
    known = _TYPES.get("".join(c for c in value.lower() if c.isalnum()))
    if known is None:
        details["vendor_number_type"] = value
    return known


def owned_status(value: str | None) -> OwnedStatus:
    """Twilio's free-string ``status``: ``in-use`` is active; anything else (or none) is ``other``."""
    return _STATUS.get((value or "").strip().lower(), OwnedStatus.OTHER)


def routed(data: Mapping[str, Any]) -> bool | None:
    """Whether a voice/SMS URL, an application SID or a trunk is set; None when the record names none of them."""
    present = [key for key in ROUTING_FIELDS if key in data]
    if not present:
        return None
    for key in present:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise FieldError("expected a string or null", field=key, value=value)
        if value and value.strip():
            return True
    return False


def _anniversary(start: date, months: int) -> date:
    """``start`` plus whole months, its day clamped to the month's last day (Twilio's month-end rule)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    day = start.day
    while True:
        try:
            return date(year, month, day)
        except ValueError:
            day -= 1


def derived_renewal(purchased: date, today: date) -> date:
    """The next monthly bill of a number bought on ``purchased``: its first anniversary on or after ``today``.

    The first month is billed when the number is bought, so the earliest renewal is a month later.
    """
    months = max(1, (today.year - purchased.year) * 12 + today.month - purchased.month)
    renewal = _anniversary(purchased, months)
    while renewal < today:
        months += 1
        renewal = _anniversary(purchased, months)
    return renewal


def make_token(account: str, uri: str) -> str:
    """An owned-list page token: the account whose list it continues, and that list's next page (``""``: its first)."""
    return f"{account}{_TOKEN_SEPARATOR}{uri}"


def split_token(token: str) -> tuple[str, str]:
    """``(account, next_page_uri)`` of :func:`make_token`'s token."""
    account, _, uri = token.partition(_TOKEN_SEPARATOR)
    return account, uri
