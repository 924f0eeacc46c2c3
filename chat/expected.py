"""The level a practitioner expected, from the guidance engine's suggestion for what they sent
(issue 16: compared with the MASH's decision). One function for the relay, the portal's
consultation form and the bot's actions, so each treats a text the engine refuses the same way."""

from __future__ import annotations

import logging
from typing import Any

from guidance.engine import MAX_TEXT_CHARS, InputError

log = logging.getLogger(__name__)


def suggested_level(engine: Any, text: str) -> tuple[int | None, str | None]:
    """(level, "assess"), the level None when the engine cannot place the text; (None, None)
    when there is no suggestion: text the engine refuses (empty, not text) or an engine
    failure, which is logged. The item is raised all the same, without an expectation."""
    try:
        assessment = engine.assess(text[:MAX_TEXT_CHARS])
    except InputError:
        return None, None
    except Exception:  # noqa: BLE001 - the expectation is extra; the escalation is not
        log.exception("the expected level could not be assessed")
        return None, None
    return (assessment.level if assessment.placed else None), "assess"
