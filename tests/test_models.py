"""The normalized offer, the query and the rejected-record value."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from numbroker import (
    AvailableNumber,
    Capability,
    ConfigurationError,
    Money,
    NumberType,
    NumbrokerError,
    RejectedRecord,
    SearchQuery,
)
from numbroker.adapters import FieldError, make_offer
from numbroker.testing import offer

CONTRACT_FIELDS = [
    "provider",
    "offer_id",
    "e164",
    "country",
    "region",
    "number_type",
    "capabilities",
    "setup_price",
    "monthly_price",
    "minimum_commitment_months",
    "provider_details",
]


def test_offer_json_field_names_are_the_contract() -> None:
    """Scripts parse these exact names, in this order, with amounts as strings."""
    number = offer("+14155552671", monthly="1.50", setup="0", currency="EUR", region="CA")

    data = json.loads(number.model_dump_json())

    assert CONTRACT_FIELDS == list(data)
    assert {"amount": "1.50", "currency": "EUR"} == data["monthly_price"]
    assert ["sms", "voice"] == data["capabilities"]
    assert "local" == data["number_type"]


def test_unknown_capabilities_are_null_not_empty() -> None:
    """A vendor that does not say gives null; a vendor that says 'none' gives []."""
    unknown = offer(capabilities=None)
    none = offer(capabilities=[])

    assert None is json.loads(unknown.model_dump_json())["capabilities"]
    assert [] == json.loads(none.model_dump_json())["capabilities"]


def test_capabilities_are_sorted_and_unique() -> None:
    """Capabilities come out sorted and de-duplicated whatever the vendor's order."""
    number = offer(capabilities=["voice", "mms", "sms", "voice"])

    assert (Capability.MMS, Capability.SMS, Capability.VOICE) == number.capabilities


def test_missing_prices_are_null() -> None:
    """A vendor that gives no setup price yields null, not zero."""
    number = offer(setup=None)

    assert number.setup_price is None
    assert None is json.loads(number.model_dump_json())["setup_price"]


def test_offer_round_trips_through_json() -> None:
    """An offer dumped to JSON validates back to an equal offer."""
    number = offer("+442079460958", currency="GBP", provider_details={"backOrderRequired": False})

    assert number == AvailableNumber.model_validate_json(number.model_dump_json())


def test_direct_construction_validates_the_number() -> None:
    """Constructing an offer directly still runs phonenumbers: no invalid number can be represented."""
    base = {"provider": "x", "offer_id": "1", "country": "US"}
    with pytest.raises(ValidationError, match="not a valid US number"):
        AvailableNumber.model_validate({**base, "e164": "+15551234567"})
    with pytest.raises(ValidationError, match="belongs to CA"):
        AvailableNumber.model_validate({**base, "e164": "+14165550123"})

    ok = AvailableNumber.model_validate({**base, "e164": "4155552671"})

    assert "+14155552671" == ok.e164


def test_make_offer_infers_type_and_marks_it() -> None:
    """Without a vendor type, the numbering plan decides and provider_details says it was inferred."""
    number = make_offer(provider="vobiz", offer_id="a", number="+447400123456", country="gb")

    assert NumberType.MOBILE == number.number_type
    assert number.provider_details["number_type_inferred"] is True
    assert "GB" == number.country


def test_make_offer_reports_the_field_at_fault() -> None:
    """A bad number or country raises FieldError naming the field."""
    with pytest.raises(FieldError) as info:
        make_offer(provider="vobiz", offer_id="a", number="+15551234567", country="US")
    assert "e164" == info.value.field
    with pytest.raises(FieldError) as info:
        make_offer(provider="vobiz", offer_id="a", number="+14155552671", country="USA")
    assert "country" == info.value.field


def test_offer_is_frozen_and_forbids_extra_fields() -> None:
    """Offers are immutable and reject unknown fields."""
    number = offer()
    with pytest.raises(ValidationError):
        number.e164 = "+14155552672"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        AvailableNumber.model_validate({**number.model_dump(), "price": "1"})


@pytest.mark.parametrize("provider_id", ["Vobiz", "vo biz", "", "1abc", "a" * 41])
def test_provider_id_shape(provider_id: str) -> None:
    """Provider ids are short lowercase identifiers (they are env-var prefixes and JSON values)."""
    with pytest.raises(ValidationError):
        offer(provider=provider_id)


def test_first_bill_and_total_cost() -> None:
    """First bill is setup + one month; total over N months is setup + N × monthly."""
    number = offer(setup="5.00", monthly="1.25", currency="EUR")

    assert Money(amount=Decimal("6.25"), currency="EUR") == number.first_bill
    assert Money(amount=Decimal("20.00"), currency="EUR") == number.total_cost(12)
    assert Money(amount=Decimal("1.25"), currency="EUR") == offer(setup=None, monthly="1.25", currency="EUR").first_bill
    assert offer(monthly=None).first_bill is None


