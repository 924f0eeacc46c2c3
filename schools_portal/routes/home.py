"""The front page sends each role to where its work is."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from schools_portal.deps import MASH_STAFF, PRACTITIONERS, CurrentActor
from schools_portal.inputs import CleanInputRoute

pages = APIRouter(tags=["home"], route_class=CleanInputRoute)
api = APIRouter(tags=["home"], route_class=CleanInputRoute)


@pages.get("/", include_in_schema=False)
def home(*, actor: CurrentActor) -> Response:
    if actor.role in PRACTITIONERS:
        target = "/chat"
    elif actor.role in MASH_STAFF:
        target = "/queue"
    elif actor.role == "admin":
        target = "/dashboard"
    else:
        target = "/guidance"
    return RedirectResponse(target, status_code=303)


@api.get("/health", summary="Liveness check (no database access)")
def health() -> dict:
    return {"status": "ok"}
