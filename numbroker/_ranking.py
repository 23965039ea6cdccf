"""Ranking: price caps, conversion into a target currency, sort keys, one offer per number, a bounded top-k.

Pure, no I/O. Offers in different currencies are never compared raw. With a target currency and
user-supplied rates every price is converted (exactly, in Decimal, the original kept beside it); an
offer whose currency has no rate is reported as unconverted, never guessed. Without rates and with
mixed currencies, offers are ranked within each currency and the result says so.

The ranker hands the searcher a finished :class:`Ranking` (offers, groups, what was left out and why,
the limit applied); the searcher only assembles its result from it. The money rules it applies
(conversion, bills, the exact context) are those of :mod:`numbroker._pricing`.
"""

from __future__ import annotations

import bisect
import heapq
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from numbroker._exceptions import ConfigurationError
from numbroker._inputs import MAX_MONTHS, check_count
from numbroker._models import AvailableNumber, SearchQuery
from numbroker._money import Money, validate_currency
from numbroker._pricing import RANKING, ExchangeRates, committed_months, convert, shown_sum, total_cost
from numbroker._reports import RankedOffer
from numbroker._types import SortKey

# ExchangeRates, RankedOffer and SortKey are defined in _pricing, _reports and _types; they stay importable here.
__all__ = [
    "MAX_MONTHS",
    "PRICE_NOT_COMPUTABLE",
    "ExchangeRates",
    "RankedOffer",
    "Ranker",
    "Ranking",
    "SortKey",
    "SortedRuns",
    "TopK",
]


_INFINITY = Decimal("Infinity")
_ZERO = Decimal(0)

PRICE_NOT_COMPUTABLE = "price_not_computable"
"""The exclusion of an offer whose prices raise an ``ArithmeticError`` when converted or summed."""


@dataclass(frozen=True, slots=True)
class Ranking:
    """What the ranker made of a search's offers: everything the search result needs from it.

    Attributes:
        offers: the ranked offers, best first, with :attr:`limit` applied.
        sort: the sort key ranked by.
        months: the months of the ``total`` key.
        currency: the target currency prices were converted into, or None.
        per_currency: the currencies ranked separately (offers came in several and no target currency
            was given); empty when one currency or none was ranked.
        unconverted: offers left out because a price had no exchange rate to the target currency.
        excluded: offers left out by the price caps, by reason (and ``price_not_computable``: offers whose
            prices could not be computed with).
        unpriced: per provider, offers with no price for the sort key (ranked last).
        limit: the query's limit as applied: the best ``limit`` of each currency when several were
            ranked separately, else the best ``limit`` overall; None when there was none.
    """

    offers: list[RankedOffer] = field(default_factory=list)
    sort: SortKey = SortKey.MONTHLY
    months: int = 12
    currency: str | None = None
    per_currency: list[str] = field(default_factory=list)
    unconverted: list[AvailableNumber] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)
    unpriced: dict[str, int] = field(default_factory=dict)
    limit: int | None = None


@dataclass(slots=True)
class _Priced:
    """One offer's ranking facts."""

    offer: AvailableNumber
    setup: Money | None
    monthly: Money | None
    key: Money | None
    converted: bool


