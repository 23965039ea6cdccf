"""The page-streaming template: pages handed on as they are ready; an unexpected page error fails its provider alone."""

from __future__ import annotations

import decimal
from typing import Any

import httpx
import pytest

from numbroker import (
    OverallStatus,
    ProviderStatus,
    Searcher,
)
from numbroker.adapters import (
    FieldError,
    ProviderRun,
)

from .vendors import QUERY, US, Capped, Raising, build_capped, good


@pytest.mark.anyio
@pytest.mark.parametrize("capped", [True, False])
async def test_a_page_marked_truncated_marks_the_run_and_notes_why(capped: bool) -> None:
    """RawPage.truncated: the run is truncated exactly when a page says so, and each note is reported."""
    body = {"items": ["+14155550100", "+14155550101"], "capped": capped}
    run = ProviderRun()
    async with build_capped(Capped, lambda r: httpx.Response(200, json=body)) as provider:
        stats = await provider.stream_pages(QUERY, _ignore, run=run)

    assert capped is stats.truncated is run.stats.truncated
    assert (["the vendor answers at most 2 numbers: narrow the search"] if capped else []) == stats.notes


async def _ignore(page: Any) -> None:
    return None


@pytest.mark.anyio
@pytest.mark.parametrize(
    "error", [decimal.Overflow(), decimal.InvalidOperation(), FieldError("bad", field="total"), KeyError("x")]
)
async def test_an_unexpected_error_on_a_page_fails_that_provider_alone(error: Exception) -> None:
    async with Searcher([Raising(provider_id="bad", on_page=error), good("fine")]) as searcher:
        result = await searcher.search(US, sort="total")

    bad = next(r for r in result.providers if r.provider == "bad")
    assert ProviderStatus.ERROR == bad.status
    assert bad.error is not None and "unexpected page" in bad.error
    assert 3 == len(result.offers)
    assert OverallStatus.PARTIAL == result.status
