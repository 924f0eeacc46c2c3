"""The risk screen: acceptance on the labelled sets, the cue rules, ages, offsets and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

EXTRA = Path(__file__).parent / "data" / "risk_extra.jsonl"
# Fresh cases written for a generalisation pass (families of failure, not single sentences).
EXTRA2 = Path(__file__).parent / "data" / "risk_extra2.jsonl"
# Fresh styles: long case notes, GP shorthand, police notices, quotes, dialect, euphemisms, and
# none items full of alarming words (questions, policy text, negations, resolved events).
EXTRA3 = Path(__file__).parent / "data" / "risk_extra3.jsonl"
EXTRA4 = Path(__file__).parent / "data" / "risk_extra4.jsonl"
RANK = {"none": 0, "concern": 1, "immediate": 2}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def acceptance_failures(screen, rows: list[dict]) -> tuple[list[str], float]:
    """Failures against the thresholds, and the share of concern items at concern or higher."""
    results = screen.screen_many([row["text"] for row in rows])
    failures, concern_total, concern_ok = [], 0, 0
    for row, result in zip(rows, results, strict=True):
        label, got = row["label"], result.urgency
        if label == "immediate" and got != "immediate":
            failures.append(f"{row['id']}: immediate item screened {got}: {row['text']}")
        if label == "none" and got == "immediate":
            failures.append(f"{row['id']}: none item screened immediate: {row['text']}")
        if label == "concern":
            concern_total += 1
            concern_ok += RANK[got] >= RANK["concern"]
    return failures, concern_ok / concern_total if concern_total else 1.0


def test_dev_set_meets_the_acceptance_thresholds(risk_screen, shared_eval):
    rows = read_jsonl(shared_eval / "dev_risk.jsonl")
    failures, concern_share = acceptance_failures(risk_screen, rows)
    assert failures == []
    assert concern_share >= 0.9


def test_second_extra_set_meets_the_acceptance_thresholds(risk_screen):
    rows = read_jsonl(EXTRA2)
    assert len(rows) >= 150
    assert {row["label"] for row in rows} == {"immediate", "concern", "none"}
    failures, concern_share = acceptance_failures(risk_screen, rows)
    assert failures == []
    assert concern_share >= 0.9


@pytest.mark.parametrize("path", [EXTRA3, EXTRA4], ids=lambda p: p.stem)
def test_fresh_style_sets_meet_the_acceptance_thresholds(risk_screen, path):
    rows = read_jsonl(path)
    assert {row["label"] for row in rows} == {"immediate", "concern", "none"}
    failures, concern_share = acceptance_failures(risk_screen, rows)
    assert failures == []
    assert concern_share >= 0.9


def test_extra_set_meets_the_acceptance_thresholds(risk_screen):
    rows = read_jsonl(EXTRA)
    assert len(rows) >= 60
    assert {row["label"] for row in rows} == {"immediate", "concern", "none"}
    failures, concern_share = acceptance_failures(risk_screen, rows)
    assert failures == []
    assert concern_share >= 0.9


@pytest.mark.parametrize(
    ("text", "urgency"),
    [
        # a question about a topic is not a disclosure
        ("what are the signs of FGM?", "none"),
        ("Is self-harm level 3 or level 4?", "none"),
        # ... but a question wrapped round a disclosure still is one
        ("what should I do, she told me her uncle touches her", "immediate"),
        ("Not sure what the threshold is but dad hits the kids with a belt", "immediate"),
        # negation and resolution govern only their own clause
        ("Bruise on his shin from football; account consistent and mum confirmed.", "none"),
        ("No marks seen, but she says mum's partner strangled mum in front of her.", "immediate"),
        ("Checked at swimming, no bruises, no concerns, just recording.", "none"),
        ("Baby has a bruise on his cheek, no explanation given.", "immediate"),
        # co-occurrence: new wording of the same shape, and cues that govern it
        ("his ould fella lamped him with the hoover pipe", "immediate"),
        ("Child denied being hit, kicked or hurt at home and there were no marks.", "concern"),
        ("Mum denies it but the boy says she leathered him", "immediate"),
        ("He beat me at chess again, gutted!", "concern"),
        ("case of the boy who was punched last year is now closed", "concern"),
        # hypotheticals and generic conditions
        ("Training scenario: a child says he was hit - what should staff do?", "none"),
        ("If a child discloses sexual abuse, who do I ring?", "none"),
        ("A neighbour rang to say the kids have been left on their own since Friday.",
         "immediate"),
        # third-party reports
        ("Her friend told me that her dad beats her when he's drunk.", "immediate"),
        # text-speak and typos
        ("he sed his step dad punched him and their is blood on his shirt", "immediate"),
        ("cut herself again n says shes been saving tablets", "immediate"),
        ("some1 made her send pics n now threatening to post them", "immediate"),
        # nothing to see
        ("Thanks, that's really helpful", "none"),
        ("How do I complete an Early Help Assessment?", "none"),
    ],
)
def test_cue_rules(risk_screen, text, urgency):
    assert risk_screen.screen(text).urgency == urgency


@pytest.mark.parametrize(
    ("text", "urgency"),
    [
        ("14yo has a 24-year-old 'boyfriend' who collects her from school.", "immediate"),
        ("She is 15 and her boyfriend is 19.", "immediate"),
        ("13 year old girl seeing a lad who is 17", "immediate"),  # 4 years older
        ("Year 9 girl has been sexting her 14-year-old boyfriend.", "concern"),
        ("A 12-year-old in my clinic is pregnant.", "immediate"),
        ("Year 7 pupil is pregnant.", "immediate"),
        ("15yo is pregnant and attending antenatal appointments.", "concern"),
        ("Her mum's boyfriend is 30.", "none"),
    ],
)
def test_age_and_relationship_rules(risk_screen, text, urgency):
    assert risk_screen.screen(text).urgency == urgency


def test_result_shape_and_offsets_into_the_original_text(risk_screen):
    text = "he sed his step dad punched him"
    result = risk_screen.screen(text)
    data = result.to_dict()
    assert set(data) == {"urgency", "categories", "matches"}
    assert data["urgency"] == "immediate"
    assert data["categories"][0] == "physical_abuse"
    for match in data["matches"]:
        assert set(match) == {"text", "category", "start", "end"}
        assert text[match["start"]:match["end"]] == match["text"]
    assert any(m["text"].endswith("punched him") for m in data["matches"])


@pytest.mark.parametrize(
    "text",
    [
        "Ｓｈｅ ｓａｉｄ ｈｅｒ ｄａｄ ｂｅａｔｓ ｈｅｒ",  # full-width letters
        "she said her dаd r\u200baped her",  # Cyrillic a, zero-width space
        "🙂  <b>Uncle</b>   touches   my\tprivates 🙂",  # emoji, markup, odd spacing
        "Mum\u2019s partner strangled mum \u2014 she\u2019s scared",  # smart quotes, dash
        "she said her dad hi\u0301t her",  # a combining accent
        "\x00\x07 he hiiiit me \x1b",  # control characters, stretched word
    ],
)
def test_odd_unicode_still_screens_and_offsets_hold(risk_screen, text):
    result = risk_screen.screen(text)
    assert result.urgency in ("immediate", "concern")
    for match in result.matches:
        assert text[match.start:match.end] == match.text
        assert match.text.strip()


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "\u200b\u200b", "🙂", "?!?"])
def test_empty_and_blank_input_is_none(risk_screen, text):
    result = risk_screen.screen(text)
    assert result.to_dict() == {"urgency": "none", "categories": [], "matches": []}


def test_a_huge_message_is_screened_whole(risk_screen):
    filler = "The family are doing well and school has no worries. " * 20_000
    text = filler + "Later she said her uncle touches her privates. " + filler
    assert len(text) > 2_000_000  # beyond spaCy's own limit for one doc
    result = risk_screen.screen(text)
    assert result.urgency == "immediate"
    match = next(m for m in result.matches if m.category == "sexual_abuse")
    assert text[match.start:match.end] == match.text
    assert match.start > len(filler)


def test_screen_many_agrees_with_screen(risk_screen):
    texts = ["", "Dad hit him with a belt", "What is neglect?", "Mum seems low", "x" * 50]
    many = risk_screen.screen_many(texts)
    assert [r.to_dict() for r in many] == [risk_screen.screen(t).to_dict() for t in texts]
    assert risk_screen.screen_many(iter(texts[:2]))[1].urgency == "immediate"


def test_results_are_frozen(risk_screen):
    result = risk_screen.screen("Dad hit him")
    with pytest.raises(AttributeError):
        result.urgency = "none"  # type: ignore[misc]
