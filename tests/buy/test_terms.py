"""BuyTerms: one value for what a run may buy, checked when built, with a JSON form that reads back the same."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from numbroker import BuyTerms, ConfigurationError, Money, PurchaseError, Searcher, SearchQuery, buy_cheapest
from numbroker.sandbox import create_sandboxes, in_process_providers


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def test_terms_built_with_keywords_take_the_defaults_and_the_caps_currency() -> None:
    terms = BuyTerms(max_monthly=usd("2"), max_first_bill=usd("3.50"))

    assert "USD" == terms.currency
    assert (1, None, None, False) == (terms.quantity, terms.budget, terms.spend_limit, terms.allow_assumed_currency)
    assert (2.0, 300.0, 30.0, 300.0) == (
        terms.confirm_delay,
        terms.confirm_window,
        terms.purchase_timeout,
        terms.run_timeout,
    )
    assert timedelta(hours=24) == terms.spend_window


def test_a_spend_window_written_as_text_is_read_as_a_duration() -> None:
    text: Any = "30m"  # what the command line's --spend-window holds

    terms = BuyTerms(max_monthly=usd("2"), max_first_bill=usd("3"), spend_window=text)

    assert timedelta(minutes=30) == terms.spend_window


def test_the_json_form_keeps_exact_amounts_and_reads_back_equal() -> None:
    terms = BuyTerms(
        max_monthly=usd("2.005"),
        max_first_bill=usd("3.10"),
        quantity=3,
        budget=usd("9.999"),
        allow_assumed_currency=True,
        confirm_delay=0,
        confirm_window=60,
        purchase_timeout=12.5,
        run_timeout=600,
        spend_limit=usd("20"),
        spend_window=timedelta(days=7),
    )

    document = json.loads(json.dumps(terms.to_json_dict()))

    assert {"amount": "2.005", "currency": "USD"} == document["max_monthly"]
    assert {"amount": "9.999", "currency": "USD"} == document["budget"]
    assert 604800.0 == document["spend_window"]
    assert terms == BuyTerms.from_json_dict(document)


def test_terms_read_back_are_checked_again() -> None:
    document = BuyTerms(max_monthly=usd("2"), max_first_bill=usd("3")).to_json_dict()
    document["max_first_bill"] = {"amount": "3", "currency": "EUR"}

    with pytest.raises(ConfigurationError, match="one currency; got USD and EUR"):
        BuyTerms.from_json_dict(document)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"max_monthly": None}, PurchaseError, "both caps"),
        ({"spend_limit": "5"}, ConfigurationError, "^spend_limit must be Money"),
        ({"quantity": 0}, ConfigurationError, "^quantity must be a whole number of at least 1, got 0$"),
        ({"run_timeout": 86401}, ConfigurationError, "^run_timeout must be a finite number of seconds"),
        ({"spend_window": "soon"}, ConfigurationError, "^a duration is a number and a unit"),
    ],
)
def test_unusable_terms_cannot_be_built(changes: dict[str, Any], error: type[Exception], message: str) -> None:
    arguments: dict[str, Any] = {"max_monthly": usd("2"), "max_first_bill": usd("3"), **changes}

    with pytest.raises(error, match=message):
        BuyTerms(**arguments)


@pytest.mark.anyio
async def test_buy_cheapest_refuses_terms_that_are_not_buy_terms_before_any_request() -> None:
    boxes = create_sandboxes(["vobiz"])
    terms: Any = {"max_monthly": usd("2"), "max_first_bill": usd("3")}

    async with Searcher(in_process_providers(boxes), own_providers=True) as searcher:
        with pytest.raises(ConfigurationError, match=r"^terms must be BuyTerms"):
            await buy_cheapest(searcher, SearchQuery(country="US"), terms)

    assert [] == boxes["vobiz"].log
