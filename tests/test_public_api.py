"""The public surface is small, explicit and pinned."""

from __future__ import annotations

import numbroker

EXPECTED = {
    "AuthenticationError",
    "AvailableNumber",
    "BadRequestError",
    "Capability",
    "ConfigurationError",
    "ExchangeRates",
    "FieldError",
    "FilterSupport",
    "IncompleteSearchError",
    "InsufficientFundsError",
    "MissingCredentialsError",
    "Money",
    "NotFoundError",
    "NumberType",
    "NumbrokerError",
    "OverallStatus",
    "PageFetched",
    "PageResult",
    "ParsedNumber",
    "PermissionDeniedError",
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
    "PurchaseError",
    "QueryFilter",
    "RankedOffer",
    "RateLimit",
    "RateLimitedError",
    "RawPage",
    "RejectedRecord",
    "RequestFinished",
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
    "check_base_url",
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
