"""A silent trial of a guidance change: score the same texts with the live pack and a candidate.

The candidate never acts. For each text it is asked what the live engine was asked (the risk
screen, the threshold check, and optionally a question's answer), and every way the two
disagree is a Difference. `report_lines` counts the differences by kind with examples, which
is the evidence a council wants before it switches packs (`python -m guidance shadow-report`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

URGENCY_RANK = {"none": 0, "concern": 1, "immediate": 2}
VERBS = ("risk", "assess", "ask")
# Every kind of difference, in the order the report lists them (escalations first: they reach
# the MASH's duty desk).
CHANGES = (
    "escalates", "no longer escalates", "more urgent", "less urgent",
    "level up", "level down", "now placed", "now unplaced", "answer changed",
)


@dataclass(frozen=True)
class Difference:
    verb: str  # risk | assess | ask
    change: str  # one of CHANGES
    live: str
    candidate: str


def risk_difference(live: Any, candidate: Any) -> Difference | None:
    """How the candidate's urgency differs from the live one's (RiskResult.urgency)."""
    was, now = live.urgency, candidate.urgency
    if was == now:
        return None
    if now == "immediate":
        change = "escalates"
    elif was == "immediate":
        change = "no longer escalates"
    else:
        change = "more urgent" if URGENCY_RANK[now] > URGENCY_RANK[was] else "less urgent"
    return Difference("risk", change, was, now)


def level_difference(live: Any, candidate: Any) -> Difference | None:
    """How the candidate's suggested level differs (Assessment.level; None when unplaced)."""
    was, now = live.level, candidate.level
    if was == now:
        return None
    if was is None:
        change = "now placed"
    elif now is None:
        change = "now unplaced"
    else:
        change = "level up" if now > was else "level down"
    return Difference("assess", change, _level(was), _level(now))


def answer_difference(live: Any, candidate: Any) -> Difference | None:
    """Whether the candidate answers a question differently (text or sources)."""
    was = (live.answer, [s.id for s in live.sources])
    now = (candidate.answer, [s.id for s in candidate.sources])
    if was == now:
        return None
    return Difference("ask", "answer changed", ", ".join(was[1]) or "no source",
                      ", ".join(now[1]) or "no source")


def _level(level: int | None) -> str:
    return "unplaced" if level is None else f"level {level}"


_BATCH = {"risk": "risk_many", "assess": "assess_many", "ask": "ask_many"}
_COMPARE: dict[str, Callable[[Any, Any], Difference | None]] = {
    "risk": risk_difference, "assess": level_difference, "ask": answer_difference,
}


def compare(live: Any, candidate: Any, texts: Sequence[str],
            verbs: Sequence[str] = ("risk", "assess")) -> list[list[Difference]]:
    """For each text, every difference between the two engines (guidance.engine.Engine) on
    the verbs asked for; an empty list where they agree."""
    unknown = set(verbs) - set(VERBS)
    if unknown:
        raise ValueError(f"unknown verbs: {', '.join(sorted(unknown))}")
    found: list[list[Difference]] = [[] for _ in texts]
    for verb in verbs:
        ours = getattr(live, _BATCH[verb])(list(texts))
        theirs = getattr(candidate, _BATCH[verb])(list(texts))
        for row, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            difference = _COMPARE[verb](a, b)
            if difference is not None:
                found[row].append(difference)
    return found


def report_lines(texts: Sequence[str], found: Sequence[Sequence[Difference]], *,
                 examples: int = 3, excerpt_chars: int = 160) -> list[str]:
    """Counts of each kind of difference over the texts, with a few examples of each."""
    total = len(texts)
    differing = sum(1 for row in found if row)
    lines = [f"{total} texts scored by both packs; {differing} scored differently "
             f"({_share(differing, total)})"]
    by_change: dict[str, list[tuple[str, Difference]]] = {}
    for text, row in zip(texts, found, strict=True):
        for difference in row:
            by_change.setdefault(difference.change, []).append((text, difference))
    for change in CHANGES:
        rows = by_change.get(change, [])
        if not rows:
            continue
        lines.append(f"  {change}: {len(rows)} ({_share(len(rows), total)})")
        for text, difference in rows[:examples]:
            lines.append(f"    - {difference.live} -> {difference.candidate}: "
                         f"{_excerpt(text, excerpt_chars)}")
    if not differing:
        lines.append("  the candidate agrees with the live pack on every text")
    return lines


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "0%"


def _excerpt(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
