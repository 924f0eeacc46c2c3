"""One fetch helper per resource. Visibility is the service's job: an item the actor may not
see raises NotFound (404), a role that may not act raises Forbidden (403); the error handlers
turn those into pages or JSON."""

from __future__ import annotations

from typing import Any

from fastapi import Path
from sqlalchemy.orm import Session

from mash import consultations, escalations
from mash.access import Actor
from mash.consultations import ConsultationView
from mash.escalations import EscalationView

# Ids are database integers: anything larger cannot exist (and would overflow SQLite).
MAX_ID = 2**31 - 1


def item_id() -> Any:
    """A path parameter for an item's number (a fresh Path per route: FastAPI binds each one
    to its parameter's name)."""
    return Path(..., ge=1, le=MAX_ID, description="The item's number")


def fetch_escalation(db: Session, actor: Actor, escalation_id: int) -> EscalationView:
    return escalations.get_escalation(session=db, actor=actor, escalation_id=escalation_id)


def fetch_consultation(db: Session, actor: Actor, consultation_id: int) -> ConsultationView:
    return consultations.get_consultation(
        session=db, actor=actor, consultation_id=consultation_id
    )
