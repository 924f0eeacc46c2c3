from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from guidance.assess import MASH_DECIDES, Assessor, prepare
from guidance.contacts import load_manifest
from guidance.levels import load_levels

DATA = Path(__file__).parent / "data"
# Every labelled batch, including the held-out ones written before tuning (extra3, extra4).
EXTRA_FILES = sorted(DATA.glob("vignettes_extra*.jsonl"))


@dataclass
class FakeRisk:
    urgency: str = "none"
    categories: list[str] = field(default_factory=list)


class FixedScreen:
    """A stand-in risk screen, so the assessor's own rules are tested on their own."""

    def __init__(self, urgency: str = "none", categories: list[str] | None = None):
        self.result = FakeRisk(urgency, categories or [])

    def screen(self, text: str) -> FakeRisk:
        return self.result


@pytest.fixture(scope="module")
def levels(pack_dir):
    manifest, _ = load_manifest(pack_dir)
    loaded, _ = load_levels(pack_dir, manifest.contacts)
    return loaded


@pytest.fixture(scope="module")
def assessor(levels, nlp):
    return Assessor(levels, FixedScreen(), nlp)


@pytest.mark.parametrize(
    ("text", "level"),
    [
        # negation: a named risk that is ruled out does not count
        ("15yo using cannabis, out late, no evidence of exploitation", 3),
        ("Toddler with a bruise on his shin from a fall, no unexplained marks", 1),
        # past and resolved: historic domestic abuse with the relationship ended
        ("Past domestic abuse; mum ended the relationship, child anxious", 3),
        ("Domestic abuse at home, dad violent to mum", 4),
        # mitigating context lowers levels 2-3 ...
        ("Mum has depression", 3),
        ("Mum has depression, dad supportive, children well cared for", 2),
        # ... but never a level-4 indicator
        ("Bruise on a 3 month old baby, family supportive and coping well", 4),
        ("Girl says she will be married abroad against her will; parents supportive", 4),
        # ages written in several ways
        ("13yo with a 21 year old boyfriend", 4),
        ("Bruising on a 4-month-old", 4),
        # text-speak apostrophes dropped
        ("mums new partner punched her, shes scared to go home", 4),
        # several single-service needs together are level 3
        ("Poor hygiene, head lice, 85% attendance, rent arrears, missed health checks", 3),
        ("88% attendance and often late", 2),
        # a negated context cue does not mitigate
        ("Missed hospital appointments, mum not engaging", 3),
        ("Missed hospital appointments, mum now engaging", 2),
        # a single episode lowers an indicator marked "once" (in the same sentence) ...
        ("14yo cut herself once after an argument, first time, parents supportive", 2),
        ("14yo has cut herself several times this term", 3),
        # ... but "once a week" and "more than once" are frequencies
        ("14yo cuts herself once a week", 3),
        ("14yo has cut herself more than once", 3),
        # a life event with the child doing well is universal; support alone is not enough
        ("Parents separated amicably, shared care works well, child doing fine", 1),
        ("Parents separated, 9yo tearful in class, mum supportive", 2),
        ("Grandad died last year, the children are doing really well", 1),
        # agreeing to help is consent, not a sign the need is met
        ("Mum struggling to cope with the baby, agrees to family support", 3),
        ("Mum struggling to cope, dad supportive and children well cared for", 2),
        # a family agreeing to a TAF or early help assessment is a multi-agency response
        ("Attendance 85%, often late, mum agrees to an early help assessment", 3),
        # "well looked after" is not a looked-after child
        ("Mum has depression, children well looked after, dad helps", 2),
        ("Child is looked after by the local authority and settled in placement", 4),
        # private fostering described without the words
        ("14yo living with a woman who is not a relative while her parents are abroad", 4),
        # combinations: the "toxic trio" together, and several level-3 needs with help refused
        ("Dad drinks heavily, police called to a domestic incident, mum has depression", 4),
        ("Dad drinks heavily, police called to a domestic incident", 3),
        ("15yo drinking, attendance 70%, excluded twice, parents refused early help", 4),
        ("15yo drinking, attendance 70%, parents agreed to a TAF", 3),
        # a permanent exclusion is level 4; the risk of one is level 3
        ("Y10 boy at risk of permanent exclusion after several suspensions", 3),
        ("Y9 boy was permanently excluded in January and has no school place", 4),
        # a wedding abroad arranged for a 16 year old who does not want it
        ("Girl aged 16 says her family have booked flights to Bangladesh for her wedding", 4),
    ],
)
def test_rules(assessor, text, level):
    assert assessor.assess(text).level == level, assessor.assess(text).reasons


def test_nothing_found_is_unplaced_with_questions_and_the_consultation_route(assessor):
    # Never level 1 by default (issue 12): no level, the pack's clarifying questions, and
    # the front door number for a consultation.
    result = assessor.assess("Question about the school trip forms")
    assert result.level is None and result.status == "unplaced" and not result.placed
    assert "Nothing in the description shows which level" in result.reasons[0]
    assert 2 <= len(result.questions) <= 3
    assert any("0151 606 2008" in step and "consultation" in step for step in result.next_steps)
    data = result.to_dict()
    assert data["level"] is None and data["status"] == "unplaced"
    assert data["questions"] == result.questions


