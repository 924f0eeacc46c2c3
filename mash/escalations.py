"""Escalations: what the assistant raises when a message carries risk, and the MASH's handling.

Lifecycle: raised -> acknowledged -> picked_up -> outcome_recorded -> originator_informed.
Every public function is one transaction on the session it is given (see `db.unit_of_work`):
the change, its audit entry and its outbox messages commit together, or nothing changes.
Every step is idempotent: repeating it returns the current state without a second change or
a second notification. Races are settled by conditional UPDATEs checked by rowcount.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mash import followups, levels, lifecycle, outbox
from mash.access import Actor, ChannelIdentity, item_filter
from mash.clock import utcnow, week_start
from mash.db import unit_of_work
from mash.directory import (
    Sender,
    people_by_ids,
    people_by_role,
    people_names,
    resolve_sender,
)
from mash.errors import Conflict, Forbidden, InvalidInput, KeyInUse
from mash.lifecycle import ItemKind, conditional_update, load_visible, require_mash
from mash.models import (
    ESCALATION_STATUSES,
    OUTCOME_CODES,
    URGENCIES,
    Escalation,
    EscalationCategory,
    EscalationMessage,
    Person,
)
from mash.redact import redact
from settings import Settings

log = logging.getLogger(__name__)

EXCERPT_MAX = 2000  # characters kept after redaction: what triage needs, no more
NOTE_MAX = 4000
MAX_CATEGORIES = 40  # above what a pack defines (tested): a cut is the last resort
MAX_PHRASES = 50
OUTCOME_LABELS = {
    "advice_given": "Advice given",
    "no_further_action": "No further action",
    "early_help_taf": "Early help / Team Around the Family",
    "child_in_need_assessment": "Child in need assessment",
    "strategy_discussion_s47": "Strategy discussion / section 47 enquiry",
    "passed_to_police": "Passed to the police",
    "already_open": "Already open to a social worker",
    "other": "Other",
}
OPEN_STATUSES = followups.OPEN_STATUSES


def reference(escalation_id: int) -> str:
    return f"E-{escalation_id:06d}"


ESCALATION = ItemKind(model=Escalation, name="escalation", reference=reference)


@dataclass(frozen=True)
class EscalationSummary:
    """One escalation as a queue or a my-school list shows it (no conversation text)."""

    id: int
    reference: str
    status: str
    urgency: str
    categories: list[str]
    channel: str
    sender_verified: bool
    originator_user_id: int | None
    organisation_id: int | None
    organisation_name: str | None
    source_kind: str
    suggested_level: int | None
    raised_at: datetime
    acknowledged_at: datetime | None
    picked_up_at: datetime | None
    picked_up_by: int | None
    picked_up_by_name: str | None
    outcome_code: str | None
    outcome_label: str | None
    outcome_at: datetime | None
    originator_informed_at: datetime | None
    # Expected against decided (mash/levels.py): the level the practitioner expected and its
    # source, and the level and route the MASH decided with the outcome.
    expected_level: int | None = None
    expected_source: str | None = None
    decided_level: int | None = None
    decided_route: str | None = None
    # The start of the redacted excerpt, only in listings asked for it (with_excerpts).
    excerpt_preview: str | None = None
    # Messages the escalation holds (further ones joined it: mash/followups.py), the latest's
    # time and, in listings with excerpts, the start of the latest one.
    message_count: int = 1
    last_message_at: datetime | None = None
    latest_preview: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return lifecycle.view_dict(self)


@dataclass(frozen=True)
class EscalationView(EscalationSummary):
    """One escalation in full, as `get_escalation` returns it (an audited read)."""

    message_id: str = ""
    sender: str = ""
    sender_role: str | None = None
    matched_phrases: list[str] | None = None
    excerpt: str | None = None
    excerpt_purged_at: datetime | None = None
    level_reasons: list[str] = field(default_factory=list)
    acknowledged_by: int | None = None
    outcome_note: str | None = None
    outcome_by: int | None = None
    renotified_at: datetime | None = None
    manager_notified_at: datetime | None = None
    # Who raised it, from the directory (verified senders only): for the MASH to ring back.
    raised_by_name: str | None = None
    raised_by_phone: str | None = None
    # The further messages joined to it, oldest first: {received_at, urgency, categories,
    # excerpt} (redacted; excerpt None once purged).
    further_messages: list[dict[str, Any]] = field(default_factory=list)
    # True when the message this call raised joined the escalation as a further message
    # (raise_escalation, and its replays): the user is told the reference it joined.
    joined: bool = False


def _summary_fields(e: Escalation, org_name: str | None, names: dict[int, str]) -> dict[str, Any]:
    return dict(
        id=e.id,
        reference=reference(e.id),
        status=e.status,
        urgency=e.urgency,
        categories=list(e.categories or []),
        channel=e.channel,
        sender_verified=bool(e.sender_verified),
        originator_user_id=e.originator_user_id,
        organisation_id=e.organisation_id,
        organisation_name=org_name,
        source_kind=e.source_kind,
        suggested_level=e.suggested_level,
        raised_at=e.raised_at,
        acknowledged_at=e.acknowledged_at,
        picked_up_at=e.picked_up_at,
        picked_up_by=e.picked_up_by,
        picked_up_by_name=names.get(e.picked_up_by),
        outcome_code=e.outcome_code,
        outcome_label=OUTCOME_LABELS.get(e.outcome_code or ""),
        outcome_at=e.outcome_at,
        originator_informed_at=e.originator_informed_at,
        expected_level=e.expected_level,
        expected_source=e.expected_source,
        decided_level=e.decided_level,
        decided_route=e.decided_route,
        message_count=e.message_count or 1,
        last_message_at=e.last_message_at or e.raised_at,
    )


def _further(m: EscalationMessage) -> dict[str, Any]:
    return {
        "received_at": m.received_at.isoformat(),
        "urgency": m.urgency,
        "categories": list(m.categories or []),
        "excerpt": m.excerpt,
    }


def _view(session: Session, e: Escalation, *, joined: bool = False) -> EscalationView:
    org_name = lifecycle.organisation_name(session, e.organisation_id)
    names = people_names(session, {e.picked_up_by})
    raiser = lifecycle.raised_by(session, e)
    return EscalationView(
        **_summary_fields(e, org_name, names),
        message_id=e.message_id,
        sender=e.sender,
        sender_role=e.sender_role,
        matched_phrases=None if e.matched_phrases is None else list(e.matched_phrases),
        excerpt=e.excerpt,
        excerpt_purged_at=e.excerpt_purged_at,
        level_reasons=list(e.level_reasons or []),
        acknowledged_by=e.acknowledged_by,
        outcome_note=e.outcome_note,
        outcome_by=e.outcome_by,
        renotified_at=e.renotified_at,
        manager_notified_at=e.manager_notified_at,
        raised_by_name=raiser.name if raiser else None,
        raised_by_phone=raiser.phone if raiser else None,
        further_messages=(
            [_further(m) for m in followups.further_messages(session, e.id)]
            if (e.message_count or 1) > 1
            else []
        ),
        joined=joined,
    )


def _clean_strings(values: Sequence[str], *, name: str, limit: int, each: int,
                   cut: bool = False) -> list[str]:
    """Stripped, each cut to `each` characters, blanks and repeats dropped. More than `limit`
    is refused, or with `cut` the first `limit` are kept: an escalation is never refused for
    the length of its supporting lists (a pasted chronology matches many phrases)."""
    if isinstance(values, str) or not all(isinstance(v, str) for v in values):
        raise InvalidInput(f"{name} must be a list of text values.", field=name)
    cleaned = list(dict.fromkeys(v.strip()[:each] for v in values if v and v.strip()))
    if len(cleaned) > limit:
        if not cut:
            raise InvalidInput(f"At most {limit} {name} may be given.", field=name)
        log.info("escalation %s cut from %d to %d", name, len(cleaned), limit)
        cleaned = cleaned[:limit]
    return cleaned


def _payload(
    session: Session, e: Escalation, title: str, text: str, **extra: Any
) -> dict[str, Any]:
    return lifecycle.payload(
        session,
        ESCALATION,
        e,
        title,
        text,
        urgency=e.urgency,
        categories=list(e.categories or []),
        **extra,
    )


@unit_of_work
def raise_escalation(
    *,
    session: Session,
    identity: ChannelIdentity,
    message_id: str,
    urgency: str,
    categories: Sequence[str],
    text: str,
    matched_phrases: Sequence[str] = (),
    suggested_level: int | None = None,
    level_reasons: Sequence[str] = (),
    expected_level: int | None = None,
    expected_source: str | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> EscalationView:
    """Raise an escalation for the message `message_id`, or return the one this sender already
    raised for it (an audited replay). The key belongs to its sender: one another sender used is
    KeyInUse (a Conflict) and reveals nothing.

    A further message from the same person about what reads as the same child, while their
    escalation is open and within the window (mash/followups.py; `settings` gives the windows,
    the defaults when None), joins that escalation instead: stored as a further excerpt, counted,
    audited (escalation.follow_up) and re-alerted to the duty desk on the same item. The view
    returned is that escalation's, with `joined` True, so the user is told its reference.

    `identity` is the channel's word for the sender (ChannelIdentity.from_metadata). A sender the
    directory does not know is still escalated, recorded as unverified (visible to the MASH and
    not to the claimed organisation's staff). `text` is redacted (redact()) and cut to
    EXCERPT_MAX characters before it is stored. The duty desk is notified through the outbox in
    the same transaction. `expected_level` and `expected_source` record the level the
    practitioner expected (mash/levels.py: the conversation's threshold check, the engine's
    suggestion for `text`, or their choice; a None level with a source is "no level").
    Raises InvalidInput (nothing stored) for an unknown organisation id, an urgency outside
    URGENCIES, an empty message id, a level outside 1-4 or an expected level with no source.
    """
    message_id = (message_id or "").strip()
    if not message_id or len(message_id) > 200:
        raise InvalidInput(
            "An escalation needs the id (1-200 characters) of the message it came from.",
            field="message_id",
        )
    if urgency not in URGENCIES:
        raise InvalidInput(f"Urgency must be one of {', '.join(URGENCIES)}.", field="urgency")
    if suggested_level is not None and suggested_level not in (1, 2, 3, 4):
        raise InvalidInput("The suggested level must be 1, 2, 3 or 4.", field="suggested_level")
    expected_level, expected_source = levels.checked_expected(expected_level, expected_source)
    cats = sorted(_clean_strings(categories, name="categories", limit=MAX_CATEGORIES, each=60,
                                 cut=True))
    phrases = [
        redact(p)
        for p in _clean_strings(
            matched_phrases, name="matched_phrases", limit=MAX_PHRASES, each=200, cut=True
        )
    ]
    reasons = _clean_strings(level_reasons, name="level_reasons", limit=20, each=500)
    if not isinstance(text, str):
        raise InvalidInput("The excerpt must be text.", field="text")

    sender = resolve_sender(session, identity)
    now = now or utcnow()
    existing = lifecycle.find_by_message_id(session, ESCALATION, message_id)
    if existing is not None:
        return _view(session, _replay(session, existing, identity, sender, now))
    joined = followups.find_by_message_id(session, message_id)
    if joined is not None:
        return _replay_follow_up(session, joined, identity, sender, now)
    excerpt = redact(text)[:EXCERPT_MAX]
    target = followups.open_match(
        session, identity=identity, sender=sender, urgency=urgency, excerpt=excerpt, now=now,
        settings=settings or Settings(),
    )
    if target is not None and target.message_id == message_id:
        # The same message, raised by another transaction that committed after our look-up
        # above: a replay of it, never a further message joined to itself.
        return _view(session, _replay(session, target, identity, sender, now))
    if target is not None:
        view = _join(session, target, identity=identity, sender=sender, message_id=message_id,
                     urgency=urgency, categories=cats, phrases=phrases, excerpt=excerpt, now=now)
        if view is not None:
            return view

    e = Escalation(
        message_id=message_id,
        **lifecycle.sender_columns(identity, sender),
        urgency=urgency,
        categories=cats,
        matched_phrases=phrases,
        excerpt=excerpt,
        suggested_level=suggested_level,
        level_reasons=reasons,
        expected_level=expected_level,
        expected_source=expected_source,
        status="raised",
        raised_at=now,
        last_message_at=now,
        message_count=1,
        week_start=week_start(now),
        version=1,
    )
    # Raised concurrently for the same message by another transaction: theirs stands.
    theirs = lifecycle.add_unless_raced(session, ESCALATION, e, message_id)
    if theirs is not None:
        return _view(session, _replay(session, theirs, identity, sender, now))
    session.add_all(
        EscalationCategory(escalation_id=e.id, category=c, week_start=e.week_start) for c in cats
    )
    who = sender.organisation.name if sender.organisation else "an unverified sender"
    lifecycle.notify(
        session,
        kind=ESCALATION,
        item=e,
        event="raised",
        audience="duty",
        new_subject=True,
        now=now,
        payload=_payload(
            session,
            e,
            f"{urgency.upper()} escalation {reference(e.id)}",
            f"New {urgency} escalation from {who}: {', '.join(cats) or 'no category'}.",
        ),
    )
    lifecycle.record(
        session,
        actor=sender.actor,
        kind=ESCALATION,
        action="raise",
        item_id=e.id,
        now=now,
        detail={"urgency": urgency, "verified": sender.verified},
    )
    return _view(session, e)


def _join(
    session: Session,
    e: Escalation,
    *,
    identity: ChannelIdentity,
    sender: Sender,
    message_id: str,
    urgency: str,
    categories: list[str],
    phrases: list[str],
    excerpt: str,
    now: datetime,
) -> EscalationView | None:
    """Attach the message to the open escalation `e`; None if `e` changed meanwhile."""
    new_categories = [c for c in categories if c not in (e.categories or [])]
    merged_phrases = list(dict.fromkeys([*(e.matched_phrases or []), *phrases]))[:MAX_PHRASES]
    count = (e.message_count or 1) + 1
    if not conditional_update(
        session,
        ESCALATION,
        e.id,
        [Escalation.version == e.version, Escalation.status.in_(OPEN_STATUSES)],
        {
            "message_count": count,
            "last_message_at": now,
            "categories": sorted([*(e.categories or []), *new_categories]),
            "matched_phrases": merged_phrases,
        },
    ):
        # Changed just now. By the same message joining from another transaction (the relay
        # and the action raise each message): theirs stands. Otherwise (picked up, closed, a
        # different message) this one is raised on its own: a duplicate at worst, never lost.
        theirs = followups.find_by_message_id(session, message_id)
        if theirs is not None:
            return _replay_follow_up(session, theirs, identity, sender, now)
        return None
    theirs = followups.add_message(
        session,
        EscalationMessage(
            escalation_id=e.id,
            message_id=message_id,
            channel=identity.channel[:40],
            sender=identity.sender[:200],
            originator_user_id=sender.person.id if sender.person else None,
            urgency=urgency,
            categories=categories,
            matched_phrases=phrases,
            excerpt=excerpt,
            received_at=now,
        ),
    )
    if theirs is not None:  # raised concurrently for the same message: theirs stands
        return _replay_follow_up(session, theirs, identity, sender, now)
    e = _refresh(session, e)
    session.add_all(
        EscalationCategory(escalation_id=e.id, category=c, week_start=e.week_start)
        for c in new_categories
    )
    who = sender.organisation.name if sender.organisation else "an unverified sender"
    holder = people_by_ids(session, [e.picked_up_by]) if e.picked_up_by else []
    outbox.enqueue(
        session,
        key=f"escalation:{e.id}:follow_up:{count}:duty",
        topic="escalation.follow_up",
        audience="duty",
        subject_type="escalation",
        subject_id=e.id,
        now=now,
        recipient={"people": holder} if holder else None,
        payload=_payload(
            session,
            e,
            f"Further information: {e.urgency} escalation {reference(e.id)}",
            f"{reference(e.id)} has a further message from {who} ({count} messages now).",
            message_count=count,
            new_categories=new_categories,
        ),
    )
    lifecycle.record(
        session,
        actor=sender.actor,
        kind=ESCALATION,
        action="follow_up",
        item_id=e.id,
        now=now,
        detail={"urgency": urgency, "message_count": count, "verified": sender.verified},
    )
    return _view(session, e, joined=True)


def _replay_follow_up(
    session: Session, m: EscalationMessage, identity: ChannelIdentity, sender: Sender,
    now: datetime,
) -> EscalationView:
    """A further message raised again under its message id (the relay after the action):
    the escalation it joined, to its own sender only (as `_replay`)."""
    if not lifecycle.owned_by(m, identity, sender):
        raise KeyInUse(
            "That message id has already been used for another request, so nothing was "
            "recorded. Please send it again with a new id."
        )
    e = session.get(Escalation, m.escalation_id)
    return _view(session, _replay(session, e, identity, sender, now), joined=True)


def _replay(
    session: Session, e: Escalation, identity: ChannelIdentity, sender: Sender, now: datetime
) -> Escalation:
    return lifecycle.replay(
        session, kind=ESCALATION, item=e, identity=identity, sender=sender, now=now
    )


def _refresh(session: Session, e: Escalation) -> Escalation:
    session.refresh(e)
    return e


def _seconds(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds()))


def _taken_on(e: Escalation, actor: Actor, holder_id: int | None, now: datetime) -> dict[str, Any]:
    """The columns for `holder_id` holding the escalation from `now`; if nobody has acknowledged
    it yet, `actor` acknowledges it at the same time."""
    values: dict[str, Any] = {"status": "picked_up", "picked_up_at": now, "picked_up_by": holder_id}
    if e.acknowledged_at is None:
        values.update(
            acknowledged_at=now,
            acknowledged_by=actor.user_id,
            ack_seconds=_seconds(e.raised_at, now),
        )
    return values


@unit_of_work
def get_escalation(*, session: Session, actor: Actor, escalation_id: int) -> EscalationView:
    """One escalation in full (with the redacted excerpt). The read is audited."""
    e = load_visible(session, actor, ESCALATION, escalation_id)
    lifecycle.record(session, actor=actor, kind=ESCALATION, action="read", item_id=e.id)
    return _view(session, e)


@unit_of_work
def open_form(
    *, session: Session, actor: Actor, escalation_id: int, form: str, channel: str
) -> str:
    """The escalation's reference for a MASH worker opening `form` (e.g. "reassign") in
    `channel`: no case text is read; audited as escalation.form_opened, not as a read."""
    return lifecycle.open_form(
        session, actor, ESCALATION, escalation_id, form=form, channel=channel
    )


@unit_of_work
def list_escalations(
    *,
    session: Session,
    actor: Actor,
    status: str | None = None,
    urgency: str | None = None,
    organisation_id: int | None = None,
    open_only: bool = False,
    limit: int = 50,
    offset: int = 0,
    with_excerpts: bool = False,
    already_audited: Collection[int] | None = None,
) -> list[EscalationSummary]:
    """The escalations `actor` may see, most urgent and oldest first when open_only (the duty
    queue), newest first otherwise (the my-school list). The listing is audited.
    `with_excerpts`: each row carries the start of its redacted excerpt (`excerpt_preview`),
    so rows of the same urgency and status can be told apart; the audit entry says so."""
    if status is not None and status not in ESCALATION_STATUSES:
        raise InvalidInput(
            f"Status must be one of {', '.join(ESCALATION_STATUSES)}.", field="status"
        )
    if urgency is not None and urgency not in URGENCIES:
        raise InvalidInput(f"Urgency must be one of {', '.join(URGENCIES)}.", field="urgency")
    limit = max(1, min(int(limit), 500))
    query = select(Escalation).where(item_filter(actor, Escalation))
    if status:
        query = query.where(Escalation.status == status)
    if urgency:
        query = query.where(Escalation.urgency == urgency)
    if organisation_id is not None:
        query = query.where(Escalation.organisation_id == organisation_id)
    if open_only:
        query = query.where(Escalation.status.in_(OPEN_STATUSES)).order_by(
            (Escalation.urgency != "immediate"), Escalation.raised_at, Escalation.id
        )
    else:
        query = query.order_by(Escalation.raised_at.desc(), Escalation.id.desc())
    query = query.limit(limit).offset(max(0, offset))
    rows = lifecycle.audited_listing(
        session, actor, ESCALATION, query, with_text=with_excerpts,
        already_audited=already_audited,
    )
    orgs = lifecycle.organisation_names(session, rows)
    names = people_names(session, {r.picked_up_by for r in rows})
    latest = (
        followups.latest_excerpts(session, [r.id for r in rows if (r.message_count or 1) > 1])
        if with_excerpts
        else {}
    )
    return [
        EscalationSummary(
            **_summary_fields(r, orgs.get(r.organisation_id), names),
            excerpt_preview=lifecycle.preview(r.excerpt) if with_excerpts else None,
            latest_preview=lifecycle.preview(latest.get(r.id)),
        )
        for r in rows
    ]


@unit_of_work
def acknowledge(
    *, session: Session, actor: Actor, escalation_id: int, now: datetime | None = None
) -> EscalationView:
    """Mark a raised escalation as seen by the duty desk (stops the re-notify clock).
    Idempotent: acknowledging one already acknowledged or further on changes nothing."""
    require_mash(actor, "acknowledge an escalation")
    e = load_visible(session, actor, ESCALATION, escalation_id)
    now = now or utcnow()
    if e.status == "raised" and conditional_update(
        session,
        ESCALATION,
        e.id,
        [Escalation.status == "raised"],
        {
            "status": "acknowledged",
            "acknowledged_at": now,
            "acknowledged_by": actor.user_id,
            "ack_seconds": _seconds(e.raised_at, now),
        },
    ):
        lifecycle.record(
            session, actor=actor, kind=ESCALATION, action="acknowledge", item_id=e.id, now=now
        )
        e = _refresh(session, e)
        lifecycle.announce_step(
            session, kind=ESCALATION, item=e, step="acknowledged", actor=actor, now=now
        )
        return _view(session, e)
    return _view(session, _refresh(session, e))


@unit_of_work
def pick_up(
    *, session: Session, actor: Actor, escalation_id: int, now: datetime | None = None
) -> EscalationView:
    """Take an escalation on. Exactly one of several workers trying at once wins; the others get
    Conflict naming who has it. Picking up a raised escalation also acknowledges it. Repeating
    one's own pick-up changes nothing."""
    require_mash(actor, "pick up an escalation")
    e = load_visible(session, actor, ESCALATION, escalation_id)
    now = now or utcnow()
    values = _taken_on(e, actor, actor.user_id, now)
    # The WHERE on status (and on acknowledged_at, which `values` depends on) settles the race.
    won = conditional_update(
        session,
        ESCALATION,
        e.id,
        [
            Escalation.status.in_(("raised", "acknowledged")),
            Escalation.acknowledged_at.is_(None)
            if e.acknowledged_at is None
            else Escalation.acknowledged_at.isnot(None),
        ],
        values,
    )
    e = _refresh(session, e)
    if not won:
        if e.picked_up_by == actor.user_id and e.status != "raised":
            return _view(session, e)
        if e.status in ("raised", "acknowledged"):
            raise Conflict(f"Escalation {reference(e.id)} changed just now; please try again.")
        holder = lifecycle.holder_name(session, e.picked_up_by)
        raise Conflict(f"Escalation {reference(e.id)} has already been picked up by {holder}.")
    lifecycle.record(session, actor=actor, kind=ESCALATION, action="pick_up", item_id=e.id, now=now)
    lifecycle.announce_step(
        session, kind=ESCALATION, item=e, step="picked up", actor=actor, now=now
    )
    return _view(session, e)


@unit_of_work
def reassign(
    *,
    session: Session,
    actor: Actor,
    escalation_id: int,
    to_user_id: int,
    now: datetime | None = None,
) -> EscalationView:
    """Hand a picked-up (or not yet picked-up) escalation to another MASH worker. The current
    holder or a MASH manager may do this; the new holder is told through the outbox."""
    require_mash(actor, "reassign an escalation")
    e = load_visible(session, actor, ESCALATION, escalation_id)
    if e.status not in OPEN_STATUSES:
        raise Conflict(
            f"Escalation {reference(e.id)} already has an outcome; it cannot be reassigned."
        )
    if not lifecycle.may_act(actor, e):
        raise Forbidden("Only the worker holding an escalation or a MASH manager can reassign it.")
    target = session.get(Person, to_user_id)
    if target is None or not target.active or target.role not in ("mash_worker", "mash_manager"):
        raise InvalidInput(
            "An escalation can only be reassigned to an active member of the MASH.",
            field="to_user_id",
        )
    if e.picked_up_by == to_user_id:
        return _view(session, e)
    now = now or utcnow()
    values = _taken_on(e, actor, to_user_id, now)
    if not conditional_update(session, ESCALATION, e.id, [Escalation.version == e.version], values):
        raise lifecycle.changed_just_now(ESCALATION, e.id)
    e = _refresh(session, e)
    outbox.enqueue(
        session,
        key=f"escalation:{e.id}:reassigned:v{e.version}",
        topic="escalation.reassigned",
        audience="duty",
        subject_type="escalation",
        subject_id=e.id,
        now=now,
        recipient={"people": people_by_ids(session, [to_user_id])},
        payload=_payload(
            session,
            e,
            f"Escalation {reference(e.id)} reassigned",
            f"Escalation {reference(e.id)} is now with {target.name}.",
            assignee_id=to_user_id,
        ),
    )
    lifecycle.record(
        session,
        actor=actor,
        kind=ESCALATION,
        action="reassign",
        item_id=e.id,
        now=now,
        detail={"to_user_id": to_user_id},
    )
    return _view(session, e)


@unit_of_work
def record_outcome(
    *,
    session: Session,
    actor: Actor,
    escalation_id: int,
    outcome_code: str,
    note: str = "",
    decided_level: int | None = None,
    decided_route: str | None = None,
    now: datetime | None = None,
    level_guide: Mapping[int, levels.LevelText] | None = None,
) -> EscalationView:
    """Record what the MASH decided (OUTCOME_CODES, with a note of at most NOTE_MAX characters,
    and the level of need, 1-4, and route, DECIDED_ROUTES, it decided: mash/levels.py).
    The worker holding it or a MASH manager may do this. The originator is told through the
    outbox, and, when the decided level differs from the one they expected, which level the
    MASH decided and the guide's description of it (`level_guide`: the pack's levels by number,
    e.g. `engine.pack.levels.levels`; without it the level alone). The escalation becomes
    originator_informed when that message is delivered. Repeating the same outcome changes
    nothing; a different one is a Conflict. InvalidInput (nothing changed) for a code, level or
    route outside its set."""
    require_mash(actor, "record an outcome")
    if outcome_code not in OUTCOME_CODES:
        raise InvalidInput(
            f"{outcome_code!r} is not an outcome code; use one of {', '.join(OUTCOME_CODES)}.",
            field="outcome_code",
        )
    note = lifecycle.checked_text(note, field="note", limit=NOTE_MAX)
    decided_level, decided_route = levels.checked_decision(decided_level, decided_route)
    e = load_visible(session, actor, ESCALATION, escalation_id)
    if e.status in ("outcome_recorded", "originator_informed"):
        if (e.outcome_code, e.outcome_note or "", e.decided_level, e.decided_route) == (
            outcome_code, note, decided_level, decided_route
        ):
            return _view(session, e)
        raise Conflict(f"Escalation {reference(e.id)} already has an outcome recorded.")
    if e.status != "picked_up":
        raise Conflict(
            f"Escalation {reference(e.id)} must be picked up before an outcome is recorded."
        )
    if not lifecycle.may_act(actor, e):
        raise Forbidden(
            "Only the worker holding this escalation or a MASH manager can record its outcome."
        )
    now = now or utcnow()
    if not conditional_update(
        session,
        ESCALATION,
        e.id,
        [Escalation.version == e.version, Escalation.status == "picked_up"],
        {
            "status": "outcome_recorded",
            "outcome_code": outcome_code,
            "outcome_note": note or None,
            "outcome_at": now,
            "outcome_by": actor.user_id,
            "outcome_seconds": _seconds(e.raised_at, now),
            "decided_level": decided_level,
            "decided_route": decided_route,
        },
    ):
        raise lifecycle.changed_just_now(ESCALATION, e.id)
    e = _refresh(session, e)
    label = OUTCOME_LABELS[outcome_code]
    text = f"The MASH has recorded an outcome for the concern you raised: {label}."
    level_feedback = levels.feedback(
        level_guide, expected_level=e.expected_level,
        expected_source=e.expected_source, decided_level=decided_level,
    )
    lifecycle.tell_originator(
        session,
        kind=ESCALATION,
        item=e,
        event="outcome",
        now=now,
        payload=_payload(
            session,
            e,
            f"Outcome of your concern {reference(e.id)}",
            f"{text} {level_feedback}".strip(),
            outcome_code=outcome_code,
            outcome_label=label,
            expected_level=e.expected_level,
            decided_level=decided_level,
            decided_route=decided_route,
            decided_route_label=levels.ROUTE_LABELS.get(decided_route or ""),
            level_feedback=level_feedback or None,
        ),
    )
    lifecycle.record(
        session,
        actor=actor,
        kind=ESCALATION,
        action="record_outcome",
        item_id=e.id,
        now=now,
        detail={"outcome_code": outcome_code, "decided_level": decided_level,
                "decided_route": decided_route},
    )
    return _view(session, e)


@unit_of_work
def mark_originator_informed(
    *,
    session: Session,
    actor: Actor,
    escalation_id: int,
    how: str = "notification",
    now: datetime | None = None,
) -> EscalationView:
    """Close the loop: the originator has been told the outcome. The dispatcher calls this (as
    Actor.system) when the outcome message is delivered; MASH staff may call it after telling
    them another way (`how`, e.g. "phone"). Idempotent."""
    if actor.role != "system":
        require_mash(actor, "mark the originator informed")
    e = load_visible(session, actor, ESCALATION, escalation_id)
    if e.status == "originator_informed":
        return _view(session, e)
    if e.status != "outcome_recorded":
        raise Conflict(f"Escalation {reference(e.id)} has no outcome recorded yet.")
    lifecycle.mark_informed(
        session,
        kind=ESCALATION,
        item_id=e.id,
        from_status="outcome_recorded",
        actor=actor,
        how=how[:40],
        now=now or utcnow(),
    )
    return _view(session, _refresh(session, e))


@dataclass(frozen=True)
class DeadlineReport:
    renotified: list[int]
    sent_to_manager: list[int]


@unit_of_work
def check_deadlines(
    *, session: Session, settings: Settings, now: datetime | None = None
) -> DeadlineReport:
    """Re-notify the duty desk about escalations not acknowledged within their urgency's limit
    (settings.ack_limit_minutes), and tell the duty manager(s) after a further limit. Each
    escalation is re-notified once and sent up once, however often this runs (the dispatcher
    runs it on every pass)."""
    now = now or utcnow()
    system = Actor.system("deadline check")
    renotified: list[int] = []
    upward: list[int] = []
    managers = None
    for urgency, minutes in settings.ack_limit_minutes.items():
        limit = timedelta(minutes=minutes)
        steps = (
            ("renotified_at", now - limit, renotified),
            ("manager_notified_at", now - 2 * limit, upward),
        )
        for column_name, cutoff, bucket in steps:
            column = getattr(Escalation, column_name)
            due = (
                session.execute(
                    select(Escalation)
                    .where(
                        Escalation.status == "raised",
                        Escalation.urgency == urgency,
                        Escalation.raised_at <= cutoff,
                        column.is_(None),
                    )
                    .order_by(Escalation.raised_at)
                    .limit(500)
                )
                .scalars()
                .all()
            )
            for e in due:
                if not conditional_update(
                    session,
                    ESCALATION,
                    e.id,
                    [Escalation.status == "raised", column.is_(None)],
                    {column_name: now},
                ):
                    continue
                waited = int((now - e.raised_at).total_seconds() // 60)
                if column_name == "renotified_at":
                    lifecycle.notify(
                        session,
                        kind=ESCALATION,
                        item=e,
                        event="renotify",
                        audience="duty",
                        now=now,
                        payload=_payload(
                            session,
                            e,
                            f"Still waiting: {urgency} escalation {reference(e.id)}",
                            f"Not acknowledged after {waited} minutes (limit {minutes}).",
                            waited_minutes=waited,
                        ),
                    )
                else:
                    if managers is None:
                        managers = people_by_role(session, "mash_manager")
                    lifecycle.notify(
                        session,
                        kind=ESCALATION,
                        item=e,
                        event="overdue",
                        audience="duty_manager",
                        now=now,
                        recipient={"people": managers},
                        payload=_payload(
                            session,
                            e,
                            f"Overdue: {urgency} escalation {reference(e.id)}",
                            f"Not acknowledged after {waited} minutes; the duty desk was reminded.",
                            waited_minutes=waited,
                        ),
                    )
                lifecycle.record(
                    session,
                    actor=system,
                    kind=ESCALATION,
                    action=column_name.removesuffix("_at"),
                    item_id=e.id,
                    now=now,
                    detail={"waited_minutes": waited},
                )
                bucket.append(e.id)
    return DeadlineReport(renotified=renotified, sent_to_manager=upward)


def on_delivered(
    session: Session, *, topic: str, subject_id: int, now: datetime, audience: str = "originator"
) -> None:
    """Dispatcher hook, inside its transaction: a delivered outcome message closes the loop."""
    lifecycle.close_loop_on_delivery(
        session, kind=ESCALATION, topic=topic, wanted_topic="escalation.outcome",
        from_status="outcome_recorded", subject_id=subject_id, audience=audience, now=now,
    )


def open_counts(session: Session) -> dict[str, int]:
    """Open escalations per status (for health checks; no access control: counts only)."""
    from sqlalchemy import func

    rows = session.execute(
        select(Escalation.status, func.count())
        .where(Escalation.status.in_(OPEN_STATUSES))
        .group_by(Escalation.status)
    ).all()
    return {status: count for status, count in rows}
