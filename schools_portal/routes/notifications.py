"""Notifications: the outcomes of what a practitioner raised, as the MASH records them.

The rows are written by the outbox's portal inbox (mash/notifications.py). The navigation shows
the unread count on every practitioner page and keeps it current with a cheap poll of
`GET /api/notifications/unread` (static/js/notifications.js: a count and the newest unread
title, no audit row per poll); the page lists them (an audited read) and marks them read.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from mash import notifications
from schools_portal.deps import Db, Practitioner
from schools_portal.inputs import CleanInputRoute
from schools_portal.rendering import flash, render
from schools_portal.resources import item_id
from schools_portal.security import require_csrf

pages = APIRouter(tags=["notifications"], route_class=CleanInputRoute)
api = APIRouter(tags=["notifications"], route_class=CleanInputRoute)

CSRF = [Depends(require_csrf)]


@pages.get("/notifications", include_in_schema=False)
def notifications_page(*, request: Request, actor: Practitioner, db: Db) -> Response:
    items = notifications.list_notifications(session=db, actor=actor)
    return render(request, "notifications.html", actor=actor, items=items)


@pages.post("/notifications/read", include_in_schema=False, dependencies=CSRF)
def mark_all_read_form(*, request: Request, actor: Practitioner, db: Db) -> Response:
    changed = notifications.mark_read(session=db, actor=actor)
    flash(request, f"{changed} notification{'s' if changed != 1 else ''} marked as read.",
          "success")
    return RedirectResponse("/notifications", status_code=303)


@pages.post("/notifications/{notification_id}/read", include_in_schema=False,
            dependencies=CSRF)
def mark_read_form(
    *, request: Request, notification_id: int = item_id(), actor: Practitioner, db: Db
) -> Response:
    notifications.mark_read(session=db, actor=actor, notification_id=notification_id)
    flash(request, "Marked as read.", "success")
    return RedirectResponse("/notifications", status_code=303)


@api.get("/notifications/unread", summary="How many notifications you have not read yet")
def unread_api(*, actor: Practitioner, db: Db) -> dict[str, Any]:
    return notifications.unread(session=db, actor=actor).to_dict()


@api.get("/notifications", summary="Your notifications, newest first (an audited read)")
def list_api(*, actor: Practitioner, db: Db) -> list[dict[str, Any]]:
    return [n.to_dict() for n in notifications.list_notifications(session=db, actor=actor)]


@api.post("/notifications/read", dependencies=CSRF, summary="Mark all your notifications read")
def mark_all_read_api(*, actor: Practitioner, db: Db) -> dict[str, int]:
    return {"marked_read": notifications.mark_read(session=db, actor=actor)}


@api.post("/notifications/{notification_id}/read", dependencies=CSRF,
          summary="Mark one of your notifications read")
def mark_read_api(
    *, notification_id: int = item_id(), actor: Practitioner, db: Db
) -> dict[str, int]:
    return {
        "marked_read": notifications.mark_read(
            session=db, actor=actor, notification_id=notification_id
        )
    }
