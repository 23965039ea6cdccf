"""Comparing carriers: each provider's offers summarised per country and number type, with the cheapest named.

:func:`compare` searches every country (each asked number type, or all) at once through one
:class:`~numbroker.Searcher`, so the same adapters, filters and money rules apply as in a search ranked
by its ``total`` key; then it summarises the ranked offers per (country, number type, provider,
currency):

* how many offers, how many of them have no N-month total (``unpriced``: no monthly price, or a
  setup price the vendor states but left out);
* the monthly price's minimum, median (the middle value, or the exact mean of the two middle ones)
  and maximum; the minimum setup price (none charged, ``0``, from a vendor that states no setup
  prices), first bill and N-month total (never fewer months than a minimum commitment, as
  ``search --sort total`` counts it); the number with that lowest total;
* all in the offers' own currency, or converted into ``currency`` with ``rates``; offers whose
  currency has no rate are summarised apart in their own currency (a row whose ``currency`` is not
  the target), never guessed and never named cheapest.

The searches share the providers, so each vendor's rate limit (a token bucket per provider instance,
:class:`~numbroker.adapters.RateLimit`) holds across all of them: a sweep costs about what the busiest
vendor's requests cost at its own limit. Statistics are exact ``Decimal`` arithmetic; converted
amounts are shown as a search shows them (6 decimal places), sums with the places they need.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import anyio

from numbroker._exceptions import ConfigurationError
from numbroker._models import AvailableNumber, SearchQuery
from numbroker._money import Money
from numbroker._phone import validate_country
from numbroker._pricing import (
    EXACT,
    RANKING,
    ExchangeRates,
    committed_months,
    first_bill,
    shown_converted,
    shown_sum,
    total_cost,
)
from numbroker._reports import OverallStatus, ProviderReport, RankedOffer, SearchResult, overall_status
from numbroker._search import Searcher
from numbroker._types import NumberType, SortKey

__all__ = ["CheapestProvider", "CompareRow", "Comparison", "compare", "median"]


def median(values: Sequence[Decimal]) -> Decimal:
    """The middle of ``values`` once sorted, or the exact mean of the two middle ones (never rounded)."""
    if not values:
        raise ValueError("the median of no values")
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return EXACT.divide(EXACT.add(ordered[middle - 1], ordered[middle]), 2)


@dataclass(frozen=True, slots=True)
class CompareRow:
    """One provider's offers of one number type in one country, in one currency.

    Amounts are in ``currency`` (None only when no offer has any price); each is None when no offer
    has it. ``converted``: the amounts were converted into the comparison's currency (shown to 6
    decimal places). ``currency_assumed``: the vendor stated no currency (numbroker assumed one).
    ``truncated``: the provider listed only part of what it holds, so every figure is a bound.
    """

    country: str
    number_type: str
    provider: str
    currency: str | None
    offers: int
    unpriced: int
    monthly_min: Decimal | None
    monthly_median: Decimal | None
    monthly_max: Decimal | None
    setup_min: Decimal | None
    first_bill_min: Decimal | None
    total_min: Decimal | None
    cheapest_e164: str | None
    converted: bool = False
    currency_assumed: bool = False
    truncated: bool = False

    def to_json_dict(self) -> dict[str, Any]:
        """The row's JSON form: amounts as exact decimal text (converted ones to 6 places, see :meth:`shown`)."""
        return {
            "country": self.country,
            "number_type": self.number_type,
            "provider": self.provider,
            "currency": self.currency,
            "offers": self.offers,
            "unpriced": self.unpriced,
            "monthly": {
                "min": self._text(self.monthly_min),
                "median": self._text(self.monthly_median),
                "max": self._text(self.monthly_max),
            },
            "setup_min": self._text(self.setup_min),
            "first_bill_min": self._text(self.first_bill_min),
            "total_min": self._text(self.total_min),
            "cheapest_e164": self.cheapest_e164,
            "currency_assumed": self.currency_assumed,
            "truncated": self.truncated,
        }

    def shown(self, amount: Decimal | None) -> Money | None:
        """``amount`` as written out: converted to 6 places, else its exact value with at least 2 places."""
        if amount is None or self.currency is None:
            return None
        money = Money.model_construct(amount=amount, currency=self.currency)
        return shown_converted(money) if self.converted else shown_sum(money)

    def _text(self, amount: Decimal | None) -> str | None:
        money = self.shown(amount)
        return None if money is None else format(money.amount, "f")


