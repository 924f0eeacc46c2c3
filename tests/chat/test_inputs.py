"""The one input-cleaning function and its use on parsed payloads."""

from __future__ import annotations

from chat.input_values import clean_values
from chat.inputs import clean_text


def test_surrogates_become_the_replacement_character_and_controls_a_space():
    assert clean_text("a\ud800b\udfffc") == "a\ufffdb\ufffdc"
    assert clean_text("a\x00b\x07c\x1bd\x7fe\x85f") == "a b c d e f"
    # Tabs and line breaks are kept; the length never changes (limits still apply as sent).
    assert clean_text("one\ttwo\nthree\r\n") == "one\ttwo\nthree\r\n"
    odd = "x\ud800\x00" * 1000
    assert len(clean_text(odd)) == len(odd)
    clean_text(odd).encode("utf-8")  # encodable, as databases and responses need


def test_ordinary_unicode_is_untouched():
    text = "Zoë's mum said \u201cno\u201d \U0001F622 \u0644\u0627 \u200b"
    assert clean_text(text) == text


def test_every_string_of_a_payload_is_cleaned_keys_included():
    payload = {"event": {"text": "hit\ud800", "blocks": [{"t": "a\x00"}], "n": 3, "ok": True},
               "k\x00": None}  # fmt: skip
    assert clean_values(payload) == {
        "event": {"text": "hit\ufffd", "blocks": [{"t": "a "}], "n": 3, "ok": True},
        "k ": None,
    }
