"""Structure-aware fuzzing of a provider adapter's normalization (needs hypothesis).

Start from real vendor records (a sandbox's, or recorded fixtures), mutate them field by field (nested
paths like ``monthlyPrice.exponent`` or ``features.0``: deleted, or replaced by junk: nulls, bools, huge
and negative numbers, non-finite floats, unicode digits, containers) and feed them to the adapter. The
only allowed outcomes are offers, rejected records naming a field the vendor sent, or a
``ProviderResponseError``; and no record may reach the base class's "unexpected record shape" safety
net, which would mean the adapter let a bad shape through unjudged::

    FIELDS = ("id", "price.amount", "features.0")

    @given(record=mutated_records(base_records, FIELDS))
    def test_never_raises(record):
        check_record(adapter, record, query, roots=FIELDS)

    @given(body=...)  # mangled_body() of an envelope of mutated records
    def test_pages(body):
        seen = []
        check_page(replaying(MyProvider, body, seen, api_key="canary-key"), query, served=..., seen=seen, requests=1,
                   roots=FIELDS)

Hostile values go further (:func:`hostile_records`): numbers at and beyond any sane bound
(:data:`AT_BOUNDS`, :data:`BEYOND_BOUNDS`: written as raw JSON number text in bodies, as the Decimal the
JSON decoder makes in records) in any numeric field, and the adapter's own credentials echoed in every
escaped form of :func:`numbroker.testing.hostile.escaped_forms` in any text field and in the envelope.
:func:`check_no_secret` then checks that nothing the search gave back shows a credential in any form.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, TypeVar

import anyio
import httpx
from hypothesis import strategies as st

from numbroker._exceptions import ProviderResponseError
from numbroker._models import AvailableNumber, RejectedRecord, SearchQuery
from numbroker.adapters import Provider, RetryPolicy

__all__ = [
    "AT_BOUNDS",
    "BEYOND_BOUNDS",
    "E164",
    "HUGE",
    "JUNK",
    "check_no_secret",
    "hostile_records",
    "raw_json",
    "check_exact_prices",
    "check_offer",
    "check_page",
    "check_record",
    "check_rejected",
    "mangled_body",
    "mutated_records",
    "replaying",
    "safety_net",
]

_P = TypeVar("_P", bound=Provider)

HUGE = "9" * 5000
"""A JSON integer literal beyond Python's 4300-digit int conversion limit (only writable by hand)."""

AT_BOUNDS = (
    "999999999999.999999999999",
    "999999999999",
    "0.000000000001",
    "1e11",
    "1E-12",
    "0",
    "-0",
    "0.0",
)
"""Prices at the edge of what a vendor may sanely state (12 integer and 12 fraction digits)."""
BEYOND_BOUNDS = (
    "1e999999",
    "1e-999999999",
    "1e400",
    "-1e400",
    "9999999999999",
    "1000000000000.5",
    "0.0000000000001",
    "1" + "0" * 40,
    "0." + "0" * 40 + "1",
    "1e+2147483648",
)
"""Prices no vendor sanely states: huge and tiny exponents, too many digits either side of the point."""

_RAW: dict[str, str] = {}
_RAW_MARK = re.compile(r'"\\u2063raw(\d+)\\u2063"')


def raw_json(text: str, *, string: bool = False) -> str:
    r"""A placeholder for ``text`` as raw JSON: a number literal, or (``string``) a string literal's exact inside.

    Put it anywhere in a record or envelope; :func:`mangled_body` writes ``text`` in its place, so numbers
    no JSON library writes (``1e999999``) and escapes no JSON library chooses (``\/``) reach the adapter.
    """
    key = _RAW.setdefault(f'"{text}"' if string else text, str(len(_RAW)))
    return f"\u2063raw{key}\u2063"


def _write_raw(text: str) -> str:
    by_key = {key: raw for raw, key in _RAW.items()}
    return _RAW_MARK.sub(lambda m: by_key[m.group(1)], text)


E164 = re.compile(r"\+[1-9]\d{1,14}")

JUNK: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=24),
    st.sampled_from(["", " ", "NaN", "-0", "1e9", "١٢٣", "+1 (415) 555-0100", "\x00", "ＵＳ", "usd", "active "]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    st.just(HUGE),
)
"""Values a vendor should never send where a record field is expected."""