def test_query_validates_fast_with_clear_messages() -> None:
    """Invalid queries fail at construction with numbroker's ConfigurationError (a ValueError) saying what to fix."""
    with pytest.raises(ConfigurationError, match="country"):
        SearchQuery(country="XX")
    with pytest.raises(ConfigurationError, match="1 to 15 digits"):
        SearchQuery(country="US", prefix="+1212")
    with pytest.raises(ConfigurationError, match="unknown"):
        SearchQuery(country="US", number_type=NumberType.UNKNOWN)
    with pytest.raises(ConfigurationError, match="limit"):
        SearchQuery(country="US", limit=0)
    with pytest.raises(ConfigurationError, match="capabilities"):
        SearchQuery(country="US", capabilities=("telepathy",))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "make", [lambda: SearchQuery(country="UK"), lambda: SearchQuery.model_validate({"country": "uk"})]
)
def test_a_query_mistake_is_one_kind_of_error_with_the_hint(make: Any) -> None:
    """SearchQuery(country='UK') raises ConfigurationError (a NumbrokerError and a ValueError) with the hint."""
    with pytest.raises(ConfigurationError) as caught:
        make()

    assert isinstance(caught.value, NumbrokerError) and isinstance(caught.value, ValueError)
    assert "invalid search: country: unknown ISO 3166-1 alpha-2 country code: " in str(caught.value)
    assert str(caught.value).endswith("(did you mean GB?)")


def test_a_country_without_a_numbering_plan_is_not_called_unknown() -> None:
    """AQ is a valid ISO code: the error says it has no numbering plan, not that the code is unknown."""
    with pytest.raises(ConfigurationError, match="AQ is an ISO 3166-1 country code with no numbering plan"):
        SearchQuery(country="aq")

    query = SearchQuery(country="gb", prefix="20", capabilities=(Capability.VOICE,))

    assert "+4420" == query.e164_prefix


def test_query_exclusion_reasons() -> None:
    """Each number filter excludes with its own reason; unknown capabilities/types are told apart."""
    query = SearchQuery(country="US", capabilities=(Capability.SMS,), prefix="415", number_type=NumberType.LOCAL)

    assert query.exclusion(offer("+14155552671")) is None
    assert "capabilities_unknown" == query.exclusion(offer("+14155552671", capabilities=None))
    assert "capabilities" == query.exclusion(offer("+14155552671", capabilities=["voice"]))
    assert "prefix" == query.exclusion(offer("+12125552671"))
    assert "number_type" == query.exclusion(offer("+14155552671", number_type=NumberType.MOBILE))
    assert "number_type_unknown" == query.exclusion(offer("+14155552671", number_type=NumberType.UNKNOWN))
    assert "country" == query.exclusion(offer("+442079460958"))
    assert "contains" == SearchQuery(country="US", contains="999").exclusion(offer("+14155552671"))


def test_rejected_record_bounds_the_value() -> None:
    """A rejected record keeps a bounded repr of the value at fault."""
    record = RejectedRecord.from_value(provider="bird", offer_id="x", field="monthlyPrice", value="9" * 500, reason="r")

    assert record.value is not None and len(record.value) <= 200
    assert "monthlyPrice" == record.field


def test_a_minimum_commitment_is_counted_in_totals_and_the_committed_cost() -> None:
    """A 12-month commitment: a 3-month total counts 12 months; the committed cost is setup + 12 months."""
    committed = make_offer(
        provider="vobiz",
        offer_id="v1",
        number="+13059693060",
        country="US",
        setup_price=Money(amount=Decimal("1"), currency="USD"),
        monthly_price=Money(amount=Decimal("0.5"), currency="USD"),
        minimum_commitment_months=12,
    )
    free = committed.model_copy(update={"minimum_commitment_months": None})

    assert (Decimal("7.0"), Decimal("7.0"), Decimal("13.0")) == tuple(
        m.amount if m else None for m in (committed.total_cost(3), committed.committed_cost(), committed.total_cost(24))
    )
    assert (Decimal("2.5"), Decimal("1.5")) == (free.total_cost(3).amount, free.committed_cost().amount)  # type: ignore[union-attr]
    assert 12 == json.loads(committed.model_dump_json())["minimum_commitment_months"]
    with pytest.raises(ValidationError):
        AvailableNumber.model_validate({**committed.model_dump(), "minimum_commitment_months": -1})


