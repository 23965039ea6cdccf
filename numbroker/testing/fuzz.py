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

:class:`FuzzSuite` runs all of it for one adapter, from its sandbox's records: a provider's fuzz tests subclass
it with the adapter's data (its fields, envelope and canary credentials).

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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import anyio
import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from numbroker._exceptions import ProviderError, ProviderResponseError
from numbroker._models import AvailableNumber, RejectedRecord, SearchQuery
from numbroker._types import NumberType
from numbroker.adapters import Provider, ProviderResult, RetryPolicy

if TYPE_CHECKING:
    from numbroker.sandbox import Sandbox

__all__ = [
    "FuzzSuite",
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
    "search_outcome",
]

_P = TypeVar("_P", bound=Provider)
_JSON = {"content-type": "application/json"}

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


def replaying(
    cls: type[_P],
    body: bytes,
    seen: list[httpx.Request] | None = None,
    *,
    route: Callable[[httpx.Request], bytes | None] | None = None,
    **options: Any,
) -> _P:
    """The adapter ``cls`` (credentials and ``base_url`` in ``options``) answered ``body`` for every request.

    ``route(request)`` may answer a request with another body (a second API the search also asks, such as a
    price list), or None for ``body``. Requests are appended to ``seen``; nothing is retried, so one request
    is one answer.
    """

    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        content = route(request) if route is not None else None
        return httpx.Response(200, content=body if content is None else content, headers=_JSON)

    return cls(transport=httpx.MockTransport(handle), retry=RetryPolicy(attempts=1), **options)


def search_outcome(adapter: Provider, query: SearchQuery) -> ProviderResult | ProviderError:
    """Search ``query`` through ``adapter`` (closing it): the result, or the provider error raised."""

    async def run() -> ProviderResult | ProviderError:
        async with adapter:
            try:
                return await adapter.search(query)
            except ProviderError as exc:
                return exc

    return anyio.run(run)


def check_page(
    adapter: Provider,
    query: SearchQuery,
    *,
    served: int,
    seen: Sequence[httpx.Request],
    requests: int,
    roots: Iterable[str],
    pages: int | None = None,
) -> ProviderResult | ProviderResponseError:
    """Search ``query`` through ``adapter`` (a :func:`replaying` one), check the outcome and return it.

    It is offers plus rejected records with every one of the ``served`` records (per page answered: the
    ``requests`` requests sent, or ``pages`` of them when others ask something else) accounted for, and no
    record caught by the safety net; or a ``ProviderResponseError``.
    """
    with safety_net() as caught:
        outcome = search_outcome(adapter, query)

    assert [] == [r.getMessage() for r in caught]
    if isinstance(outcome, ProviderError):
        assert isinstance(outcome, ProviderResponseError), outcome
        assert adapter.id == outcome.provider
        return outcome
    stats = outcome.stats
    # A mangled envelope may state a total above what the page carries: the walk then asks for the pages it
    # promises (each answered with the same page here), never fewer requests than a short page costs and
    # never past the provider's page cap.
    read_on = len(seen) - requests
    assert 0 <= read_on < adapter.max_pages, (requests, len(seen))
    answered = (requests if pages is None else pages) + read_on
    assert served * answered == stats.offers + stats.rejected + stats.duplicates + sum(stats.excluded.values())
    # Every rejected record is counted and the first ones are kept (a lying total read on to the page cap
    # can reject more than are kept): the ones not kept are said in the report's notes.
    assert len(outcome.offers) == stats.offers
    assert len(outcome.rejected) == stats.rejected_kept <= stats.rejected
    not_kept = stats.rejected - stats.rejected_kept
    assert not not_kept or any(
        f"{not_kept} more rejected records were counted, not kept" in note for note in stats.report_notes()
    )
    for offer in outcome.offers:
        check_offer(offer, adapter.id, query)
    for rejected in outcome.rejected:
        check_rejected(rejected, adapter.id, roots)
    return outcome


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

    @st.composite
    def draw_record(draw: st.DrawFn) -> Any:
        record = json.loads(json.dumps(draw(st.sampled_from(list(base)))))
        leaves = dict(_leaves(record))
        numeric = [path for path, value in leaves.items() if path and _is_number(value)]
        text = [path for path, value in leaves.items() if path and isinstance(value, str) and not _is_number(value)]
        for path in draw(st.lists(st.sampled_from(numeric), max_size=3, unique=True)) if numeric else []:
            _set(record, path, _hostile_number(draw(st.sampled_from(AT_BOUNDS + BEYOND_BOUNDS)), leaves[path], in_body))
        for path in draw(st.lists(st.sampled_from(text), max_size=3, unique=True)) if secrets and text else []:
            _set(record, path, draw(_echoes(secrets, in_body)))
        return record

    return draw_record()


