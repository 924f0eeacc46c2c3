"""Composing an answer: the chosen passages rendered in the guide's own words, cited; what to
say when the guide may not cover the question (guidance/confidence.py), and when it has nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from guidance.choose import pick, same_point, within_slots
from guidance.confidence import CONFIDENT_FROM, support
from guidance.passages import join_rendered, render
from guidance.question_kinds import Query
from guidance.retrieval import GuideIndex
from guidance.sections import SourceRef
from guidance.units import Unit

MAX_UNITS = 4
MAX_ANSWER_CHARS = 900


@dataclass(frozen=True)
class Answer:
    answer: str  # what the asker is shown
    sources: list[SourceRef]
    confident: bool = False  # False: the answer says the guide may not cover this
    quoted: str = ""  # the guide's own sentences in `answer` (what the evaluation scores)
    support: float = 0.0  # share of the question a retrieved answer speaks to (0-1)
    kinds: frozenset[str] = frozenset()  # what kind of answer was asked for ("number"...)
    question: bool = True  # False: the message had no words to answer
    curated: str | None = None  # the faq.yml entry given, if any

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "sources": [source.to_dict() for source in self.sources],
            "confident": self.confident,
        }


def compose(
    guide: GuideIndex, query: Query, ranked: list[tuple[float, int]], contacts: Any
) -> Answer:
    """The best sentences of the best section (and one of the next, if it adds a point)."""
    top_score, top = ranked[0]
    # "What should I do?" needs the core steps, which can take all four sentences.
    picked = pick(guide, query, top, MAX_UNITS if query.asks_action else MAX_UNITS - 1)
    parts: list[tuple[int, list[Unit]]] = [(top, [unit for _, unit in picked])]
    if len(ranked) > 1 and picked and len(within_slots(picked, MAX_UNITS)) < MAX_UNITS:
        second_score, second = ranked[1]
        best_unit = picked[0][0]
        other = pick(guide, query, second, 1)
        if (
            second_score >= guide.weights.second_section * top_score
            and other
            and other[0][0] >= guide.weights.second_sentence * best_unit
            and not any(same_point(other[0][1], unit) for _, unit in picked)
        ):
            parts.append((second, [other[0][1]]))

    texts: list[str] = []
    sources: list[SourceRef] = []
    terms: set[str] = set()
    for index, units in parts:
        rendered = render(sorted(units, key=lambda unit: unit.position))
        if not rendered:
            continue
        if texts and len(join_rendered(texts)) + len(rendered) > MAX_ANSWER_CHARS:
            break
        texts.append(rendered)
        sources.append(guide.sections[index].ref())
        terms.update(guide.topic_terms[index], *(unit.terms for unit in units))
    if not texts:
        return not_found(contacts, query.kinds)
    quoted = join_rendered(texts)
    share = support(query, terms, guide.idf, guide.max_idf)
    if share >= CONFIDENT_FROM:
        return Answer(quoted, sources, True, quoted, share, query.kinds)
    return Answer(unsure_text(quoted, contacts), sources, False, quoted, share, query.kinds)


def numbers_text(contacts: Any) -> str:
    """The front door, out-of-hours and emergency numbers, in one sentence or two."""
    def contact(key: str) -> Any:
        getter = getattr(contacts, "get", None)
        return getter(key) if getter else None

    parts = []
    front_door = contact("front_door")
    out_of_hours = contact("out_of_hours")
    emergency = contact("emergency")
    if front_door and front_door.phone:
        parts.append(f"ring the {front_door.name} on {front_door.phone} in office hours")
    if out_of_hours and out_of_hours.phone:
        parts.append(f"the {out_of_hours.name} on {out_of_hours.phone} out of hours")
    text = "If you are worried about a child, " + " or ".join(parts) + "." if parts else ""
    if emergency and emergency.phone:
        text += f" If a child is in immediate danger, ring {emergency.phone}."
    return text.strip()


CONSULTATION_OFFER = "You can also ask for a consultation with a duty social worker."


def not_found_text(contacts: Any) -> str:
    """The guide has nothing on the question: say so, give the numbers and the consultation."""
    return " ".join(
        part
        for part in ("I could not find an answer to that in the guide.", numbers_text(contacts),
                     CONSULTATION_OFFER)
        if part
    )


def not_found(contacts: Any, kinds: frozenset[str] = frozenset()) -> Answer:
    return Answer(not_found_text(contacts), [], kinds=kinds)


def unsure_text(quoted: str, contacts: Any) -> str:
    """The guide may not cover the question: say so plainly, then the closest it says, then
    the front door and the consultation."""
    # The quotes on their own lines, so the added numbers never read as part of the guide.
    return "\n".join(
        part
        for part in ("The guide may not cover this. The closest it says is:", quoted,
                     " ".join(filter(None, (numbers_text(contacts), CONSULTATION_OFFER))))
        if part
    )


def no_question_text(contacts: Any) -> str:
    """The message had no words: ask for a question, and give the numbers."""
    return (
        "Please type a question about safeguarding, levels of need or the guide. "
        + numbers_text(contacts)
    ).strip()
