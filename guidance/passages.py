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

from markdown_it import MarkdownIt
from markdown_it.token import Token

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


def _inline_text(token: Token) -> str:
    """An inline token's words without markup: emphasis and code marks dropped, line breaks as
    spaces, links as their text."""
    parts = []
    for child in token.children or ():
        if child.type in ("text", "code_inline", "html_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def _blocks(body: str) -> list[tuple[str, str, tuple[int, int]]]:
    """(kind, text, lines) of each prose block ("prose") and list item ("item"), in order;
    markdown-it-py's CommonMark parser finds them. A new list starts with kind "list"."""
    tokens = MarkdownIt("commonmark", {"html": False}).parse(body)
    out: list[tuple[str, str, tuple[int, int]]] = []
    items = 0  # depth inside lists: a nested list's items belong to the outer list
    for index, token in enumerate(tokens):
        if token.type in ("bullet_list_open", "ordered_list_open"):
            if not items:
                out.append(("list", "", tuple(token.map or (0, 0))))
            items += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            items -= 1
        elif token.type == "inline":
            opener = tokens[index - 1]
            lines = tuple(opener.map or token.map or (0, 0))
            out.append(("item" if items else "prose", _inline_text(token), lines))
    return out


def plain_text(body: str) -> str:
    """A section body's words without markdown (for indexing)."""
    return " ".join(text for kind, text, _ in _blocks(body) if text)


def split_passages(body: str) -> list[Passage]:
    """Split a section body into passages; a bullet remembers the sentence leading into it
    (the last sentence of the paragraph just before its list, when it ends in ':')."""
    out: list[dict] = []
    list_id = 0
    lead: str | None = None
    previous_end = -1  # the line after the block before: a list on it continues that block
    new_block = True
    for kind, text, (first, last) in _blocks(body):
        if kind == "list":
            # The sentence ending in ':' just before introduces the list, even across a blank
            # line; a bullet after a blank line still starts a new block of the guide.
            list_id += 1
            new_block = first != previous_end
            continue
        if kind == "item":
            out.append({"text": text, "list_id": list_id, "lead": lead,
                        "first_in_paragraph": new_block})
            new_block = False
            previous_end = last
            continue
        if out and out[-1].get("list_id") is not None:
            lead = None  # prose after a list: the lead-in is over
        start = len(out)
        lead = _add_sentences(out, text)
        if start < len(out):
            out[start]["first_in_paragraph"] = True
        previous_end = last
    return [Passage(position=index, **fields) for index, fields in enumerate(out)]


def _add_sentences(out: list[dict], text: str) -> str | None:
    """Add the sentences of a prose run; return the last one if it introduces a list."""
    last = None
    for sentence in _SENTENCE_END.split(text):
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
    """Quote units in the order given; a list is quoted as a list, one "- " line per bullet,
    after the sentence that introduces it."""
    lines: list[tuple[str, bool]] = []  # (text, is a bullet line)
    index = 0
    while index < len(units):
        unit = units[index]
        if unit.list_id is None:
            lines.append((unit.text, False))
            index += 1
            continue
        group = [unit]
        while index + len(group) < len(units) and units[index + len(group)].list_id == unit.list_id:
            group.append(units[index + len(group)])
        if unit.lead:
            lines.append((unit.lead, False))
        lines.extend((f"- {_bullet_text(item.text)}", True) for item in group)
        index += len(group)
    return join_rendered([text for text, _ in lines], [bullet for _, bullet in lines])


def join_rendered(parts: Sequence[str], bullets: Sequence[bool] | None = None) -> str:
    """Rendered pieces as one answer: sentences run on, a bullet line stands on its own line."""
    out = ""
    for index, part in enumerate(parts):
        if not part:
            continue
        is_bullet = bullets[index] if bullets is not None else part.startswith("- ")
        if out:
            last_line = out.rsplit("\n", 1)[-1]
            out += "\n" if is_bullet or last_line.startswith("- ") else " "
        out += part
    return out


def _bullet_text(text: str) -> str:
    return re.sub(r"(;\s*(and|or)|[;,.])\s*$", "", text.strip())
