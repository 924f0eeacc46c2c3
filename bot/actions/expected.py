"""The level a practitioner expected when something reaches the MASH (issue 16): the threshold
check's result if this conversation had one, else the guidance engine's suggestion for the
text sent. Stored with the escalation or consultation so the MASH's decision can be compared
with it (mash/levels.py, mash/agreement.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from chat.expected import suggested_level

logger = logging.getLogger(__name__)


def checked_level(events: Iterable[Mapping[str, Any]]) -> tuple[bool, int | None]:
    """(found, level) of the latest threshold check in this conversation session: the
    threshold card action_assess_threshold sent (chat/cards.py; level None when it could not
    place the case). Not found before a session start or in an empty history."""
    for event in reversed(list(events or [])):
        if event.get("event") == "session_started":
            break
        if event.get("event") != "bot":
            continue
        custom = (event.get("data") or {}).get("custom") or {}
        card = custom.get("card") if isinstance(custom, Mapping) else None
        if isinstance(card, Mapping) and card.get("kind") == "threshold":
            level = card.get("level")
            return True, level if level in (1, 2, 3, 4) else None
    return False, None


def expected_level(
    events: Iterable[Mapping[str, Any]], text: str, engine: Callable[[], Any]
) -> tuple[int | None, str | None]:
    """(level, source) to store: ("check") the conversation's threshold check, else ("assess")
    the suggestion of the engine `engine()` returns for `text` (None when it is unplaced).
    (None, None) when neither can be had: the item is raised all the same, without one."""
    try:
        found, level = checked_level(events)
        if found:
            return level, "check"
        guidance = engine()
    except Exception:  # noqa: BLE001 - the expectation is extra; the escalation is not
        logger.exception("the expected level could not be found")
        return None, None
    return suggested_level(guidance, text)