@dataclass(frozen=True, slots=True)
class CheapestProvider:
    """The provider with the lowest N-month total for one country and number type (in one currency)."""

    country: str
    number_type: str
    provider: str
    total: Decimal
    currency: str
    converted: bool = False

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON form: ``total`` as exact decimal text (converted to 6 places)."""
        money = Money.model_construct(amount=self.total, currency=self.currency)
        shown = shown_converted(money) if self.converted else shown_sum(money)
        assert shown is not None
        return {
            "country": self.country,
            "number_type": self.number_type,
            "provider": self.provider,
            "total": format(shown.amount, "f"),
            "currency": self.currency,
        }


@dataclass(frozen=True, slots=True)
class CountryReport:
    """One provider's report of one country's search (a failing provider never hides the others)."""

    country: str
    number_type: str | None
    report: ProviderReport

    def to_json_dict(self) -> dict[str, Any]:
        """The provider report's JSON form, with the country (and number type) it searched."""
        return {"country": self.country, "number_type": self.number_type, **self.report.model_dump(mode="json")}


@dataclass(frozen=True, slots=True)
class Comparison:
    """What :func:`compare` found: the rows, the cheapest provider per country and type, and every report.

    ``offers`` keeps every ranked offer per country (each one's monthly price is what a chart of
    offers shows); ``status`` is a search's status over every country's reports.
    """

    status: OverallStatus
    currency: str | None
    months: int
    countries: tuple[str, ...]
    rows: list[CompareRow]
    cheapest: list[CheapestProvider]
    providers: list[CountryReport]
    offers: dict[str, list[RankedOffer]] = field(default_factory=dict)

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON document: ``status``, ``currency``, ``months``, ``rows``, ``cheapest`` and ``providers``."""
        return {
            "status": self.status.value,
            "currency": self.currency,
            "months": self.months,
            "rows": [row.to_json_dict() for row in self.rows],
            "cheapest": [c.to_json_dict() for c in self.cheapest],
            "providers": [p.to_json_dict() for p in self.providers],
        }


@dataclass(slots=True)
class _Priced:
    """One offer's amounts in its row's currency."""

    offer: AvailableNumber
    monthly: Money | None
    setup: Money | None
    first_bill: Money | None
    total: Money | None


async def compare(
    searcher: Searcher,
    countries: Iterable[str],
    *,
    number_types: Iterable[NumberType | str] = (),
    query: SearchQuery | None = None,
    months: int = 12,
    currency: str | None = None,
    rates: ExchangeRates | Mapping[str, Any] | None = None,
) -> Comparison:
    """Search each country (each of ``number_types``, or all) at once and summarise the offers per provider.

    Args:
        searcher: the searcher whose providers to ask (its deadline applies to each search).
        countries: ISO 3166-1 alpha-2 codes (repeats are asked once).
        number_types: the number types to search, one search each (default: one search of all types).
        query: further filters (capabilities, prefix, price caps); its country and type are replaced.
        months: the months of the N-month total (never fewer than an offer's minimum commitment).
        currency: convert every price into this currency (needs ``rates`` unless all offers use it).
        rates: exchange rates (an :class:`ExchangeRates` or its JSON form).

    Raises:
        ConfigurationError: no country, an invalid country or number type, or invalid months or rates.
    """
    try:
        codes = list(dict.fromkeys(validate_country(c) for c in countries))
    except ValueError as exc:
        raise ConfigurationError(f"countries: {exc}") from None
    if not codes:
        raise ConfigurationError("compare needs at least one country")
    try:
        types: list[NumberType | None] = list(dict.fromkeys(NumberType(t) for t in number_types)) or [None]
    except ValueError as exc:
        raise ConfigurationError(f"number_types: {exc}") from None
    base = query or SearchQuery(country=codes[0])
    exchange = ExchangeRates.model_validate(rates) if isinstance(rates, Mapping) else rates
    results: dict[tuple[str, NumberType | None], SearchResult] = {}

    async def one(country: str, number_type: NumberType | None) -> None:
        asked = base.model_copy(update={"country": country, "number_type": number_type, "limit": None})
        results[country, number_type] = await searcher.search(
            asked, sort=SortKey.TOTAL, months=months, currency=currency, rates=exchange, strict=False
        )

    async with anyio.create_task_group() as tg:
        for country in codes:
            for number_type in types:
                tg.start_soon(one, country, number_type)
    ordered = [(key, results[key]) for key in ((c, t) for c in codes for t in types)]
    return _summarise(searcher, ordered, months, currency, exchange)


def _summarise(
    searcher: Searcher,
    results: Sequence[tuple[tuple[str, NumberType | None], SearchResult]],
    months: int,
    currency: str | None,
    rates: ExchangeRates | None,
) -> Comparison:
    unstated = frozenset(p.id for p in searcher.providers if not p.states_setup_prices)
    groups: dict[tuple[str, str, str, str | None, bool], list[_Priced]] = {}
    reports: list[CountryReport] = []
    offers: dict[str, list[RankedOffer]] = {}
    truncated: set[tuple[str, str | None, str]] = set()  # (country, the type searched or None for all, provider)
    for (country, number_type), result in results:
        searched = number_type.value if number_type else None
        for report in result.providers:
            reports.append(CountryReport(country, searched, report))
            if report.truncated:
                truncated.add((country, searched, report.provider))
        offers.setdefault(country, []).extend(result.offers)
        for ranked in result.offers:
            priced = _ranked(ranked, currency, unstated)
            _add(groups, country, priced)
        for offer in result.unconverted:
            _add(groups, country, _own(offer, months, unstated), apart=True)
    rows = [
        _row(
            key,
            priced,
            converted=currency is not None and key[4] and key[3] == currency,
            truncated=bool({(key[0], None, key[2]), (key[0], key[1], key[2])} & truncated),
        )
        for key, priced in groups.items()
    ]
    order = {c: i for i, ((c, _), _) in enumerate(results)}
    rows.sort(key=lambda r: _row_order(r, order, currency))
    return Comparison(
        status=overall_status(r.report for r in reports),
        currency=currency,
        months=months,
        countries=tuple(order),
        rows=rows,
        cheapest=_cheapest(rows, currency),
        providers=reports,
        offers=offers,
    )


def _add(
    groups: dict[tuple[str, str, str, str | None, bool], list[_Priced]],
    country: str,
    priced: _Priced,
    *,
    apart: bool = False,
) -> None:
    price = priced.monthly or priced.setup
    key = (country, priced.offer.number_type.value, priced.offer.provider, price.currency if price else None, not apart)
    groups.setdefault(key, []).append(priced)


def _ranked(ranked: RankedOffer, currency: str | None, unstated: frozenset[str]) -> _Priced:
    """A ranked offer's amounts: its converted prices when converting, its N-month total its rank price."""
    offer = ranked.offer
    monthly = ranked.converted_monthly_price if currency is not None else offer.monthly_price
    setup = ranked.converted_setup_price if currency is not None else offer.setup_price
    stated = offer.provider not in unstated
    return _Priced(
        offer=offer,
        monthly=monthly,
        setup=_setup(setup, monthly, stated),
        first_bill=first_bill(setup, monthly, setup_stated=stated, context=RANKING),
        total=ranked.rank_price,
    )


def _own(offer: AvailableNumber, months: int, unstated: frozenset[str]) -> _Priced:
    """An unconverted offer's amounts in its own currency, by the ranking's rules."""
    stated = offer.provider not in unstated
    setup, monthly = offer.setup_price, offer.monthly_price
    total = total_cost(
        setup,
        monthly,
        months=committed_months(months, offer.minimum_commitment_months),
        setup_stated=stated,
        context=RANKING,
    )
    return _Priced(
        offer=offer,
        monthly=monthly,
        setup=_setup(setup, monthly, stated),
        first_bill=first_bill(setup, monthly, setup_stated=stated, context=RANKING),
        total=shown_sum(total),
    )


def _setup(setup: Money | None, monthly: Money | None, stated: bool) -> Money | None:
    """The setup price as the ``setup`` key ranks it: none charged (0) from a vendor that states none."""
    if setup is None and not stated and monthly is not None:
        return Money.model_construct(amount=Decimal("0.00"), currency=monthly.currency)
    return setup


def _amounts(prices: Iterable[Money | None], currency: str | None) -> list[Decimal]:
    return [p.amount for p in prices if p is not None and p.currency == currency]


def _row(
    key: tuple[str, str, str, str | None, bool], priced: list[_Priced], *, converted: bool, truncated: bool
) -> CompareRow:
    country, number_type, provider, currency, _ = key
    monthly = _amounts((p.monthly for p in priced), currency)
    setups = _amounts((p.setup for p in priced), currency)
    bills = _amounts((p.first_bill for p in priced), currency)
    with_total = [p for p in priced if p.total is not None and p.total.currency == currency]
    best = min(with_total, key=_cheapest_order, default=None)
    return CompareRow(
        country=country,
        number_type=number_type,
        provider=provider,
        currency=currency,
        offers=len(priced),
        unpriced=len(priced) - len(with_total),
        monthly_min=min(monthly, default=None),
        monthly_median=median(monthly) if monthly else None,
        monthly_max=max(monthly, default=None),
        setup_min=min(setups, default=None),
        first_bill_min=min(bills, default=None),
        total_min=best.total.amount if best is not None and best.total is not None else None,
        cheapest_e164=best.offer.e164 if best is not None else None,
        converted=converted,
        currency_assumed=any(p.offer.provider_details.get("currency_assumed") is True for p in priced),
        truncated=truncated,
    )


def _cheapest_order(priced: _Priced) -> tuple[Decimal, Decimal, str]:
    """As the ranking orders offers of one provider: by total, then setup (missing last), then E.164."""
    assert priced.total is not None
    setup = priced.setup.amount if priced.setup is not None else Decimal("Infinity")
    return (priced.total.amount, setup, priced.offer.e164)


def _row_order(row: CompareRow, countries: Mapping[str, int], currency: str | None) -> tuple[Any, ...]:
    """Country as asked, then type; the target currency's rows before those left unconverted; cheapest first."""
    apart = currency is not None and row.currency != currency
    total = row.total_min if row.total_min is not None else Decimal("Infinity")
    return (countries[row.country], row.number_type, apart, row.currency or "", total, row.provider)


def _cheapest(rows: Sequence[CompareRow], currency: str | None) -> list[CheapestProvider]:
    """Per (country, type), the row with the lowest total: in ``currency``, else in each currency apart."""
    best: dict[tuple[str, str, str], CompareRow] = {}
    for row in rows:
        if row.total_min is None or row.currency is None or (currency is not None and row.currency != currency):
            continue
        key = (row.country, row.number_type, row.currency)
        held = best.get(key)
        if held is None or (row.total_min, row.provider) < (held.total_min or Decimal(0), held.provider):
            best[key] = row
    return [
        CheapestProvider(r.country, r.number_type, r.provider, r.total_min, r.currency, r.converted)
        for r in best.values()
        if r.total_min is not None and r.currency is not None
    ]
