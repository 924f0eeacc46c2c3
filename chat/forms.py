"""Stopping a half-finished form before a message, for every channel (the portal, Slack).

A practitioner who leaves the threshold check half answered and comes back later with a new
question must not have it read as the form's next answer ("who is our MASH contact?" stored as
the description of a concern). Before a message to a conversation idle for
`settings.chat_form_idle_minutes`, or (the portal only) the first message after the page was
loaded again, the relay is asked to stop any open form first; when one was stopped, the user is
told so and their message is read as a new question.

Each channel keeps when its conversations last had a message (the portal in its session, Slack
in `slack_conversations`) and calls `relay_turn`; the decision and the words are here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

FORM_STOPPED_IDLE = (
    "You left this conversation for a while, so I stopped the questions I was asking you "
    "earlier. I've read your message as a new question; ask for the check again any time."
)
FORM_STOPPED_RESUMED = (
    "You left the chat page while I was asking you questions, so I stopped them. I've read "
    "your message as a new question; ask for the check again any time."
)


class FormStoppingRelay(Protocol):
    """chat.relay.ChatRelay, as far as this module uses it."""

    def send(self, *, sender_id: str, text: Any, metadata: Mapping[str, Any],
             stop_form_first: bool = False) -> Any: ...


@dataclass
class Turn:
    reply: Any  # chat.relay.ChatReply
    # What to tell the user before the reply when a form was stopped first, else None.
    note: str | None


def form_stop_reason(
    last_message_at: datetime | None, *, now: datetime, idle_minutes: int, resumed: bool = False
) -> str | None:
    """Why any open form should be stopped before this message ("resumed", "idle"), or None.
    A conversation with no earlier message has no form of ours open: nothing to stop."""
    if last_message_at is None:
        return None
    if resumed:
        return "resumed"
    if now - last_message_at >= timedelta(minutes=idle_minutes):
        return "idle"
    return None


def stopped_note(reason: str) -> str:
    return FORM_STOPPED_RESUMED if reason == "resumed" else FORM_STOPPED_IDLE


def relay_turn(
    relay: FormStoppingRelay, *, sender_id: str, text: Any, metadata: Mapping[str, Any],
    last_message_at: datetime | None, now: datetime, idle_minutes: int, resumed: bool = False,
) -> Turn:
    """Relay one message, stopping a form left open first when the conversation was idle (or
    the page was left). The caller records `now` as the conversation's last message after."""
    reason = form_stop_reason(last_message_at, now=now, idle_minutes=idle_minutes,
                              resumed=resumed)
    reply = relay.send(sender_id=sender_id, text=text, metadata=metadata,
                       stop_form_first=reason is not None)
    note = stopped_note(reason) if reason is not None and reply.form_stopped else None
    return Turn(reply=reply, note=note)
