"""Curated answers (faq.yml): the questions practitioners act on, answered by quoting the guide.

Each entry names the wordings practitioners use and, per guide section, short anchors: exact
pieces of the sentences its answer quotes. The answer is those whole sentences, so it stays in
the guide's own words, and a council that answers a question differently edits the pack, not
code. An anchor on a list's lead-in sentence quotes the whole list; on a bullet, that bullet
after its lead-in. The file is optional; `load_faq` returns `(Faq, problems)` and checks every
anchor against the passages the answer engine quotes, with file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guidance.passages import Passage, join_rendered, list_of, render, split_passages
from guidance.sections import SourceRef
from guidance.yamlfile import LineDict, LineList, PackError, PackProblem, load_yaml

FAQ_FILE = "faq.yml"
ROLES = ("dsl", "gp", "mash")
MAX_ANSWER_CHARS = 1000  # as long as the longest answer the retrieval composes, and no more
MIN_WORDINGS = 2
_FIELDS = ("id", "questions", "answer", "roles")
_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
# A sentence that points back ("In that case, refer...") needs the one it points to.
_POINTS_BACK = re.compile(
    r"^(It|Its|This|These|They|Their|That|Those|Then|In that case|At that time|Otherwise)\b"
)


@dataclass(frozen=True)
class Reply:
    """A curated answer as given: the quoted sentences and the sections they come from."""

    text: str
    sources: tuple[SourceRef, ...]


@dataclass(frozen=True)
class Curated:
    id: str
    questions: tuple[str, ...]
    reply: Reply
    roles: Mapping[str, Reply] = field(default_factory=dict)

    def reply_for(self, role: str | None) -> Reply:
        return self.roles.get(role or "", self.reply)


@dataclass(frozen=True)
class Faq:
    entries: tuple[Curated, ...] = ()
    # The matcher's confidence at or above which a curated answer is given (learned on the
    # labelled questions: python -m guidance faq-threshold).
    threshold: float = 1.0

    def __iter__(self) -> Iterator[Curated]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def load_faq(pack_dir: Path, sections: Any) -> tuple[Faq | None, list[PackProblem]]:
    """Read faq.yml (optional) and resolve each anchor in `sections` (guidance.sections)."""
    file = pack_dir / FAQ_FILE
    if not file.exists():
        return Faq(), []
    try:
        data = load_yaml(file)
    except PackError as exc:
        return None, list(exc.problems)
    if not isinstance(data, LineDict) or not isinstance(data.get("answers"), LineList):
        return None, [PackProblem(file, 1, "faq.yml must be a mapping with an 'answers' list")]
    problems: list[PackProblem] = []
    threshold = data.get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not (
        0 < threshold <= 1
    ):
        problems.append(
            PackProblem(file, data.line_of("threshold"), "'threshold' must be a number in (0, 1]")
        )
    passages = {section.id: split_passages(section.body) for section in sections}
    entries: list[Curated] = []
    seen: set[str] = set()
    items: LineList = data["answers"]
    for index, item in enumerate(items):
        if not isinstance(item, LineDict):
            problems.append(PackProblem(file, items.line_of(index), "each answer is a mapping"))
            continue
        entry, found = _entry(item, file, sections, passages, seen)
        problems.extend(found)
        if entry is not None:
            entries.append(entry)
    if problems:
        return None, problems
    return Faq(tuple(entries), float(threshold)), []


def _entry(
    item: LineDict, file: Path, sections: Any, passages: dict[str, list[Passage]], seen: set[str]
) -> tuple[Curated | None, list[PackProblem]]:
    problems: list[PackProblem] = []

    def problem(key: str | None, message: str, line: int | None = None) -> None:
        problems.append(PackProblem(file, line or item.line_of(key or ""), message))

    for key in item:
        if key not in _FIELDS:
            problem(key, f"unknown field {key!r} (expected {', '.join(_FIELDS)})")
    entry_id = item.get("id")
    if not isinstance(entry_id, str) or not _ID.match(entry_id):
        problem("id", "each answer needs a kebab-case 'id'")
        entry_id = None
    elif entry_id in seen:
        problem("id", f"duplicate answer id {entry_id!r}")
    else:
        seen.add(entry_id)
    questions = item.get("questions")
    if (
        not isinstance(questions, list)
        or len(questions) < MIN_WORDINGS
        or not all(isinstance(q, str) and q.strip() for q in questions)
    ):
        problem("questions", f"'questions' needs at least {MIN_WORDINGS} wordings, each text")
        questions = []
    reply = _reply(item.get("answer"), "answer", item, file, sections, passages, problems)
    roles: dict[str, Reply] = {}
    role_data = item.get("roles", LineDict())
    if not isinstance(role_data, LineDict):
        problem("roles", f"'roles' maps a role ({', '.join(ROLES)}) to its own answer")
    else:
        for role, quotes in role_data.items():
            if role not in ROLES:
                problem(None, f"unknown role {role!r} (expected one of {', '.join(ROLES)})",
                        role_data.line_of(role))
                continue
            variant = _reply(quotes, role, role_data, file, sections, passages, problems)
            if variant is not None:
                roles[role] = variant
    if problems or entry_id is None or reply is None:
        return None, problems
    return Curated(entry_id, tuple(q.strip() for q in questions), reply, roles), []


def _reply(
    quotes: Any,
    key: str,
    parent: LineDict,
    file: Path,
    sections: Any,
    passages: dict[str, list[Passage]],
    problems: list[PackProblem],
) -> Reply | None:
    """{section id: [anchor, ...], ...} -> the quoted text; each problem at its own line."""
    if not isinstance(quotes, LineDict) or not quotes:
        problems.append(PackProblem(file, parent.line_of(key),
                                    f"{key!r} maps section ids to lists of anchors"))
        return None
    before = len(problems)
    parts: list[str] = []
    sources: list[SourceRef] = []
    for section_id, anchors in quotes.items():
        line = quotes.line_of(section_id)
        if section_id not in passages:
            problems.append(PackProblem(file, line, f"unknown section id {section_id!r}"))
            continue
        if not isinstance(anchors, LineList) or not anchors:
            problems.append(PackProblem(file, line, f"{section_id!r} needs a list of anchors"))
            continue
        chosen: dict[int, Passage] = {}
        for index, anchor in enumerate(anchors):
            found = _resolve(anchor, section_id, passages[section_id])
            if isinstance(found, str):
                problems.append(PackProblem(file, anchors.line_of(index), found))
            else:
                chosen.update((p.position, p) for p in found)
        for position, passage in chosen.items():
            if (
                passage.list_id is None
                and _POINTS_BACK.match(passage.text)
                and position - 1 not in chosen
            ):
                problems.append(PackProblem(
                    file, line, f"{section_id!r}: {passage.text[:40]!r}... points back to the "
                    "sentence before it; quote that one too"))
        # In the guide's order, so a list follows its lead-in and reads as the guide does.
        parts.append(render([chosen[position] for position in sorted(chosen)]))
        sources.append(sections.ref(section_id))
    if len(problems) > before:
        return None
    text = join_rendered(parts)
    if len(text) > MAX_ANSWER_CHARS:
        problems.append(PackProblem(file, parent.line_of(key),
                                    f"{key!r} quotes {len(text)} characters; keep it under "
                                    f"{MAX_ANSWER_CHARS}"))
        return None
    return Reply(text, tuple(sources))


def _resolve(anchor: Any, section_id: str, passages: list[Passage]) -> list[Passage] | str:
    """The passages one anchor quotes, or the problem with it."""
    if not isinstance(anchor, str) or not anchor.strip():
        return "an anchor must be text"
    found = [p for p in passages if anchor in p.text]
    if not found:
        return f"anchor {anchor!r} is not in any sentence of section {section_id!r}"
    if len(found) > 1:
        return (f"anchor {anchor!r} is in {len(found)} sentences of section {section_id!r}; "
                "make it longer")
    passage = found[0]
    # A lead-in is quoted with its list (each bullet carries the lead-in when rendered).
    return (list_of(passages, passage) or [passage]) if passage.is_lead else [passage]
