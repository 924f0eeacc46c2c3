"""The outbox dispatcher: delivers pending notifications at least once, with retries.

Each pass: run the escalation deadline check (which may queue re-notifications), then claim a
batch of due messages by setting a lease (`lease_owner`, `lease_until`) with a conditional
UPDATE, commit, deliver each outside any transaction, and record the result. A message whose
dispatcher died keeps its lease until `lease_until` and is then claimed again, so nothing is
lost; it may be delivered twice, which the idempotency key makes harmless. Failures are retried
with exponential backoff (capped, with jitter) for as long as it takes: no message is dropped.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mash import consultations, escalations
from mash.clock import utcnow
from mash.models import OutboxMessage
from mash.outbox import Message, Target, to_message
from settings import Settings

log = logging.getLogger("mash.dispatcher")

# Called inside the transaction that marks a message delivered (closing the loop).
DeliveryHook = Callable[..., None]
HOOKS: tuple[DeliveryHook, ...] = (escalations.on_delivered, consultations.on_delivered)


@dataclass(frozen=True)
class Policy:
    lease_seconds: float = 60.0  # must exceed the slowest delivery (SMTP timeout is 10 s)
    batch: int = 20
    base_backoff: float = 2.0
    max_backoff: float = 900.0


@dataclass
class PassReport:
    claimed: int = 0
    delivered: int = 0
    failed: int = 0
    renotified: list[int] = field(default_factory=list)
    sent_to_manager: list[int] = field(default_factory=list)


def backoff_seconds(attempts: int, policy: Policy) -> float:
    """Exponential in the number of attempts so far, capped, with up to 20% jitter."""
    delay = min(policy.max_backoff, policy.base_backoff * (2 ** max(0, attempts - 1)))
    return delay * (1 + random.random() * 0.2)


class Dispatcher:
    """Deliver the outbox. `targets` maps an audience ("duty", "duty_manager", "originator")
    to a Target, with "*" as the default for audiences not named."""

    def __init__(
        self,
        *,
        factory: sessionmaker,
        targets: Mapping[str, Target],
        settings: Settings | None = None,
        policy: Policy | None = None,
        owner: str | None = None,
    ) -> None:
        self.factory = factory
        self.targets = dict(targets)
        self.settings = settings
        self.policy = policy or Policy()
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def target_for(self, message: Message) -> Target | None:
        return self.targets.get(message.audience) or self.targets.get("*")

    def claim(self, now: datetime) -> list[Message]:
        until = now + timedelta(seconds=self.policy.lease_seconds)
        claimed: list[Message] = []
        with self.factory() as session, session.begin():
            ids = (
                session.execute(
                    select(OutboxMessage.id)
                    .where(
                        OutboxMessage.status == "pending",
                        OutboxMessage.next_attempt_at <= now,
                        or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
                    )
                    .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                    .limit(self.policy.batch)
                )
                .scalars()
                .all()
            )
            for message_id in ids:
                # Another dispatcher may have claimed it since the SELECT: the WHERE decides.
                won = (
                    session.execute(
                        update(OutboxMessage)
                        .where(
                            OutboxMessage.id == message_id,
                            OutboxMessage.status == "pending",
                            or_(
                                OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now
                            ),
                        )
                        .values(
                            lease_owner=self.owner,
                            lease_until=until,
                            attempts=OutboxMessage.attempts + 1,
                        )
                        .execution_options(synchronize_session=False)
                    ).rowcount
                    == 1
                )
                if won:
                    row = session.get(OutboxMessage, message_id)
                    session.refresh(row)
                    claimed.append(to_message(row))
        return claimed

    def _delivered(self, message: Message, now: datetime) -> None:
        with self.factory() as session, session.begin():
            done = (
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == message.id, OutboxMessage.status == "pending")
                    .values(
                        status="delivered",
                        delivered_at=now,
                        lease_owner=None,
                        lease_until=None,
                        last_error=None,
                    )
                    .execution_options(synchronize_session=False)
                ).rowcount
                == 1
            )
            if done:  # first to record it runs the hooks: they happen once per message
                for hook in HOOKS:
                    hook(
                        session,
                        topic=message.topic,
                        audience=message.audience,
                        subject_id=message.subject_id,
                        now=now,
                    )

    def _failed(self, message: Message, error: BaseException, now: datetime) -> None:
        delay = backoff_seconds(message.attempt, self.policy)
        with self.factory() as session, session.begin():
            session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message.id,
                    OutboxMessage.status == "pending",
                    OutboxMessage.lease_owner == self.owner,
                )
                .values(
                    lease_owner=None,
                    lease_until=None,
                    next_attempt_at=now + timedelta(seconds=delay),
                    last_error=f"{type(error).__name__}: {error}"[:500],
                )
                .execution_options(synchronize_session=False)
            )

    def run_once(self, *, now: datetime | None = None) -> PassReport:
        """One pass: deadlines, then claim and deliver up to `policy.batch` messages."""
        report = PassReport()
        if self.settings is not None:
            with self.factory() as session:
                deadlines = escalations.check_deadlines(
                    session=session, settings=self.settings, now=now
                )
            report.renotified, report.sent_to_manager = (
                deadlines.renotified,
                deadlines.sent_to_manager,
            )
        batch = self.claim(now or utcnow())
        report.claimed = len(batch)
        for message in batch:
            target = self.target_for(message)
            try:
                if target is None:
                    raise LookupError(f"no delivery target for audience {message.audience!r}")
                target.deliver(message)
            except Exception as error:  # noqa: BLE001 - any target failure means retry later
                log.warning(
                    "delivery of %s failed (attempt %d): %s",
                    message.idempotency_key,
                    message.attempt,
                    error,
                )
                self._failed(message, error, now or utcnow())
                report.failed += 1
                continue
            self._delivered(message, now or utcnow())
            report.delivered += 1
        return report

    def run_forever(self, *, interval: float = 2.0, stop: threading.Event | None = None) -> None:
        """Pass after pass until `stop` is set. A database outage is logged and waited out."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                report = self.run_once()
            except OperationalError as error:
                log.warning("database unavailable, retrying: %s", error.orig)
                stop.wait(interval)
                continue
            if report.claimed < self.policy.batch:
                stop.wait(interval)


def pending_count(session: Session) -> int:
    from sqlalchemy import func

    return session.execute(
        select(func.count()).where(OutboxMessage.status == "pending")
    ).scalar_one()
