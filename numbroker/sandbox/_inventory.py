"""Deterministic inventory numbers: the number-type and lane tables, valid-number draws and the cross-vendor overlap.

Curated area codes for US, CA, GB, DE, NL and IN (phonenumbers' example numbers elsewhere);
:func:`generate_number` and :func:`draw_numbers` draw valid numbers for a region and number type,
:func:`shared_numbers` the numbers more than one emulator offers; :func:`shares` and
:func:`bucketed_inventory` lay an inventory out bucket by bucket.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

import phonenumbers
from phonenumbers import PhoneNumberType

from numbroker.sandbox._types import SandboxRecord
from numbroker.sandbox._values import draw_money

#: Neutral number-type names -> phonenumbers types.
NUMBER_TYPES: Final[Mapping[str, int]] = {
    "local": PhoneNumberType.FIXED_LINE,
    "mobile": PhoneNumberType.MOBILE,
    "toll-free": PhoneNumberType.TOLL_FREE,
    "national": PhoneNumberType.UAN,
}

#: Last digits per lane: numbers drawn for different lanes never collide.
LANE_DIGITS: Final[tuple[tuple[int, ...], ...]] = ((0, 3, 6, 9), (1, 4, 7), (2, 5, 8))

# (national prefix, national length, area label, weight), curated for realistic numbers.
_Stem = tuple[str, int, str | None, int]
_US: Final[tuple[_Stem, ...]] = (
    ("212", 10, "NY", 3),
    ("646", 10, "NY", 1),
    ("415", 10, "CA", 2),
    ("213", 10, "CA", 1),
    ("312", 10, "IL", 1),
    ("305", 10, "FL", 1),
    ("512", 10, "TX", 1),
    ("206", 10, "WA", 1),
    ("617", 10, "MA", 1),
    ("404", 10, "GA", 1),
)
_CA: Final[tuple[_Stem, ...]] = (("416", 10, "ON", 2), ("604", 10, "BC", 1), ("514", 10, "QC", 1))
_IN_LOCAL: Final[tuple[_Stem, ...]] = (
    ("802", 10, "Karnataka", 2),
    ("804", 10, "Karnataka", 1),
    ("222", 10, "Maharashtra", 2),
    ("224", 10, "Maharashtra", 1),
    ("112", 10, "Delhi", 1),
    ("114", 10, "Delhi", 1),
    ("442", 10, "Tamil Nadu", 1),
)
_FL, _MO, _TF, _UAN = (
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.MOBILE,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.UAN,
)
_STEMS: Final[dict[tuple[str, int], tuple[_Stem, ...]]] = {
    ("US", _FL): _US,
    ("US", _MO): _US,
    ("US", _TF): tuple((p, 10, None, 1) for p in ("800", "833", "844", "855", "866", "877", "888")),
    ("CA", _FL): _CA,
    ("CA", _MO): _CA,
    ("GB", _FL): (
        ("2079", 10, "London", 2),
        ("2071", 10, "London", 1),
        ("2030", 10, "London", 1),
        ("121", 10, "Birmingham", 1),
        ("161", 10, "Manchester", 1),
        ("131", 10, "Edinburgh", 1),
        ("1132", 10, "Leeds", 1),
    ),
    ("GB", _MO): tuple((p, 10, None, 1) for p in ("74", "75", "77", "78", "79")),
    ("GB", _TF): (("800", 10, None, 1), ("808", 10, None, 1)),
    ("GB", _UAN): tuple((p, 10, None, 1) for p in ("300", "330", "333", "345")),
    ("DE", _FL): (
        ("30", 10, "Berlin", 2),
        ("89", 10, "München", 1),
        ("40", 10, "Hamburg", 1),
        ("69", 10, "Frankfurt am Main", 1),
        ("221", 10, "Köln", 1),
    ),
    ("DE", _MO): (("151", 11, None, 1), ("160", 10, None, 1), ("170", 10, None, 1), ("176", 11, None, 1)),
    ("DE", _TF): (("800", 10, None, 1),),
    ("NL", _FL): (
        ("20", 9, "Amsterdam", 2),
        ("10", 9, "Rotterdam", 1),
        ("70", 9, "Den Haag", 1),
        ("30", 9, "Utrecht", 1),
    ),
    ("NL", _MO): tuple((p, 9, None, 1) for p in ("61", "62", "63", "64", "65", "68")),
    ("NL", _TF): (("800", 7, None, 1), ("800", 10, None, 1)),
    ("NL", _UAN): (("88", 9, None, 1),),
    ("IN", _FL): _IN_LOCAL,
    ("IN", _MO): (
        ("98", 10, "Maharashtra", 1),
        ("99", 10, "Karnataka", 1),
        ("97", 10, "Delhi", 1),
        ("70", 10, "Gujarat", 1),
        ("90", 10, "Tamil Nadu", 1),
    ),
    ("IN", _TF): (("1800", 10, None, 1), ("1800", 11, None, 1)),
}
_MAX_ATTEMPTS: Final = 500


@functools.cache
def _stems(region: str, number_type: int) -> tuple[tuple[_Stem, ...], tuple[int, ...]]:
    stems = _STEMS.get((region, number_type))
    if stems is None:
        example = phonenumbers.example_number_for_type(region, number_type)
        if example is None:
            raise ValueError(f"phonenumbers has no example {number_type} number for region {region!r}")
        nsn = phonenumbers.national_significant_number(example)
        vary = max(2, min(6, len(nsn) // 2))
        stems = ((nsn[: len(nsn) - vary], len(nsn), None, 1),)
    cumulative: list[int] = []
    total = 0
    for stem in stems:
        total += stem[3]
        cumulative.append(total)
    return stems, tuple(cumulative)


def _draw(
    rng: random.Random, region: str, number_type: int, last_digits: Sequence[int] | None
) -> tuple[str, str | None]:
    stems, cumulative = _stems(region, number_type)
    country_code = phonenumbers.country_code_for_region(region)
    for _ in range(_MAX_ATTEMPTS):
        prefix, length, area, _weight = rng.choices(stems, cum_weights=cumulative)[0]
        free = length - len(prefix)
        if free <= 0:
            rest = ""
        elif last_digits:
            head = f"{rng.randrange(10 ** (free - 1)):0{free - 1}d}" if free > 1 else ""
            rest = head + str(rng.choice(last_digits))
        else:
            rest = f"{rng.randrange(10**free):0{free}d}"
        national = prefix + rest
        number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
        zeros = len(national) - len(national.lstrip("0"))
        if zeros:
            number.italian_leading_zero = True
            number.number_of_leading_zeros = zeros
        if phonenumbers.is_valid_number_for_region(number, region):
            return f"+{country_code}{national}", area
    raise ValueError(f"could not draw a valid {number_type} number for {region} in {_MAX_ATTEMPTS} attempts")


def generate_number(
    rng: random.Random, region: str, number_type: int, *, last_digits: Sequence[int] | None = None
) -> str:
    """Draw a valid number for a region and phonenumbers number type, deterministically.

    Curated area codes are used for US, CA, GB, DE, NL and IN; any other region starts from
    ``phonenumbers.example_number_for_type`` and varies the trailing digits. Every candidate is
    re-checked with ``is_valid_number_for_region``, so ``+1555…``-style placeholders never come out.

    Args:
        rng: The random source.
        region: ISO 3166-1 alpha-2 region.
        number_type: A ``phonenumbers.PhoneNumberType`` (FIXED_LINE, MOBILE, TOLL_FREE, UAN...).
        last_digits: Allowed final digits (see :data:`LANE_DIGITS`), or None for any.

    Returns:
        The number in E.164.

    Raises:
        ValueError: No valid number could be drawn for that region and type.
    """
    return _draw(rng, region.upper(), number_type, last_digits)[0]


@dataclass(frozen=True)
class GeneratedNumber:
    """A drawn number.

    Attributes:
        e164: The number in E.164.
        country: Its region.
        number_type: Neutral type name (a key of :data:`NUMBER_TYPES`).
        area: Area label (state, city) when the stem has one.
    """

    e164: str
    country: str
    number_type: str
    area: str | None


def draw_numbers(
    rng: random.Random,
    mix: Sequence[tuple[str, str, float]],
    count: int,
    *,
    lane: int | None = None,
    exclude: set[str] | None = None,
) -> list[GeneratedNumber]:
    """Draw ``count`` distinct valid numbers from a weighted (region, type) mix.

    Args:
        rng: The random source.
        mix: ``(region, neutral type, weight)`` triples.
        count: How many numbers.
        lane: Restrict the last digit to ``LANE_DIGITS[lane]``, so lanes never collide.
        exclude: Numbers not to produce; the drawn numbers are added to it.

    Returns:
        The numbers, in draw order.
    """
    seen = exclude if exclude is not None else set()
    digits = LANE_DIGITS[lane] if lane is not None else None
    picks = rng.choices(mix, weights=[m[2] for m in mix], k=count)
    out: list[GeneratedNumber] = []
    for region, type_name, _weight in picks:
        pn_type = NUMBER_TYPES[type_name]
        for _ in range(_MAX_ATTEMPTS):
            e164, area = _draw(rng, region, pn_type, digits)
            if e164 not in seen:
                break
        else:
            raise ValueError(f"number space exhausted for {region} {type_name}")
        seen.add(e164)
        out.append(GeneratedNumber(e164, region, type_name, area))
    return out


@dataclass(frozen=True)
class SharedNumber:
    """A number that more than one emulator offers.

    Attributes:
        e164: The number.
        country: Its region.
        number_type: Neutral type name.
        area: Area label.
        monthly: Reference monthly price in USD (each emulator applies its own markup).
        upfront: Reference one-off price in USD.
        lanes: Which emulators (by lane) offer it.
    """

    e164: str
    country: str
    number_type: str
    area: str | None
    monthly: Decimal
    upfront: Decimal
    lanes: frozenset[int]

    @property
    def number(self) -> GeneratedNumber:
        """The number as :func:`draw_numbers` gives one, for the emulator's own record builder."""
        return GeneratedNumber(self.e164, self.country, self.number_type, self.area)