def test_a_north_american_geographic_number_is_local_and_marked_as_the_plan_cannot_tell() -> None:
    """+1 geographic numbers are fixed or mobile by the plan: typed local, marked; GB mobiles stay mobile."""
    us = make_offer(provider="vobiz", offer_id=None, number="+13059693060", country="US")
    toll_free = make_offer(provider="vobiz", offer_id=None, number="+18005550199", country="US")
    gb = make_offer(provider="vobiz", offer_id=None, number="+447836859090", country="GB")

    assert (NumberType.LOCAL, True) == (us.number_type, us.provider_details["number_type_fixed_or_mobile"])
    assert (NumberType.TOLL_FREE, False) == (
        toll_free.number_type,
        toll_free.provider_details.get("number_type_fixed_or_mobile", False),
    )
    assert (NumberType.MOBILE, False) == (gb.number_type, gb.provider_details.get("number_type_fixed_or_mobile", False))


def _validated(**fields: Any) -> AvailableNumber:
    """The offer ``make_offer`` builds, through pydantic's validation alone (the number already parsed)."""
    from numbroker._models import _PREVALIDATED

    return AvailableNumber.model_validate(fields, context=_PREVALIDATED)


def test_a_normalized_offer_is_indistinguishable_from_a_validated_one() -> None:
    """make_offer's fast-built offer equals, hashes, prints, dumps and pickles like a validated one."""
    import pickle

    fields: dict[str, Any] = {
        "provider": "vobiz",
        "offer_id": "inv-1",
        "e164": "+447400123456",
        "country": "GB",
        "region": "London",
        "number_type": NumberType.MOBILE,
        "capabilities": [Capability.SMS, Capability.VOICE, Capability.SMS],
        "setup_price": Money(amount=Decimal("1.50"), currency="GBP"),
        "monthly_price": Money(amount=Decimal("0.75"), currency="GBP"),
        "minimum_commitment_months": 12,
        "provider_details": {"status": "active", "back_order": False, "rank": 3, "note": None},
    }
    fast = make_offer(
        provider="vobiz",
        offer_id="inv-1",
        number="+447400123456",
        country="GB",
        region="London",
        number_type=NumberType.MOBILE,
        capabilities=fields["capabilities"],
        setup_price=fields["setup_price"],
        monthly_price=fields["monthly_price"],
        minimum_commitment_months=12,
        provider_details=fields["provider_details"],
    )
    validated = _validated(**fields)

    assert validated == fast
    assert hash(validated.model_dump_json()) == hash(fast.model_dump_json())
    assert repr(validated) == repr(fast)
    assert validated.model_dump() == fast.model_dump()
    assert validated.model_dump_json() == fast.model_dump_json()
    assert validated == pickle.loads(pickle.dumps(fast))
    assert validated.model_fields_set == fast.model_fields_set
    assert AvailableNumber.model_validate(fast.model_dump()) == fast
    assert fast.provider_details is not fields["provider_details"]  # the offer owns its details
    nested: list[Any] = ["x"]
    owner = make_offer(
        provider="vobiz", offer_id="a", number="+447400123456", country="GB", provider_details={"n": nested}
    )
    assert owner.provider_details["n"] == nested
    assert owner.provider_details["n"] is not nested
    with pytest.raises(ValidationError):
        fast.region = "Leeds"  # type: ignore[misc]


_ODD_FIELDS: list[tuple[str, Any]] = [
    *(("offer_id", v) for v in ["a", "", "x" * 200, "x" * 201, 7, None]),
    *(("region", v) for v in [None, "", "CA", 5, b"CA"]),
    *(("number_type", v) for v in [None, *NumberType, "local", "bogus"]),
    *(("capabilities", v) for v in [None, (), [], ["sms"], ["fax", "voice", "fax"], ["bogus"], "sms", 3, {"sms": 1}]),
    *(("setup_price", v) for v in [None, Money(amount=Decimal("1"), currency="USD"), Decimal("1"), "1", {"a": "1"}]),
    *(("minimum_commitment_months", v) for v in [None, 0, 12, 1200, 1201, -1, True, 1.0, "12"]),
    *(
        ("provider_details", v)
        for v in [
            {},
            {"a": "b"},
            {"a": True, "b": 3, "c": None},
            {"a": 1.5},
            {"a": [1, "x"]},
            {"a": {"b": 1}},
            {"a": {"b": [1.5]}},
            {"a": [[[[1]]]]},
            {1: "x"},
            {"a": {2: 1}},
        ]
    ),
    *(("provider", v) for v in ["vobiz", "plug_in9", "Vobiz", "", "a" * 41, 3]),
]


def _offer_or_error(make: Any) -> AvailableNumber | str:
    try:
        made: AvailableNumber = make()
    except ValidationError as exc:
        return str([error["loc"] for error in exc.errors(include_url=False)])
    return made


