"""Whether an answer can be trusted to answer the question, or the guide may not cover it.

A curated answer is confident (the matcher cleared the pack's threshold). A retrieved answer's
support is the share of the asker's own words (weighted by idf; a word the guide never uses
weighs as much as its rarest word) that the quoted sentences, or the cited sections' titles and
tags, speak to, in the asker's word or the glossary's or a word family's form of it. The answer
is confident from CONFIDENT_FROM up.

CONFIDENT_FROM is learned, not set by hand (`learn_confident_from`): on the labelled questions
(right answers should be confident) and tests/guidance/data/questions_not_covered.jsonl plus
the labelled questions answered wrongly (they should not be), the lowest step that best
separates the two (largest true-confident share minus false-confident share). The test
tests/guidance/test_ask_confidence.py fails if this constant and the learned value differ.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

CONFIDENT_FROM = 0.8
STEPS = tuple(round(0.05 * step, 2) for step in range(1, 21))


class AskedQuery(Protocol):
    original: list[str]
    expanded: set[str]
    expanded_from: dict[str, frozenset[str]]


def support(
    query: AskedQuery, terms: Iterable[str], idf: Mapping[str, float], unknown: float
) -> float:
    """Share (0-1) of the asker's words that `terms` (an answer's) speak to."""
    present = frozenset(terms)
    weights = {word: idf.get(word, unknown) for word in dict.fromkeys(query.original)}
    total = sum(weights.values())
    if not total:
        return 0.0
    covered = {word for word in weights if word in present}
    for term in query.expanded & present:
        covered |= query.expanded_from.get(term, frozenset())
    return sum(value for word, value in weights.items() if word in covered) / total


@dataclass(frozen=True)
class Judged:
    """One labelled question: the engine's answer was right (or the guide has no answer: not
    right), curated or not, and its support."""

    right: bool
    curated: bool
    found: bool
    support: float


def learn_confident_from(judged: Sequence[Judged]) -> float:
    """The lowest step with the best (confident right share - confident wrong share)."""
    right = [item for item in judged if item.right]
    wrong = [item for item in judged if not item.right]
    if not right or not wrong:
        return CONFIDENT_FROM

    def separation(step: float) -> float:
        def confident(item: Judged) -> bool:
            return item.curated or (item.found and item.support >= step)

        return (sum(map(confident, right)) / len(right)
                - sum(map(confident, wrong)) / len(wrong))

    best = max(separation(step) for step in STEPS)
    # Rounded so that float noise cannot pick a different step between runs.
    return next(step for step in STEPS if round(separation(step), 9) == round(best, 9))
