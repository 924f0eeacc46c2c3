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
# Held-out batches written before the tuning that followed them (scored first, then fixed):
# varied roles, shorthand, typos, quotes, and none items with alarming words.
EXTRA5 = Path(__file__).parent / "data" / "risk_extra5.jsonl"
EXTRA6 = Path(__file__).parent / "data" / "risk_extra6.jsonl"
EXTRA7 = Path(__file__).parent / "data" / "risk_extra7.jsonl"
# Known misses fixed as families (forced marriage, secrecy, pregnancy by an adult, staying at an
# adult's flat, reported questions, own injuries, sibling scraps) with variants of each.
EXTRA8 = Path(__file__).parent / "data" / "risk_extra8.jsonl"
# frozen batches 2026-12-07 and 2026-12-07b, moved here once their misses were mended
EXTRA9 = Path(__file__).parent / "data" / "risk_extra9.jsonl"
EXTRA10 = Path(__file__).parent / "data" / "risk_extra10.jsonl"
# risk_extra11.jsonl (333 messages written blind to the engine) is training data for the learned
# second opinion only: the rules alone caught 107 of its 140 immediate items, and are not held
# to it here (test_classifier checks the model raises none of its "none" items above 5%).
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


@pytest.mark.parametrize("path", [EXTRA3, EXTRA4, EXTRA5, EXTRA6, EXTRA7, EXTRA8, EXTRA9,
                                  EXTRA10],
                         ids=lambda p: p.stem)
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
        ("a pregnant 13-year-old", "immediate"),  # most likely conceived at 12
        ("a 13 year old told me she's pregnant by a 25 year old", "immediate"),
        ("15yo says she is pregnant and the father of the baby is 28", "immediate"),
        ("14yo sleeping at a 19-year-old's flat", "immediate"),
        ("14yo stays at her 19 year old sister's flat", "none"),
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
    assert set(data) == {"urgency", "categories", "matches", "by", "reasons"}
    assert data["by"] == ["rules"] and data["reasons"] == []
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
    assert result.to_dict() == {"urgency": "none", "categories": [], "matches": [],
                                "by": ["rules"], "reasons": []}


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


@pytest.mark.parametrize(
    ("text", "urgency"),
    [
        # a statement that merely uses a question word is an account, not a question
        ("the baby has a fractured skull and parents can't explain it", "immediate"),
        ("this meets the threshold, the boy has a broken arm and dad can't explain how",
         "immediate"),
        ("the baby has signs of a head injury", "immediate"),
        # ... while a real question about a generic child stays a question
        ("Is a single bruise on a non-mobile baby always a referral?", "none"),
        ("What level is a baby who has a broken arm with no explanation?", "none"),
        ("threshold for a child who has been hit by a parent", "none"),
        ("Bullying policy: pupils who hit, kick or punch others will be excluded.", "none"),
        # a child's own account to the writer is real even inside a question
        ("what do I do, a girl has told me her dad hits her?", "immediate"),
        ("I've got a baby with a bruise on her cheek, what should I do?", "immediate"),
        ("Should I refer a child who told me today her uncle touches her?", "immediate"),
        ("If a pupil told me they were being abused, who would I call?", "none"),
        ("Lunchtime supervisor asked what to do if a child says they've been hit - "
         "I've told her to come to me", "none"),
    ],
)
def test_questions_and_accounts(risk_screen, text, urgency):
    assert risk_screen.screen(text).urgency == urgency


@pytest.mark.parametrize(
    ("text", "urgency"),
    [
        # grave injuries in the very young, whatever the story
        ("Little one (2) admitted with a skull fracture, dad says she rolled off the changing mat",
         "immediate"),
        ("a 2 year old has a broken femur, mum says he fell over in the garden", "immediate"),
        ("Health visitor: 4mo has rib fractures, no history of trauma", "immediate"),
        # a carer's account of a fall is a story to check, not an innocent cause
        ("mum says he fell down the stairs but he has bruises on his back and a black eye",
         "immediate"),
        # an accident or a game never explains sexual abuse
        ("she says her coach touched her private parts at football training", "immediate"),
        ('she told the TA that her stepdad "does sex on her" when mum is at bingo', "immediate"),
        # ... but does explain an everyday injury
        ("She fell off the climbing frame at playtime and grazed her knee, first aid given",
         "none"),
        ("The kids were hitting the pinata at the party and one got a bump on the head, all fine",
         "none"),
        ("The baby's mark was checked by the paediatrician and it's a birthmark, case closed",
         "concern"),
        # deliberate burns, cruel punishment, confinement
        ("hes got a burn on his hand n says mum held it on the cooker cos he was naughty",
         "immediate"),
        ("her step mum poured boiling water over her legs", "immediate"),
        ("girl says mum's boyfriend made her sleep in the garden all night as punishment",
         "immediate"),
        ("Y10 boy is kept in his room with a lock on the outside of the door", "immediate"),
        ("Dad put the kettle on and made her a hot chocolate", "none"),
        # trafficking, self-injury, a child out alone, FGM talked around
        ("pupil says she was brought to the UK by a woman who isn't her mum, she works every "
         "day in a nail bar and isn't allowed out", "immediate"),
        ("Teen said he cut his arms really deep and it's bleeding through his sleeve",
         "immediate"),
        ("There's a 4yo wandering around the car park alone, no adult", "immediate"),
        ("older cousin is 'taking her to be done' over the summer, mum says its tradition",
         "immediate"),
        # past or passive thoughts of suicide are a concern
        ("Teenager scratches her arms with a compass when stressed, doesn't want to die",
         "concern"),
        ("The family are going to Pakistan for a wedding in the summer holidays", "concern"),
    ],
)
def test_families_of_harm(risk_screen, text, urgency):
    assert risk_screen.screen(text).urgency == urgency


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("4mo has bruising", 0),
        ("3/12 old with a burn", 0),
        # clinical shorthand: months (/12) or weeks (/52) then the sex, with no "old"
        ("HV visit: 10/12 F in car seat", 0),
        ("6/52 M, bruise to cheek", 0),
        ("a 9yr old boy", 9),
        ("14y/o boy", 14),
        ("Pt 15F attended with her partner", 15),
    ],
)
def test_short_ages_are_read(risk_screen, text, years):
    from guidance.ages import find_ages

    folded, _ = risk_screen.folder.fold(text)
    assert years in [age for _, _, age in find_ages(folded, 4)]


def test_a_date_is_not_read_as_an_infant_age(risk_screen):
    from guidance.ages import find_ages

    folded, _ = risk_screen.folder.fold("Seen on 10/12 for a review, Year 9 girl")
    assert 0 not in [age for _, _, age in find_ages(folded, 4)]


def test_short_forms_keep_offsets_into_the_original_text(risk_screen):
    text = "GP: 4mo, bruising to both ears. Pt 15F attended with her partner aged 26"
    result = risk_screen.screen(text)
    assert result.urgency == "immediate"
    for match in result.matches:
        assert text[match.start:match.end] == match.text
