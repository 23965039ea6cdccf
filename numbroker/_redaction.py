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
import bisect
import contextlib
import functools
import html
import itertools
import logging
import re
import unicodedata
from collections.abc import Callable, Iterator
from typing import TypeVar

from numbroker._exceptions import ConfigurationError
from numbroker._models import AvailableNumber, RejectedRecord
from numbroker._text import visible

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

PARTIAL_SHARE_NUMERATOR, PARTIAL_SHARE_DENOMINATOR = 3, 4
"""A prefix or suffix of at least three quarters of a secret shows it (``key tokCANA…``)."""

_T = TypeVar("_T")
_E = TypeVar("_E", bound=BaseException)

_ZERO_WIDTH = dict.fromkeys(
    map(ord, "\u00ad\u034f\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff")
)
"""Characters that show nothing (zero-width spaces and joiners, soft hyphen, marks): removed before matching."""

_JSON_SHORT = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_ESCAPE = (
    r"\\+u[dD][89abAB][0-9a-fA-F]{2}\\+u[dD][c-fC-F][0-9a-fA-F]{2}"  # a JSON surrogate pair
    r"|\\+(?:u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|U[0-9a-fA-F]{8}|[\"'/bfnrt])"  # JSON and repr escapes, escaped again
    r"|\\{2,}"  # an escaped backslash (once or more)
    r"|(?:%(?:25)*[0-9a-fA-F]{2})+"  # URL-encoding (UTF-8 bytes), encoded again as %25
    r"|&#[0-9]{1,8};|&#[xX][0-9a-fA-F]{1,8};|&[a-zA-Z]{2,8};"  # HTML character references
    r"|\x1b\[[0-9;?]*[A-Za-z]"  # a terminal control sequence (a renderer colouring digits)
)


def _may_escape(text: str) -> bool:
    """True when ``text`` holds a character an escaped unit (see :data:`_ESCAPE`) starts with.

    Four substring scans: on long text, several times faster than one search for a character class.
    """
    return "\\" in text or "%" in text or "&" in text or "\x1b" in text


@functools.cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """The escape patterns, compiled on first use (a process that never meets an escape never builds them).

    One escaped unit (the lookahead skips plain text fast); one unit or any single character; and the
    runs of escaped units and non-ASCII characters, what folding may change the length of.
    """
    escapes = re.compile("(?=[\\\\%&\x1b])(?:" + _ESCAPE + ")", re.DOTALL)
    units = re.compile("(?=[\\\\%&\x1b])(?:" + _ESCAPE + ")|.", re.DOTALL)
    runs = re.compile("((?=" + _RUN_START + ")(?:(?=[\\\\%&\x1b])(?:" + _ESCAPE + ")|[^\\x00-\\x7f])+)", re.DOTALL)
    return escapes, units, runs


_RUN_START = r"[^\x00-\x1a\x1c-\x24\x27-\x5b\x5d-\x7f]"
"""What a run starts with: ``\\``, ``%``, ``&``, ESC or any non-ASCII character, written as the ASCII it is
not (a class spelled with the range up to U+10FFFF takes several milliseconds to compile)."""


_CODES = re.compile(r"[uU]([0-9a-fA-F]{8}|[0-9a-fA-F]{4})")
_PERCENT = re.compile(r"%(?:25)*([0-9a-fA-F]{2})")


def _decode_unit(unit: str) -> str:
    """What one unit (see :func:`_patterns`) stands for (a unit that is no escape stands for itself)."""
    first = unit[0]
    if first == "\\" and len(unit) > 1:
        body = unit.lstrip("\\")
        if not body:
            return "\\"
        if len(body) > 1 and body[0] in "uU":
            codes = [int(code, 16) for code in _CODES.findall(body)]
            if len(codes) == 2:
                return chr(0x10000 + ((codes[0] - 0xD800) << 10) + (codes[1] - 0xDC00))
            return chr(codes[0]) if codes and codes[0] <= 0x10FFFF else ""
        if len(body) == 3 and body[0] == "x":
            return chr(int(body[1:], 16))
        return _JSON_SHORT.get(body, body)
    if first == "%":
        return bytes(int(code, 16) for code in _PERCENT.findall(unit)).decode("utf-8", "replace")
    if first == "&" and len(unit) > 1:
        return html.unescape(unit)
    if first == "\x1b" and len(unit) > 1:
        return ""
    return unit


