"""Notifications in the portal: the person who raised an item hears the MASH's outcome there.

When an outcome is recorded (or a consultation closed), `lifecycle.tell_originator` queues, in
the same transaction, an outbox message for the audience "originator_portal" besides the usual
"originator" one (Slack direct message, e-mail or log). The dispatcher delivers it to
`PortalInbox`, which writes one `notifications` row per outbox message: keyed by the message's
idempotency key, so a delivery repeated after a crash adds nothing (exactly once, retried like
every outbox message).

Reading: `unread(...)` is the cheap count the portal polls (one indexed COUNT and the newest
unread title; no audit row per poll, and no outcome in it); `list_notifications(...)` is the
notifications page (audited once per view, since it shows outcomes); `mark_read(...)` and
`mark_subject_read(...)` mark one's own notifications read. Nobody reads anyone else's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mash import audit
from mash.access import Actor
from mash.clock import utcnow
from mash.db import unit_of_work
from mash.errors import NotFound
from mash.models import TEXT_MAX, Notification, Person
from mash.outbox import Message, Target

AUDIENCE = "originator_portal"
LIST_MAX = 100
ITEM_PATHS = {"escalation": "/school/escalations/", "consultation": "/school/consultations/"}


@dataclass(frozen=True)
class NotificationView:
    id: int
    topic: str
    subject_type: str
    subject_id: int
    reference: str
    title: str
    text: str
    outcome_label: str | None
    created_at: datetime
    read_at: datetime | None

    @property
    def url(self) -> str:
        """The item's page in the portal (the practitioner's view, an audited read)."""
        return f"{ITEM_PATHS.get(self.subject_type, '/school#')}{self.subject_id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "created_at": self.created_at.isoformat(),
            "read_at": self.read_at.isoformat() if self.read_at else None,
            "url": self.url,
        }


@dataclass(frozen=True)
class Unread:
    """What the navigation shows: how many are unread, and the newest unread one's title."""

    count: int
    latest_id: int | None = None
    latest_title: str | None = None
    latest_subject_type: str | None = None
    latest_subject_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        latest = None
        if self.latest_id is not None:
            path = ITEM_PATHS.get(self.latest_subject_type or "", "/school#")
            latest = {
                "id": self.latest_id,
                "title": self.latest_title,
                "url": f"{path}{self.latest_subject_id}",
            }
        return {"unread": self.count, "latest": latest}


def _view(row: Notification) -> NotificationView:
    return NotificationView(
        id=row.id,
        topic=row.topic,
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        reference=row.reference,
        title=row.title,
        text=row.text,
        outcome_label=row.outcome_label,
        created_at=row.created_at,
        read_at=row.read_at,
    )


def _own(actor: Actor) -> int:
    """Only a person has notifications; anyone else (system, unverified) has none to read."""
    if actor.user_id is None:
        raise NotFound("There are no notifications for this sign-in.")
    return actor.user_id


class PortalInbox:
    """The outbox target for "originator_portal": one notification row per message, for the
    person the message names. Accepting a message twice is harmless (the key is unique)."""

    name = "portal"

    def __init__(self, factory: sessionmaker) -> None:
        self.factory = factory

    def deliver(self, message: Message) -> None:
        people = message.recipient.get("people") or []
        if not people:
            return  # nobody the directory knows: nothing to show in the portal
        payload = message.payload
        with self.factory() as session:
            if session.execute(
                select(Notification.id).where(Notification.key == message.idempotency_key)
            ).first():
                return
            person_id = int(people[0]["id"])
            if session.get(Person, person_id) is None:
                return  # removed from the directory since: nobody to tell
            session.add(
                Notification(
                    key=message.idempotency_key,
                    person_id=person_id,
                    topic=message.topic,
                    subject_type=message.subject_type,
                    subject_id=message.subject_id,
                    reference=str(payload.get("reference", ""))[:20],
                    title=str(payload.get("title", ""))[:200],
                    text=str(payload.get("text", ""))[:TEXT_MAX],
                    outcome_label=(str(payload["outcome_label"])[:100]
                                   if payload.get("outcome_label") else None),
                    created_at=utcnow(),
                )
            )
            try:
                session.commit()
            except IntegrityError:  # another dispatcher wrote it a moment ago
                session.rollback()


def with_inbox(targets: Mapping[str, Target], factory: sessionmaker) -> dict[str, Target]:
    """The dispatcher's audience map with the portal inbox for "originator_portal" (unless the
    map names a target for it already)."""
    routed = dict(targets)
    routed.setdefault(AUDIENCE, PortalInbox(factory))
    return routed


@unit_of_work
def unread(*, session: Session, actor: Actor) -> Unread:
    """The unread count and the newest unread title, for the navigation's poll. Not audited:
    it carries a reference at most, never an outcome, and runs every few seconds."""
    if actor.user_id is None:
        return Unread(count=0)
    mine = (Notification.person_id == actor.user_id, Notification.read_at.is_(None))
    count = session.execute(select(func.count()).where(*mine)).scalar_one()
    if not count:
        return Unread(count=0)
    latest = session.execute(
        select(
            Notification.id, Notification.title, Notification.subject_type,
            Notification.subject_id,
        )
        .where(*mine)
        .order_by(Notification.id.desc())
        .limit(1)
    ).one()
    return Unread(
        count=count,
        latest_id=latest.id,
        latest_title=latest.title,
        latest_subject_type=latest.subject_type,
        latest_subject_id=latest.subject_id,
    )


@unit_of_work
def list_notifications(
    *, session: Session, actor: Actor, limit: int = LIST_MAX
) -> list[NotificationView]:
    """One's own notifications, newest first. Audited (they carry outcomes)."""
    person_id = _own(actor)
    rows = session.execute(
        select(Notification)
        .where(Notification.person_id == person_id)
        .order_by(Notification.id.desc())
        .limit(max(1, min(limit, LIST_MAX)))
    ).scalars().all()
    audit.record(
        session,
        actor=actor,
        action="notification.list",
        subject_type="notification",
        subject_id=None,
        detail={"ids": [r.id for r in rows]},
    )
    return [_view(r) for r in rows]


@unit_of_work
def mark_read(
    *,
    session: Session,
    actor: Actor,
    notification_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """Mark one of one's own notifications read (NotFound for anyone else's or a missing one),
    or with `notification_id` None all of them. Returns how many changed."""
    person_id = _own(actor)
    query = update(Notification).where(
        Notification.person_id == person_id, Notification.read_at.is_(None)
    )
    if notification_id is not None:
        row = session.get(Notification, notification_id)
        if row is None or row.person_id != person_id:
            raise NotFound("That notification was not found.")
        query = query.where(Notification.id == notification_id)
    result = session.execute(
        query.values(read_at=now or utcnow()).execution_options(synchronize_session=False)
    )
    return result.rowcount


@unit_of_work
def mark_subject_read(
    *, session: Session, actor: Actor, subject_type: str, subject_id: int,
    now: datetime | None = None,
) -> int:
    """Mark one's notifications about an item read (they opened the item itself)."""
    if actor.user_id is None:
        return 0
    result = session.execute(
        update(Notification)
        .where(
            Notification.person_id == actor.user_id,
            Notification.subject_type == subject_type,
            Notification.subject_id == subject_id,
            Notification.read_at.is_(None),
        )
        .values(read_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
