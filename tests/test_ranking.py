"""Ranking: sort keys with ties, currencies with and without rates, caps, one offer per number, top-k."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from numbroker import ConfigurationError, ExchangeRates, Money, RankedOffer, SearchQuery, SortKey
from numbroker._ranking import Ranker, SortedRuns, TopK
from numbroker.testing import offer

US = SearchQuery(country="US")
RATES = ExchangeRates.model_validate({"base": "EUR", "rates": {"USD": "1.08", "INR": "90.2"}})


def order(ranked: list[RankedOffer]) -> list[str]:
    return [f"{r.offer.provider}:{r.offer.e164}" for r in ranked]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (SortKey.MONTHLY, ["a:+14155550002", "b:+14155550003", "a:+14155550001", "c:+14155550004"]),
        (SortKey.SETUP, ["c:+14155550004", "a:+14155550001", "a:+14155550002", "b:+14155550003"]),
        (SortKey.FIRST_BILL, ["a:+14155550001", "c:+14155550004", "a:+14155550002", "b:+14155550003"]),
        (SortKey.TOTAL, ["a:+14155550002", "b:+14155550003", "a:+14155550001", "c:+14155550004"]),
    ],
)
def test_every_sort_key_orders_with_deterministic_ties(key: SortKey, expected: list[str]) -> None:
    """Each key ranks by its own value; ties break on setup, then provider, then E.164."""
    offers = [
        offer("+14155550001", provider="a", setup="0.50", monthly="2.00"),  # first bill 2.50, total 24.50
        offer("+14155550002", provider="a", setup="5.00", monthly="1.00"),  # first bill 6.00, total 17.00
        offer("+14155550003", provider="b", setup="5.00", monthly="1.00"),  # ties with ...0002 on every key
        offer("+14155550004", provider="c", setup="0.00", monthly="3.00"),  # first bill 3.00, total 36.00
    ]

    ranked = Ranker(US, key, months=12).rank(offers)

    assert expected == order(ranked)


def test_tie_on_value_breaks_on_setup_first() -> None:
    """Equal monthly prices: the cheaper setup wins before provider or number are looked at."""
    offers = [
        offer("+14155550001", provider="a", setup="9", monthly="1"),
        offer("+14155550002", provider="z", setup="1", monthly="1"),
    ]

    assert ["z:+14155550002", "a:+14155550001"] == order(Ranker(US).rank(offers))


def test_unpriced_offers_rank_last_and_are_counted() -> None:
    """Offers with no price for the key come after every priced one and are counted per provider."""
    ranker = Ranker(US, SortKey.SETUP)
    offers = [offer("+14155550001", provider="bird", setup=None), offer("+14155550002", provider="v", setup="9")]

    ranked = ranker.rank(offers)

    assert ["v:+14155550002", "bird:+14155550001"] == order(ranked)
    assert {"bird": 1} == ranker.unpriced


def test_mixed_currencies_without_rates_rank_per_currency() -> None:
    """EUR and INR are never compared raw: ranking is within each currency, and says so."""
    offers = [
        offer("+14155550001", monthly="90", currency="INR"),
        offer("+14155550002", monthly="2", currency="EUR"),
        offer("+14155550003", monthly="1", currency="EUR"),
    ]
    ranker = Ranker(US)

    ranked = ranker.rank(offers)

    assert ["+14155550003", "+14155550002", "+14155550001"] == [r.offer.e164 for r in ranked]
    assert ["EUR", "INR"] == ranker.per_currency(ranked)


def test_with_rates_prices_convert_exactly_and_keep_the_original() -> None:
    """With a target currency and rates, offers compare in it; converted amounts stay Decimal beside the original."""
    offers = [
        offer("+14155550001", monthly="90.2", setup="0", currency="INR"),  # 1.00 EUR
        offer("+14155550002", monthly="1.08", setup="0", currency="USD"),  # 1.00 EUR
        offer("+14155550003", monthly="0.99", setup="0", currency="EUR"),
    ]

    ranked = Ranker(US, currency="EUR", rates=RATES).rank(offers)

    assert "+14155550003" == ranked[0].offer.e164
    inr = next(r for r in ranked if r.offer.e164 == "+14155550001")
    assert Money(amount=Decimal("1"), currency="EUR") == inr.converted_monthly_price
    assert Money(amount=Decimal("90.2"), currency="INR") == inr.offer.monthly_price
    assert isinstance(inr.converted_monthly_price.amount, Decimal)
    assert "converted" in inr.to_json_dict()


def test_an_offer_without_a_rate_is_reported_not_guessed() -> None:
    """An offer in a currency the rates lack is left out and listed as unconverted."""
    ranker = Ranker(US, currency="EUR", rates=RATES)

    ranked = ranker.rank([offer("+14155550001", currency="GBP"), offer("+14155550002", currency="USD")])

    assert ["+14155550002"] == [r.offer.e164 for r in ranked]
    assert ["+14155550001"] == [o.e164 for o in ranker.unconverted]


def test_cross_rate_goes_through_the_base() -> None:
    """USD → INR uses 1 EUR = 1.08 USD = 90.2 INR."""
    converted = RATES.convert(Money(amount=Decimal("1.08"), currency="USD"), "INR")

    assert Money(amount=Decimal("90.2"), currency="INR") == converted


def test_price_caps_in_target_currency_and_unverifiable_caps() -> None:
    """Caps compare in the cap's currency (converting with rates); a cap that cannot be checked excludes."""
    query = SearchQuery(country="US", max_monthly_price=Money(amount=Decimal("1.00"), currency="EUR"))
    offers = [
        offer("+14155550001", monthly="1.08", currency="USD"),  # exactly 1.00 EUR: kept
        offer("+14155550002", monthly="1.09", currency="USD"),  # over
        offer("+14155550003", monthly="1", currency="GBP"),  # no rate
    ]
    with_rates = Ranker(query, rates=RATES)
    without = Ranker(query)

    assert ["+14155550001"] == [r.offer.e164 for r in with_rates.rank(offers)]
    assert {"over_monthly_cap": 1, "monthly_cap_not_comparable": 1} == with_rates.excluded
    assert [] == without.rank(offers)
    assert {"monthly_cap_not_comparable": 3} == without.excluded


