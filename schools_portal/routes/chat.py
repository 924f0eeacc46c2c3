"""The chat: the portal relays each message through ChatRelay (the only way to the assistant),
with a conversation id and metadata taken from the signed-in user, never from the request."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from pydantic import BaseModel, Field, StrictStr
from starlette.responses import Response

from app_context import AppContext
from chat.cards import clean_card
from chat.forms import relay_turn
from chat.relay import MAX_MESSAGE_CHARS, ChatReply
from chat.sources import clean_sources
from mash.access import Actor
from schools_portal import sessions
from schools_portal.conversations import (
    CONVERSATION_ID,
    conversation_key,
    last_message_at,
    mark_seen,
    transcript_owner,
)
from schools_portal.deps import Ctx, Practitioner, sender_id
from schools_portal.inputs import CleanInputRoute
from schools_portal.rendering import render
from schools_portal.security import require_csrf

pages = APIRouter(tags=["chat"], route_class=CleanInputRoute)
api = APIRouter(tags=["chat"], route_class=CleanInputRoute)


class ChatIn(BaseModel):
    text: StrictStr = Field(
        ..., min_length=1, max_length=MAX_MESSAGE_CHARS, description="The message"
    )
    conversation: StrictStr | None = Field(
        None, regex=CONVERSATION_ID.pattern,
        description="The browser tab's conversation id (16-64 of A-Za-z0-9_-); without it the "
        "user's one default conversation. It only picks among the signed-in user's own.",
    )
    resumed: bool = Field(
        False, description="The first message since the page was loaded again (a reload or a "
        "return from another page): any half-finished form is stopped first",
    )


class ChatMessageOut(BaseModel):
    text: str = ""
    safety: bool = False
    notice: bool = Field(False, description="The portal's own note (e.g. a form was stopped)")
    buttons: list[dict[str, Any]] = []
    sources: list[dict[str, str]] = Field(
        [], description="Guide sections the message cites: id, title and the portal page url"
    )
    card: dict[str, Any] | None = Field(
        None,
        description="A threshold result as a card (chat/cards.py): level, level_name, reasons, "
        "next_steps, questions and sources (each with the portal page url)",
    )


class ChatOut(BaseModel):
    messages: list[ChatMessageOut]
    urgency: str = Field(..., description="none, concern or immediate")
    categories: list[str]
    escalation_reference: str | None = Field(
        None, description="Set when the message raised an escalation to the MASH"
    )
    escalation_joined: bool = Field(
        False,
        description="The message joined the sender's open escalation about the same child "
        "(escalation_reference is the one it joined) rather than raising a new one",
    )
    assistant_available: bool
    safety_message: str | None = Field(
        None, description="The safety message, on every immediate-risk reply"
    )


def relay_message(
    request: Request, context: AppContext, actor: Actor, text: str, *,
    conversation: str | None = None, resumed: bool = False,
) -> ChatOut:
    metadata = {
        "user_id": actor.user_id,
        "role": actor.role,
        "organisation_id": actor.organisation_id,
        "channel": "portal",
        "message_id": str(uuid.uuid4()),  # fresh per message: the escalation's idempotency key
        # each tab is its own conversation, but escalations, follow-ups and the outcome go by
        # the person (mash.access.ChannelIdentity), so a second tab joins the open item
        "address": sender_id(actor),
    }
    key = conversation_key(actor, conversation)
    now = sessions.now(request)
    notes: list[ChatMessageOut] = []
    turn = relay_turn(
        context.relay, sender_id=key, text=text, metadata=metadata,
        last_message_at=last_message_at(request, conversation), now=now,
        idle_minutes=context.settings.chat_form_idle_minutes, resumed=resumed,
    )
    reply: ChatReply = turn.reply
    if turn.note:
        notes.append(ChatMessageOut(text=turn.note, notice=True))
    mark_seen(request, conversation, now)
    return ChatOut(
        messages=notes + [_message(m) for m in reply.messages],
        urgency=reply.urgency,
        categories=reply.categories,
        escalation_reference=reply.escalation_reference,
        escalation_joined=reply.escalation_joined,
        assistant_available=reply.assistant_available,
        safety_message=(
            context.guidance.pack.contacts.safety_message(datetime.now(timezone.utc))
            if reply.urgency == "immediate"
            else None
        ),
    )


def _message(raw: dict[str, Any]) -> ChatMessageOut:
    buttons = [
        {"title": str(b.get("title", ""))[:200], "payload": str(b.get("payload", ""))[:500]}
        for b in raw.get("buttons") or []
        if isinstance(b, dict)
    ]
    sources = [
        {**source, "url": f"/guidance/sections/{source['id']}"}
        for source in clean_sources(raw.get("sources"))
    ]
    card = clean_card(raw.get("card"))
    if card is not None:
        card["sources"] = [{**s, "url": f"/guidance/sections/{s['id']}"} for s in card["sources"]]
    return ChatMessageOut(
        text=str(raw.get("text") or ""), safety=bool(raw.get("safety")), buttons=buttons,
        sources=sources, card=card,
    )


@pages.get("/chat", include_in_schema=False)
def chat_page(*, request: Request, actor: Practitioner) -> Response:
    return render(
        request, "chat.html", actor=actor, sent=None, reply=None, max_chars=MAX_MESSAGE_CHARS,
        owner=transcript_owner(request),
    )


@pages.post("/chat", include_in_schema=False, dependencies=[Depends(require_csrf)])
def chat_send(
    *,
    request: Request,
    text: str = Form(..., min_length=1, max_length=MAX_MESSAGE_CHARS),
    actor: Practitioner,
    context: Ctx,
) -> Response:
    """Without JavaScript: the page shows this message and its reply."""
    reply = relay_message(request, context, actor, text)
    return render(
        request, "chat.html", actor=actor, sent=text, reply=reply, max_chars=MAX_MESSAGE_CHARS,
        owner=transcript_owner(request),
    )


@api.post(
    "/chat",
    response_model=ChatOut,
    dependencies=[Depends(require_csrf)],
    summary="Send a message to the assistant as the signed-in user",
)
def chat_api(
    *,
    request: Request,
    body: ChatIn,
    actor: Practitioner,
    context: Ctx,
) -> ChatOut:
    return relay_message(
        request, context, actor, body.text, conversation=body.conversation,
        resumed=body.resumed,
    )
