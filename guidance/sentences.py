"""Scoring a section's sentences for a question: the words they share with it, the kind of
answer they give (a number, a timescale, a step...), and how much the best one adds to the
section's rank.
"""

from __future__ import annotations

from guidance.question_kinds import Query
from guidance.retrieval import GuideIndex
from guidance.units import Unit

RERANK_DEPTH = 6
# How sentences and sections are weighed is learned (guidance/tuning.py): topic_weight (a
# section's title and tag words when choosing its sentences), sentence_weight (what the best
# sentence adds to a section's score), title_bonus (a section whose title and tags name the
# question), coverage_floor (the share kept by a section naming none of the question's words),
# local_discount (a word in every sentence of a section), unrelated_kind (a sentence of the
# right kind naming nothing asked about).
ACTOR_BONUS = 0.75  # per person or agency a sentence names, for "who" questions
STEP_ORDER = 0.5  # and the earlier of two steps is the more basic


def score_units(
    guide: GuideIndex, query: Query, index: int, *, choosing: bool = True
) -> list[tuple[float, Unit]]:
    """Score each quotable sentence of a section for this question.

    When choosing sentences within a section, a word found in most of its sentences (or in
    its title) says little about which sentence answers: the rest of the question decides.
    """
    units = guide.units[index]
    topic = guide.title_terms[index]
    tuned = guide.weights
    weights: dict[str, float] = {}
    for term, weight in query.weights.items():
        if term not in guide.idf:
            continue
        value = weight * guide.idf[term]
        if choosing and term in query.expanded:
            value *= 0.5  # the glossary's wording: the asker's own words decide
        if choosing:
            share = guide.unit_df[index].get(term, 0) / max(len(units), 1)
            value *= ((1.0 - tuned.local_discount * share)
                      * (tuned.topic_weight if term in topic else 1.0))
        weights[term] = value
    scored = []
    for unit in units:
        if unit.is_lead:
            continue  # quoted only in front of its bullets
        score = sum(weight for term, weight in weights.items() if term in unit.terms)
        if score <= 0 and not choosing:
            continue
        # A sentence of the right kind that names nothing asked about is a weak answer.
        score += kind_bonus(query, unit) * (1.0 if score > 0 else tuned.unrelated_kind)
        if query.asks_action and choosing:
            score += step_bonus(unit, len(units))
        if unit.position == 0:
            score += 0.3  # a section's first sentence usually says what it is about
        scored.append((score, unit))
    return scored


def kind_bonus(query: Query, unit: Unit) -> float:
    """Favour the sentence that gives the kind of answer asked for (a number, a time...)."""
    bonus = 0.0
    if query.asks_number and unit.has_phone:
        bonus += 3.0
    if query.asks_date:
        bonus += 3.0 if unit.has_date else 0.0
    elif query.asks_time:
        bonus += 4.0 if unit.has_timescale else 1.0 if unit.has_time or unit.has_date else 0.0
    if query.asks_level and unit.has_level:
        bonus += 2.5
    if query.asks_signs and unit.has_signs:
        bonus += 3.0
    if query.asks_list and unit.is_list:
        bonus += 2.0
    if query.asks_who and unit.actors:
        bonus += ACTOR_BONUS * min(unit.actors, 4)  # "who is in it": the sentence naming most
    if query.asks_should and (unit.is_action or unit.forbids):
        bonus += 1.0
    if query.asks_hours and unit.has_hours:
        bonus += 3.0
    if query.asks_permission and unit.permits:
        bonus += 1.5
    if (
        (query.asks_definition or query.asks_who)
        and unit.defines
        and unit.subject & query.weights.keys()
    ):
        bonus += 1.5
    return bonus


def step_bonus(unit: Unit, count: int) -> float:
    """For "what should I do": the core steps, which guides put first and state plainly."""
    bonus = 0.0
    if unit.is_action:
        bonus += 1.5
    if unit.escalates or unit.records:
        bonus += 1.0  # tell the DSL, refer, write it down
    if unit.first_in_paragraph or unit.list_id is not None or unit.forbids:
        bonus += 1.0  # a paragraph's first sentence is the step; the rest explain it
    return bonus + STEP_ORDER * (1.0 - unit.position / max(count, 1))


def best_sentence(guide: GuideIndex, query: Query, index: int) -> float:
    scored = score_units(guide, query, index, choosing=False)
    return max((score for score, _ in scored), default=0.0)


def rerank(
    guide: GuideIndex, query: Query, ranked: list[tuple[float, int]]
) -> list[tuple[float, int]]:
    """Favour sections with one sentence that answers much of the question on its own."""
    # Coverage counts single words: a pair ("before refer") can match by chance.
    asked = {
        t: w * guide.idf[t] for t, w in query.weights.items() if t in guide.idf and " " not in t
    }
    total = sum(asked.values()) or 1.0
    tuned = guide.weights
    head = []
    for score, i in ranked[:RERANK_DEPTH]:
        # A section missing the question's rarest word answers less of it.
        tf = guide.term_counts[i]
        coverage = sum(v for t, v in asked.items() if t in tf) / total
        head.append(
            (
                (score + tuned.sentence_weight * best_sentence(guide, query, i))
                * (1.0 + tuned.title_bonus * guide.topic_coverage(query, i))
                * (tuned.coverage_floor + (1.0 - tuned.coverage_floor) * coverage),
                i,
            )
        )
    return sorted(head, reverse=True) + ranked[RERANK_DEPTH:]
