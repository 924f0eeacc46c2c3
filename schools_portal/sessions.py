"""The portal's session middleware: the cookie carries only a random token, everything else
(who signed in, the CSRF token, one-time messages, a sign-in step in progress) is kept in the
database (mash/sessions.py), so sign-out, "sign out everywhere" and a password change end a
session for every copy of its cookie.

`request.session` is the session's data, as with Starlette's cookie sessions. Routes sign a
person in with `begin(request, user_id)` (a new token: no session fixation) and out with
`end(request)`; `signed_in_user(request)` is the user id of a fully signed-in session.

While the database is unreachable, a session this process checked within the idle timeout is
still honoured (from memory), so a signed-in practitioner's chat keeps screening messages and
showing the safety message; nothing else is guessed, and nothing can be revoked until the
database is back.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mash import sessions as store
from mash.clock import utcnow

log = logging.getLogger(__name__)
SESSION_COOKIE = "portal_session"
STATE_KEY = "portal.session"
CACHE_SIZE = 10_000


@dataclass
class Handle:
    """One request's view of its session."""

    record: store.SessionRecord | None
    loaded: dict[str, Any]
    action: str | None = None  # "begin" or "end"
    user_id: int | None = None  # for "begin"
    presented: bool = False  # the request carried a cookie


class RecentSessions:
    """Sessions this process has checked lately, for a database outage (bounded, LRU)."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, store.SessionRecord] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, record: store.SessionRecord) -> None:
        with self._lock:
            self._items[record.token_hash] = record
            self._items.move_to_end(record.token_hash)
            while len(self._items) > CACHE_SIZE:
                self._items.popitem(last=False)

    def get(self, token_hash: str) -> store.SessionRecord | None:
        with self._lock:
            return self._items.get(token_hash)

    def drop(self, token_hash: str) -> None:
        with self._lock:
            self._items.pop(token_hash, None)


class ServerSessions:
    """ASGI middleware loading and saving server-side sessions around each request."""

    def __init__(self, app: ASGIApp, *, https_only: bool) -> None:
        self.app = app
        self.https_only = https_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        portal = scope["app"].state
        token = HTTPConnection(scope).cookies.get(SESSION_COOKIE, "")
        record = await run_in_threadpool(self._load, portal, token) if token else None
        handle = Handle(
            record=record, loaded=dict(record.data) if record else {}, presented=bool(token)
        )
        scope["session"] = dict(handle.loaded)
        scope[STATE_KEY] = handle

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = await run_in_threadpool(self._save, portal, scope, handle)
                if cookie is not None:
                    MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    # ---- in the threadpool: database work ----

    def _load(self, portal: Any, token: str) -> store.SessionRecord | None:
        now = _now(portal)
        key = portal.settings.secret_key
        lifetimes = store.Lifetimes.from_settings(portal.settings)
        try:
            with portal.context.sessions() as db:
                record = store.load(db, key=key, token=token, lifetimes=lifetimes, now=now)
        except OperationalError:
            cached = portal.recent_sessions.get(store.token_hash(key, token))
            if cached is not None and lifetimes.alive(cached, now):
                log.warning("database unavailable; honouring session %s checked earlier", cached.id)
                return cached
            return None
        if record is not None:
            portal.recent_sessions.put(record)
        else:
            portal.recent_sessions.drop(store.token_hash(key, token))
        return record

    def _save(self, portal: Any, scope: Scope, handle: Handle) -> str | None:
        """Persist the request's changes; returns a Set-Cookie value when the cookie changes."""
        now = _now(portal)
        settings = portal.settings
        lifetimes = store.Lifetimes.from_settings(settings)
        data = dict(scope.get("session") or {})
        record = handle.record
        try:
            with portal.context.sessions() as db:
                if handle.action in {"begin", "end"}:
                    if record is not None:
                        store.revoke(db, record_id=record.id, now=now)
                        portal.recent_sessions.drop(record.token_hash)
                    user_id = handle.user_id if handle.action == "begin" else None
                    if handle.action == "begin" or data:
                        token, new = store.create(
                            db,
                            key=settings.secret_key,
                            data=data,
                            user_id=user_id,
                            lifetimes=lifetimes,
                            now=now,
                        )
                        db.commit()
                        portal.recent_sessions.put(new)
                        return self._cookie(token, lifetimes)
                    db.commit()
                    return self._cookie("", lifetimes)
                if record is not None:
                    changed = data != handle.loaded
                    if changed or now - record.last_seen_at >= store.TOUCH_EVERY:
                        store.save(db, record_id=record.id, data=data if changed else None, now=now)
                        db.commit()
                        record.last_seen_at = now
                        record.data = data
                    return None
                if data:  # a first visit that needs a session (the sign-in form's CSRF token)
                    token, new = store.create(
                        db,
                        key=settings.secret_key,
                        data=data,
                        user_id=None,
                        lifetimes=lifetimes,
                        now=now,
                    )
                    db.commit()
                    return self._cookie(token, lifetimes)
        except OperationalError:
            # The answer (perhaps the safety message) matters more than the session's upkeep.
            log.warning("database unavailable; session changes not saved")
            return None
        return self._cookie("", lifetimes) if handle.presented else None

    def _cookie(self, token: str, lifetimes: store.Lifetimes) -> str:
        max_age = int(lifetimes.absolute.total_seconds()) if token else 0
        parts = [
            f"{SESSION_COOKIE}={token}",
            "path=/",
            f"Max-Age={max_age}",
            "httponly",
            "samesite=lax",
        ]  # strict would drop the cookie when following an e-mailed link
        if self.https_only:
            parts.append("secure")
        return "; ".join(parts)


def _now(portal: Any) -> datetime:
    clock: Callable[[], datetime] | None = getattr(portal, "clock", None)
    return clock() if clock is not None else utcnow()


def handle(request: Request) -> Handle:
    return request.scope[STATE_KEY]


def signed_in_user(request: Request) -> int | None:
    """The user id of a fully signed-in session (both factors), else None."""
    h = handle(request)
    if h.action == "end":
        return None
    if h.action == "begin":
        return h.user_id
    return h.record.user_id if h.record is not None else None


def begin(request: Request, user_id: int, *, keep: dict[str, Any] | None = None) -> None:
    """Sign `user_id` in: a new session and token replace this one (nothing else survives but
    `keep`)."""
    h = handle(request)
    h.action, h.user_id = "begin", user_id
    request.session.clear()
    request.session.update(keep or {})


def restart(request: Request, *, keep: dict[str, Any] | None = None) -> None:
    """End this session and start an anonymous one holding only `keep` (sign-out's message,
    a sign-in step in progress), under a new token."""
    h = handle(request)
    h.action, h.user_id = "end", None
    request.session.clear()
    request.session.update(keep or {})


end = restart


def now(request: Request) -> datetime:
    """The portal's clock (tests inject one through app.state.clock)."""
    return _now(request.app.state)
