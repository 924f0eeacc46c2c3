"""Database roles in production (PostgreSQL): an owner that migrates, a runtime role that can't
change the schema.

The owner role (DATABASE_OWNER_URL) runs the migrations, so it owns every table, index, trigger
and sequence. The services connect as the runtime role (DATABASE_URL), which `grant_runtime`
gives exactly what they need:

- normal DML (SELECT, INSERT, UPDATE, DELETE) on the application's tables, and their sequences;
- on `audit_log`, SELECT and INSERT only: the trail is append-only even if the triggers went;
- on `alembic_version`, SELECT only;
- no CREATE on the schema, and no TRUNCATE, REFERENCES or TRIGGER anywhere.

Only an owner may ALTER or DROP a table or its triggers (ALTER TABLE ... DISABLE TRIGGER, DROP
TRIGGER) and only a superuser may set `session_replication_role` (which silences triggers), so
the runtime role cannot undo the audit trail's protection. Re-run after every migration
(`python -m mash migrate` does it when DATABASE_OWNER_URL is set): new tables need the grants.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine, make_url

APPEND_ONLY_TABLES = ("audit_log",)
READ_ONLY_TABLES = ("alembic_version",)
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def quote_role(role: str) -> str:
    """`role` as a quoted identifier; only plain lower-case names are accepted."""
    if not _ROLE_NAME.match(role):
        raise ValueError(f"not a plain role name (a-z, 0-9, _): {role!r}")
    return f'"{role}"'


def runtime_role(runtime_url: str, owner_url: str) -> str | None:
    """The role the services connect as, when it is not the owner (None: nothing to grant)."""
    runtime, owner = make_url(runtime_url), make_url(owner_url)
    if runtime.get_backend_name() != "postgresql" or not runtime.username:
        return None
    if runtime.username == owner.username:
        return None
    return runtime.username


def grant_statements(connection: Connection, role: str) -> list[str]:
    """The GRANT/REVOKE statements for `role` on the connected database's public schema."""
    who = quote_role(role)
    database = connection.execute(text("SELECT current_database()")).scalar_one()
    tables = list(
        connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        ).scalars()
    )
    db = '"' + database.replace('"', '""') + '"'
    statements = [
        # Until PostgreSQL 15 every role could create tables in public; never the runtime role.
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"REVOKE ALL ON SCHEMA public FROM {who}",
        f"GRANT USAGE ON SCHEMA public TO {who}",
        f"GRANT CONNECT ON DATABASE {db} TO {who}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {who}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {who}",
    ]
    for table in tables:
        name = '"' + table.replace('"', '""') + '"'
        if table in APPEND_ONLY_TABLES:
            privileges = "SELECT, INSERT"
        elif table in READ_ONLY_TABLES:
            privileges = "SELECT"
        else:
            privileges = "SELECT, INSERT, UPDATE, DELETE"
        statements.append(f"GRANT {privileges} ON {name} TO {who}")
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {who}")
    return statements


def grant_runtime(engine: Engine, role: str) -> list[str]:
    """Give `role` the runtime privileges on `engine`'s database (connected as the owner), in
    one transaction. Returns the statements run. PostgreSQL only."""
    if engine.dialect.name != "postgresql":
        raise ValueError("database roles apply to PostgreSQL only (SQLite has none)")
    with engine.begin() as connection:
        statements = grant_statements(connection, role)
        for statement in statements:
            connection.execute(text(statement))
    return statements