@dataclass
class Ranker:
    """Applies price caps, converts currencies and orders offers deterministically.

    Ties break on setup price, then provider id, then E.164. Offers with no price for the key rank last.

    A missing setup price means what buy-cheapest takes it to mean: none charged from a provider in
    ``setup_unstated`` (its vendor states no setup prices at all: ``Provider.states_setup_prices`` is
    False), unknown from any other (it fails a setup cap, and the ``setup``, ``first-bill`` and ``total``
    keys are missing). The ``total`` key never counts fewer months than an offer's minimum commitment.
    """

    query: SearchQuery
    sort: SortKey = SortKey.MONTHLY
    months: int = 12
    currency: str | None = None
    rates: ExchangeRates | None = None
    excluded: dict[str, int] = field(default_factory=dict)
    unconverted: list[AvailableNumber] = field(default_factory=list)
    unpriced: dict[str, int] = field(default_factory=dict)
    setup_unstated: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if isinstance(self.months, bool) or not isinstance(self.months, int) or not 1 <= self.months <= MAX_MONTHS:
            raise ConfigurationError(f"months must be a whole number from 1 to {MAX_MONTHS}, got {self.months!r}")
        if self.currency is not None:
            # Without rates, a target currency keeps only offers already in it; others are reported unconverted.
            self.currency = validate_currency(self.currency, field="currency")

    # -- per offer ---------------------------------------------------------------------------------

    def price(self, offer: AvailableNumber) -> _Priced | None:
        """The offer's prices in the ranking currency; None (and counted) when it is excluded or unconvertible.

        Every offer the ranker sees is counted here once: left out as unconverted, left out by a price cap
        (:meth:`SearchQuery.price_exclusion <numbroker.SearchQuery.price_exclusion>`), left out as
        ``price_not_computable`` when its prices raise an ``ArithmeticError`` (never the whole ranking),
        or ranked, as unpriced when it has no price for the sort key.
        """
        try:
            return self._price(offer)
        except ArithmeticError:
            self.excluded[PRICE_NOT_COMPUTABLE] = self.excluded.get(PRICE_NOT_COMPUTABLE, 0) + 1
            return None

    def _price(self, offer: AvailableNumber) -> _Priced | None:
        setup, monthly = offer.setup_price, offer.monthly_price
        converted = False
        if self.currency is not None:
            target = self.currency
            new_setup = None if setup is None else convert(setup, target, self.rates)
            new_monthly = None if monthly is None else convert(monthly, target, self.rates)
            if (setup is not None and new_setup is None) or (monthly is not None and new_monthly is None):
                self.unconverted.append(offer)
                return None
            converted = any(p is not None and p.currency != target for p in (setup, monthly))
            setup, monthly = new_setup, new_monthly
        stated = offer.provider not in self.setup_unstated
        reason = self.query.price_exclusion(setup, monthly, self.rates, setup_stated=stated)
        if reason is not None:
            self.excluded[reason] = self.excluded.get(reason, 0) + 1
            return None
        key = self._key(setup, monthly, stated, offer.minimum_commitment_months)
        if key is None:
            self.unpriced[offer.provider] = self.unpriced.get(offer.provider, 0) + 1
        return _Priced(offer, setup, monthly, key, converted)

    def _key(self, setup: Money | None, monthly: Money | None, stated: bool, commitment: int | None) -> Money | None:
        if self.sort is SortKey.MONTHLY:
            return monthly
        if self.sort is SortKey.SETUP:
            if setup is None and not stated and monthly is not None:
                return Money.model_construct(amount=Decimal("0.00"), currency=monthly.currency)
            return setup
        months = 1 if self.sort is SortKey.FIRST_BILL else committed_months(self.months, commitment)
        return shown_sum(total_cost(setup, monthly, months=months, setup_stated=stated, context=RANKING))

    @staticmethod
    def order(priced: _Priced) -> tuple[Any, ...]:
        """The deterministic sort key: priced before unpriced; by currency, value, setup, provider, E.164."""
        key = priced.key
        setup = priced.setup.amount if priced.setup is not None else _INFINITY
        if key is None:
            return (1, "", _ZERO, setup, priced.offer.provider, priced.offer.e164)
        return (0, key.currency, key.amount, setup, priced.offer.provider, priced.offer.e164)

    def ranked(self, priced: _Priced) -> RankedOffer:
        """Wrap a priced offer for the result (its parts are validated already: built without re-validation)."""
        converting = self.currency is not None
        return _ranked_offer(
            priced.offer,
            priced.key,
            priced.setup if converting else None,
            priced.monthly if converting else None,
        )

    # -- whole lists -------------------------------------------------------------------------------

    def prepare(self, offers: Iterable[AvailableNumber]) -> list[Prepared]:
        """Cap, convert and wrap ``offers``, each with its sort key; :meth:`finish` orders them.

        A search prepares each page as it arrives, so little is left to do after the last one.
        """
        query = self.query
        if self.currency is None and query.max_setup_price is None and query.max_monthly_price is None:
            out = self._prepare_as_stated(offers)
        else:
            out = []
            for offer in offers:
                priced = self.price(offer)
                if priced is not None:
                    out.append((self.order(priced), self.ranked(priced)))
        # Sorted runs: the final sort of many pages' runs merges them instead of sorting from scratch.
        out.sort(key=_first)
        return out

    def _prepare_as_stated(self, offers: Iterable[AvailableNumber]) -> list[Prepared]:
        """:meth:`prepare` with no price cap and no target currency: each offer keyed by its own prices.

        The same keys, counts and wrapping as :meth:`price`, :meth:`order` and :meth:`ranked` give (no cap
        can exclude an offer and nothing is converted), without building the intermediate facts per offer:
        a search prepares every offer it keeps. ``tests/test_ranking.py`` pins the two against each other.
        """
        out: list[Prepared] = []
        append = out.append
        unstated = self.setup_unstated
        unpriced = self.unpriced
        key_of = self._key
        for offer in offers:
            setup, provider = offer.setup_price, offer.provider
            try:
                key = key_of(setup, offer.monthly_price, provider not in unstated, offer.minimum_commitment_months)
            except ArithmeticError:
                self.excluded[PRICE_NOT_COMPUTABLE] = self.excluded.get(PRICE_NOT_COMPUTABLE, 0) + 1
                continue
            setup_amount = setup.amount if setup is not None else _INFINITY
            if key is None:
                unpriced[provider] = unpriced.get(provider, 0) + 1
                order: tuple[Any, ...] = (1, "", _ZERO, setup_amount, provider, offer.e164)
            else:
                order = (0, key.currency, key.amount, setup_amount, provider, offer.e164)
            append((order, _ranked_offer(offer, key, None, None)))
        return out

    def finish(self, prepared: Iterable[Prepared] | SortedRuns, *, one_per_number: bool = False) -> list[RankedOffer]:
        """Order prepared offers; with ``one_per_number`` keep the best per E.164, the rest as its alternatives.

        ``prepared``: what :meth:`prepare` returned, as one iterable or collected in :class:`SortedRuns`.
        """
        prepared = prepared.merged() if isinstance(prepared, SortedRuns) else sorted(prepared, key=_first)
        if not one_per_number:
            return [ranked for _, ranked in prepared]
        out: list[RankedOffer] = []
        alternatives: dict[str, list[AvailableNumber]] = {}
        for _, ranked in prepared:
            e164 = ranked.offer.e164
            if e164 in alternatives:
                alternatives[e164].append(ranked.offer)
            else:
                alternatives[e164] = []
                out.append(ranked)
        return [
            r.model_copy(update={"alternatives": tuple(alternatives[r.offer.e164])})
            if alternatives[r.offer.e164]
            else r
            for r in out
        ]

    def rank(self, offers: Iterable[AvailableNumber], *, one_per_number: bool = False) -> list[RankedOffer]:
        """Cap, convert and sort ``offers`` (no limit); with ``one_per_number`` see :meth:`finish`."""
        return self.finish(self.prepare(offers), one_per_number=one_per_number)

    def ranking(self, prepared: Iterable[Prepared] | SortedRuns, *, one_per_number: bool = False) -> Ranking:
        """Order prepared offers (see :meth:`finish`) and conclude: the :class:`Ranking` a search reports."""
        return self.conclude(self.finish(prepared, one_per_number=one_per_number))

    def conclude(self, ordered: list[RankedOffer]) -> Ranking:
        """The :class:`Ranking` of ``ordered`` (offers in ranking order): the query's limit applied, counts kept.

        Offers in different currencies are never compared: when several currencies were ranked
        separately, the limit keeps the best ``limit`` of each.
        """
        currencies = self.per_currency(ordered) if self.currency is None else []
        separate = len(currencies) > 1
        limit = self.query.limit
        offers = ordered
        if limit is not None:
            if separate:
                kept: dict[str | None, int] = {}
                offers = []
                for offer in ordered:
                    group = offer.rank_price.currency if offer.rank_price else None
                    kept[group] = kept.get(group, 0) + 1
                    if kept[group] <= limit:
                        offers.append(offer)
            else:
                offers = ordered[:limit]
        return Ranking(
            offers=offers,
            sort=self.sort,
            months=self.months,
            currency=self.currency,
            per_currency=currencies if separate else [],
            unconverted=list(self.unconverted),
            excluded=dict(self.excluded),
            unpriced=dict(self.unpriced),
            limit=limit,
        )

    def per_currency(self, ranked: Sequence[RankedOffer]) -> list[str]:
        """The currencies ranked separately (more than one means offers were not compared across them).

        ``ranked`` is in ranking order, where priced offers come grouped by currency: one binary search
        per currency finds where its group ends.
        """
        out: list[str] = []
        start = 0
        while start < len(ranked) and (price := ranked[start].rank_price) is not None:
            out.append(price.currency)
            start = bisect.bisect_right(ranked, price.currency, lo=start, key=_group)
        return out


