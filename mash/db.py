"""Engines, sessions and transactions. Nothing here runs at import time.

SQLite (the development default) gets WAL, foreign keys, a busy timeout, pooled connections and
`BEGIN IMMEDIATE` transactions: every service call writes (an audit row at least), and taking
the write lock up front makes concurrent writers queue on the busy timeout instead of failing
with SQLITE_BUSY when a read transaction tries to upgrade. PostgreSQL gets `pool_pre_ping`
so a restarted server or a killed connection is replaced transparently.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.future import create_engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from settings import Settings

SQLITE_BUSY_TIMEOUT_MS = 15_000

F = TypeVar("F", bound=Callable[..., Any])


def make_engine(
    settings: Settings | None = None, *, url: str | None = None, **kwargs: Any
) -> Engine:
    """An engine for `url` or `settings.database_url`, configured for this service."""
    if url is None:
        if settings is None:
            raise ValueError("make_engine needs settings or url")
        url = settings.database_url
    parsed = make_url(url)
    # A database error's message would otherwise carry the statement's parameters (an
    # escalation's excerpt, a callback number) into every log and traceback.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = kwargs.setdefault("connect_args", {})
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
        if parsed.database and parsed.database != ":memory:":
            # Keep connections open (SQLAlchemy 1.4 would close one per transaction, and
            # closing the last connection checkpoints the WAL: ~10 ms per call).
            connect_args.setdefault("check_same_thread", False)
            kwargs.setdefault("poolclass", QueuePool)
        engine = create_engine(url, future=True, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, future=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy (below) emit BEGIN itself; pysqlite's implicit BEGIN is deferred.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # SQLite is for development and tests only (Settings.check refuses it in production):
        # NORMAL in WAL mode survives a crashed process, though not a power cut, and saves an
        # fsync per commit. PostgreSQL, the production database, syncs every commit.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker:
    """Sessions in 2.0 style; objects stay readable after commit (services return views)."""
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker) -> Iterator[Session]:
    """A session that commits on success, rolls back on error and is always closed."""
    session: Session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def unit_of_work(fn: F) -> F:
    """Make a keyword-only service function one transaction on the `session` it is given.

    Commits when the function returns, rolls back when it raises, so a refused or invalid call
    changes nothing and a successful one is durable (with its audit and outbox rows) before the
    caller sees the result.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, session: Session, **kwargs: Any) -> Any:
        try:
            result = fn(*args, session=session, **kwargs)
            session.commit()
            return result
        except BaseException:
            session.rollback()
            raise

    return wrapper  # type: ignore[return-value]


def is_postgres(session_or_engine: Session | Engine) -> bool:
    bind = (
        session_or_engine.get_bind()
        if isinstance(session_or_engine, Session)
        else session_or_engine
    )
    return bind.dialect.name == "postgresql"
