"""The append-only audit trail: who read or changed which escalation or consultation, when.

Only `record` writes, and it only inserts. The migration adds database triggers refusing UPDATE
and DELETE on `audit_log` (PostgreSQL and SQLite alike). Entries never hold conversation text:
`record` refuses detail keys that could carry it, so purging excerpts leaves the trail whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mash.access import Actor
from mash.clock import utcnow
from mash.db import unit_of_work
from mash.errors import Forbidden
from mash.models import AuditEntry

# Keys whose values would be conversation or case text; a programming error if passed.
_TEXT_KEYS = frozenset(
    {"excerpt", "matched_phrases", "text", "note", "topic", "advice", "callback_number"}
)


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: int | None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """Add one audit entry to the caller's transaction (internal; services call it)."""
    detail = dict(detail or {})
    leaked = _TEXT_KEYS.intersection(detail)
    if leaked:
        raise ValueError(f"audit detail must not carry text fields: {sorted(leaked)}")
    session.add(
        AuditEntry(
            at=now or utcnow(),
            actor_user_id=actor.user_id,
            actor_role=actor.role,
            actor_label=actor.label[:200],
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            detail=detail,
        )
    )


@dataclass(frozen=True)
class AuditView:
    id: int
    at: datetime
    actor_user_id: int | None
    actor_role: str
    actor_label: str
    action: str
    subject_type: str
    subject_id: int | None
    detail: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "at": self.at.isoformat()}


@unit_of_work
def trail(
    *, session: Session, actor: Actor, subject_type: str, subject_id: int, limit: int = 500
) -> list[AuditView]:
    """The audit entries for one item, oldest first. MASH managers only."""
    if not actor.is_manager:
        raise Forbidden("Only a MASH manager can read the audit trail.")
    rows = session.execute(
        select(AuditEntry)
        .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == subject_id)
        .order_by(AuditEntry.id)
        .limit(limit)
    ).scalars()
    return [
        AuditView(
            id=r.id,
            at=r.at,
            actor_user_id=r.actor_user_id,
            actor_role=r.actor_role,
            actor_label=r.actor_label,
            action=r.action,
            subject_type=r.subject_type,
            subject_id=r.subject_id,
            detail=dict(r.detail or {}),
        )
        for r in rows
    ]
