"""one-time enrolment codes: staff enrol their second factor only with a code an admin gave

Revision ID: 0003_enrolment_code
Revises: 0002_sessions_totp
Create Date: 2026-12-07 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_enrolment_code"
down_revision = "0002_sessions_totp"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("enrolment_code_hash", sa.String(length=200), nullable=True))
        batch.add_column(
            sa.Column("enrolment_code_expires_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.drop_column("enrolment_code_expires_at")
        batch.drop_column("enrolment_code_hash")
