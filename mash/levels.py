"""Expected against decided (issue 16): the level a practitioner expected when something
reached the MASH, the level and route the MASH decided, and the feedback the practitioner is
given when the two differ.

The levels' names and descriptions are the pack's (levels.yml), never written here: each
partnership's guide gives its own reasons. The caller passes them (the portal and the Slack app
hold the loaded pack), since mash/ imports nothing from guidance/.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from mash.errors import InvalidInput
from mash.models import DECIDED_ROUTES, EXPECTED_SOURCES

LEVELS = (1, 2, 3, 4)
ROUTE_LABELS = {
    "universal": "Universal services",
    "early_help_single_agency": "Early help: a single-service response",
    "early_help_multi_agency": "Early help: a multi-agency response (Team Around the Family)",
    "child_in_need_assessment": "Child in need assessment (section 17)",
    "strategy_discussion_s47": "Strategy discussion / section 47 enquiry",
    "no_further_action": "No further action",
    "information_missing": "Declined: information missing",
}
SOURCE_LABELS = {
    "check": "the threshold check in the conversation",
    "assess": "the assistant's suggestion for what was written",
    "chosen": "the level the practitioner chose",
}
assert tuple(ROUTE_LABELS) == DECIDED_ROUTES and tuple(SOURCE_LABELS) == EXPECTED_SOURCES


@dataclass(frozen=True)
class Expected:
    """The level a practitioner expected (None: no level, e.g. the check could not place it)
    and where it came from (EXPECTED_SOURCES)."""

    level: int | None
    source: str


def _level(value: object, *, field: str, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or value not in LEVELS:
        raise InvalidInput(f"The {what} must be level 1, 2, 3 or 4.", field=field)
    return int(value)  # type: ignore[call-overload]


def checked_expected(level: object, source: object) -> tuple[int | None, str | None]:
    """(level, source) to store, or InvalidInput: a level outside 1-4, a source outside
    EXPECTED_SOURCES, or a level with no source (nothing is stored without where it came
    from). Both None: nothing was expected (recorded as such)."""
    level = _level(level, field="expected_level", what="expected level")
    if source is None:
        if level is not None:
            raise InvalidInput("An expected level needs its source.", field="expected_source")
        return None, None
    if source not in EXPECTED_SOURCES:
        raise InvalidInput(
            f"The expected level's source must be one of {', '.join(EXPECTED_SOURCES)}.",
            field="expected_source",
        )
    return level, str(source)


def checked_decision(level: object, route: object) -> tuple[int | None, str | None]:
    """(level, route) the MASH decided, or InvalidInput naming the bad value. A blank route
    is None; either may be left unrecorded."""
    level = _level(level, field="decided_level", what="decided level")
    if route in (None, ""):
        return level, None
    if route not in DECIDED_ROUTES:
        raise InvalidInput(
            f"{route!r} is not a route; use one of {', '.join(DECIDED_ROUTES)}.",
            field="decided_route",
        )
    return level, str(route)


def parse_level(value: str | None, *, field: str = "decided_level") -> int | None:
    """A level from a form field ("" is none), or InvalidInput on `field` for anything else."""
    text = (value or "").strip()
    if not text:
        return None
    if text not in {str(n) for n in LEVELS}:
        what = field.replace("_", " ")
        raise InvalidInput(f"The {what} must be level 1, 2, 3 or 4.", field=field)
    return int(text)


class LevelText(Protocol):
    """A level as the pack describes it (guidance.levels.Level has these): the caller passes
    the pack's levels, since mash/ imports nothing from guidance/."""

    name: str
    description: str


def feedback(
    guide: Mapping[int, LevelText] | None, *, expected_level: int | None,
    expected_source: str | None, decided_level: int | None,
) -> str:
    """What the practitioner is told when the MASH decided a level other than the one they
    expected: the decided level, its name and the guide's description of it (`guide`: the
    pack's levels by number, e.g. `engine.pack.levels.levels`). Empty when the two agree, when
    the MASH recorded no level, or when nothing expected was recorded."""
    if decided_level is None or expected_source is None or expected_level == decided_level:
        return ""
    expected = (
        f"level {expected_level}" if expected_level is not None else "no particular level"
    )
    text = (guide or {}).get(decided_level)
    if text is None:
        return f"The MASH decided level {decided_level}; {expected} was expected."
    description = " ".join(text.description.split())
    return (
        f"The MASH decided level {decided_level} ({text.name}); {expected} was expected. "
        f"The guide describes level {decided_level} as: {description}"
    )
