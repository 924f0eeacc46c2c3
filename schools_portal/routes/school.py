"""My school: the named MASH contact, the front door, a consultation request, and every concern
and consultation raised from the organisation with its status and outcome (closing the loop)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from pydantic import BaseModel, Field, StrictInt, StrictStr
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from app_context import AppContext
from chat.expected import suggested_level
from mash import consultations, directory, escalations, levels, notifications
from mash.access import Actor, ChannelIdentity
from mash.consultations import BEST_TIME_MAX, TOPIC_MAX
from mash.errors import InvalidInput
from schools_portal.deps import Ctx, Db, Practitioner, sender_id
from schools_portal.inputs import CleanInputRoute
from schools_portal.rendering import flash, render
from schools_portal.resources import fetch_consultation, fetch_escalation, item_id
from schools_portal.security import require_csrf

pages = APIRouter(tags=["my school"], route_class=CleanInputRoute)
api = APIRouter(tags=["my school"], route_class=CleanInputRoute)


class ConsultationIn(BaseModel):
    topic: StrictStr = Field(
        ..., max_length=TOPIC_MAX, description="What you would like advice about"
    )
    callback_number: StrictStr = Field(..., max_length=40)
    best_time: StrictStr = Field("", max_length=BEST_TIME_MAX)
    message_id: StrictStr | None = Field(
        None, max_length=200, description="Optional: repeating a request with it is harmless"
    )
    expected_level: StrictInt | None = Field(
        None, description="Optional: the level of need (1-4) you think this is"
    )


def school_contacts(context: AppContext, db: Session, actor: Actor) -> dict[str, Any]:
    contacts = context.guidance.pack.contacts
    named = (
        directory.named_contact(session=db, organisation_id=actor.organisation_id)
        if actor.organisation_id is not None
        else None
    )
    line = contacts.safety_line(datetime.now(timezone.utc))
    return {
        "organisation": (
            directory.get_organisation(session=db, organisation_id=actor.organisation_id)
            if actor.organisation_id is not None
            else None
        ),
        "named_contact": named,
        "front_door": contacts.front_door,
        "out_of_hours": contacts.out_of_hours,
        "emergency": contacts.emergency,
        "ring_now": line,
    }


def _expected(context: AppContext, body: ConsultationIn) -> tuple[int | None, str | None]:
    """The level the practitioner chose, else the guidance engine's suggestion for the topic
    (None when it is unplaced; nothing when the engine fails: the request goes all the same)."""
    if body.expected_level is not None:
        return body.expected_level, "chosen"
    return suggested_level(context.guidance, body.topic)


def _request(
    db: Session, actor: Actor, body: ConsultationIn, context: AppContext
) -> consultations.ConsultationView:
    expected_level, expected_source = _expected(context, body)
    identity = ChannelIdentity(
        channel="portal",
        sender=sender_id(actor),
        user_id=str(actor.user_id),
        role=actor.role,
        organisation_id=actor.organisation_id,
    )
    return consultations.request_consultation(
        session=db,
        identity=identity,
        topic=body.topic,
        callback_number=body.callback_number,
        best_time=body.best_time,
        message_id=body.message_id or str(uuid.uuid4()),
        expected_level=expected_level,
        expected_source=expected_source,
    )


def _school_page(
    request: Request,
    db: Session,
    context: AppContext,
    actor: Actor,
    *,
    form: dict[str, str] | None = None,
    error: InvalidInput | None = None,
) -> Response:
    return render(
        request,
        "school.html",
        actor=actor,
        status_code=422 if error else 200,
        escalations=escalations.list_escalations(
            session=db, actor=actor, limit=100, with_excerpts=True
        ),
        consultations=consultations.list_consultations(
            session=db, actor=actor, limit=100, with_topics=True
        ),
        form=form or {"message_id": str(uuid.uuid4())},
        error=error,
        topic_max=TOPIC_MAX,
        best_time_max=BEST_TIME_MAX,
        level_names={level.number: level.name for level in context.guidance.pack.levels},
        category_labels=context.guidance.pack.lexicon.labels,
        **school_contacts(context, db, actor),
    )


@pages.get("/school", include_in_schema=False)
def school_page(
    *,
    request: Request,
    actor: Practitioner,
    db: Db,
    context: Ctx,
) -> Response:
    return _school_page(request, db, context, actor)


@pages.post("/school/consultations", include_in_schema=False, dependencies=[Depends(require_csrf)])
def request_consultation_form(
    *,
    request: Request,
    topic: str = Form("", max_length=TOPIC_MAX),
    callback_number: str = Form("", max_length=40),
    best_time: str = Form("", max_length=BEST_TIME_MAX),
    message_id: str = Form("", max_length=200),
    expected_level: str = Form("", max_length=20),
    actor: Practitioner,
    db: Db,
    context: Ctx,
) -> Response:
    try:
        body = ConsultationIn(
            topic=topic, callback_number=callback_number, best_time=best_time,
            message_id=message_id,
            expected_level=levels.parse_level(expected_level, field="expected_level"),
        )
        view = _request(db, actor, body, context)
    except InvalidInput as exc:
        form = {"topic": topic, "callback_number": callback_number, "best_time": best_time,
                "expected_level": expected_level}
        form["message_id"] = message_id or str(uuid.uuid4())
        return _school_page(request, db, context, actor, form=form, error=exc)
    flash(
        request,
        f"Consultation {view.reference} requested. A duty social worker will ring you back.",
        "success",
    )
    return RedirectResponse("/school#consultations", status_code=303)


@pages.get("/school/escalations/{escalation_id}", include_in_schema=False)
def school_escalation(
    *,
    request: Request,
    escalation_id: int = item_id(),
    actor: Practitioner,
    db: Db,
) -> Response:
    item = fetch_escalation(db, actor, escalation_id)
    # Reading the item itself is reading its notification.
    notifications.mark_subject_read(
        session=db, actor=actor, subject_type="escalation", subject_id=item.id
    )
    return render(request, "school_escalation.html", actor=actor, item=item)


@pages.get("/school/consultations/{consultation_id}", include_in_schema=False)
def school_consultation(
    *,
    request: Request,
    consultation_id: int = item_id(),
    actor: Practitioner,
    db: Db,
) -> Response:
    item = fetch_consultation(db, actor, consultation_id)
    notifications.mark_subject_read(
        session=db, actor=actor, subject_type="consultation", subject_id=item.id
    )
    return render(request, "school_consultation.html", actor=actor, item=item)


@api.get("/school", summary="My school's named MASH contact and front door numbers")
def school_api(
    *,
    actor: Practitioner,
    db: Db,
    context: Ctx,
) -> dict[str, Any]:
    found = school_contacts(context, db, actor)

    def contact(c: Any) -> dict[str, Any]:
        return {"name": c.name, "phone": c.phone, "note": c.note}

    return {
        "organisation": found["organisation"].to_dict() if found["organisation"] else None,
        "named_contact": found["named_contact"].to_dict() if found["named_contact"] else None,
        "front_door": contact(found["front_door"]),
        "out_of_hours": contact(found["out_of_hours"]),
        "emergency": contact(found["emergency"]),
        "ring_now": {"name": found["ring_now"].name, "phone": found["ring_now"].number},
    }


@api.post(
    "/consultations",
    status_code=201,
    dependencies=[Depends(require_csrf)],
    summary="Request a consultation with a duty social worker",
)
def request_consultation_api(
    *,
    body: ConsultationIn,
    actor: Practitioner,
    db: Db,
    context: Ctx,
) -> dict[str, Any]:
    return _request(db, actor, body, context).to_dict()