def _child(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        return value.get(key)
    if isinstance(value, list) and key.isdigit() and int(key) < len(value):
        return value[int(key)]
    return None


def mutated_records(base: Sequence[Any], fields: Sequence[str]) -> st.SearchStrategy[Any]:
    """Records drawn from ``base`` with up to four of ``fields`` (dotted paths) deleted or replaced by junk.

    One draw in twenty is not a record at all, and half gain an unknown extra key.
    """

    @st.composite
    def draw_record(draw: st.DrawFn) -> Any:
        if draw(st.integers(0, 19)) == 0:
            return draw(JUNK)
        record = json.loads(json.dumps(draw(st.sampled_from(list(base)))))
        for path in draw(st.lists(st.sampled_from(list(fields)), max_size=4, unique=True)):
            *parents, name = path.split(".")
            target: Any = record
            for parent in parents:
                target = _child(target, parent)
            if isinstance(target, dict):
                if draw(st.booleans()):
                    target.pop(name, None)
                else:
                    target[name] = draw(JUNK)
            elif isinstance(target, list) and name.isdigit() and int(name) < len(target):
                target[int(name)] = draw(JUNK)
        if draw(st.booleans()):
            record[draw(st.text(min_size=1, max_size=8))] = draw(JUNK)
        return record

    return draw_record()


def mangled_body(draw: st.DrawFn, envelope: dict[str, Any], keys: Sequence[str]) -> bytes:
    """The page ``envelope`` as a JSON body, with up to two of its ``keys`` deleted or replaced by junk.

    One body in ten is cut short, and one in ten is replaced by nesting too deep for any JSON parser.
    """
    for name in draw(st.lists(st.sampled_from(list(keys)), max_size=2, unique=True)) if keys else ():
        if draw(st.booleans()):
            envelope.pop(name, None)
        else:
            envelope[name] = draw(JUNK)
    text = _write_raw(json.dumps(envelope, allow_nan=True, default=_decimal_text).replace(json.dumps(HUGE), HUGE))
    mangle = draw(st.integers(0, 9))
    if mangle == 0:
        text = text[: draw(st.integers(0, max(0, len(text) - 1)))]
    elif mangle == 1:
        text = "[" * 100_000 + "]" * 100_000
    return text.encode()


@contextmanager
def safety_net() -> Iterator[list[logging.LogRecord]]:
    """Collect the provider base class's "unexpected record shape" warnings (there should be none)."""
    caught: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "unexpected record shape" in record.getMessage():
                caught.append(record)

    handler = Collect(logging.WARNING)
    logger = logging.getLogger("numbroker")
    logger.addHandler(handler)
    try:
        yield caught
    finally:
        logger.removeHandler(handler)


def check_offer(offer: AvailableNumber, provider_id: str, query: SearchQuery) -> None:
    """An offer from fuzzed input is still a valid offer of this provider for this query."""
    assert provider_id == offer.provider
    assert E164.fullmatch(offer.e164)
    assert query.country == offer.country
    for price in (offer.setup_price, offer.monthly_price):
        if price is not None:
            assert price.amount.is_finite() and price.amount >= 0
            assert 3 == len(price.currency)


def check_rejected(rejected: RejectedRecord, provider_id: str, roots: Iterable[str]) -> None:
    """A rejection names this provider, a reason, a bounded value, and a field rooted in what the vendor sent."""
    assert provider_id == rejected.provider
    assert rejected.reason
    assert rejected.value is None or len(rejected.value) <= 200
    # The vendor's field at fault, by its wire name (nested as ``a.b`` or ``a[0]``), or None for the whole record.
    assert rejected.field is None or re.split(r"[.\[]", rejected.field)[0] in set(roots), rejected


def replaying(cls: type[_P], body: bytes, seen: list[httpx.Request] | None = None, **options: Any) -> _P:
    """The adapter ``cls`` (credentials and ``base_url`` in ``options``) answered ``body`` for every request.

    Requests are appended to ``seen``; nothing is retried, so one request is one answer.
    """

    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    return cls(transport=httpx.MockTransport(handle), retry=RetryPolicy(attempts=1), **options)


def check_page(
    adapter: Provider,
    query: SearchQuery,
    *,
    served: int,
    seen: Sequence[httpx.Request],
    requests: int,
    roots: Iterable[str],
) -> None:
    """Search ``query`` through ``adapter`` (a :func:`replaying` one) and check the outcome.

    It is offers plus rejected records with every one of the ``served`` records (per request) accounted
    for, no record caught by the safety net, and ``requests`` requests sent; or a ``ProviderResponseError``.
    """

    async def search() -> Any:
        async with adapter:
            try:
                return await adapter.search(query)
            except ProviderResponseError as exc:
                return exc

    with safety_net() as caught:
        outcome = anyio.run(search)

    assert [] == [r.getMessage() for r in caught]
    if isinstance(outcome, ProviderResponseError):
        assert adapter.id == outcome.provider
        return
    stats = outcome.stats
    assert requests == len(seen)
    assert served * requests == stats.offers + stats.rejected + stats.duplicates + sum(stats.excluded.values())
    assert (len(outcome.offers), len(outcome.rejected)) == (stats.offers, stats.rejected)
    for offer in outcome.offers:
        check_offer(offer, adapter.id, query)
    for rejected in outcome.rejected:
        check_rejected(rejected, adapter.id, roots)


def check_record(adapter: Provider, record: Any, query: SearchQuery, roots: Iterable[str]) -> None:
    """``normalize_record`` turns ``record`` into a sound offer or a rejection naming a reason, and never raises."""
    with safety_net() as caught:
        result = adapter.normalize_record(record, query)

    assert [] == [r.getMessage() for r in caught]
    if isinstance(result, AvailableNumber):
        assert E164.fullmatch(result.e164)
        for price in (result.setup_price, result.monthly_price):
            assert price is None or (price.amount.is_finite() and price.amount >= 0)
    else:
        check_rejected(result, adapter.id, roots)


def check_exact_prices(adapter: Provider, query: SearchQuery, monthly: dict[str, Decimal | None]) -> None:
    """Searching ``query`` gives exactly the offers ``monthly`` names (offer id → monthly price), as Decimals."""

    async def search() -> Any:
        async with adapter:
            return await adapter.search(query)

    result = anyio.run(search)

    assert monthly == {o.offer_id: o.monthly_price.amount if o.monthly_price else None for o in result.offers}
    assert all(isinstance(o.monthly_price.amount, Decimal) for o in result.offers if o.monthly_price)


def _decimal_text(value: Any) -> Any:
    if isinstance(value, Decimal):
        if value.is_nan():
            return raw_json("NaN")
        return raw_json(str(value) if value.is_finite() else ("-Infinity" if value < 0 else "Infinity"))
    raise TypeError(f"not JSON: {type(value).__name__}")


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _leaves(child, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _leaves(child, f"{path}.{index}")
    else:
        yield path, value


def _set(record: Any, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = record
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float | Decimal):
        return True
    return isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value.strip()) is not None


def hostile_records(
    base: Sequence[Any], *, secrets: Sequence[str] = (), in_body: bool = False
) -> st.SearchStrategy[Any]:
    """Records drawn from ``base`` with hostile values in up to three numeric and three text fields.

    Numeric fields get numbers at or beyond the bounds; text fields one of ``secrets`` in an escaped form.

    A numeric field keeps its kind: a JSON number becomes a Decimal (``in_body``: raw number text), a
    numeric string a string. With ``in_body`` the JSON-escaped forms of a secret are written raw into the
    string literal (as a vendor's encoder would); otherwise the record holds what decoding gives.
    """
    from numbroker.testing.hostile import ESCAPINGS, escaped_forms

    numbers = st.sampled_from(AT_BOUNDS + BEYOND_BOUNDS)

    @st.composite
    def draw_record(draw: st.DrawFn) -> Any:
        record = json.loads(json.dumps(draw(st.sampled_from(list(base)))))
        leaves = list(_leaves(record))
        numeric = [path for path, value in leaves if path and _is_number(value)]
        text = [path for path, value in leaves if path and isinstance(value, str) and not _is_number(value)]
        for path in draw(st.lists(st.sampled_from(numeric), max_size=3, unique=True)) if numeric else []:
            number = draw(numbers)
            current = dict(leaves)[path]
            if isinstance(current, str):
                _set(record, path, number)
            else:
                _set(record, path, raw_json(number) if in_body else Decimal(number))
        if secrets and text:
            for path in draw(st.lists(st.sampled_from(text), max_size=3, unique=True)):
                secret, escaping = draw(st.sampled_from(list(secrets))), draw(st.sampled_from(ESCAPINGS))
                form = escaped_forms(secret)[escaping]
                if escaping.startswith("json"):
                    decoded = json.loads('"' + form + '"')
                    shown = raw_json(f"echo {form}", string=True) if in_body else f"echo {decoded}"
                else:
                    shown = raw_json(f"echo {json.dumps(form)[1:-1]}", string=True) if in_body else f"echo {form}"
                _set(record, path, shown)
        return record

    return draw_record()


def check_no_secret(outcome: object, secrets: Iterable[str]) -> None:
    """Nothing in ``outcome`` (its repr, and an exception's message and attributes) shows a secret in any form."""
    from numbroker.testing.hostile import escaped_forms

    texts = [repr(outcome), str(outcome)]
    if isinstance(outcome, BaseException):
        texts += [repr(vars(outcome)), repr(outcome.args)]
    shown = "\n".join(texts)
    for secret in secrets:
        forms = set(escaped_forms(secret).values())
        leaked = [form for form in forms if form in shown]
        assert not leaked, f"a credential is shown ({len(leaked)} forms)"
