"""When the engine is not confident: it says the guide may not cover the question, still quotes
the closest cited sentences, and gives the front door and the consultation. Confident answers
must be right; the threshold is the one learned on the labelled questions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from guidance.confidence import CONFIDENT_FROM, Judged, learn_confident_from
from guidance.evaluate import answer_passes

DATA = Path(__file__).parent / "data"
NOT_COVERED = DATA / "questions_not_covered.jsonl"
FRONT_DOOR = "0151 606 2008"


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="module")
def judged(engine) -> list[Judged]:
    from guidance.faq_tuning import judge_questions

    return judge_questions(engine, sorted(DATA.glob("questions_extra*.jsonl")), [NOT_COVERED])


def test_the_threshold_is_the_one_learned_on_the_labelled_questions(judged) -> None:
    assert learn_confident_from(judged) == CONFIDENT_FROM


def test_confident_answers_are_right_and_most_right_answers_are_confident(judged) -> None:
    confident = [j for j in judged if j.curated or (j.found and j.support >= CONFIDENT_FROM)]
    wrong = [j for j in confident if not j.right]
    right = [j for j in judged if j.right]
    assert len(wrong) / len(confident) <= 0.01, len(wrong)
    # Not so strict that it doubts most of what it answers well.
    assert sum(j in confident for j in right) / len(right) >= 0.8


def test_dev_questions_confident_answers_stay_right(engine, shared_eval: Path) -> None:
    rows = _rows(shared_eval / "dev_questions.jsonl")
    confident = 0
    for row in rows:
        answer = engine.ask(row["text"], role=row.get("role"))
        if answer.confident:
            confident += 1
            assert answer_passes(answer.answer, answer.sources, row), (row["id"], answer.answer)
    assert confident >= 0.8 * len(rows)


def test_questions_the_guide_does_not_cover_are_mostly_not_confident(engine) -> None:
    rows = _rows(NOT_COVERED)
    confident = [row["text"] for row in rows if engine.ask(row["text"]).confident]
    assert len(confident) <= 0.1 * len(rows), confident


def test_a_not_confident_answer_says_so_quotes_the_closest_and_gives_the_routes(
    engine, pack
) -> None:
    answer = engine.ask("What is an emergency protection order?")
    assert answer.confident is False
    text = answer.answer
    assert text.startswith("The guide may not cover this.")
    assert FRONT_DOOR in text and "consultation with a duty social worker" in text
    # The best sentences are still given, each from a cited section.
    assert answer.sources and answer.quoted and answer.quoted in text
    cited = re.sub(r"\s+", " ", " ".join(
        pack.sections.get(source.id).body for source in answer.sources).replace("**", ""))
    for fragment in re.split(r"(?<=[.!?:;])\s+|\n", answer.quoted):
        assert fragment.removeprefix("- ").rstrip(".;:") in cited, fragment
    assert answer.to_dict()["confident"] is False


def test_nothing_found_is_not_confident_and_offers_the_consultation(engine) -> None:
    answer = engine.ask("What is the capital of France?")
    assert answer.confident is False and answer.sources == [] and answer.quoted == ""
    assert "could not find" in answer.answer and FRONT_DOOR in answer.answer
    assert "consultation" in answer.answer


def test_curated_and_well_supported_answers_are_confident(engine) -> None:
    curated = engine.ask("how do I refer?")
    assert curated.confident and curated.curated and curated.answer == curated.quoted
    retrieved = engine.ask("What is private fostering?")
    assert retrieved.confident and retrieved.support >= CONFIDENT_FROM


def test_learning_picks_the_lowest_best_separating_step() -> None:
    judged = [
        Judged(right=True, curated=False, found=True, support=0.9),
        Judged(right=True, curated=False, found=True, support=0.62),
        Judged(right=False, curated=False, found=True, support=0.5),
        Judged(right=False, curated=False, found=False, support=0.0),
    ]
    assert learn_confident_from(judged) == 0.55
