"""The partnership's gap list: questions the engine answered without confidence, grouped by
topic. Pure functions over plain records; the MASH service stores the records (mash/gaps.py)
and `python -m mash gaps` exports them as JSON lines for `python -m guidance gaps --from`.

A question's topic is the section its closest answer cited ("section:<id>"), else the kind of
answer it asked for ("kind:number"), else "none" (nothing in the guide came near it).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

MAX_GAP_CHARS = 500
EXAMPLES = 3
KIND_TITLES = {
    "number": "asks for a number", "time": "asks how long or when", "date": "asks for a date",
    "definition": "asks what something is", "action": "asks what to do",
    "level": "asks for a level of need", "list": "asks for a list", "signs": "asks for signs",
    "who": "asks who", "should": "asks whether they should", "hours": "asks for opening hours",
    "permission": "asks whether they may",
}
_WORD = re.compile(r"[A-Z][\w'-]*")


class AnsweredQuestion(Protocol):
    """What the gap list reads of guidance.compose.Answer."""

    confident: bool
    question: bool
    sources: list[Any]
    kinds: frozenset[str]


@dataclass(frozen=True)
class Gap:
    text: str  # the question, personal names masked (the MASH service redacts the rest)
    topic: str


def topic_of(answer: AnsweredQuestion) -> str:
    if answer.sources:
        return f"section:{answer.sources[0].id}"
    if answer.kinds:
        return f"kind:{sorted(answer.kinds)[0]}"
    return "none"


def without_names(text: str, known: Callable[[str], bool]) -> str:
    """Capitalised words the guide never uses (names of people and places) as [name]."""
    return _WORD.sub(lambda m: m.group(0) if known(m.group(0).lower()) else "[name]", text)


def gap_for(
    question: str, answer: AnsweredQuestion, known: Callable[[str], bool]
) -> Gap | None:
    """The gap to record for a question, or None when it was answered with confidence (or
    was no question at all)."""
    if answer.confident or not answer.question:
        return None
    text = " ".join(question.split())[:MAX_GAP_CHARS]
    return Gap(without_names(text, known), topic_of(answer))


@dataclass
class GapGroup:
    topic: str
    title: str
    count: int = 0
    examples: list[str] = field(default_factory=list)
    roles: Counter[str] = field(default_factory=Counter)
    last_asked: str = ""
    added_section: str | None = None  # set once every question of the group was marked added

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "roles": dict(self.roles)}


def topic_title(topic: str, section_titles: Mapping[str, str]) -> str:
    kind, _, value = topic.partition(":")
    if kind == "section":
        return f"near “{section_titles.get(value, value)}”"
    if kind == "kind":
        return f"nothing near it in the guide; {KIND_TITLES.get(value, value)}"
    return "nothing near it in the guide"


def group_gaps(
    records: Iterable[Mapping[str, Any]], section_titles: Mapping[str, str] | None = None
) -> list[GapGroup]:
    """Records ({"text", "topic", "role", "asked_at", "added_section"}) grouped by topic,
    most asked first; the newest questions are the examples."""
    groups: dict[str, GapGroup] = {}
    open_topics: set[str] = set()
    ordered = sorted(records, key=lambda r: str(r.get("asked_at") or ""), reverse=True)
    for record in ordered:
        topic = str(record.get("topic") or "none")
        group = groups.get(topic)
        if group is None:
            group = groups[topic] = GapGroup(topic, topic_title(topic, section_titles or {}))
            group.last_asked = str(record.get("asked_at") or "")
        group.count += 1
        group.roles[str(record.get("role") or "unknown")] += 1
        text = record.get("text")  # empty once purged after the retention period
        if text and len(group.examples) < EXAMPLES and text not in group.examples:
            group.examples.append(str(text))
        if record.get("added_section"):
            group.added_section = group.added_section or str(record["added_section"])
        else:
            open_topics.add(topic)
    for topic in open_topics:
        groups[topic].added_section = None  # a question asked since it was added: still open
    return sorted(groups.values(), key=lambda g: (g.added_section is not None, -g.count, g.topic))


def read_records(lines: Iterable[str]) -> list[dict[str, Any]]:
    """JSON-lines records (as `python -m mash gaps` writes them); blank lines skipped."""
    return [json.loads(line) for line in lines if line.strip()]


def report_lines(groups: list[GapGroup]) -> list[str]:
    """The gaps report: each group with its count, who asked and a few examples."""
    if not groups:
        return ["no unanswered questions recorded"]
    lines = [f"{sum(g.count for g in groups)} unanswered questions in {len(groups)} groups"]
    for group in groups:
        roles = ", ".join(f"{role} {n}" for role, n in group.roles.most_common())
        status = f"added to the guide: {group.added_section}" if group.added_section else "open"
        lines.append(f"{group.count:4d}  {group.topic}  ({group.title}; {status}; {roles})")
        lines.extend(f"        - {example}" for example in group.examples)
    return lines
