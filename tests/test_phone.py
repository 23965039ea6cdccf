"""E.164 normalization and validation through phonenumbers, in one place."""

from __future__ import annotations

import pytest

from numbroker import FieldError, NumberType, infer_number_type, parse_e164


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+14155552671", "US", "+14155552671"),
        ("14155552671", "US", "+14155552671"),
        ("4155552671", "US", "+14155552671"),
        ("+1 (415) 555-2671", "US", "+14155552671"),
        ("+44 20 7946 0958", "GB", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("0044 20 7946 0958", "GB", "+442079460958"),
        ("+4930123456", "DE", "+4930123456"),
        ("+31201234567", "NL", "+31201234567"),
        ("919876543210", "IN", "+919876543210"),
        ("+390612345678", "IT", "+390612345678"),
        ("+14165550123", "CA", "+14165550123"),
    ],
)
def test_normalizes_to_canonical_e164(raw: str, country: str, expected: str) -> None:
    """National, spaced, 00-prefixed and +-less forms all become '+' and digits."""
    assert expected == parse_e164(raw, country=country).e164


@pytest.mark.parametrize("raw", ["+15551234567", "+15551234568", "15551234567"])
def test_docs_placeholder_numbers_are_invalid(raw: str) -> None:
    """The docs' +1555… placeholders are not valid numbers and must be reported, not passed."""
    with pytest.raises(FieldError, match="not a valid"):
        parse_e164(raw, country="US")


@pytest.mark.parametrize(
    ("raw", "country", "owner"),
    [("+14165550123", "US", "CA"), ("+442079460958", "DE", None), ("+919876543210", "GB", None)],
)
def test_country_must_agree_with_the_number(raw: str, country: str, owner: str | None) -> None:
    """The vendor's country must match the number's region, shared country codes (+1) included."""
    with pytest.raises(FieldError) as info:
        parse_e164(raw, country=country)

    if owner:
        assert f"belongs to {owner}" in info.value.reason


@pytest.mark.parametrize("raw", ["", "abc", "+", "+1", "++14155552671", "+1415555267a", None, 14155552671, "+12"])
def test_garbage_is_refused(raw: object) -> None:
    """Non-strings and non-numbers get a FieldError, never an exception from phonenumbers."""
    with pytest.raises(FieldError):
        parse_e164(raw, country="US")


def test_possible_leniency_is_explicit() -> None:
    """A number valid only by length passes under strictness='possible', and only then."""
    with pytest.raises(FieldError):
        parse_e164("+15551234567", country="US")

    lenient = parse_e164("+15551234567", country="US", strictness="possible")

    assert "+15551234567" == lenient.e164
    with pytest.raises(FieldError):
        parse_e164("+442079460958", country="US", strictness="possible")


def test_region_is_inferred_without_a_country() -> None:
    """Without a stated country, the number's own region is reported."""
    assert "GB" == parse_e164("+442079460958").region


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+442079460958", "GB", NumberType.LOCAL),
        ("+447400123456", "GB", NumberType.MOBILE),
        ("+448001234567", "GB", NumberType.TOLL_FREE),
        ("+14155552671", "US", NumberType.UNKNOWN),
        ("+18882345678", "US", NumberType.TOLL_FREE),
    ],
)
def test_number_type_inferred_from_numbering_plan(raw: str, country: str, expected: NumberType) -> None:
    """Types come from phonenumbers' plan; US fixed-or-mobile numbers stay unknown rather than guessed."""
    assert expected == infer_number_type(parse_e164(raw, country=country))
