"""The outbox: notifications written in the same transaction as the change that causes them.

A service function that changes an item calls `enqueue(...)` on its own session before it
commits, so the change and its notifications are durable together or not at all. The
dispatcher (mash/dispatcher.py) delivers pending rows to a `Target` at least once; the
`idempotency_key` lets a receiver drop repeats, so the reader sees each message once.

Messages never carry conversation text (excerpts, topics, notes): only references, urgency,
categories and organisation names. A reader opens the item itself (an audited read).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import select
from sqlalchemy.orm import Session

from mash.clock import utcnow
from mash.models import OutboxMessage

# duty: the MASH duty desk (Slack duty channel / duty mailbox); duty_manager: the managers;
# originator: the practitioner who raised the item (Slack, e-mail); originator_portal: the same
# person, in the portal's notifications (mash/notifications.py).
AUDIENCES = ("duty", "duty_manager", "originator", "originator_portal")


@dataclass(frozen=True)
class Message:
    """What a Target receives. JSON-serialisable via `to_dict()`.

    - idempotency_key: stable for the life of the notification; the same on every retry.
    - topic: e.g. "escalation.raised", "escalation.renotify", "escalation.overdue",
      "escalation.reassigned", "escalation.outcome", "consultation.requested",
      "consultation.picked_up", "consultation.closed".
    - audience: one of AUDIENCES.
    - recipient: {"people": [{"id", "name", "email", "slack_user_id"}], "channel", "sender"};
      "people" is empty for the duty desk (the target knows its channel or mailbox).
    - payload: {"title", "text", "reference", "subject_type", "subject_id", ...}: plain text
      fit to show as it is, plus fields for buttons (e.g. "urgency", "status", "categories").
    - attempt: 1 on the first delivery, 2 on the first retry, ... (claims count, so a
      dispatcher killed mid-delivery makes the next attempt 2)
    """

    id: int
    idempotency_key: str
    topic: str
    audience: str
    recipient: dict[str, Any]
    subject_type: str
    subject_id: int
    payload: dict[str, Any]
    attempt: int
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "created_at": self.created_at.isoformat()}


@runtime_checkable
class Target(Protocol):
    """Somewhere messages go. `deliver` returns when the receiver has accepted the message and
    raises any exception when it has not (the dispatcher then retries with backoff). It may be
    called more than once for one message (at-least-once); pass `message.idempotency_key` on to
    the receiver (e.g. Slack `client_msg_id`, an `Idempotency-Key` header, a Message-ID)."""

    name: str

    def deliver(self, message: Message) -> None: ...


def enqueue(
    session: Session,
    *,
    key: str,
    topic: str,
    audience: str,
    subject_type: str,
    subject_id: int,
    payload: dict[str, Any],
    recipient: dict[str, Any] | None = None,
    now: datetime | None = None,
    new_subject: bool = False,
) -> bool:
    """Add a pending message to the caller's transaction, unless `key` is already queued.

    Returns False when a message with this key exists (a repeated step), True otherwise.
    `new_subject=True` (the subject was created in this transaction) skips that look-up.
    """
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}")
    if not new_subject:
        existing = session.execute(
            select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)
        ).first()
        if existing is not None:
            return False
    now = now or utcnow()
    row = OutboxMessage(
        idempotency_key=key,
        topic=topic,
        audience=audience,
        recipient=recipient or {"people": []},
        subject_type=subject_type,
        subject_id=subject_id,
        payload=payload,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    # Steps that enqueue are themselves guarded by conditional UPDATEs, so two transactions
    # never race on one key; if they did, the unique key fails the later one whole.
    session.add(row)
    return True


def to_message(row: OutboxMessage) -> Message:
    return Message(
        id=row.id,
        idempotency_key=row.idempotency_key,
        topic=row.topic,
        audience=row.audience,
        recipient=dict(row.recipient or {}),
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        payload=dict(row.payload or {}),
        attempt=row.attempts,  # claiming counts the attempt under way
        created_at=row.created_at,
    )
