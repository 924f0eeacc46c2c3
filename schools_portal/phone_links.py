"""Numbers as tap-to-call links and references kept in one piece, in text shown on a page.

The same two patterns are in static/js/chat.js (for replies added without a reload); a test
renders both and compares."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

# UK numbers as the packs and the directory write them ("0151 606 2008", "0800 555 111",
# "07700 900123") and 999; never part of a longer run of digits or a reference.
PHONE = re.compile(r"(?<![\w-])(?:0\d{3,4} ?\d{3} ?\d{3,4}|999)(?![\w-])")
REFERENCE = re.compile(r"(?<![\w-])[EC]-\d{6}(?!\w)")
TOKENS = re.compile(f"(?P<phone>{PHONE.pattern})|(?P<reference>{REFERENCE.pattern})")


def phone_links(text: str | None) -> Markup:
    """`text` escaped, with each phone number a tel: link and each reference unbreakable."""
    text = text or ""
    out: list[str] = []
    last = 0
    for match in TOKENS.finditer(text):
        out.append(escape(text[last : match.start()]))
        shown = escape(match.group())
        if match.group("phone"):
            number = match.group().replace(" ", "")
            out.append(Markup('<a href="tel:{}">{}</a>').format(number, shown))
        else:
            out.append(Markup('<span class="nowrap">{}</span>').format(shown))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)
