"""E.164 normalization and validation through phonenumbers, in one place."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numbroker import NumberType
from numbroker.adapters import FieldError, infer_number_type, parse_e164


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
        ("+14155552671", "US", NumberType.LOCAL),
        ("+18882345678", "US", NumberType.TOLL_FREE),
    ],
)
def test_number_type_inferred_from_numbering_plan(raw: str, country: str, expected: NumberType) -> None:
    """Types come from phonenumbers' plan; US fixed-or-mobile numbers are geographic: local, as vendors type them."""
    assert expected == infer_number_type(parse_e164(raw, country=country))


def _library_verdict(raw: str, country: str) -> tuple[str, int] | None:
    """What phonenumbers' own parse + is_valid_number_for_region says: canonical E.164 and type, or None."""
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number_for_region(number, country):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), phonenumbers.number_type(number)


@settings(max_examples=400, deadline=None)
@given(
    code=st.sampled_from(["1", "44", "49", "31", "91", "39", "7", "33", "61", "353", "852", "971"]),
    rest=st.text(alphabet="0123456789", min_size=0, max_size=13),
    country=st.sampled_from(["US", "CA", "GB", "GG", "DE", "NL", "IN", "IT", "RU", "KZ", "FR", "AU", "IE", "HK", "AE"]),
)
def test_fast_canonical_path_agrees_with_phonenumbers(code: str, rest: str, country: str) -> None:
    """For '+digits' input, parse_e164 accepts exactly what phonenumbers accepts, with the same E.164 and type."""
    from numbroker._phone import ParsedNumber

    raw = f"+{code}{rest}"
    expected = _library_verdict(raw, country)
    try:
        parsed: ParsedNumber | None = parse_e164(raw, country=country)
    except FieldError:
        parsed = None

    assert expected == (None if parsed is None else (parsed.e164, parsed.kind))


@pytest.mark.parametrize(
    ("raw", "country"),
    [("+390612345678", "IT"), ("+442079460958", "GB"), ("+14155552671", "US"), ("+79123456789", "RU")],
)
def test_known_numbers_on_both_paths(raw: str, country: str) -> None:
    """Leading-zero (Italian) numbers take the full parser; others the direct split; both give canonical E.164."""
    assert _library_verdict(raw, country) == (
        parse_e164(raw, country=country).e164,
        parse_e164(raw, country=country).kind,
    )


@settings(max_examples=400, deadline=None)
@given(
    region=st.sampled_from(["US", "CA", "GB", "DE", "NL", "IN", "IT", "FR", "AU", "JP", "BR", "ZA"]),
    kind=st.sampled_from([0, 1, 3, 5]),  # FIXED_LINE, MOBILE, TOLL_FREE, SHARED_COST
    tail=st.text(alphabet="0123456789", min_size=1, max_size=4),
    country=st.sampled_from(["US", "CA", "GB", "DE", "NL", "IN", "IT", "FR", "AU", "JP", "BR", "ZA"]),
)
def test_fast_path_agrees_on_mostly_valid_numbers(region: str, kind: int, tail: str, country: str) -> None:
    """Real example numbers with new trailing digits: the same verdict as phonenumbers, valid ones included."""
    import phonenumbers

    example = phonenumbers.example_number_for_type(region, kind)
    if example is None:
        return
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    raw = e164[: -len(tail)] + tail
    expected = _library_verdict(raw, country)
    try:
        parsed = parse_e164(raw, country=country)
        got: tuple[str, int] | None = (parsed.e164, parsed.kind)  # type: ignore[assignment]
    except FieldError:
        got = None

    assert expected == got


def _library_type(region: str, national: str) -> int:
    """phonenumbers' own type decision for a national significant number in ``region``'s plan."""
    import phonenumbers
    from phonenumbers import phonenumberutil

    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    assert metadata is not None
    return int(phonenumberutil._number_type_helper(national, metadata))


_REGIONS = sorted(r for r in __import__("phonenumbers").SUPPORTED_REGIONS if len(r) == 2)
_KINDS = range(12)  # every PhoneNumberType phonenumbers gives examples for (FIXED_LINE … VOICEMAIL)


