"""E.164 normalization and validation: the one place numbroker asks phonenumbers about a number."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType, phonenumberutil

from numbroker._exceptions import FieldError
from numbroker._types import NumberType

__all__ = ["ParsedNumber", "Strictness", "infer_number_type", "parse_e164", "same_number", "validate_country"]

Strictness = Literal["valid", "possible"]
"""``valid``: the number must be valid for its region by phonenumbers' metadata (the default).
``possible``: only its length must be plausible (an explicit leniency for vendors ahead of the metadata)."""

_SEPARATORS = re.compile(r"[\s().\-/]")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_NUMBER_TEXT = re.compile(r"\+?[0-9]+")

_TYPE_MAP: dict[int, NumberType] = {
    PhoneNumberType.FIXED_LINE: NumberType.LOCAL,
    PhoneNumberType.MOBILE: NumberType.MOBILE,
    PhoneNumberType.TOLL_FREE: NumberType.TOLL_FREE,
    PhoneNumberType.SHARED_COST: NumberType.SHARED_COST,
    PhoneNumberType.UAN: NumberType.NATIONAL,
    PhoneNumberType.PERSONAL_NUMBER: NumberType.NATIONAL,
}


# One type computation per number instead of two: validity for a region *is* "has a known type there",
# which phonenumbers decides with this (long-standing, private) helper. Without it, the public API is used.
_type_in_plan: Callable[[str, Any], int] | None = getattr(phonenumberutil, "_number_type_helper", None)


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
    """The number's type in ``region``'s numbering plan (UNKNOWN when it is not valid there)."""
    if _type_in_plan is None:  # pragma: no cover - fallback path
        if not phonenumbers.is_valid_number_for_region(number, region):
            return PhoneNumberType.UNKNOWN
        return int(phonenumbers.number_type(number))
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.country_code != number.country_code:
        return PhoneNumberType.UNKNOWN
    return int(_type_in_plan(phonenumbers.national_significant_number(number), metadata))


_CALLING_CODES = frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
_KNOWN_COUNTRIES = frozenset(r for r in phonenumbers.SUPPORTED_REGIONS if len(r) == 2 and r.isupper())


def _split_canonical(text: str) -> phonenumbers.PhoneNumber | None:
    """Read ``+<calling code><national number>`` directly (calling codes are prefix-free).

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
            return phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    return None


def validate_country(value: object, *, field: str = "country") -> str:
    """Return an upper-cased ISO 3166-1 alpha-2 code that phonenumbers knows, or raise FieldError."""
    if isinstance(value, str) and value in _KNOWN_COUNTRIES:
        return value
    if not isinstance(value, str):
        raise FieldError(f"expected an ISO 3166-1 alpha-2 country code, got {value!r}", field=field, value=value)
    code = value.strip().upper()
    if len(code) != 2 or code not in phonenumbers.SUPPORTED_REGIONS:
        raise FieldError(f"unknown ISO 3166-1 alpha-2 country code: {value!r}", field=field, value=value)
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
    text = _number_text(raw, field)
    if strictness == "valid" and country is not None:
        canonical = _canonical_valid(text, country)
        if canonical is not None:
            return canonical
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
    number = _split_canonical(text)
    if number is None:
        return None
    kind = _type_for_region(number, country)
    if kind == PhoneNumberType.UNKNOWN:
        return None
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


def infer_number_type(parsed: ParsedNumber) -> NumberType:
    """Infer the number type from the numbering plan (phonenumbers' metadata).

    Numbers whose plan cannot tell fixed from mobile (``FIXED_LINE_OR_MOBILE``, as in the US) give ``unknown``.
    """
    kind = parsed.kind if parsed.kind is not None else phonenumbers.number_type(parsed.number)
    return _TYPE_MAP.get(kind, NumberType.UNKNOWN)


def same_number(value: object, e164: str) -> bool:
    """True when a vendor's number string (in any form ``parse_e164`` reads, ``+`` optional) is ``e164``."""
    if not isinstance(value, str):
        return False
    try:
        return parse_e164(value, strictness="possible").e164 == e164
    except FieldError:
        return False