def test_setup_cap_excludes_unknown_setup() -> None:
    """A missing setup price from a vendor that states them cannot be proven under a setup cap."""
    query = SearchQuery(country="US", max_setup_price=Money(amount=Decimal("1"), currency="USD"))
    ranker = Ranker(query)

    assert [] == ranker.rank([offer(setup=None)])
    assert {"setup_price_unknown": 1} == ranker.excluded


def test_a_vendor_stating_no_setup_prices_charges_none_in_caps_and_keys() -> None:
    """From a vendor that states no setup prices a missing one is zero: under a 0 cap, priced by every key."""
    query = SearchQuery(country="US", max_setup_price=Money(amount=Decimal("0"), currency="USD"))
    offers = [offer("+14155550001", provider="twilio", setup=None, monthly="1"), offer("+14155550002", setup=None)]
    ranker = Ranker(query, setup_unstated=frozenset({"twilio"}))

    assert ["+14155550001"] == [r.offer.e164 for r in ranker.rank(offers)]
    assert {"setup_price_unknown": 1} == ranker.excluded
    for sort, expected in ((SortKey.SETUP, "0"), (SortKey.FIRST_BILL, "1"), (SortKey.TOTAL, "12")):
        keyed = Ranker(SearchQuery(country="US"), sort=sort, setup_unstated=frozenset({"twilio"})).rank(offers)
        assert [Decimal(expected), None] == [r.rank_price.amount if r.rank_price else None for r in keyed]


