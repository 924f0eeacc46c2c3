"""The risk lexicon loader: Wirral loads clean; every problem is reported with its line."""

from __future__ import annotations

from pathlib import Path

from guidance.lexicon import Gap, NotSet, SetRef, Words, load_lexicon, parse_pattern

REQUIRED_CATEGORIES = {
    "physical_abuse", "sexual_abuse", "baby_injury", "sexual_exploitation",
    "criminal_exploitation", "fgm", "forced_marriage", "suicide_self_harm", "child_unsafe_now",
    "domestic_abuse", "radicalisation", "missing", "neglect", "substance_misuse",
    "parental_mental_health", "online_abuse", "threat_to_life", "underage_pregnancy",
    "risky_adult",
}


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "lexicon.yml").write_text(text, encoding="utf-8")
    return tmp_path


def test_wirral_lexicon_loads_without_problems(lexicon):
    ids = {c.id for c in lexicon.categories}
    assert len(ids) >= 14
    assert REQUIRED_CATEGORIES <= ids
    for category in lexicon.categories:
        assert category.label and category.urgency in ("immediate", "concern")
        assert category.patterns
    for kind in ("question", "hypothetical", "resolved", "accident", "account",
                 "disclosure", "firsthand"):
        assert lexicon.cues[kind], kind
    # negation and denial are the shared cue scopes (cues.yml), not lexicon patterns
    assert {"negation", "denial"} <= set(lexicon.scopes.kinds)
    assert lexicon.normalise["sed"] == "said"
    assert lexicon.normalise["wiv"] == "with"
    assert lexicon.normalise["some1"] == "someone"
    assert lexicon.normalise["n"] == "and"
    assert lexicon.normalise["their is"] == "there is"
    kinds = {(r.kind, r.child_under, r.urgency) for r in lexicon.age_rules}
    assert ("partner", 16, "immediate") in kinds
    assert ("pregnancy", 14, "immediate") in kinds  # 13: most likely conceived at 12


def test_missing_file_is_a_problem_not_an_exception(tmp_path):
    lexicon, problems = load_lexicon(tmp_path)
    assert lexicon is None
    assert len(problems) == 1
    assert problems[0].file == tmp_path / "lexicon.yml"
    assert "cannot read" in problems[0].message


def test_invalid_yaml_names_the_line(tmp_path):
    lexicon, problems = load_lexicon(write(tmp_path, "categories:\n  - id: x\n   bad: [\n"))
    assert lexicon is None
    assert problems and problems[0].line is not None
    assert "invalid YAML" in problems[0].message


def test_every_content_problem_is_reported_with_its_line(tmp_path):
    text = (
        "sets:\n"  # 1
        "  adult: [dad, mum]\n"  # 2
        "categories:\n"  # 3
        "  - id: hit\n"  # 4
        "    label: Hitting\n"  # 5
        "    urgency: urgent\n"  # 6  bad urgency
        "    patterns:\n"  # 7
        "      - \"@adult hit @victim\"\n"  # 8  unknown set
        "      - \"hit *99 me\"\n"  # 9  bad gap
        "  - id: hit\n"  # 10 duplicate id, missing label
        "    urgency: concern\n"  # 11
        "    patterns: [\"hit\"]\n"  # 12
        "cues:\n"  # 13
        "  maybe: [\"perhaps\"]\n"  # 14 unknown cue kind
        "ages:\n"  # 15
        "  rules:\n"  # 16
        "    - {kind: partner, category: nowhere, urgency: immediate, child_under: 16}\n"  # 17
    )
    lexicon, problems = load_lexicon(write(tmp_path, text))
    assert lexicon is None
    by_line = {(p.line, p.message.split(":")[0]) for p in problems}
    lines = sorted(p.line for p in problems)
    assert 6 in lines  # urgency
    assert 8 in lines and any("unknown set '@victim'" in p.message for p in problems)
    assert 9 in lines and any("bad gap" in p.message for p in problems)
    assert 10 in lines  # missing label (the duplicate has no label so it is skipped)
    assert 14 in lines and any("unknown cue kind" in p.message for p in problems)
    assert 17 in lines
    assert all(p.file == tmp_path / "lexicon.yml" for p in problems)
    assert len(by_line) >= 6


def test_duplicate_category_ids_are_reported(tmp_path):
    text = (
        "categories:\n"
        "  - {id: a, label: A, urgency: concern, patterns: [x]}\n"
        "  - {id: a, label: B, urgency: concern, patterns: [y]}\n"
    )
    _, problems = load_lexicon(write(tmp_path, text))
    assert [p.line for p in problems if "duplicate" in p.message] == [3]


def test_parse_pattern_slots():
    slots, error = parse_pattern("@adult *2 hit|=punched me? !@thing", {"adult", "thing"})
    assert error is None
    assert slots[0] == SetRef("adult")
    assert slots[1] == Gap(2)
    assert slots[2] == Words(("hit", "punched"), (False, True))
    assert slots[3] == Words(("me",), (False,), optional=True)
    assert slots[4] == NotSet((), "thing")
    assert parse_pattern("mum's_partner|@adult hit", {"adult"})[0][0].alternatives == (
        "mum's partner", "@adult")