def _assert_made_as_validated(given: dict[str, Any]) -> None:
    """make_offer of a valid GB mobile number with ``given`` gives what pydantic's validation of the same fields
    gives: an equal offer with the same JSON, fields set and details (its own copy of them), or the same refusal."""
    number_type, details = given["number_type"], given["provider_details"]
    fields: dict[str, Any] = {
        **given,
        "offer_id": "+447400123456" if given["offer_id"] is None else given["offer_id"],
        "e164": "+447400123456",
        "country": "GB",
        "monthly_price": None,
        "number_type": NumberType.MOBILE if number_type is None else number_type,
        "provider_details": {**details, "number_type_inferred": True} if number_type is None else dict(details),
    }
    expected = _offer_or_error(lambda: _validated(**fields))
    made = _offer_or_error(lambda: make_offer(number="+447400123456", country="GB", **given))

    if isinstance(expected, AvailableNumber):
        assert isinstance(made, AvailableNumber)
        assert expected.model_dump_json() == made.model_dump_json()
        assert expected == made
        assert expected.provider_details == made.provider_details
        assert expected.model_fields_set == made.model_fields_set
        assert made.provider_details is not details
    else:
        assert expected == made


@pytest.mark.parametrize(("name", "value"), _ODD_FIELDS)
def test_make_offer_accepts_and_refuses_exactly_what_validation_does(name: str, value: Any) -> None:
    """Whatever the adapter hands make_offer, the offer (or the refusal) is the one pydantic's validation gives."""
    given = {
        "provider": "vobiz",
        "offer_id": "a",
        "region": None,
        "number_type": NumberType.MOBILE,
        "capabilities": None,
        "setup_price": None,
        "minimum_commitment_months": None,
        "provider_details": {},
        name: value,
    }
    _assert_made_as_validated(given)


def _details(leaves: st.SearchStrategy[Any], keys: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[Any, Any]]:
    """Offer details: ``leaves`` in lists and dicts (keys from ``keys``), nested a few levels at most."""
    values = st.recursive(
        leaves,
        lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)),
        max_leaves=12,
    )
    return st.dictionaries(keys, values, max_size=4)


_PLAIN_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=4))
_ODD_LEAVES = st.one_of(_PLAIN_LEAVES, st.floats(allow_nan=False), st.binary(max_size=2))

_GOOD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "provider": st.sampled_from(["vobiz", "plug_in9", "a" * 40]),
    "offer_id": st.one_of(st.none(), st.text(min_size=1, max_size=200)),
    "region": st.one_of(st.none(), st.text(max_size=6)),
    "number_type": st.one_of(st.none(), st.sampled_from(NumberType)),
    "capabilities": st.one_of(st.none(), st.lists(st.sampled_from(Capability), max_size=4)),
    "setup_price": st.one_of(st.none(), st.just(Money(amount=Decimal("1.50"), currency="GBP"))),
    "minimum_commitment_months": st.one_of(st.none(), st.integers(min_value=0, max_value=1200)),
    "provider_details": _details(_PLAIN_LEAVES, st.text(max_size=3)),
}
"""Values of the types make_offer keeps as they are (its direct construction)."""

_ODD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "provider": st.sampled_from(["Vobiz", "", "a" * 41, "vo-biz"]),
    "offer_id": st.one_of(st.just(""), st.text(min_size=201, max_size=202), st.integers()),
    "region": st.one_of(st.integers(), st.binary(max_size=2)),
    "number_type": st.sampled_from(["local", "bogus", 3]),
    "capabilities": st.one_of(
        st.lists(st.sampled_from(["sms", "fax", "bogus", Capability.VOICE]), max_size=4),
        st.tuples(st.sampled_from(Capability)),
        st.text(max_size=3),
        st.integers(),
    ),
    "setup_price": st.one_of(st.just(Decimal("1")), st.just("1"), st.just({"amount": "1", "currency": "GBP"})),
    "minimum_commitment_months": st.one_of(
        st.integers(min_value=-2, max_value=-1),
        st.integers(min_value=1201, max_value=1203),
        st.booleans(),
        st.just(12.0),
    ),
    "provider_details": _details(_ODD_LEAVES, st.one_of(st.text(max_size=3), st.integers(0, 3))),
}
"""Values make_offer leaves to pydantic's validation (to coerce, or to refuse)."""


@st.composite
def _offer_values(draw: st.DrawFn) -> dict[str, Any]:
    """make_offer's arguments besides the number: mostly of the kept types, none, one or two of them odd."""
    odd = draw(st.sets(st.sampled_from(sorted(_ODD_VALUES)), max_size=2))
    return {name: draw(_ODD_VALUES[name] if name in odd else _GOOD_VALUES[name]) for name in _GOOD_VALUES}


@settings(max_examples=800, deadline=None)
@given(given_fields=_offer_values())
def test_make_offer_builds_what_validation_builds_from_any_values(given_fields: dict[str, Any]) -> None:
    """Any values an adapter may hand make_offer: the same offer as pydantic's validation of the same fields (equal,
    the same JSON, details owned by the offer), or the same refusal."""
    _assert_made_as_validated(given_fields)
