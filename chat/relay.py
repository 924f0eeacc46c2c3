"""Relay one practitioner message to Rasa, with the safety guarantees that must not depend on it.

For every message the relay
1. screens the whole text with the guidance engine's risk screen (in this process);
2. posts it to Rasa's signed channel with the channel's identity in the metadata, signed with
   settings.channel_secret (chat/signing.py): the relay is the only signer, so Rasa believes
   an identity only when it came through here;
3. if the screen says immediate: makes sure the safety message is in the reply (Rasa utters it
   from the domain; if Rasa is down or did not, the relay adds the pack's own), and raises the
   escalation through the MASH service. Raising is idempotent on the message id, so when the
   action server already raised it this changes nothing; when the database is down the
   escalation goes to a file spool and is raised as soon as the database answers.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

import httpx
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from chat.cards import card_text, disclosure_card, fold_cards
from chat.expected import suggested_level
from chat.inputs import clean_text
from chat.signing import WEBHOOK_PATH, SignatureError, sign_request
from chat.sources import fold_sources
from chat.spool import EscalationSpool
from guidance.engine import MAX_TEXT_CHARS, Engine
from mash import escalations
from mash.access import ChannelIdentity
from mash.errors import InvalidInput, KeyInUse
from settings import Settings

log = logging.getLogger(__name__)

URGENCY_ORDER = {"none": 0, "concern": 1, "immediate": 2}
# Windows overlap so a phrase cut by a window edge is still seen whole in the next window.
WINDOW_OVERLAP = 500
# The longest message the portal accepts (a pasted chronology): the relay screens all of it in
# windows, so a disclosure near the end is never cut off. About 100 KB, under nginx's 1 MiB.
MAX_MESSAGE_CHARS = 100_000
RASA_TIMEOUT_SECONDS = 15.0
# Stopping a half-finished form: the bare command a button could send (the signed channel lets
# a bare command through), and how the bot answers it when no form is open (the start of
# utter_nothing_to_cancel in bot/domain/core.yml; tests/chat/test_relay.py checks they agree).
CANCEL_COMMAND = "/cancel"
NOTHING_TO_CANCEL = "There's nothing in progress to stop."
CANCEL_TIMEOUT_SECONDS = 5.0  # a slow Rasa must not hold the message itself for long


@dataclass(frozen=True)
class Screen:
    urgency: str
    categories: list[str]
    phrases: list[str]


@dataclass
class ChatReply:
    messages: list[dict[str, Any]]
    urgency: str = "none"
    categories: list[str] = field(default_factory=list)
    escalation_reference: str | None = None
    # The message joined the sender's open escalation for the same child (mash/followups.py)
    # rather than raising a new one; escalation_reference is the one it joined.
    escalation_joined: bool = False
    assistant_available: bool = True
    safety_message_added: bool = False
    # With stop_form_first: True when a half-finished form was stopped before this message.
    form_stopped: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "urgency": self.urgency,
            "categories": self.categories,
            "escalation_reference": self.escalation_reference,
            "escalation_joined": self.escalation_joined,
            "assistant_available": self.assistant_available,
        }


def screen_whole_text(engine: Engine, text: str) -> Screen:
    """Screen every character of `text`, however long, in overlapping windows; highest wins."""
    urgency, categories, phrases = "none", [], []
    step = MAX_TEXT_CHARS - WINDOW_OVERLAP
    for start in range(0, max(len(text), 1), step):
        window = text[start : start + MAX_TEXT_CHARS]
        if not window.strip():
            continue
        result = engine.risk(window)
        if URGENCY_ORDER[result.urgency] > URGENCY_ORDER[urgency]:
            urgency = result.urgency
        for category in result.categories:
            if category not in categories:
                categories.append(category)
        for match in result.matches:
            if match.text not in phrases:
                phrases.append(match.text)
    return Screen(urgency=urgency, categories=categories, phrases=phrases)


class ChatRelay:
    """One per process; thread-safe as long as the session factory and httpx client are."""

    def __init__(
        self,
        *,
        settings: Settings,
        engine: Engine,
        session_factory: sessionmaker,
        http: httpx.Client | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ):
        self.settings = settings
        self.engine = engine
        self.session_factory = session_factory
        self.http = http or httpx.Client(timeout=RASA_TIMEOUT_SECONDS)
        self.clock = clock
        self.spool = EscalationSpool(settings.var_dir / "escalation-spool")

    def send(
        self, *, sender_id: str, text: Any, metadata: Mapping[str, Any],
        stop_form_first: bool = False,
    ) -> ChatReply:
        """`stop_form_first`: the channel thinks a form may have been left half done (the
        conversation was idle, or the page was left): stop it first, so this message is read
        as a new question. Not for a disclosure: the bot's safety rules take it out of any
        form themselves, and the safety message must not wait on an extra call to Rasa."""
        if isinstance(text, str):  # channels clean at their boundary; this is the backstop
            text = clean_text(text)
        if not isinstance(text, str) or not text.strip():
            return ChatReply(messages=[{"text": "Please type a message: I received nothing."}])
        metadata = dict(metadata)
        metadata.setdefault("message_id", str(uuid.uuid4()))
        screen = screen_whole_text(self.engine, text)
        stopped = False
        if stop_form_first and screen.urgency != "immediate":
            stopped = bool(self.stop_open_form(sender_id=sender_id, metadata=metadata))
        reply = self._ask_rasa(sender_id, text, metadata)
        reply.form_stopped = stopped
        reply.urgency, reply.categories = screen.urgency, screen.categories
        if screen.urgency == "immediate":
            self._ensure_safety_message(reply)
            raised = self._raise(sender_id, text, metadata, screen)
            if raised is not None:
                reply.escalation_reference, reply.escalation_joined = raised
            if reply.escalation_reference and not _mentions(reply, reply.escalation_reference):
                reply.messages.append({"text": escalated_text(reply)})
            self._add_level_card(reply, text, metadata)
        return reply

    def _add_level_card(self, reply: ChatReply, text: str, metadata: dict[str, Any]) -> None:
        """A GP's disclosure also gets the suggested level, its reasons, the GP's route and the
        guide's sections (chat/cards.py), after the safety message and the reference."""
        if any(m.get("card") for m in reply.messages):
            return
        try:
            card = disclosure_card(self.engine, text[:MAX_TEXT_CHARS], metadata.get("role"))
        except Exception:  # noqa: BLE001 - the level is extra; the safety message is not
            log.exception("the suggested level could not be added")
            return
        if card is not None:
            reply.messages.append({"text": card_text(card), "card": card})

    def stop_open_form(self, *, sender_id: str, metadata: Mapping[str, Any]) -> bool | None:
        """Stop whatever form the conversation has open (threshold check, consultation request)
        by sending the bare cancel command through the signed channel, so the next message is
        read as a new question and not as the form's answer. True when a form was stopped,
        False when none was open, None when the assistant did not answer (nothing to stop then:
        the caller's message gets the relay's own answer either way)."""
        metadata = {**metadata, "message_id": str(uuid.uuid4())}
        reply = self._ask_rasa(sender_id, CANCEL_COMMAND, metadata, timeout=CANCEL_TIMEOUT_SECONDS)
        if not reply.assistant_available:
            return None
        texts = [str(m.get("text") or "") for m in reply.messages]
        return bool(texts) and not any(t.startswith(NOTHING_TO_CANCEL) for t in texts)

    def _ask_rasa(
        self, sender_id: str, text: str, metadata: dict[str, Any],
        timeout: float = RASA_TIMEOUT_SECONDS,
    ) -> ChatReply:
        url = self.settings.rasa_url.rstrip("/") + WEBHOOK_PATH
        notes: list[dict[str, Any]] = []
        # The whole text goes to Rasa's channel, which screens all of it for risk and hands
        # DIET and the rest only the first rasa_max_chars.
        limit = self.settings.rasa_max_chars
        if len(text) > limit:
            notes.append(
                {
                    "text": f"Your message was very long: the assistant read the first "
                    f"{limit:,} characters. All of it was checked for risk."
                }
            )
        try:
            body, headers = sign_request(
                self.settings.channel_secret, conversation=sender_id, text=text,
                metadata=metadata,
            )
            response = self.http.post(url, content=body, headers=headers, timeout=timeout)
            response.raise_for_status()
            messages = fold_cards(
                fold_sources([m for m in response.json() if isinstance(m, dict)])
            )
        except (httpx.HTTPError, ValueError, SignatureError) as exc:
            log.error("the assistant (Rasa) did not answer: %s: %s", type(exc).__name__, exc)
            front_door = self.engine.pack.contacts.front_door
            return ChatReply(
                messages=notes
                + [
                    {
                        "text": "The assistant is unavailable just now, so I cannot answer "
                        f"that. If you are worried about a child, ring the {front_door.name} "
                        f"on {front_door.phone}, or the out-of-hours team on "
                        f"{self.engine.pack.contacts.out_of_hours.phone} after hours."
                    }
                ],
                assistant_available=False,
            )
        return ChatReply(messages=notes + messages)

    def _ensure_safety_message(self, reply: ChatReply) -> None:
        emergency = self.engine.pack.contacts.emergency.phone or "999"
        if not any(emergency in str(m.get("text", "")) for m in reply.messages):
            safety = self.engine.pack.contacts.safety_message(self.clock())
            reply.messages.insert(0, {"text": safety, "safety": True})
            reply.safety_message_added = True

    def _raise(
        self, sender_id: str, text: str, metadata: dict[str, Any], screen: Screen
    ) -> tuple[str, bool] | None:
        """(reference, joined) of the escalation this message raised or joined; None when it
        was spooled for later."""
        record = {
            "sender_id": sender_id,
            "text": text[:MAX_TEXT_CHARS],
            "metadata": metadata,
            "message_id": str(metadata["message_id"]),
            "urgency": screen.urgency,
            "categories": screen.categories,
            "phrases": screen.phrases[: escalations.MAX_PHRASES],
            **self._expected(text),
        }
        try:
            reference = self._raise_record(record)
        except SQLAlchemyError as exc:
            log.error("database unavailable; escalation spooled for later: %s", exc)
            self.spool.put(record)
            return None
        except Exception:  # noqa: BLE001 - no supporting field may cost the escalation
            log.exception("escalation refused; raising it without its matched phrases")
            record = {**record, "phrases": [], "expected_level": None, "expected_source": None,
                      "categories": record["categories"][: escalations.MAX_CATEGORIES]}
            try:
                reference = self._raise_record(record)
            except Exception:  # noqa: BLE001 - kept in the spool, retried and seen in the logs
                log.exception("escalation could not be raised; spooled for later")
                self.spool.put(record)
                return None
        # the live one first, then anything spooled while the database was down: nothing in
        # the spool can delay or change this message's escalation
        try:
            self.drain_spool()
        except SQLAlchemyError as exc:
            log.error("spooled escalations wait for the database: %s", exc)
        return reference

    def _expected(self, text: str) -> dict[str, Any]:
        """The level the practitioner expected, for the MASH to compare with its decision:
        the engine's suggestion for the text (None when unplaced). The relay does not see the
        conversation's threshold check; the bot's action, which does, raises first when Rasa
        is up (bot/actions/expected.py), and this same message id is then a replay."""
        level, source = suggested_level(self.engine, text)
        return {"expected_level": level, "expected_source": source}

    def _raise_record(self, record: dict[str, Any]) -> tuple[str, bool]:
        identity = ChannelIdentity.from_metadata(record["metadata"], sender=record["sender_id"])
        kwargs = dict(
            message_id=record["message_id"],
            urgency=record["urgency"],
            categories=record["categories"],
            text=record["text"],
            matched_phrases=record["phrases"],
            # Absent from records spooled before expected levels were kept.
            expected_level=record.get("expected_level"),
            expected_source=record.get("expected_source"),
        )
        with self.session_factory() as session:
            try:
                view = self._raise_once(session, identity, kwargs)
            except KeyInUse:
                # Another sender holds this message id (a replayed or forged id): nothing of
                # theirs is shown, and this message is still escalated, under a fresh id.
                log.warning("message id already used by another sender; raising under a new id")
                kwargs["message_id"] = f"relay:{uuid.uuid4()}"
                view = self._raise_once(session, identity, kwargs)
        return view.reference, view.joined

    def _raise_once(
        self, session: Any, identity: ChannelIdentity, kwargs: dict[str, Any]
    ) -> escalations.EscalationView:
        kwargs = {**kwargs, "settings": self.settings}
        try:
            return escalations.raise_escalation(session=session, identity=identity, **kwargs)
        except InvalidInput as exc:
            if exc.field != "organisation_id":
                raise
            # An organisation the directory does not know: still raise it, unverified.
            identity = replace(identity, organisation_id=None)
            return escalations.raise_escalation(session=session, identity=identity, **kwargs)

    def drain_spool(self) -> int:
        """Raise escalations spooled while the database was down. Safe to call any time."""
        return self.spool.drain(self._raise_record, retry_later=(SQLAlchemyError,))


def escalated_text(reply: ChatReply) -> str:
    """What the user is told about the escalation when Rasa's reply did not say it."""
    if reply.escalation_joined:
        return (
            f"This has been added to the concern you raised earlier about what reads as the "
            f"same child, reference {reply.escalation_reference}, and the MASH duty social "
            f"worker has been alerted again. If it is about a different child, please say so "
            f"or ring the number above."
        )
    return (
        f"Your concern has been escalated to the MASH duty social worker. "
        f"Reference: {reply.escalation_reference}."
    )


def _mentions(reply: ChatReply, needle: str) -> bool:
    return any(needle in str(m.get("text", "")) for m in reply.messages)
