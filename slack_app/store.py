"""The Slack app's own small tables: handled events, duty-channel cards and sent posts.

They live in the MASH database (migration `0002_slack`) under their own MetaData, so the MASH
models stay the MASH colleague's; a schema comparison should use `[Base.metadata, metadata]`.

- `slack_events`: one row per practitioner message handled, keyed by workspace, channel and
  message ts. Slack retries an event (same event id, same message) when it thinks we were slow;
  the row makes the retry a no-op in every process that shares the database.
- `slack_posts`: the duty-channel card of each escalation or consultation (channel and ts), so
  any process can update it in place with chat.update.
- `slack_conversations`: when each practitioner's conversation with the assistant (one per
  thread) last had a message, so a form left idle there is stopped first (chat/forms.py).
- `slack_deliveries`: every post the outbox target made, keyed by the outbox idempotency key
  plus a part name. `sending` rows whose outcome is unknown (a timeout) are looked up in the
  channel's history before posting again, so a retried delivery never shows twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, Integer, MetaData, String, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import declarative_base, sessionmaker

from mash.clock import utcnow
from mash.models import NAMING, UTCDateTime

metadata = MetaData(naming_convention=NAMING)
SlackBase = declarative_base(metadata=metadata)

# A handler that has not finished after this long is presumed dead; a retry may take over.
STALE_CLAIM = timedelta(minutes=2)
KEEP_EVENTS = timedelta(days=7)


class SlackEvent(SlackBase):
    __tablename__ = "slack_events"

    key = Column(String(200), primary_key=True)  # team:channel:ts of the message
    event_id = Column(String(100))
    state = Column(String(20), nullable=False)  # processing | done
    claimed_at = Column(UTCDateTime, nullable=False)
    done_at = Column(UTCDateTime)


class SlackPost(SlackBase):
    __tablename__ = "slack_posts"

    subject_type = Column(String(30), primary_key=True)
    subject_id = Column(Integer, primary_key=True)
    channel = Column(String(40), nullable=False)
    ts = Column(String(40), nullable=False)
    posted_at = Column(UTCDateTime, nullable=False)


class SlackDelivery(SlackBase):
    __tablename__ = "slack_deliveries"

    key = Column(String(250), primary_key=True)  # outbox idempotency key + "#part"
    channel = Column(String(40), nullable=False)
    thread_ts = Column(String(40))
    ts = Column(String(40))
    state = Column(String(20), nullable=False)  # sending | posted
    started_at = Column(UTCDateTime, nullable=False)
    posted_at = Column(UTCDateTime)


class SlackConversation(SlackBase):
    __tablename__ = "slack_conversations"

    key = Column(String(250), primary_key=True)  # the relay's conversation key (one thread)
    last_message_at = Column(UTCDateTime, nullable=False)


@dataclass(frozen=True)
class Card:
    channel: str
    ts: str


@dataclass(frozen=True)
class Delivery:
    key: str
    channel: str
    thread_ts: str | None
    ts: str | None
    state: str
    started_at: datetime


class SlackStore:
    """Short transactions on the shared session factory; safe across threads and processes."""

    def __init__(self, sessions: sessionmaker) -> None:
        self.sessions = sessions
        self._last_prune: datetime | None = None

    # -- practitioner events ------------------------------------------------------------
    def claim_event(self, key: str, *, event_id: str | None, now: datetime | None = None) -> bool:
        """True if this process should handle the message `key` (first time, or a stale
        claim); False for a repeat. Unique-key races are settled by the primary key."""
        now = now or utcnow()
        self._maybe_prune(now)
        try:
            with self.sessions() as session, session.begin():
                row = session.get(SlackEvent, key)
                if row is None:
                    session.add(
                        SlackEvent(key=key, event_id=event_id, state="processing", claimed_at=now)
                    )
                    return True
                if row.state == "done" or row.claimed_at > now - STALE_CLAIM:
                    return False
                taken = session.execute(
                    update(SlackEvent)
                    .where(
                        SlackEvent.key == key,
                        SlackEvent.state == "processing",
                        SlackEvent.claimed_at == row.claimed_at,
                    )
                    .values(claimed_at=now, event_id=event_id)
                    .execution_options(synchronize_session=False)
                ).rowcount
                return taken == 1
        except IntegrityError:
            return False  # another process inserted it first

    def finish_event(self, key: str, now: datetime | None = None) -> None:
        with self.sessions() as session, session.begin():
            session.execute(
                update(SlackEvent)
                .where(SlackEvent.key == key)
                .values(state="done", done_at=now or utcnow())
                .execution_options(synchronize_session=False)
            )

    def _maybe_prune(self, now: datetime) -> None:
        if self._last_prune and now - self._last_prune < timedelta(hours=1):
            return
        self._last_prune = now
        with self.sessions() as session, session.begin():
            session.execute(delete(SlackEvent).where(SlackEvent.claimed_at < now - KEEP_EVENTS))
            # A conversation this old has outlived Rasa's session (60 minutes), and its form
            # with it: forgetting it cannot let a form swallow the next message.
            session.execute(delete(SlackConversation).where(
                SlackConversation.last_message_at < now - KEEP_EVENTS))

    # -- practitioner conversations ----------------------------------------------------------
    def last_message_at(self, conversation: str) -> datetime | None:
        """When the conversation (a thread) last had a message, or None for a new one."""
        with self.sessions() as session:
            row = session.get(SlackConversation, conversation)
            return row.last_message_at if row else None

    def touch_conversation(self, conversation: str, now: datetime) -> None:
        """Record that the conversation had a message now (never moves the time back)."""
        try:
            with self.sessions() as session, session.begin():
                row = session.get(SlackConversation, conversation)
                if row is None:
                    session.add(SlackConversation(key=conversation, last_message_at=now))
                elif row.last_message_at < now:
                    row.last_message_at = now
        except IntegrityError:
            pass  # a message of the same thread recorded it at the same moment

    # -- duty-channel cards -----------------------------------------------------------------
    def card(self, subject_type: str, subject_id: int) -> Card | None:
        with self.sessions() as session:
            row = session.get(SlackPost, (subject_type, subject_id))
            return Card(channel=row.channel, ts=row.ts) if row else None

    def card_owner(self, card: Card) -> tuple[str, int] | None:
        """The item whose card this message is, if any."""
        with self.sessions() as session:
            row = session.execute(
                select(SlackPost.subject_type, SlackPost.subject_id).where(
                    SlackPost.channel == card.channel, SlackPost.ts == card.ts
                )
            ).first()
            return (row[0], row[1]) if row else None

    def save_card(self, subject_type: str, subject_id: int, card: Card) -> None:
        try:
            with self.sessions() as session, session.begin():
                if session.get(SlackPost, (subject_type, subject_id)) is None:
                    session.add(
                        SlackPost(
                            subject_type=subject_type,
                            subject_id=subject_id,
                            channel=card.channel,
                            ts=card.ts,
                            posted_at=utcnow(),
                        )
                    )
        except IntegrityError:
            pass  # saved concurrently: the first card stands

    # -- outbox deliveries --------------------------------------------------------------------
    def delivery(self, key: str) -> Delivery | None:
        with self.sessions() as session:
            row = session.get(SlackDelivery, key)
            if row is None:
                return None
            return Delivery(
                key=row.key,
                channel=row.channel,
                thread_ts=row.thread_ts,
                ts=row.ts,
                state=row.state,
                started_at=row.started_at,
            )

    def start_delivery(
        self, key: str, *, channel: str, thread_ts: str | None, now: datetime | None = None
    ) -> None:
        """Record that a post is about to be attempted (committed before the API call)."""
        now = now or utcnow()
        with self.sessions() as session, session.begin():
            row = session.get(SlackDelivery, key)
            if row is None:
                session.add(
                    SlackDelivery(
                        key=key, channel=channel, thread_ts=thread_ts, state="sending",
                        started_at=now,
                    )
                )
            elif row.state == "sending":
                row.channel, row.thread_ts = channel, thread_ts

    def finish_delivery(self, key: str, *, channel: str, ts: str) -> None:
        with self.sessions() as session, session.begin():
            session.execute(
                update(SlackDelivery)
                .where(SlackDelivery.key == key)
                .values(state="posted", channel=channel, ts=ts, posted_at=utcnow())
                .execution_options(synchronize_session=False)
            )

    def posted_count(self) -> int:
        from sqlalchemy import func

        with self.sessions() as session:
            return session.execute(
                select(func.count()).where(SlackDelivery.state == "posted")
            ).scalar_one()
