"""The MASH service's tables (SQLAlchemy 1.4, declarative, used in 2.0 style).

The schema is created by the Alembic migrations in `mash/migrations`, never by `create_all`
outside tests of the migrations themselves; keep the two in step (a test compares them).

Times are stored as UTC and read back timezone-aware (`UTCDateTime`). A few columns are
deliberately denormalised for the dashboard figures: `week_start`, `source_kind`,
`ack_seconds` and `outcome_seconds` are written once when the event happens, so the weekly
figures are plain GROUP BYs over 100,000 rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import declarative_base

from mash.clock import as_utc

# Stable constraint names, so migrations on SQLite and PostgreSQL agree.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
Base = declarative_base(metadata=MetaData(naming_convention=NAMING))

ORGANISATION_KINDS = ("school", "gp_practice", "mash", "agency")
ROLES = ("dsl", "deputy_dsl", "gp", "mash_worker", "mash_manager", "admin")
URGENCIES = ("immediate", "concern")
ESCALATION_STATUSES = (
    "raised",
    "acknowledged",
    "picked_up",
    "outcome_recorded",
    "originator_informed",
)
CONSULTATION_STATUSES = ("queued", "picked_up", "closed", "originator_informed")
OUTCOME_CODES = (
    "advice_given",
    "no_further_action",
    "early_help_taf",
    "child_in_need_assessment",
    "strategy_discussion_s47",
    "passed_to_police",
    "already_open",
    "other",
)
# Where the level a practitioner expected came from (issue 16): the threshold check they ran in
# the conversation, the guidance engine's suggestion for the escalation's text, or their choice.
EXPECTED_SOURCES = ("check", "assess", "chosen")
# The routes the MASH decides, alongside its level (the guide's four levels and their routes,
# and the two ways a contact ends without one).
DECIDED_ROUTES = (
    "universal",
    "early_help_single_agency",
    "early_help_multi_agency",
    "child_in_need_assessment",
    "strategy_discussion_s47",
    "no_further_action",
    "information_missing",
)
LEVEL_CHECK = "{0} IS NULL OR {0} BETWEEN 1 AND 4"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, on SQLite (which keeps no zone) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):  # type: ignore[no-untyped-def]
        return None if value is None else as_utc(value)


class Organisation(Base):
    __tablename__ = "organisations"
    __table_args__ = (CheckConstraint(_in("kind", ORGANISATION_KINDS), name="kind"),)

    id = Column(Integer, primary_key=True)
    kind = Column(String(20), nullable=False)
    name = Column(String(200), nullable=False)
    # From the national schools register (GIAS) extract; empty for non-schools.
    urn = Column(String(20), unique=True)
    la_code = Column(String(10))
    la_name = Column(String(100))
    establishment_number = Column(String(10))
    type_name = Column(String(100))
    type_group = Column(String(100))
    status = Column(String(60))
    phase = Column(String(60))
    street = Column(String(200))
    locality = Column(String(200))
    address3 = Column(String(200))
    town = Column(String(100))
    county = Column(String(100))
    postcode = Column(String(12))
    telephone = Column(String(40))
    website = Column(String(300))
    # The MASH locality/area the organisation belongs to (for the named-contact fallback).
    area = Column(String(100))
    created_at = Column(UTCDateTime, nullable=False)
    updated_at = Column(UTCDateTime, nullable=False)


class Person(Base):
    __tablename__ = "people"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id = Column(Integer, primary_key=True)
    name = Column(String(200), nullable=False)
    email = Column(String(254), nullable=False, unique=True)  # stored lower-case
    role = Column(String(20), nullable=False)
    organisation_id = Column(Integer, ForeignKey("organisations.id"), index=True)
    phone = Column(String(40))
    slack_user_id = Column(String(40), unique=True)
    password_hash = Column(String(200))
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(UTCDateTime, nullable=False)
    # Two-factor sign-in (mash/twofactor.py): the TOTP secret (base32), set when enrolment is
    # confirmed; the last accepted time step, so a code is accepted once only.
    totp_secret = Column(String(64))
    totp_enrolled_at = Column(UTCDateTime)
    totp_last_step = Column(Integer)
    password_changed_at = Column(UTCDateTime)
    # The one-time enrolment code an administrator gave out of band (argon2id hash) and when it
    # expires: staff need it to enrol at sign-in, so the password alone cannot.
    enrolment_code_hash = Column(String(200))
    enrolment_code_expires_at = Column(UTCDateTime)


class RecoveryCode(Base):
    """A one-time second factor for a person who lost their authenticator (argon2id hash)."""

    __tablename__ = "recovery_codes"

    id = Column(Integer, primary_key=True)
    person_id = Column(Integer, ForeignKey("people.id"), nullable=False, index=True)
    code_hash = Column(String(200), nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    used_at = Column(UTCDateTime)


class PortalSession(Base):
    """A portal session (mash/sessions.py). The browser's cookie holds a random token; only its
    keyed hash is stored. `user_id` is set once both factors are checked; `data` holds the CSRF
    token, one-time messages and the sign-in step in progress."""

    __tablename__ = "portal_sessions"
    __table_args__ = (Index("ix_portal_sessions_user_id_revoked_at", "user_id", "revoked_at"),)

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    user_id = Column(Integer, ForeignKey("people.id"))
    data = Column(JSON, nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    last_seen_at = Column(UTCDateTime, nullable=False)
    expires_at = Column(UTCDateTime, nullable=False, index=True)
    revoked_at = Column(UTCDateTime)


class MashContact(Base):
    """The MASH's named contact for one school, or for a locality (area) as the fallback."""

    __tablename__ = "mash_contacts"
    __table_args__ = (
        CheckConstraint(
            "(organisation_id IS NOT NULL) <> (area IS NOT NULL)", name="school_xor_area"
        ),
    )

    id = Column(Integer, primary_key=True)
    organisation_id = Column(Integer, ForeignKey("organisations.id"), unique=True)
    area = Column(String(100), unique=True)
    person_id = Column(Integer, ForeignKey("people.id"), nullable=False)
    note = Column(String(500))


