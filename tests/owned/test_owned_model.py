"""The owned-number model: canonical numbers, prices and renewals with their sources, whose numbers to list."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from numbroker import (
    AfterPurchase,
    Money,
    NumberType,
    OwnedNumber,
    OwnedQuery,
    OwnedStatus,
    OwnedView,
    PriceSource,
    ReleaseMode,
    RenewalSource,
)
from numbroker.adapters import FieldError, make_owned


def owned(**fields: object) -> OwnedNumber:
    base: dict[str, object] = {
        "provider": "vobiz",
        "provider_number_id": None,
        "number": "+1 415 555 2671",
        "country": "us",
        "status": OwnedStatus.ACTIVE,
    }
    return make_owned(**(base | fields))  # type: ignore[arg-type]


def test_make_owned_is_canonical_and_marks_vendor_sources() -> None:
    number = owned(monthly_price=Money(amount=Decimal("1.50"), currency="USD"), next_renewal=date(2027, 1, 5))
    assert (number.e164, number.country, number.provider_number_id) == ("+14155552671", "US", "+14155552671")
    assert (number.price_source, number.renewal_source) == (PriceSource.VENDOR, RenewalSource.VENDOR)
    assert number.provider_details == {"number_type_inferred": True}
    derived = owned(next_renewal=date(2027, 1, 5), renewal_source=RenewalSource.DERIVED, number_type=NumberType.LOCAL)
    assert derived.renewal_source is RenewalSource.DERIVED
    assert "number_type_inferred" not in derived.provider_details


def test_unknown_price_and_renewal_have_no_source() -> None:
    number = owned()
    assert (number.monthly_price, number.price_source, number.next_renewal, number.renewal_source) == (
        None,
        None,
        None,
        None,
    )
    priced = number.with_price(Money(amount=Decimal("2"), currency="EUR"), PriceSource.LEDGER)
    assert (priced.monthly_price, priced.price_source) == (Money(amount=Decimal("2"), currency="EUR"), "ledger")


@pytest.mark.parametrize(
    "fields",
    [
        {"monthly_price": {"amount": "1", "currency": "USD"}},
        {"price_source": "vendor"},
        {"next_renewal": "2027-01-01"},
        {"renewal_source": "derived"},
    ],
)
def test_a_value_without_its_source_or_a_source_without_a_value_is_refused(fields: dict[str, object]) -> None:
    data = {
        "provider": "vobiz",
        "provider_number_id": "x",
        "e164": "+14155552671",
        "country": "US",
        "status": "active",
    }
    with pytest.raises(ValidationError, match="together"):
        OwnedNumber.model_validate(data | fields)


def test_validation_from_json_parses_and_checks_the_number() -> None:
    data = {"provider": "telnyx", "provider_number_id": "1", "e164": "4155552671", "country": "US", "status": "active"}
    assert OwnedNumber.model_validate(data).e164 == "+14155552671"
    with pytest.raises(FieldError):
        make_owned(provider="telnyx", provider_number_id="1", number="+4930123456", country="US", status="active")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        OwnedNumber.model_validate(data | {"status": "sleeping"})


def test_renews_within_counts_days_from_today_and_overdue_renewals() -> None:
    number = owned(next_renewal=date(2026, 12, 20))
    assert number.renews_within(14, date(2026, 12, 7))
    assert not number.renews_within(12, date(2026, 12, 7))
    assert number.renews_within(0, date(2026, 12, 25))  # overdue: flagged
    assert not owned().renews_within(10_000, date(2026, 12, 7))


def test_owned_query_takes_a_customer_only_with_the_customer_view() -> None:
    assert OwnedQuery().view is OwnedView.ACCOUNT
    assert OwnedQuery(view=OwnedView.CUSTOMER, customer="MA_X-1").customer == "MA_X-1"
    for bad in ({"view": "customer"}, {"view": "partner", "customer": "MA_X"}, {"view": "customer", "customer": "a/b"}):
        with pytest.raises(ValidationError):
            OwnedQuery.model_validate(bad)


def test_after_purchase_declaration_as_json() -> None:
    declared = AfterPurchase(
        can_list=True,
        can_get=False,
        release=ReleaseMode.UNSUPPORTED,
        states_prices=False,
        states_renewals=False,
        sub_accounts="project-scoped keys",
    )
    assert declared.as_dict() == {
        "can_list": True,
        "can_get": False,
        "release": "unsupported",
        "states_prices": False,
        "states_renewals": False,
        "sub_accounts": "project-scoped keys",
        "partner_views": False,
        "undo_window_hours": None,
        "release_fee": False,
    }
