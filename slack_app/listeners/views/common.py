"""Reading a duty-desk modal's submission back: which item, from which card."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from slack_app.blocks import Subject, parse_subject
from slack_app.desk import MALFORMED_REASON, DutyDesk, Refused
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
    if not isinstance(action, str) or action not in set(allowed):  # a dict is not hashable
        raise ValueError(MALFORMED)
    return action


def read_metadata(view: dict[str, Any]) -> tuple[Subject, Card | None]:
    """The item and card a modal was opened for; ValueError (fit to show) if malformed."""
    meta = _metadata(view)
    subject = parse_subject(meta)
    channel, ts = meta.get("channel"), meta.get("ts")
    card = Card(str(channel), str(ts)) if channel and ts else None
    return subject, card


def value_of(view: dict[str, Any], block: str, action: str) -> str | None:
    """A submitted input's value (text, or the selected option's value), or None: also for
    any other shape (a dict where text belongs, a string where an option belongs), which only
    a forged submission has, so the form refuses it as empty instead of failing (I-1)."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    element = _dict_at(_dict_at(values, block), action)
    if "selected_option" in element and element["selected_option"] is not None:
        option = element["selected_option"]
        value = option.get("value") if isinstance(option, dict) else None
    else:
        value = element.get("value")
    return value if isinstance(value, str) else None


def _dict_at(parent: Any, key: str) -> dict[str, Any]:
    child = parent.get(key) if isinstance(parent, dict) else None
    return child if isinstance(child, dict) else {}


def submitter(body: dict[str, Any]) -> str:
    """The Slack user id of whoever submitted the form ("" if missing or malformed)."""
    user = body.get("user")
    user_id = user.get("id") if isinstance(user, dict) else None
    return user_id if isinstance(user_id, str) else ""


def refuse_malformed(
    desk: DutyDesk, slack_user_id: str, *, action: str, subject: Subject | None, problem: str
) -> str:
    """Audit a form whose metadata is malformed or forged, and return what to show: as a
    refusal of someone not MASH staff if they are not (the role is checked first), otherwise
    as a malformed form. Nothing is done either way, but probing is not invisible (I-2)."""
    try:
        actor = desk.require_mash(slack_user_id, action=action, subject=subject)
    except Refused as refusal:
        return str(refusal)
    desk.record_refusal(actor=actor, slack_user_id=slack_user_id, action=action,
                        subject=subject, reason=MALFORMED_REASON)
    return problem