class Escalation(Base):
    __tablename__ = "escalations"
    __table_args__ = (
        CheckConstraint(_in("urgency", URGENCIES), name="urgency"),
        CheckConstraint(_in("status", ESCALATION_STATUSES), name="status"),
        CheckConstraint(
            f"outcome_code IS NULL OR {_in('outcome_code', OUTCOME_CODES)}", name="outcome"
        ),
        CheckConstraint(LEVEL_CHECK.format("expected_level"), name="expected_level"),
        CheckConstraint(
            f"expected_source IS NULL OR {_in('expected_source', EXPECTED_SOURCES)}",
            name="expected_source",
        ),
        CheckConstraint(LEVEL_CHECK.format("decided_level"), name="decided_level"),
        CheckConstraint(
            f"decided_route IS NULL OR {_in('decided_route', DECIDED_ROUTES)}",
            name="decided_route",
        ),
        Index("ix_escalations_status_urgency_raised_at", "status", "urgency", "raised_at"),
        # Covering indexes for the weekly figures (mash/figures.py).
        Index("ix_escalations_week_start_urgency", "week_start", "urgency"),
        Index("ix_escalations_week_start_source_kind", "week_start", "source_kind"),
        Index("ix_escalations_week_start_ack_seconds", "week_start", "ack_seconds"),
        Index("ix_escalations_week_start_outcome_seconds", "week_start", "outcome_seconds"),
    )

    id = Column(Integer, primary_key=True)
    message_id = Column(String(200), nullable=False, unique=True)  # the idempotency key
    channel = Column(String(40), nullable=False)
    sender = Column(String(200), nullable=False)
    originator_user_id = Column(Integer, ForeignKey("people.id"), index=True)
    sender_verified = Column(Boolean, nullable=False)
    sender_role = Column(String(20))
    organisation_id = Column(Integer, ForeignKey("organisations.id"), index=True)
    source_kind = Column(String(20), nullable=False)  # organisation kind, or "unknown"
    urgency = Column(String(20), nullable=False)
    categories = Column(JSON, nullable=False)
    matched_phrases = Column(JSON)  # transcript-derived: purged with the excerpt
    excerpt = Column(Text)  # redacted; purged after the retention period
    excerpt_purged_at = Column(UTCDateTime)
    suggested_level = Column(Integer)
    level_reasons = Column(JSON, nullable=False)
    status = Column(String(30), nullable=False)
    raised_at = Column(UTCDateTime, nullable=False)
    week_start = Column(Date, nullable=False)
    acknowledged_at = Column(UTCDateTime)
    acknowledged_by = Column(Integer, ForeignKey("people.id"))
    picked_up_at = Column(UTCDateTime)
    picked_up_by = Column(Integer, ForeignKey("people.id"), index=True)
    outcome_code = Column(String(40))
    outcome_note = Column(Text)
    outcome_at = Column(UTCDateTime)
    outcome_by = Column(Integer, ForeignKey("people.id"))
    originator_informed_at = Column(UTCDateTime)
    renotified_at = Column(UTCDateTime)
    manager_notified_at = Column(UTCDateTime)
    ack_seconds = Column(Integer)
    outcome_seconds = Column(Integer)
    version = Column(Integer, nullable=False, default=1)
    # Further messages from the same person about the same child join the open escalation
    # (mash/followups.py): how many messages it holds, and when the latest came.
    message_count = Column(Integer, nullable=False, default=1, server_default="1")
    last_message_at = Column(UTCDateTime)
    # The level the practitioner expected (1-4, or None: no level, e.g. unplaced) and where it
    # came from (EXPECTED_SOURCES; None for escalations raised before it was recorded), and the
    # level and route the MASH decided with the outcome: the figures compare the two.
    expected_level = Column(Integer)
    expected_source = Column(String(10))
    decided_level = Column(Integer)
    decided_route = Column(String(40))


