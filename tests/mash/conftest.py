"""Fixtures for the MASH service tests: a migrated, demo-seeded database per test.

Every test using `db_url` (directly or through `factory`, `session`, ...) runs on SQLite and,
when TEST_DATABASE_URL points at a PostgreSQL server (scripts/with_postgres.sh sets it), on
PostgreSQL too (those runs are marked `postgres`). The schema is always built by the Alembic
migrations. Each backend is migrated and seeded once per session into a template: SQLite tests
get a copy of the file (`demo_db_template` in tests/conftest.py), PostgreSQL tests a fresh
`CREATE DATABASE ... TEMPLATE`, dropped after.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import MetaData, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from mash.access import Actor
from mash.db import make_engine, session_factory
from mash.demo import DemoDirectory, seed_demo
from settings import Settings

# PostgreSQL joins the parameters only when a server is named, so plain runs show no skips.
BACKENDS: list = ["sqlite"]
if os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
    BACKENDS.append(pytest.param("postgresql", marks=pytest.mark.postgres))


def make_settings(url: str, var_dir: Path) -> Settings:
    return Settings(environment="test", database_url=url, var_dir=var_dir)


class PostgresServer:
    """Creates and drops this session's databases on the server TEST_DATABASE_URL names."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.admin = make_engine(url=url, isolation_level="AUTOCOMMIT", poolclass=None)
        self.prefix = f"mash_t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.created: list[str] = []
        self.template: str | None = None
        self.working: str | None = None
        self.metadata = MetaData()
        self.seed_rows: dict[str, list[dict]] = {}

    def url_for(self, name: str) -> str:
        return str(self.url.set(database=name))

    def create(self, name: str, template: str | None = None) -> str:
        with self.admin.connect() as conn:
            suffix = f" TEMPLATE {template}" if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
        self.created.append(name)
        return self.url_for(name)

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if name in self.created:
            self.created.remove(name)

    def fresh(self) -> str:
        """A database in the migrated, seeded state. CREATE DATABASE ... TEMPLATE costs about a
        second on a busy server, so one working database is reset instead: every table is
        emptied and refilled with the template's rows (as superuser, with triggers off for the
        reset only, since the audit trail refuses DELETE). Without superuser rights each
        test gets its own copy of the template instead."""
        if self.working is None:
            self.working = f"{self.prefix}_work"
            return self.create(self.working, template=self.template)
        try:
            self._reset(self.working)
        except DBAPIError:
            return self.create(f"{self.prefix}_{uuid.uuid4().hex[:8]}", template=self.template)
        return self.url_for(self.working)

    def snapshot(self) -> None:
        """Remember the template's rows (the demo directory) for `_reset`."""
        engine = make_engine(url=self.url_for(self.template), poolclass=NullPool)
        try:
            self.metadata.reflect(engine)
            with engine.connect() as conn:
                self.seed_rows = {
                    name: [dict(r._mapping) for r in conn.execute(table.select())]
                    for name, table in self.metadata.tables.items()
                    if name != "alembic_version"
                }
        finally:
            engine.dispose()

    def _reset(self, name: str) -> None:
        engine = make_engine(url=self.url_for(name), poolclass=NullPool)
        try:
            with engine.begin() as conn:
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                for table_name in self.seed_rows:  # DELETE: cheaper than TRUNCATE on tiny tables
                    conn.execute(text(f'DELETE FROM "{table_name}"'))
                for table_name, rows in self.seed_rows.items():
                    table = self.metadata.tables[table_name]
                    if not rows:
                        continue
                    conn.execute(table.insert(), rows)
                    if "id" in table.c:
                        conn.execute(
                            text(
                                f"SELECT setval(pg_get_serial_sequence('{table_name}', 'id'), "
                                f'(SELECT max(id) FROM "{table_name}"))'
                            )
                        )
        finally:
            engine.dispose()

    def close(self) -> None:
        for name in list(reversed(self.created)):
            self.drop(name)
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory, seed_database) -> Iterator[PostgresServer]:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("PostgreSQL runs need TEST_DATABASE_URL (see scripts/with_postgres.sh)")
    server = PostgresServer(url)
    template = f"{server.prefix}_tmpl"
    server.create(template)
    url = server.url_for(template)
    seed_database(url, make_settings(url, tmp_path_factory.mktemp("pgvar")))
    server.template = template
    server.snapshot()
    yield server
    server.close()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def db_url(backend, request, tmp_path) -> Iterator[str]:
    if backend == "sqlite":
        template = request.getfixturevalue("demo_db_template")
        path = tmp_path / "mash.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    yield server.fresh()


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return make_settings(db_url, tmp_path)


@pytest.fixture
def engine(db_url):
    engine = make_engine(url=db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(engine):
    return session_factory(engine)


@pytest.fixture
def session(factory):
    with factory() as session:
        yield session


@pytest.fixture
def demo(factory, settings) -> DemoDirectory:
    return seed_demo(factory, settings=settings)  # already seeded: describes it


@pytest.fixture
def actors(factory, demo) -> dict[str, Actor]:
    from mash import directory

    with factory() as session:
        return {
            key: directory.actor_for(session=session, user_id=pid)
            for key, pid in demo.people.items()
        }


@pytest.fixture
def identity_of(demo):
    """ChannelIdentity for a demo person, as the portal would send it."""
    from mash.access import ChannelIdentity

    def make(
        key: str, *, channel: str = "portal", organisation: str | None = None
    ) -> ChannelIdentity:
        from mash.demo import PEOPLE

        org_key = organisation or PEOPLE[key]["org"]
        return ChannelIdentity(
            channel=channel,
            sender=f"sender-{key}",
            user_id=str(demo.people[key]),
            role=PEOPLE[key]["role"],
            organisation_id=demo.organisations[org_key] if org_key else None,
        )

    return make


@pytest.fixture
def raise_esc(factory, identity_of):
    """Raise an escalation (default: immediate, from Oakfield's DSL) in its own session."""
    from mash import escalations

    counter = iter(range(1, 1_000_000))

    def make(key: str = "oakfield_dsl", **overrides):
        fields = dict(
            identity=identity_of(key),
            message_id=f"msg-{next(counter)}",
            urgency="immediate",
            categories=["physical_abuse"],
            text="She said her dad hit her; ring 0151 496 0000 or dad@example.com, CH41 1AA.",
            matched_phrases=["dad hit her"],
            suggested_level=4,
            level_reasons=["disclosure of physical harm"],
        )
        fields.update(overrides)
        with factory() as session:
            return escalations.raise_escalation(session=session, **fields)

    return make
