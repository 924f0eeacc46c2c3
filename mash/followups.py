"""Follow-ups, not duplicates: a further disclosure joins the sender's open escalation.

Re-asking about the same child in other words must not put a second immediate item in the
MASH's queue. A new message joins an escalation only when all of these hold (otherwise it is
raised as its own escalation, so the worst a wrong "no" costs is a duplicate):

- the same originator: the same channel address and the same resolved person (or both
  unverified), and the same organisation, so items never merge across organisations;
- the escalation is still open (raised, acknowledged or picked up) and at least as urgent;
- its latest message came within `settings.follow_up_window_minutes` (2 hours);
- the child's details (mash.child_details: ages, initials) do not disagree. When they agree on
  at least one, the long window applies; when either message gives none to compare, only the
  short window (`follow_up_short_window_minutes`, 30 minutes) does.

The caller (mash.escalations.raise_escalation) stores the message as a further excerpt, counts
it, re-alerts the duty desk on the same item and audits it; the user is told which reference
the message joined. Nothing of the new message is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mash.access import ChannelIdentity
from mash.child_details import compare, read_all, read_child_details
from mash.directory import Sender
from mash.models import Escalation, EscalationMessage
from settings import Settings

OPEN_STATUSES = ("raised", "acknowledged", "picked_up")
URGENCY_RANK = {"concern": 1, "immediate": 2}
MAX_CANDIDATES = 20  # one person's open escalations in the window: a handful at most
# The child's details are read from the first message and this many of the latest further ones
# (so a long run of messages does not make each new one slower).
DETAIL_MESSAGES = 20


def find_by_message_id(session: Session, message_id: str) -> EscalationMessage | None:
    return session.execute(
        select(EscalationMessage).where(EscalationMessage.message_id == message_id)
    ).scalar_one_or_none()


def further_messages(session: Session, escalation_id: int) -> list[EscalationMessage]:
    """The messages joined to an escalation after its first, oldest first."""
    return list(
        session.execute(
            select(EscalationMessage)
            .where(EscalationMessage.escalation_id == escalation_id)
            .order_by(EscalationMessage.received_at, EscalationMessage.id)
        ).scalars()
    )


def recent_excerpts(session: Session, escalation_id: int, limit: int) -> list[str | None]:
    """The excerpts of an escalation's latest `limit` further messages."""
    return list(
        session.execute(
            select(EscalationMessage.excerpt)
            .where(EscalationMessage.escalation_id == escalation_id)
            .order_by(EscalationMessage.received_at.desc(), EscalationMessage.id.desc())
            .limit(limit)
        ).scalars()
    )


def latest_excerpts(session: Session, escalation_ids: Sequence[int]) -> dict[int, str | None]:
    """Escalation id -> the excerpt of its latest further message, for a listing's rows."""
    if not escalation_ids:
        return {}
    rows = session.execute(
        select(EscalationMessage.escalation_id, EscalationMessage.excerpt)
        .where(EscalationMessage.escalation_id.in_(escalation_ids))
        .order_by(EscalationMessage.received_at, EscalationMessage.id)
    ).all()
    return {escalation_id: excerpt for escalation_id, excerpt in rows}  # the last one wins


def open_match(
    session: Session,
    *,
    identity: ChannelIdentity,
    sender: Sender,
    urgency: str,
    excerpt: str,
    now: datetime,
    settings: Settings,
) -> Escalation | None:
    """The open escalation this message (already redacted) should join, or None."""
    long_window = timedelta(minutes=settings.follow_up_window_minutes)
    short_window = timedelta(minutes=settings.follow_up_short_window_minutes)
    if long_window <= timedelta(0):
        return None
    person_id = sender.person.id if sender.person else None
    org_id = sender.organisation.id if sender.organisation else None
    at_least = [u for u, rank in URGENCY_RANK.items() if rank >= URGENCY_RANK[urgency]]
    candidates = session.execute(
        select(Escalation)
        .where(
            Escalation.channel == identity.channel[:40],
            Escalation.sender == identity.sender[:200],
            Escalation.originator_user_id.is_(None)
            if person_id is None
            else Escalation.originator_user_id == person_id,
            Escalation.organisation_id.is_(None)
            if org_id is None
            else Escalation.organisation_id == org_id,
            Escalation.sender_verified.is_(bool(sender.verified)),
            Escalation.status.in_(OPEN_STATUSES),
            Escalation.urgency.in_(at_least),
            Escalation.last_message_at >= now - long_window,
            # a message joins what came before it, never an escalation raised after it
            Escalation.last_message_at <= now,
        )
        .order_by(Escalation.last_message_at.desc(), Escalation.id.desc())
        .limit(MAX_CANDIDATES)
    ).scalars()
    details = read_child_details(excerpt)
    for escalation in candidates:
        texts = [escalation.excerpt]
        if (escalation.message_count or 1) > 1:
            texts += recent_excerpts(session, escalation.id, DETAIL_MESSAGES)
        verdict = compare(details, read_all(texts))
        if verdict == "same":
            return escalation
        if verdict == "unknown" and escalation.last_message_at >= now - short_window:
            return escalation
    return None


def add_message(session: Session, message: EscalationMessage) -> EscalationMessage | None:
    """Insert a further message. If another transaction stored the same message id first (the
    relay and the action raise each message), roll back and return theirs; None when ours went
    in."""
    session.add(message)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        theirs = find_by_message_id(session, message.message_id)
        if theirs is None:
            raise
        return theirs
    return None
