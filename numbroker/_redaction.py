r"""Secrets never shown: one redactor for numbroker's own text, its log records and the HTTP libraries'.

A :class:`Redactor` holds the credentials one provider registered and replaces each with ``***`` in every
form a vendor may echo it in, after any decoding a reader may apply:

- as it is, and URL-encoded (``%2F``, ``%2f``, ``+`` for a space, percent-encoded again as ``%252F``);
- JSON-escaped (``\/``, ``\"``, ``\\``, ``\uXXXX`` for *any* character, surrogate pairs beyond the BMP,
  escaped again inside a JSON string), and HTML character references (``&#47;``, ``&#x2F;``, ``&amp;``);
- any mix of those, character by character (a vendor that escapes every other letter is matched too);
- for HTTP Basic auth, the base64 of ``id:secret`` the vendor may echo back from the Authorization header
  (standard and URL-safe alphabets, padded or not): see :meth:`Redactor.add_auth_header`.

A credential shorter than :data:`MIN_SECRET_LENGTH` cannot be redacted safely (masking two letters
everywhere both garbles every message and shows where the secret's letters are); no vendor issues one,
so it is refused as a configuration error naming the variable, never the value.

Text is redacted where it leaves the library: exception messages and attributes (:meth:`Redactor.scrub`),
events, offers and rejected records (:meth:`Redactor.redact_json`), receipts, log records and the CLI's
output. The libraries numbroker drives log on their own: httpx logs every request's full URL at INFO
(account ids are path segments) and httpcore logs raw response headers at DEBUG (a vendor may echo a
credential). :data:`LIBRARY_LOGS` redacts those records, and numbroker's own (with their tracebacks),
with every credential any provider in this process registered.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import re
from collections.abc import Callable
from typing import TypeVar

from numbroker._exceptions import ConfigurationError
from numbroker._models import AvailableNumber, RejectedRecord

__all__ = [
    "LIBRARY_LOGS",
    "MASK",
    "MIN_SECRET_LENGTH",
    "LibraryLogFilter",
    "Redactor",
    "check_credential",
    "check_secret_length",
    "redact_result",
]

MASK = "***"

MIN_SECRET_LENGTH = 8
"""The shortest credential numbroker accepts: shorter ones cannot be masked without garbling text."""

_T = TypeVar("_T")
_E = TypeVar("_E", bound=BaseException)

_JSON_SHORT = {"/": "/", '"': '"', "\\": "\\", "\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t"}
_HTML_NAMED = {"&": ("amp",), "<": ("lt",), ">": ("gt",), '"': ("quot",), "'": ("apos",), "/": ("sol",)}


def check_secret_length(value: str, *, name: str) -> None:
    """Refuse a secret too short to redact safely, naming ``name`` (never the value).

    Raises:
        ConfigurationError: ``value`` has fewer than :data:`MIN_SECRET_LENGTH` characters.
    """
    if len(value) < MIN_SECRET_LENGTH:
        raise ConfigurationError(
            f"{name} is shorter than {MIN_SECRET_LENGTH} characters: too short to be a real credential "
            "or to be kept out of messages"
        )


def check_credential(value: str, *, name: str) -> None:
    """Refuse a credential too short to redact safely, or one no HTTP header can carry, naming ``name``.

    Raises:
        ConfigurationError: ``value`` has fewer than :data:`MIN_SECRET_LENGTH` characters, or a character
            that is not printable ASCII. The message never shows the value.
    """
    check_secret_length(value, name=name)
    if not (value.isascii() and value.isprintable()):
        raise ConfigurationError(f"{name} has a character no credential has (only printable ASCII can be sent)")


def _hex(value: int, width: int = 0) -> str:
    """A case-insensitive regex for ``value`` in hexadecimal (at least ``width`` digits; leading zeros optional)."""
    digits = format(value, "x")
    out = "0*" if not width else "0" * max(0, width - len(digits))
    return out + "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in digits)


def _char_pattern(char: str) -> str:
    """Every form ``char`` may be echoed in (see the module docstring), as one regex group."""
    code = ord(char)
    forms = [re.escape(char)]
    if code <= 0xFFFF:
        units = [code]
    else:
        offset = code - 0x10000
        units = [0xD800 + (offset >> 10), 0xDC00 + (offset & 0x3FF)]
    forms.append("".join(r"\\+u" + _hex(unit, 4) for unit in units))
    if char in _JSON_SHORT:
        forms.append(r"\\+" + re.escape(_JSON_SHORT[char]))
    if char == "'":
        forms.append(r"\\+'")
    # Python's repr escapes (a rejected record shows a value's repr): \xHH and \UHHHHHHHH.
    forms.append(r"\\+x" + _hex(code, 2) if code < 0x100 else r"\\+U" + _hex(code, 8))
    forms.append("".join("%(?:25)*" + _hex(byte, 2) for byte in char.encode("utf-8")))
    if char == " ":
        forms.append(r"\+")
    forms.append(f"&#0*{code};")
    forms.append(f"&#[xX]{_hex(code)};")
    forms.extend(f"&{name};" for name in _HTML_NAMED.get(char, ()))
    return "(?:" + "|".join(forms) + ")"


def _escape_chars(*, terminal: bool, spaces: bool) -> re.Pattern[str]:
    r"""The characters an escaped form of a character starts with; text without any shows a secret only as is.

    JSON and repr ``\``, URL ``%``, HTML ``&``; ``+`` when a secret has a space, ``ESC`` for terminal text.
    """
    return re.compile("[" + re.escape("\\%&" + ("+" if spaces else "") + ("\x1b" if terminal else "")) + "]")


_TERMINAL_GAP = r"(?:\x1b\[[0-9;?]*[A-Za-z])*"
"""Terminal control sequences (colours, cursor moves) a terminal renderer may put between two characters."""


def _secret_pattern(secret: str, *, terminal: bool = False) -> str:
    return (_TERMINAL_GAP if terminal else "").join(_char_pattern(char) for char in secret)


class Redactor:
    """Replaces every registered secret, in every form it may be echoed in, with ``***``.

    Where two secrets' matches overlap the whole stretch is masked, so neither is half-shown.
    """

    __slots__ = ("_compiled", "_escapes", "_on_add", "_patterns", "_primary", "_secrets", "_terminal")

    def __init__(self, *, on_add: Callable[[str], None] | None = None, terminal: bool = False) -> None:
        """Start with no secrets; ``on_add`` is told each new secret (e.g. :meth:`LibraryLogFilter.add`).

        With ``terminal``, a secret is also matched with terminal control sequences between its characters
        (as a terminal renderer colours digits), for text about to be written to a terminal.
        """
        self._terminal = terminal
        self._escapes = _escape_chars(terminal=terminal, spaces=False)
        self._secrets: set[str] = set()
        self._primary: set[str] = set()
        self._patterns: list[re.Pattern[str]] = []
        self._compiled: re.Pattern[str] | None = None
        self._on_add = on_add

    def __bool__(self) -> bool:
        return bool(self._secrets)

    @property
    def longest(self) -> int:
        """How many characters the longest registered secret may take once escaped (0 without secrets)."""
        return max((len(s) for s in self._secrets), default=0) * 12

    def add(self, secret: str, *, derived: bool = False) -> None:
        """Register ``secret`` (an empty one is ignored; ``derived``: a form of registered ones, not a credential).

        Raises:
            ConfigurationError: ``secret`` is shorter than :data:`MIN_SECRET_LENGTH` (the value is not shown).
        """
        if not secret:
            return
        if secret in self._secrets:
            if not derived:
                self._primary.add(secret)
            return
        check_secret_length(secret, name="a secret")
        self._secrets.add(secret)
        if not derived:
            self._primary.add(secret)
        self._patterns.append(re.compile(_secret_pattern(secret, terminal=self._terminal)))
        self._compiled = None
        self._escapes = _escape_chars(terminal=self._terminal, spaces=any(" " in s for s in self._secrets))
        if self._on_add is not None:
            self._on_add(secret)

    def add_auth_header(self, name: str, value: str) -> None:
        """Register what an authentication header shows: its value, or an ``Authorization`` header's token.

        For Basic auth the base64 forms of ``id:secret`` are registered too.

        Tokens shorter than :data:`MIN_SECRET_LENGTH` are skipped (their parts are registered credentials).
        """
        scheme, token = "", value
        if name.lower() in ("authorization", "proxy-authorization"):
            scheme, _, token = value.strip().partition(" ")
            token = token.strip() if token else scheme
        candidates = [token]
        if scheme.lower() == "basic" and token:
            try:
                raw = base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
            except ValueError:
                raw = b""
            if raw:
                candidates += [
                    base64.b64encode(raw).decode().rstrip("="),
                    base64.urlsafe_b64encode(raw).decode().rstrip("="),
                ]
        for candidate in candidates:
            if len(candidate) >= MIN_SECRET_LENGTH and candidate not in self._secrets:
                self.add(candidate, derived=True)

    def _matcher(self) -> re.Pattern[str]:
        if self._compiled is None:
            ordered = sorted(self._patterns, key=lambda p: len(p.pattern), reverse=True)
            self._compiled = re.compile("|".join(p.pattern for p in ordered))
        return self._compiled

    def _hit(self, text: str) -> bool:
        """True when ``text`` may show a secret: a plain substring test, unless it holds an escape character."""
        if self._escapes.search(text) is None:
            return any(secret in text for secret in self._secrets)
        return self._matcher().search(text) is not None

    @property
    def secrets(self) -> tuple[str, ...]:
        """The registered credentials, sorted (for digests that identify an account; never for display).

        Forms derived from authentication headers (:meth:`add_auth_header`) are not among them.
        """
        return tuple(sorted(self._primary))

    def redact(self, text: str) -> str:
        """``text`` with every registered secret (in every escaped form) replaced by ``***``."""
        if not self._patterns or not text or not self._hit(text):
            return text
        spans: list[tuple[int, int]] = []
        for pattern in self._patterns:
            spans.extend(match.span() for match in pattern.finditer(text) if match.end() > match.start())
        spans.sort()
        out: list[str] = []
        position = 0
        end = -1
        for start, stop in spans:
            if start > end:
                if end >= 0:
                    out.append(MASK)
                out.append(text[position:start])
                end = stop
            else:
                end = max(end, stop)
            position = end
        out.append(MASK)
        out.append(text[position:])
        return "".join(out)

    def redact_truncated(self, text: str, marker: str = "…") -> str:
        """Like :meth:`redact`, for text cut short: a secret's beginning left at the cut is masked too."""
        text = self.redact(text)
        if not text.endswith(marker):
            return text
        body = text[: -len(marker)]
        for secret in sorted(self._secrets, key=len, reverse=True):
            for size in range(min(len(secret) - 1, len(body)), 0, -1):
                if body.endswith(secret[:size]):
                    return body[:-size] + MASK + marker
        return text

    def redact_json(self, value: _T) -> _T:
        """A copy of a JSON-like ``value`` (strings, lists, dicts) with every string (keys too) redacted."""
        if isinstance(value, str):
            return self.redact(value)  # type: ignore[return-value]
        if isinstance(value, dict):
            return {self.redact(str(k)) if isinstance(k, str) else k: self.redact_json(v) for k, v in value.items()}  # type: ignore[return-value]
        if isinstance(value, list):
            return [self.redact_json(v) for v in value]  # type: ignore[return-value]
        if isinstance(value, tuple):
            return tuple(self.redact_json(v) for v in value)  # type: ignore[return-value]
        return value

    def shows_secret(self, text: str) -> bool:
        """True when ``text`` holds a registered secret in any form."""
        return bool(self._patterns) and self._hit(text)

    def scrub(self, exc: _E) -> _E:
        """``exc`` with its message, string attributes, notes and chained causes redacted (in place)."""
        self._scrub(exc, set())
        return exc

    def _scrub(self, exc: BaseException, seen: set[int]) -> None:
        if id(exc) in seen or not self._patterns:
            return
        seen.add(id(exc))
        for name, value in list(vars(exc).items()):
            if isinstance(value, str | dict | list | tuple):
                with contextlib.suppress(AttributeError):  # a read-only attribute stays as it is
                    setattr(exc, name, self.redact_json(value))
        exc.args = tuple(self.redact_json(arg) for arg in exc.args)
        for chained in (exc.__cause__, exc.__context__):
            if chained is not None:
                self._scrub(chained, seen)
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                self._scrub(inner, seen)


