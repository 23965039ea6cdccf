"""numbroker: find the cheapest phone numbers across carriers.

This module holds the names users need: the data, searching and ranking, buying, the provider registry
and the error tree. Adapter authors' names are in :mod:`numbroker.adapters`; search events in
:mod:`numbroker.events`; the sandboxes in :mod:`numbroker.sandbox`; the purchase ledger in
:mod:`numbroker.ledger`; test seams in :mod:`numbroker.testing`. Adapters live in the separate import
package ``numbroker_providers`` and are reached through the registry.

Names are imported lazily on first use (PEP 562), so ``import numbroker`` and ``numbroker --version``
stay fast. ``_EXPORTS`` lists each public name once, with the private module that defines it, and
``__all__`` is derived from it. Type checkers cannot follow a lazy import, so the ``TYPE_CHECKING``
block imports the same names for them (a test keeps the two equal).
"""

from __future__ import annotations

import contextlib
import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from numbroker._compare import CompareRow as CompareRow
    from numbroker._compare import Comparison as Comparison
    from numbroker._compare import compare as compare
    from numbroker._exceptions import AuthenticationError as AuthenticationError
    from numbroker._exceptions import BadRequestError as BadRequestError
    from numbroker._exceptions import ConfigurationError as ConfigurationError
    from numbroker._exceptions import DebitFailedError as DebitFailedError
    from numbroker._exceptions import InsufficientFundsError as InsufficientFundsError
    from numbroker._exceptions import MissingCredentialsError as MissingCredentialsError
    from numbroker._exceptions import NotFoundError as NotFoundError
    from numbroker._exceptions import NumberUnavailableError as NumberUnavailableError
    from numbroker._exceptions import NumbrokerError as NumbrokerError
    from numbroker._exceptions import OtherNumberSoldError as OtherNumberSoldError
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
    from numbroker._holdings import OwnedFilters as OwnedFilters
    from numbroker._holdings import OwnedResult as OwnedResult
    from numbroker._holdings import owned as owned
    from numbroker._holdings import owned_sync as owned_sync
    from numbroker._holdings import stream_owned as stream_owned
    from numbroker._models import AvailableNumber as AvailableNumber
    from numbroker._models import RejectedRecord as RejectedRecord
    from numbroker._models import SearchQuery as SearchQuery
    from numbroker._money import Money as Money
    from numbroker._owned import AfterPurchase as AfterPurchase
    from numbroker._owned import OwnedNumber as OwnedNumber
    from numbroker._owned import OwnedQuery as OwnedQuery
    from numbroker._owned import OwnedStatus as OwnedStatus
    from numbroker._owned import OwnedView as OwnedView
    from numbroker._owned import PriceSource as PriceSource
    from numbroker._owned import ReleaseMode as ReleaseMode
    from numbroker._owned import RenewalSource as RenewalSource
    from numbroker._pricing import ExchangeRates as ExchangeRates
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
    from numbroker._search import Searcher as Searcher
    from numbroker._search import SearchStream as SearchStream
    from numbroker._search import search as search
    from numbroker._types import Capability as Capability
    from numbroker._types import FilterSupport as FilterSupport
    from numbroker._types import NumberType as NumberType
    from numbroker._types import QueryFilter as QueryFilter
    from numbroker._types import SortKey as SortKey
    from numbroker.adapters import Provider as Provider
    from numbroker.adapters import PurchaseReceipt as PurchaseReceipt
    from numbroker.adapters import RetryPolicy as RetryPolicy
    from numbroker.buying import AttemptOutcome as AttemptOutcome
    from numbroker.buying import BuyResult as BuyResult
    from numbroker.buying import BuyStatus as BuyStatus
    from numbroker.buying import BuyTerms as BuyTerms
    from numbroker.buying import PlanDecision as PlanDecision
    from numbroker.buying import PlanEntry as PlanEntry
    from numbroker.buying import PurchaseAttempt as PurchaseAttempt
    from numbroker.buying import buy_cheapest as buy_cheapest
    from numbroker.buying import buy_cheapest_sync as buy_cheapest_sync

