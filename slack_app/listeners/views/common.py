"""Reading a duty-desk modal's submission back: which item, from which card."""

from __future__ import annotations

import json
from typing import Any

from slack_app.blocks import Subject, parse_subject
from slack_app.store import Card


def read_metadata(view: dict[str, Any]) -> tuple[Subject, Card | None]:
    """The item and card a modal was opened for; ValueError (fit to show) if malformed."""
    try:
        meta = json.loads(view.get("private_metadata") or "")
    except (TypeError, ValueError):
        raise ValueError("This form's data is malformed, so nothing was changed.") from None
    if not isinstance(meta, dict):
        raise ValueError("This form's data is malformed, so nothing was changed.")
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
