"""What the Slack app's listeners and target need, built once per process from the settings."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from slack_sdk import WebClient
from sqlalchemy.orm import sessionmaker

from mash.clock import utcnow
from settings import Settings
from slack_app.store import SlackStore

if TYPE_CHECKING:
    from app_context import AppContext
    from guidance.contacts import Contacts

# Listeners answer people: a slow Slack is worth a few seconds; the target has its own timeout.
CLIENT_TIMEOUT_SECONDS = 10


class Reply(Protocol):
    messages: list[dict[str, Any]]
    urgency: str
    escalation_reference: str | None
    form_stopped: bool


class Relay(Protocol):
    """chat.relay.ChatRelay: the only way to talk to the assistant."""

    def send(self, *, sender_id: str, text: Any, metadata: Mapping[str, Any],
             stop_form_first: bool = False) -> Reply: ...


def api_base(settings: Settings) -> str:
    """WebClient joins method names onto base_url, so it must end with a slash."""
    url = settings.slack_api_url or "https://slack.com/api/"
    return url if url.endswith("/") else url + "/"


def make_client(settings: Settings, *, timeout: float = CLIENT_TIMEOUT_SECONDS, **kwargs: Any):
    return WebClient(
        token=settings.slack_bot_token or None,
        base_url=api_base(settings),
        timeout=int(timeout) if timeout >= 1 else timeout,  # type: ignore[arg-type]
        logger=web_api_logger(),
        **kwargs,
    )


def web_api_logger() -> logging.Logger:
    """The WebClient's logger, held at INFO even under LOG_LEVEL=DEBUG: its debug lines carry
    whole request and response bodies (duty cards with their excerpts, replies)."""
    logger = logging.getLogger("slack_app.web_api")
    logger.setLevel(logging.INFO)
    return logger


@dataclass
class SlackDeps:
    settings: Settings
    sessions: sessionmaker
    relay: Relay | None  # None in the dispatcher, which only delivers
    contacts: Contacts | None
    store: SlackStore = field(init=False)
    clock: Callable[[], datetime] = utcnow
    # The pack's category labels: cards and lists show them, never ids (chat/labels.py).
    category_labels: Mapping[str, str] = field(default_factory=dict)
    # The pack's levels of need by number (names and descriptions): the outcome modal's
    # choices and the guide's reason in the originator's message (mash/levels.py).
    levels: Mapping[int, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.store = SlackStore(self.sessions)

    @classmethod
    def from_context(cls, context: AppContext) -> SlackDeps:
        return cls(
            settings=context.settings,
            sessions=context.sessions,
            relay=context.relay,
            contacts=context.guidance.pack.contacts,
            category_labels=context.guidance.pack.lexicon.labels,
            levels=context.guidance.pack.levels.levels,
        )
