"""The public surface is small, explicit and pinned."""

from __future__ import annotations

import numbroker

EXPECTED = {
    "AttemptOutcome",
    "AuthenticationError",
    "AvailableNumber",
    "BadRequestError",
    "BuyResult",
    "BuyStatus",
    "Capability",
    "ConfigurationError",
    "DebitFailedError",
    "ExchangeRates",
    "FailureKind",
    "FieldError",
    "FilterSupport",
    "IncompleteSearchError",
    "InsufficientFundsError",
    "MissingCredentialsError",
    "Money",
    "NotFoundError",
    "NumberType",
    "NumberUnavailableError",
    "NumbrokerError",
    "OverallStatus",
    "PageFetched",
    "OwnedPage",
    "PageResult",
    "ParsedNumber",
    "PermissionDeniedError",
    "PlanDecision",
    "PlanEntry",
    "Provider",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderFinished",
    "ProviderHTTPError",
    "ProviderReport",
    "ProviderResponseError",
    "ProviderResult",
    "ProviderRun",
    "ProviderStarted",
    "ProviderStats",
    "ProviderStatus",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "PurchaseAttempt",
    "PurchaseError",
    "PurchaseReceipt",
    "QueryFilter",
    "RankedOffer",
    "RateLimit",
    "RateLimitedError",
    "RawPage",
    "RejectedRecord",
    "RequestFinished",
    "ReservationRequiredError",
    "RetryPolicy",
    "RetryScheduled",
    "SearchEvent",
    "SearchQuery",
    "SearchResult",
    "SearchStream",
    "Searcher",
    "SortKey",
    "UnknownProviderError",
    "__version__",
    "available_providers",
    "buy_cheapest",
    "buy_cheapest_sync",
    "check_base_url",
    "classify_purchase_error",
    "decimal_from_json_number",
    "decimal_from_scaled_int",
    "decimal_from_string",
    "get_provider_class",
    "infer_number_type",
    "make_offer",
    "money_from_json_number",
    "money_from_scaled_int",
    "money_from_string",
    "parse_e164",
    "parse_retry_after",
    "path_segment",
    "provider_ids",
    "providers_from_env",
    "register_provider",
    "search",
}


def test_all_is_pinned() -> None:
    """numbroker.__all__ is exactly the documented public surface."""
    assert EXPECTED == set(numbroker.__all__)
    assert len(numbroker.__all__) == len(set(numbroker.__all__))


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

    assert static == numbroker._EXPORTS
    assert set(numbroker.__all__) - {"__version__"} == set(static)


def test_import_is_lazy() -> None:
    """`import numbroker` alone loads no heavy dependency (so the CLI's --version is instant)."""
    import subprocess
    import sys

    code = "import sys, numbroker; print(sorted(m for m in ('httpx','pydantic','phonenumbers') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()

    assert "[]" == out
