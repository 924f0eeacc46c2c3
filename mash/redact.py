"""Redaction of personal identifiers from text we keep (excerpts, topics) or log.

Removes e-mail addresses, phone numbers, dates (any full date may be a date of birth) and UK
postcodes. It is a net, not a guarantee: names and addresses in free text remain, which is why
excerpts are also short and purged after the retention period.
"""

from __future__ import annotations

import re

_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
DATE = re.compile(
    r"\b(?:\d{4}-\d{1,2}-\d{1,2}"  # 2015-03-12
    r"|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}"  # 12/03/2015, 12.3.15
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS}\.?,?\s+\d{{2,4}}"  # 12th of March 2015
    rf"|{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})\b",  # March 12, 2015
    re.IGNORECASE,
)
POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)
# A run of digits with the usual separators; redacted when it holds 9 or more digits.
PHONE = re.compile(r"(?<![\w])\+?\(?\d[\d\s().-]{6,}\d(?![\w])")


def _phone(match: re.Match[str]) -> str:
    digits = sum(ch.isdigit() for ch in match.group(0))
    return "[phone]" if digits >= 9 else match.group(0)


def redact(text: str) -> str:
    """`text` with e-mails, dates, postcodes and phone numbers replaced by [email] and so on."""
    text = EMAIL.sub("[email]", text)
    text = DATE.sub("[date]", text)
    text = POSTCODE.sub("[postcode]", text)
    return PHONE.sub(_phone, text)
