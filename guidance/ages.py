"""Ages in practitioners' words, read in one place: the risk screen's age rules and partner
ages, its folding of short forms, and the assessor's spelling of "14yo" as "14 year old".

Text reaching `find_ages` and `partner_age` is the risk screen's folded text (lowercase,
short infant ages already spelled out by `INFANT_SHORT` / `infant_age`, glued ages split by
`AGE_GLUED` / `unglue_age`). Offsets are into that text. An age is (start, end, years); an
infant's is 0 years.
"""

from __future__ import annotations

import re

Age = tuple[int, int, int]  # (start, end, years)

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
}

# --- short forms, rewritten while the risk screen folds a message --------------------------

# infant ages written short ("4mo", "6 wks", "3/12 old") are spelled out so the lexicon's
# "month old" / "week old" words and the age reader see them
# (a bare "4mo" is an age, "for 3 mths" a time: other short forms need "old")
INFANT_SHORT = re.compile(
    r"(?<![\w/])(\d{1,2})\s?(?:(mo|m/o)(?:\s?olds?)?|(mos|mth|mths|mnth|mnths)\s?olds?"
    r"|(wk|wks|w/o)\s?olds?|/(12|52)(?:\s?olds?|(?=\s(?:f|m|male|female|boy|girl|infant)\b)))\b"
)
# ages glued to their unit ("4yo", "14y/o", "9yr old") are split so the words match
AGE_GLUED = re.compile(r"(?<![\w/.])(\d{1,2})(yo|yos|y/o|y\.o\.|yrs|yr)(?![\w/])")
_TIME_BEFORE = re.compile(r"\b(?:for|over|past|last|in|within|after|every|next|than)\s$")


def unglue_age(match: re.Match) -> str:
    """The replacement for an AGE_GLUED match: "14y/o" -> "14 yo", "9yr" -> "9 yr"."""
    unit = match.group(2)
    return f"{match.group(1)} {unit if unit.startswith('yr') else 'yo'}"


def infant_age(match: re.Match) -> str:
    """The replacement for an INFANT_SHORT match: "4mo" -> "4 month old"."""
    if _TIME_BEFORE.search(match.string, max(0, match.start() - 8), match.start()):
        return match.group()  # "for 3mo" is a time, not an age
    number = match.group(1)
    weeks = match.group(4) or match.group(5) == "52"
    return f"{number} {'week' if weeks else 'month'} old"


# --- the assessor's spelling ---------------------------------------------------------------

_YEARS_OLD_SHORT = re.compile(r"\b(\d{1,2}) ?(?:yo|y/o|y\.o\.?|yrs? old|years? old)\b")


def spell_years_old(text: str) -> str:
    """"14yo", "14 y/o", "14 yrs old" -> "14 year old", as the level patterns are written."""
    return _YEARS_OLD_SHORT.sub(r"\1 year old", text)


# --- reading ages --------------------------------------------------------------------------

_AGE_HINT = re.compile(
    r"\d|teen|twel|eleven|\bten\b|nine|eight|seven|\bsix|\bfive|\bfour|three|\btwo\b|\bone\b"
    r"|reception|nursery|twent|thirt|fort|fift"
)
_NUM = r"(\d{1,2}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"
_NOT_AGE_UNIT = (
    r"(?!\s?(?:%|am\b|pm\b|min|hour|time|st\b|nd\b|rd\b|th\b|day|week|month|mile|second"
    r"|cm|kg|lb|percent|:))"
)
_AGE_YEARS = re.compile(
    rf"\b{_NUM}\s?(?:yo|y\.o\.?|y/o|yrs? olds?|years? olds?|years of age|yr)\b"
)
_AGE_AGED = re.compile(rf"\b(?:aged?|age of)\s?{_NUM}\b{_NOT_AGE_UNIT}")
_AGE_CLINICAL = re.compile(r"(?:^|(?<=\bpt )|(?<=\bpatient )|(?<=[:;,(] )|(?<=[:;,(]))"
                           r"(1[0-7]|[2-9])\s?(?:f|m)\b")
_AGE_INFANT = re.compile(rf"\b{_NUM}\s?(?:months?|mths?|weeks?|wks?|days?)\s?olds?\b")
_AGE_SCHOOL = re.compile(r"\b(?:year|yr)\s?(\d{1,2})\b(?!\s?(?:%|olds?\b))")
_AGE_RECEPTION = re.compile(r"\b(?:reception|nursery)\s(?:child|children|boy|girl|pupil|class)")
_AGE_BARE = re.compile(
    rf"\b(?:she|he|they|i)\s?(?:'s|is|was|s|are|were|'m|am)\s(?:only\s|just\s)?{_NUM}\b{_NOT_AGE_UNIT}"
)
_AGE_DECADE = re.compile(
    r"\bin\s(?:his|her|their)\s(?:early\s|mid\s|late\s)?"
    r"(20s|30s|40s|50s|twenties|thirties|forties|fifties)"
)
_DECADES = {"twenties": 20, "thirties": 30, "forties": 40, "fifties": 50}
_BEFORE_PARTNER = re.compile(
    r"^[\s'\"(]*(?:(?:older|adult|new|secret|male|female|so called)\s*)*[\s'\")]*$"
)
_AFTER_PARTNER = re.compile(
    r"[\s'\",(:-]*(?:(?:who\s?(?:is|'s|s|was)|is|was|'s|s|aged?|of|a|an)\s)?\(?\s*"
)
_BARE_NUMBER = re.compile(rf"{_NUM}\b{_NOT_AGE_UNIT}")


def is_number(word: str) -> bool:
    """A token a pattern's #num slot takes: digits or a number word up to fifty."""
    return word.isdigit() or word in NUMBER_WORDS


def find_ages(text: str, school_year_offset: int) -> list[Age]:
    """Every age mentioned, in order; `school_year_offset` turns "year 7" into an age."""
    if not _AGE_HINT.search(text):
        return []
    ages = []
    for regex in (_AGE_YEARS, _AGE_AGED, _AGE_BARE, _AGE_CLINICAL):
        for m in regex.finditer(text):
            ages.append((m.start(), m.end(), _number(m.group(1))))
    for m in _AGE_INFANT.finditer(text):
        ages.append((m.start(), m.end(), 0))
    for m in _AGE_SCHOOL.finditer(text):
        ages.append((m.start(), m.end(), int(m.group(1)) + school_year_offset))
    for m in _AGE_RECEPTION.finditer(text):
        ages.append((m.start(), m.end(), 4))
    for m in _AGE_DECADE.finditer(text):
        word = m.group(1)
        ages.append((m.start(), m.end(), _DECADES.get(word) or int(word[:2])))
    ages.sort()
    # an infant "7 month old" also looks like nothing else; drop exact duplicates only
    return list(dict.fromkeys(ages))


def partner_age(text: str, ages: list[Age], start: int, end: int) -> Age | None:
    """The age of the partner term at text[start:end]: written just before it ("a
    24-year-old 'boyfriend'") or after it ("boyfriend, 19")."""
    for age in ages:
        if age[1] <= start and _BEFORE_PARTNER.match(text[age[1]:start]):
            return age
    after = _AFTER_PARTNER.match(text, end)
    pos = after.end() if after else end
    for age in ages:
        if age[0] == pos:
            return age
    bare = _BARE_NUMBER.match(text, pos)
    if bare:
        return (bare.start(), bare.end(), _number(bare.group(1)))
    return None


def _number(word: str) -> int:
    return int(word) if word.isdigit() else NUMBER_WORDS[word]
