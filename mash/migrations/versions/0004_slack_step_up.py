"""the Slack duty desk's step-up: until when a worker's second factor, given in Slack, holds

Revision ID: 0004_slack_step_up
Revises: 0003_enrolment_code
Create Date: 2026-12-07 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_slack_step_up"
down_revision = "0003_enrolment_code"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(
            sa.Column("slack_verified_until", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    # In place, as 0005's upgrade does (security re-review R7, I-3): batch mode's copy of
    # `people` would drop the old table, which SQLite's foreign keys refuse once any row refers
    # to a person. ALTER TABLE ... DROP COLUMN needs SQLite 3.35+.
    with op.batch_alter_table("people", recreate="never") as batch:
        batch.drop_column("slack_verified_until")
