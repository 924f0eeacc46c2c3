"""Learning the curated answers' threshold from the labelled questions.

For each labelled question: the matcher's confidence in its best curated answer, and whether
that answer and the retrieval's answer each carry the expected facts. At a threshold t the
engine gives the curated answer from t up and the retrieval's below it; the learned threshold
is the lowest (in steps of 0.05) at which the most questions pass. Lowest, because a curated
answer quotes exactly the sentences its author chose for the question practitioners act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guidance.confidence import Judged
from guidance.evaluate import answer_passes, read_labelled

STEPS = tuple(round(0.05 * step, 2) for step in range(1, 21))


@dataclass(frozen=True)
class Scored:
    id: str
    text: str
    confidence: float
    entry: str | None
    curated_passes: bool
    retrieval_passes: bool


@dataclass(frozen=True)
class Step:
    threshold: float
    passed: int
    curated: int  # questions given a curated answer
    gained: int  # ...that only the curated answer passes
    lost: int  # ...that only the retrieval's answer passes


def score_questions(engine: Any, paths: list[Path]) -> list[Scored]:
    """Both answers to every labelled question in `paths` (JSONL: id, text, expect_any...)."""
    finder = engine.answers
    out = []
    for path in paths:
        for row in read_labelled(path, ("text",)):
            role = row.get("role")
            retrieved = finder.retrieve(row["text"], role)
            match = finder.curated_match(row["text"])
            curated = False
            if match is not None:
                reply = match.entry.reply_for(role)
                curated = answer_passes(reply.text, list(reply.sources), row)
            out.append(Scored(
                id=str(row.get("id", "?")),
                text=row["text"],
                confidence=match.confidence if match else 0.0,
                entry=match.entry.id if match else None,
                curated_passes=curated,
                retrieval_passes=answer_passes(retrieved.quoted, retrieved.sources, row),
            ))
    return out


def sweep(scored: list[Scored]) -> list[Step]:
    steps = []
    for threshold in STEPS:
        taken = [s for s in scored if s.confidence >= threshold]
        passed = sum(
            s.curated_passes if s.confidence >= threshold else s.retrieval_passes for s in scored
        )
        steps.append(Step(
            threshold=threshold,
            passed=passed,
            curated=len(taken),
            gained=sum(s.curated_passes and not s.retrieval_passes for s in taken),
            lost=sum(s.retrieval_passes and not s.curated_passes for s in taken),
        ))
    return steps


def learn_threshold(steps: list[Step]) -> float:
    """The lowest threshold at which the most questions pass."""
    best = max(step.passed for step in steps)
    return min(step.threshold for step in steps if step.passed == best)


def judge_questions(engine: Any, labelled: list[Path], not_covered: list[Path]) -> list[Judged]:
    """Every question's answer as the asker gets it, right or not, with its support, for
    learning when a retrieved answer is confident (guidance.confidence). A question of
    `not_covered` (the guide does not answer it) is never right."""
    out = []
    for path, covered in [*((p, True) for p in labelled), *((p, False) for p in not_covered)]:
        for row in read_labelled(path, ("text",)):
            answer = engine.ask(row["text"], role=row.get("role"))
            right = covered and answer_passes(answer.quoted, list(answer.sources), row)
            out.append(Judged(right=right, curated=answer.curated is not None,
                              found=bool(answer.sources), support=answer.support))
    return out