def test_total_never_counts_fewer_months_than_the_commitment() -> None:
    """--sort total over 3 months: a 0.50 offer with a 12-month commitment costs 6, behind a 1.00 one (3)."""
    committed = offer("+14155550001", setup="0", monthly="0.50").model_copy(update={"minimum_commitment_months": 12})
    free = offer("+14155550002", setup="0", monthly="1.00")

    ranked = Ranker(SearchQuery(country="US"), sort=SortKey.TOTAL, months=3).rank([committed, free])

    assert [("+14155550002", Decimal("3.00")), ("+14155550001", Decimal("6.00"))] == [
        (r.offer.e164, r.rank_price.amount if r.rank_price else None) for r in ranked
    ]


def test_one_per_number_keeps_the_cheapest_and_lists_alternatives() -> None:
    """The same E.164 from two providers: the cheapest stays, the other becomes an alternative."""
    offers = [
        offer("+14155550001", provider="vobiz", monthly="2.00"),
        offer("+14155550001", provider="bird", monthly="1.50"),
        offer("+14155550002", provider="vobiz", monthly="1.75"),
    ]

    ranked = Ranker(US).rank(offers, one_per_number=True)

    assert ["bird:+14155550001", "vobiz:+14155550002"] == order(ranked)
    assert ["vobiz"] == [a.provider for a in ranked[0].alternatives]
    assert "alternatives" in json.dumps(ranked[0].to_json_dict())


def test_top_k_equals_the_head_of_the_full_ranking() -> None:
    """The bounded top-k keeps exactly the k best of the full ranking, ties included."""
    offers = [
        offer(f"+1415555{i:04d}", provider="ab"[i % 2], monthly=str(i % 13), setup=str(i % 3)) for i in range(300)
    ]
    ranker = Ranker(US)
    keeper = TopK(Ranker(US), 25)

    for o in offers:
        keeper.push(o)

    assert order(ranker.rank(offers)[:25]) == order(keeper.result())


def test_rates_file_loads_and_bad_files_say_why(tmp_path: Path) -> None:
    """The JSON rates file loads exactly; bad files raise ConfigurationError naming the problem."""
    good = tmp_path / "rates.json"
    good.write_text('{"base": "EUR", "rates": {"USD": "1.08", "INR": 90.2}}')
    bad = tmp_path / "bad.json"
    bad.write_text('{"base": "EUR", "rates": {"USD": "-1"}}')

    rates = ExchangeRates.from_file(good)

    assert Decimal("90.2") == rates.rates["INR"]
    with pytest.raises(ConfigurationError, match="invalid exchange rates"):
        ExchangeRates.from_file(bad)
    with pytest.raises(ConfigurationError, match="cannot read"):
        ExchangeRates.from_file(tmp_path / "missing.json")
    with pytest.raises(ValueError):
        ExchangeRates.model_validate({"base": "EUR", "rates": {"USD": 0}})


def test_top_k_keeps_an_offer_served_twice_only_once() -> None:
    """The bounded keeper drops repeats of an offer it holds (providers skip their own dedupe in top-k)."""
    keeper = TopK(Ranker(US), 3)
    for o in [
        offer("+14155550001", monthly="1"),
        offer("+14155550001", monthly="1"),
        offer("+14155550002", monthly="2"),
    ]:
        keeper.push(o)

    assert ["fake:+14155550001", "fake:+14155550002"] == order(keeper.result())


@given(
    st.lists(
        st.tuples(st.sampled_from(["EUR", "INR", "USD", "JPY"]), st.none() | st.integers(0, 50), st.booleans()),
        max_size=40,
    )
)
def test_per_currency_names_every_currency_ranked_and_only_those(specs: list[tuple[str, int | None, bool]]) -> None:
    """The currencies found by binary search over the ranking are exactly those of its priced offers."""
    offers = [
        offer(f"+1415555{i:04d}", monthly=None if amount is None else str(amount), currency=currency)
        for i, (currency, amount, _) in enumerate(specs)
    ]
    ranker = Ranker(US)
    for one_per_number in (False, True):
        ranked = ranker.rank(
            offers + [o for o, (_, _, twice) in zip(offers, specs, strict=True) if twice], one_per_number=one_per_number
        )
        expected = sorted({r.rank_price.currency for r in ranked if r.rank_price is not None})
        assert expected == ranker.per_currency(ranked)


