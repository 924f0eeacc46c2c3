"""Reading a duty-desk modal's submission back: which item, from which card."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from slack_app.blocks import Subject, parse_subject
from slack_app.store import Card

MALFORMED = "This form's data is malformed, so nothing was changed."


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        meta = json.loads(view.get("private_metadata") or "")
    except (TypeError, ValueError):
        raise ValueError(MALFORMED) from None
    if not isinstance(meta, dict):
        raise ValueError(MALFORMED)
    return meta


def read_action(view: dict[str, Any], allowed: Iterable[str]) -> str:
    """The action a code modal was opened for, if one of `allowed`; ValueError otherwise.
    Slack hands private_metadata back as the client sent it, so it is only a choice among
    what the presser could press anyway: the role, the code and the access are checked again."""
    action = _metadata(view).get("action")
    if action not in set(allowed):
        raise ValueError(MALFORMED)
    return str(action)


def read_metadata(view: dict[str, Any]) -> tuple[Subject, Card | None]:
    """The item and card a modal was opened for; ValueError (fit to show) if malformed."""
    meta = _metadata(view)
    subject = parse_subject(meta)
    channel, ts = meta.get("channel"), meta.get("ts")
    card = Card(str(channel), str(ts)) if channel and ts else None
    return subject, card


def value_of(view: dict[str, Any], block: str, action: str) -> Any:
    """A submitted input's value (text, or the selected option's value), or None."""
    state = ((view.get("state") or {}).get("values") or {}).get(block) or {}
    element = state.get(action) or {}
    if not isinstance(element, dict):
        return None
    if element.get("selected_option"):
        return (element["selected_option"] or {}).get("value")
    return element.get("value")
