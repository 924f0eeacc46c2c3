from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from mash.migrate import current
from mash.models import Base


def test_migrations_build_exactly_the_models(engine, db_url):
    # The fixtures built this database through the migrations; they must match the models.
    assert current(db_url) is not None
    mine = set(Base.metadata.tables)
    # Other packages (e.g. the Slack app) add their own tables in later revisions: ignore them.
    context_opts = {
        "include_name": lambda name, type_, parent: type_ != "table" or name in mine,
    }
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts=context_opts), Base.metadata)
    assert diff == []


def test_sqlite_connections_are_configured(engine):
    if engine.dialect.name != "sqlite":
        assert engine.pool._pre_ping  # PostgreSQL: stale connections are replaced
        return
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() >= 10_000
        assert conn.execute(text("PRAGMA synchronous")).scalar_one() == 1  # NORMAL


def test_no_engine_at_import():
    import importlib

    import mash.db

    module = importlib.reload(mash.db)
    assert not any(type(v).__name__ == "Engine" for v in vars(module).values())


def test_database_errors_never_carry_the_statements_values(tmp_path) -> None:
    # A traceback in a log must not hold an escalation's excerpt or a callback number.
    import pytest
    from sqlalchemy.exc import SQLAlchemyError

    from mash.db import make_engine

    engine = make_engine(url=f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        connection.execute(text("CREATE TABLE t (v TEXT NOT NULL UNIQUE)"))
        connection.execute(text("INSERT INTO t VALUES (:v)"), {"v": "stepdad hit her"})
        with pytest.raises(SQLAlchemyError) as error:
            connection.execute(text("INSERT INTO t VALUES (:v)"), {"v": "stepdad hit her"})
    assert "stepdad" not in str(error.value)
    engine.dispose()


def test_migration_0005_drops_the_slack_window_in_place_and_downgrades(db_url):
    """R6-1: no Slack verification is kept any more. The drop must work on a database whose
    people are referred to (SQLite refuses batch mode's copy of the table), and the downgrade
    brings 0004's column back, empty. Further down, 0004's own downgrade drops it in place as
    well (security re-review R7, I-3), and the way back up keeps every row."""
    from sqlalchemy import inspect

    from mash.db import make_engine
    from mash.migrate import downgrade, upgrade

    def people_columns() -> set[str]:
        engine = make_engine(url=db_url)
        try:
            return {column["name"] for column in inspect(engine).get_columns("people")}
        finally:
            engine.dispose()

    def counts() -> dict[str, int]:
        engine = make_engine(url=db_url)
        try:
            with engine.connect() as conn:
                return {
                    table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                    for table in ("people", "audit_log", "recovery_codes", "portal_sessions")
                }
        finally:
            engine.dispose()

    head, before = current(db_url), counts()
    assert before["people"] > 0  # the demo directory is seeded: the people rows are referred to
    assert "slack_verified_until" not in people_columns()
    downgrade(db_url, "0004_slack_step_up")
    assert "slack_verified_until" in people_columns()
    downgrade(db_url, "0003_enrolment_code")
    assert current(db_url) == "0003_enrolment_code"
    assert "slack_verified_until" not in people_columns()
    upgrade(db_url)
    assert current(db_url) == head and "slack_verified_until" not in people_columns()
    assert counts() == before
