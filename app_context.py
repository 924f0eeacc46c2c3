"""Wiring: everything a serving process needs, built once from the settings.

The portal, the Slack app and their tests build one AppContext at start-up and pass it (or its
parts) down; nothing is created at import time.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from sqlalchemy.engine import Engine as DbEngine
from sqlalchemy.orm import sessionmaker

from chat.relay import RASA_TIMEOUT_SECONDS, ChatRelay
from guidance.engine import Engine
from guidance.pack import load_pack
from mash.db import make_engine, session_factory
from settings import Settings


@dataclass
class AppContext:
    settings: Settings
    db: DbEngine
    sessions: sessionmaker
    guidance: Engine
    relay: ChatRelay

    @classmethod
    def build(cls, settings: Settings, *, guidance: Engine | None = None) -> AppContext:
        """`guidance` may be passed in so tests load the pack once per session."""
        db = make_engine(settings)
        sessions = session_factory(db)
        guidance = guidance or Engine(load_pack(settings.pack_path))
        relay = ChatRelay(
            settings=settings,
            engine=guidance,
            session_factory=sessions,
            http=httpx.Client(timeout=RASA_TIMEOUT_SECONDS),
        )
        return cls(settings=settings, db=db, sessions=sessions, guidance=guidance, relay=relay)

    def close(self) -> None:
        self.relay.http.close()
        self.db.dispose()