_SHARED_PLAN: Final[tuple[tuple[str, str, frozenset[int]], ...]] = (
    ("US", "local", frozenset({0, 1})),
    ("GB", "mobile", frozenset({0, 1})),
    ("NL", "local", frozenset({1, 2})),
    ("US", "toll-free", frozenset({1, 2})),
    ("DE", "local", frozenset({0, 2})),
    ("IN", "mobile", frozenset({0, 2})),
    ("US", "local", frozenset({0, 1, 2})),
)


@functools.lru_cache(maxsize=64)
def shared_numbers(seed: int) -> tuple[SharedNumber, ...]:
    """Return the numbers offered by more than one emulator, for a seed.

    Seven numbers: two each for lane pairs (0, 1), (1, 2) and (0, 2), and one for all three lanes.
    Every emulator draws its overlap from here and excludes all of them from its other numbers.

    Args:
        seed: The inventory seed.

    Returns:
        The shared numbers.
    """
    rng = random.Random(f"numbroker-sandbox:shared:{seed}")
    seen: set[str] = set()
    out: list[SharedNumber] = []
    for region, type_name, lanes in _SHARED_PLAN:
        (number,) = draw_numbers(rng, [(region, type_name, 1)], 1, exclude=seen)
        monthly = draw_money(rng, "1.00", "3.00", step="0.05")
        upfront = rng.choice((Decimal("0"), Decimal("0.50"), Decimal("1.00")))
        out.append(SharedNumber(number.e164, region, type_name, number.area, monthly, upfront, lanes))
    return tuple(out)


