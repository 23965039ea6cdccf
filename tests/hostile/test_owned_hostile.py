"""Hostile vendors' owned lists over loopback: bounded like a search's pages, and no credential shown.

A junk page fails its provider as junk with at most REJECTED_KEPT of its rejected records kept (the rest
counted and noted); a total that lies high leaves the list truncated, its ownership unclaimed; credentials
echoed in every form inside the records reach no number, rejection or report; a list longer than
OWNED_KEPT is read no further, noted. Every other provider's numbers still arrive.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

import numbroker
from numbroker import OwnedResult, ProviderStatus, RetryPolicy
from numbroker.adapters import _portfolio
from numbroker.adapters._normalizing import JUNK_REJECTED, REJECTED_KEPT
from numbroker.sandbox import Sandbox, create_sandboxes, loopback_providers
from numbroker.testing.hostile import HUGE_TOTAL, Defects, escaped_forms, serve_hostile

SERVED = ("vobiz", "plivo", "identitycall")
QUICK = RetryPolicy(attempts=1)
SECRET_WORDS = ("TOKEN", "SECRET", "KEY")


def _sandboxes() -> dict[str, Sandbox]:
    return create_sandboxes(SERVED, seed=4, owned=40)


async def _read(sandboxes: dict[str, Sandbox], urls: dict[str, str]) -> OwnedResult:
    async with contextlib.AsyncExitStack() as stack:
        providers = [await stack.enter_async_context(p) for p in loopback_providers(sandboxes, urls, retry=QUICK)]
        return await numbroker.owned(providers)


async def _owned(defects: dict[str, Defects]) -> OwnedResult:
    sandboxes = _sandboxes()
    with serve_hostile(sandboxes, defects) as urls:
        return await _read(sandboxes, urls)


def _numbers(result: OwnedResult, pid: str) -> set[str]:
    return {n.e164 for n in result.numbers if n.provider == pid}


def _assert_others_arrive(clean: OwnedResult, result: OwnedResult, pid: str) -> None:
    for other in set(SERVED) - {pid}:
        assert _numbers(clean, other)
        assert _numbers(clean, other) == _numbers(result, other)


def _report(result: OwnedResult, pid: str) -> Any:
    return next(r for r in result.providers if r.provider == pid)


@pytest.mark.anyio
@pytest.mark.parametrize("pid", ["vobiz", "plivo", "identitycall"])
async def test_a_junk_owned_page_fails_its_provider_with_bounded_records(pid: str) -> None:
    """A page of 1,000,000 items ``1``: the list fails as junk, at most REJECTED_KEPT records kept, the rest noted."""
    clean = await _owned({})
    result = await _owned({pid: Defects(junk="ones", junk_bytes=2_000_000)})

    report = _report(result, pid)
    assert ProviderStatus.ERROR == report.status
    assert report.error is not None and "junk" in report.error
    assert JUNK_REJECTED < report.rejected < 2 * JUNK_REJECTED
    assert REJECTED_KEPT == len([r for r in result.rejected if r.provider == pid])
    assert result.rejected_total == sum(r.rejected for r in result.providers)
    assert any(f"{report.rejected - REJECTED_KEPT} more rejected records" in note for note in report.notes)
    _assert_others_arrive(clean, result, pid)


@pytest.mark.anyio
@pytest.mark.parametrize("pid", ["vobiz", "plivo", "identitycall"])
async def test_an_owned_list_whose_total_lies_high_is_truncated_not_whole(pid: str) -> None:
    """A total of 10^400: the list is read within the page cap and marked truncated; the others are whole."""
    clean = await _owned({})
    result = await _owned({pid: Defects(total=HUGE_TOTAL)})

    report = _report(result, pid)
    assert report.status in (ProviderStatus.OK, ProviderStatus.ERROR)
    if report.status is ProviderStatus.OK:
        assert report.truncated
        assert report.notes
        assert _numbers(result, pid) <= _numbers(clean, pid)
    _assert_others_arrive(clean, result, pid)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.anyio
@pytest.mark.parametrize("pid", ["vobiz", "plivo", "identitycall"])
async def test_credentials_echoed_in_owned_records_are_never_shown(pid: str) -> None:
    """Every credential in every form inside every record: no string of the result shows any form."""
    sandboxes = _sandboxes()
    secrets = [v for k, v in sandboxes[pid].env.items() if v and any(word in k for word in SECRET_WORDS)]
    assert secrets
    with serve_hostile(sandboxes, {pid: Defects(records="all", echo_in_data=True)}) as urls:
        result = await _read(sandboxes, urls)

    assert _numbers(result, pid)
    texts = _strings(result.to_json_dict())
    shown = [(s, name) for s in secrets for name, form in escaped_forms(s).items() for t in texts if form in t]
    assert [] == shown


@pytest.mark.anyio
async def test_an_owned_list_longer_than_the_bound_is_read_no_further(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past OWNED_KEPT numbers the list stops, truncated with a note: ownership of the rest is not claimed."""
    monkeypatch.setattr(_portfolio, "OWNED_KEPT", 25)
    clean = await _owned({})
    assert len(_numbers(clean, "vobiz")) == 25  # the bound, reached by a list of 40
    report = _report(clean, "vobiz")
    assert report.truncated
    assert any("stopped at 25 numbers" in note for note in report.notes)
    assert 25 == report.offers
