"""Ranking: exchange rates, price caps, sort keys, de-duplication and a bounded top-k. Pure, no I/O.

Offers in different currencies are never compared raw. With a target currency and user-supplied
rates every price is converted (exactly, in Decimal, the original kept beside it); an offer whose
currency has no rate is reported as unconverted, never guessed. Without rates and with mixed
currencies, offers are ranked within each currency and the result says so.
"""

from __future__ import annotations

import bisect
import heapq
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from numbroker._exceptions import ConfigurationError
from numbroker._models import AvailableNumber, SearchQuery, sum_prices
from numbroker._money import FieldError, Money, decimal_from_json_number, decimal_from_string, validate_currency

__all__ = ["ExchangeRates", "RankedOffer", "Ranker", "SortKey", "TopK"]

_DIVISION = Context(prec=34)
"""Conversion divides by a rate: 34 significant digits (IEEE decimal128), far beyond any price's precision."""


class SortKey(StrEnum):
    """What offers are ranked by.

    ``monthly``: the monthly price (default). ``setup``: the setup price. ``first-bill``: what buying
    costs today (setup + first month). ``total``: setup + N × monthly over ``months``.
    """

    MONTHLY = "monthly"
    SETUP = "setup"
    FIRST_BILL = "first-bill"
    TOTAL = "total"


class ExchangeRates(BaseModel):
    """User-supplied exchange rates: 1 unit of ``base`` = ``rates[X]`` units of X.

    The JSON file form is ``{"base": "EUR", "rates": {"USD": "1.08", "INR": "90.2"}}``; rates may be
    strings or JSON numbers, and are kept as exact Decimals.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base: str
    rates: dict[str, Decimal]

    @field_validator("base", mode="before")
    @classmethod
    def _check_base(cls, value: object) -> str:
        return validate_currency(value, field="base")

    @field_validator("rates", mode="before")
    @classmethod
    def _check_rates(cls, value: object) -> dict[str, Decimal]:
        if not isinstance(value, Mapping):
            raise ValueError("rates must be an object of currency code → rate")
        out: dict[str, Decimal] = {}
        for code, rate in value.items():
            currency = validate_currency(code, field=f"rates.{code}")
            amount = decimal_from_string(rate) if isinstance(rate, str) else decimal_from_json_number(rate)
            if amount == 0:
                raise FieldError(f"rate for {currency} must be positive", field=f"rates.{code}", value=rate)
            out[currency] = amount
        return out

    @classmethod
    def from_file(cls, path: str | Path) -> ExchangeRates:
        """Load a rates file; raise :class:`ConfigurationError` saying what is wrong with it."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"), parse_float=Decimal)
            return cls.model_validate(data)
        except OSError as exc:
            raise ConfigurationError(f"cannot read exchange rates file {str(path)!r}: {exc.strerror}") from None
        except ValueError as exc:
            raise ConfigurationError(f"invalid exchange rates file {str(path)!r}: {exc}") from None

    def rate(self, currency: str) -> Decimal | None:
        """Units of ``currency`` per 1 unit of the base, or None if unknown."""
        return Decimal(1) if currency == self.base else self.rates.get(currency)

    def convert(self, money: Money, to: str) -> Money | None:
        """Convert ``money`` into currency ``to``; None when either rate is missing."""
        if money.currency == to:
            return money
        source, target = self.rate(money.currency), self.rate(to)
        if source is None or target is None:
            return None
        amount = _DIVISION.divide(money.amount * target, source)
        return Money.model_construct(amount=amount, currency=to)


class RankedOffer(BaseModel):
    """An offer in the ranking, with the prices it was ranked by.

    Attributes:
        offer: the offer as the vendor priced it (original currency untouched).
        rank_price: the value ranked by (in ``converted``'s currency when converting), or None if unpriced.
        converted_setup_price: setup price in the target currency, when a target currency was asked for.
        converted_monthly_price: monthly price in the target currency, likewise.
        alternatives: with de-duplication, the same E.164 offered by other providers (dearer or not comparable).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    offer: AvailableNumber
    rank_price: Money | None = None
    converted_setup_price: Money | None = None
    converted_monthly_price: Money | None = None
    alternatives: tuple[AvailableNumber, ...] = ()

    def to_json_dict(self, *, compact: bool = False) -> dict[str, Any]:
        """The offer's contract fields, with ranking and converted prices beside them."""
        data: dict[str, Any] = self.offer.model_dump(mode="json", exclude={"provider_details"} if compact else None)
        data["rank_price"] = self.rank_price.model_dump(mode="json") if self.rank_price else None
        if self.converted_setup_price is not None or self.converted_monthly_price is not None:
            data["converted"] = {
                "setup_price": _dump(self.converted_setup_price),
                "monthly_price": _dump(self.converted_monthly_price),
            }
        if self.alternatives:
            data["alternatives"] = [
                a.model_dump(mode="json", exclude={"provider_details"} if compact else None) for a in self.alternatives
            ]
        return data