Prepared = tuple[tuple[Any, ...], RankedOffer]
"""An offer ready for the ranking, with its sort key (see :meth:`Ranker.prepare`)."""


class SortedRuns:
    """Prepared pages kept as a few sorted runs, merged as they arrive.

    A run is merged into the one before it while that one is no longer (a binary counter), so each
    offer is merged about log2(pages) times over the search and at most that many runs are left to
    merge when the last page is in.
    """

    def __init__(self) -> None:
        self._runs: list[list[Prepared]] = []

    def add(self, run: list[Prepared]) -> None:
        """Add one sorted run (a prepared page)."""
        if not run:
            return
        self._runs.append(run)
        while len(self._runs) > 1 and len(self._runs[-2]) <= len(self._runs[-1]):
            top = self._runs.pop()
            self._runs[-1].extend(top)
            self._runs[-1].sort(key=_first)  # two sorted runs: a linear merge

    def merged(self) -> list[Prepared]:
        """Every prepared offer, in ranking order."""
        out = [item for run in self._runs for item in run]
        out.sort(key=_first)
        return out


def _group(ranked: RankedOffer) -> str:
    """The currency group an offer ranks in; unpriced offers rank after every group."""
    return ranked.rank_price.currency if ranked.rank_price is not None else "\uffff"


