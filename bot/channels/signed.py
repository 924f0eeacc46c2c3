"""Rasa's only input channel: messages signed by the chat relay (chat/signing.py).

A custom connector (Rasa 3.6: a subclass of RestInput, registered in bot/credentials.yml by its
module path) at `POST /webhooks/signed/webhook`. For each request it
1. refuses anything but `application/json` (415) and anything unsigned, badly signed, stale or
   replayed (401), so neither another process on the machine nor a page in the user's browser
   can speak to Rasa as someone else;
2. derives the Rasa conversation id from the signed identity (never the caller's choice);
3. cleans the text (chat/inputs.py), screens the WHOLE text for risk and puts the result in the
   metadata (`channel_screen`; bot/components/risk_screen.py takes the higher of it and its own
   screen), then hands Rasa at most settings.rasa_max_chars characters: DIET's time and memory
   grow with the text, the risk screen's safety does not depend on it.

Logs carry ids, lengths and categories, never the text.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.components.risk_screen import CHANNEL_SCREEN_KEY, screen_text
from bot.runtime import get_engine, get_settings
from chat.inputs import clean_text
from chat.signing import (
    MAX_BODY_BYTES,
    NonceStore,
    SignatureError,
    derive_sender_id,
    nonce_store,
    verify_request,
)
from settings import Settings

logger = logging.getLogger(__name__)
_BUTTON_COMMAND = re.compile(r"/[a-z_]{1,64}")
_LEADING_SLASHES = re.compile(r"^[\s/]+")

CONVERSATION_KEY = "conversation"
# Matched phrases passed on (the escalation keeps a few; the tracker need not hold hundreds).
MAX_MATCHES = 20


class SignedInput(RestInput):
    """The relay's signed messages only; the stock REST channel is not configured anywhere."""

    @classmethod
    def name(cls) -> str:
        return "signed"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SignedInput:
        # The secret and stores come from settings.py (the environment), not credentials.yml.
        return cls(get_settings())

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Any = None,
        nonces: NonceStore | None = None,
    ) -> None:
        if not settings.channel_secret:
            raise ValueError("CHANNEL_SECRET is not set: the signed channel cannot check anything")
        self.settings = settings
        # Built once, when Rasa creates the channel (shared with the risk component).
        self.engine = engine if engine is not None else get_engine(settings)
        self.nonces = nonces if nonces is not None else nonce_store(settings.redis_url)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        hook = Blueprint("signed_webhook", __name__)

        @hook.listener("before_server_start")
        async def limit_bodies(app: Any, _loop: Any) -> None:
            # Sanic reads a whole body (100 MB by default) before any handler runs: an unsigned
            # 50 MB post held Rasa for 30 s and 2 GB. Connections made from now on get the cap.
            app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES


        @hook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            content_type = (request.headers.get("content-type") or "").split(";")[0].strip()
            if content_type.lower() != "application/json":
                logger.warning("refused a %r request from %s", content_type, request.ip)
                return response.json({"error": "application/json only"}, status=415)
            if len(request.body) > MAX_BODY_BYTES:  # behind a proxy that did not cap it
                return response.json({"error": "message too large"}, status=413)
            try:
                signed = verify_request(
                    self.settings.channel_secret,
                    headers=request.headers,
                    body=request.body,
                    nonces=self.nonces,
                )
            except SignatureError as error:
                logger.warning("refused a webhook call from %s: %s", request.ip, error)
                return response.json({"error": "a valid signature is required"}, status=401)
            message, sender_id = self.prepare(signed.conversation, signed.text, signed.metadata)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        message["text"],
                        collector,
                        sender_id,
                        input_channel=self.name(),
                        metadata=message["metadata"],
                    )
                )
            except asyncio.CancelledError:
                logger.error("message for %s cancelled", sender_id)
            except Exception as error:  # noqa: BLE001 - logged without the text
                logger.error(
                    "message for %s failed: %s", sender_id, type(error).__name__, exc_info=error
                )
            return response.json(collector.messages)

        return hook

    def prepare(
        self, conversation: str, text: str, metadata: dict[str, Any]
    ) -> tuple[dict[str, Any], str]:
        """The text and metadata Rasa gets for a verified message, and its derived sender id."""
        sender_id = derive_sender_id(
            self.settings.channel_secret, metadata=metadata, conversation=conversation
        )
        text = clean_text(text)
        if text.lstrip().startswith("/") and not _BUTTON_COMMAND.fullmatch(text.strip()):
            # Rasa reads a leading "/" as an intent command (how the buttons' payloads such as
            # "/affirm" arrive): it would skip NLU and the risk component, choose the intent
            # for the sender and log the whole text. Only a bare command stays one.
            text = _LEADING_SLASHES.sub("", text)  # Rasa strips spaces: "/ /greet" too
        screen = screen_text(self.engine, text)
        limit = self.settings.rasa_max_chars
        metadata = {
            **metadata,
            CONVERSATION_KEY: conversation,
            CHANNEL_SCREEN_KEY: {
                "urgency": screen["urgency"],
                "categories": screen["categories"],
                "matches": screen["matches"][:MAX_MATCHES],
                "chars": len(text),
            },
        }
        logger.info(
            "message %s for %s: %d chars (Rasa reads %d), screen %s %s",
            metadata.get("message_id"), sender_id, len(text), min(len(text), limit),
            screen["urgency"], ",".join(screen["categories"]) or "-",
        )
        return {"text": text[:limit], "metadata": metadata}, sender_id