def test_parse_pattern_rejects_bad_shapes():
    for text, message in [
        ("", "empty"),
        ("* hit", "must start"),
        ("hit? me", "must start"),
        ("hit *", "end with a gap"),
        ("hit * * me", "two gaps"),
        ("hit @nowhere", "unknown set"),
        ("hit a||b", "empty alternative"),
        ("missing *3 #num|two days", "cannot be one of a choice"),
    ]:
        slots, error = parse_pattern(text, set())
        assert slots == () and message in error, text


def test_a_second_council_can_write_its_own_lexicon(tmp_path, nlp):
    from guidance.risk import RiskScreen

    text = (
        "normalise: {gonna: going to}\n"
        "sets:\n"
        "  kin: [da, mam]\n"
        "categories:\n"
        "  - id: skelped\n"
        "    label: Skelping\n"
        "    urgency: immediate\n"
        # a dialect word is not in the lemma table, so its forms are listed
        "    patterns: [\"@kin *2 skelp|skelps|skelped me|him|her\"]\n"
        "cues:\n"
        "  question: [\"?\"]\n"
    )
    lexicon, problems = load_lexicon(write(tmp_path, text))
    assert problems == []
    screen = RiskScreen(lexicon, nlp)
    assert screen.screen("Her da skelps her").urgency == "immediate"
    assert screen.screen("the weather is fine").urgency == "none"


def test_cooccurrence_rules_load_and_catch_new_wording(tmp_path, nlp):
    from guidance.risk import RiskScreen

    text = (
        "sets:\n"
        "  harm: [punch, batter, leather, leathered]\n"
        "  victim: [him, her, boy, girl]\n"
        "categories:\n"
        "  - {id: physical, label: Physical, urgency: immediate, patterns: [\"zzzz\"]}\n"
        "cooccur:\n"
        "  - {category: physical, within: 4, all: [\"@harm\", \"@victim\"]}\n"
    )
    (tmp_path / "cues.yml").write_text(
        "clause_breaks: [\",\"]\n"
        "kinds:\n"
        "  negation: {direction: forward, window: 4, stop: [and], cues: [\"not\"]}\n",
        encoding="utf-8")
    lexicon, problems = load_lexicon(write(tmp_path, text))
    assert problems == []
    screen = RiskScreen(lexicon, nlp)
    assert screen.screen("his ould fella leathered him on sunday").urgency == "immediate"
    assert screen.screen("the girl says she was battered by him").urgency == "immediate"
    # a negation governing the head lowers it one level
    assert screen.screen("he did not punch her").urgency == "concern"
    assert screen.screen("punch. the girl is fine").urgency == "none"  # another sentence
    assert screen.screen("punch the bag, then go home with the boy").urgency == "none"


def test_bad_cooccurrence_rules_are_reported(tmp_path):
    text = (
        "sets:\n"
        "  harm: [hit]\n"
        "categories:\n"
        "  - {id: a, label: A, urgency: concern, patterns: [x]}\n"
        "cooccur:\n"
        "  - {category: nope, all: [\"@harm\", \"him\"]}\n"
        "  - {category: a, all: [\"@harm\"]}\n"
        "  - {category: a, all: [\"@missing\", \"him\"]}\n"
        "  - {category: a, within: 99, all: [\"@harm\", \"him\"]}\n"
    )
    lexicon, problems = load_lexicon(write(tmp_path, text))
    assert lexicon is None
    assert [p.line for p in problems] == [6, 7, 8, 9]


def test_innocent_causes_lower_only_the_categories_that_allow_them(tmp_path, nlp):
    from guidance.risk import RiskScreen

    text = (
        "categories:\n"
        "  - {id: hurt, label: Hurt, urgency: immediate, patterns: [\"hurt him\"]}\n"
        "  - id: touch\n"
        "    label: Touch\n"
        "    urgency: immediate\n"
        "    innocent_causes: false\n"
        "    patterns: [\"touched him\"]\n"
        "cues:\n"
        "  accident: [\"at football\"]\n"
        "  account: [\"mum says\"]\n"
    )
    lexicon, problems = load_lexicon(write(tmp_path, text))
    assert problems == []
    assert [c.innocent_causes for c in lexicon.categories] == [True, False]
    screen = RiskScreen(lexicon, nlp)
    assert screen.screen("a lad hurt him at football").urgency == "concern"
    assert screen.screen("mum says a lad hurt him at football").urgency == "immediate"
    assert screen.screen("the coach touched him at football").urgency == "immediate"


def test_bad_innocent_causes_is_reported(tmp_path):
    text = (
        "categories:\n"
        "  - id: a\n"
        "    label: A\n"
        "    urgency: concern\n"
        "    innocent_causes: sometimes\n"
        "    patterns: [x]\n"
    )
    _, problems = load_lexicon(write(tmp_path, text))
    assert [p.line for p in problems] == [5]
