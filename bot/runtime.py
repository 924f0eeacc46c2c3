"""Lazily built, per-process dependencies shared by the risk-screen component (in the Rasa
server) and the custom actions (in the action server).

Nothing is built at import: the first caller builds the guidance engine or the MASH session
factory for its settings, and later callers in the same process reuse it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import sessionmaker

    from guidance.engine import Engine


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment once."""
    return Settings.from_env()


@lru_cache(maxsize=4)
def _engine_for_pack(pack_path: Path) -> Engine:
    from guidance.engine import Engine
    from guidance.pack import load_pack

    return Engine(load_pack(pack_path))


def get_engine(settings: Settings) -> Engine:
    """The guidance engine for the settings' pack (loading a pack takes about a second)."""
    return _engine_for_pack(settings.pack_path)


@lru_cache(maxsize=4)
def _sessions_for_url(database_url: str) -> sessionmaker:
    from mash.db import make_engine, session_factory

    return session_factory(make_engine(url=database_url))


def get_sessions(settings: Settings) -> sessionmaker:
    """The MASH service's session factory for the settings' database."""
    return _sessions_for_url(settings.database_url)