class EscalationMessage(Base):
    """A further message joined to an open escalation (mash/followups.py): the same person, the
    same child, within the window. Its message id is an idempotency key like an escalation's,
    so the relay raising the same message again finds it here. Excerpt and phrases are redacted
    and purged with the escalation's."""

    __tablename__ = "escalation_messages"

    id = Column(Integer, primary_key=True)
    escalation_id = Column(Integer, ForeignKey("escalations.id"), nullable=False, index=True)
    message_id = Column(String(200), nullable=False, unique=True)
    channel = Column(String(40), nullable=False)
    sender = Column(String(200), nullable=False)
    originator_user_id = Column(Integer, ForeignKey("people.id"))
    urgency = Column(String(20), nullable=False)
    categories = Column(JSON, nullable=False)
    matched_phrases = Column(JSON)
    excerpt = Column(Text)
    excerpt_purged_at = Column(UTCDateTime)
    received_at = Column(UTCDateTime, nullable=False)


class EscalationCategory(Base):
    """One row per (escalation, category), for the per-category weekly counts."""

    __tablename__ = "escalation_categories"
    __table_args__ = (
        Index("ix_escalation_categories_week_start_category", "week_start", "category"),
    )

    escalation_id = Column(Integer, ForeignKey("escalations.id"), primary_key=True)
    category = Column(String(60), primary_key=True)
    week_start = Column(Date, nullable=False)


class Consultation(Base):
    __tablename__ = "consultations"
    __table_args__ = (
        CheckConstraint(_in("status", CONSULTATION_STATUSES), name="status"),
        CheckConstraint(LEVEL_CHECK.format("expected_level"), name="expected_level"),
        CheckConstraint(
            f"expected_source IS NULL OR {_in('expected_source', EXPECTED_SOURCES)}",
            name="expected_source",
        ),
        Index("ix_consultations_status_requested_at", "status", "requested_at"),
    )

    id = Column(Integer, primary_key=True)
    message_id = Column(String(200), unique=True)
    channel = Column(String(40), nullable=False)
    sender = Column(String(200), nullable=False)
    originator_user_id = Column(Integer, ForeignKey("people.id"), index=True)
    sender_verified = Column(Boolean, nullable=False)
    sender_role = Column(String(20))
    organisation_id = Column(Integer, ForeignKey("organisations.id"), index=True)
    source_kind = Column(String(20), nullable=False)
    topic = Column(Text)  # purged with excerpts after the retention period
    callback_number = Column(String(40))  # purged likewise
    best_time = Column(String(200))
    details_purged_at = Column(UTCDateTime)
    status = Column(String(30), nullable=False)
    requested_at = Column(UTCDateTime, nullable=False)
    week_start = Column(Date, nullable=False, index=True)
    picked_up_at = Column(UTCDateTime)
    picked_up_by = Column(Integer, ForeignKey("people.id"))
    advice_note = Column(Text)
    closed_at = Column(UTCDateTime)
    closed_by = Column(Integer, ForeignKey("people.id"))
    originator_informed_at = Column(UTCDateTime)
    version = Column(Integer, nullable=False, default=1)
    # The level the practitioner expected and its source, as for an escalation.
    expected_level = Column(Integer)
    expected_source = Column(String(10))


