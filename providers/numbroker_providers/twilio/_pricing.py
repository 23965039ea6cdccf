"""Twilio's Pricing API price list for a country, read into the monthly price of each number type.

``GET {pricing_base_url}/PhoneNumbers/Countries/{IsoCountry}`` answers ``{country, iso_country, price_unit,
phone_number_prices: [{number_type, base_price, current_price}]}`` (see the adapter's wire facts). A
:class:`PriceList` holds what one answer says: each type's price, each type whose price cannot be used
and why, or why the whole list cannot be used. Nothing here raises: an unusable price list leaves the
offers concerned unpriced, with a note, and the search goes on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from numbroker import Money
from numbroker.adapters import FieldError, validate_currency, wire

__all__ = ["PriceList", "type_key"]


def type_key(name: str) -> str:
    """``"toll free"``, ``"TollFree"``, ``"toll_free"`` → ``"tollfree"`` (the SDK's comparison)."""
    return re.sub(r"[\s_\-]", "", name).lower()


def _price(row: Mapping[str, Any], key: str, currency: str, where: str) -> Money:
    """A price of the price list: a decimal string (the examples) or a JSON number (the type)."""
    amount = wire.decimal(row, key, field=f"{where}.{key}")
    if amount is None:
        raise FieldError("no price", field=f"{where}.{key}", value=None)
    return Money(amount=amount, currency=currency)


@dataclass(slots=True)
class PriceList:
    """One country's price list: monthly price by normalized number type, and what went wrong.

    Attributes:
        prices: each usable type's monthly price (``current_price``) and its ``base_price``, by :func:`type_key`.
        problems: why a type's price cannot be used, by :func:`type_key` (``#<row>`` for a row naming no type).
        failure: why the whole list cannot be used (no answer, no rows, no currency), or None.
    """

    prices: dict[str, tuple[Money, Decimal | None]] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    failure: str | None = None

    def read(self, body: Any) -> None:
        """Read a price-list answer: each row priced in ``price_unit``; a type priced twice differently is a problem."""
        rows = wire.pick(body, "phone_number_prices", list)
        if rows is None:
            self.failure = "the Pricing API's answer has no phone_number_prices list"
            return
        try:
            currency = validate_currency(body.get("price_unit"), field="price_unit")
        except FieldError as exc:
            self.failure = f"the Pricing API's price_unit is unusable: {exc.reason}"
            return
        seen: dict[str, tuple[Money, Decimal | None]] = {}
        for index, row in enumerate(rows):
            where = f"phone_number_prices[{index}]"
            name = row.get("number_type") if isinstance(row, dict) else None
            if not isinstance(name, str) or not name.strip():
                self.problems[f"#{index}"] = f"{where}.number_type is not a type name: {name!r}"
                continue
            key = type_key(name)
            try:
                monthly = _price(row, "current_price", currency, where)
                base = wire.decimal(row, "base_price", field=f"{where}.base_price")
            except FieldError as exc:
                self.problems[key] = f"{exc.field}: {exc.reason}"
                continue
            if key in seen and seen[key][0] != monthly:
                self.problems[key] = f"{where}: a second, different price for {name!r}"
                continue
            seen[key] = (monthly, base)
        for key in self.problems:
            seen.pop(key, None)
        self.prices = seen

    def find(self, kind: str) -> tuple[Money, Decimal | None] | None:
        """The monthly price and base price of the type Twilio lists under ``kind`` (``TollFree``), if usable."""
        return self.prices.get(type_key(kind))

    def unpriced(self, country: str, kinds: Iterable[str]) -> list[str]:
        """A note for each of ``kinds`` (path names, in order) whose offers stay unpriced, and why."""
        if self.failure is not None:
            return [f"offers for {country} are unpriced: {self.failure}"]
        notes: list[str] = []
        for kind in kinds:
            key = type_key(kind)
            if key in self.problems:
                notes.append(f"{kind} offers for {country} are unpriced: {self.problems[key]}")
            elif key not in self.prices:
                notes.append(f"{kind} offers for {country} are unpriced: the price list has no such type")
        return notes
