"""What kind of answer a question asks for (a number, a time, a definition, a list, what to
do...), read from its wording, and the frame words ("how long") that say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ASKS_NUMBER = frozenset("number numbers phone ring call telephone tel helpline dial num".split())


_ASKS_REACH = re.compile(r"\bhow (do|can|should|would) (i|we|you) (contact|reach|get hold of)\b")


_ASKS_TIME = frozenset(
    "quickly quick long soon often when timescale timescales deadline frequency fast "
    "deadlines within frequently timeframe timeframes".split()
)


_ASKS_TIME_PHRASE = re.compile(r"\btime ?(limits?|frames?|scales?)\b|\bhow many (working )?days\b")


_ASKS_DATE = re.compile(r"\bwhen (did|was|were)\b|\bwhat year\b|\bsince when\b")


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


_DEFINITION = re.compile(
    r"^\s*(what\s*(is|are|'s|does|do)|whats|define|definition|meaning|explain|who\s*(is|are)|"
    r"tell me about|what counts as|what is meant by)\b|\bwhat does .{1,40} mean\b|"
    r"\bwhat counts as\b|\bmeaning of\b|"
    r"^[\w' -]{1,40}?\b(meaning|means?|definition|defined|stand for|stands for)\s*[?.!]*\s*$"
)


# "What times is it open?", "opening hours": the answer carries the hours.
_ASKS_HOURS = re.compile(
    r"\b(open|opening|opens)\b|\bwhat times?\b|\bclos(e|es|ing) time\b|(?<!of )\bhours\b"
)


# "Can I share without consent?": a sentence saying what you can (or must) do answers it.
_ASKS_PERMISSION = re.compile(r"^\s*(can|could|may|am i allowed to|is it ok to|do i need to|"
                              r"do i have to|must) (i|we)?\b")


# "Who is in the MASH?", "which agencies", "what are the signs/steps/rules": a list answers.
_ASKS_LIST = re.compile(
    r"\bwho('s| is| are)? (in|on|part of)\b|\bwho (attends?|sits?|goes|"
    r"comes|takes? part|works?|is involved|are the|should (attend|be invited|be there|be at)|"
    r"(is|are|gets?) invited|(is|are) at)\b|"
    r"\blist\b|\bwhat (are|r) (the |some |all )?(\w+ ){0,3}(types|categories|kinds|stages|"
    r"steps|signs|rules|questions|domains|areas|indicators|principles|agencies|partners|"
    r"members|examples|responsibilities|duties|options|outcomes|levels)\b|"
    r"\b(what|which) (agencies|types|kinds|categories|examples|responsibilities|"
    r"organisations|professionals|people)\b|"
    r"\bwhat (should|do|must|does|to) (\w+ ){0,2}(include|put|write|contain|cover)\b"
)


_ASKS_SIGNS = re.compile(
    r"\b(signs?|symptoms?|indicators?|red flags?|warning|spot|recogni[sz]e|look(ing)? (out )?"
    r"for|how (do|can|would|will|could) (i|we|you) (know|tell))\b"
)


_ASKS_SHOULD = re.compile(
    r"^\s*(should|can|could|must|may|do|shall) (i|we)\b|\b(is it ok|am i allowed) to\b"
)


_ASKS_WHO = re.compile(r"^\s*(who|whom)\b|\bwho (do|should|can|must|decides?|makes?|is|are)\b")


_ASKS_ACTION = re.compile(
    r"\bwhat (should|do|must|can|would|shall) (i|we|staff|you|(a|an|the|my|our) \w+( \w+)?)"
    r" do\b|\bwhat (now|next|action|steps)\b|\bnext steps?\b|\bwhat to do\b|"
    r"\bhow (should|do|can|must|would) (i|we|you) (respond|act|handle|deal|report|refer|help|"
    r"make|raise|escalate|record|contact|tell|support|react|manage|challenge|disagree|appeal|"
    r"complain|get|access|register|apply|book|request|arrange|share|pass on|follow up)\b|"
    r"\bwhat (do|should) (i|we) do\b"
)


# "What happens after a referral?": the answer is a process with its timescale.
_ASKS_PROCESS = re.compile(
    r"\bwhat (happens|will happen) (after|next|once|then|when|if)\b|\bwhat next\b|"
    r"\bwhat happens to (my|a|the) (referral|request)|\bhow (does|do|will) [\w' -]{1,40} work\b"
)


_QUESTION = re.compile(
    r"\?|^\s*(what|whats|who|when|where|why|how|which|is|are|do|does|can|could|should|must|"
    r"would|will|may|define|explain|tell|list)\b"
)


_ASKS_LEVEL = re.compile(r"\b(what|which) level\b|\blevel (of need )?(is|would|does|for)\b")


@dataclass
class Query:
    weights: dict[str, float] = field(default_factory=dict)
    original: list[str] = field(default_factory=list)  # the asker's own content lemmas
    asks_number: bool = False
    asks_time: bool = False
    asks_definition: bool = False
    asks_action: bool = False
    asks_level: bool = False
    asks_list: bool = False
    asks_signs: bool = False
    asks_who: bool = False
    asks_date: bool = False
    asks_should: bool = False  # "Should I tell the parents?": an instruction answers
    asks_hours: bool = False  # "When is it open?": the opening hours answer
    asks_permission: bool = False  # "Can I ...?": "You can ... when ..." answers
    expanded: set[str] = field(default_factory=set)  # terms the glossary added
    expanded_from: dict[str, frozenset[str]] = field(default_factory=dict)  # ...for which words
    framed: set[str] = field(default_factory=set)  # "long" of "how long"

    @property
    def kinds(self) -> frozenset[str]:
        """What kind of answer is asked for: the names of the asks_* flags that are set."""
        return frozenset(
            name[5:] for name, value in vars(self).items() if name.startswith("asks_") and value
        )


def _clock_word(match: re.Match[str]) -> str:
    """'10pm' -> 'out of hours'; '11am' -> 'office hours' (the front door's hours are 9 to 5)."""
    hour = int(match.group(1)) % 12 + (12 if match.group(3) == "pm" else 0)
    return " office hours " if 9 <= hour < 17 else " out of hours "


def _age_word(match: re.Match[str]) -> str:
    """'4 month old' -> 'baby'; '12 year old' -> 'child' (keeping the age for 'under 13')."""
    unit = match.group(2) or "y"
    return " baby " if unit.startswith(("d", "w", "m")) else " child age "


def read_kinds(query: Query, normalised: str, words: set[str]) -> None:
    """Set the query's asks_* flags from the normalised question and its words."""
    query.asks_action = bool(_ASKS_ACTION.search(normalised))
    query.asks_level = bool(_ASKS_LEVEL.search(normalised))
    query.asks_number = bool(words & _ASKS_NUMBER) or bool(_ASKS_REACH.search(normalised))
    query.asks_time = (
        bool(words & _ASKS_TIME)
        or bool(_ASKS_PROCESS.search(normalised))
        or bool(_ASKS_TIME_PHRASE.search(normalised))
    )
    # A number or a time is a sharper question than "what is"; a bare situation
    # ("a pupil has told me...") is a question about what to do.
    query.asks_definition = bool(_DEFINITION.search(normalised)) and not (
        query.asks_number or query.asks_time
    )
    if not query.asks_definition and not _QUESTION.search(normalised):
        query.asks_action = True
    query.asks_list = bool(_ASKS_LIST.search(normalised))
    query.asks_signs = bool(_ASKS_SIGNS.search(normalised)) and "signs of safety" not in (
        normalised
    )
    query.asks_who = bool(_ASKS_WHO.search(normalised))
    query.asks_date = bool(_ASKS_DATE.search(normalised))
    query.asks_should = bool(_ASKS_SHOULD.search(normalised))
    query.asks_hours = bool(_ASKS_HOURS.search(normalised))
    query.asks_permission = bool(_ASKS_PERMISSION.search(normalised))
    if query.asks_signs or query.asks_list:
        query.asks_definition = False


def frame_and_content(normalised: str) -> tuple[str, str]:
    """("how long", the rest): the frame is the question type, not its subject; an age ("a 4
    month old") is a baby or a child, a clock time office or out of hours."""
    frame = " ".join(m.group(0) for m in _FRAME.finditer(normalised))
    content = _DEFINE_FRAME.sub(" ", _FRAME.sub(" ", normalised))
    content = _AGE.sub(_age_word, content)
    return frame, _CLOCK.sub(_clock_word, content)