class OutboxMessage(Base):
    """A notification waiting for (or done with) delivery. See mash/outbox.py."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered')", name="status"),
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id = Column(Integer, primary_key=True)
    idempotency_key = Column(String(200), nullable=False, unique=True)
    topic = Column(String(60), nullable=False)
    audience = Column(String(30), nullable=False)
    recipient = Column(JSON, nullable=False)
    subject_type = Column(String(30), nullable=False)
    subject_id = Column(Integer, nullable=False)
    payload = Column(JSON, nullable=False)
    status = Column(String(20), nullable=False, default="pending")
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(UTCDateTime, nullable=False)
    lease_owner = Column(String(100))
    lease_until = Column(UTCDateTime)
    last_error = Column(String(500))
    created_at = Column(UTCDateTime, nullable=False)
    delivered_at = Column(UTCDateTime)


TEXT_MAX = 1000  # a notification's text (Notification.text)


class Notification(Base):
    """A message to one person in the portal: their notifications page and the unread count in
    the navigation. Written only by the outbox's portal inbox (mash/notifications.py), one row
    per outbox message (`key` is its idempotency key, so a repeated delivery adds nothing).
    Holds what the outbox payload holds: a reference, a title and plain text, never case text.
    """

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_person_id_read_at", "person_id", "read_at"),)

    id = Column(Integer, primary_key=True)
    key = Column(String(200), nullable=False, unique=True)
    person_id = Column(Integer, ForeignKey("people.id"), nullable=False)
    topic = Column(String(60), nullable=False)
    subject_type = Column(String(30), nullable=False)
    subject_id = Column(Integer, nullable=False)
    reference = Column(String(20), nullable=False)
    title = Column(String(200), nullable=False)
    # 1000: an outcome's text may carry the guide's description of the level the MASH decided.
    text = Column(String(TEXT_MAX), nullable=False)
    outcome_label = Column(String(100))
    created_at = Column(UTCDateTime, nullable=False)
    read_at = Column(UTCDateTime)


class AuditEntry(Base):
    """Append-only: the code only inserts; database triggers refuse UPDATE and DELETE.

    Never holds excerpt or free text from a conversation, so purging keeps it whole.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject", "subject_type", "subject_id"),)

    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime, nullable=False)
    actor_user_id = Column(Integer)  # not a foreign key: the trail outlives anything it names
    actor_role = Column(String(20), nullable=False)
    actor_label = Column(String(200), nullable=False)
    action = Column(String(60), nullable=False)
    subject_type = Column(String(30), nullable=False)
    subject_id = Column(Integer)
    detail = Column(JSON, nullable=False)


class QuestionGap(Base):
    """A question the assistant answered without confidence: the partnership's gap list.

    Holds no one's identity: the question redacted (mash/redact.py) with names masked, the
    asker's role and when. A group (`topic`) is marked added to the guide with the section.
    """

    __tablename__ = "question_gaps"
    __table_args__ = (Index("ix_question_gaps_topic_added_section", "topic", "added_section"),)

    id = Column(Integer, primary_key=True)
    asked_at = Column(UTCDateTime, nullable=False)
    week_start = Column(Date, nullable=False, index=True)
    role = Column(String(20))
    text = Column(Text, nullable=False)
    topic = Column(String(120), nullable=False)
    added_section = Column(String(100))
    added_at = Column(UTCDateTime)
    added_by = Column(Integer, ForeignKey("people.id"))
