import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from mash import audit, consultations, escalations
from mash.access import Actor
from mash.errors import Forbidden, NotFound
from mash.models import AuditEntry


def test_reads_and_changes_are_audited_without_text(factory, raise_esc, actors):
    esc = raise_esc(text="very private words")
    with factory() as s:
        escalations.get_escalation(session=s, actor=actors["oakfield_dsl"], escalation_id=esc.id)
        escalations.pick_up(session=s, actor=actors["duty"], escalation_id=esc.id)
        escalations.list_escalations(session=s, actor=actors["manager"])
        trail = audit.trail(
            session=s, actor=actors["manager"], subject_type="escalation", subject_id=esc.id
        )
    assert [(e.action, e.actor_label) for e in trail] == [
        ("escalation.raise", "Dana Price"),
        ("escalation.read", "Dana Price"),
        ("escalation.pick_up", "Sam Okafor"),
    ]
    with factory() as s:
        listing = s.execute(
            select(AuditEntry).where(AuditEntry.action == "escalation.list")
        ).scalar_one()
        assert listing.detail == {"ids": [esc.id]} and listing.actor_role == "mash_manager"
        dump = " ".join(
            str((r.detail, r.actor_label)) for r in s.execute(select(AuditEntry)).scalars()
        )
    assert "private" not in dump


def test_consultation_reads_are_audited(factory, identity_of, actors):
    with factory() as s:
        c = consultations.request_consultation(
            session=s, identity=identity_of("gp"), topic="t", callback_number="0151 000 9999"
        )
        consultations.get_consultation(session=s, actor=actors["duty"], consultation_id=c.id)
        trail = audit.trail(
            session=s, actor=actors["manager"], subject_type="consultation", subject_id=c.id
        )
    assert [e.action for e in trail] == ["consultation.request", "consultation.read"]


def test_opening_a_form_is_audited_as_such_not_as_a_read(factory, raise_esc, identity_of, actors):
    """Security re-review R7-2: a MASH worker opening the record-outcome or reassign form (no
    code needed, no case text shown) must not write the `*.read` row that means case text was
    shown. Only MASH staff open these forms."""
    esc = raise_esc(text="very private words")
    with factory() as s:
        c = consultations.request_consultation(
            session=s, identity=identity_of("gp"), topic="t", callback_number="0151 000 9999"
        )
        assert escalations.open_form(session=s, actor=actors["duty"], escalation_id=esc.id,
                                     form="reassign", channel="slack") == esc.reference
        assert consultations.open_form(session=s, actor=actors["duty"], consultation_id=c.id,
                                       form="record_outcome", channel="slack") == c.reference
        with pytest.raises(Forbidden):
            escalations.open_form(session=s, actor=actors["oakfield_dsl"], escalation_id=esc.id,
                                  form="reassign", channel="slack")
        with pytest.raises(NotFound):
            escalations.open_form(session=s, actor=actors["duty"], escalation_id=esc.id + 99,
                                  form="reassign", channel="slack")
        trails = [
            audit.trail(session=s, actor=actors["manager"], subject_type=kind, subject_id=item)
            for kind, item in (("escalation", esc.id), ("consultation", c.id))
        ]
    assert [(e.action, e.actor_label, e.detail) for e in trails[0]][1:] == [
        ("escalation.form_opened", "Sam Okafor", {"channel": "slack", "form": "reassign"})]
    assert [(e.action, e.detail) for e in trails[1]][1:] == [
        ("consultation.form_opened", {"channel": "slack", "form": "record_outcome"})]


def test_audit_detail_refuses_text_fields(session):
    with pytest.raises(ValueError, match="text fields"):
        audit.record(
            session,
            actor=Actor.system(),
            action="x",
            subject_type="escalation",
            subject_id=1,
            detail={"excerpt": "words"},
        )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET action = 'tampered'",
        "UPDATE audit_log SET detail = '{}' WHERE id = (SELECT min(id) FROM audit_log)",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE id = (SELECT min(id) FROM audit_log)",
    ],
)
def test_database_refuses_to_change_audit_rows(engine, raise_esc, statement):
    raise_esc()
    with engine.connect() as conn:
        before = conn.execute(text("SELECT id, action FROM audit_log ORDER BY id")).all()
    assert before
    with engine.connect() as conn, pytest.raises(DatabaseError, match="append-only"):
        conn.execute(text(statement))
        conn.commit()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, action FROM audit_log ORDER BY id")).all() == before


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgres_refuses_truncate_too(engine, raise_esc):
    raise_esc()
    with engine.connect() as conn, pytest.raises(DatabaseError, match="append-only"):
        conn.execute(text("TRUNCATE audit_log"))
