"""The adapter kit: everything a provider adapter is written with, the built-in ones included.

An adapter is a subclass of :class:`Provider` that declares its identity, credentials, paging style
and filter support as class attributes and writes three hooks (``_auth_headers``, ``_fetch_page``,
``_normalize``; plus ``_purchase`` to buy, and ``_fetch_owned_page`` and ``_normalize_owned`` to list the
account's own numbers). It reads vendor records with the
typed readers of :mod:`numbroker.adapters.wire` and turns prices into :class:`~numbroker.Money` with
the converters below, so every adapter rejects a bad record the same way (a :class:`FieldError`
naming the vendor's field). The README's "Adding a provider" section walks through it in order.

Built-in adapters import only ``numbroker`` (the users' names, errors included) and this package;
a test pins that, so a third-party author can do everything the built-ins do.
"""

from __future__ import annotations

from numbroker._models import make_offer
from numbroker._money import (
    FieldError,
    decimal_from_json_number,
    decimal_from_scaled_int,
    decimal_from_string,
    money_from_json_number,
    money_from_scaled_int,
    money_from_string,
    validate_currency,
)
from numbroker._owned import make_owned
from numbroker._phone import ParsedNumber, infer_number_type, parse_e164, same_number
from numbroker.adapters import wire
from numbroker.adapters._dates import read_date, read_timestamp
from numbroker.adapters._normalizing import PageResult
from numbroker.adapters._owned import OwnedPage
from numbroker.adapters._paging import Cursor, RawPage
from numbroker.adapters._portfolio import OwnedPageResult
from numbroker.adapters._provider import Provider
from numbroker.adapters._rate_limit import RateLimit
from numbroker.adapters._receipts import PurchaseReceipt, json_safe
from numbroker.adapters._retry import RetryPolicy, parse_retry_after
from numbroker.adapters._stats import ProviderResult, ProviderRun, ProviderStats
from numbroker.adapters._urls import check_base_url, path_segment

__all__ = [
    # the contract
    "Cursor",
    "OwnedPage",
    "OwnedPageResult",
    "PageResult",
    "Provider",
    "ProviderResult",
    "ProviderRun",
    "ProviderStats",
    "PurchaseReceipt",
    "RateLimit",
    "RawPage",
    "RetryPolicy",
    # reading the wire
    "FieldError",
    "ParsedNumber",
    "decimal_from_json_number",
    "decimal_from_scaled_int",
    "decimal_from_string",
    "infer_number_type",
    "json_safe",
    "make_offer",
    "make_owned",
    "money_from_json_number",
    "money_from_scaled_int",
    "money_from_string",
    "parse_e164",
    "read_date",
    "read_timestamp",
    "same_number",
    "validate_currency",
    "wire",
    # URLs and headers
    "check_base_url",
    "parse_retry_after",
    "path_segment",
]
