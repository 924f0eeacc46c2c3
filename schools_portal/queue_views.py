"""A live view of the MASH queue: the queue page audits its listing once, and the page's own
refreshes (static/js/queue.js) write another audit entry only when they show an item that
view's entries have not yet named. So the trail still says who saw which item, without a row
every few seconds. A view is a random token the page carries, remembered in the portal session
with the ids its entries named; a refresh without a known token (any other API client) is
audited as before."""

from __future__ import annotations

import re
import secrets
from typing import Any

from fastapi import Request

VIEWS_KEY = "queue_views"
KEEP_VIEWS = 5  # queue tabs per portal session (oldest forgotten: audited again, not lost)
VIEW_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def audited_ids(request: Request, view: str | None) -> dict[str, list[int]] | None:
    """What the view's audit entries named so far ({"escalation": [...], "consultation":
    [...]}), or None for an unknown view (then the listing is audited)."""
    if not view or not VIEW_TOKEN.fullmatch(view):
        return None
    return request.session.get(VIEWS_KEY, {}).get(view)


def start(request: Request, queue: dict[str, Any]) -> str:
    """A new view of `queue` (the page just listed it, audited)."""
    view = secrets.token_urlsafe(16)
    remember(request, view, queue)
    return view


def remember(request: Request, view: str, queue: dict[str, Any]) -> None:
    """Add the items `queue` shows to what the view's audit entries named."""
    before = request.session.get(VIEWS_KEY, {}).get(view) or {}
    named = {
        kind: sorted(set(before.get(kind, [])) | {i["id"] for i in queue[f"{kind}s"]})
        for kind in ("escalation", "consultation")
    }
    if named == before:
        return  # nothing new: the session is not rewritten either
    views = {k: v for k, v in request.session.get(VIEWS_KEY, {}).items() if k != view}
    views[view] = named
    request.session[VIEWS_KEY] = dict(list(views.items())[-KEEP_VIEWS:])
