"""slack_conversations: when each Slack conversation (one per thread) last had a message, so a
form left idle there is stopped before the next message (issue 14; owned by slack_app)

Revision ID: 0009_slack_conversations
Revises: 0008_escalation_messages
Create Date: 2026-12-08 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_slack_conversations"
down_revision = "0008_escalation_messages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_conversations",
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_slack_conversations")),
    )


def downgrade() -> None:
    op.drop_table("slack_conversations")
