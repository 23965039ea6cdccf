"""numbroker: find the cheapest phone numbers across carriers.

The public surface is re-exported here; everything else lives in private modules.
Adapters live in the separate import package ``numbroker_providers`` and are reached through the registry.

Names are imported lazily on first use (PEP 562), so ``import numbroker`` and ``numbroker --version``
stay fast; type checkers see the explicit re-exports below.
"""

from __future__ import annotations

import contextlib
import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from numbroker._events import PageFetched as PageFetched
    from numbroker._events import ProviderFinished as ProviderFinished
    from numbroker._events import ProviderStarted as ProviderStarted
    from numbroker._events import RequestFinished as RequestFinished
    from numbroker._events import RetryScheduled as RetryScheduled
    from numbroker._events import SearchEvent as SearchEvent
    from numbroker._exceptions import AuthenticationError as AuthenticationError
    from numbroker._exceptions import BadRequestError as BadRequestError
    from numbroker._exceptions import ConfigurationError as ConfigurationError
    from numbroker._exceptions import DebitFailedError as DebitFailedError
    from numbroker._exceptions import InsufficientFundsError as InsufficientFundsError
    from numbroker._exceptions import MissingCredentialsError as MissingCredentialsError
    from numbroker._exceptions import NotFoundError as NotFoundError
    from numbroker._exceptions import NumberUnavailableError as NumberUnavailableError
    from numbroker._exceptions import NumbrokerError as NumbrokerError
    from numbroker._exceptions import PermissionDeniedError as PermissionDeniedError
    from numbroker._exceptions import ProviderConnectionError as ProviderConnectionError
    from numbroker._exceptions import ProviderError as ProviderError
    from numbroker._exceptions import ProviderHTTPError as ProviderHTTPError
    from numbroker._exceptions import ProviderResponseError as ProviderResponseError
    from numbroker._exceptions import ProviderTimeoutError as ProviderTimeoutError
    from numbroker._exceptions import ProviderUnavailableError as ProviderUnavailableError
    from numbroker._exceptions import PurchaseError as PurchaseError
    from numbroker._exceptions import RateLimitedError as RateLimitedError
    from numbroker._exceptions import ReservationRequiredError as ReservationRequiredError
    from numbroker._exceptions import UnknownProviderError as UnknownProviderError
    from numbroker._models import AvailableNumber as AvailableNumber
    from numbroker._models import RejectedRecord as RejectedRecord
    from numbroker._models import SearchQuery as SearchQuery
    from numbroker._models import make_offer as make_offer
    from numbroker._money import FieldError as FieldError
    from numbroker._money import Money as Money
    from numbroker._money import decimal_from_json_number as decimal_from_json_number
    from numbroker._money import decimal_from_scaled_int as decimal_from_scaled_int
    from numbroker._money import decimal_from_string as decimal_from_string
    from numbroker._money import money_from_json_number as money_from_json_number
    from numbroker._money import money_from_scaled_int as money_from_scaled_int
    from numbroker._money import money_from_string as money_from_string
    from numbroker._normalizing import PageResult as PageResult
    from numbroker._owned import OwnedPage as OwnedPage
    from numbroker._paging import RawPage as RawPage
    from numbroker._phone import ParsedNumber as ParsedNumber
    from numbroker._phone import infer_number_type as infer_number_type
    from numbroker._phone import parse_e164 as parse_e164
    from numbroker._pricing import ExchangeRates as ExchangeRates
    from numbroker._provider import Provider as Provider
    from numbroker._rate_limit import RateLimit as RateLimit
    from numbroker._receipts import PurchaseReceipt as PurchaseReceipt
    from numbroker._registry import available_providers as available_providers
    from numbroker._registry import get_provider_class as get_provider_class
    from numbroker._registry import provider_ids as provider_ids
    from numbroker._registry import providers_from_env as providers_from_env
    from numbroker._registry import register_provider as register_provider
    from numbroker._reports import IncompleteSearchError as IncompleteSearchError
    from numbroker._reports import OverallStatus as OverallStatus
    from numbroker._reports import ProviderReport as ProviderReport
    from numbroker._reports import ProviderStatus as ProviderStatus
    from numbroker._reports import RankedOffer as RankedOffer
    from numbroker._reports import SearchResult as SearchResult
    from numbroker._retry import RetryPolicy as RetryPolicy
    from numbroker._retry import parse_retry_after as parse_retry_after
    from numbroker._search import Searcher as Searcher
    from numbroker._search import SearchStream as SearchStream
    from numbroker._search import search as search
    from numbroker._stats import ProviderResult as ProviderResult
    from numbroker._stats import ProviderRun as ProviderRun
    from numbroker._stats import ProviderStats as ProviderStats
    from numbroker._types import Capability as Capability
    from numbroker._types import FilterSupport as FilterSupport
    from numbroker._types import NumberType as NumberType
    from numbroker._types import QueryFilter as QueryFilter
    from numbroker._types import SortKey as SortKey
    from numbroker._urls import check_base_url as check_base_url
    from numbroker._urls import path_segment as path_segment
    from numbroker.buying import AttemptOutcome as AttemptOutcome
    from numbroker.buying import BuyResult as BuyResult
    from numbroker.buying import BuyStatus as BuyStatus
    from numbroker.buying import FailureKind as FailureKind
    from numbroker.buying import PlanDecision as PlanDecision
    from numbroker.buying import PlanEntry as PlanEntry
    from numbroker.buying import PurchaseAttempt as PurchaseAttempt
    from numbroker.buying import buy_cheapest as buy_cheapest
    from numbroker.buying import buy_cheapest_sync as buy_cheapest_sync
    from numbroker.buying import classify_purchase_error as classify_purchase_error

