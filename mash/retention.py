"""Retention: conversation text is kept only as long as triage and follow-up need it.

`purge` blanks escalation excerpts and matched phrases (further messages' too), consultation
topics and callback numbers, and the gap list's question texts, older than
`settings.transcript_retention_days`. The items themselves (status, urgency, categories, times,
outcome codes) stay, so the figures do not change, and the audit trail holds no conversation
text, so it stays whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import null, update
from sqlalchemy.orm import Session

from mash import audit
from mash.access import Actor
from mash.clock import utcnow
from mash.db import unit_of_work
from mash.models import Consultation, Escalation, EscalationMessage, QuestionGap
from settings import Settings


@dataclass(frozen=True)
class PurgeReport:
    cutoff: datetime
    escalations: int
    consultations: int
    questions: int = 0  # the gap list's texts (the rows stay: the weekly figures count them)


@unit_of_work
def purge(
    *, session: Session, settings: Settings, now: datetime | None = None, actor: Actor | None = None
) -> PurgeReport:
    """Blank the conversation text of items raised before now - retention days. Idempotent."""
    now = now or utcnow()
    cutoff = now - timedelta(days=settings.transcript_retention_days)
    escalations = session.execute(
        update(Escalation)
        .where(Escalation.raised_at < cutoff, Escalation.excerpt_purged_at.is_(None))
        .values(excerpt=None, matched_phrases=null(), excerpt_purged_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    # Further messages joined to an escalation (mash/followups.py) are conversation text too.
    session.execute(
        update(EscalationMessage)
        .where(
            EscalationMessage.received_at < cutoff, EscalationMessage.excerpt_purged_at.is_(None)
        )
        .values(excerpt=None, matched_phrases=null(), excerpt_purged_at=now)
        .execution_options(synchronize_session=False)
    )
    consultations = session.execute(
        update(Consultation)
        .where(Consultation.requested_at < cutoff, Consultation.details_purged_at.is_(None))
        .values(topic=None, callback_number=None, details_purged_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    questions = session.execute(
        update(QuestionGap)
        .where(QuestionGap.asked_at < cutoff, QuestionGap.text != "")
        .values(text="")
        .execution_options(synchronize_session=False)
    ).rowcount
    audit.record(
        session,
        actor=actor or Actor.system("retention"),
        action="retention.purge",
        subject_type="retention",
        subject_id=None,
        now=now,
        detail={
            "cutoff": cutoff.isoformat(),
            "escalations": escalations,
            "consultations": consultations,
            "questions": questions,
        },
    )
    return PurgeReport(cutoff=cutoff, escalations=escalations, consultations=consultations,
                       questions=questions)
