"""Fixtures for the chat relay: the real guidance engine and a copy of the migrated, demo-seeded
SQLite (`guidance_engine` and `demo_db_url` from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from guidance.engine import Engine
from mash.db import make_engine, session_factory
from settings import Settings

CHANNEL_SECRET = "chat-test-channel-secret"


@pytest.fixture(scope="session")
def engine(guidance_engine: Engine) -> Engine:
    """The guidance engine, by the name the relay gives it."""
    return guidance_engine


@pytest.fixture()
def settings(demo_db_url: str, tmp_path: Path) -> Settings:
    # Port 9 (discard) on loopback: nothing listens, so Rasa is reliably "down" unless mocked.
    return Settings(
        environment="test",
        database_url=demo_db_url,
        var_dir=tmp_path,
        rasa_url="http://127.0.0.1:9",
        channel_secret=CHANNEL_SECRET,
    )


@pytest.fixture()
def factory(settings: Settings) -> Iterator:
    db = make_engine(url=settings.database_url)
    yield session_factory(db)
    db.dispose()
