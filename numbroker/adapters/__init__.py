"""The adapter kit: everything a provider adapter is written with, the built-in ones included.

In the order an author meets it:

* :class:`Provider`, the class an adapter subclasses: it declares the vendor's identity, credentials,
  paging style and filter support as class attributes and writes three hooks (``_auth_headers``,
  ``_fetch_page``, ``_normalize``; plus ``_purchase`` and ``_owned_numbers`` to buy, and
  ``_fetch_owned_page`` and ``_normalize_owned`` to list the account's own numbers).
* its :class:`Connection`, ``self.connection``: every request goes through it (``get``, ``post``, ``json``,
  ``url``), with retries, rate limits, bounded bodies, redaction and the error tree built in; an adapter
  reads its vendor's error answers with the ``_error_envelope`` hook, returning an :class:`ErrorEnvelope`.
* what ``_fetch_page`` returns: a :class:`RawPage` of raw records (each may be :class:`Tagged` with what its
  request knew, for a vendor answering one request per number type), with its :data:`Cursor`.
* reading a record: the typed readers of :mod:`numbroker.adapters.wire`, :func:`make_offer`, the phone
  helpers and the money converters, so every adapter rejects a bad record the same way (a
  :class:`FieldError` naming the vendor's field).
* buying: a :class:`PurchaseReceipt` from ``_purchase``; :class:`OwnedPage` and :class:`OwnedEntry` for the
  ownership walk; :func:`make_owned` (with :func:`read_date` and :func:`read_timestamp`) for each record of
  the owned-list hook, whose pages arrive as :class:`OwnedPageResult`.
* what a search gives and returns (:class:`ProviderRun` with its :class:`RequestSlots`,
  :class:`ProviderStats`, :class:`PageResult`, :class:`ProviderResult`), the :class:`RateLimit` and
  :class:`RetryPolicy` values, and URL checks.

The README's "Adding a provider" section walks through it in that order. Built-in adapters import only
``numbroker`` (the users' names, errors included) and this package; a test pins that, so a third-party
author can do everything the built-ins do.
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
from numbroker.adapters._connection import Connection
from numbroker.adapters._dates import read_date, read_timestamp
from numbroker.adapters._http_errors import ErrorEnvelope
from numbroker.adapters._normalizing import PageResult
from numbroker.adapters._owned import OwnedEntry, OwnedPage
from numbroker.adapters._paging import Cursor, RawPage
from numbroker.adapters._portfolio import OwnedPageResult
from numbroker.adapters._provider import Provider
from numbroker.adapters._rate_limit import RateLimit
from numbroker.adapters._receipts import PurchaseReceipt, json_safe
from numbroker.adapters._records import Tagged
from numbroker.adapters._retry import RetryPolicy, parse_retry_after
from numbroker.adapters._stats import ProviderResult, ProviderRun, ProviderStats, RequestSlots
from numbroker.adapters._urls import check_base_url, path_segment

__all__ = [
    # the contract
    "Provider",
    "Connection",
    "ErrorEnvelope",
    "Cursor",
    "RawPage",
    "Tagged",
    "PurchaseReceipt",
    "OwnedPage",
    "OwnedEntry",
    "OwnedPageResult",
    "PageResult",
    "ProviderResult",
    "ProviderRun",
    "ProviderStats",
    "RequestSlots",
    "RateLimit",
    "RetryPolicy",
    # reading the wire
    "wire",
    "FieldError",
    "make_offer",
    "make_owned",
    "read_date",
    "read_timestamp",
    "ParsedNumber",
    "infer_number_type",
    "parse_e164",
    "same_number",
    "decimal_from_json_number",
    "decimal_from_scaled_int",
    "decimal_from_string",
    "money_from_json_number",
    "money_from_scaled_int",
    "money_from_string",
    "validate_currency",
    "json_safe",
    # URLs and headers
    "check_base_url",
    "parse_retry_after",
    "path_segment",
]