_EXPORTS: dict[str, str] = {
    "AttemptOutcome": "numbroker.buying",
    "AuthenticationError": "numbroker._exceptions",
    "AvailableNumber": "numbroker._models",
    "BadRequestError": "numbroker._exceptions",
    "BuyResult": "numbroker.buying",
    "BuyStatus": "numbroker.buying",
    "Capability": "numbroker._types",
    "ConfigurationError": "numbroker._exceptions",
    "DebitFailedError": "numbroker._exceptions",
    "ExchangeRates": "numbroker._pricing",
    "FailureKind": "numbroker.buying",
    "FieldError": "numbroker._money",
    "FilterSupport": "numbroker._types",
    "IncompleteSearchError": "numbroker._reports",
    "InsufficientFundsError": "numbroker._exceptions",
    "MissingCredentialsError": "numbroker._exceptions",
    "Money": "numbroker._money",
    "NotFoundError": "numbroker._exceptions",
    "NumberType": "numbroker._types",
    "NumberUnavailableError": "numbroker._exceptions",
    "NumbrokerError": "numbroker._exceptions",
    "OverallStatus": "numbroker._reports",
    "PageFetched": "numbroker._events",
    "OwnedPage": "numbroker._owned",
    "PageResult": "numbroker._normalizing",
    "ParsedNumber": "numbroker._phone",
    "PermissionDeniedError": "numbroker._exceptions",
    "PlanDecision": "numbroker.buying",
    "PlanEntry": "numbroker.buying",
    "Provider": "numbroker._provider",
    "ProviderConnectionError": "numbroker._exceptions",
    "ProviderError": "numbroker._exceptions",
    "ProviderFinished": "numbroker._events",
    "ProviderHTTPError": "numbroker._exceptions",
    "ProviderReport": "numbroker._reports",
    "ProviderResponseError": "numbroker._exceptions",
    "ProviderResult": "numbroker._stats",
    "ProviderRun": "numbroker._stats",
    "ProviderStarted": "numbroker._events",
    "ProviderStats": "numbroker._stats",
    "ProviderStatus": "numbroker._reports",
    "ProviderTimeoutError": "numbroker._exceptions",
    "ProviderUnavailableError": "numbroker._exceptions",
    "PurchaseAttempt": "numbroker.buying",
    "PurchaseError": "numbroker._exceptions",
    "PurchaseReceipt": "numbroker._receipts",
    "QueryFilter": "numbroker._types",
    "RankedOffer": "numbroker._reports",
    "RateLimit": "numbroker._rate_limit",
    "RateLimitedError": "numbroker._exceptions",
    "RawPage": "numbroker._paging",
    "RejectedRecord": "numbroker._models",
    "RequestFinished": "numbroker._events",
    "ReservationRequiredError": "numbroker._exceptions",
    "RetryPolicy": "numbroker._retry",
    "RetryScheduled": "numbroker._events",
    "SearchEvent": "numbroker._events",
    "SearchQuery": "numbroker._models",
    "SearchResult": "numbroker._reports",
    "SearchStream": "numbroker._search",
    "Searcher": "numbroker._search",
    "SortKey": "numbroker._types",
    "UnknownProviderError": "numbroker._exceptions",
    "available_providers": "numbroker._registry",
    "buy_cheapest": "numbroker.buying",
    "buy_cheapest_sync": "numbroker.buying",
    "check_base_url": "numbroker._urls",
    "classify_purchase_error": "numbroker.buying",
    "decimal_from_json_number": "numbroker._money",
    "decimal_from_scaled_int": "numbroker._money",
    "decimal_from_string": "numbroker._money",
    "get_provider_class": "numbroker._registry",
    "infer_number_type": "numbroker._phone",
    "make_offer": "numbroker._models",
    "money_from_json_number": "numbroker._money",
    "money_from_scaled_int": "numbroker._money",
    "money_from_string": "numbroker._money",
    "parse_e164": "numbroker._phone",
    "parse_retry_after": "numbroker._retry",
    "path_segment": "numbroker._urls",
    "provider_ids": "numbroker._registry",
    "providers_from_env": "numbroker._registry",
    "register_provider": "numbroker._registry",
    "search": "numbroker._search",
}
"""Public name → the private module that defines it."""

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
    # buying
    "AttemptOutcome",
    "BuyResult",
    "BuyStatus",
    "FailureKind",
    "PlanDecision",
    "PlanEntry",
    "PurchaseAttempt",
    "PurchaseReceipt",
    "buy_cheapest",
    "buy_cheapest_sync",
    "classify_purchase_error",
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
    "OwnedPage",
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
    "DebitFailedError",
    "IncompleteSearchError",
    "InsufficientFundsError",
    "MissingCredentialsError",
    "NotFoundError",
    "NumberUnavailableError",
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
    "ReservationRequiredError",
    "UnknownProviderError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("numbroker")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'numbroker' has no attribute {name!r}")
    obj = getattr(importlib.import_module(module), name)
    if getattr(obj, "__module__", "").startswith("numbroker._"):
        with contextlib.suppress(AttributeError, TypeError):
            obj.__module__ = "numbroker"
    globals()[name] = obj
    return obj


def __dir__() -> list[str]:
    return sorted(__all__)
