"""Money for people: currency symbols and minor digits, never rounded."""

from __future__ import annotations

from decimal import Decimal

import pytest

from numbroker import Money
from numbroker._cli.tables import format_money


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("3.500000", "EUR", "€3.50"),
        ("0.0050", "USD", "$0.005"),
        ("90.2", "INR", "₹90.20"),
        ("1234.5", "GBP", "£1,234.50"),
        ("100", "JPY", "¥100"),
        ("0.1234", "BHD", "0.1234 BHD"),
        ("0", "USD", "$0.00"),
    ],
)
def test_money_is_shown_with_symbol_and_minor_digits_never_rounded(amount: str, currency: str, shown: str) -> None:
    """Trailing zeros beyond the currency's digits are dropped, significant sub-cent digits never are."""
    money = Money(amount=Decimal(amount), currency=currency)

    assert shown == format_money(money)
    assert Decimal(shown.replace(",", "").lstrip("€$₹£¥").split()[0]) == money.amount


def test_missing_price_is_a_dash() -> None:
    """A price the vendor does not give is shown as a dash, never as zero."""
    assert "—" == format_money(None)


def test_the_json_document_is_written_exactly_as_the_standard_library_would() -> None:
    """One piece, same text as json.dumps(indent=2, ensure_ascii=False): non-ASCII, nesting, empties, numbers."""
    import json

    from numbroker._cli.output import json_text

    document: dict[str, object] = {
        "status": "complete",
        "offers": [{"e164": "+441132421783", "region": "Zürich", "monthly_price": {"amount": "0.59", "currency": "€"}}],
        "empty": [],
        "nothing": {},
        "none": None,
        "flags": [True, False],
        "count": 12345678901234,
    }
    assert json.dumps(document, indent=2, ensure_ascii=False) + "\n" == json_text(document)
