"""Practitioners talking to the assistant in Slack: one message in, one threaded reply out.

One conversation per thread: a new top-level message (in a direct message or a mention) starts
a conversation with the assistant, and replies in its thread continue it. The relay's
conversation key names the person and the thread; the person's Slack address (`slack:T:U`)
travels in the signed metadata as `address`, so escalations, follow-ups and the outcome's
direct message go by the person, whichever thread they wrote in. A form (the threshold check's
questions) left idle in a thread for `chat_form_idle_minutes` is stopped before the next
message, which is read as a new question, and the user is told so (chat/forms.py, as the
portal does).

Identity comes from Slack (the event's user id) mapped through the directory, never from the
text. Everything goes through the chat relay, which screens the message, asks Rasa, adds the
safety message and raises the escalation even when Rasa is down. Slack retries an event it
thinks we were slow to take; the message key (workspace, channel, ts) is claimed in the
database first, so a retry gives no second reply, and the relay's escalation is idempotent on
the same key, so no second escalation either.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from chat.cards import clean_card
from chat.forms import relay_turn
from chat.sources import clean_sources, section_url
from mash.access import Actor
from slack_app.blocks import esc
from slack_app.deps import SlackDeps
from slack_app.desk import DutyDesk

log = logging.getLogger("slack_app.conversation")

MENTION = re.compile(r"<@[A-Z0-9]+>")
# Other subtypes are edits, deletions, joins, bot posts...: not a practitioner writing to us.
# A message with a file attached is still a message (and may be a disclosure).
WANTED_SUBTYPES = (None, "file_share", "thread_broadcast")


# Added to a question that opens a conversation: an answer typed as a new top-level message
# would start another conversation and not reach the question.
REPLY_IN_THREAD = "_Reply in this thread to answer; a new message starts a new conversation._"


@dataclass(frozen=True)
class Incoming:
    team_id: str
    channel: str
    user: str
    ts: str
    thread_ts: str
    text: str
    event_id: str | None

    @property
    def key(self) -> str:
        return f"{self.team_id}:{self.channel}:{self.ts}"

    @property
    def message_id(self) -> str:
        return f"slack:{self.key}"

    @property
    def sender_id(self) -> str:
        """The person's Slack address: what escalations record as their sender."""
        return f"slack:{self.team_id}:{self.user}"

    @property
    def conversation(self) -> str:
        """The relay's conversation key: this person in this thread."""
        return f"{self.sender_id}:{self.channel}:{self.thread_ts}"


def parse_event(body: dict[str, Any], *, mention: bool) -> Incoming | None:
    """The practitioner message in an events API body, or None if it is not one for us."""
    event = body.get("event")
    if not isinstance(event, dict):
        return None
    if event.get("subtype") not in WANTED_SUBTYPES or event.get("bot_id") or not event.get("user"):
        return None
    if not mention and event.get("channel_type") != "im":
        return None  # channel chatter reaches us only as app_mention
    text, channel, ts = event.get("text"), event.get("channel"), event.get("ts")
    if not isinstance(text, str) or not channel or not ts:
        return None
    if mention:
        text = MENTION.sub("", text).strip()
    return Incoming(
        team_id=str(body.get("team_id") or event.get("team") or "T"),
        channel=str(channel),
        user=str(event["user"]),
        ts=str(ts),
        thread_ts=str(event.get("thread_ts") or ts),
        text=text,
        event_id=body.get("event_id"),
    )


def registration_text(deps: SlackDeps, slack_user_id: str) -> str:
    lines = [
        "I can't find your Slack account in the safeguarding partnership's directory, so I "
        "can't answer questions here yet.",
        f"To be registered, ask the MASH (or your organisation's designated safeguarding lead) "
        f"to add your Slack user ID `{slack_user_id}` to your entry in the directory.",
    ]
    if deps.contacts is not None:
        front, ooh = deps.contacts.front_door, deps.contacts.out_of_hours
        lines.append(
            f"If you are worried about a child now, ring the {front.name} on {front.phone} "
            f"(out of hours: the {ooh.name} on {ooh.phone}). In an emergency ring "
            f"{deps.contacts.emergency.phone}."
        )
    return "\n".join(lines)


def _is_safety(deps: SlackDeps, message: dict[str, Any], reference: str | None) -> bool:
    text = str(message.get("text", ""))
    emergency = deps.contacts.emergency.phone if deps.contacts else "999"
    return bool(
        message.get("safety")
        or (emergency and emergency in text)
        or (reference and reference in text)
    )


def render_card(card: dict[str, Any], portal_url: str) -> str:
    """A threshold card (chat/cards.py) as mrkdwn: the level in bold, each list as bullets,
    the guide's sections as links to their portal pages."""
    if card["level"]:
        lines = [f"*Suggested level {card['level']}: {esc(card['level_name'])}*"]
    else:
        lines = ["*No level can be suggested yet*"]
    for title, key in (("Why", "reasons"), ("Next steps", "next_steps"),
                       ("What would help place it", "questions")):
        if card[key]:
            lines.append(f"_{title}_")
            lines += [f"• {esc(item)}" for item in card[key]]
    if card["sources"]:
        lines.append("_In the guide_")
        lines += [f"• <{section_url(portal_url, s['id'])}|{esc(s['title'])}>"
                  for s in card["sources"]]
    return "\n".join(lines)


