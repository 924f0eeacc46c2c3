"""Category ids (`domestic_abuse`) as the pack's human labels ("Domestic abuse in the child's
home"), wherever a user reads one: threshold cards, escalation details, the concerns list, the
queue, the dashboard and Slack. The labels are the pack's (`engine.pack.lexicon.labels`); an id
the pack does not know still reads as words, never as an id."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

# A parenthesised list of ids, as the risk screen names its categories in a reason:
# "... significant harm now (baby_injury, physical_abuse)."
_ID_LIST = re.compile(r"\(([a-z][a-z_]*(?:, [a-z][a-z_]*)*)\)")


def category_label(category: str, labels: Mapping[str, str]) -> str:
    return labels.get(category) or category.replace("_", " ").strip().capitalize()


def category_list(
    categories: Iterable[str], labels: Mapping[str, str], *, empty: str = "", sep: str = "; "
) -> str:
    """The labels joined (with "; ": labels may hold commas), or `empty` for none."""
    return sep.join(category_label(c, labels) for c in categories) or empty


def humanise_reason(text: str, labels: Mapping[str, str]) -> str:
    """A reason with each parenthesised list of the pack's category ids as their labels. Only
    a list made wholly of known ids is rewritten, so prose in brackets is left alone."""

    def swap(match: re.Match[str]) -> str:
        ids = match.group(1).split(", ")
        if not all(i in labels for i in ids):
            return match.group(0)
        return f"({category_list(ids, labels)})"

    return _ID_LIST.sub(swap, text)


def pack_labels(pack_path: Path) -> dict[str, str]:
    """The pack's category labels, for a process without the guidance engine (the outbox
    dispatcher); empty if the lexicon cannot be read (ids then read as words)."""
    from guidance.lexicon import load_lexicon

    lexicon, _problems = load_lexicon(pack_path)
    return dict(lexicon.labels) if lexicon is not None else {}
