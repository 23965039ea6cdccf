"""E.164 normalization and validation: the one place numbroker asks phonenumbers about a number."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from numbroker._exceptions import FieldError
from numbroker._types import NumberType

__all__ = [
    "ParsedNumber",
    "Strictness",
    "infer_number_type",
    "parse_e164",
    "plan_cannot_tell",
    "same_number",
    "validate_country",
]

Strictness = Literal["valid", "possible"]
"""``valid``: the number must be valid for its region by phonenumbers' metadata (the default).
``possible``: only its length must be plausible (an explicit leniency for vendors ahead of the metadata)."""

_SEPARATORS = re.compile(r"[\s().\-/]")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_NUMBER_TEXT = re.compile(r"\+?[0-9]+")

_TYPE_MAP: dict[int, NumberType] = {
    PhoneNumberType.FIXED_LINE: NumberType.LOCAL,
    # The plan cannot tell fixed from mobile (North America, among others): the number is geographic, an
    # area code's, which is what every vendor that types such numbers calls local.
    PhoneNumberType.FIXED_LINE_OR_MOBILE: NumberType.LOCAL,
    PhoneNumberType.MOBILE: NumberType.MOBILE,
    PhoneNumberType.TOLL_FREE: NumberType.TOLL_FREE,
    PhoneNumberType.SHARED_COST: NumberType.SHARED_COST,
    PhoneNumberType.UAN: NumberType.NATIONAL,
    PhoneNumberType.PERSONAL_NUMBER: NumberType.NATIONAL,
}


@dataclass(frozen=True, slots=True)
class ParsedNumber:
    """A number that passed validation: canonical E.164 plus the phonenumbers object.

    ``kind`` is phonenumbers' ``PhoneNumberType`` when validation already computed it (else None).
    """

    e164: str
    region: str | None
    number: phonenumbers.PhoneNumber
    kind: int | None = None


def _type_for_region(number: phonenumbers.PhoneNumber, region: str) -> int:
    """The number's type in ``region``'s numbering plan (UNKNOWN when it is not valid there).

    One type computation per number instead of two: validity for a region *is* "has a known type there".
    """
    plan = _plans.get(region) or _plan(region)
    if plan is None or plan.country_code != number.country_code:
        return PhoneNumberType.UNKNOWN
    return plan.type_of(phonenumbers.national_significant_number(number))


_Desc = tuple[frozenset[int], "re.Pattern[str] | None"]
"""A number description of the plan: its possible lengths (empty: any) and its pattern (None: matches nothing)."""

_SPECIAL_TYPES = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)
"""The descriptions phonenumbers tries before fixed line and mobile, in its order (the first that matches wins)."""


def _desc(desc: Any) -> _Desc | None:
    if desc is None:
        return None
    pattern = desc.national_number_pattern
    return frozenset(desc.possible_length), re.compile(pattern) if pattern else None


def _special(metadata: Any) -> Iterator[tuple[frozenset[int], re.Pattern[str], int]]:
    """The special types of ``metadata`` that can match a number (a pattern, a length other than -1), in order.

    A description left out never matches, so skipping it changes no verdict: phonenumbers' ``-1`` length
    means "no numbers of this type", and a description without a pattern matches nothing.
    """
    for name, kind in _SPECIAL_TYPES:
        desc = _desc(getattr(metadata, name))
        if desc is not None and desc[1] is not None and desc[0] != {-1}:
            yield desc[0], desc[1], kind


def _matches(desc: _Desc | None, national: str) -> bool:
    if desc is None:
        return False
    lengths, pattern = desc
    if lengths and len(national) not in lengths:
        return False
    return pattern is not None and pattern.fullmatch(national) is not None


@dataclass(frozen=True, slots=True)
class _Plan:
    """One region's numbering plan, its patterns compiled once: phonenumbers' type decision, step for step.

    phonenumbers compiles (or looks up) each description's pattern on every call; normalization asks for a
    type once per offer, thousands of times a search. ``tests/test_phone.py`` checks every verdict against
    phonenumbers' own.
    """

    country_code: int
    general: _Desc | None
    special: tuple[tuple[frozenset[int], re.Pattern[str], int], ...]
    """The special types' descriptions that can match something, in phonenumbers' order, with their type."""
    fixed_line: _Desc | None
    mobile: _Desc | None
    same_mobile_and_fixed_line: bool

    def type_of(self, national: str) -> int:
        """The type of the national significant number ``national`` in this plan (UNKNOWN: not valid here)."""
        if not _matches(self.general, national):
            return PhoneNumberType.UNKNOWN
        size = len(national)
        for lengths, pattern, kind in self.special:
            if (not lengths or size in lengths) and pattern.fullmatch(national) is not None:
                return kind
        if _matches(self.fixed_line, national):
            if self.same_mobile_and_fixed_line or _matches(self.mobile, national):
                return PhoneNumberType.FIXED_LINE_OR_MOBILE
            return PhoneNumberType.FIXED_LINE
        if not self.same_mobile_and_fixed_line and _matches(self.mobile, national):
            return PhoneNumberType.MOBILE
        return PhoneNumberType.UNKNOWN


_plans: dict[str, _Plan | None] = {}


def _plan(region: str) -> _Plan | None:
    """``region``'s plan (None when phonenumbers has no metadata for it), compiled on first use."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    plan = None
    if metadata is not None:
        plan = _Plan(
            country_code=metadata.country_code or 0,
            general=_desc(metadata.general_desc),
            special=tuple(_special(metadata)),
            fixed_line=_desc(metadata.fixed_line),
            mobile=_desc(metadata.mobile),
            same_mobile_and_fixed_line=bool(metadata.same_mobile_and_fixed_line_pattern),
        )
    _plans[region] = plan
    return plan


