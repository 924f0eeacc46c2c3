"""The partnership's gap list: the questions the assistant answered without confidence, grouped
by topic (guidance.gaps), and a form to mark a group "added to the guide" with its section.
MASH managers only; reads and changes are audited by the MASH service (mash/gaps.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from guidance.gaps import group_gaps
from mash import gaps
from mash.errors import InvalidInput
from schools_portal.deps import Ctx, Db, Manager
from schools_portal.inputs import CleanInputRoute
from schools_portal.rendering import flash, render
from schools_portal.security import require_csrf

pages = APIRouter(tags=["gap list"], route_class=CleanInputRoute)
api = APIRouter(tags=["gap list"], route_class=CleanInputRoute)


def _groups(db: Any, actor: Any, context: Any) -> list[Any]:
    titles = {section.id: section.title for section in context.guidance.pack.sections}
    records = [record.to_dict() for record in gaps.list_gaps(session=db, actor=actor)]
    return group_gaps(records, titles)


@pages.get("/dashboard/gaps", include_in_schema=False)
def gaps_page(*, request: Request, actor: Manager, db: Db, context: Ctx) -> Response:
    return render(request, "gaps.html", actor=actor, groups=_groups(db, actor, context),
                  sections=list(context.guidance.pack.sections))


@pages.post("/dashboard/gaps/added", include_in_schema=False,
            dependencies=[Depends(require_csrf)])
def mark_added_form(
    *,
    request: Request,
    topic: str = Form(..., max_length=120),
    section: str = Form(..., max_length=100),
    actor: Manager,
    db: Db,
    context: Ctx,
) -> Response:
    # Only a section the guide has: the record must point the partnership at real text.
    if context.guidance.pack.sections.get(section) is None:
        flash(request, f"There is no section '{section[:100]}' in the guide.", "error")
        return RedirectResponse("/dashboard/gaps", status_code=303)
    try:
        count = gaps.mark_added(session=db, actor=actor, topic=topic, section_id=section)
    except InvalidInput as exc:
        flash(request, str(exc), "error")
        return RedirectResponse("/dashboard/gaps", status_code=303)
    flash(request, f"{count} question(s) marked as added to the guide in '{section}'.",
          "success")
    return RedirectResponse("/dashboard/gaps", status_code=303)


@api.get("/gaps", summary="The gap list grouped by topic (MASH managers)")
def gaps_api(*, actor: Manager, db: Db, context: Ctx) -> list[dict[str, Any]]:
    return [group.to_dict() for group in _groups(db, actor, context)]
