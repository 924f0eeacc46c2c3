"""Portal sessions kept in the database, so that signing out really ends them.

The browser's cookie holds only a random token (32 bytes); the table keeps an HMAC of it under
SECRET_KEY, so neither a copy of the table nor of the cookie alone makes a session. A session
ends when it is revoked (sign-out, "sign out everywhere", a password change), when it has been
idle for `idle`, or `absolute` after it began, whichever comes first.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from mash.access import Actor
from mash.models import PortalSession
from settings import Settings

TOKEN_BYTES = 32
# last_seen_at is written at most this often, so a page view is not a database write.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class Lifetimes:
    idle: timedelta
    absolute: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Lifetimes:
        return cls(
            idle=timedelta(minutes=settings.session_idle_minutes),
            absolute=timedelta(hours=settings.session_absolute_hours),
        )

    def alive(self, record: SessionRecord, now: datetime) -> bool:
        return now < record.expires_at and now < record.last_seen_at + self.idle


@dataclass
class SessionRecord:
    id: int
    token_hash: str
    user_id: int | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    data: dict[str, Any] = field(default_factory=dict)


def token_hash(key: str, token: str) -> str:
    return hmac.new(key.encode(), token.encode(), hashlib.sha256).hexdigest()


def _record(row: PortalSession) -> SessionRecord:
    return SessionRecord(
        id=row.id,
        token_hash=row.token_hash,
        user_id=row.user_id,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
        data=dict(row.data or {}),
    )


def load(
    session: Session, *, key: str, token: str, lifetimes: Lifetimes, now: datetime
) -> SessionRecord | None:
    """The live session for a cookie's token, or None (unknown, revoked, idle or too old)."""
    if not token or len(token) > 100:
        return None
    row = session.execute(
        select(PortalSession).where(
            PortalSession.token_hash == token_hash(key, token),
            PortalSession.revoked_at.is_(None),
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    record = _record(row)
    return record if lifetimes.alive(record, now) else None


def create(
    session: Session,
    *,
    key: str,
    data: dict[str, Any],
    user_id: int | None,
    lifetimes: Lifetimes,
    now: datetime,
) -> tuple[str, SessionRecord]:
    """A new session; returns the token for the cookie (never stored) and the record."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = PortalSession(
        token_hash=token_hash(key, token),
        user_id=user_id,
        data=dict(data),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetimes.absolute,
    )
    session.add(row)
    session.flush()
    return token, _record(row)


def save(session: Session, *, record_id: int, data: dict[str, Any] | None, now: datetime) -> None:
    """Mark the session used at `now`, and replace its data when given."""
    values: dict[str, Any] = {"last_seen_at": now}
    if data is not None:
        values["data"] = dict(data)
    session.execute(
        update(PortalSession)
        .where(PortalSession.id == record_id, PortalSession.revoked_at.is_(None))
        .values(**values)
    )


def revoke(session: Session, *, record_id: int, now: datetime) -> None:
    session.execute(
        update(PortalSession)
        .where(PortalSession.id == record_id, PortalSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_all(session: Session, *, user_id: int, now: datetime) -> int:
    """End every session of one person (sign out everywhere, password change, 2FA reset)."""
    result = session.execute(
        update(PortalSession)
        .where(PortalSession.user_id == user_id, PortalSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)


def live_count(session: Session, *, user_id: int, lifetimes: Lifetimes, now: datetime) -> int:
    rows = session.execute(
        select(PortalSession).where(
            PortalSession.user_id == user_id, PortalSession.revoked_at.is_(None)
        )
    ).scalars()
    return sum(1 for row in rows if lifetimes.alive(_record(row), now))


def purge(session: Session, *, lifetimes: Lifetimes, now: datetime) -> int:
    """Delete sessions that can no longer be used (revoked, idle or past their lifetime)."""
    result = session.execute(
        delete(PortalSession).where(
            or_(
                PortalSession.revoked_at.is_not(None),
                PortalSession.expires_at <= now,
                PortalSession.last_seen_at <= now - lifetimes.idle,
            )
        )
    )
    return int(result.rowcount or 0)


def end_everywhere(*, session: Session, actor: Actor, now: datetime) -> int:
    """ "Sign out everywhere": every session of the actor ends. Audited. Commits."""
    from mash import audit

    if actor.user_id is None:
        return 0
    ended = revoke_all(session, user_id=actor.user_id, now=now)
    audit.record(
        session,
        actor=actor,
        action="signed_out_everywhere",
        subject_type="person",
        subject_id=actor.user_id,
        detail={"sessions_ended": ended},
        now=now,
    )
    session.commit()
    return ended