@pytest.mark.parametrize(
    "text",
    [
        "Toddler with a bruise on his leg",  # an injury with no account: not a strength
        "Mum is worried about her son",
        "Something about the family does not sit right with me",
    ],
)
def test_a_description_with_no_positive_sign_is_never_level_1(assessor, text):
    assert assessor.assess(text).level != 1


@pytest.mark.parametrize(
    "text",
    [
        "2yr review: walking, talking, growing well, no concerns",
        "Year 3 pupil attends every day and has a best friend in class",
        "Her asthma is under control with a preventer inhaler",
        "Dad would like some tips on potty training",
        "Registered with a GP and dentist, jabs all done",
    ],
)
def test_positive_signs_that_needs_are_met_are_level_1(assessor, text):
    result = assessor.assess(text)
    assert (result.level, result.status) == (1, "placed"), result.reasons


def test_immediate_risk_means_level_4(levels, nlp):
    assessor = Assessor(levels, FixedScreen("immediate", ["sexual abuse"]), nlp)
    result = assessor.assess("He told me something at break and I am worried")
    assert result.level == 4
    assert "sexual abuse" in result.reasons[0]


def test_a_concern_outweighs_level_1_strengths_alone(levels, nlp):
    # Strengths are not a reason to ignore a worrying sign the screen found.
    assessor = Assessor(levels, FixedScreen("concern", ["domestic_abuse"]), nlp)
    result = assessor.assess("Attends every day and has a best friend in class")
    assert result.level == 2 and "domestic_abuse" in result.reasons[0]
    quiet = Assessor(levels, FixedScreen("none"), nlp)
    assert quiet.assess("Attends every day and has a best friend in class").level == 1


def test_a_concern_with_nothing_found_but_support_is_unplaced_not_level_1(levels, nlp):
    assessor = Assessor(levels, FixedScreen("concern", ["neglect"]), nlp)
    result = assessor.assess("Something is not right, though mum is engaging with support")
    assert result.status == "unplaced" and result.level is None


def test_reasons_name_the_indicator_and_domain(assessor):
    result = assessor.assess("Regularly misses school to care for her mum")
    assert result.level == 3
    joined = " ".join(result.reasons)
    assert "Family and environment: A young carer" in joined
    assert "level 3" in joined


def test_to_dict_has_exactly_the_contract_fields(assessor):
    data = assessor.assess("Rent arrears and food bank use").to_dict()
    assert list(data) == ["level", "status", "reasons", "next_steps", "sources", "questions", "by"]
    assert data["status"] == "placed" and data["questions"] == [] and data["by"] == ["rules"]
    assert data["level"] == 2
    assert data["next_steps"][-1] == MASH_DECIDES
    assert all(set(s) == {"id", "title"} for s in data["sources"])


def test_prepare_normalises_the_way_patterns_are_written():
    assert prepare("Mum’s 4yo, self-harm") == "mums 4 year old, self harm"


def test_batch_matches_single(assessor):
    texts = ["Speech delay", "Bruise on a non-mobile baby", "Thriving at school"]
    assert [a.level for a in assessor.assess_many(texts)] == [
        assessor.assess(t).level for t in texts
    ]


# -- the whole engine on labelled vignettes ---------------------------------------------------


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _score(engine, rows):
    got = [(row, engine.assess(row["text"]).level) for row in rows]
    exact = sum(level == row["level"] for row, level in got) / len(rows)
    # an unplaced level-4 case was not placed at 4: it counts as under-called
    under = [row["id"] for row, level in got if row["level"] == 4 and (level or 0) < 4]
    wrong = [(row["id"], row["level"], level) for row, level in got if level != row["level"]]
    return exact, under, wrong


def test_every_extra_batch_is_found():
    names = {path.name for path in EXTRA_FILES}
    assert {"vignettes_extra.jsonl", "vignettes_extra2.jsonl", "vignettes_extra3.jsonl"} <= names


@pytest.mark.parametrize("path", EXTRA_FILES, ids=lambda path: path.stem)
def test_extra_vignettes_meet_the_thresholds(engine, path):
    rows = _rows(path)
    assert len(rows) >= 40
    assert {row["level"] for row in rows} == {1, 2, 3, 4}
    assert len({row["id"] for row in rows}) == len(rows)
    exact, under, wrong = _score(engine, rows)
    assert exact >= 0.85, wrong
    assert under == []


def test_dev_vignettes_meet_the_thresholds(engine, shared_eval):
    exact, under, wrong = _score(engine, _rows(shared_eval / "dev_vignettes.jsonl"))
    assert exact >= 0.85, wrong
    assert under == []


def test_sources_are_real_sections(engine, pack):
    result = engine.assess("6yo says dad hits him with a belt")
    assert result.level == 4
    assert result.sources and all(s.id in pack.sections for s in result.sources)
    assert all(s.title == pack.sections.get(s.id).title for s in result.sources)
