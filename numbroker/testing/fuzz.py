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
from numbroker._provider import Provider
from numbroker._retry import RetryPolicy

__all__ = [
    "E164",
    "HUGE",
    "JUNK",
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
    for name in draw(st.lists(st.sampled_from(list(keys)), max_size=2, unique=True)):
        if draw(st.booleans()):
            envelope.pop(name, None)
        else:
            envelope[name] = draw(JUNK)
    text = json.dumps(envelope, allow_nan=True).replace(json.dumps(HUGE), HUGE)
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
