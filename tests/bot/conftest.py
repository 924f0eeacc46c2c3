"""Fixtures for the bot's action tests: tracker and dispatcher fixtures, the real guidance
engine and a copy of the migrated, demo-seeded SQLite MASH database (`guidance_engine` and
`demo_db_url` from tests/conftest.py). No trained Rasa model is needed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import common
from guidance.engine import Engine
from mash.db import make_engine, session_factory
from mash.demo import DemoDirectory, seed_demo
from settings import Settings


@pytest.fixture()
def sessions(demo_db_url: str) -> Iterator[Any]:
    db = make_engine(url=demo_db_url)
    yield session_factory(db)
    db.dispose()


@pytest.fixture()
def demo(sessions: Any, demo_db_url: str, tmp_path: Path) -> DemoDirectory:
    return seed_demo(sessions, settings=Settings(environment="test", database_url=demo_db_url,
                                                 var_dir=tmp_path))


@pytest.fixture()
def services(monkeypatch: pytest.MonkeyPatch, guidance_engine: Engine, sessions: Any) -> None:
    """Point the actions at the test engine and database (the seams in bot.actions.common)."""
    monkeypatch.setattr(common, "engine", lambda: guidance_engine)
    monkeypatch.setattr(common, "sessions", lambda: sessions)


@pytest.fixture()
def database_down(monkeypatch: pytest.MonkeyPatch, guidance_engine: Engine) -> None:
    """The MASH database refuses every connection."""
    from sqlalchemy.exc import OperationalError

    def refuse() -> Any:
        raise OperationalError("connect", {}, Exception("database is down"))

    monkeypatch.setattr(common, "engine", lambda: guidance_engine)
    monkeypatch.setattr(common, "sessions", lambda: refuse)


@pytest.fixture()
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture()
def metadata_for(demo: DemoDirectory) -> Callable[..., dict[str, Any]]:
    """The metadata the portal sends for a demo person."""
    from mash.demo import PEOPLE

    def make(key: str, *, message_id: str = "m-1", channel: str = "portal") -> dict[str, Any]:
        org = PEOPLE[key]["org"]
        return {
            "user_id": str(demo.people[key]),
            "role": PEOPLE[key]["role"],
            "organisation_id": demo.organisations[org] if org else None,
            "channel": channel,
            "message_id": message_id,
        }

    return make


@pytest.fixture()
def make_tracker() -> Callable[..., Tracker]:
    def make(
        text: str = "",
        *,
        intent: str | None = None,
        metadata: dict[str, Any] | None = None,
        slots: dict[str, Any] | None = None,
        risk: dict[str, Any] | None = None,
        sender_id: str = "conversation-1",
        active_loop: str | None = None,
        events: list[dict[str, Any]] | None = None,
    ) -> Tracker:
        latest = {
            "text": text,
            "intent": {"name": intent, "confidence": 1.0} if intent else {},
            "entities": [],
            "metadata": metadata or {},
            "message_id": "rasa-message-1",
        }
        if risk is not None:
            latest["risk"] = risk
        return Tracker(
            sender_id=sender_id,
            slots=dict(slots or {}),
            latest_message=latest,
            events=list(events or []),
            paused=False,
            followup_action=None,
            active_loop={"name": active_loop} if active_loop else {},
            latest_action_name="action_listen",
        )

    return make


@pytest.fixture()
def said(dispatcher: CollectingDispatcher) -> Callable[[], list[str]]:
    """The names of the domain responses the actions uttered so far, in order."""
    return lambda: [message["response"] for message in dispatcher.messages]
