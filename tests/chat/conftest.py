"""Fixtures for the chat relay: the real guidance engine and a migrated, demo-seeded SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from guidance.engine import Engine
from guidance.pack import load_pack
from mash.db import make_engine, session_factory
from mash.demo import seed_demo
from mash.migrate import upgrade
from settings import Settings


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine(load_pack(Settings().pack_path))


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    # Port 9 (discard) on loopback: nothing listens, so Rasa is reliably "down" unless mocked.
    return Settings(
        environment="test",
        database_url=f"sqlite:///{tmp_path / 'app.db'}",
        var_dir=tmp_path,
        rasa_url="http://127.0.0.1:9",
    )


@pytest.fixture()
def factory(settings: Settings) -> Iterator:
    upgrade(settings.database_url)
    db = make_engine(url=settings.database_url)
    sessions = session_factory(db)
    seed_demo(sessions, settings=settings)
    yield sessions
    db.dispose()
