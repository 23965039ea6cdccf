"""Money rules: bills with and without stated setup prices, conversion, the contexts, price caps, the Ranking."""

from __future__ import annotations

import json
from decimal import Decimal, localcontext
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from numbroker import ConfigurationError, ExchangeRates, Money, SearchQuery, SortKey
from numbroker._pricing import (
    EXACT,
    RANKING,
    convert,
    first_bill,
    first_bill_in,
    money_json,
    total_cost,
    total_cost_in,
)
from numbroker._ranking import Ranker, TopK
from numbroker.testing import offer

RATES = ExchangeRates.model_validate({"base": "EUR", "rates": {"USD": "1.08", "INR": "90.2"}})


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def test_a_missing_setup_price_is_zero_only_where_the_vendor_states_none() -> None:
    """setup_stated=False: the subscription only; setup_stated=True: unknown, so no bill."""
    assert usd("2.50") == first_bill(None, usd("2.50"), setup_stated=False)
    assert usd("30.00") == total_cost(None, usd("2.50"), months=12, setup_stated=False)
    assert first_bill(None, usd("2.50"), setup_stated=True) is None
    assert total_cost(None, usd("2.50"), months=12, setup_stated=True) is None


def test_bills_add_exactly_and_refuse_mixed_currencies_or_no_monthly() -> None:
    assert usd("3.0050") == first_bill(usd("1.00"), usd("2.0050"), setup_stated=True)
    assert usd("25.00") == total_cost(usd("1.00"), usd("2.00"), months=12, setup_stated=True)
    assert first_bill(eur("1"), usd("1"), setup_stated=True) is None
    assert first_bill(usd("1"), None, setup_stated=False) is None


def test_the_exact_context_never_rounds_and_the_ranking_context_keeps_28_digits() -> None:
    """A 34-digit converted price: EXACT keeps every digit of the sum, RANKING rounds it to 28."""
    setup = convert(usd("1.00"), "EUR", RATES)
    monthly = convert(usd("0.50"), "EUR", RATES)
    assert setup is not None and monthly is not None
    with localcontext(prec=100):
        exact_sum = setup.amount + monthly.amount
    exact = first_bill(setup, monthly, setup_stated=True)
    ranked = first_bill(setup, monthly, setup_stated=True, context=RANKING)
    assert exact is not None and ranked is not None
    assert exact_sum == exact.amount
    assert Decimal("1.388888888888888888888888889") == ranked.amount
    assert 100 == EXACT.prec


def test_the_thread_context_does_not_change_a_price() -> None:
    """The contexts are fixed: a caller's decimal settings change neither conversions nor offer totals."""
    number = offer(setup="1.23456789", monthly="2.3456789")
    before = (number.first_bill, number.total_cost(12), convert(usd("1.00"), "EUR", RATES))
    with localcontext(prec=3):
        after = (number.first_bill, number.total_cost(12), convert(usd("1.00"), "EUR", RATES))
    assert before == after


def test_convert_keeps_a_price_already_in_the_currency_and_never_guesses() -> None:
    price = usd("1.08")
    assert convert(price, "USD", None) is price
    assert eur("1") == convert(price, "EUR", RATES)
    assert convert(price, "EUR", None) is None
    assert convert(price, "GBP", RATES) is None


def test_a_bill_in_another_currency_converts_one_currencys_exact_sum_once() -> None:
    """Setup and monthly both in USD: the USD sum is converted once (one rounding, not two)."""
    once = first_bill_in(usd("1.00"), usd("0.50"), "EUR", RATES, setup_stated=True)
    assert RATES.convert(usd("1.50"), "EUR") == once
    assert once is not None and Decimal("1.388888888888888888888888888888889") == once.amount


def test_a_bill_in_another_currency_from_prices_in_two_currencies() -> None:
    """Setup in EUR, monthly in USD: each is put in EUR and the results added exactly."""
    assert eur("2.00") == first_bill_in(eur("1.00"), usd("1.08"), "EUR", RATES, setup_stated=True)
    assert eur("13.00") == total_cost_in(eur("1.00"), usd("1.08"), "EUR", RATES, months=12, setup_stated=True)
    assert first_bill_in(eur("1.00"), usd("1.08"), "EUR", None, setup_stated=True) is None
    assert first_bill_in(None, usd("1.08"), "EUR", RATES, setup_stated=True) is None
    assert eur("1") == first_bill_in(None, usd("1.08"), "EUR", RATES, setup_stated=False)


def test_money_json_is_exact_text_or_none() -> None:
    assert {"amount": "0.0050", "currency": "USD"} == money_json(usd("0.0050"))
    assert money_json(None) is None


