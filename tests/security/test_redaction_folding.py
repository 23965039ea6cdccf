"""Text is decoded and folded in runs, once, with positions kept: the same folding as decoding it whole.

The redactor splits a text into plain ASCII stretches and runs of escaped units and non-ASCII characters,
decodes each run once (a vendor repeats the same runs in every record) and maps positions back only where
a form of a secret is found. These properties pin that shortcut to the plain definition: the folded text
is the whole text decoded and folded, every stretch found maps back onto text that shows the secret, and a
secret hidden in any mix of escapes and noise is masked. Long text, first searched line by distinct line,
is masked exactly as the search of the whole text masks it.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numbroker import _redaction
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


LINES = st.lists(
    st.sampled_from(['  "provider": "vobiz",', '  "region": "NY",', "{", "},", "", "  ", "x" * 40, "+", "a b"]),
    min_size=1,
    max_size=12,
)


def _unscreened(redactor: Redactor, text: str, monkeypatch: pytest.MonkeyPatch) -> str:
    with monkeypatch.context() as patch:
        patch.setattr(_redaction, "_SCREEN_FROM", len(text) + 1)
        return redactor.redact(text)


@settings(max_examples=150, deadline=None)
@given(LINES, st.sampled_from(ESCAPINGS), st.sampled_from(["first", "last", "middle", "split", "nowhere"]))
def test_long_text_searched_line_by_distinct_line_is_redacted_as_when_searched_whole(
    lines: list[str], escaping: str, where: str
) -> None:
    """Text long enough to be screened line by distinct line is masked exactly as the whole search masks it."""
    redactor = Redactor()
    redactor.add(TOKEN)
    form = escaped_forms(TOKEN)[escaping]  # type: ignore[index]
    body = lines * (_redaction._SCREEN_FROM // max(1, len("\n".join(lines))) + 2)
    if where == "first":
        body = [f"key {form}", *body]
    elif where == "last":
        body = [*body, f'"{form}"']
    elif where == "middle":
        body.insert(len(body) // 2, f"  {form},")
    elif where == "split":  # a line break inside the secret: what the halves show is masked alike
        body.insert(len(body) // 2, f"{form[:4]}\n{form[4:]}")
    text = "\n".join(body) + "\n"
    assert len(text) >= _redaction._SCREEN_FROM

    with pytest.MonkeyPatch.context() as monkeypatch:
        assert _unscreened(redactor, text, monkeypatch) == redactor.redact(text)
    redacted = redactor.redact(text)
    assert not redactor.shows_secret(redacted)
    if where != "split":
        assert (redacted == text) == (where == "nowhere")


def test_long_text_is_searched_whole_when_a_form_holds_a_line_break(monkeypatch: pytest.MonkeyPatch) -> None:
    """A secret whose decoded form breaks a line (it holds ``\\n`` as text) is searched in the whole text."""
    secret = "tok\\nCANARY42"  # decodes to a form with a line break in it
    redactor = Redactor()
    redactor.add(secret)
    text = ("filler line\n" * (_redaction._SCREEN_FROM // 12 + 1)) + "tok\nCANARY42 end\n"
    assert "*** end" in redactor.redact(text)
    assert _unscreened(redactor, text, monkeypatch) == redactor.redact(text)


@given(st.characters(min_codepoint=0x80))
def test_a_run_starts_at_every_escape_character_and_every_non_ascii_one(char: str) -> None:
    """The class a run starts with holds exactly ``\\``, ``%``, ``&``, ESC and every non-ASCII character."""
    start = re.compile(_redaction._RUN_START)
    ascii_members = {chr(code) for code in range(0x80) if start.fullmatch(chr(code))}
    assert ascii_members == {"\\", "%", "&", "\x1b"}
    for edge in ("\x80", "\xff", "\u0100", "\ud7ff", "\ud800", "\uffff", "\U00010000", "\U0010ffff", char):
        assert start.fullmatch(edge)