@given(st.lists(st.lists(st.integers(0, 30), max_size=12), max_size=40))
def test_sorted_runs_merge_pages_into_the_ranking_order(pages: list[list[int]]) -> None:
    """Pages added one by one come out in the order one sort of everything gives, ties in arrival order."""
    ranker = Ranker(US)
    runs = SortedRuns()
    everything = []
    serial = 0
    for page in pages:
        offers = []
        for cents in page:
            offers.append(offer(f"+1415555{serial:04d}", monthly=f"{cents / 100:.2f}"))
            serial += 1
        prepared = ranker.prepare(offers)
        everything.extend(prepared)
        runs.add(prepared)

    assert [r for _, r in sorted(everything, key=lambda item: item[0])] == [r for _, r in runs.merged()]


def test_sorted_runs_leave_few_runs_to_merge_at_the_end() -> None:
    """Equal pages merge like a binary counter: 22 pages leave as many runs as 22 has one-bits."""
    ranker = Ranker(US)
    runs = SortedRuns()
    for page in range(22):
        runs.add(ranker.prepare([offer(f"+14155{page:02d}{i:04d}", monthly=f"{i % 7}.00") for i in range(10)]))

    assert [160, 40, 20] == [len(run) for run in runs._runs]  # 22 = 16 + 4 + 2
    assert 220 == len(runs.merged())


def test_a_ranked_offer_is_indistinguishable_from_a_constructed_one() -> None:
    """The ranking's directly built RankedOffer equals, dumps, pickles and reports fields like model_construct's."""
    import pickle

    from numbroker import RankedOffer
    from numbroker._ranking import _ranked_offer

    base = offer()
    price = Money(amount=Decimal("1.50"), currency="EUR")
    for parts in ((base, price, None, price), (base, None, None, None)):
        fast = _ranked_offer(*parts)
        constructed = RankedOffer.model_construct(
            offer=parts[0], rank_price=parts[1], converted_setup_price=parts[2], converted_monthly_price=parts[3]
        )
        assert constructed == fast
        assert repr(constructed) == repr(fast)
        assert constructed.model_dump() == fast.model_dump()
        assert constructed.to_json_dict() == fast.to_json_dict()
        assert constructed.model_fields_set == fast.model_fields_set
        assert constructed == pickle.loads(pickle.dumps(fast))
        assert RankedOffer.model_validate(fast.model_dump()) == fast


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b"]),
            st.none() | st.integers(0, 900),
            st.none() | st.integers(0, 900),
            st.sampled_from(["USD", "EUR"]),
            st.none() | st.integers(0, 36),
        ),
        max_size=30,
    ),
    st.sampled_from(list(SortKey)),
    st.integers(1, 36),
)
def test_preparing_without_caps_or_conversion_keys_counts_and_wraps_like_the_general_path(
    specs: list[tuple[str, int | None, int | None, str, int | None]], key: SortKey, months: int
) -> None:
    """The shortcut for a query with no cap and no target currency gives what price/order/ranked give."""
    offers = [
        offer(
            f"+1415555{i:04d}",
            provider=provider,
            setup=None if setup is None else f"{setup / 100:.2f}",
            monthly=None if monthly is None else f"{monthly / 100:.2f}",
            currency=currency,
        ).model_copy(update={"minimum_commitment_months": commitment})
        for i, (provider, setup, monthly, currency, commitment) in enumerate(specs)
    ]
    short = Ranker(US, key, months, setup_unstated=frozenset({"b"}))
    general = Ranker(US, key, months, setup_unstated=frozenset({"b"}))
    expected = [(general.order(p), general.ranked(p)) for p in map(general.price, offers) if p is not None]

    prepared = short.prepare(offers)

    assert sorted(expected, key=lambda item: item[0]) == prepared
    assert (general.unpriced, general.excluded) == (short.unpriced, short.excluded)
    assert [r.model_fields_set for _, r in expected] == [
        r.model_fields_set for _, r in Ranker(US, key, months)._prepare_as_stated(offers)
    ]
