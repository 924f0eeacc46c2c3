"""The steps escalations and consultations share.

Both are items a practitioner raises through a channel and the MASH handles: loaded only when
the actor may see them, changed by conditional UPDATEs checked by rowcount, created once per
message id, audited, and reported through the outbox, ending with the originator being told.
`mash.escalations` and `mash.consultations` keep their own rules and wording; the helpers here
are the parts that are the same for both. Internal: callers use those two modules.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mash import audit, notifications, outbox
from mash.access import Actor, ChannelIdentity, can_see, item_filter
from mash.directory import Sender, outbox_person, people_names, recipient_for
from mash.errors import Conflict, Forbidden, InvalidInput, KeyInUse, NotFound
from mash.models import Organisation, Person
from mash.redact import redact


@dataclass(frozen=True)
class ItemKind:
    """One kind of item: its table, its name (the outbox and audit `subject_type`, and the
    prefix of its audit actions and outbox keys) and how its reference reads (E-000012)."""

    model: Any
    name: str
    reference: Callable[[int], str]

    @property
    def label(self) -> str:
        return self.name.capitalize()


def view_dict(view: Any) -> dict[str, Any]:
    """A view's fields, JSON-ready (dates and times as ISO 8601)."""
    return {
        k: v.isoformat() if isinstance(v, datetime | date) else v for k, v in view.__dict__.items()
    }


def checked_text(value: str | None, *, field: str, limit: int, if_empty: str | None = None) -> str:
    """`value` stripped, or InvalidInput on `field`: longer than `limit` characters, or empty
    when `if_empty` (the message to show) is given."""
    text = (value or "").strip()
    if if_empty is not None and not text:
        raise InvalidInput(if_empty, field=field)
    if len(text) > limit:
        raise InvalidInput(
            f"The {field} is {len(text)} characters; the limit is {limit}.", field=field
        )
    return text


def require_mash(actor: Actor, what: str) -> None:
    if not actor.is_mash:
        raise Forbidden(f"Only MASH staff can {what}.")


def may_act(actor: Actor, item: Any) -> bool:
    """The worker holding the item, or a MASH manager."""
    return actor.is_manager or item.picked_up_by == actor.user_id


def load_visible(session: Session, actor: Actor, kind: ItemKind, item_id: int) -> Any:
    """The item, if it exists and `actor` may see it (the system sees all); else NotFound."""
    item = session.get(kind.model, item_id)
    if item is None or not (actor.role == "system" or can_see(actor, item)):
        raise NotFound(f"{kind.label} {kind.reference(item_id)} was not found.")
    return item


def open_form(
    session: Session, actor: Actor, kind: ItemKind, item_id: int, *, form: str, channel: str
) -> str:
    """The item's reference for a MASH form that will act on it (record outcome, reassign),
    audited as `<kind>.form_opened`: only the id is read, never the case text, so `<kind>.read`
    keeps meaning that case text was shown (security re-review R7-2). NotFound as for a read."""
    require_mash(actor, f"open the {kind.name} forms")
    model = kind.model
    found = session.execute(
        select(model.id).where(model.id == item_id, item_filter(actor, model))
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"{kind.label} {kind.reference(item_id)} was not found.")
    record(
        session,
        actor=actor,
        kind=kind,
        action="form_opened",
        item_id=found,
        detail={"channel": channel[:40], "form": form[:40]},
    )
    return kind.reference(found)


