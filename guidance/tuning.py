"""The weights of retrieval and sentence choice, learned from the labelled questions.

These were hand-set constants in retrieval.py, sentences.py, choose.py and compose.py. Each is
now a field here whose value is the one `guidance/learn_weights.py` picks (`python -m guidance
tune`): a coordinate search over GRID on the training split of the labelled questions
(tests/guidance/data/questions_extra*.jsonl) and the questions the guide does not cover, never
on a frozen batch. tests/guidance/test_tuning.py fails if these defaults and the search differ.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Weights:
    # retrieval: is the best section an answer at all?
    min_score: float = 1.5  # the best section's BM25 score must reach this...
    min_coverage: float = 0.35  # ...and it must name this share of the question's weight
    role_boost: float = 1.25  # a section written for the asker's role wins a near tie
    # ranking the sections by their sentences (guidance/sentences.py)
    sentence_weight: float = 1.0
    title_bonus: float = 0.75
    coverage_floor: float = 0.4
    topic_weight: float = 0.5
    local_discount: float = 0.7
    unrelated_kind: float = 0.1
    # choosing the sentences of a section (guidance/choose.py): shares of the best one's score
    best_share: float = 0.3
    action_share: float = 0.4
    step_share: float = 0.25
    detail_share: float = 0.3
    reworded_share: float = 0.1
    # a second section's sentence is added when its section and sentence score this share of
    # the first's (guidance/compose.py)
    second_section: float = 0.6
    second_sentence: float = 0.9


# The values the search tries for each weight, in the order it visits them.
GRID: dict[str, tuple[float, ...]] = {
    "min_score": (0.5, 1.0, 1.5, 2.0, 3.0),
    "min_coverage": (0.2, 0.25, 0.3, 0.35, 0.4, 0.5),
    "role_boost": (1.0, 1.1, 1.25, 1.5),
    "sentence_weight": (0.5, 0.75, 1.0, 1.5, 2.0),
    "title_bonus": (0.5, 0.75, 1.0, 1.5, 2.0),
    "coverage_floor": (0.2, 0.3, 0.4, 0.5, 0.6),
    "topic_weight": (0.2, 0.35, 0.5, 0.75),
    "local_discount": (0.5, 0.6, 0.7, 0.8, 0.9),
    "unrelated_kind": (0.1, 0.2, 0.3, 0.5),
    "best_share": (0.3, 0.4, 0.5, 0.6, 0.7),
    "action_share": (0.3, 0.4, 0.5, 0.6),
    "step_share": (0.15, 0.2, 0.25, 0.3, 0.4),
    "detail_share": (0.2, 0.3, 0.4, 0.5),
    "reworded_share": (0.05, 0.1, 0.2, 0.3),
    "second_section": (0.6, 0.7, 0.8, 0.9),
    "second_sentence": (0.7, 0.8, 0.9, 1.0),
}
