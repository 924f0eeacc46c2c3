"""The units an answer quotes (a sentence, or one bullet with its lead-in), and what kind of
answer each can give (a number, a timescale, a level, a step...), found once per pack.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from guidance.passages import Passage

_PHONE = re.compile(r"\b\d{3,5} ?\d{3} ?\d{3,4}\b|\b999\b|\b101\b")


_TIME = re.compile(
    r"\b(within|whenever|working days?|days?|hours|weeks?|months?|years?|same day|straight away|"
    r"at once|immediately|every)\b",
    re.IGNORECASE,
)


# A number with a unit of time: the sentence that answers "how long" or "when" carries one.
_TIMESCALE = re.compile(
    r"\b(\d+|one|two|three|four|five|six|seven|eight|ten|twelve|fifteen|same|next)"
    r"( working| school)? (days?|hours?|weeks?|months?|years?)\b|\bbefore the (next|end)\b|"
    r"\bstraight away\b|\bat once\b|\bwhenever\b|\bat intervals\b|"
    r"\b(held|happens?|starts?|needed|meets?) (when|whenever|if|within)\b|"
    r"\b(becomes?|applies|apply)\b[^.;]{0,40}?\b(when|whenever|if)\b",
    re.IGNORECASE,
)


_DATE = re.compile(r"\bsince \w+|\b(19|20)\d\d\b", re.IGNORECASE)


_HOURS = re.compile(r"\b\d{1,2}(:\d\d)? ?(am|pm)\b|\bmonday to friday\b|\b\d{1,2}:\d\d\b", re.I)


_PERMITS = re.compile(
    r"^(you|staff|practitioners|professionals|anyone) (can|may|must|should|need|do not need|"
    r"cannot|can't|must not|should not)\b",
    re.IGNORECASE,
)


_SIGNS = re.compile(
    r"\b(signs? (include|that|of)|possible signs|indicators?|signs:)", re.IGNORECASE
)


_ACTOR = re.compile(
    r"\b(anyone|everyone|any practitioner|social workers?|police|health|designated safeguarding "
    r"lead|DSL|GPs?|LADO|Local Authority Designated Officer|head teacher|chair|manager|parents?|"
    r"families|professionals|agenc(y|ies)|Integrated Front Door|MASH|children's social care|"
    r"teachers?|nurse|officer|team|court|local authority|practitioners?)\b",
    re.IGNORECASE,
)


_DEFINES = re.compile(
    r"^(?:[\w'()-]+[ ,]+){0,12}?(is|are|means|mean|includes?|refers to|is when)\b", re.IGNORECASE
)


_IMPERATIVE = re.compile(
    r"^(what to do: |(stage|step) \d+: )?(if [^,]{0,80}, )?(when [^,]{0,80}, )?"
    r"(listen|tell|ring|call|refer|contact|report|record|write|never|do not|don't|make|keep|"
    r"seek|share|ask|take|get|give|follow|escalate|speak|"
    r"talk|explain|reassure|stop|act|send|check|consider|use|note|pass|treat|involve)\b",
    re.IGNORECASE,
)


_ESCALATE = re.compile(
    r"designated safeguarding lead|\bDSL\b|Integrated Front Door|Emergency Duty Team|\bpolice\b"
    r"|\brefer\b|\b999\b",
    re.IGNORECASE,
)


_LEVEL = re.compile(r"\bLevel [1-4]\b")


_SEPARATOR = re.compile(r"[,;:]| and | or ")


@dataclass
class Unit:
    """A sentence, or one bullet of a list, that an answer can quote."""

    text: str
    terms: frozenset[str]
    position: int
    list_id: int | None = None  # bullets of one list share an id
    lead: str | None = None  # the sentence ending in ':' that introduces the list
    is_lead: bool = False
    first_in_paragraph: bool = False
    # What kind of answer the unit can give, found once when the index is built.
    has_phone: bool = False
    has_time: bool = False
    has_timescale: bool = False
    has_date: bool = False
    subject: frozenset[str] = frozenset()  # terms before the verb of a defining sentence
    has_level: bool = False
    is_list: bool = False  # a bullet, or a sentence naming three or more things
    has_signs: bool = False
    actors: int = 0  # people and agencies named
    defines: bool = False
    is_action: bool = False
    escalates: bool = False
    records: bool = False  # "write down", "record"
    forbids: bool = False  # "Never ...", "Do not ...": a step in its own right
    has_hours: bool = False  # "9am to 5pm", "Monday to Friday"
    permits: bool = False  # "You can ...", "You must ..."


def annotate(unit: Unit) -> None:
    text = unit.text
    with_lead = f"{unit.lead} {text}" if unit.lead else text
    unit.has_phone = bool(_PHONE.search(text))
    unit.has_time = bool(_TIME.search(text))
    unit.has_timescale = bool(_TIMESCALE.search(text))
    unit.has_date = bool(_DATE.search(text))
    unit.has_level = bool(_LEVEL.search(with_lead))
    unit.is_list = unit.list_id is not None or len(_SEPARATOR.findall(text)) >= 3
    unit.has_signs = bool(_SIGNS.search(with_lead))
    unit.actors = len(_ACTOR.findall(text))
    unit.defines = unit.list_id is None and bool(_DEFINES.match(text))
    unit.is_action = bool(_IMPERATIVE.match(text)) or bool(
        unit.lead and re.search(r"\bwhat to do\b|\bhow to\b|\bdo\b.*:$|\bshould\b", unit.lead, re.I)
    )
    unit.escalates = bool(_ESCALATE.search(text))
    unit.records = bool(re.search(r"\b(write down|record)\b", text, re.IGNORECASE))
    unit.forbids = bool(re.match(r"(never|do not|don't)\b", text, re.IGNORECASE))
    unit.has_hours = bool(_HOURS.search(text))
    unit.permits = bool(_PERMITS.match(text))


def make_unit(passage: Passage, terms: Callable[[str], list[str]]) -> Unit:
    """A passage with its terms (a bullet's include its lead-in's) and what it can answer."""
    found = set(terms(passage.text))
    if passage.list_id is not None:
        found |= set(terms(passage.lead or ""))  # a bullet means its lead too
    unit = Unit(
        passage.text,
        frozenset(found),
        passage.position,
        list_id=passage.list_id,
        lead=passage.lead,
        is_lead=passage.is_lead,
        first_in_paragraph=passage.first_in_paragraph,
    )
    annotate(unit)
    if unit.defines:
        match = _DEFINES.match(unit.text)
        unit.subject = frozenset(terms(match.group(0) if match else ""))
    return unit
