"""the Slack duty desk keeps no step-up window: each sensitive action carries its own code
(security re-review R6-1), so people.slack_verified_until goes

Revision ID: 0005_drop_slack_step_up
Revises: 0004_slack_step_up
Create Date: 2026-12-07 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_drop_slack_step_up"
down_revision = "0004_slack_step_up"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+, PostgreSQL): batch mode's copy of
    # `people` would drop the old table, which SQLite's foreign keys refuse once any row
    # refers to a person.
    with op.batch_alter_table("people", recreate="never") as batch:
        batch.drop_column("slack_verified_until")


def downgrade() -> None:
    # The column comes back empty: no one is verified in Slack after a downgrade.
    with op.batch_alter_table("people") as batch:
        batch.add_column(
            sa.Column("slack_verified_until", sa.DateTime(timezone=True), nullable=True)
        )