def _hostile_number(number: str, current: Any, in_body: bool) -> Any:
    """``number`` in the kind of ``current``: a numeric string stays a string; a JSON number is raw text or Decimal."""
    if isinstance(current, str):
        return number
    return raw_json(number) if in_body else Decimal(number)


@st.composite
def _echoes(draw: st.DrawFn, secrets: Sequence[str], in_body: bool) -> str:
    """``echo <secret>`` in one escaped form: raw into a body's string literal, or as decoding would give it."""
    from numbroker.testing.hostile import ESCAPINGS, escaped_forms

    secret, escaping = draw(st.sampled_from(list(secrets))), draw(st.sampled_from(ESCAPINGS))
    form = escaped_forms(secret)[escaping]
    if escaping.startswith("json"):
        return raw_json(f"echo {form}", string=True) if in_body else "echo " + json.loads('"' + form + '"')
    return raw_json(f"echo {json.dumps(form)[1:-1]}", string=True) if in_body else f"echo {form}"


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


class FuzzSuite:
    """The fuzzing suite of one adapter, as a class to subclass (name the subclass ``Test…``) with its data.

    Usage, for a provider with a sandbox (its records are the fuzzing's starting points)::

        class TestAcmeFuzz(FuzzSuite):
            provider_class = AcmeProvider
            credentials = {"api_key": "canary/acme+key"}
            fields = ("id", "number", "price.amount", "features.0")
            envelope_keys = ("items", "next")
            records_key = "items"
            exact_query = SearchQuery(country="US")

            def envelope(self, records: list[Any]) -> dict[str, Any]:
                return {"items": records, "next": None}

    The suite checks that random pages of mutated records (and mangled envelopes) give offers plus rejected
    records, every record accounted for, or a ``ProviderResponseError``, and that no record reaches the
    safety net; that ``normalize_record`` never raises; that an untouched page keeps every price exact; and
    with hostile values (numbers at and beyond the bounds, the credentials echoed in every escaped form)
    that nothing the search gives back shows a credential and every record is still an offer or a
    rejection. Needs hypothesis, not pytest.
    """

    provider_class: ClassVar[type[Provider]]
    credentials: ClassVar[Mapping[str, str]]
    """Canary credentials, as keyword arguments (use ``/``, ``+``, spaces or quotes: they are echoed escaped)."""
    base_url: ClassVar[str | None] = None
    """The base URL given to the adapter (default its own; every request is answered by a mock)."""
    fields: ClassVar[Sequence[str]]
    """The record fields mutated, as dotted paths (``price.amount``, ``features.0``)."""
    extra_roots: ClassVar[Sequence[str]] = ()
    """More fields a rejection may name besides the roots of :attr:`fields`."""
    envelope_keys: ClassVar[Sequence[str]] = ()
    """The page envelope's keys that are deleted or replaced by junk."""
    records_key: ClassVar[str]
    """The envelope key holding the records."""
    seed: ClassVar[int] = 3
    size: ClassVar[int | None] = 60
    """The sandbox whose records are the starting points (seed and inventory size)."""
    query_types: ClassVar[Sequence[NumberType | None]] = (None,)
    """The number types the random pages are searched with."""
    hostile_type: ClassVar[NumberType | None] = None
    """The number type the hostile pages are searched with."""
    exact_query: ClassVar[SearchQuery]
    """The query an untouched page of the sandbox's matching valid records answers, exactly priced."""
    exact_count: ClassVar[int | None] = None
    """At most this many records on that page (fewer than a full page, so one request answers it)."""
    record_examples: ClassVar[Sequence[tuple[Any, str]]] = ()
    """(record, country) pairs ``normalize_record`` is always given (what the fuzzing once found)."""
    page_settings: ClassVar[settings] = settings(
        max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    record_settings: ClassVar[settings] = settings(max_examples=150, deadline=None)
    hostile_settings: ClassVar[settings] = settings(
        max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    _sandbox: ClassVar[Sandbox | None] = None

    # -- the provider's data -------------------------------------------------------------------------

    def envelope(self, records: list[Any]) -> dict[str, Any]:
        """The vendor's answer holding ``records``: one page, the last."""
        raise NotImplementedError

    def envelopes(self, records: list[Any]) -> st.SearchStrategy[dict[str, Any]]:
        """The envelopes a random page may come in (default just :meth:`envelope`)."""
        return st.just(self.envelope(records))

    @classmethod
    def sandbox(cls) -> Sandbox:
        """The sandbox whose records are fuzzed (built once per class)."""
        if cls._sandbox is None:
            from numbroker.sandbox import create_sandboxes

            cls._sandbox = create_sandboxes([cls.provider_class.id], seed=cls.seed, size=cls.size)[
                cls.provider_class.id
            ]
        return cls._sandbox

    def base_records(self) -> list[Any]:
        """The records mutated: every record the sandbox serves, valid and defective."""
        return [record.raw for record in self.sandbox().records]

    def countries(self) -> list[str]:
        """The countries searched (default: every country a sandbox record is listed under)."""
        return sorted({record.country for record in self.sandbox().records})

    def roots(self) -> set[str]:
        """The fields a rejection of a mutated record may name."""
        return {*self.fields, *self.extra_roots}

    def route(self, request: httpx.Request) -> bytes | None:
        """The answer to a request that is not for the page (a second API the search asks), or None."""
        return None

    def provider(self, body: bytes, seen: list[httpx.Request] | None = None) -> Provider:
        """The adapter with the canary credentials, every request answered ``body`` (see :meth:`route`)."""
        options: dict[str, Any] = {} if self.base_url is None else {"base_url": self.base_url}
        return replaying(self.provider_class, body, seen, route=self.route, **options, **self.credentials)

    def requests_for(self, query: SearchQuery) -> int:
        """How many requests a search of ``query`` sends when each is answered with a short last page."""
        return 1

    def pages_for(self, query: SearchQuery) -> int:
        """How many of those requests are answered with the page (the others by :meth:`route`)."""
        return self.requests_for(query)

    def check_outcome(
        self, query: SearchQuery, outcome: ProviderResult | ProviderResponseError, seen: Sequence[httpx.Request]
    ) -> None:
        """Check more of what a fuzzed page gave (what the vendor's offers always are, what it always asks)."""

    def secrets(self) -> list[str]:
        """The credentials, and any form of them the adapter sends (a Basic pair's base64, without padding)."""
        from numbroker.testing.hostile import credentials_sent

        seen: list[httpx.Request] = []
        search_outcome(
            self.provider(b"{}", seen), SearchQuery(country=self.countries()[0], number_type=self.hostile_type)
        )
        given = list(self.credentials.values())
        sent = [value for request in seen[:1] for value in credentials_sent(request.headers.items())]
        return list(dict.fromkeys([*given, *(value.rstrip("=") for value in sent if value not in given)]))

    # -- strategies ----------------------------------------------------------------------------------

    def records(self) -> st.SearchStrategy[Any]:
        """Real records with fields deleted or replaced by junk (see :func:`mutated_records`)."""
        return mutated_records(self.base_records(), self.fields)

    def bodies(self) -> st.SearchStrategy[tuple[bytes, int]]:
        """(a page body, how many records it carries): mutated records in a mangled envelope."""

        @st.composite
        def body(draw: st.DrawFn) -> tuple[bytes, int]:
            envelope = draw(self.envelopes(draw(st.lists(self.records(), max_size=12))))
            content = mangled_body(draw, envelope, self.envelope_keys)  # mutates the envelope: count what is served
            served = envelope.get(self.records_key)
            return content, len(served) if isinstance(served, list) else 0

        return body()

    def hostile_pages(self) -> st.SearchStrategy[tuple[bytes, int]]:
        """(a page body, how many records it carries): hostile records, the credentials echoed in the envelope too."""
        secrets = self.secrets()

        @st.composite
        def page(draw: st.DrawFn) -> tuple[bytes, int]:
            records = hostile_records(self.base_records(), secrets=secrets, in_body=True)
            items = draw(st.lists(records, min_size=1, max_size=8))
            envelope = self.envelope(items)
            envelope["message"] = draw(_echoes(secrets, True))
            return mangled_body(draw, envelope, ()), len(items)

        return page()

    # -- the suite -----------------------------------------------------------------------------------

    def test_random_pages_give_offers_rejections_or_a_response_error(self) -> None:
        """Any page is offers plus rejected records (each record accounted for) or a ProviderResponseError."""

        @self.page_settings
        @given(body=self.bodies(), country=st.sampled_from(self.countries()), kind=st.sampled_from(self.query_types))
        def check(body: tuple[bytes, int], country: str, kind: NumberType | None) -> None:
            content, count = body
            query = SearchQuery(country=country, number_type=kind)
            seen: list[httpx.Request] = []
            adapter = self.provider(content, seen)
            requests, pages = self.requests_for(query), self.pages_for(query)
            outcome = check_page(
                adapter, query, served=count, seen=seen, requests=requests, roots=self.roots(), pages=pages
            )
            self.check_outcome(query, outcome, seen)

        check()

    def test_normalize_record_never_raises(self) -> None:
        """normalize_record turns any record into an offer or a rejection naming a reason, and never raises."""

        def check(record: Any, country: str) -> None:
            check_record(self.provider(b""), record, SearchQuery(country=country), self.roots())

        test = given(record=self.records(), country=st.sampled_from(self.countries()))(check)
        for record, country in self.record_examples:
            test = example(record=record, country=country)(test)
        self.record_settings(test)()

    def test_exact_money_survives_the_wire(self) -> None:
        """Sanity for the harness: an untouched sandbox page normalizes every valid record, exactly priced."""
        query = self.exact_query
        valid = [
            record
            for record in self.sandbox().records
            if record.expected_valid
            and record.country == query.country
            and (query.number_type is None or (record.number_type or "").replace("-", "_") == query.number_type)
        ][: self.exact_count]
        body = json.dumps(self.envelope([record.raw for record in valid])).encode()

        check_exact_prices(self.provider(body), query, {record.offer_id: record.monthly for record in valid})

    def test_hostile_pages_show_no_credential_in_any_form(self) -> None:
        """Offers, rejected records, statistics or the error of a hostile page show no credential in any form."""
        secrets = self.secrets()

        @self.hostile_settings
        @given(page=self.hostile_pages(), country=st.sampled_from(self.countries()))
        def check(page: tuple[bytes, int], country: str) -> None:
            body, count = page
            query = SearchQuery(country=country, number_type=self.hostile_type)
            seen: list[httpx.Request] = []
            outcome = search_outcome(self.provider(body, seen), query)

            check_no_secret(outcome, secrets)
            if not isinstance(outcome, ProviderError):
                stats = outcome.stats
                accounted = stats.offers + stats.rejected + stats.duplicates + sum(stats.excluded.values())
                assert count * self.pages_for(query) == accounted
                assert self.requests_for(query) == len(seen)

        check()

    def test_numbers_at_and_beyond_the_bounds_give_an_offer_or_a_rejection(self) -> None:
        """Numbers at or beyond the bounds in any numeric field: a sound offer, or a rejection naming a field.

        The field is one the vendor sent; the record never raises and never reaches the base class's safety net.
        """
        roots = {key for raw in self.base_records() if isinstance(raw, dict) for key in raw}

        @self.hostile_settings
        @given(record=hostile_records(self.base_records()), country=st.sampled_from(self.countries()))
        def check(record: Any, country: str) -> None:
            check_record(self.provider(b""), record, SearchQuery(country=country), roots)

        check()
