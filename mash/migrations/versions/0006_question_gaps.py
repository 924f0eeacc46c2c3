"""the partnership's gap list: questions the assistant answered without confidence

Revision ID: 0006_question_gaps
Revises: 0005_drop_slack_step_up
Create Date: 2026-12-07 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_question_gaps"
down_revision = "0005_drop_slack_step_up"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "question_gaps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("topic", sa.String(length=120), nullable=False),
        sa.Column("added_section", sa.String(length=100), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["added_by"], ["people.id"], name=op.f("fk_question_gaps_added_by_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_gaps")),
    )
    op.create_index(
        op.f("ix_question_gaps_week_start"), "question_gaps", ["week_start"], unique=False
    )
    op.create_index(
        "ix_question_gaps_topic_added_section",
        "question_gaps",
        ["topic", "added_section"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_question_gaps_topic_added_section", table_name="question_gaps")
    op.drop_index(op.f("ix_question_gaps_week_start"), table_name="question_gaps")
    op.drop_table("question_gaps")
