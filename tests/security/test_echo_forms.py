"""The forms vendors and tools really echo a credential in, each masked; the matcher is built without compiling.

``+`` shown as a space, another case, fullwidth (NFKC-equal), zero-width characters between the letters,
a prefix or suffix of three quarters of it (``key tokCANA…``), and hex, base64 or base32 of the secret
alone: each is masked wherever text leaves numbroker, and an offer whose vendor id holds one is a rejected
record, never an offer.
"""

from __future__ import annotations

import base64
import re
from decimal import Decimal

import pytest

from numbroker import AvailableNumber, Money, RejectedRecord
from numbroker._redaction import Redactor, redact_result

TOKEN = "tokCANARY/v+z=AB"
"""A 16-character token with the characters form-decoding and base64 change."""


def redactor(*secrets: str) -> Redactor:
    out = Redactor()
    for secret in secrets:
        out.add(secret)
    return out


@pytest.mark.parametrize(
    "form",
    [
        "tokCANARY/v z=AB",  # + shown as a space
        "TOKCANARY/V+Z=AB",
        "tokcanary/v+z=ab",
        "ｔｏｋＣＡＮＡＲＹ／ｖ＋ｚ＝ＡＢ",  # fullwidth
        "t\u200bok\u200dCAN\ufeffARY/v+z=AB",  # zero-width characters between letters
        "tokCANARY/v+z=",  # 14 of 16: a prefix
        "CANARY/v+z=AB",  # 13 of 16: a suffix
        TOKEN.encode().hex(),
        TOKEN.encode().hex().upper(),
        base64.b64encode(TOKEN.encode()).decode().rstrip("="),  # padding shows nothing of a secret
        base64.urlsafe_b64encode(TOKEN.encode()).decode().rstrip("="),
        base64.b32encode(TOKEN.encode()).decode().rstrip("="),
        "tok%43ANARY%2Fv%2Bz%3DAB",  # URL-encoded, mixed with the plain letters
        "\\u0074okCANARY\\/v+z=AB",  # JSON-escaped
    ],
)
def test_each_form_is_masked(form: str) -> None:
    """Each form, between other words, becomes *** and nothing else changes."""
    assert "key *** rejected" == redactor(TOKEN).redact(f"key {form} rejected")


def test_less_than_three_quarters_is_not_a_secret() -> None:
    """A prefix shorter than three quarters of a secret is ordinary text (a vendor's prefix, a common word)."""
    text = "key tokCANARY/v…"
    assert text == redactor(TOKEN).redact(text)


def test_an_offer_whose_id_is_the_hex_of_a_secret_is_a_rejected_record() -> None:
    """The hex of the token as a vendor id: never an offer (it would be bought, logged, ledgered)."""
    offer = AvailableNumber(
        provider="vobiz",
        offer_id=TOKEN.encode().hex(),
        e164="+13059693060",
        country="US",
        monthly_price=Money(amount=Decimal("0.5"), currency="USD"),
    )
    result = redact_result(redactor(TOKEN), offer, id_field="id")

    assert isinstance(result, RejectedRecord)
    assert result.offer_id == "***"
    assert "credential" in result.reason


def test_registering_secrets_compiles_no_pattern(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fifty credentials cost string operations, not regular expressions (no re.compile per secret)."""
    compiled: list[str] = []
    real = re.compile

    def counting(pattern: str, flags: int = 0) -> re.Pattern[str]:
        compiled.append(pattern)
        return real(pattern, flags)

    monkeypatch.setattr(re, "compile", counting)
    many = redactor(*(f"credential-{index:03d}-{TOKEN}" for index in range(50)))
    assert "*** ok" == many.redact(f"credential-007-{TOKEN} ok")
    assert [] == compiled