def test_price_exclusion_names_the_first_cap_that_fails() -> None:
    """Caps compare in their own currency, converting with rates; unknown or incomparable prices fail."""
    query = SearchQuery(country="US", max_setup_price=eur("1"), max_monthly_price=eur("1"))
    assert query.price_exclusion(usd("1.08"), usd("1.08"), RATES) is None
    assert "setup_price_unknown" == query.price_exclusion(None, usd("1"), RATES)
    assert "setup_cap_not_comparable" == query.price_exclusion(usd("1"), usd("1"))
    assert "over_monthly_cap" == query.price_exclusion(eur("1"), usd("1.09"), RATES)
    assert "monthly_price_unknown" == query.price_exclusion(eur("1"), None, RATES)
    assert SearchQuery(country="US").price_exclusion(None, None) is None


def test_the_ranking_applies_the_limit_per_currency_and_carries_the_counts() -> None:
    """Two currencies without rates: the best `limit` of each, the groups named, counts copied out."""
    query = SearchQuery(country="US", limit=1, max_monthly_price=usd("5"))
    ranker = Ranker(query)
    offers = [
        offer("+14155550001", monthly="2", currency="USD"),
        offer("+14155550002", monthly="1", currency="USD"),
        offer("+14155550003", monthly="9", currency="USD"),  # over the cap
        offer("+14155550004", monthly="3", currency="EUR"),  # cap not comparable
    ]

    ranking = ranker.ranking(ranker.prepare(offers))

    assert ["+14155550002"] == [r.offer.e164 for r in ranking.offers]
    assert 1 == ranking.limit
    assert {"over_monthly_cap": 1, "monthly_cap_not_comparable": 1} == ranking.excluded
    assert [] == ranking.per_currency

    mixed = Ranker(SearchQuery(country="US", limit=1))
    ranking = mixed.ranking(mixed.prepare(offers))
    assert ["+14155550004", "+14155550002"] == [r.offer.e164 for r in ranking.offers]  # currency groups in order
    assert ["EUR", "USD"] == ranking.per_currency


def test_top_k_concludes_with_the_same_ranking_as_the_full_sort() -> None:
    offers = [offer(f"+1415555{i:04d}", monthly=str(i % 7), setup=None if i % 5 else "1") for i in range(60)]
    full = Ranker(SearchQuery(country="US", limit=10))
    keeper = TopK(Ranker(SearchQuery(country="US", limit=10)), 10)
    for o in offers:
        keeper.push(o)

    expected = full.ranking(full.prepare(offers))
    got = keeper.ranking()

    assert [r.offer.e164 for r in expected.offers] == [r.offer.e164 for r in got.offers]
    assert expected.limit == got.limit == 10


def test_a_rates_file_that_restates_its_base_at_another_rate_is_refused(tmp_path: Path) -> None:
    """base USD with "USD": "2" contradicts itself: a ConfigurationError naming the rate; "USD": "1" is fine."""
    contradictory = tmp_path / "bad.json"
    contradictory.write_text('{"base": "USD", "rates": {"USD": "2", "EUR": "0.9"}}', encoding="utf-8")
    consistent = tmp_path / "good.json"
    consistent.write_text('{"base": "USD", "rates": {"USD": "1.00", "EUR": "0.9"}}', encoding="utf-8")

    with pytest.raises(ConfigurationError, match=r"rates.USD: the base USD is 1 USD by definition.*states 2"):
        ExchangeRates.from_file(contradictory)
    assert Decimal("0.9") == ExchangeRates.from_file(consistent).rate("EUR")


def test_amounts_are_written_with_consistent_places() -> None:
    """Converted amounts always have 6 places; computed sums their own places with at least two, value unchanged."""
    from numbroker._pricing import shown_converted, shown_sum

    assert ["0.460000", "1.490400", "1.018519"] == [
        str(shown_converted(eur(a)).amount)  # type: ignore[union-attr]
        for a in ("0.46", "1.4904", "1.018518518518518518518518518518519")
    ]
    assert ["83.50", "85.17", "100.00", "0.71", "0.005", "0.00"] == [
        str(shown_sum(usd(a)).amount)  # type: ignore[union-attr]
        for a in ("83.500", "85.17000", "100", "0.71000", "0.00500", "0E-5")
    ]
    keyed = Ranker(SearchQuery(country="US"), sort=SortKey.FIRST_BILL).rank(
        [offer(setup="0.21000", monthly="0.50000"), offer("+14155550002", setup="1", monthly="99")]
    )
    assert ["0.71", "100.00"] == [str(r.rank_price.amount) for r in keyed if r.rank_price]


@given(
    amount=st.decimals(min_value=0, max_value=Decimal("1e12"), allow_nan=False, allow_infinity=False, places=None),
    currency=st.sampled_from(["USD", "EUR", "JPY", "BHD"]),
)
def test_money_json_is_what_money_serializes(amount: Decimal, currency: str) -> None:
    """The JSON form of a price is exactly pydantic's serialization of the Money (any exponent, any places)."""
    try:
        money = Money(amount=amount, currency=currency)
    except ValueError:
        return  # beyond Money's bounds: nothing to write
    assert money_json(money) == money.model_dump(mode="json")
    assert money_json(money) == json.loads(money.model_dump_json())
