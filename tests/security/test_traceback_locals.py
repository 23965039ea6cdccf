"""No credential in a traceback recorded with its frames' locals (as error trackers record them).

A vendor echoes every credential it was sent, in every form :func:`~numbroker.testing.hostile.escaped_forms`
writes, in an error answer to a search, a purchase and an ownership check. The error each raises is formatted
with ``traceback.TracebackException(..., capture_locals=True)``: no secret (token, key or the Basic pair) is
shown in any form, in any frame's locals.
"""

from __future__ import annotations

import base64
import traceback
from collections.abc import Awaitable, Callable, Iterable

import pytest

from numbroker import ProviderError, RetryPolicy, SearchQuery
from numbroker._registry import get_provider_class
from numbroker.sandbox import LoopbackServer, create_sandboxes
from numbroker.testing.hostile import Defects, HostileVendor, escaped_forms

PIDS = ("vobiz", "bird", "identitycall", "plivo", "vonage", "twilio", "telnyx")
SECRET_VARIABLES = ("TOKEN", "KEY", "SECRET")
ONCE = RetryPolicy(attempts=1)
US = SearchQuery(country="US")


def secrets_of(env: dict[str, str]) -> list[str]:
    """The credentials a vendor must never see shown: tokens, keys, secrets, and Basic pairs' base64."""
    tokens = [v for k, v in env.items() if any(word in k for word in SECRET_VARIABLES) and v]
    ids = [v for k, v in env.items() if k.endswith(("_ID", "_SID", "API_KEY")) and v]
    pairs = [f"{user}:{secret}".encode() for user in ids for secret in tokens if user != secret]
    return tokens + [base64.b64encode(pair).decode().rstrip("=") for pair in pairs]


def shown(text: str, secrets: Iterable[str]) -> list[tuple[str, str]]:
    return [(s, name) for s in secrets for name, form in escaped_forms(s).items() if form in text]


async def raised(call: Callable[[], Awaitable[object]]) -> ProviderError:
    """The error ``call`` raises, caught in a frame holding no secret (the test's own frame does hold some)."""
    try:
        await call()
    except ProviderError as exc:
        return exc
    raise AssertionError("no error was raised")


def check(exc: BaseException, secrets: list[str], leaks: list[tuple[str, str]], sizes: list[int]) -> None:
    """Format ``exc`` with its frames' locals; add what it shows of ``secrets`` to ``leaks``.

    Only the findings are kept (the test's own frame is among those formatted: keeping the texts there
    would show each in the next).
    """
    text = "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())
    sizes.append(len(text))
    leaks.extend(shown(text, secrets))


@pytest.mark.anyio
@pytest.mark.parametrize("pid", PIDS)
async def test_search_purchase_and_owns_errors_show_no_credential_in_their_frames_locals(pid: str) -> None:
    """The errors raised by search, purchase and owns() against an echoing vendor, locals included."""
    sandbox = create_sandboxes([pid], size=20)[pid]
    vendor = HostileVendor(sandbox.app, Defects())
    secrets = secrets_of(dict(sandbox.env))
    leaks: list[tuple[str, str]] = []
    sizes: list[int] = []
    with LoopbackServer(vendor) as server:
        provider = get_provider_class(pid)(env=sandbox.env, base_url=server.base_url + sandbox.base_path, retry=ONCE)
        async with provider:
            offers = (await provider.search(SearchQuery(country="US"))).offers
            assert offers
            for status in (401, 503):
                vendor.defects = Defects(echo_status=status, echo_header=True)
                check(await raised(lambda: provider.search(US)), secrets, leaks, sizes)
                check(await raised(lambda: provider.owns(offers[0].e164)), secrets, leaks, sizes)
                if provider.supports_purchase:
                    check(await raised(lambda: provider.purchase(offers[0])), secrets, leaks, sizes)

    assert vendor.echoed
    assert all(size > 1000 for size in sizes)
    assert [] == leaks
