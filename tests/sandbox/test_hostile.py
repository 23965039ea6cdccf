"""The hostile-vendor kit spoils each built-in vendor's own wire format as its defects say.

Each real adapter searches its sandbox behind a :class:`~numbroker.testing.hostile.HostileVendor`; the
bodies it was served are checked against the clean ones: the spoiled values are where they should be,
as raw JSON text, and everything else is served unchanged.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest

from numbroker import ProviderError, SearchQuery
from numbroker._registry import get_provider_class
from numbroker.sandbox import IN_PROCESS_ORIGIN, create_sandboxes
from numbroker.testing.hostile import HUGE_EXPONENT, HUGE_TOTAL, TINY_EXPONENT, Defects, HostileVendor, escaped_forms

PIDS = ["vobiz", "bird", "identitycall", "plivo"]


class Tap:
    """An ASGI app that keeps the bodies ``app`` answers with."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.bodies: list[bytes] = []
        self.queries: list[str] = []

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        chunks: list[bytes] = []
        self.queries.append(scope.get("query_string", b"").decode())

        async def keep(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, keep)
        self.bodies.append(b"".join(chunks))


async def served(pid: str, defects: Defects | None) -> tuple[list[bytes], list[str]]:
    """The bodies the adapter ``pid`` was served searching US numbers, behind ``defects`` (None: clean)."""
    sandbox = create_sandboxes([pid], size=12)[pid]
    app: Any = sandbox.app if defects is None else HostileVendor(sandbox.app, defects)
    tap = Tap(app)
    cls = get_provider_class(pid)
    async with cls(
        env=sandbox.env, base_url=IN_PROCESS_ORIGIN + sandbox.base_path, transport=httpx.ASGITransport(app=tap)
    ) as provider:
        # What the defect does to the search is not this test's concern; what was served is.
        with contextlib.suppress(ProviderError, ArithmeticError, MemoryError):
            await provider.search(SearchQuery(country="US"))
    return tap.bodies, tap.queries


def records(body: Any) -> list[Any]:
    """The page's records in a parsed body (each vendor's envelope)."""
    for key in ("items", "results", "data", "objects"):
        if isinstance(body, dict) and isinstance(body.get(key), list):
            return list(body[key])
    raise AssertionError(f"no records in {body!r:.200}")


def pairs(body: bytes) -> Any:
    """``body`` parsed keeping every key (repeats too) and every number's text."""
    return json.loads(body, object_pairs_hook=list, parse_float=str, parse_int=str, parse_constant=str)


@pytest.mark.anyio
@pytest.mark.parametrize("pid", PIDS)
@pytest.mark.parametrize("text", [HUGE_EXPONENT, TINY_EXPONENT])
async def test_prices_beyond_bounds_are_served_as_raw_number_text(pid: str, text: str) -> None:
    """The first record of each page has its prices replaced by the raw number text; the rest is untouched."""
    clean, _ = await served(pid, None)
    spoiled, _ = await served(pid, Defects(price=text))

    body = max(spoiled, key=len)
    assert text.encode() in body
    known = {json.dumps(r, sort_keys=True) for b in clean for r in records(json.loads(b))}
    rest = records(json.loads(body.replace(text.encode(), b"0")))
    assert json.dumps(rest[0], sort_keys=True) not in known
    assert rest[1:]
    assert all(json.dumps(r, sort_keys=True) in known for r in rest[1:])  # the others are served as they were


@pytest.mark.anyio
async def test_exponents_beyond_bounds_are_served() -> None:
    """Bird's ``{"amount", "exponent"}`` prices get the exponent given."""
    spoiled, _ = await served("bird", Defects(exponent="1000000000", records="all"))

    assert max(spoiled, key=len).count(b'"exponent":1000000000') >= 1


@pytest.mark.anyio
@pytest.mark.parametrize("pid", ["vobiz", "plivo"])
async def test_a_huge_total_is_served(pid: str) -> None:
    """The envelope's total is 10^400, as raw number text."""
    spoiled, _ = await served(pid, Defects(total=HUGE_TOTAL))

    assert HUGE_TOTAL.encode() in spoiled[0]


@pytest.mark.anyio
@pytest.mark.parametrize("pid", ["vobiz", "plivo"])
async def test_lying_pages_serve_fewer_records_than_asked_and_say_otherwise(pid: str) -> None:
    """At most ``page_size`` records per answer; the envelope still names the page size asked for."""
    spoiled, queries = await served(pid, Defects(page_size=3))

    body = json.loads(spoiled[0])
    records = body.get("items") or body.get("objects")
    assert 3 == len(records)
    asked = dict(part.split("=") for part in queries[0].split("&") if "=" in part)
    size_key = "per_page" if "per_page" in asked else "limit"
    echoed = body.get("per_page") or body["meta"]["limit"]
    assert int(asked[size_key]) == echoed > 3


@pytest.mark.anyio
@pytest.mark.parametrize("pid", PIDS)
async def test_a_duplicated_key_states_a_cheap_price_first(pid: str) -> None:
    """The first record states its first price key twice, the cheap value first."""
    spoiled, _ = await served(pid, Defects(duplicate_keys=True))

    found: list[tuple[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, list) and node and all(isinstance(p, tuple) for p in node):
            keys = [k for k, _ in node]
            found.extend((k, v) for k, v in node if keys.count(k) > 1)
            for _, value in node:
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(pairs(max(spoiled, key=len)))
    assert found
    assert "0.01" == found[0][1]


def test_escaped_forms_decode_back_to_the_secret() -> None:
    """Each JSON form decodes to the secret; each URL form unquotes to it (the forms are honest)."""
    from html import unescape
    from urllib.parse import unquote, unquote_plus

    secret = 'a/b+c d"e\\fé😀'
    forms = escaped_forms(secret)

    for name in ("json", "json_php", "json_unicode", "json_mixed"):
        assert secret == json.loads(f'"{forms[name]}"'), name
    assert secret == json.loads(json.loads(f'"{forms["json_twice"]}"').join('""'))
    assert secret == unquote(forms["url"]) == unquote_plus(forms["url_plus"]) == unquote(unquote(forms["url_twice"]))
    assert secret == unescape(forms["html"])
