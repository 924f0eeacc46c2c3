"""A practitioner's chat conversations in the portal: one per browser tab, not one per user.

The browser makes each tab's conversation id and keeps the tab's transcript in sessionStorage
(static/js/chat.js): it survives a reload and a visit to another page in that tab, ends with the
tab, and is never a second server-side copy of what a practitioner typed (the MASH keeps only
the redacted excerpt of a disclosure; Rasa's tracker keeps the rest). The id only ever picks
among the signed-in user's own conversations: the conversation key the relay signs starts with
the user id from the session, and the signed channel derives Rasa's conversation from the
signed identity, so nobody reaches another person's conversation by choosing an id.

The server keeps, in the portal session, when each conversation last had a message. Before a
message to a conversation idle for `chat_form_idle_minutes`, or the first message after the tab
came back to the page (a reload or a visit elsewhere: the browser says `resumed`), the portal
asks the assistant to stop any half-finished form, so the message is read as a new question
(the decision and the words are chat/forms.py's, shared with Slack).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone

from fastapi import Request

from mash.access import Actor
from schools_portal.deps import sender_id

# What the browser may send as a conversation id (chat.js makes 22 url-safe characters).
CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
SEEN_KEY = "chat_seen"
OWNER_KEY = "chat_owner"
KEEP_SEEN = 20  # conversations remembered per portal session (newest kept)


def conversation_key(actor: Actor, conversation: str | None) -> str:
    """The key the relay signs: the user's own (`portal-5`) plus the tab's conversation id."""
    base = sender_id(actor)
    return f"{base}-{conversation}" if conversation else base


def last_message_at(request: Request, conversation: str | None) -> datetime | None:
    """When this portal session last sent a message to the conversation, or None."""
    last = request.session.get(SEEN_KEY, {}).get(conversation or "")
    return None if last is None else datetime.fromtimestamp(last, tz=timezone.utc)


def mark_seen(request: Request, conversation: str | None, now: datetime) -> None:
    """Remember that the conversation had a message now (a bounded map in the session)."""
    seen = dict(request.session.get(SEEN_KEY, {}))
    seen.pop(conversation or "", None)
    seen[conversation or ""] = int(now.timestamp())
    request.session[SEEN_KEY] = dict(list(seen.items())[-KEEP_SEEN:])


def transcript_owner(request: Request) -> str:
    """A random mark of this portal session. The page carries it and chat.js keeps a stored
    transcript only under the same mark, so after sign-out (or as someone else) in the same
    tab the earlier transcript is discarded, never shown."""
    if OWNER_KEY not in request.session:
        request.session[OWNER_KEY] = secrets.token_urlsafe(12)
    return request.session[OWNER_KEY]
