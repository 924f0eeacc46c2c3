"""The threshold result as a structured card (chat/cards.py)."""

from chat.cards import card_text, clean_card, fold_cards

CARD = {
    "kind": "threshold", "level": 4, "level_name": "Specialist / statutory",
    "reasons": ["A bruise on a baby who is not yet mobile."],
    "next_steps": ["Ring the Integrated Front Door the same day.", "Send a GP report."],
    "questions": [],
    "sources": [{"id": "bruising-non-mobile-babies", "title": "Bruising in babies"},
                {"id": "../etc/passwd", "title": "bad"}],
}


def test_clean_card_keeps_only_card_fields_and_well_formed_links():
    card = clean_card({**CARD, "html": "<script>", "level": 9})
    assert set(card) == {"kind", "level", "level_name", "reasons", "next_steps", "questions",
                         "sources"}
    assert card["level"] is None and card["sources"] == [
        {"id": "bruising-non-mobile-babies", "title": "Bruising in babies"}
    ]
    assert clean_card({"kind": "other"}) is None and clean_card("text") is None


def test_a_card_payload_is_folded_onto_the_text_before_it():
    messages = fold_cards([{"text": "From what you've described..."}, {"custom": {"card": CARD}},
                           {"text": "Anything else?"}])
    assert len(messages) == 2 and messages[0]["card"]["level"] == 4
    assert messages[0]["text"] == "From what you've described..."
    alone = fold_cards([{"custom": {"card": CARD}}])
    assert alone[0]["text"].startswith("Suggested level: Level 4 (Specialist / statutory).")


def test_card_text_lists_each_item_on_its_own_line():
    text = card_text(clean_card(CARD))
    assert "Next steps:\n- Ring the Integrated Front Door the same day.\n- Send a GP report." \
        in text
    assert text.endswith("In the guide: Bruising in babies")
