from datetime import timedelta

from sqlalchemy import select

from mash import audit, consultations, escalations, figures, retention
from mash.clock import utcnow
from mash.models import AuditEntry


def test_purge_blanks_old_text_and_keeps_counts_and_audit(
    factory, raise_esc, identity_of, actors, settings
):
    now = utcnow()
    old = raise_esc(now=now - timedelta(days=settings.transcript_retention_days + 1))
    new = raise_esc(now=now - timedelta(days=1))
    with factory() as s:
        old_c = consultations.request_consultation(
            session=s,
            identity=identity_of("gp"),
            topic="old topic",
            callback_number="0151 000 2222",
            now=now - timedelta(days=settings.transcript_retention_days + 5),
        )
        escalations.get_escalation(session=s, actor=actors["duty"], escalation_id=old.id)
        before_figures = figures.weekly_figures(session=s, actor=actors["manager"])
        before_audit = [(a.id, a.action, a.detail) for a in s.execute(select(AuditEntry)).scalars()]
        report = retention.purge(session=s, settings=settings, now=now)
        assert (report.escalations, report.consultations) == (1, 1)
        assert retention.purge(session=s, settings=settings, now=now).escalations == 0
        gone = escalations.get_escalation(session=s, actor=actors["duty"], escalation_id=old.id)
        assert (
            gone.excerpt is None
            and gone.matched_phrases is None
            and gone.excerpt_purged_at is not None
        )
        assert gone.categories == ["physical_abuse"] and gone.urgency == "immediate"
        kept = escalations.get_escalation(session=s, actor=actors["duty"], escalation_id=new.id)
        assert kept.excerpt and kept.matched_phrases == ["dad hit her"]
        c = consultations.get_consultation(
            session=s, actor=actors["duty"], consultation_id=old_c.id
        )
        assert c.topic is None and c.callback_number is None
        assert figures.weekly_figures(session=s, actor=actors["manager"]) == before_figures
        after_audit = [(a.id, a.action, a.detail) for a in s.execute(select(AuditEntry)).scalars()]
        assert after_audit[: len(before_audit)] == before_audit
        trail = audit.trail(
            session=s, actor=actors["manager"], subject_type="escalation", subject_id=old.id
        )
        assert [e.action for e in trail][:2] == ["escalation.raise", "escalation.read"]
