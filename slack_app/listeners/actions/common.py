"""What every duty-desk button does before its own step: who pressed, which item, may they."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from mash.access import Actor
from slack_app import blocks
from slack_app.blocks import Subject, parse_subject
from slack_app.desk import DutyDesk, Refused
from slack_app.store import Card

log = logging.getLogger("slack_app.actions")


@dataclass(frozen=True)
class Press:
    user: str
    channel: str | None
    message_ts: str | None
    trigger_id: str | None

    @property
    def card(self) -> Card | None:
        return Card(self.channel, self.message_ts) if self.channel and self.message_ts else None

    def metadata(self, subject: Subject, action: str | None = None) -> str:
        """What a modal carries back to its submission (Slack's limit is 3,000 characters).
        The submission trusts none of it: it checks the role, the code and the access again."""
        meta: dict[str, Any] = {
            "subject_type": subject.subject_type,
            "subject_id": subject.subject_id,
            "channel": self.channel,
            "ts": self.message_ts,
        }
        if action:
            meta["action"] = action
        return json.dumps(meta)


def read_press(body: dict[str, Any]) -> Press:
    user = (body.get("user") or {}).get("id") or ""
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    ts = (body.get("message") or {}).get("ts") or container.get("message_ts")
    return Press(user=str(user), channel=channel, message_ts=ts, trigger_id=body.get("trigger_id"))


def tell(client: WebClient, press: Press, text: str) -> None:
    """An ephemeral note to the presser only; never fails the listener."""
    if not press.channel or not press.user:
        log.warning("cannot tell the presser (no channel or user); note of %d chars", len(text))
        return
    try:
        client.chat_postEphemeral(channel=press.channel, user=press.user, text=text)
    except (SlackApiError, OSError) as error:
        log.warning("could not post an ephemeral note: %s", error)


def open_modal(client: WebClient, press: Press, view: dict[str, Any]) -> None:
    """Open a modal for the button press; if Slack will not, tell the presser."""
    try:
        client.views_open(trigger_id=press.trigger_id, view=view)
    except (SlackApiError, OSError) as error:
        tell(client, press, f"Slack would not open the form ({error}); please try again.")


def authorised(
    desk: DutyDesk, client: WebClient, body: dict[str, Any], *, action: str
) -> tuple[Press, Actor, Subject] | None:
    """(press, actor, subject) when a MASH worker pressed a well-formed button; otherwise the
    presser has been told why (and a refusal audited) and None is returned. Nothing is done
    yet: the form that opens next carries the code (see `ask_for_code`)."""
    press = read_press(body)
    actions = body.get("actions") or [{}]
    raw = actions[0].get("value") if isinstance(actions[0], dict) else None
    subject: Subject | None = None
    problem = None
    try:
        subject = parse_subject(raw)
    except ValueError as error:
        problem = str(error)
    try:
        actor = desk.require_mash(press.user, action=action, subject=subject)
    except Refused as refusal:
        tell(client, press, str(refusal))
        return None
    if subject is None:
        tell(client, press, problem or "This button is malformed; nothing was changed.")
        return None
    return press, actor, subject


def ask_for_code(desk: DutyDesk, client: WebClient, body: dict[str, Any], *, action: str) -> None:
    """A press that acts (or reads) with no form of its own: open the code modal, whose
    submission does `action` on the item (listeners/views/step_up_submission.py)."""
    pressed = authorised(desk, client, body, action=action)
    if pressed is None:
        return
    press, _actor, subject = pressed
    open_modal(client, press, blocks.step_up_modal(action, press.metadata(subject, action)))
