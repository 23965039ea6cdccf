"""The public surface is small, explicit and pinned."""

from __future__ import annotations

import numbroker

EXPECTED = {
    "AfterPurchase",
    "AttemptOutcome",
    "AuthenticationError",
    "AvailableNumber",
    "BadRequestError",
    "BuyResult",
    "BuyStatus",
    "BuyTerms",
    "Capability",
    "CompareRow",
    "Comparison",
    "ConfigurationError",
    "CoolOffError",
    "DebitFailedError",
    "ExchangeRates",
    "FilterSupport",
    "IncompleteSearchError",
    "InsufficientFundsError",
    "MissingCredentialsError",
    "Money",
    "NotFoundError",
    "NumberType",
    "NumberUnavailableError",
    "NumbrokerError",
    "OwnedFilters",
    "OwnedNumber",
    "OwnedQuery",
    "OwnedResult",
    "OwnedStatus",
    "OwnedView",
    "PriceSource",
    "ReleaseAnswer",
    "ReleaseMode",
    "ReleaseOutcome",
    "ReleaseResult",
    "ReleaseRow",
    "ReleaseStatus",
    "RenewalSource",
    "OverallStatus",
    "PermissionDeniedError",
    "PlanDecision",
    "PlanEntry",
    "Provider",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderHTTPError",
    "ProviderReport",
    "OtherNumberSoldError",
    "ProviderResponseError",
    "ProviderStatus",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "PurchaseAttempt",
    "PurchaseError",
    "PurchaseReceipt",
    "QueryFilter",
    "RankedOffer",
    "RateLimitedError",
    "RejectedRecord",
    "ReservationRequiredError",
    "RetryPolicy",
    "SearchQuery",
    "SearchResult",
    "SearchStream",
    "Searcher",
    "SortKey",
    "UnknownProviderError",
    "__version__",
    "available_providers",
    "buy_cheapest",
    "compare",
    "buy_cheapest_sync",
    "get_provider_class",
    "owned",
    "owned_sync",
    "provider_ids",
    "providers_from_env",
    "move_numbers",
    "move_numbers_sync",
    "register_provider",
    "release_numbers",
    "release_numbers_sync",
    "search",
    "stream_owned",
}
"""Users' names: the data, searching and ranking, buying, the registry and every error a caller may catch."""

KIT = {
    "Connection",
    "Cursor",
    "ErrorEnvelope",
    "FieldError",
    "OwnedEntry",
    "OwnedPage",
    "OwnedPageResult",
    "PageResult",
    "ParsedNumber",
    "Provider",
    "ProviderResult",
    "ProviderRun",
    "ProviderStats",
    "PurchaseReceipt",
    "RateLimit",
    "RawPage",
    "RequestSlots",
    "RetryPolicy",
    "Tagged",
    "check_base_url",
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
    "parse_retry_after",
    "path_segment",
    "same_number",
    "validate_currency",
    "wire",
}
"""Adapter authors' names (numbroker.adapters): the contract, the wire readers and converters, URLs."""


def test_all_is_pinned() -> None:
    """numbroker.__all__ is exactly the documented public surface."""
    assert EXPECTED == set(numbroker.__all__)
    assert len(numbroker.__all__) == len(set(numbroker.__all__))


def test_the_adapter_kit_is_pinned_and_documented() -> None:
    """numbroker.adapters exports exactly the kit, each name once, each with a docstring."""
    import numbroker.adapters

    assert KIT == set(numbroker.adapters.__all__)
    assert len(numbroker.adapters.__all__) == len(set(numbroker.adapters.__all__))
    for name in numbroker.adapters.__all__:
        obj = getattr(numbroker.adapters, name)
        if callable(obj) or name == "wire":
            assert obj.__doc__, name


def test_users_and_adapter_authors_names_overlap_only_where_both_need_them() -> None:
    """The two surfaces share only the provider base, the retry policy and the purchase receipt."""
    import numbroker.adapters

    assert {"Provider", "PurchaseReceipt", "RetryPolicy"} == set(numbroker.__all__) & set(numbroker.adapters.__all__)


def test_every_public_name_exists_and_is_documented() -> None:
    """Each exported name resolves, and each class or function has a docstring."""
    for name in numbroker.__all__:
        obj = getattr(numbroker, name)
        if callable(obj):
            assert obj.__doc__, name


def test_public_objects_show_the_package_name() -> None:
    """Reprs and docs show numbroker.X, not numbroker._module.X."""
    assert "numbroker" == numbroker.AvailableNumber.__module__
    assert "numbroker" == numbroker.Searcher.__module__


def test_importing_numbroker_does_not_import_cli_or_sandbox_libraries() -> None:
    """The core adds no click, rich, starlette, uvicorn or dotenv import of its own.

    (httpx itself imports click and rich when they happen to be installed; that is httpx's, not ours.)
    """
    import subprocess
    import sys

    heavy = "('click', 'rich', 'starlette', 'uvicorn', 'dotenv')"
    code = (
        f"import sys, httpx; before = {{m for m in {heavy} if m in sys.modules}}; import numbroker, numbroker.testing; "
        f"print(sorted({{m for m in {heavy} if m in sys.modules}} - before))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()

    assert "[]" == out


def test_lazy_table_and_type_checking_imports_agree() -> None:
    """The lazy-import table, the TYPE_CHECKING re-exports and __all__ name the same objects."""
    import ast
    from pathlib import Path

    assert numbroker.__file__ is not None
    tree = ast.parse(Path(numbroker.__file__).read_text())
    guarded = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    static = {
        alias.name: node.module for node in guarded.body if isinstance(node, ast.ImportFrom) for alias in node.names
    }
    assert len(static) == sum(len(node.names) for node in guarded.body if isinstance(node, ast.ImportFrom))

    assert static == numbroker._EXPORTS
    assert set(numbroker.__all__) - {"__version__"} == set(static)


def test_import_is_lazy() -> None:
    """`import numbroker` alone loads no heavy dependency (so the CLI's --version is instant)."""
    import subprocess
    import sys

    code = "import sys, numbroker; print(sorted(m for m in ('httpx','pydantic','phonenumbers') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()

    assert "[]" == out