def _render(message: dict[str, Any], portal_url: str = "") -> str:
    card = clean_card(message.get("card")) if portal_url else None
    if card is not None:
        return render_card(card, portal_url)
    sources = clean_sources(message.get("sources")) if portal_url else []
    if sources:
        # mrkdwn links to the guide's section pages in the portal (titles escaped).
        links = "; ".join(f"<{section_url(portal_url, s['id'])}|{esc(s['title'])}>"
                          for s in sources)
        text = f"From the guide: {links}"
    else:
        # A quoted list's "- " lines as Slack bullets.
        text = re.sub(r"(?m)^- ", "• ", esc(message.get("text") or ""))
    buttons = [b.get("title") for b in message.get("buttons") or [] if b.get("title")]
    if buttons:
        text += "\n_You can reply: " + " · ".join(esc(b) for b in buttons) + "_"
    return text


def handle_message(
    deps: SlackDeps, client: WebClient, body: dict[str, Any], *, mention: bool
) -> bool:
    """Relay one practitioner message and reply in its thread. False if nothing was done."""
    incoming = parse_event(body, mention=mention)
    if incoming is None:
        return False
    try:
        first = deps.store.claim_event(incoming.key, event_id=incoming.event_id)
    except SQLAlchemyError:
        # No database: better a possible duplicate reply than a lost safety message.
        log.exception("could not record Slack event %s; handling it anyway", incoming.key)
        first = True
    if not first:
        log.info("Slack retry of %s (event %s) ignored", incoming.key, incoming.event_id)
        return False

    registered: bool | None
    actor: Actor | None = None
    try:
        actor = DutyDesk(deps).actor_for(incoming.user)
        registered = actor is not None
    except SQLAlchemyError:
        log.exception("directory unavailable; relaying %s without a role", incoming.key)
        registered = None  # unknown: do not tell a registered user to register
    metadata = {
        "user_id": incoming.user,
        "role": actor.role if actor else None,
        "organisation_id": actor.organisation_id if actor else None,
        "channel": "slack",
        "message_id": incoming.message_id,
        "address": incoming.sender_id,
    }
    now = deps.clock()
    try:
        last = _last_message_at(deps, incoming.conversation)
        turn = relay_turn(
            deps.relay, sender_id=incoming.conversation, text=incoming.text, metadata=metadata,
            last_message_at=last, now=now,
            idle_minutes=deps.settings.chat_form_idle_minutes,
        )
    except Exception:  # noqa: BLE001 - whatever broke, the practitioner still gets the numbers
        log.exception("the relay failed on %s", incoming.key)
        _post(client, incoming, fallback_text(deps))
        return True
    _touch(deps, incoming.conversation, now)
    reply = turn.reply
    messages = list(reply.messages)
    if turn.note:
        messages.insert(0, {"text": turn.note})
    if registered is False:
        # Not in the directory: only what keeps a child safe, then how to register.
        messages = [m for m in messages if _is_safety(deps, m, reply.escalation_reference)]
        messages.append({"text": registration_text(deps, incoming.user)})
    text = "\n\n".join(
        t for t in (_render(m, deps.settings.portal_url) for m in messages) if t.strip()
    )
    if not text:
        text = "Sorry, I have no answer to that. Try asking another way."
    elif incoming.thread_ts == incoming.ts and text.rstrip().endswith("?"):
        text += "\n\n" + REPLY_IN_THREAD
    _post(client, incoming, text)
    try:
        deps.store.finish_event(incoming.key)
    except SQLAlchemyError:
        log.exception("could not mark Slack event %s handled", incoming.key)
    return True


def _last_message_at(deps: SlackDeps, conversation: str) -> datetime | None:
    try:
        return deps.store.last_message_at(conversation)
    except SQLAlchemyError:
        log.exception("conversation times unavailable; no form is stopped first")
        return None


def _touch(deps: SlackDeps, conversation: str, now: datetime) -> None:
    try:
        deps.store.touch_conversation(conversation, now)
    except SQLAlchemyError:
        log.exception("could not record the time of a message in %s", conversation)


def _post(client: WebClient, incoming: Incoming, text: str) -> None:
    try:
        client.chat_postMessage(
            channel=incoming.channel, thread_ts=incoming.thread_ts, text=text, unfurl_links=False
        )
    except (SlackApiError, OSError) as error:
        # The escalation (if any) is already raised by the relay; only the reply is lost.
        log.error("could not reply to %s: %s", incoming.key, error)


def fallback_text(deps: SlackDeps) -> str:
    safety = (
        deps.contacts.safety_message(deps.clock())
        if deps.contacts is not None
        else "If a child is in immediate danger, ring 999 now."
    )
    return f"Sorry, something went wrong and I could not read your message. {safety}"
