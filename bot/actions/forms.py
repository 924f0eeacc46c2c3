"""Validation for the threshold check and the consultation request."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

NUMBER_WORDS = {
    word: value for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60}
BABY_WORDS = re.compile(r"\b(unborn|pre-?birth|pregnan\w*|newborn|new born|baby|infant)\b")
MONTHS = re.compile(r"\b(\d{1,2}|[a-z]+)\s*(months?|mths?|mo|weeks?|wks?|days?)\b")
SCHOOL_YEAR = re.compile(r"\b(?:year|yr|y)\s*(\d{1,2})\b")
DIGITS = re.compile(r"(?<![\d.])(\d{1,3})(?![\d.])")
WORD = re.compile(r"[a-z]+")
MAX_CHILD_AGE = 17
ADULT = -1  # parse_age result for 18 or over

PHONE_CHARS = re.compile(r"[\s\-().]")
UK_PHONE = re.compile(r"0\d{9,10}")


def _word_number(text: str) -> int | None:
    words = WORD.findall(text)
    for index, word in enumerate(words):
        if word in TENS:
            following = words[index + 1] if index + 1 < len(words) else ""
            return TENS[word] + (NUMBER_WORDS.get(following, 0) if following in NUMBER_WORDS
                                 and NUMBER_WORDS[following] < 10 else 0)
        if word in NUMBER_WORDS:
            return NUMBER_WORDS[word]
    return None


def parse_age(text: str) -> int | None:
    """The child's age in whole years from a reply like '7', 'seven', '14yo', '9 months',
    'year 6' or 'unborn'. ADULT for 18 or over; None when no age can be read."""
    text = (text or "").strip().lower()
    if not text:
        return None
    if MONTHS.search(text) and not re.search(r"\byears?\b|\byrs?\b|\bold\b.*\d", text):
        return 0
    school_year = SCHOOL_YEAR.search(text)
    if school_year and "old" not in text:
        # England's school years: a child in Year N is N + 4 at its start, N + 5 at its end.
        return min(int(school_year.group(1)) + 5, MAX_CHILD_AGE)
    digits = DIGITS.search(text)
    value = int(digits.group(1)) if digits else _word_number(text)
    if value is None:
        return 0 if BABY_WORDS.search(text) else None
    if value > MAX_CHILD_AGE:
        return ADULT
    return value


def parse_uk_phone(text: str) -> str | None:
    """A UK phone number in a tidy form ('0151 606 2008', '07700 900123'), or None."""
    raw = PHONE_CHARS.sub("", (text or "").strip())
    if raw.startswith("+44"):
        raw = "0" + raw[3:].lstrip("0")
    elif raw.startswith("0044"):
        raw = "0" + raw[4:].lstrip("0")
    if not UK_PHONE.fullmatch(raw):
        return None
    if raw.startswith("01") and "1" in (raw[2], raw[3]) or raw.startswith("0800"):
        return f"{raw[:4]} {raw[4:7]} {raw[7:]}"  # 0151 606 2008, 0800 555 111
    if raw.startswith("02") and len(raw) == 11:
        return f"{raw[:3]} {raw[3:7]} {raw[7:]}"  # 020 7008 0151
    return f"{raw[:5]} {raw[5:]}"  # 07700 900123, 01632 960000


def _enough_words(value: Any, minimum: int = 2) -> bool:
    return isinstance(value, str) and len(value.split()) >= minimum


class ValidateThresholdForm(FormValidationAction):
    def name(self) -> str:
        return "validate_threshold_form"

    def validate_concern_description(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if _enough_words(slot_value, 3):
            return {"concern_description": slot_value.strip()}
        dispatcher.utter_message(response="utter_answer_too_short")
        return {"concern_description": None}

    def validate_child_age(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        age = parse_age(slot_value if isinstance(slot_value, str) else str(slot_value))
        if age is None:
            dispatcher.utter_message(response="utter_age_invalid")
            return {"child_age": None}
        if age == ADULT:
            dispatcher.utter_message(response="utter_age_adult")
            return {"child_age": None}
        return {"child_age": str(age)}

    def validate_people_involved(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if _enough_words(slot_value, 1):
            return {"people_involved": slot_value.strip()}
        dispatcher.utter_message(response="utter_answer_too_short")
        return {"people_involved": None}

    def validate_support_tried(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        # "Nothing yet" is a real answer.
        if _enough_words(slot_value, 1):
            return {"support_tried": slot_value.strip()}
        dispatcher.utter_message(response="utter_answer_too_short")
        return {"support_tried": None}


class ValidateConsultationForm(FormValidationAction):
    def name(self) -> str:
        return "validate_consultation_form"

    def validate_callback_number(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        number = parse_uk_phone(slot_value if isinstance(slot_value, str) else "")
        if number is None:
            dispatcher.utter_message(response="utter_number_invalid")
        return {"callback_number": number}

    def validate_callback_time(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if _enough_words(slot_value, 1):
            return {"callback_time": slot_value.strip()[:200]}
        dispatcher.utter_message(response="utter_answer_too_short")
        return {"callback_time": None}

    def validate_consultation_topic(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if _enough_words(slot_value, 2):
            return {"consultation_topic": slot_value.strip()}
        dispatcher.utter_message(response="utter_answer_too_short")
        return {"consultation_topic": None}
