"""Consultations: a practitioner asks for a duty social worker's advice, and hears back.

Lifecycle: queued -> picked_up -> closed (advice recorded) -> originator_informed.
Same rules as escalations: one transaction per call, audited, notifications via the outbox,
idempotent steps, races settled by conditional UPDATEs.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mash import levels, lifecycle
from mash.access import Actor, ChannelIdentity, item_filter
from mash.clock import utcnow, week_start
from mash.db import unit_of_work
from mash.directory import Sender, people_names, resolve_sender
from mash.errors import Conflict, Forbidden, InvalidInput
from mash.lifecycle import ItemKind, conditional_update, load_visible
from mash.models import CONSULTATION_STATUSES, Consultation
from mash.redact import redact

TOPIC_MAX = 2000
ADVICE_MAX = 4000
BEST_TIME_MAX = 200
_PHONE = re.compile(r"^\+?[\d\s()-]{6,30}(?:\s*(?:x|ext\.?)\s*\d{1,6})?$", re.IGNORECASE)


def reference(consultation_id: int) -> str:
    return f"C-{consultation_id:06d}"


CONSULTATION = ItemKind(model=Consultation, name="consultation", reference=reference)


@dataclass(frozen=True)
class ConsultationView:
    """A consultation. `topic`, `callback_number` and `advice` are None in lists (and the first
    two after the retention purge)."""

    id: int
    reference: str
    status: str
    channel: str
    sender_verified: bool
    originator_user_id: int | None
    organisation_id: int | None
    organisation_name: str | None
    source_kind: str
    best_time: str | None
    requested_at: datetime
    picked_up_at: datetime | None
    picked_up_by: int | None
    picked_up_by_name: str | None
    closed_at: datetime | None
    originator_informed_at: datetime | None
    topic: str | None = None
    callback_number: str | None = None
    advice: str | None = None
    # The start of the redacted topic, only in listings asked for it (with_topics).
    topic_preview: str | None = None
    # Who asked, from the directory (verified senders; full views only): name, role, phone.
    raised_by_name: str | None = None
    raised_by_role: str | None = None
    raised_by_phone: str | None = None
    # The level the practitioner expected and its source (mash/levels.py).
    expected_level: int | None = None
    expected_source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return lifecycle.view_dict(self)


def _view(
    c: Consultation, org_name: str | None, names: dict[int, str], *, full: bool,
    with_topic: bool = False,
) -> ConsultationView:
    return ConsultationView(
        id=c.id,
        reference=reference(c.id),
        status=c.status,
        channel=c.channel,
        sender_verified=bool(c.sender_verified),
        originator_user_id=c.originator_user_id,
        organisation_id=c.organisation_id,
        organisation_name=org_name,
        source_kind=c.source_kind,
        best_time=c.best_time,
        requested_at=c.requested_at,
        picked_up_at=c.picked_up_at,
        picked_up_by=c.picked_up_by,
        picked_up_by_name=names.get(c.picked_up_by),
        closed_at=c.closed_at,
        originator_informed_at=c.originator_informed_at,
        topic=c.topic if full else None,
        callback_number=c.callback_number if full else None,
        advice=c.advice_note if full else None,
        topic_preview=lifecycle.preview(c.topic) if with_topic else None,
        expected_level=c.expected_level,
        expected_source=c.expected_source,
    )


def _full(session: Session, c: Consultation) -> ConsultationView:
    org_name = lifecycle.organisation_name(session, c.organisation_id)
    view = _view(c, org_name, people_names(session, {c.picked_up_by}), full=True)
    raiser = lifecycle.raised_by(session, c)
    return replace(
        view,
        raised_by_name=raiser.name if raiser else None,
        raised_by_role=c.sender_role,
        raised_by_phone=raiser.phone if raiser else None,
    )


def _replay(
    session: Session, c: Consultation, identity: ChannelIdentity, sender: Sender, now: datetime
) -> Consultation:
    return lifecycle.replay(
        session, kind=CONSULTATION, item=c, identity=identity, sender=sender, now=now
    )


@unit_of_work
def request_consultation(
    *,
    session: Session,
    identity: ChannelIdentity,
    topic: str,
    callback_number: str,
    best_time: str = "",
    message_id: str | None = None,
    expected_level: int | None = None,
    expected_source: str | None = None,
    now: datetime | None = None,
) -> ConsultationView:
    """Queue a request for a social worker's advice and tell the duty desk. `topic` is redacted
    before it is stored (the callback number is kept in its own field). With `message_id`,
    the same sender repeating the request gets the one already queued (an audited replay); a
    message id another sender used is KeyInUse (a Conflict) and reveals nothing. Unknown
    senders are recorded as unverified. InvalidInput (nothing stored) for an empty or oversize
    topic, a callback number that is not a phone number, or an unknown organisation, and for
    an expected level that is not 1-4 or has no source (`expected_level`, `expected_source`:
    the level the practitioner expected, as for an escalation, mash/levels.py)."""
    expected_level, expected_source = levels.checked_expected(expected_level, expected_source)
    topic = lifecycle.checked_text(
        topic,
        field="topic",
        limit=TOPIC_MAX,
        if_empty="Say briefly what you would like advice about.",
    )
    callback_number = (callback_number or "").strip()
    if not _PHONE.match(callback_number) or sum(ch.isdigit() for ch in callback_number) < 6:
        raise InvalidInput(
            "The callback number does not look like a phone number.", field="callback_number"
        )
    best_time = (best_time or "").strip()
    if len(best_time) > BEST_TIME_MAX:
        raise InvalidInput(
            f"The best time to call is limited to {BEST_TIME_MAX} characters.", field="best_time"
        )
    sender = resolve_sender(session, identity)
    now = now or utcnow()
    if message_id is not None:
        message_id = message_id.strip()[:200] or None
        if message_id:
            existing = lifecycle.find_by_message_id(session, CONSULTATION, message_id)
            if existing is not None:
                return _full(session, _replay(session, existing, identity, sender, now))
    c = Consultation(
        message_id=message_id,
        **lifecycle.sender_columns(identity, sender),
        topic=redact(topic),
        callback_number=callback_number,
        best_time=best_time or None,
        expected_level=expected_level,
        expected_source=expected_source,
        status="queued",
        requested_at=now,
        week_start=week_start(now),
        version=1,
    )
    theirs = lifecycle.add_unless_raced(session, CONSULTATION, c, message_id)
    if theirs is not None:
        return _full(session, _replay(session, theirs, identity, sender, now))
    who = sender.organisation.name if sender.organisation else "an unverified sender"
    lifecycle.notify(
        session,
        kind=CONSULTATION,
        item=c,
        event="requested",
        audience="duty",
        new_subject=True,
        now=now,
        payload=lifecycle.payload(
            session,
            CONSULTATION,
            c,
            f"Consultation request {reference(c.id)}",
            f"{who} asks for a social worker's advice"
            + (f"; best time: {best_time}." if best_time else "."),
            best_time=best_time or None,
        ),
    )
    lifecycle.record(
        session,
        actor=sender.actor,
        kind=CONSULTATION,
        action="request",
        item_id=c.id,
        now=now,
        detail={"verified": sender.verified},
    )
    return _full(session, c)


@unit_of_work
def get_consultation(*, session: Session, actor: Actor, consultation_id: int) -> ConsultationView:
    """One consultation in full. The read is audited."""
    c = load_visible(session, actor, CONSULTATION, consultation_id)
    lifecycle.record(session, actor=actor, kind=CONSULTATION, action="read", item_id=c.id)
    return _full(session, c)


@unit_of_work
def open_form(
    *, session: Session, actor: Actor, consultation_id: int, form: str, channel: str
) -> str:
    """The consultation's reference for a MASH worker opening `form` in `channel`: no case
    text is read; audited as consultation.form_opened, not as a read."""
    return lifecycle.open_form(
        session, actor, CONSULTATION, consultation_id, form=form, channel=channel
    )


@unit_of_work
def list_consultations(
    *,
    session: Session,
    actor: Actor,
    status: str | None = None,
    open_only: bool = False,
    limit: int = 50,
    offset: int = 0,
    with_topics: bool = False,
    already_audited: Collection[int] | None = None,
) -> list[ConsultationView]:
    """The consultations `actor` may see (without topic, number or advice). Audited.
    `with_topics`: each carries the start of its redacted topic (`topic_preview`)."""
    if status is not None and status not in CONSULTATION_STATUSES:
        raise InvalidInput(
            f"Status must be one of {', '.join(CONSULTATION_STATUSES)}.", field="status"
        )
    query = select(Consultation).where(item_filter(actor, Consultation))
    if status:
        query = query.where(Consultation.status == status)
    if open_only:
        query = query.where(Consultation.status.in_(("queued", "picked_up"))).order_by(
            Consultation.requested_at
        )
    else:
        query = query.order_by(Consultation.requested_at.desc(), Consultation.id.desc())
    query = query.limit(max(1, min(limit, 500))).offset(max(0, offset))
    rows = lifecycle.audited_listing(
        session, actor, CONSULTATION, query, with_text=with_topics,
        already_audited=already_audited,
    )
    orgs = lifecycle.organisation_names(session, rows)
    names = people_names(session, {r.picked_up_by for r in rows})
    return [
        _view(r, orgs.get(r.organisation_id), names, full=False, with_topic=with_topics)
        for r in rows
    ]


@unit_of_work
def pick_up_consultation(
    *, session: Session, actor: Actor, consultation_id: int, now: datetime | None = None
) -> ConsultationView:
    """Take a queued consultation. Exactly one of several workers wins; others get Conflict."""
    lifecycle.require_mash(actor, "pick up a consultation")
    c = load_visible(session, actor, CONSULTATION, consultation_id)
    now = now or utcnow()
    if not conditional_update(
        session,
        CONSULTATION,
        c.id,
        [Consultation.status == "queued"],
        {"status": "picked_up", "picked_up_at": now, "picked_up_by": actor.user_id},
    ):
        session.refresh(c)
        if c.picked_up_by == actor.user_id:
            return _full(session, c)
        holder = lifecycle.holder_name(session, c.picked_up_by)
        raise Conflict(f"Consultation {reference(c.id)} has already been picked up by {holder}.")
    session.refresh(c)
    lifecycle.record(
        session, actor=actor, kind=CONSULTATION, action="pick_up", item_id=c.id, now=now
    )
    lifecycle.announce_step(
        session, kind=CONSULTATION, item=c, step="picked up", actor=actor, now=now
    )
    return _full(session, c)


@unit_of_work
def close_consultation(
    *,
    session: Session,
    actor: Actor,
    consultation_id: int,
    advice: str,
    now: datetime | None = None,
) -> ConsultationView:
    """Record the advice given (at most ADVICE_MAX characters) and close the consultation; the
    practitioner is told through the outbox (the advice text itself stays in the record).
    The worker holding it or a MASH manager may close it. Repeating with the same advice
    changes nothing; different advice on a closed consultation is a Conflict."""
    lifecycle.require_mash(actor, "close a consultation")
    advice = lifecycle.checked_text(
        advice, field="advice", limit=ADVICE_MAX, if_empty="Record the advice given before closing."
    )
    c = load_visible(session, actor, CONSULTATION, consultation_id)
    if c.status in ("closed", "originator_informed"):
        if c.advice_note == advice:
            return _full(session, c)
        raise Conflict(f"Consultation {reference(c.id)} is already closed.")
    if c.status != "picked_up":
        raise Conflict(f"Consultation {reference(c.id)} must be picked up before it is closed.")
    if not lifecycle.may_act(actor, c):
        raise Forbidden("Only the worker holding this consultation or a MASH manager can close it.")
    now = now or utcnow()
    if not conditional_update(
        session,
        CONSULTATION,
        c.id,
        [Consultation.version == c.version],
        {"status": "closed", "advice_note": advice, "closed_at": now, "closed_by": actor.user_id},
    ):
        raise lifecycle.changed_just_now(CONSULTATION, c.id)
    session.refresh(c)
    lifecycle.tell_originator(
        session,
        kind=CONSULTATION,
        item=c,
        event="closed",
        now=now,
        payload=lifecycle.payload(
            session,
            CONSULTATION,
            c,
            f"Advice on your consultation {reference(c.id)}",
            "A MASH social worker has recorded advice on your consultation request.",
        ),
    )
    lifecycle.record(session, actor=actor, kind=CONSULTATION, action="close", item_id=c.id, now=now)
    return _full(session, c)


def on_delivered(
    session: Session, *, topic: str, subject_id: int, now: datetime, audience: str = "originator"
) -> None:
    """Dispatcher hook, inside its transaction: a delivered 'closed' message closes the loop."""
    lifecycle.close_loop_on_delivery(
        session, kind=CONSULTATION, topic=topic, wanted_topic="consultation.closed",
        from_status="closed", subject_id=subject_id, audience=audience, now=now,
    )