class LibraryLogFilter(logging.Filter):
    """Redacts log records (message, traceback, stack) with every secret of this process.

    It installs itself on the HTTP libraries' loggers and numbroker's own when the first secret is
    registered. A logger's filter sees only the records logged on that very logger, hence the list.
    """

    LOGGERS = (
        "httpx",
        "httpcore",
        "httpcore.connection",
        "httpcore.http11",
        "httpcore.http2",
        "httpcore.proxy",
        "httpcore.socks",
        "numbroker",
        "numbroker.buy",
        "numbroker.events",
        "numbroker.http",
        "numbroker.purchase",
        "numbroker.search",
    )

    def __init__(self) -> None:
        super().__init__()
        self._installed = False
        self.redactor = Redactor()
        self.terminal = Redactor(terminal=True)

    def add(self, secret: str) -> None:
        """Register ``secret`` for every record from now on (installing the filter first)."""
        if not self._installed:
            for name in self.LOGGERS:
                logging.getLogger(name).addFilter(self)
            self._installed = True
        self.redactor.add(secret)
        self.terminal.add(secret)

    def redact(self, text: str) -> str:
        """``text`` with every secret of this process redacted."""
        return self.redactor.redact(text)

    def redact_terminal(self, text: str) -> str:
        """Like :meth:`redact`, for terminal output: control sequences inside a secret do not hide it."""
        return self.terminal.redact(text)

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record``'s message, traceback and stack when they show a secret; never drop a record."""
        message = record.getMessage()
        redacted = self.redactor.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.redact(record.stack_info)
        return True


