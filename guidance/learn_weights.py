"""Learning the retrieval weights (guidance/tuning.py) from the labelled questions.

The labelled questions (tests/guidance/data/questions_extra*.jsonl) are split by a hash of
their ids: seven in ten train, the rest are held back to report on. A coordinate search starts
from the values once set by hand (START) and, weight by weight in GRID's order, takes the value
that answers the most training questions with their facts plus the most not-covered questions
(questions_not_covered.jsonl) without confidence; a tie keeps the current value. A value at
which the retrieval fails one of the named requirements (questions_required.jsonl: the core steps
of a disclosure, who is in the MASH...: every fact group asked for, also asserted by
tests/guidance/test_ask.py) is never taken. It stops when a whole pass changes nothing. Frozen
batches are never read here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from guidance.evaluate import answer_passes, read_labelled
from guidance.tuning import GRID, Weights

DATA_DIR = Path(__file__).resolve().parents[1] / "tests" / "guidance" / "data"
TRAIN_SHARE = 7  # of every 10 labelled questions
MAX_PASSES = 4
# Where the search starts: the values these weights had when they were set by hand.
START = Weights(min_score=1.5, min_coverage=0.35, role_boost=1.25, sentence_weight=1.0,
                title_bonus=1.0, coverage_floor=0.4, topic_weight=0.35, local_discount=0.7,
                unrelated_kind=0.3, best_share=0.5, action_share=0.4, step_share=0.25,
                detail_share=0.3, reworded_share=0.1, second_section=0.8, second_sentence=0.9)


@dataclass(frozen=True)
class Item:
    row: dict[str, Any]
    query: Any  # the question as the finder read it (reading does not depend on the weights)
    covered: bool  # False: the guide does not answer it, so it should not be confident


def is_training(row: dict[str, Any]) -> bool:
    key = str(row.get("id") or row["text"]).encode("utf-8")
    return int(hashlib.sha256(key).hexdigest(), 16) % 10 < TRAIN_SHARE


REQUIRED_FILE = "questions_required.jsonl"


def labelled_files(data_dir: Path = DATA_DIR) -> tuple[list[Path], list[Path]]:
    return (sorted(data_dir.glob("questions_extra*.jsonl")),
            sorted(data_dir.glob("questions_not_covered.jsonl")))


def required_rows(data_dir: Path = DATA_DIR) -> list[dict[str, Any]]:
    path = data_dir / REQUIRED_FILE
    return read_labelled(path, ("text",)) if path.exists() else []


def meets_requirements(finder: Any, required: Sequence[dict[str, Any]], weights: Weights) -> bool:
    """Whether the retrieval (without curated answers) passes every required question."""
    tuned = finder.with_weights(weights)
    for row in required:
        answer = tuned.retrieve(row["text"], row.get("role"))
        if not answer_passes(answer.quoted, list(answer.sources), row):
            return False
    return True


def read_items(finder: Any, covered: Sequence[Path], not_covered: Sequence[Path],
               training: bool) -> list[Item]:
    """The training (or held-back) questions, each read once."""
    items = []
    for paths, is_covered in ((covered, True), (not_covered, False)):
        for path in paths:
            for row in read_labelled(path, ("text",)):
                if is_training(row) == training:
                    items.append(Item(row, finder.read(row["text"]), is_covered))
    return items


@dataclass(frozen=True)
class Score:
    passed: int  # covered questions answered with their facts and a source
    covered: int
    declined: int  # not-covered questions answered without confidence
    not_covered: int

    @property
    def total(self) -> int:
        return self.passed + self.declined


def score(finder: Any, items: Sequence[Item], weights: Weights) -> Score:
    tuned = finder.with_weights(weights)
    passed = declined = covered = 0
    for item in items:
        answer = tuned.answer(item.query, item.row.get("role"))
        if item.covered:
            covered += 1
            passed += answer_passes(answer.quoted, list(answer.sources), item.row)
        else:
            declined += not answer.confident
    return Score(passed, covered, declined, len(items) - covered)


def learn(finder: Any, items: Sequence[Item], required: Sequence[dict[str, Any]] = (),
          start: Weights = START, log: Any = None) -> Weights:
    """The coordinate search: the weights at which no single change in GRID does better
    (among those that meet the requirements)."""
    current, best = start, score(finder, items, start).total
    names = [f.name for f in fields(Weights)]
    for _ in range(MAX_PASSES):
        changed = False
        for name in names:
            for value in GRID[name]:
                if value == getattr(current, name):
                    continue
                trial = replace(current, **{name: value})
                total = score(finder, items, trial).total
                if total > best and meets_requirements(finder, required, trial):
                    current, best, changed = trial, total, True
                    if log is not None:
                        print(f"  {name} = {value}: {total}", file=log)
        if not changed:
            break
    return current
