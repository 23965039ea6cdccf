"""Text is decoded and folded in runs, once, with positions kept: the same folding as decoding it whole.

The redactor splits a text into plain ASCII stretches and runs of escaped units and non-ASCII characters,
decodes each run once (a vendor repeats the same runs in every record) and maps positions back only where
a form of a secret is found. These properties pin that shortcut to the plain definition: the folded text
is the whole text decoded and folded, every stretch found maps back onto text that shows the secret, and a
secret hidden in any mix of escapes and noise is masked.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from numbroker._redaction import Redactor, _decoded, _fold, _Folded
from numbroker.testing.hostile import ESCAPINGS, escaped_forms

TOKEN = "tokCANARY/v+z=AB"

PIECES = st.sampled_from(
    [
        "a",
        "Z",
        " ",
        "+",
        "%",
        "&",
        "\\",
        "%2F",
        "%252f",
        "\\u0041",
        "\\\\u0062",
        "\\/",
        '\\"',
        "&#x41;",
        "&#66;",
        "&amp;",
        "\x1b[31m",
        "\u200b",
        "\u00ad",
        "Ａ",
        "ｂ",
        "é",
        "\\ud83d\\ude00",
        "😀",
        "%F0%9F%98%80",
    ]
)
TEXTS = st.lists(PIECES, max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_the_folded_text_is_the_whole_text_decoded_and_folded(text: str) -> None:
    """Run by run or all at once, a text folds to the same characters."""
    assert _fold(_decoded(text)) == _Folded(text).text


@settings(max_examples=200, deadline=None)
@given(TEXTS, TEXTS, st.sampled_from(ESCAPINGS))
def test_a_secret_between_any_noise_is_masked_and_the_noise_kept(before: str, after: str, escaping: str) -> None:
    """Every escaped form of the secret, between noise of escapes and wide characters, is masked."""
    redactor = Redactor()
    redactor.add(TOKEN)
    form = escaped_forms(TOKEN)[escaping]  # type: ignore[index]
    redacted = redactor.redact(f"{before} {form} {after}")
    assert f"{before} *** {after}" == redacted
    assert not redactor.shows_secret(redacted)


def test_positions_map_back_over_escapes_and_wide_characters() -> None:
    """A secret written half in escapes, half in fullwidth letters, is masked exactly: nothing around it changes."""
    redactor = Redactor()
    redactor.add(TOKEN)
    mixed = "\\u0074\\u006f%6BＣＡＮＡＲＹ\\/v+z=AB"
    assert "région *** fin" == redactor.redact(f"région {mixed} fin")
    assert "&#x41; *** é" == redactor.redact(f"&#x41; {mixed} é")