def _fold(text: str) -> str:
    """``text`` as matching sees it: NFKC, zero-width characters removed, case-folded, ``+`` read as a space."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH)
    return text.casefold().replace("+", " ")


def _decoded(text: str) -> str:
    """``text`` with every escaped unit decoded (no positions kept)."""
    if not _may_escape(text):
        return text
    return _patterns()[0].sub(lambda match: _decode_unit(match.group()), text)


_SCREEN_FROM = 64 * 1024
"""Text this long (folded, plain) is first searched line by distinct line: see :meth:`Redactor._in_lines`."""

_RUN_CACHE: dict[str, tuple[str, tuple[int, ...], tuple[int, ...]]] = {}
_RUN_CACHE_SIZE = 4096
_RUN_CACHE_LONGEST = 1024


def _run(run: str) -> tuple[str, tuple[int, ...], tuple[int, ...]]:
    """A run of escaped units and non-ASCII characters, decoded and folded, with its positions.

    For each folded character, where its unit starts and ends in the run. The few thousand short runs
    seen last are kept (a vendor echoing one credential repeats the same runs in every record).
    """
    cached = _RUN_CACHE.get(run)
    if cached is not None:
        return cached
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for match in _patterns()[1].finditer(run):
        piece = _fold(_decode_unit(match.group()))
        if piece:
            pieces.append(piece)
            starts.extend([match.start()] * len(piece))
            ends.extend([match.end()] * len(piece))
    decoded = ("".join(pieces), tuple(starts), tuple(ends))
    if len(run) <= _RUN_CACHE_LONGEST:
        if len(_RUN_CACHE) >= _RUN_CACHE_SIZE:
            _RUN_CACHE.clear()
        _RUN_CACHE[run] = decoded
    return decoded


class _Folded:
    """``text`` decoded and folded once, with where in ``text`` each folded character came from.

    The text is split into ASCII stretches, folded in place (one character for one), and runs of escaped
    units and non-ASCII characters, each unit folded to zero or more characters that all stand for it.
    """

    __slots__ = ("_runs", "_starts", "_text_starts", "text")

    def __init__(self, text: str) -> None:
        parts = _patterns()[2].split(text)  # plain, run, plain, …, plain
        self._runs = [_run(run) for run in parts[1::2]]
        pieces = [self._runs[i >> 1][0] if i & 1 else part.lower().replace("+", " ") for i, part in enumerate(parts)]
        self._text_starts = list(itertools.accumulate(map(len, parts), initial=0))  # where each part begins
        self._starts = list(itertools.accumulate(map(len, pieces), initial=0))  # and where its folded piece does
        self.text = "".join(pieces)

    def _where(self, position: int, *, end: bool) -> int:
        """Where folded character ``position`` begins (or, ``end``, ends) in the text."""
        part = bisect.bisect_right(self._starts, position) - 1
        offset = position - self._starts[part]
        if not part & 1:
            return self._text_starts[part] + offset + end
        _, starts, ends = self._runs[part >> 1]
        return self._text_starts[part] + (ends if end else starts)[offset]

    def span(self, begin: int, stop: int) -> tuple[int, int]:
        """Where folded characters ``begin``..``stop`` (exclusive) came from in the text."""
        return self._where(begin, end=False), self._where(stop - 1, end=True)


def _folded(text: str) -> _Folded | str:
    """``text`` folded for matching: the plain string when positions are unchanged (ASCII, no escapes)."""
    if text.isascii() and not _may_escape(text):
        return text.lower().replace("+", " ")  # one character for one: positions are the same
    return _Folded(text)


def _needles(secret: str) -> set[str]:
    """Every folded form of ``secret`` that counts as showing it (see the module docstring)."""
    folded = _fold(secret)
    raw = secret.encode("utf-8")
    forms = {
        folded,
        _fold(_decoded(secret)),  # a secret holding what reads as an escape (``\\n``) is read so in text too
        _fold(raw.hex()),
        _fold(base64.b64encode(raw).decode().rstrip("=")),
        _fold(base64.urlsafe_b64encode(raw).decode().rstrip("=")),
        _fold(base64.b32encode(raw).decode().rstrip("=")),
    }
    part = -(-len(folded) * PARTIAL_SHARE_NUMERATOR // PARTIAL_SHARE_DENOMINATOR)
    if part < len(folded):
        forms.update((folded[:part], folded[-part:]))
    return {form for form in forms if form}


def _places(form: str, wholes: tuple[str, ...]) -> Iterator[tuple[str, int]]:
    """Each whole secret holding ``form``, with each place it holds it, in order."""
    for whole in wholes:
        at = whole.find(form)
        while at >= 0:
            yield whole, at
            at = whole.find(form, at + 1)


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


class Redactor:
    """Replaces every registered secret, in every form it may be echoed in, with ``***``.

    Where two secrets' matches overlap the whole stretch is masked, so neither is half-shown. Nothing is
    compiled per secret: registering one computes its folded forms (a few string operations), and text
    is decoded and folded once, then searched for each form as a plain substring.
    """

    __slots__ = ("_by_line", "_needles", "_on_add", "_places", "_primary", "_secrets", "_shortest", "_wholes")

    def __init__(self, *, on_add: Callable[[str], None] | None = None) -> None:
        """Start with no secrets; ``on_add`` is told each new secret (e.g. :meth:`LibraryLogFilter.add`)."""
        self._secrets: set[str] = set()
        self._primary: set[str] = set()
        self._needles: tuple[str, ...] | None = ()
        self._wholes: tuple[str, ...] = ()
        self._shortest = 0
        self._by_line = True
        self._places: dict[str, tuple[tuple[str, int], ...]] = {}
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
        self._needles = None  # the forms are worked out on first use
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

    def _forms(self) -> tuple[str, ...]:
        if self._needles is None:
            forms: set[str] = set()
            for secret in self._secrets:
                forms |= _needles(secret)
            # A part found is widened to as much of the whole secret as the text shows (never leaving
            # a secret's last letters after the mask).
            self._wholes = tuple(
                {_fold(secret) for secret in self._secrets} | {_fold(_decoded(s)) for s in self._secrets}
            )
            # A form holding a shorter form is found through it (a secret through its prefix and suffix,
            # whose matches overlap and merge into the whole secret's stretch).
            ordered = sorted(forms, key=len)
            kept: list[str] = []
            for form in ordered:
                if not any(shorter in form for shorter in kept):
                    kept.append(form)
            self._needles = tuple(kept)
            self._shortest = min(map(len, kept), default=0)
            self._by_line = not any("\n" in form for form in kept)
            # Where each form sits in each whole secret, worked out once (a text may show hundreds).
            self._places = {form: tuple(_places(form, self._wholes)) for form in kept}
        return self._needles

    def _found(self, text: str, *, where: bool = True) -> list[tuple[int, int]]:
        """Where in ``text`` a secret shows, in any form: decoded and folded once, then one search per form.

        Each stretch found is widened over as much of a whole secret as the text shows around it. A text
        that shows a secret only once folded as a whole (NFKC composing across characters) is one stretch.
        Without ``where``, the first stretch found is enough (and is not placed).
        """
        forms = self._forms()
        if text.isascii() and len(text) < self._shortest:
            return []  # escapes and folding never lengthen ASCII text: no form fits in it
        folded = _folded(text)
        flat = folded if isinstance(folded, str) else folded.text
        if isinstance(folded, str) and len(flat) >= _SCREEN_FROM and self._by_line and not self._in_lines(flat, forms):
            return []
        spans = []
        for form in forms:
            at = flat.find(form)
            if at >= 0 and not where:
                return [(0, len(text))]
            places = self._places[form]
            while at >= 0:
                spans.append(self._widen(flat, at, at + len(form), places))
                at = flat.find(form, at + 1)
        if isinstance(folded, str):
            return spans
        if not spans and not text.isascii():
            whole = _fold(_decoded(text))
            return [(0, len(text))] if any(form in whole for form in forms) else []
        return [folded.span(begin, stop) for begin, stop in set(spans)]  # forms of one secret widen alike

    @staticmethod
    def _in_lines(flat: str, forms: tuple[str, ...]) -> bool:
        """True when a form shows in ``flat``, searched once in each of its distinct lines.

        Exact when no form holds a line break (the caller checks): a form found lies within one line,
        and every line is searched. Long output repeats most of its lines (a JSON document's keys and
        common values), so this searches a fraction of the text; what it finds is then placed in the
        text itself.
        """
        lines = "\n".join(set(flat.split("\n")))
        return any(form in lines for form in forms)

    @staticmethod
    def _widen(folded: str, begin: int, stop: int, places: tuple[tuple[str, int], ...]) -> tuple[int, int]:
        """``folded[begin:stop]`` (a form found) widened over what the text shows of a whole secret around it.

        ``places``: each whole secret holding the form, and where in it (see :func:`_places`).
        """
        for whole, at in places:
            left, right = begin - at, begin - at + len(whole)
            if left >= 0 and folded.startswith(whole, left):  # the whole secret is there: nothing to walk
                begin, stop = min(begin, left), max(stop, right)
                continue
            left, right = begin, stop
            while left > 0 and left - begin + at > 0 and folded[left - 1] == whole[left - begin + at - 1]:
                left -= 1
            while (
                right < len(folded) and right - begin + at < len(whole) and folded[right] == whole[right - begin + at]
            ):
                right += 1
            begin, stop = min(begin, left), max(stop, right)
        return begin, stop

    @property
    def secrets(self) -> tuple[str, ...]:
        """The registered credentials, sorted (for digests that identify an account; never for display).

        Forms derived from authentication headers (:meth:`add_auth_header`) are not among them.
        """
        return tuple(sorted(self._primary))

    def redact(self, text: str) -> str:
        """``text`` with every registered secret (in every form) replaced by ``***``."""
        if not self._secrets or not text:
            return text
        found = self._found(text)
        if not found:
            return text
        out: list[str] = []
        position = 0
        end = -1
        for start, stop in sorted(found):
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
        return bool(self._secrets) and bool(text) and bool(self._found(text, where=False))

    def scrub(self, exc: _E) -> _E:
        """``exc`` with its message, string attributes, notes and chained causes redacted (in place)."""
        self._scrub(exc, set())
        return exc

    def _scrub(self, exc: BaseException, seen: set[int]) -> None:
        if id(exc) in seen or not self._secrets:
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

    def add(self, secret: str) -> None:
        """Register ``secret`` for every record from now on (installing the filter first)."""
        if not self._installed:
            for name in self.LOGGERS:
                logging.getLogger(name).addFilter(self)
            self._installed = True
        self.redactor.add(secret)

    def redact(self, text: str) -> str:
        """``text`` with every secret of this process redacted."""
        return self.redactor.redact(text)

    def redact_terminal(self, text: str) -> str:
        """Like :meth:`redact`, for terminal output: control sequences inside a secret do not hide it."""
        return self.redactor.redact(text)

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record``'s message, traceback and stack when they show a secret; never drop a record.

        Control characters in the message are made visible (see :mod:`numbroker._text`).
        """
        message = record.getMessage()
        redacted = visible(self.redactor.redact(message))  # vendor text in a log line never drives a terminal
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
        # Each text is read once; the offer is copied only when one was rewritten.
        region = redactor.redact(result.region) if result.region is not None else None
        details = redactor.redact_json(result.provider_details)
        if region == result.region and details == result.provider_details:
            return result
        return result.model_copy(update={"region": region, "provider_details": details})
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
