"""A section's body as the passages an answer may quote (sentences, list lead-ins and
bullets), and how chosen passages read as an answer.

No spaCy here, so the pack validator can check curated answers' anchors against exactly the
passages the answer engine quotes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


@dataclass(frozen=True)
class Passage:
    """One quotable sentence or bullet of a section, in guide order (`position`)."""

    text: str
    position: int
    list_id: int | None = None  # bullets of one list share an id
    lead: str | None = None  # the sentence ending in ':' that introduces the list
    is_lead: bool = False
    first_in_paragraph: bool = False


def clean_markdown(text: str) -> str:
    """Markdown emphasis, headings and bullet marks dropped; whitespace collapsed."""
    text = re.sub(r"\*\*|__|`", "", text)
    text = re.sub(r"^\s*#+\s*", "", text, flags=re.MULTILINE)
    text = re.sub(r"^\s*[-*]\s+", "", text, flags=re.MULTILINE)
    return re.sub(r"\s+", " ", text).strip()


def split_passages(body: str) -> list[Passage]:
    """Split a section body into passages; a bullet remembers the sentence leading into it."""
    out: list[dict] = []
    list_id = 0
    for paragraph in re.split(r"\n\s*\n", body.strip()):
        start = len(out)
        lead: str | None = None
        in_list = False
        prose: list[str] = []
        for line in [*paragraph.splitlines(), ""]:
            stripped = line.strip()
            if stripped.startswith(("- ", "* ")):
                if prose:
                    lead = _add_sentences(out, " ".join(prose))
                    prose = []
                if not in_list:
                    list_id += 1
                    in_list = True
                out.append({"text": clean_markdown(stripped[2:]), "list_id": list_id, "lead": lead})
            elif stripped:
                if in_list:  # a line after a list starts new prose
                    in_list, lead = False, None
                prose.append(stripped)
            elif prose:
                _add_sentences(out, " ".join(prose))
                prose = []
        if start < len(out):
            out[start]["first_in_paragraph"] = True
    return [Passage(position=index, **fields) for index, fields in enumerate(out)]


def _add_sentences(out: list[dict], text: str) -> str | None:
    """Add the sentences of a prose run; return the last one if it introduces a list."""
    last = None
    for sentence in _SENTENCE_END.split(clean_markdown(text)):
        sentence = sentence.strip()
        if not sentence:
            continue
        is_lead = sentence.endswith(":")
        out.append({"text": sentence, "is_lead": is_lead})
        last = sentence if is_lead else None
    return last


def list_of(passages: list[Passage], lead: Passage) -> list[Passage]:
    """The bullets a lead-in sentence introduces (its first list only)."""
    bullets = [p for p in passages[lead.position + 1 :] if p.lead == lead.text]
    return [p for p in bullets if p.list_id == bullets[0].list_id] if bullets else []


class Quotable(Protocol):
    """A sentence or a bullet (guidance.passages.Passage, or the answer engine's unit)."""

    @property
    def text(self) -> str: ...
    @property
    def list_id(self) -> int | None: ...
    @property
    def lead(self) -> str | None: ...


def render(units: Sequence[Quotable]) -> str:
    """Quote units in the order given; bullets follow the sentence that introduces them."""
    out: list[str] = []
    index = 0
    while index < len(units):
        unit = units[index]
        if unit.list_id is None:
            out.append(unit.text)
            index += 1
            continue
        group = [unit]
        while index + len(group) < len(units) and units[index + len(group)].list_id == unit.list_id:
            group.append(units[index + len(group)])
        items = "; ".join(_bullet_text(item.text) for item in group)
        if unit.lead:
            out.append(f"{unit.lead} {items}.")
        else:
            out.append(items[:1].upper() + items[1:] + ".")
        index += len(group)
    return " ".join(out)


def _bullet_text(text: str) -> str:
    return re.sub(r"(;\s*(and|or)|[;,.])\s*$", "", text.strip())
