"""The runtime database role (PostgreSQL) can run the service but cannot change the schema or
the audit trail: no DDL, no DROP/DISABLE TRIGGER on audit_log, no UPDATE/DELETE of audit rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from mash import audit, escalations
from mash.access import ChannelIdentity
from mash.db import make_engine, session_factory
from mash.models import AuditEntry
from mash.roles import grant_runtime, quote_role, runtime_role

ON_POSTGRES = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@pytest.fixture
def runtime_engine(db_url, engine) -> Iterator:
    """A throwaway LOGIN role granted the runtime privileges, and an engine connected as it;
    the role and everything granted to it are removed afterwards."""
    role = f"mash_rt_{uuid.uuid4().hex[:10]}"
    password = uuid.uuid4().hex
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"CREATE ROLE {quote_role(role)} LOGIN PASSWORD '{password}'"))
    runtime = None
    try:
        grant_runtime(engine, role)
        url = make_url(db_url).set(username=role, password=password)
        runtime = make_engine(url=url.render_as_string(hide_password=False))
        yield runtime
    finally:
        if runtime is not None:
            runtime.dispose()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"DROP OWNED BY {quote_role(role)}"))
            conn.execute(text(f"DROP ROLE {quote_role(role)}"))


@pytest.mark.postgres
@ON_POSTGRES
@pytest.mark.parametrize(
    "statement",
    [
        "DROP TRIGGER audit_log_no_change ON audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change",
        "ALTER TABLE audit_log DISABLE TRIGGER ALL",
        "UPDATE audit_log SET action = 'forged'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "SET session_replication_role = replica",
        "CREATE TABLE mash_rt_probe (x int)",
        "ALTER TABLE escalations ADD COLUMN probe int",
        "DROP TABLE outbox",
        "DELETE FROM alembic_version",
    ],
)
def test_runtime_role_cannot_change_schema_or_audit(runtime_engine, engine, raise_esc, statement):
    raise_esc()
    with engine.connect() as conn:
        before = conn.execute(text("SELECT id, action FROM audit_log ORDER BY id")).all()
    with runtime_engine.connect() as conn, pytest.raises(DBAPIError) as caught:
        conn.execute(text(statement))
        conn.commit()
    assert "permission denied" in str(caught.value) or "must be owner" in str(caught.value)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, action FROM audit_log ORDER BY id")).all() == before
        triggers = conn.execute(
            text("SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass"
                 " AND NOT tgisinternal ORDER BY tgname")
        ).all()  # fmt: skip
    assert triggers == [("audit_log_no_change", "O"), ("audit_log_no_truncate", "O")]


@pytest.mark.postgres
@ON_POSTGRES
def test_runtime_role_runs_the_service(runtime_engine, demo, actors):
    """Raise an escalation, read it (an audited read), list it, pick it up: all as the runtime
    role, with the audit rows written."""
    factory = session_factory(runtime_engine)
    identity = ChannelIdentity(
        channel="portal", sender=f"portal-{demo.people['oakfield_dsl']}",
        user_id=str(demo.people["oakfield_dsl"]), role="dsl",
        organisation_id=demo.organisations["oakfield"],
    )  # fmt: skip
    with factory() as s:
        raised = escalations.raise_escalation(
            session=s, identity=identity, message_id="rt-1", urgency="immediate",
            categories=["physical_abuse"], text="He said his dad hit him.",
        )  # fmt: skip
    with factory() as s:
        again = escalations.raise_escalation(
            session=s, identity=identity, message_id="rt-1", urgency="immediate",
            categories=["physical_abuse"], text="He said his dad hit him.",
        )  # fmt: skip
    assert again.id == raised.id
    with factory() as s:
        read = escalations.get_escalation(session=s, actor=actors["duty"], escalation_id=raised.id)
        assert read.excerpt == "He said his dad hit him."
        assert [e.id for e in escalations.list_escalations(session=s, actor=actors["duty"])]
        escalations.pick_up(session=s, actor=actors["duty"], escalation_id=raised.id)
        trail = audit.trail(
            session=s, actor=actors["manager"], subject_type="escalation", subject_id=raised.id
        )
        count = s.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    assert [e.action for e in trail][:4] == [
        "escalation.raise", "escalation.replay", "escalation.read", "escalation.pick_up",
    ]  # fmt: skip
    assert count > 4


def test_runtime_role_is_the_database_url_user_unless_it_owns_the_schema() -> None:
    owner = "postgresql://guidance_owner:x@db/guidance"
    assert runtime_role("postgresql://guidance_app:y@db/guidance", owner) == "guidance_app"
    assert runtime_role(owner, owner) is None
    assert runtime_role("sqlite:///var/app.db", "sqlite:///var/app.db") is None


def test_role_names_are_checked() -> None:
    with pytest.raises(ValueError):
        quote_role('app"; DROP TABLE audit_log; --')


@pytest.mark.postgres
@ON_POSTGRES
def test_migrate_as_owner_creates_and_grants_the_runtime_role(
    backend, postgres_server, monkeypatch, capsys
):
    """`ops prepare`'s steps on an empty database: the runtime role DATABASE_URL names is
    created (the owner may create roles here), `python -m mash migrate` runs as
    DATABASE_OWNER_URL and re-grants it; the runtime role then reads but cannot drop a trigger."""
    from mash.cli import main
    from ops.__main__ import ensure_login_role

    name = f"{postgres_server.prefix}_roles_{uuid.uuid4().hex[:6]}"
    owner_url = postgres_server.create(name)
    role = f"mash_rt_{uuid.uuid4().hex[:10]}"
    runtime_url = make_url(owner_url).set(username=role, password="pw-" + role)
    runtime_str = runtime_url.render_as_string(hide_password=False)
    admin = make_engine(url=owner_url)
    try:
        assert ensure_login_role(owner_url, runtime_str) is True
        assert ensure_login_role(owner_url, runtime_str) is False
        monkeypatch.setenv("DATABASE_OWNER_URL", owner_url)
        monkeypatch.setenv("DATABASE_URL", runtime_str)
        assert main(["migrate"]) == 0
        assert f"runtime role {role}" in capsys.readouterr().out
        runtime = make_engine(url=runtime_str)
        try:
            with runtime.connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM people")).scalar_one() == 0
            with runtime.connect() as conn, pytest.raises(DBAPIError, match="must be owner"):
                conn.execute(text("DROP TRIGGER audit_log_no_change ON audit_log"))
        finally:
            runtime.dispose()
    finally:
        admin.dispose()
        postgres_server.drop(name)
        with postgres_server.admin.connect() as conn:
            conn.execute(text(f"DROP ROLE IF EXISTS {quote_role(role)}"))
