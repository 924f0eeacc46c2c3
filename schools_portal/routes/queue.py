"""The MASH queue: open escalations and consultations ranked by urgency and age with the time
left, a JSON feed the page polls (static/js/queue.js), and the item pages where staff pick up,
record an outcome, reassign, and (managers) read the audit trail."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from pydantic import BaseModel, Field, StrictInt, StrictStr, conint
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from app_context import AppContext
from chat.labels import category_label
from mash import audit, consultations, directory, escalations, levels
from mash.access import Actor
from mash.consultations import ADVICE_MAX
from mash.errors import MashError
from mash.escalations import NOTE_MAX, OPEN_STATUSES, OUTCOME_LABELS
from schools_portal.deps import Ctx, CurrentActor, Db, MashStaff
from schools_portal.inputs import CleanInputRoute
from schools_portal.queue_views import QueueViews, is_view
from schools_portal.rendering import STATUS_LABELS, flash, render, when
from schools_portal.resources import MAX_ID, fetch_consultation, fetch_escalation, item_id
from schools_portal.security import require_csrf

pages = APIRouter(tags=["MASH queue"], route_class=CleanInputRoute)
api = APIRouter(tags=["MASH queue"], route_class=CleanInputRoute)

POLL_SECONDS = 5
URGENCY_RANK = {"immediate": 0, "concern": 1}


class OutcomeIn(BaseModel):
    outcome_code: StrictStr = Field(..., max_length=60, description=", ".join(OUTCOME_LABELS))
    note: StrictStr = Field("", max_length=NOTE_MAX)
    # The level of need (1-4) and route the MASH decided (mash/levels.py); optional.
    decided_level: StrictInt | None = Field(None, description="1, 2, 3 or 4")
    decided_route: StrictStr | None = Field(
        None, max_length=40, description=", ".join(levels.ROUTE_LABELS)
    )


class ReassignIn(BaseModel):
    to_user_id: conint(strict=True, ge=1, le=MAX_ID)  # type: ignore[valid-type]


class CloseIn(BaseModel):
    advice: StrictStr = Field(..., max_length=ADVICE_MAX)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _queue_entry(kind: str, item: Any, raised: datetime, now: datetime) -> dict[str, Any]:
    """What the queue shows for any open item (escalation or consultation) raised at `raised`."""
    return {
        "kind": kind,
        "id": item.id,
        "reference": item.reference,
        "organisation": item.organisation_name or "Unverified sender",
        "verified": item.sender_verified,
        "status": item.status,
        "status_label": STATUS_LABELS.get(item.status, item.status),
        "raised_at": raised.isoformat(),
        "raised_label": when(raised),
        "age_minutes": int((now - raised).total_seconds() // 60),
        "holder": item.picked_up_by_name,
        "url": f"/queue/{kind}s/{item.id}",
    }


def ack_deadline(limits: dict[str, int], e: Any) -> datetime | None:
    """When the escalation must be acknowledged by (its urgency's limit after it was raised);
    None once it has been. The queue's countdown and the item page's timer both use it."""
    if e.acknowledged_at is not None:
        return None
    return _utc(e.raised_at) + timedelta(minutes=limits.get(e.urgency, 60))


def seconds_left(deadline: datetime | None, now: datetime) -> int | None:
    return int((deadline - now).total_seconds()) if deadline else None


def queue_items(
    context: AppContext, db: Session, actor: Actor,
    audited: dict[str, frozenset[int]] | None = None,
) -> dict[str, Any]:
    """The open items as the queue shows them, most urgent first, then oldest. `audited`: the
    ids a live view's audit entries already named (schools_portal/queue_views.py)."""
    now = datetime.now(timezone.utc)
    limits = context.settings.ack_limit_minutes
    audited = audited or {}
    labels = context.guidance.pack.lexicon.labels
    items = []
    for e in escalations.list_escalations(
        session=db, actor=actor, open_only=True, limit=200,
        already_audited=audited.get("escalation"),
    ):
        raised = _utc(e.raised_at)
        deadline = ack_deadline(limits, e)
        items.append(
            {
                **_queue_entry("escalation", e, raised, now),
                "urgency": e.urgency,
                "message_count": e.message_count,  # further messages joined it (followups)
                "categories": [category_label(c, labels) for c in e.categories],
                "deadline": deadline.isoformat() if deadline else None,
                "seconds_left": seconds_left(deadline, now),
            }
        )
    items.sort(key=lambda i: (URGENCY_RANK.get(i["urgency"], 9), i["raised_at"]))
    consults = [
        {**_queue_entry("consultation", c, _utc(c.requested_at), now), "best_time": c.best_time}
        for c in consultations.list_consultations(
            session=db, actor=actor, open_only=True, limit=200,
            already_audited=audited.get("consultation"),
        )
    ]
    return {"now": now.isoformat(), "escalations": items, "consultations": consults}


def mash_people(db: Session, actor: Actor) -> list[Any]:
    people = directory.list_people(session=db, actor=actor, role="mash_worker")
    people += directory.list_people(session=db, actor=actor, role="mash_manager")
    return [p for p in people if p.active]


def trail_or_none(db: Session, actor: Actor, kind: str, item_id: int) -> list[Any] | None:
    """The audit trail for MASH managers; None for others (the service allows managers only)."""
    if not actor.is_manager:
        return None
    return audit.trail(session=db, actor=actor, subject_type=kind, subject_id=item_id)


def trail_dicts(db: Session, actor: Actor, kind: str, item_id: int) -> list[dict[str, Any]]:
    """The audit trail as JSON (the service refuses anyone but MASH managers)."""
    return [
        a.to_dict()
        for a in audit.trail(session=db, actor=actor, subject_type=kind, subject_id=item_id)
    ]


# ---- pages ----


@pages.get("/queue", include_in_schema=False)
def queue_page(
    *,
    request: Request,
    actor: MashStaff,
    db: Db,
    context: Ctx,
) -> Response:
    queue = queue_items(context, db, actor)
    return render(
        request, "queue.html", actor=actor, queue=queue, poll_seconds=POLL_SECONDS,
        view=request.app.state.queue_views.start(actor.user_id, queue),
    )


@pages.get("/queue/escalations/{escalation_id}", include_in_schema=False)
def escalation_page(
    *,
    request: Request,
    escalation_id: int = item_id(),
    actor: MashStaff,
    db: Db,
    context: Ctx,
) -> Response:
    item = fetch_escalation(db, actor, escalation_id)
    may_act = actor.is_manager or item.picked_up_by == actor.user_id
    is_open = item.status in OPEN_STATUSES
    now = datetime.now(timezone.utc)
    return render(
        request,
        "queue_escalation.html",
        actor=actor,
        item=item,
        is_open=is_open,
        may_act=may_act,
        # The actions panel only when it holds an action this person may take.
        has_actions=is_open and (item.status in ("raised", "acknowledged") or may_act),
        seconds_left=seconds_left(ack_deadline(context.settings.ack_limit_minutes, item), now),
        waited_minutes=int((now - _utc(item.raised_at)).total_seconds() // 60),
        outcomes=OUTCOME_LABELS,
        routes=levels.ROUTE_LABELS,
        level_names=level_names(context),
        source_labels=levels.SOURCE_LABELS,
        # What was typed into an outcome form that was refused: shown again, nothing lost.
        entered=request.session.pop(f"outcome_form:{item.id}", None) or {},
        people=mash_people(db, actor) if is_open and may_act else [],
        trail=trail_or_none(db, actor, "escalation", item.id),
        note_max=NOTE_MAX,
    )


@pages.get("/queue/consultations/{consultation_id}", include_in_schema=False)
def consultation_page(
    *,
    request: Request,
    consultation_id: int = item_id(),
    actor: MashStaff,
    db: Db,
) -> Response:
    item = fetch_consultation(db, actor, consultation_id)
    may_act = actor.is_manager or item.picked_up_by == actor.user_id
    now = datetime.now(timezone.utc)
    return render(
        request,
        "queue_consultation.html",
        actor=actor,
        item=item,
        may_act=may_act,
        has_actions=item.status == "queued" or (item.status == "picked_up" and may_act),
        waited_minutes=int((now - _utc(item.requested_at)).total_seconds() // 60),
        trail=trail_or_none(db, actor, "consultation", item.id),
        advice_max=ADVICE_MAX,
    )


def _act(request: Request, target: str, action: Any, success: str) -> Response:
    """Run a service call from a form; report the result on the item page (post/redirect/get)."""
    try:
        action()
    except MashError as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, success, "success")
    return RedirectResponse(target, status_code=303)


CSRF = [Depends(require_csrf)]


@pages.post("/queue/escalations/{escalation_id}/pick-up", include_in_schema=False,
            dependencies=CSRF)
def pick_up_form(
    *,
    request: Request,
    escalation_id: int = item_id(),
    actor: MashStaff,
    db: Db,
) -> Response:
    return _act(
        request,
        f"/queue/escalations/{escalation_id}",
        lambda: escalations.pick_up(session=db, actor=actor, escalation_id=escalation_id),
        "You have picked this escalation up.",
    )


def level_names(context: AppContext) -> dict[int, str]:
    """The pack's name for each level, for the decided-level choice."""
    return {level.number: level.name for level in context.guidance.pack.levels}


@pages.post("/queue/escalations/{escalation_id}/outcome", include_in_schema=False,
            dependencies=CSRF)
def outcome_form(
    *,
    request: Request,
    escalation_id: int = item_id(),
    outcome_code: str = Form("", max_length=60),
    note: str = Form("", max_length=NOTE_MAX),
    decided_level: str = Form("", max_length=20),
    decided_route: str = Form("", max_length=40),
    actor: MashStaff,
    db: Db,
    context: Ctx,
) -> Response:
    target = f"/queue/escalations/{escalation_id}"
    try:
        escalations.record_outcome(
            session=db, actor=actor, escalation_id=escalation_id, outcome_code=outcome_code,
            note=note, decided_level=levels.parse_level(decided_level),
            decided_route=decided_route or None,
            level_guide=context.guidance.pack.levels.levels,
        )
    except MashError as exc:
        flash(request, str(exc), "error")
        # Shown again on the page, so a refused value costs nothing typed.
        request.session[f"outcome_form:{escalation_id}"] = {
            "outcome_code": outcome_code, "note": note, "decided_level": decided_level,
            "decided_route": decided_route,
        }
    else:
        flash(request, "Outcome recorded. The person who raised it will be told.", "success")
    return RedirectResponse(target, status_code=303)


@pages.post("/queue/escalations/{escalation_id}/reassign", include_in_schema=False,
            dependencies=CSRF)
def reassign_form(
    *,
    request: Request,
    escalation_id: int = item_id(),
    to_user_id: int = Form(..., ge=1, le=MAX_ID),
    actor: MashStaff,
    db: Db,
) -> Response:
    return _act(
        request,
        f"/queue/escalations/{escalation_id}",
        lambda: escalations.reassign(
            session=db, actor=actor, escalation_id=escalation_id, to_user_id=to_user_id
        ),
        "Escalation reassigned.",
    )


@pages.post("/queue/consultations/{consultation_id}/pick-up", include_in_schema=False,
            dependencies=CSRF)
def pick_up_consultation_form(
    *,
    request: Request,
    consultation_id: int = item_id(),
    actor: MashStaff,
    db: Db,
) -> Response:
    return _act(
        request,
        f"/queue/consultations/{consultation_id}",
        lambda: consultations.pick_up_consultation(
            session=db, actor=actor, consultation_id=consultation_id
        ),
        "You have picked this consultation up.",
    )


@pages.post("/queue/consultations/{consultation_id}/close", include_in_schema=False,
            dependencies=CSRF)
def close_consultation_form(
    *,
    request: Request,
    consultation_id: int = item_id(),
    advice: str = Form("", max_length=ADVICE_MAX),
    actor: MashStaff,
    db: Db,
) -> Response:
    return _act(
        request,
        f"/queue/consultations/{consultation_id}",
        lambda: consultations.close_consultation(
            session=db, actor=actor, consultation_id=consultation_id, advice=advice
        ),
        "Advice recorded and the consultation closed. The practitioner will be told.",
    )


# ---- JSON API ----


@api.get("/queue", summary="The open escalations and consultations (MASH staff)")
def queue_api(
    *,
    request: Request,
    view: str | None = Query(
        None, max_length=64,
        description="The queue page's view token: its refreshes are audited only when they "
        "show an item the view has not yet shown",
    ),
    actor: MashStaff,
    db: Db,
    context: Ctx,
) -> dict[str, Any]:
    views: QueueViews = request.app.state.queue_views
    queue = queue_items(context, db, actor, audited=views.named(actor.user_id, view))
    if is_view(view):
        views.remember(actor.user_id, view, queue)
    return queue


@api.get("/escalations", summary="Escalations visible to you (your organisation's, or all)")
def list_escalations_api(
    *,
    status: str | None = Query(None, max_length=40),
    urgency: str | None = Query(None, max_length=40),
    open_only: bool = False,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_ID),
    actor: CurrentActor,
    db: Db,
) -> list[dict[str, Any]]:
    return [
        e.to_dict()
        for e in escalations.list_escalations(
            session=db, actor=actor, status=status, urgency=urgency, open_only=open_only,
            limit=limit, offset=offset,
        )
    ]


@api.get("/escalations/{escalation_id}", summary="One escalation (an audited read)")
def get_escalation_api(
    *,
    escalation_id: int = item_id(),
    actor: CurrentActor,
    db: Db,
) -> dict[str, Any]:
    return fetch_escalation(db, actor, escalation_id).to_dict()


@api.post("/escalations/{escalation_id}/pick-up", dependencies=CSRF,
          summary="Pick an escalation up (409 if someone else has it)")
def pick_up_api(
    *,
    escalation_id: int = item_id(),
    actor: MashStaff,
    db: Db,
) -> dict[str, Any]:
    return escalations.pick_up(session=db, actor=actor, escalation_id=escalation_id).to_dict()


@api.post("/escalations/{escalation_id}/outcome", dependencies=CSRF,
          summary="Record the outcome; the originator is told")
def outcome_api(
    *,
    body: OutcomeIn,
    escalation_id: int = item_id(),
    actor: MashStaff,
    db: Db,
    context: Ctx,
) -> dict[str, Any]:
    return escalations.record_outcome(
        session=db, actor=actor, escalation_id=escalation_id, outcome_code=body.outcome_code,
        note=body.note, decided_level=body.decided_level, decided_route=body.decided_route,
        level_guide=context.guidance.pack.levels.levels,
    ).to_dict()


@api.post("/escalations/{escalation_id}/reassign", dependencies=CSRF,
          summary="Hand the escalation to another MASH worker")
def reassign_api(
    *,
    body: ReassignIn,
    escalation_id: int = item_id(),
    actor: MashStaff,
    db: Db,
) -> dict[str, Any]:
    return escalations.reassign(
        session=db, actor=actor, escalation_id=escalation_id, to_user_id=body.to_user_id
    ).to_dict()


@api.get("/escalations/{escalation_id}/audit", summary="The audit trail (MASH managers)")
def escalation_audit_api(
    *,
    escalation_id: int = item_id(),
    actor: MashStaff,
    db: Db,
) -> list[dict[str, Any]]:
    fetch_escalation(db, actor, escalation_id)
    return trail_dicts(db, actor, "escalation", escalation_id)


@api.get("/consultations", summary="Consultations visible to you (without their text)")
def list_consultations_api(
    *,
    status: str | None = Query(None, max_length=40),
    open_only: bool = False,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_ID),
    actor: CurrentActor,
    db: Db,
) -> list[dict[str, Any]]:
    return [
        c.to_dict()
        for c in consultations.list_consultations(
            session=db, actor=actor, status=status, open_only=open_only, limit=limit,
            offset=offset,
        )
    ]