LIBRARY_LOGS = LibraryLogFilter()
"""The process-wide filter on the HTTP libraries' loggers and numbroker's own."""


def redact_result(
    redactor: Redactor, result: AvailableNumber | RejectedRecord, *, id_field: str | None = None
) -> AvailableNumber | RejectedRecord:
    """An offer or rejected record with any secret the vendor echoed in it masked (the same object if none).

    An offer whose id shows a secret cannot be masked (the id is what the vendor sells it by): it becomes
    a rejected record naming ``id_field`` (the vendor's name for the id), its id masked.
    """
    if not redactor:
        return result
    if isinstance(result, AvailableNumber) and redactor.shows_secret(result.offer_id):
        return RejectedRecord(
            provider=result.provider,
            offer_id=redactor.redact(result.offer_id),
            field=id_field,
            value=None,
            reason="the vendor's id for this offer holds a credential: not offered",
        )
    if isinstance(result, AvailableNumber):
        # One scan over the texts, joined, decides whether anything is rewritten.
        texts = [result.region or ""]
        _strings(result.provider_details, texts)
        if not redactor.shows_secret("\x00".join(texts)):
            return result
        region = redactor.redact(result.region) if result.region is not None else None
        return result.model_copy(
            update={"region": region, "provider_details": redactor.redact_json(result.provider_details)}
        )
    if not redactor.shows_secret(repr((result.offer_id, result.value, result.reason))):
        return result
    return result.model_copy(
        update={
            "offer_id": redactor.redact(result.offer_id) if result.offer_id is not None else None,
            "value": redactor.redact_truncated(result.value) if result.value is not None else None,
            "reason": redactor.redact(result.reason),
        }
    )


def _strings(value: object, out: list[str]) -> None:
    """Append every string in a JSON-like ``value`` (keys too) to ``out``."""
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for key, child in value.items():
            out.append(str(key))
            _strings(child, out)
    elif isinstance(value, list | tuple):
        for child in value:
            _strings(child, out)
