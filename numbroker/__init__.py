"""numbroker: find the cheapest phone numbers across carriers.

The public surface is re-exported here; everything else lives in private modules.
Adapters live in the separate import package ``numbroker_providers`` and are reached through the registry.
"""

from __future__ import annotations

import contextlib
from typing import Any

from numbroker._events import (
    PageFetched,
    ProviderFinished,
    ProviderStarted,
    RequestFinished,
    RetryScheduled,
    SearchEvent,
)
from numbroker._exceptions import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    IncompleteSearchError,
    InsufficientFundsError,
    MissingCredentialsError,
    NotFoundError,
    NumbrokerError,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderError,
    ProviderHTTPError,
    ProviderResponseError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    PurchaseError,
    RateLimitedError,
    UnknownProviderError,
)
from numbroker._http import RateLimit, RetryPolicy, parse_retry_after
from numbroker._models import AvailableNumber, RejectedRecord, SearchQuery, make_offer
from numbroker._money import (
    FieldError,
    Money,
    decimal_from_json_number,
    decimal_from_scaled_int,
    decimal_from_string,
    money_from_json_number,
    money_from_scaled_int,
    money_from_string,
)
from numbroker._phone import ParsedNumber, infer_number_type, parse_e164
from numbroker._provider import (
    PageResult,
    Provider,
    ProviderResult,
    ProviderRun,
    ProviderStats,
    RawPage,
    check_base_url,
    path_segment,
)
from numbroker._ranking import ExchangeRates, RankedOffer, SortKey
from numbroker._registry import (
    available_providers,
    get_provider_class,
    provider_ids,
    providers_from_env,
    register_provider,
)
from numbroker._search import (
    OverallStatus,
    ProviderReport,
    ProviderStatus,
    Searcher,
    SearchResult,
    SearchStream,
    search,
)
from numbroker._types import Capability, FilterSupport, NumberType, QueryFilter

__all__ = [
    # the data
    "AvailableNumber",
    "Capability",
    "FilterSupport",
    "Money",
    "NumberType",
    "QueryFilter",
    "RejectedRecord",
    "SearchQuery",
    # searching and ranking
    "ExchangeRates",
    "OverallStatus",
    "ProviderReport",
    "ProviderStatus",
    "RankedOffer",
    "SearchResult",
    "SearchStream",
    "Searcher",
    "SortKey",
    "search",
    # converters and validation (for adapters)
    "FieldError",
    "ParsedNumber",
    "decimal_from_json_number",
    "decimal_from_scaled_int",
    "decimal_from_string",
    "infer_number_type",
    "make_offer",
    "money_from_json_number",
    "money_from_scaled_int",
    "money_from_string",
    "parse_e164",
    # the provider contract and registry
    "PageResult",
    "Provider",
    "ProviderResult",
    "ProviderRun",
    "ProviderStats",
    "RateLimit",
    "RawPage",
    "RetryPolicy",
    "available_providers",
    "check_base_url",
    "get_provider_class",
    "parse_retry_after",
    "path_segment",
    "provider_ids",
    "providers_from_env",
    "register_provider",
    # events
    "PageFetched",
    "ProviderFinished",
    "ProviderStarted",
    "RequestFinished",
    "RetryScheduled",
    "SearchEvent",
    # errors
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "IncompleteSearchError",
    "InsufficientFundsError",
    "MissingCredentialsError",
    "NotFoundError",
    "NumbrokerError",
    "PermissionDeniedError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderHTTPError",
    "ProviderResponseError",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "PurchaseError",
    "RateLimitedError",
    "UnknownProviderError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("numbroker")
    raise AttributeError(f"module 'numbroker' has no attribute {name!r}")


for _name in __all__:
    _obj = globals().get(_name)
    if _obj is not None and getattr(_obj, "__module__", "").startswith("numbroker._"):
        with contextlib.suppress(AttributeError, TypeError):
            _obj.__module__ = "numbroker"
del _name, _obj
