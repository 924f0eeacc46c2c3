"""Text from any channel made safe to process, before anything else reads it.

Replaced, never rejected: a disclosure typed with odd Unicode must still get the safety
message and its escalation. Lone surrogates (invalid in UTF-8) become U+FFFD; NUL and other
control characters (tab and line breaks kept) become a space.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Return `text` with lone surrogates and control characters replaced."""
    return _CONTROL.sub(" ", _SURROGATE.sub("\ufffd", text))
