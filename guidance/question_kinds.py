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

    # One property per kind, so that the rules choosing sentences read plainly.
    asks_number = property(lambda self: "number" in self.kinds)
    asks_time = property(lambda self: "time" in self.kinds)
    asks_date = property(lambda self: "date" in self.kinds)
    asks_hours = property(lambda self: "hours" in self.kinds)  # "When is it open?"
    asks_definition = property(lambda self: "definition" in self.kinds)
    asks_action = property(lambda self: "action" in self.kinds)
    asks_level = property(lambda self: "level" in self.kinds)
    asks_list = property(lambda self: "list" in self.kinds)
    asks_signs = property(lambda self: "signs" in self.kinds)
    asks_who = property(lambda self: "who" in self.kinds)
    asks_should = property(lambda self: "should" in self.kinds)  # an instruction answers
    asks_permission = property(lambda self: "permission" in self.kinds)  # "You can..." answers


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
