"""The hostile kit applied to owned lists over loopback: one vendor's owned list spoiled, the portfolio read.

Junk pages, pages that lie about their size, totals of 10^400, prices with a million-digit exponent and
credentials echoed in the data or in an error each cost the spoiled provider its list (or its spoiled records)
within the bounds, never the process: every other provider's numbers still arrive exactly as a clean read
lists them, and a list that was cut short never answers "not owned".
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from numbroker import OwnedResult, ProviderError, ProviderStatus, RetryPolicy, owned
from numbroker.adapters._json import MAX_JSON_OBJECTS
from numbroker.adapters._normalizing import JUNK_REJECTED, REJECTED_KEPT
from numbroker.adapters._stats import NOTES_KEPT
from numbroker.sandbox import Sandbox, create_sandboxes, loopback_providers
from numbroker.testing.hostile import HUGE_EXPONENT, HUGE_TOTAL, TINY_EXPONENT, Defects, serve_hostile

LISTERS = ("vobiz", "bird", "identitycall", "telnyx", "twilio", "vonage", "plivo")
OWNED = 60
QUICK = RetryPolicy(attempts=1)


def sandboxes() -> dict[str, Sandbox]:
    return create_sandboxes(LISTERS, seed=11, owned=OWNED)


async def read(defects: dict[str, Defects], served: dict[str, Sandbox] | None = None) -> OwnedResult:
    served = served or sandboxes()
    with serve_hostile(served, defects) as urls:
        providers = loopback_providers(served, urls, retry=QUICK)
        try:
            return await owned(providers)
        finally:
            for provider in providers:
                await provider.aclose()


def listed(result: OwnedResult, pid: str) -> list[tuple[str, str]]:
    return sorted((n.provider_number_id, n.e164) for n in result.numbers if n.provider == pid)


def report(result: OwnedResult, pid: str) -> Any:
    return next(r for r in result.providers if r.provider == pid)


@pytest.fixture(scope="module")
def clean() -> OwnedResult:
    import anyio

    result = anyio.run(read, {})
    assert all(r.status is ProviderStatus.OK and not r.truncated for r in result.providers)
    assert all(len(listed(result, pid)) == OWNED for pid in LISTERS)
    return result


def assert_others_arrive(clean: OwnedResult, result: OwnedResult, pid: str) -> None:
    for other in set(LISTERS) - {pid}:
        assert listed(result, other) == listed(clean, other), other
        assert report(result, other).status is ProviderStatus.OK


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("pid", "junk", "size"),
    [
        ("plivo", "ones", 10 * 1024 * 1024 - 4096),
        ("telnyx", "ones", 200_000),
        ("vonage", "objects", 300_000),
        ("bird", "objects", 300_000),
        ("twilio", "ones", 200_000),
    ],
)
async def test_a_junk_page_fails_its_owned_list_within_the_bounds(
    clean: OwnedResult, pid: str, junk: Any, size: int
) -> None:
    result = await read({pid: Defects(junk=junk, junk_bytes=size)})

    spoiled = report(result, pid)
    assert spoiled.status is ProviderStatus.ERROR and spoiled.error is not None and "junk" in spoiled.error
    assert JUNK_REJECTED < spoiled.rejected < 2 * JUNK_REJECTED
    assert len([r for r in result.rejected if r.provider == pid]) <= REJECTED_KEPT * 10
    assert len(spoiled.notes) <= NOTES_KEPT + 1
    assert_others_arrive(clean, result, pid)


@pytest.mark.anyio
async def test_a_page_of_millions_of_objects_is_refused_before_any_is_built(clean: OwnedResult) -> None:
    result = await read({"identitycall": Defects(junk="objects", junk_bytes=6_000_000)})

    spoiled = report(result, "identitycall")
    assert spoiled.status is ProviderStatus.ERROR and spoiled.rejected == 0
    assert spoiled.error is not None and f"more than {MAX_JSON_OBJECTS} JSON objects" in spoiled.error
    assert_others_arrive(clean, result, "identitycall")


@pytest.mark.anyio
@pytest.mark.parametrize("pid", ["vobiz", "bird", "telnyx", "twilio", "vonage", "plivo"])
async def test_pages_that_lie_about_their_size_never_pass_for_the_whole_list(clean: OwnedResult, pid: str) -> None:
    """At most 7 records per answer while the answer says the size asked: every number read, or the list marked cut."""
    result = await read({pid: Defects(page_size=7)})

    spoiled = report(result, pid)
    got = listed(result, pid)
    assert set(got) <= set(listed(clean, pid))
    assert got == listed(clean, pid) or spoiled.truncated or spoiled.status.failed
    assert_others_arrive(clean, result, pid)


@pytest.mark.anyio
@pytest.mark.parametrize("pid", ["vobiz", "identitycall", "telnyx", "vonage", "plivo"])
async def test_a_total_of_ten_to_the_four_hundred_is_bounded(clean: OwnedResult, pid: str) -> None:
    result = await read({pid: Defects(total=HUGE_TOTAL)})

    spoiled = report(result, pid)
    assert spoiled.status.failed or spoiled.truncated
    assert set(listed(result, pid)) <= set(listed(clean, pid))
    assert_others_arrive(clean, result, pid)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("pid", "price"), [("vobiz", HUGE_EXPONENT), ("plivo", TINY_EXPONENT), ("bird", HUGE_EXPONENT)]
)
async def test_a_price_bomb_rejects_its_record_and_the_rest_is_listed(clean: OwnedResult, pid: str, price: str) -> None:
    result = await read({pid: Defects(price=price)})

    spoiled = report(result, pid)
    assert spoiled.status is ProviderStatus.OK and spoiled.rejected >= 1
    bombs = [r for r in result.rejected if r.provider == pid]
    assert all(len(r.model_dump_json()) < 2000 for r in bombs)
    assert set(listed(result, pid)) < set(listed(clean, pid))
    assert len(listed(result, pid)) + spoiled.rejected == OWNED
    assert_others_arrive(clean, result, pid)


@pytest.mark.anyio
async def test_credentials_echoed_in_the_data_or_an_error_reach_no_output(clean: OwnedResult) -> None:
    served = sandboxes()
    secrets = [v for s in served.values() for v in s.env.values() if len(v) >= 6]
    defects = {
        "vobiz": Defects(echo_in_data=True, records="all"),
        "plivo": Defects(echo_in_data=True, records="all"),
        "telnyx": Defects(echo_status=401),
        "vonage": Defects(echo_status=500, echo_header=True),
        "bird": Defects(echo_in_data=True, records="all"),
        "twilio": Defects(echo_status=401),
    }
    result = await read(defects, served)

    shown = json.dumps(result.to_json_dict(), ensure_ascii=False)
    assert all(secret not in shown for secret in secrets)
    assert report(result, "telnyx").status is ProviderStatus.AUTH_ERROR
    assert report(result, "vonage").status.failed
    assert report(result, "twilio").status is ProviderStatus.AUTH_ERROR
    assert len(listed(result, "bird")) + report(result, "bird").rejected == OWNED
    assert listed(result, "identitycall") == listed(clean, "identitycall")
    assert len(listed(result, "vobiz")) + report(result, "vobiz").rejected == OWNED


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("pid", "defects"),
    [
        ("telnyx", Defects(page_size=7)),
        ("vonage", Defects(page_size=7)),
        ("identitycall", Defects(page_size=7)),
        ("vobiz", Defects(total=HUGE_TOTAL)),
        ("bird", Defects(page_size=7)),
        ("twilio", Defects(page_size=7)),
    ],
)
async def test_a_list_cut_short_never_answers_not_owned(pid: str, defects: Defects) -> None:
    """Ownership of a number that is not listed, asked of a vendor whose owned pages lie: unknown, not "no"."""
    served = create_sandboxes([pid], seed=11, owned=OWNED)
    with serve_hostile(served, {pid: defects}) as urls:
        (provider,) = loopback_providers(served, urls, retry=QUICK)
        async with provider:
            try:
                numbers, _, stats = await provider.list_owned()
            except ProviderError:
                numbers, whole = [], False
            else:
                whole = not stats.truncated
            if whole:
                assert len(numbers) == OWNED
                assert not await provider.owns("+442079460999")
            else:
                with pytest.raises(ProviderError):
                    await provider.owns("+442079460999")