def _dump(money: Money | None) -> dict[str, Any] | None:
    return None if money is None else money.model_dump(mode="json")


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
    """

    query: SearchQuery
    sort: SortKey = SortKey.MONTHLY
    months: int = 12
    currency: str | None = None
    rates: ExchangeRates | None = None
    excluded: dict[str, int] = field(default_factory=dict)
    unconverted: list[AvailableNumber] = field(default_factory=list)
    unpriced: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.months < 1:
            raise ConfigurationError("months must be at least 1")
        if self.currency is not None:
            # Without rates, a target currency keeps only offers already in it; others are reported unconverted.
            self.currency = validate_currency(self.currency, field="currency")

    # -- per offer ---------------------------------------------------------------------------------

    def price(self, offer: AvailableNumber) -> _Priced | None:
        """The offer's prices in the ranking currency; None (and counted) when it is excluded or unconvertible."""
        setup, monthly = offer.setup_price, offer.monthly_price
        converted = False
        if self.currency is not None:
            target = self.currency
            new_setup = self._convert(setup, target)
            new_monthly = self._convert(monthly, target)
            if (setup is not None and new_setup is None) or (monthly is not None and new_monthly is None):
                self.unconverted.append(offer)
                return None
            converted = any(p is not None and p.currency != target for p in (setup, monthly))
            setup, monthly = new_setup, new_monthly
        reason = self._cap_exclusion(setup, monthly)
        if reason is not None:
            self.excluded[reason] = self.excluded.get(reason, 0) + 1
            return None
        key = self._key(setup, monthly)
        if key is None:
            self.unpriced[offer.provider] = self.unpriced.get(offer.provider, 0) + 1
        return _Priced(offer, setup, monthly, key, converted)

    def _convert(self, money: Money | None, target: str) -> Money | None:
        if money is None or money.currency == target:
            return money
        return self.rates.convert(money, target) if self.rates is not None else None

    def _cap_exclusion(self, setup: Money | None, monthly: Money | None) -> str | None:
        for name, price, cap in (
            ("setup", setup, self.query.max_setup_price),
            ("monthly", monthly, self.query.max_monthly_price),
        ):
            if cap is None:
                continue
            if price is None:
                return f"{name}_price_unknown"
            comparable = price if price.currency == cap.currency else None
            if comparable is None and self.rates is not None:
                comparable = self.rates.convert(price, cap.currency)
            if comparable is None:
                return f"{name}_cap_not_comparable"
            if comparable.amount > cap.amount:
                return f"over_{name}_cap"
        return None

    def _key(self, setup: Money | None, monthly: Money | None) -> Money | None:
        if self.sort is SortKey.MONTHLY:
            return monthly
        if self.sort is SortKey.SETUP:
            return setup
        return sum_prices(setup, monthly, months=1 if self.sort is SortKey.FIRST_BILL else self.months)

    @staticmethod
    def order(priced: _Priced) -> tuple[Any, ...]:
        """The deterministic sort key: priced before unpriced; by currency, value, setup, provider, E.164."""
        key = priced.key
        setup = priced.setup.amount if priced.setup is not None else Decimal("Infinity")
        if key is None:
            return (1, "", Decimal(0), setup, priced.offer.provider, priced.offer.e164)
        return (0, key.currency, key.amount, setup, priced.offer.provider, priced.offer.e164)

    def ranked(self, priced: _Priced) -> RankedOffer:
        """Wrap a priced offer for the result (its parts are validated already: built without re-validation)."""
        converting = self.currency is not None
        return RankedOffer.model_construct(
            offer=priced.offer,
            rank_price=priced.key,
            converted_setup_price=priced.setup if converting else None,
            converted_monthly_price=priced.monthly if converting else None,
        )

    # -- whole lists -------------------------------------------------------------------------------

    def prepare(self, offers: Iterable[AvailableNumber]) -> list[Prepared]:
        """Cap, convert and wrap ``offers``, each with its sort key; :meth:`finish` orders them.

        A search prepares each page as it arrives, so little is left to do after the last one.
        """
        out = []
        for offer in offers:
            priced = self.price(offer)
            if priced is not None:
                out.append((self.order(priced), self.ranked(priced)))
        # Sorted runs: the final sort of many pages' runs merges them instead of sorting from scratch.
        out.sort(key=_first)
        return out

    def finish(self, prepared: Iterable[Prepared] | SortedRuns, *, dedupe: bool = False) -> list[RankedOffer]:
        """Order prepared offers; with ``dedupe`` keep the best per E.164, the rest as its alternatives.

        ``prepared``: what :meth:`prepare` returned, as one iterable or collected in :class:`SortedRuns`.
        """
        prepared = prepared.merged() if isinstance(prepared, SortedRuns) else sorted(prepared, key=_first)
        if not dedupe:
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

    def rank(self, offers: Iterable[AvailableNumber], *, dedupe: bool = False) -> list[RankedOffer]:
        """Cap, convert and sort ``offers``; with ``dedupe`` keep the best per E.164 with the rest as alternatives."""
        return self.finish(self.prepare(offers), dedupe=dedupe)

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


def _first(item: Prepared) -> tuple[Any, ...]:
    return item[0]


class TopK:
    """Keeps only the ``k`` best offers (per ranking currency) in bounded memory while offers stream in."""

    def __init__(self, ranker: Ranker, k: int) -> None:
        if k < 1:
            raise ConfigurationError("k must be at least 1")
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
