"""A minimal hostile vendor: a real sandbox behind an ASGI wrapper that rewrites its search answers.

:class:`Hostile` forwards every request to a sandbox's own app. For the vendor's search endpoint it
may rewrite the request's query string first (``rewrite_query``: a vendor that ignores ``per_page``),
and it hands the decoded JSON answer to ``defect``, which changes it in place or returns a new body.
The body is then written with :func:`encode`, which can say what ``json.dumps`` cannot: a number
written as raw text (:class:`Raw`, e.g. ``1e-999999999``) and an object with a repeated key
(:class:`Pairs`). Everything else the sandbox serves (purchases, owned numbers) passes unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode

from numbroker.sandbox import LoopbackServer, Sandbox

SEARCH_PATHS = {
    "vobiz": "/inventory/numbers",
    "bird": "/numbers-stock-items",
    "identitycall": "/virtual_numbers/available",
    "plivo": "/PhoneNumber/",
    "vonage": "/number/search",
}
"""The path each vendor's search endpoint ends with."""

RECORDS = {"vobiz": "items", "bird": "results", "identitycall": "data", "plivo": "objects", "vonage": "numbers"}
"""The envelope key of each vendor's records."""


@dataclass(frozen=True)
class Raw:
    """A JSON value written exactly as ``text`` (a number no encoder would write)."""

    text: str


@dataclass(frozen=True)
class Pairs:
    """A JSON object written from ``pairs`` in order, a key possibly more than once."""

    pairs: tuple[tuple[str, Any], ...]

    @classmethod
    def repeating(cls, record: Mapping[str, Any], key: str, first: Any) -> Pairs:
        """``record`` with ``key`` written twice: ``first``, then the record's own value."""
        return cls(((key, first), *record.items()))


def encode(value: Any) -> str:
    """JSON text of ``value``, with :class:`Raw` and :class:`Pairs` written as they say."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Pairs):
        return "{" + ",".join(f"{json.dumps(k)}:{encode(v)}" for k, v in value.pairs) + "}"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(k)}:{encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(encode(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value)


Defect = Callable[[Any, Mapping[str, str]], Any]
"""Rewrites a decoded search answer (given the request's query parameters); returns None to keep it."""


class Hostile:
    """An ASGI app: ``sandbox`` with ``defect`` applied to the answers of its search endpoint."""

    def __init__(
        self,
        sandbox: Sandbox,
        provider_id: str,
        defect: Defect | None = None,
        *,
        rewrite_query: Callable[[dict[str, str]], dict[str, str]] | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.search_path = SEARCH_PATHS[provider_id]
        self.defect = defect
        self.rewrite_query = rewrite_query

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith(self.search_path):
            await self.sandbox.app(scope, receive, send)
            return
        query = dict(parse_qsl(scope["query_string"].decode()))
        if self.rewrite_query is not None:
            rewritten = self.rewrite_query(dict(query))
            scope = {**scope, "query_string": urlencode(rewritten).encode()}
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.sandbox.app(scope, receive, capture)
        body = b"".join(chunks)
        if start.get("status") == 200 and self.defect is not None:
            decoded = json.loads(body, parse_float=Decimal)
            changed = self.defect(decoded, query)
            body = encode(decoded if changed is None else changed).encode()
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": start.get("status", 500), "headers": headers})
        await send({"type": "http.response.body", "body": body})


@contextmanager
def serve(sandboxes: Mapping[str, Sandbox], hostile: Mapping[str, Hostile] | None = None) -> Iterator[dict[str, str]]:
    """Serve every sandbox over loopback, those in ``hostile`` behind their wrapper; yield id → base URL."""
    with ExitStack() as stack:
        urls: dict[str, str] = {}
        for pid, sandbox in sandboxes.items():
            app = (hostile or {}).get(pid) or sandbox.app
            server = stack.enter_context(LoopbackServer(app))
            urls[pid] = server.base_url + sandbox.base_path
        yield urls


def first_records(body: Any, provider_id: str, count: int = 1) -> list[Any]:
    """The first ``count`` records of a search answer (to plant a defect in)."""
    return list(body[RECORDS[provider_id]][:count])
