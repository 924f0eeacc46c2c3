"""escalation_messages: further messages joined to an open escalation (issue 14, duplicates)

Revision ID: 0008_escalation_messages
Revises: 0007_notifications
Create Date: 2026-12-07 21:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_escalation_messages"
down_revision = "0007_notifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("escalations") as batch:
        batch.add_column(
            sa.Column("message_count", sa.Integer(), nullable=False, server_default="1")
        )
        batch.add_column(sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE escalations SET last_message_at = raised_at")
    op.create_table(
        "escalation_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("sender", sa.String(length=200), nullable=False),
        sa.Column("originator_user_id", sa.Integer(), nullable=True),
        sa.Column("urgency", sa.String(length=20), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("matched_phrases", sa.JSON(), nullable=True),
        sa.Column("excerpt", sa.Text(), nullable=True),
        sa.Column("excerpt_purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["escalation_id"], ["escalations.id"],
            name=op.f("fk_escalation_messages_escalation_id_escalations"),
        ),
        sa.ForeignKeyConstraint(
            ["originator_user_id"], ["people.id"],
            name=op.f("fk_escalation_messages_originator_user_id_people"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_messages")),
        sa.UniqueConstraint("message_id", name=op.f("uq_escalation_messages_message_id")),
    )
    op.create_index(
        op.f("ix_escalation_messages_escalation_id"), "escalation_messages", ["escalation_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_escalation_messages_escalation_id"), table_name="escalation_messages")
    op.drop_table("escalation_messages")
    with op.batch_alter_table("escalations") as batch:
        batch.drop_column("last_message_at")
        batch.drop_column("message_count")