_CALLING_CODES = frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)

_COUNTRY_HINTS = {"UK": "GB", "EN": "GB", "USA": "US", "EL": "GR"}
"""Codes people type that are not ISO 3166-1 alpha-2 country codes, and the code they mean."""

_WITHOUT_A_PLAN = frozenset({"AQ", "BV", "GS", "HM", "PN", "TF", "UM"})
"""ISO 3166-1 alpha-2 codes of places with no numbering plan of their own (no phone numbers to search)."""
_KNOWN_COUNTRIES = frozenset(r for r in phonenumbers.SUPPORTED_REGIONS if len(r) == 2 and r.isupper())


def _split_canonical(text: str) -> tuple[int, str] | None:
    """Read ``+<calling code><national number>`` directly (calling codes are prefix-free): (code, national).

    Vendors send canonical E.164; splitting it is exact and skips phonenumbers' general parser, which
    is built for free-form input. Anything unusual (a national number with a leading zero) returns None,
    and so does a reading that then fails validation: the full parser decides those.
    """
    digits = text[1:]
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in _CALLING_CODES:
            national = digits[size:]
            if not national or national[0] == "0":
                return None
            return code, national
    return None


def validate_country(value: object, *, field: str = "country") -> str:
    """Return an upper-cased ISO 3166-1 alpha-2 code that phonenumbers knows, or raise FieldError."""
    if isinstance(value, str) and value in _KNOWN_COUNTRIES:
        return value
    if not isinstance(value, str):
        raise FieldError(f"expected an ISO 3166-1 alpha-2 country code, got {value!r}", field=field, value=value)
    code = value.strip().upper()
    if code in _WITHOUT_A_PLAN:
        raise FieldError(
            f"{code} is an ISO 3166-1 country code with no numbering plan of its own: it has no numbers to search",
            field=field,
            value=value,
        )
    if len(code) != 2 or code not in phonenumbers.SUPPORTED_REGIONS:
        meant = _COUNTRY_HINTS.get(code)
        hint = f" (did you mean {meant}?)" if meant else ""
        raise FieldError(f"unknown ISO 3166-1 alpha-2 country code: {value!r}{hint}", field=field, value=value)
    return code


def parse_e164(
    raw: object, *, country: str | None = None, strictness: Strictness = "valid", field: str = "e164"
) -> ParsedNumber:
    """Normalize ``raw`` to canonical E.164 and validate it.

    Args:
        raw: the vendor's number: ``+14155550123``, ``14155550123``, ``+1 (415) 555-0123``, ``0044…``.
        country: the ISO alpha-2 country the vendor says the number belongs to. When given, the number
            must be valid *for that region*, which also settles shared country codes (+1, +7, +44…).
            A number without ``+`` is read in that country's national or international form.
        strictness: ``valid`` (default) or ``possible``; see :data:`Strictness`.
        field: the field name used in the error.

    Raises:
        FieldError: the number is not a string, cannot be parsed, is not valid, or disagrees with ``country``.
    """
    if strictness == "valid" and country is not None and type(raw) is str:
        canonical = _canonical_valid(raw, country)  # what vendors send: canonical, valid, no separators to drop
        if canonical is not None:
            return canonical
    text = _number_text(raw, field)
    if strictness == "valid" and country is not None:
        canonical = _canonical_valid(text, country)
        if canonical is not None:
            return canonical
    return _parsed(text, raw, country, strictness, field)


def _parsed(text: str, raw: object, country: str | None, strictness: Strictness, field: str) -> ParsedNumber:
    """``text`` (``raw`` without separators) read and validated by phonenumbers' general parser.

    :func:`parse_e164`'s direct reading of canonical numbers must give exactly what this gives;
    ``tests/test_phone.py`` checks the two against each other.
    """
    number = _parse(text, raw, country, field)
    if strictness == "valid":
        region, kind = _valid_region(number, raw, country, field)
    else:
        region, kind = _possible_region(number, raw, country, field), None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not _E164.fullmatch(e164):  # pragma: no cover - phonenumbers never builds longer numbers
        raise FieldError(f"not representable as E.164: {raw!r}", field=field, value=raw)
    return ParsedNumber(e164=e164, region=region, number=number, kind=kind)