@pytest.mark.parametrize("region", _REGIONS)
def test_the_compiled_plan_types_every_example_number_as_phonenumbers_does(region: str) -> None:
    """Each region's example numbers of every type, and each with its last digit changed or dropped or one
    more: the compiled plan gives phonenumbers' verdict (valid ones and invalid ones)."""
    import phonenumbers

    from numbroker._phone import _plan

    plan = _plan(region)
    assert plan is not None
    for kind in _KINDS:
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            continue
        national = phonenumbers.national_significant_number(example)
        for variant in {national, national[:-1], national + "5", national[:-1] + str((int(national[-1]) + 3) % 10)}:
            if variant:
                assert _library_type(region, variant) == plan.type_of(variant), (region, variant)


@settings(max_examples=1500, deadline=None)
@given(region=st.sampled_from(_REGIONS), national=st.text(alphabet="0123456789", min_size=1, max_size=17))
def test_the_compiled_plan_agrees_with_phonenumbers_on_any_digits(region: str, national: str) -> None:
    """Any national digits in any region: the compiled plan's type is phonenumbers' type."""
    from numbroker._phone import _plan

    plan = _plan(region)
    assert plan is not None
    assert _library_type(region, national) == plan.type_of(national)


def _outcome(read: Any) -> object:
    """What a reading gives: the parsed number, or the refusal's reason, field and value."""
    try:
        parsed: object = read()
    except FieldError as exc:
        return ("refused", exc.reason, exc.field, exc.value)
    return parsed


def _general(raw: str, country: str) -> object:
    """The general parser's outcome for ``raw`` in ``country`` (the direct reading of canonical numbers skipped)."""
    from numbroker._phone import _number_text, _parsed

    return _outcome(lambda: _parsed(_number_text(raw, "e164"), raw, country, "valid", "e164"))


@pytest.mark.parametrize("region", _REGIONS)
def test_the_direct_reading_gives_what_the_general_parser_gives_for_every_example(region: str) -> None:
    """Every region's example numbers of every type, canonical and with the last digit changed, dropped or one more,
    stated as that region's or another's: the direct reading, when it answers, gives the general parser's number,
    region and type, and parse_e164 the general parser's outcome. A valid canonical example is read directly."""
    import phonenumbers

    from numbroker._phone import _canonical_valid

    for kind in _KINDS:
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            continue
        e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
        if phonenumbers.is_valid_number_for_region(example, region) and not example.italian_leading_zero:
            assert _canonical_valid(e164, region) is not None, (region, e164)
        for raw in {e164, e164[:-1], e164 + "5", e164[:-1] + str((int(e164[-1]) + 3) % 10)}:
            for country in {region, "US", "GB", "IT"}:
                general = _general(raw, country)
                direct = _canonical_valid(raw, country)
                if direct is not None:
                    assert general == direct, (raw, country)
                assert general == _outcome(lambda: parse_e164(raw, country=country)), (raw, country)  # noqa: B023


@st.composite
def _written_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """An example number of some region and type, its tail redrawn, written as vendors write numbers; and the
    region stated with it (mostly its own)."""
    import phonenumbers

    region = draw(st.sampled_from(_REGIONS))
    example = phonenumbers.example_number_for_type(region, draw(st.sampled_from(_KINDS)))
    if example is None:
        example = phonenumbers.example_number(region)
    digits = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)[1:] if example else "1"
    cut = draw(st.integers(min_value=0, max_value=min(4, len(digits) - 1)))
    digits = digits[: len(digits) - cut] + draw(st.text(alphabet="0123456789", min_size=0, max_size=cut + 1))
    form = draw(st.sampled_from(["+{}", "{}", "00{}", "+{} ", " +{}"]))
    if draw(st.booleans()) and len(digits) > 4:
        digits = f"{digits[:2]} {digits[2:4]}-{digits[4:]}"
    return form.format(digits), draw(st.one_of(st.just(region), st.sampled_from(_REGIONS)))


@settings(max_examples=1500, deadline=None)
@given(written=_written_numbers())
def test_parse_e164_gives_what_the_general_parser_gives(written: tuple[str, str]) -> None:
    """Any written number, any stated region: parse_e164 (its direct reading first) gives the general parser's
    outcome (number, region and type, or the same refusal), and a type phonenumbers agrees with."""
    import phonenumbers

    raw, country = written
    got = _outcome(lambda: parse_e164(raw, country=country))

    assert _general(raw, country) == got
    if not isinstance(got, tuple):
        assert got.kind == phonenumbers.number_type(got.number)  # type: ignore[attr-defined]
        assert phonenumbers.is_valid_number_for_region(got.number, country)  # type: ignore[attr-defined]