def conditional_update(
    session: Session, kind: ItemKind, item_id: int, where: Sequence[Any], values: dict[str, Any]
) -> bool:
    """Update the item (and bump its version) only if `where` still holds; True if it did."""
    model = kind.model
    result = session.execute(
        update(model)
        .where(model.id == item_id, *where)
        .values(version=model.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def changed_just_now(kind: ItemKind, item_id: int) -> Conflict:
    """The Conflict for an update that lost a race (the item changed since it was read)."""
    return Conflict(
        f"{kind.label} {kind.reference(item_id)} changed just now; please reload and try again."
    )


def holder_name(session: Session, user_id: int | None) -> str:
    """Who holds an item, for a Conflict message."""
    return people_names(session, {user_id}).get(user_id, "someone else")


def raised_by(session: Session, item: Any) -> Person | None:
    """The directory's entry for whoever raised the item, when the sender was verified (an
    unverified sender's claimed identity is not repeated as if it were known)."""
    if not item.sender_verified or item.originator_user_id is None:
        return None
    return session.get(Person, item.originator_user_id)


def organisation_name(session: Session, organisation_id: int | None) -> str | None:
    if organisation_id is None:
        return None
    org = session.get(Organisation, organisation_id)
    return org.name if org else None


def organisation_names(session: Session, items: Iterable[Any]) -> dict[int, str]:
    """Organisation id -> name for the items of a listing, in one query."""
    org_ids = {item.organisation_id for item in items if item.organisation_id}
    if not org_ids:
        return {}
    return dict(
        session.execute(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_(org_ids))
        ).all()
    )


def audited_listing(
    session: Session, actor: Actor, kind: ItemKind, query: Any, *, with_text: bool = False,
    already_audited: Collection[int] | None = None,
) -> list[Any]:
    """The rows of a listing query, with an audit entry naming the items shown (and, with
    `with_text`, that their redacted excerpts were shown too). `already_audited`: the ids an
    earlier entry of the same live view named (the portal's queue refreshing itself); when
    every row is among them nothing new was shown, so no entry is written."""
    rows = list(session.execute(query).scalars())
    if already_audited is not None and {r.id for r in rows} <= set(already_audited):
        return rows
    detail: dict[str, Any] = {"ids": [r.id for r in rows]}
    if with_text:
        detail["with_excerpts"] = True
    record(session, actor=actor, kind=kind, action="list", item_id=None, detail=detail)
    return rows


PREVIEW_MAX = 140


def preview(text: str | None) -> str | None:
    """The start of a stored excerpt or topic for a list row: redacted again (mash.redact) and
    cut at a word near PREVIEW_MAX characters. None once purged."""
    if not text:
        return None
    text = " ".join(redact(text).split())
    if len(text) <= PREVIEW_MAX:
        return text
    cut = text[:PREVIEW_MAX].rsplit(" ", 1)[0] or text[:PREVIEW_MAX]
    return cut.rstrip(",;:.") + "…"


def find_by_message_id(session: Session, kind: ItemKind, message_id: str) -> Any | None:
    model = kind.model
    return session.execute(select(model).where(model.message_id == message_id)).scalar_one_or_none()


def owned_by(item: Any, identity: ChannelIdentity, sender: Sender) -> bool:
    """Whether `item` was raised by this sender: the same channel address and the same resolved
    person (or, for an unverified sender, no person). An idempotency key belongs to its owner."""
    person_id = sender.person.id if sender.person else None
    return (
        item.channel == identity.channel[:40]
        and item.sender == identity.sender[:200]
        and item.originator_user_id == person_id
    )


def replay(
    session: Session,
    *,
    kind: ItemKind,
    item: Any,
    identity: ChannelIdentity,
    sender: Sender,
    now: datetime,
) -> Any:
    """An item found under the caller's idempotency key, returned only to its owner: the access
    check (the owner, and for a verified sender the visibility rule as well) and an audit entry
    `<kind>.replay`. A key used by anyone else is KeyInUse, which reveals nothing of the item."""
    actor = sender.actor
    if not owned_by(item, identity, sender) or (sender.verified and not can_see(actor, item)):
        raise KeyInUse(
            "That message id has already been used for another request, so nothing was "
            "recorded. Please send it again with a new id."
        )
    record(
        session,
        actor=actor,
        kind=kind,
        action="replay",
        item_id=item.id,
        now=now,
        detail={"verified": sender.verified},
    )
    return item


def sender_columns(identity: ChannelIdentity, sender: Sender) -> dict[str, Any]:
    """The columns recording who raised an item and from where (verified or not)."""
    return dict(
        channel=identity.channel[:40],
        sender=identity.sender[:200],
        originator_user_id=sender.person.id if sender.person else None,
        sender_verified=sender.verified,
        sender_role=sender.person.role if sender.person else (identity.role or None),
        organisation_id=sender.organisation.id if sender.organisation else None,
        source_kind=sender.source_kind,
    )


def add_unless_raced(session: Session, kind: ItemKind, item: Any, message_id: str | None) -> Any:
    """Insert a new item. If another transaction inserted one for the same message id first
    (the unique index refuses ours), roll back and return theirs; None when ours went in."""
    session.add(item)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        theirs = find_by_message_id(session, kind, message_id)
        if theirs is None:
            raise
        return theirs
    return None


def record(
    session: Session,
    *,
    actor: Actor,
    kind: ItemKind,
    action: str,
    item_id: int | None,
    now: datetime | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """The audit entry `<kind>.<action>` for one item (or, with item_id None, a listing)."""
    audit.record(
        session,
        actor=actor,
        action=f"{kind.name}.{action}",
        subject_type=kind.name,
        subject_id=item_id,
        now=now,
        detail=detail,
    )


def payload(
    session: Session, kind: ItemKind, item: Any, title: str, text: str, **extra: Any
) -> dict[str, Any]:
    """An outbox message's payload: what every message about an item carries, then `extra`.
    Never conversation text."""
    return {
        "title": title,
        "text": text,
        "reference": kind.reference(item.id),
        "subject_type": kind.name,
        "subject_id": item.id,
        "organisation": organisation_name(session, item.organisation_id),
        "sender_verified": bool(item.sender_verified),
        "status": item.status,
        **extra,
    }


def notify(
    session: Session,
    *,
    kind: ItemKind,
    item: Any,
    event: str,
    audience: str,
    now: datetime,
    payload: dict[str, Any],
    recipient: dict[str, Any] | None = None,
    new_subject: bool = False,
) -> None:
    """Queue the message `<kind>.<event>` for `audience`, keyed `<kind>:<id>:<event>:<audience>`
    so a repeated step queues nothing more (`new_subject`: the item was created in this
    transaction, so there is nothing to look up)."""
    outbox.enqueue(
        session,
        key=f"{kind.name}:{item.id}:{event}:{audience}",
        topic=f"{kind.name}.{event}",
        audience=audience,
        subject_type=kind.name,
        subject_id=item.id,
        now=now,
        recipient=recipient,
        payload=payload,
        new_subject=new_subject,
    )


def announce_step(
    session: Session, *, kind: ItemKind, item: Any, step: str, actor: Actor, now: datetime
) -> None:
    """Queue a duty-desk note that `actor` took `step` ("acknowledged", "picked up"), so every
    channel's view of the item catches up whichever channel the step was taken in (the Slack
    card is redrawn, for one, when the step was taken in the portal)."""
    who = holder_name(session, actor.user_id)
    ref = kind.reference(item.id)
    notify(
        session,
        kind=kind,
        item=item,
        event=step.replace(" ", "_"),
        audience="duty",
        now=now,
        payload=payload(
            session, kind, item, f"{kind.label} {ref} {step}", f"{ref} {step} by {who}."
        ),
    )


def tell_originator(
    session: Session,
    *,
    kind: ItemKind,
    item: Any,
    event: str,
    now: datetime,
    payload: dict[str, Any],
) -> None:
    """Queue the message `<kind>.<event>` to whoever raised the item: the person if the
    directory knows them, and the channel address they wrote from. A person the directory
    knows (a verified sender) is also told in the portal: a second message, for the portal
    inbox (mash/notifications.py), so each channel is delivered and retried on its own."""
    originator = session.get(Person, item.originator_user_id) if item.originator_user_id else None
    notify(
        session,
        kind=kind,
        item=item,
        event=event,
        audience="originator",
        now=now,
        recipient=recipient_for(originator, (item.channel, item.sender)),
        payload=payload,
    )
    if originator is not None and item.sender_verified:
        notify(
            session,
            kind=kind,
            item=item,
            event=event,
            audience=notifications.AUDIENCE,
            now=now,
            recipient={"people": [outbox_person(originator)]},
            payload=payload,
        )


def mark_informed(
    session: Session,
    *,
    kind: ItemKind,
    item_id: int,
    from_status: str,
    actor: Actor,
    how: str,
    now: datetime,
) -> bool:
    """Close the loop: `from_status` -> originator_informed, audited with `how`. False (and
    nothing changed) if the item was not in `from_status`."""
    if not conditional_update(
        session,
        kind,
        item_id,
        [kind.model.status == from_status],
        {"status": "originator_informed", "originator_informed_at": now},
    ):
        return False
    record(
        session,
        actor=actor,
        kind=kind,
        action="originator_informed",
        item_id=item_id,
        now=now,
        detail={"how": how},
    )
    return True


def close_loop_on_delivery(
    session: Session, *, kind: ItemKind, topic: str, wanted_topic: str, from_status: str,
    subject_id: int, audience: str, now: datetime,
) -> None:
    """A dispatcher hook's body: a delivered `wanted_topic` message closes the loop."""
    # The originator's own channel (Slack, e-mail) closes the loop; the portal notification
    # (audience originator_portal) is a copy beside it, so a Slack outage still shows.
    if topic != wanted_topic or audience != "originator":
        return
    mark_informed(session, kind=kind, item_id=subject_id, from_status=from_status,
                  actor=Actor.system("dispatcher"), how="notification", now=now)