def _number_text(raw: object, field: str) -> str:
    """``raw`` without separators, ``00`` read as ``+``: ASCII digits after an optional ``+``, or a FieldError."""
    if not isinstance(raw, str):
        raise FieldError(f"expected a phone number string, got {type(raw).__name__}: {raw!r}", field=field, value=raw)
    text = _SEPARATORS.sub("", raw)
    if text.startswith("00"):
        text = "+" + text[2:]
    if not _NUMBER_TEXT.fullmatch(text):  # ASCII digits only (a fullwidth digit is not one)
        raise FieldError(f"not a phone number: {raw!r}", field=field, value=raw)
    return text


def _canonical_valid(text: str, country: str) -> ParsedNumber | None:
    """Canonical E.164 that is valid in ``country``, read without the general parser; None: let the parser decide."""
    if not _E164.fullmatch(text):
        return None
    split = _split_canonical(text)
    if split is None:
        return None
    code, national = split  # without a leading zero: its own national significant number
    plan = _plans.get(country) or _plan(country)
    if plan is None or plan.country_code != code:
        return None
    kind = plan.type_of(national)
    if kind == PhoneNumberType.UNKNOWN:
        return None
    number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    return ParsedNumber(e164=text, region=country, number=number, kind=kind)


def _parse(text: str, raw: object, country: str | None, field: str) -> phonenumbers.PhoneNumber:
    """Read ``text`` with phonenumbers: international with ``+``, else national in ``country`` (or with ``+`` added)."""
    try:
        if text.startswith("+"):
            return phonenumbers.parse(text, None)
        if country is not None:
            return phonenumbers.parse(text, country)
        return phonenumbers.parse("+" + text, None)
    except NumberParseException as exc:
        raise FieldError(f"cannot parse phone number {raw!r}: {exc}", field=field, value=raw) from None


def _valid_region(
    number: phonenumbers.PhoneNumber, raw: object, country: str | None, field: str
) -> tuple[str | None, int | None]:
    """The region of a number that must be valid (in ``country`` when given) and its type there, if computed."""
    if country is None:
        if not phonenumbers.is_valid_number(number):
            raise FieldError(f"not a valid phone number: {raw!r}", field=field, value=raw)
        return phonenumbers.region_code_for_number(number), None
    kind = _type_for_region(number, country)
    if kind != PhoneNumberType.UNKNOWN:
        return country, kind
    if phonenumbers.is_valid_number(number):
        other = phonenumbers.region_code_for_number(number)
        raise FieldError(
            f"number {raw!r} belongs to {other}, not to the stated country {country}", field=field, value=raw
        )
    raise FieldError(f"not a valid {country} number: {raw!r}", field=field, value=raw)


def _possible_region(number: phonenumbers.PhoneNumber, raw: object, country: str | None, field: str) -> str | None:
    """The region of a number that need only be possible.

    That is ``country``, which its calling code must serve, else the one region of its calling code (None
    when the code serves several).
    """
    if not phonenumbers.is_possible_number(number):
        raise FieldError(f"not a possible phone number: {raw!r}", field=field, value=raw)
    regions = phonenumbers.region_codes_for_country_code(number.country_code or 0)
    if country is None:
        return regions[0] if len(regions) == 1 else None
    if country not in regions:
        raise FieldError(
            f"number {raw!r} (+{number.country_code}) cannot belong to the stated country {country}",
            field=field,
            value=raw,
        )
    return country


def _kind(parsed: ParsedNumber) -> int:
    return parsed.kind if parsed.kind is not None else int(phonenumbers.number_type(parsed.number))


def infer_number_type(parsed: ParsedNumber) -> NumberType:
    """Infer the number type from the numbering plan (phonenumbers' metadata).

    A number whose plan cannot tell fixed from mobile (``FIXED_LINE_OR_MOBILE``, as in the US and Canada)
    is geographic: ``local``, as vendors that state a type call it (see :func:`plan_cannot_tell`).
    A kind the plan does not map (premium rate, VoIP, pager…) gives ``unknown``.
    """
    return _TYPE_MAP.get(_kind(parsed), NumberType.UNKNOWN)


def plan_cannot_tell(parsed: ParsedNumber) -> bool:
    """True when the numbering plan cannot tell whether the number is a fixed line or a mobile."""
    return _kind(parsed) == PhoneNumberType.FIXED_LINE_OR_MOBILE


def same_number(value: object, e164: str) -> bool:
    """True when a vendor's number string (in any form ``parse_e164`` reads, ``+`` optional) is ``e164``."""
    if not isinstance(value, str):
        return False
    try:
        return parse_e164(value, strictness="possible").e164 == e164
    except FieldError:
        return False