def draw_number(
    rng: random.Random, region: str, type_name: str, *, lane: int | None = None, exclude: set[str] | None = None
) -> GeneratedNumber:
    """One number of ``type_name`` in ``region`` from this emulator's ``lane`` (if any), never one in ``exclude``.

    What a sandbox's deliberate defects are drawn with: the same draw as :func:`draw_numbers` for one
    number, so a seed keeps giving the same defects.
    """
    return draw_numbers(rng, [(region, type_name, 1)], 1, lane=lane, exclude=exclude)[0]


def shares(count: int, weights: Sequence[int]) -> list[int]:
    """Split ``count`` in proportion to ``weights`` (rounded down); the remainder goes one each to the first parts.

    Args:
        count: What to split.
        weights: One positive weight per part.

    Returns:
        One count per weight, adding up to ``count``.
    """
    total = sum(weights)
    parts = [count * weight // total for weight in weights]
    for index in range(count - sum(parts)):
        parts[index] += 1
    return parts


def bucketed_inventory(
    rng: random.Random,
    buckets: Sequence[tuple[str, str]],
    count: int,
    build: Callable[[GeneratedNumber], SandboxRecord],
    *,
    specials: Sequence[SandboxRecord] = (),
    lane: int | None = None,
    exclude: set[str] | None = None,
) -> list[SandboxRecord]:
    """An inventory listed bucket after bucket, as vendors answer one query per (country, number type).

    ``count`` regular records are spread evenly over ``buckets`` (:func:`shares`); each bucket's numbers are
    drawn with :func:`draw_numbers`, then built with ``build``. Every special record joins the bucket of
    its country and number type, and every bucket is shuffled.

    Args:
        rng: The random source.
        buckets: ``(region, neutral type)`` pairs, in listing order.
        count: Regular records across all buckets.
        build: Builds the record of a drawn number (its ``country`` and ``number_type`` are the bucket's).
        specials: Records made apart (defects, the cross-vendor numbers); each must fit a bucket.
        lane: The emulator's lane (see :func:`draw_numbers`).
        exclude: Numbers not to draw; the drawn numbers are added to it.

    Returns:
        The records, bucket by bucket.
    """
    listed: dict[tuple[str, str | None], list[SandboxRecord]] = {bucket: [] for bucket in buckets}
    for (region, type_name), size in zip(buckets, shares(count, [1] * len(buckets)), strict=True):
        drawn = draw_numbers(rng, [(region, type_name, 1)], size, lane=lane, exclude=exclude)
        listed[region, type_name] += [build(number) for number in drawn]
    for record in specials:
        listed[record.country, record.number_type].append(record)
    out: list[SandboxRecord] = []
    for records in listed.values():
        rng.shuffle(records)
        out += records
    return out
