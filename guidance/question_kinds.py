"""What kind of answer a question asks for (a number, a time, a definition, a list, what to
do...), and the frame words ("how long") that say so.

The kinds are read by one small classifier learned from labelled questions at build time
(guidance/classifier.py: the question-kind model of the cached bundle); `KindReader` wraps it.
The frame words are still found by pattern, because retrieval needs them: "long" in "how long"
is the kind of answer, not the subject, and is weighted down (guidance/vocabulary.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

# Every kind the classifier can give; the asks_* properties of Query read them.
KINDS = ("number", "time", "date", "hours", "definition", "action", "level", "list", "signs",
         "who", "should", "permission")

# Words that frame a question ("how long", "how often") and are not its subject.
_FRAME = re.compile(
    r"\bhow (long|often|soon|quickly|quick|fast|many|much)\b|\bby when\b|\bwhat time\b|"
    r"\bwhat (counts?|classes|qualifies) as\b|\bwhat is meant by\b|\bwhat does it mean\b"
)


# "Definition of X", "explain X", "X meaning?": say what kind of answer, not what about.
_DEFINE_FRAME = re.compile(
    r"\b(definition|meaning)( of)?\b|^\s*(define|explain)\b|\bmeans?\s*[?.!]*\s*$"
)


# Ages ("a 4 month old", "12yo", "15 year old") become the word the guide uses.
_AGE = re.compile(
    r"\b(\d{1,2}|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"thirteen|fourteen|fifteen|sixteen|seventeen)[ -]?(?:(days?|weeks?|wks?|months?|mths?|"
    r"years?|yrs?)[ -]?olds?|(yo|y/o|y\.o\.?))(?!\w)"
)


_CLOCK = re.compile(r"\b(\d{1,2})([:.]\d\d)? ?(am|pm)\b")


@dataclass
class Query:
    weights: dict[str, float] = field(default_factory=dict)
    original: list[str] = field(default_factory=list)  # the asker's own content lemmas
    kinds: frozenset[str] = frozenset()  # what kind of answer is asked for ("number"...)
    expanded: set[str] = field(default_factory=set)  # terms the glossary added
    expanded_from: dict[str, frozenset[str]] = field(default_factory=dict)  # ...for which words
    framed: set[str] = field(default_factory=set)  # "long" of "how long"

    # One flag per kind, set once from `kinds` (they are read for every sentence scored, so
    # plain attributes rather than properties).
    asks_number: bool = field(init=False, default=False)
    asks_time: bool = field(init=False, default=False)
    asks_date: bool = field(init=False, default=False)
    asks_hours: bool = field(init=False, default=False)  # "When is it open?"
    asks_definition: bool = field(init=False, default=False)
    asks_action: bool = field(init=False, default=False)
    asks_level: bool = field(init=False, default=False)
    asks_list: bool = field(init=False, default=False)
    asks_signs: bool = field(init=False, default=False)
    asks_who: bool = field(init=False, default=False)
    asks_should: bool = field(init=False, default=False)  # an instruction answers
    asks_permission: bool = field(init=False, default=False)  # "You can..." answers

    def __post_init__(self) -> None:
        for kind in self.kinds:
            if kind in KINDS:
                setattr(self, f"asks_{kind}", True)


class KindReader:
    """The kinds a question asks for, from a learned model (`classify`: text -> kinds)."""

    def __init__(self, classify: Callable[[str], frozenset[str]]):
        self._classify = classify

    def read(self, question: str) -> frozenset[str]:
        return frozenset(kind for kind in self._classify(question) if kind in KINDS)


def _clock_word(match: re.Match[str]) -> str:
    """'10pm' -> 'out of hours'; '11am' -> 'office hours' (the front door's hours are 9 to 5)."""
    hour = int(match.group(1)) % 12 + (12 if match.group(3) == "pm" else 0)
    return " office hours " if 9 <= hour < 17 else " out of hours "


def _age_word(match: re.Match[str]) -> str:
    """'4 month old' -> 'baby'; '12 year old' -> 'child' (keeping the age for 'under 13')."""
    unit = match.group(2) or "y"
    return " baby " if unit.startswith(("d", "w", "m")) else " child age "


def frame_and_content(normalised: str) -> tuple[str, str]:
    """("how long", the rest): the frame is the question type, not its subject; an age ("a 4
    month old") is a baby or a child, a clock time office or out of hours."""
    frame = " ".join(m.group(0) for m in _FRAME.finditer(normalised))
    content = _DEFINE_FRAME.sub(" ", _FRAME.sub(" ", normalised))
    content = _AGE.sub(_age_word, content)
    return frame, _CLOCK.sub(_clock_word, content)