_first: Callable[[Prepared], tuple[Any, ...]] = operator.itemgetter(0)
"""A prepared offer's sort key (``itemgetter``: the sorts call it once per offer, in C)."""


class TopK:
    """Keeps only the ``k`` best offers (per ranking currency) in bounded memory while offers stream in."""

    def __init__(self, ranker: Ranker, k: int) -> None:
        check_count("k", k)
        self.ranker = ranker
        self.k = k
        self._heaps: dict[str, list[tuple[Any, int, _Priced]]] = {}
        self._kept: set[tuple[str, str]] = set()
        self._counter = 0

    def push(self, offer: AvailableNumber) -> None:
        """Consider one offer; memory stays O(k × currencies). An offer already kept is not kept twice."""
        identity = (offer.provider, offer.offer_id)
        if identity in self._kept:
            return
        priced = self.ranker.price(offer)
        if priced is None:
            return
        heap = self._heaps.setdefault(priced.key.currency if priced.key else "", [])
        self._counter += 1
        item = (_Reverse(self.ranker.order(priced)), self._counter, priced)
        if len(heap) < self.k:
            heapq.heappush(heap, item)
        elif item[0] > heap[0][0]:
            evicted = heapq.heapreplace(heap, item)[2].offer
            self._kept.discard((evicted.provider, evicted.offer_id))
        else:
            return
        self._kept.add(identity)

    def result(self) -> list[RankedOffer]:
        """The kept offers, best first."""
        kept = sorted((item[2] for heap in self._heaps.values() for item in heap), key=self.ranker.order)
        return [self.ranker.ranked(p) for p in kept]

    def ranking(self) -> Ranking:
        """The kept offers as the :class:`Ranking` a search reports (see :meth:`Ranker.conclude`)."""
        return self.ranker.conclude(self.result())


class _Reverse:
    """Inverts ordering so a min-heap keeps the k smallest keys (its root is the worst kept)."""

    __slots__ = ("key",)

    def __init__(self, key: tuple[Any, ...]) -> None:
        self.key = key

    def __lt__(self, other: _Reverse) -> bool:
        return self.key > other.key

    def __gt__(self, other: _Reverse) -> bool:
        return self.key < other.key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reverse) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)


_RANKED_FIELDS_SET = frozenset({"offer", "rank_price", "converted_setup_price", "converted_monthly_price"})


def _ranked_offer(
    offer: AvailableNumber,
    rank_price: Money | None,
    setup: Money | None,
    monthly: Money | None,
    _new: Any = object.__new__,
    _set: Any = object.__setattr__,
) -> RankedOffer:
    """``RankedOffer.model_construct(offer=…, rank_price=…, converted_…=…)``, built directly.

    A search wraps every offer it keeps; pydantic's generic ``model_construct`` costs more than filling the
    same instance state. ``tests/test_ranking.py`` pins that the two are indistinguishable.
    """
    ranked: RankedOffer = _new(RankedOffer)
    _set(
        ranked,
        "__dict__",
        {
            "offer": offer,
            "rank_price": rank_price,
            "converted_setup_price": setup,
            "converted_monthly_price": monthly,
            "alternatives": (),
        },
    )
    _set(ranked, "__pydantic_fields_set__", set(_RANKED_FIELDS_SET))
    _set(ranked, "__pydantic_extra__", None)
    _set(ranked, "__pydantic_private__", None)
    return ranked
