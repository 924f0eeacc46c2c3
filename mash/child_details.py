"""What a message says about which child it is: ages and initials, read conservatively.

Used to decide whether a further disclosure from the same person is about the child of their
open escalation (mash.followups). Only two kinds of detail are read, because practitioners are
asked to use initials rather than names and nearly always give an age:

- ages ("9-month-old", "9 months", "aged 7", "7yo", "7 year old", "9/12", "3/52");
- school years ("Year 5", "Y5"), compared with school years only;
- initials ("J.S.", "JS", "child A", "initials KT").

A wrong reading can only ever make the match stricter or looser in one known way: details that
disagree mean "a different child" (a new escalation: a duplicate at worst, never a lost one),
and a message without details joins only within the short window. So the patterns favour
reading too much (a stray acronym taken as initials) over missing a detail, and the common
acronyms of the field are excluded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
}
_NUM = r"(\d{1,2}|" + "|".join(_NUMBER_WORDS) + r")"
_UNIT = {
    "w": "weeks", "wk": "weeks", "wks": "weeks", "week": "weeks", "weeks": "weeks",
    "m": "months", "mo": "months", "mos": "months", "mth": "months", "mths": "months",
    "month": "months", "months": "months",
    "y": "years", "yo": "years", "yr": "years", "yrs": "years", "year": "years", "years": "years",
}
# "9-month-old", "9 month old", "9 months", "7yo", "7 yrs", "7 year old"
_AGE_UNIT = re.compile(
    rf"\b{_NUM}[\s-]?(weeks?|wks?|months?|mths?|mos?|years?|yrs?|yo|y/o)\b(?:[\s-]?old)?",
    re.IGNORECASE,
)
# "aged 7", "age 7", "age: 7"
_AGE_AGED = re.compile(
    rf"\bage[d]?:?\s+{_NUM}\b(?!\s*(?:weeks?|months?|[/-]|\.\d))", re.IGNORECASE
)
# A school year ("Year 5", "Yr 5", "Y5"): a child of N+4 or N+5 (England and Wales).
_SCHOOL_YEAR = re.compile(r"\b(?:year|yr|y)\s?(\d{1,2})\b(?![\s-]*(?:olds?|old\b))",
                          re.IGNORECASE)
# GP shorthand: "9/12" months, "3/52" weeks (not part of a date: redaction took those).
_AGE_CLINICAL = re.compile(r"(?<![\d/])(\d{1,2})/(12|52)(?![\d/])")
# "J.S.", "J. S.", "J.S"
_DOTTED = re.compile(r"(?<![A-Za-z.])((?:[A-Z]\.\s?){1,2}[A-Z])\.?(?![A-Za-z])")
# "child A", "pupil JS", "baby KT", "initials KT"
_LABELLED = re.compile(
    r"\b(?i:child|pupil|student|baby|infant|boy|girl|patient|son|daughter|initials?)\s+"
    r"([A-Z]{1,3})\b"
)
# A bare 2-3 capital token ("JS said ..."), unless it is one of the field's acronyms.
_BARE = re.compile(r"(?<![A-Za-z&/])([A-Z]{2,3})(?![A-Za-z&/])")
ACRONYMS = frozenset(
    """
    AE ADD ADHD ASD BBC CAF CAMHS CCE CIN CP CPP CSC CSE CT DBS DOB DSL DV ED EDT EHA EHCP FGM
    GP GPS HV ICPC IFD LA LAC LADO MARF MASH MRI NAI NFA NHS NSPCC OK PC PCSO PE RE SALT SEN
    SEND SENCO SW TAF TV UK USA YOT ZZ ID IT PM AM ADL RCPC ICP PSHE DT ICT MFL ASAP PTO CTO
    WSCP SGO EWO DSO NQT TA KS MH AND THE FOR NOT BUT ALL HER HIS SHE HIM WHO WHY HOW ANY I
    """.split()
)


@dataclass(frozen=True)
class ChildDetails:
    """The ages (in months; whole years from two years up) and initials a text gives."""

    ages: frozenset[int] = frozenset()
    initials: frozenset[str] = frozenset()
    # School years are compared with school years only: "Year 3" and "Year 4" are different
    # children, though their ages overlap.
    school_years: frozenset[int] = frozenset()

    @property
    def empty(self) -> bool:
        return not self.ages and not self.initials and not self.school_years

    def merged(self, other: ChildDetails) -> ChildDetails:
        return ChildDetails(self.ages | other.ages, self.initials | other.initials,
                            self.school_years | other.school_years)


def _number(raw: str) -> int:
    return int(raw) if raw.isdigit() else _NUMBER_WORDS[raw.lower()]


def _age_key(value: int, unit: str) -> int:
    """Months, rounded to whole years from 24 months up: "2 years" and "24 months" agree,
    "9 months" and "10 months" do not."""
    months = {"weeks": value // 4, "months": value, "years": value * 12}[unit]
    return months if months < 24 else (months // 12) * 12


def read_child_details(text: str) -> ChildDetails:
    """The ages and initials `text` mentions (empty when it mentions none)."""
    ages: set[int] = set()
    for match in _AGE_UNIT.finditer(text):
        unit = _UNIT.get(match.group(2).lower().replace("/", ""), "years")
        ages.add(_age_key(_number(match.group(1)), unit))
    for match in _AGE_AGED.finditer(text):
        ages.add(_age_key(_number(match.group(1)), "years"))
    school_years = {int(m.group(1)) for m in _SCHOOL_YEAR.finditer(text)
                    if 1 <= int(m.group(1)) <= 13}
    for match in _AGE_CLINICAL.finditer(text):
        unit = "months" if match.group(2) == "12" else "weeks"
        ages.add(_age_key(int(match.group(1)), unit))
    ages = {a for a in ages if 0 <= a <= 18 * 12}

    initials: set[str] = set()
    for match in _DOTTED.finditer(text):
        initials.add(re.sub(r"[.\s]", "", match.group(1)))
    letters = [ch for ch in text if ch.isalpha()]
    shouting = sum(ch.isupper() for ch in letters) > len(letters) / 2
    # A message typed in capitals has no bare initials to tell apart from its words.
    for pattern in (_LABELLED,) if shouting else (_LABELLED, _BARE):
        for match in pattern.finditer(text):
            token = match.group(1)
            if token not in ACRONYMS:
                initials.add(token)
    return ChildDetails(frozenset(ages), frozenset(initials), frozenset(school_years))


def read_all(texts: Iterable[str | None]) -> ChildDetails:
    """The details of several texts together (an escalation and its further messages)."""
    details = ChildDetails()
    for text in texts:
        if text:
            details = details.merged(read_child_details(text))
    return details


def compare(new: ChildDetails, known: ChildDetails) -> str:
    """'different' when the two disagree on a kind of detail both give (no age or no initials
    in common), 'same' when they share a detail and disagree on none, 'unknown' otherwise
    (either gives nothing the other can be checked against)."""
    shared = False
    for mine, theirs in ((new.ages, known.ages), (new.initials, known.initials),
                         (new.school_years, known.school_years)):
        if mine and theirs:
            if not mine & theirs:
                return "different"
            shared = True
    if shared:
        return "same"
    # With nothing in common to go on, an age against a school year can still tell children
    # apart (a baby is in no school year); an age that fits a year is not enough to call two
    # messages the same child. (A message about several children may give a baby's age and an
    # older sibling's year: only when nothing is shared are they weighed against each other.)
    for ages, years in ((new.ages, known.school_years), (known.ages, new.school_years)):
        if ages and years and not any(_in_year(age, year) for age in ages for year in years):
            return "different"
    return "unknown"


def _in_year(age_months: int, school_year: int) -> bool:
    """Whether a child of this age could be in this school year (Year N: aged N+4 to N+5
    during the year, a year's slack either side for a child moved up or held back)."""
    return 12 * (school_year + 3) <= age_months <= 12 * (school_year + 6)
