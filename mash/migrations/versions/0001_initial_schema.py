"""initial schema: directory, escalations, consultations, outbox, audit (append-only)

Revision ID: 0001
Revises:
Create Date: 2026-11-26 09:33:10.016142
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


# The audit trail is append-only in the database too: UPDATE and DELETE (and, on PostgreSQL,
# TRUNCATE) of audit_log raise an error whatever the code tries.
SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END",
)
POSTGRES_TRIGGERS = (
    """CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END $$""",
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()",
)


def _create_audit_triggers() -> None:
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRES_TRIGGERS}.get(dialect)
    if statements is None:
        raise RuntimeError(f"no append-only audit triggers written for {dialect}")
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("actor_label", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("subject_type", sa.String(length=30), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(
        "ix_audit_log_subject", "audit_log", ["subject_type", "subject_id"], unique=False
    )

    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("urn", sa.String(length=20), nullable=True),
        sa.Column("la_code", sa.String(length=10), nullable=True),
        sa.Column("la_name", sa.String(length=100), nullable=True),
        sa.Column("establishment_number", sa.String(length=10), nullable=True),
        sa.Column("type_name", sa.String(length=100), nullable=True),
        sa.Column("type_group", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=60), nullable=True),
        sa.Column("phase", sa.String(length=60), nullable=True),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("locality", sa.String(length=200), nullable=True),
        sa.Column("address3", sa.String(length=200), nullable=True),
        sa.Column("town", sa.String(length=100), nullable=True),
        sa.Column("county", sa.String(length=100), nullable=True),
        sa.Column("postcode", sa.String(length=12), nullable=True),
        sa.Column("telephone", sa.String(length=40), nullable=True),
        sa.Column("website", sa.String(length=300), nullable=True),
        sa.Column("area", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('school', 'gp_practice', 'mash', 'agency')",
            name=op.f("ck_organisations_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("urn", name=op.f("uq_organisations_urn")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=60), nullable=False),
        sa.Column("audience", sa.String(length=30), nullable=False),
        sa.Column("recipient", sa.JSON(), nullable=False),
        sa.Column("subject_type", sa.String(length=30), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'delivered')", name=op.f("ck_outbox_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    op.create_index(
        "ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"], unique=False
    )

    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("slack_user_id", sa.String(length=40), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('dsl', 'deputy_dsl', 'gp', 'mash_worker', 'mash_manager', 'admin')",
            name=op.f("ck_people_role"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_people_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
        sa.UniqueConstraint("email", name=op.f("uq_people_email")),
        sa.UniqueConstraint("slack_user_id", name=op.f("uq_people_slack_user_id")),
    )
    op.create_index(op.f("ix_people_organisation_id"), "people", ["organisation_id"], unique=False)

    op.create_table(
        "consultations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=True),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("sender", sa.String(length=200), nullable=False),
        sa.Column("originator_user_id", sa.Integer(), nullable=True),
        sa.Column("sender_verified", sa.Boolean(), nullable=False),
        sa.Column("sender_role", sa.String(length=20), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("source_kind", sa.String(length=20), nullable=False),
        sa.Column("topic", sa.Text(), nullable=True),
        sa.Column("callback_number", sa.String(length=40), nullable=True),
        sa.Column("best_time", sa.String(length=200), nullable=True),
        sa.Column("details_purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("picked_up_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("picked_up_by", sa.Integer(), nullable=True),
        sa.Column("advice_note", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("originator_informed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'picked_up', 'closed', 'originator_informed')",
            name=op.f("ck_consultations_status"),
        ),
        sa.ForeignKeyConstraint(
            ["closed_by"], ["people.id"], name=op.f("fk_consultations_closed_by_people")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_consultations_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["originator_user_id"],
            ["people.id"],
            name=op.f("fk_consultations_originator_user_id_people"),
        ),
        sa.ForeignKeyConstraint(
            ["picked_up_by"], ["people.id"], name=op.f("fk_consultations_picked_up_by_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultations")),
        sa.UniqueConstraint("message_id", name=op.f("uq_consultations_message_id")),
    )
    op.create_index(
        op.f("ix_consultations_organisation_id"), "consultations", ["organisation_id"], unique=False
    )
    op.create_index(
        op.f("ix_consultations_originator_user_id"),
        "consultations",
        ["originator_user_id"],
        unique=False,
    )
    op.create_index(
        "ix_consultations_status_requested_at",
        "consultations",
        ["status", "requested_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_consultations_week_start"), "consultations", ["week_start"], unique=False
    )

    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("sender", sa.String(length=200), nullable=False),
        sa.Column("originator_user_id", sa.Integer(), nullable=True),
        sa.Column("sender_verified", sa.Boolean(), nullable=False),
        sa.Column("sender_role", sa.String(length=20), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("source_kind", sa.String(length=20), nullable=False),
        sa.Column("urgency", sa.String(length=20), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("matched_phrases", sa.JSON(), nullable=True),
        sa.Column("excerpt", sa.Text(), nullable=True),
        sa.Column("excerpt_purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suggested_level", sa.Integer(), nullable=True),
        sa.Column("level_reasons", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("picked_up_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("picked_up_by", sa.Integer(), nullable=True),
        sa.Column("outcome_code", sa.String(length=40), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=True),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome_by", sa.Integer(), nullable=True),
        sa.Column("originator_informed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("renotified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("manager_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ack_seconds", sa.Integer(), nullable=True),
        sa.Column("outcome_seconds", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "outcome_code IS NULL OR outcome_code IN ('advice_given', 'no_further_action', "
            "'early_help_taf', 'child_in_need_assessment', 'strategy_discussion_s47', "
            "'passed_to_police', 'already_open', 'other')",
            name=op.f("ck_escalations_outcome"),
        ),
        sa.CheckConstraint(
            "status IN ('raised', 'acknowledged', 'picked_up', 'outcome_recorded', "
            "'originator_informed')",
            name=op.f("ck_escalations_status"),
        ),
        sa.CheckConstraint(
            "urgency IN ('immediate', 'concern')", name=op.f("ck_escalations_urgency")
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"], ["people.id"], name=op.f("fk_escalations_acknowledged_by_people")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_escalations_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["originator_user_id"],
            ["people.id"],
            name=op.f("fk_escalations_originator_user_id_people"),
        ),
        sa.ForeignKeyConstraint(
            ["outcome_by"], ["people.id"], name=op.f("fk_escalations_outcome_by_people")
        ),
        sa.ForeignKeyConstraint(
            ["picked_up_by"], ["people.id"], name=op.f("fk_escalations_picked_up_by_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
        sa.UniqueConstraint("message_id", name=op.f("uq_escalations_message_id")),
    )
    op.create_index(
        op.f("ix_escalations_organisation_id"), "escalations", ["organisation_id"], unique=False
    )
    op.create_index(
        op.f("ix_escalations_originator_user_id"),
        "escalations",
        ["originator_user_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_escalations_picked_up_by"), "escalations", ["picked_up_by"], unique=False
    )
    op.create_index(
        "ix_escalations_status_urgency_raised_at",
        "escalations",
        ["status", "urgency", "raised_at"],
        unique=False,
    )
    op.create_index(
        "ix_escalations_week_start_urgency", "escalations", ["week_start", "urgency"], unique=False
    )
    for column in ("source_kind", "ack_seconds", "outcome_seconds"):
        op.create_index(
            f"ix_escalations_week_start_{column}", "escalations", ["week_start", column]
        )

    op.create_table(
        "mash_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("area", sa.String(length=100), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "(organisation_id IS NOT NULL) <> (area IS NOT NULL)",
            name=op.f("ck_mash_contacts_school_xor_area"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_mash_contacts_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_mash_contacts_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mash_contacts")),
        sa.UniqueConstraint("area", name=op.f("uq_mash_contacts_area")),
        sa.UniqueConstraint("organisation_id", name=op.f("uq_mash_contacts_organisation_id")),
    )
    op.create_table(
        "escalation_categories",
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=60), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["escalations.id"],
            name=op.f("fk_escalation_categories_escalation_id_escalations"),
        ),
        sa.PrimaryKeyConstraint("escalation_id", "category", name=op.f("pk_escalation_categories")),
    )
    op.create_index(
        "ix_escalation_categories_week_start_category",
        "escalation_categories",
        ["week_start", "category"],
        unique=False,
    )
    _create_audit_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_refuse_change()")
    op.drop_index(
        "ix_escalation_categories_week_start_category", table_name="escalation_categories"
    )

    op.drop_table("escalation_categories")
    op.drop_table("mash_contacts")
    for column in ("source_kind", "ack_seconds", "outcome_seconds"):
        op.drop_index(f"ix_escalations_week_start_{column}", table_name="escalations")
    op.drop_index("ix_escalations_week_start_urgency", table_name="escalations")
    op.drop_index("ix_escalations_status_urgency_raised_at", table_name="escalations")
    op.drop_index(op.f("ix_escalations_picked_up_by"), table_name="escalations")
    op.drop_index(op.f("ix_escalations_originator_user_id"), table_name="escalations")
    op.drop_index(op.f("ix_escalations_organisation_id"), table_name="escalations")

    op.drop_table("escalations")
    op.drop_index(op.f("ix_consultations_week_start"), table_name="consultations")
    op.drop_index("ix_consultations_status_requested_at", table_name="consultations")
    op.drop_index(op.f("ix_consultations_originator_user_id"), table_name="consultations")
    op.drop_index(op.f("ix_consultations_organisation_id"), table_name="consultations")

    op.drop_table("consultations")
    op.drop_index(op.f("ix_people_organisation_id"), table_name="people")

    op.drop_table("people")
    op.drop_index("ix_outbox_status_next_attempt_at", table_name="outbox")

    op.drop_table("outbox")
    op.drop_table("organisations")
    op.drop_index("ix_audit_log_subject", table_name="audit_log")

    op.drop_table("audit_log")
