"""Small shared vocabularies: number types, capabilities, query filters, how a provider supports them, sort keys."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Capability", "FilterSupport", "NumberType", "QueryFilter", "SortKey"]


class NumberType(StrEnum):
    """The kind of number an offer is; vendors' vocabularies are mapped onto these."""

    LOCAL = "local"
    MOBILE = "mobile"
    TOLL_FREE = "toll_free"
    NATIONAL = "national"
    SHARED_COST = "shared_cost"
    UNKNOWN = "unknown"


class Capability(StrEnum):
    """What a number can do. An offer's capabilities are ``None`` when the vendor does not say."""

    VOICE = "voice"
    SMS = "sms"
    MMS = "mms"
    FAX = "fax"
    WHATSAPP = "whatsapp"


class QueryFilter(StrEnum):
    """The neutral filters of a :class:`~numbroker.SearchQuery` a provider may or may not apply itself."""

    COUNTRY = "country"
    NUMBER_TYPE = "number_type"
    CAPABILITIES = "capabilities"
    PREFIX = "prefix"
    CONTAINS = "contains"
    MAX_SETUP_PRICE = "max_setup_price"
    MAX_MONTHLY_PRICE = "max_monthly_price"


class FilterSupport(StrEnum):
    """How a provider honours a filter.

    ``native``: the vendor filters server-side (numbroker still re-checks every offer).
    ``emulated``: numbroker fetches more and filters client-side.
    ``unsupported``: the vendor gives no data to decide, so offers are excluded as "unknown" and counted.
    """

    NATIVE = "native"
    EMULATED = "emulated"
    UNSUPPORTED = "unsupported"


class SortKey(StrEnum):
    """What offers are ranked by.

    ``monthly``: the monthly price (default). ``setup``: the setup price. ``first-bill``: what buying
    costs today (setup + first month). ``total``: setup + N × monthly over ``months``.
    """

    MONTHLY = "monthly"
    SETUP = "setup"
    FIRST_BILL = "first-bill"
    TOTAL = "total"
