"""Words as practitioners type them, in the guide's words: text-speak respelled, word families
("refer", "referral") and crude stems, and one-letter spelling slips.
"""

from __future__ import annotations

import re

from guidance.nlp import normalise

# Text-speak and everyday short forms, respelled before a question is analysed, so that
# "shud i share info" asks the same as "should I share information" (at full weight, unlike a
# glossary widening). Whole words only; the guide's own abbreviations stay in the glossary.
_RESPELL = {
    "u": "you", "ur": "your", "r": "are", "wat": "what", "wot": "what",
    "wht": "what", "whats": "what is", "wen": "when", "hw": "how", "shud": "should",
    "shld": "should", "cud": "could", "wud": "would", "im": "i am", "ive": "i have",
    "dont": "do not", "cant": "cannot", "wont": "will not", "isnt": "is not",
    "doesnt": "does not", "didnt": "did not", "havent": "have not", "hasnt": "has not",
    "shouldnt": "should not", "abt": "about", "b4": "before", "bc": "because",
    "cos": "because", "coz": "because", "cuz": "because", "ppl": "people", "pls": "please",
    "plz": "please", "info": "information", "rn": "right now", "asap": "straight away",
    "tmrw": "tomorrow", "2moro": "tomorrow", "yrs": "years", "yr": "year", "w/o": "without",
    "thru": "through", "tel": "telephone", "nos": "numbers",
    "kid": "child", "kids": "children", "teen": "young person", "teens": "young people",
    "sw": "social worker", "sws": "social workers", "hv": "health visitor",
    "hvs": "health visitors", "elearning": "e-learning",
    "safeguardin": "safeguarding", "referal": "referral", "referals": "referrals",
}


# Words of text-speak the respeller knows ("whats", "pls"): not names.
TEXT_SPEAK = frozenset(_RESPELL)
_RESPELL_WORD = re.compile(
    r"(?<![\w/.-])(" + "|".join(sorted(map(re.escape, _RESPELL), key=len, reverse=True))
    + r")(?![\w/-])",
    re.IGNORECASE,
)


# "phone no", "contact no": a number, not a refusal.
_NUMBER_NO = re.compile(r"\b(phone|telephone|tel|contact|emergency|duty|mash|door) no\b\.?")


def respell(question: str) -> str:
    """Text-speak and short forms in the guide's words ("shud i share info" -> "should i
    share information")."""
    question = _NUMBER_NO.sub(lambda m: f"{m.group(1)} number", normalise(question))
    return _RESPELL_WORD.sub(lambda m: _RESPELL[m.group(1).lower()], question)


_SUFFIXES = (
    "isations",
    "izations",
    "isation",
    "ization",
    "ational",
    "ations",
    "ation",
    "ising",
    "izing",
    "ised",
    "ized",
    "ises",
    "izes",
    "ise",
    "ize",
    "ances",
    "ance",
    "ancy",
    "ency",
    "ence",
    "ments",
    "ment",
    "ness",
    "ities",
    "ity",
    "ings",
    "ing",
    "ants",
    "ant",
    "ents",
    "ent",
    "ive",
    "ful",
    "ous",
    "ally",
    "ly",
    "ers",
    "er",
    "ies",
    "ied",
    "ed",
    "es",
    "al",
    "s",
    "y",
    "e",
)


def stem(word: str) -> str:
    """A crude stem, only for matching a word the guide does not use to one it does."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


# Derivational endings: "refer" -> "referral", "protect" -> "protection", "escalate" ->
# "escalation", "respond" -> "response", "register" -> "registration".
_DERIVED_ENDINGS = ("al", "ral", "rer", "ion", "ation", "ment", "ance", "ure", "ity", "ly")


_E_ENDINGS = ("ion", "ation", "ure", "ance", "ence", "ity")  # escalate -> escalation


# Look like another word's forms but mean something else ("relative", "reference").
_NOT_FAMILY = frozenset(
    "affection relative presentation appearance commitment central practical reference "
    "secretive locality officer closely".split()
)


def derived(word: str) -> set[str]:
    """Forms a word may take in the guide; only those the guide uses are ever matched."""
    forms = {word + ending for ending in _DERIVED_ENDINGS}
    if word.endswith("e"):
        forms |= {word[:-1] + ending for ending in _E_ENDINGS}
    if word.endswith("d"):
        forms.add(word[:-1] + "se")  # respond -> response
    if word.endswith("de"):
        forms.add(word[:-2] + "sion")  # decide -> decision, exclude -> exclusion
    if word.endswith("er"):
        forms.add(word[:-2] + "ration")  # register -> registration
    return forms - _NOT_FAMILY


def deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}
