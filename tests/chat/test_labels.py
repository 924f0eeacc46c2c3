"""Category ids read as the pack's human labels wherever a user sees one (issue 14)."""

from __future__ import annotations

from chat.cards import disclosure_card, threshold_card
from chat.labels import category_label, category_list, humanise_reason

LABELS = {"domestic_abuse": "Domestic abuse in the child's home", "missing": "Missing",
          "baby_injury": "Injury or bruising to a non-mobile baby"}


def test_a_category_reads_as_its_label_and_an_unknown_id_never_as_an_id():
    assert category_label("domestic_abuse", LABELS) == "Domestic abuse in the child's home"
    assert category_label("county_lines_risk", LABELS) == "County lines risk"
    assert category_list(["baby_injury", "domestic_abuse"], LABELS) == (
        "Injury or bruising to a non-mobile baby; Domestic abuse in the child's home")
    assert category_list([], LABELS, empty="None recorded") == "None recorded"


def test_the_screens_list_of_ids_in_a_reason_reads_as_labels():
    reason = ("The risk screen found signs that a child may be at risk of significant harm now "
              "(baby_injury, domestic_abuse).")
    assert humanise_reason(reason, LABELS) == (
        "The risk screen found signs that a child may be at risk of significant harm now "
        "(Injury or bruising to a non-mobile baby; Domestic abuse in the child's home).")
    # ordinary words that happen to be ids are left alone outside such a list
    prose = "Information is missing (see the section on missing children)."
    assert humanise_reason(prose, LABELS) == prose


def test_cards_of_the_real_pack_carry_no_category_ids(engine):
    labels = engine.pack.lexicon.labels
    text = "A 9-month-old has a bruise on his cheek, mum says he rolled off."
    for card in (disclosure_card(engine, text, "gp"),
                 threshold_card(engine.assess(text), "Specialist", labels)):
        reasons = " ".join(card["reasons"])
        assert not any(c in reasons for c in labels if "_" in c), reasons
        assert labels["baby_injury"] in reasons