@api.get("/consultations/{consultation_id}", summary="One consultation (an audited read)")
def get_consultation_api(
    *,
    consultation_id: int = item_id(),
    actor: CurrentActor,
    db: Db,
) -> dict[str, Any]:
    return fetch_consultation(db, actor, consultation_id).to_dict()


@api.post("/consultations/{consultation_id}/pick-up", dependencies=CSRF,
          summary="Pick a consultation up")
def pick_up_consultation_api(
    *,
    consultation_id: int = item_id(),
    actor: MashStaff,
    db: Db,
) -> dict[str, Any]:
    return consultations.pick_up_consultation(
        session=db, actor=actor, consultation_id=consultation_id
    ).to_dict()


@api.post("/consultations/{consultation_id}/close", dependencies=CSRF,
          summary="Record the advice and close; the practitioner is told")
def close_consultation_api(
    *,
    body: CloseIn,
    consultation_id: int = item_id(),
    actor: MashStaff,
    db: Db,
) -> dict[str, Any]:
    return consultations.close_consultation(
        session=db, actor=actor, consultation_id=consultation_id, advice=body.advice
    ).to_dict()


@api.get("/consultations/{consultation_id}/audit", summary="The audit trail (MASH managers)")
def consultation_audit_api(
    *,
    consultation_id: int = item_id(),
    actor: MashStaff,
    db: Db,
) -> list[dict[str, Any]]:
    fetch_consultation(db, actor, consultation_id)
    return trail_dicts(db, actor, "consultation", consultation_id)


@api.get("/mash-staff", summary="MASH workers and managers (to reassign to)")
def mash_staff_api(
    *,
    actor: MashStaff, db: Db
) -> list[dict[str, Any]]:
    return [{"id": p.id, "name": p.name, "role": p.role} for p in mash_people(db, actor)]
