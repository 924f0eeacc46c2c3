"""A live view of the MASH queue: the queue page audits its listing once, and the page's own
refreshes (static/js/queue.js) write another audit entry only when they show an item that
view's entries have not yet named. So the trail still says who saw which item, without a row
every few seconds. A view is a random token the page carries, remembered in the portal session
with the ids its entries named. A refresh with a token the session does not know (forgotten,
lost to another tab's write of the session, or made up) is audited and then remembered: every
item a person is shown is still named in an entry of theirs. Without a token (any other API
client) every listing is audited, as before."""

from __future__ import annotations

import re
import secrets
from typing import Any

from fastapi import Request

VIEWS_KEY = "queue_views"
KEEP_VIEWS = 10  # queue tabs per portal session (the oldest forgotten: audited again)
VIEW_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def is_view(view: str | None) -> bool:
    return bool(view and VIEW_TOKEN.fullmatch(view))


def audited_ids(request: Request, view: str | None) -> dict[str, list[int]] | None:
    """What the view's audit entries named so far ({"escalation": [...], "consultation":
    [...]}), or None for an unknown view (then the listing is audited)."""
    if not is_view(view):
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
