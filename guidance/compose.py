"""Quoting the guide: chosen passages rendered as answer text, in the guide's own words."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol


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
