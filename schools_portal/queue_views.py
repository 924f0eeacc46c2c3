"""A live view of the MASH queue: the queue page audits its listing once, and the page's own
refreshes (static/js/queue.js) write another audit entry only when they show an item that
view's entries have not yet named. So the trail still says who saw which item, without a row
every few seconds.

A view is a random token the page carries. What each view's entries named is kept in this
process's memory (bounded, per user), not in the portal session: a worker's several queue tabs
share one session, and their writes of it would undo each other. A refresh with a view this
process does not know (another replica's, forgotten after a restart or by the bound, or made
up) is audited and then remembered: every item a person is shown is still named in an entry of
theirs. Without a view (any other API client) every listing is audited, as before.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from typing import Any

VIEW_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
KINDS = ("escalation", "consultation")


def is_view(view: str | None) -> bool:
    return bool(view and VIEW_TOKEN.fullmatch(view))


class QueueViews:
    """Ids named by each live view's audit entries, by (user id, view token). One per app."""

    def __init__(self, size: int = 5_000) -> None:
        self._views: OrderedDict[tuple[int | None, str], dict[str, frozenset[int]]] = (
            OrderedDict()
        )
        self._size = size
        self._lock = threading.Lock()

    def start(self, user_id: int | None, queue: dict[str, Any]) -> str:
        """A new view of `queue` (the page just listed it, audited)."""
        view = secrets.token_urlsafe(16)
        self.remember(user_id, view, queue)
        return view

    def named(self, user_id: int | None, view: str | None) -> dict[str, frozenset[int]] | None:
        """What the view's entries named so far, or None for an unknown view (audit then)."""
        if not is_view(view):
            return None
        with self._lock:
            return self._views.get((user_id, view))

    def remember(self, user_id: int | None, view: str, queue: dict[str, Any]) -> None:
        """Add the items `queue` shows to what the view's entries named."""
        key = (user_id, view)
        with self._lock:
            before = self._views.get(key, {})
            self._views[key] = {
                kind: before.get(kind, frozenset()) | {i["id"] for i in queue[f"{kind}s"]}
                for kind in KINDS
            }
            self._views.move_to_end(key)
            while len(self._views) > self._size:
                self._views.popitem(last=False)