_EXPORTS: dict[str, str] = {
    # the data
    "AvailableNumber": "numbroker._models",
    "Capability": "numbroker._types",
    "FilterSupport": "numbroker._types",
    "Money": "numbroker._money",
    "NumberType": "numbroker._types",
    "QueryFilter": "numbroker._types",
    "RejectedRecord": "numbroker._models",
    "SearchQuery": "numbroker._models",
    # what the accounts own
    "AfterPurchase": "numbroker._owned",
    "OwnedNumber": "numbroker._owned",
    "OwnedQuery": "numbroker._owned",
    "OwnedStatus": "numbroker._owned",
    "OwnedView": "numbroker._owned",
    "PriceSource": "numbroker._owned",
    "ReleaseMode": "numbroker._owned",
    "RenewalSource": "numbroker._owned",
    "OwnedFilters": "numbroker._holdings",
    "OwnedResult": "numbroker._holdings",
    "owned": "numbroker._holdings",
    "owned_sync": "numbroker._holdings",
    "stream_owned": "numbroker._holdings",
    # searching and ranking
    "ExchangeRates": "numbroker._pricing",
    "OverallStatus": "numbroker._reports",
    "ProviderReport": "numbroker._reports",
    "ProviderStatus": "numbroker._reports",
    "RankedOffer": "numbroker._reports",
    "SearchResult": "numbroker._reports",
    "SearchStream": "numbroker._search",
    "Searcher": "numbroker._search",
    "SortKey": "numbroker._types",
    "search": "numbroker._search",
    # comparing carriers
    "CompareRow": "numbroker._compare",
    "Comparison": "numbroker._compare",
    "compare": "numbroker._compare",
    # buying
    "AttemptOutcome": "numbroker.buying",
    "BuyResult": "numbroker.buying",
    "BuyStatus": "numbroker.buying",
    "BuyTerms": "numbroker.buying",
    "PlanDecision": "numbroker.buying",
    "PlanEntry": "numbroker.buying",
    "PurchaseAttempt": "numbroker.buying",
    "PurchaseReceipt": "numbroker.adapters",
    "buy_cheapest": "numbroker.buying",
    "buy_cheapest_sync": "numbroker.buying",
    # providers
    "Provider": "numbroker.adapters",
    "RetryPolicy": "numbroker.adapters",
    "available_providers": "numbroker._registry",
    "get_provider_class": "numbroker._registry",
    "provider_ids": "numbroker._registry",
    "providers_from_env": "numbroker._registry",
    "register_provider": "numbroker._registry",
    # errors (numbroker._exceptions draws the tree)
    "AuthenticationError": "numbroker._exceptions",
    "BadRequestError": "numbroker._exceptions",
    "ConfigurationError": "numbroker._exceptions",
    "DebitFailedError": "numbroker._exceptions",
    "IncompleteSearchError": "numbroker._reports",
    "InsufficientFundsError": "numbroker._exceptions",
    "MissingCredentialsError": "numbroker._exceptions",
    "NotFoundError": "numbroker._exceptions",
    "NumberUnavailableError": "numbroker._exceptions",
    "NumbrokerError": "numbroker._exceptions",
    "PermissionDeniedError": "numbroker._exceptions",
    "ProviderConnectionError": "numbroker._exceptions",
    "ProviderError": "numbroker._exceptions",
    "ProviderHTTPError": "numbroker._exceptions",
    "OtherNumberSoldError": "numbroker._exceptions",
    "ProviderResponseError": "numbroker._exceptions",
    "ProviderTimeoutError": "numbroker._exceptions",
    "ProviderUnavailableError": "numbroker._exceptions",
    "PurchaseError": "numbroker._exceptions",
    "RateLimitedError": "numbroker._exceptions",
    "ReservationRequiredError": "numbroker._exceptions",
    "UnknownProviderError": "numbroker._exceptions",
}
"""Each public name and the private module that defines it, grouped by what it is for."""

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("numbroker")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'numbroker' has no attribute {name!r}")
    obj = getattr(importlib.import_module(module), name)
    if getattr(obj, "__module__", "").startswith("numbroker."):
        with contextlib.suppress(AttributeError, TypeError):
            obj.__module__ = "numbroker"
    globals()[name] = obj
    return obj


def __dir__() -> list[str]:
    return sorted(__all__)
