"""expected and decided levels: the level the practitioner expected (and its source) on
escalations and consultations, the level and route the MASH decided, and room in a notification's
text for the guide's reason (issue 16, part 1)

Revision ID: 0010_expected_decided_levels
Revises: 0009_slack_conversations
Create Date: 2026-12-08 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_expected_decided_levels"
down_revision = "0009_slack_conversations"
branch_labels = None
depends_on = None

# As in mash/models.py at this revision (a migration never imports the models: they move on).
SOURCES = "'check', 'assess', 'chosen'"
ROUTES = (
    "'universal', 'early_help_single_agency', 'early_help_multi_agency', "
    "'child_in_need_assessment', 'strategy_discussion_s47', 'no_further_action', "
    "'information_missing'"
)


def _level(column: str) -> str:
    return f"{column} IS NULL OR {column} BETWEEN 1 AND 4"


# (table, column, type, check) for every new column.
COLUMNS = [
    (table, "expected_level", "INTEGER", _level("expected_level"))
    for table in ("escalations", "consultations")
] + [
    (table, "expected_source", "VARCHAR(10)",
     f"expected_source IS NULL OR expected_source IN ({SOURCES})")
    for table in ("escalations", "consultations")
] + [
    ("escalations", "decided_level", "INTEGER", _level("decided_level")),
    ("escalations", "decided_route", "VARCHAR(40)",
     f"decided_route IS NULL OR decided_route IN ({ROUTES})"),
]
TYPES = {"INTEGER": sa.Integer(), "VARCHAR(10)": sa.String(length=10),
         "VARCHAR(40)": sa.String(length=40)}


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    for table, column, type_, check in COLUMNS:
        name = f"ck_{table}_{column}"
        if _sqlite():
            # In place, the check on the column itself: batch mode's copy of `escalations`
            # would drop the old table, which SQLite's foreign keys refuse once anything
            # (escalation_categories, escalation_messages) refers to a row.
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN {column} {type_} "
                f"CONSTRAINT {name} CHECK ({check})"
            )
        else:
            op.add_column(table, sa.Column(column, TYPES[type_], nullable=True))
            op.create_check_constraint(op.f(name), table, check)
    # An outcome's text may now carry the guide's description of the decided level (nothing
    # refers to notifications, so SQLite's copy of the table is safe).
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("text", type_=sa.String(length=1000), existing_nullable=False)


def downgrade() -> None:
    op.execute("UPDATE notifications SET text = substr(text, 1, 500)")
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("text", type_=sa.String(length=500), existing_nullable=False)
    for table, column, _type, _check in reversed(COLUMNS):
        if _sqlite():
            # DROP COLUMN in place (SQLite 3.35+); the column's own check goes with it.
            with op.batch_alter_table(table, recreate="never") as batch:
                batch.drop_column(column)
        else:
            op.drop_constraint(op.f(f"ck_{table}_{column}"), table, type_="check")
            op.drop_column(table, column)
