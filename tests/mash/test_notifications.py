"""The originator's notifications in the portal: queued through the outbox with the outcome,
written once by the portal inbox however often it is delivered, retried when it fails, and
readable by their own person only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from mash_helpers import count_rows
from sqlalchemy import select

from mash import consultations, escalations, notifications
from mash.access import ChannelIdentity
from mash.clock import utcnow
from mash.dispatcher import Dispatcher, Policy
from mash.errors import NotFound
from mash.models import AuditEntry, Escalation, Notification, OutboxMessage
from mash.notifications import PortalInbox, with_inbox
from mash.outbox import to_message
from mash.targets import LogTarget


def decide(factory, actors, escalation_id: int, code: str = "advice_given") -> None:
    with factory() as s:
        escalations.pick_up(session=s, actor=actors["duty"], escalation_id=escalation_id)
    with factory() as s:
        escalations.record_outcome(
            session=s, actor=actors["duty"], escalation_id=escalation_id, outcome_code=code,
            note="Rang the DSL back; the note stays in the record.",
        )


def dispatch(factory, **kwargs) -> Dispatcher:
    return Dispatcher(factory=factory, targets=with_inbox({"*": LogTarget()}, factory), **kwargs)


def test_the_outcome_reaches_the_originators_notifications(factory, raise_esc, actors):
    esc = raise_esc()
    decide(factory, actors, esc.id)
    with factory() as s:
        message = s.execute(
            select(OutboxMessage).where(OutboxMessage.audience == "originator_portal")
        ).scalar_one()
        assert message.recipient["people"][0]["id"] == actors["oakfield_dsl"].user_id
    dispatch(factory).run_once()

    with factory() as s:
        shown = notifications.unread(session=s, actor=actors["oakfield_dsl"])
    assert shown.count == 1 and shown.latest_title == f"Outcome of your concern {esc.reference}"
    assert shown.to_dict()["latest"]["url"] == f"/school/escalations/{esc.id}"
    with factory() as s:
        [item] = notifications.list_notifications(session=s, actor=actors["oakfield_dsl"])
    assert item.reference == esc.reference and item.outcome_label == "Advice given"
    assert "Advice given" in item.text and "note stays" not in item.text  # no case text
    assert item.read_at is None
    with factory() as s:  # the loop is closed
        assert s.get(Escalation, esc.id).status == "originator_informed"
    # Nobody else hears of it, not even a colleague who may see the escalation.
    for other in ("oakfield_deputy", "riverside_dsl", "duty"):
        with factory() as s:
            assert notifications.unread(session=s, actor=actors[other]).count == 0
            assert notifications.list_notifications(session=s, actor=actors[other]) == []


def test_delivered_twice_it_shows_once(factory, raise_esc, actors):
    esc = raise_esc()
    decide(factory, actors, esc.id)
    with factory() as s:
        row = s.execute(
            select(OutboxMessage).where(OutboxMessage.audience == "originator_portal")
        ).scalar_one()
        message = to_message(row)
    inbox = PortalInbox(factory)
    inbox.deliver(message)
    inbox.deliver(message)  # the dispatcher retrying after a lost acknowledgement
    assert count_rows(factory, Notification) == 1


def test_a_dispatcher_dying_after_delivery_does_not_show_it_twice(factory, raise_esc, actors):
    esc = raise_esc()
    decide(factory, actors, esc.id)
    now = utcnow()
    crashed = dispatch(factory, policy=Policy(lease_seconds=30), owner="crashed")
    for message in crashed.claim(now):  # delivered, then died before recording it
        crashed.target_for(message).deliver(message)
    report = dispatch(factory, owner="other").run_once(now=now + timedelta(seconds=31))
    assert report.delivered == 4  # raised, picked up, outcome (log), outcome (portal)
    assert count_rows(factory, Notification) == 1


class FlakyInbox(PortalInbox):
    """The inbox with its database refusing the first `failures` deliveries."""

    def __init__(self, factory, failures: int) -> None:
        super().__init__(factory)
        self.failures = failures

    def deliver(self, message) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database busy")
        super().deliver(message)


def test_a_failed_delivery_is_retried_until_it_is_shown(factory, raise_esc, actors):
    esc = raise_esc()
    decide(factory, actors, esc.id)
    dispatcher = Dispatcher(
        factory=factory,
        targets={"*": LogTarget(), "originator_portal": FlakyInbox(factory, failures=2)},
        policy=Policy(base_backoff=1, max_backoff=5),
    )
    assert dispatcher.run_once().failed == 1
    assert count_rows(factory, Notification) == 0
    later = utcnow() + timedelta(seconds=10)
    assert dispatcher.run_once(now=later).failed == 1
    assert dispatcher.run_once(now=later + timedelta(seconds=10)).delivered == 1
    with factory() as s:
        assert notifications.unread(session=s, actor=actors["oakfield_dsl"]).count == 1


def test_an_unverified_sender_gets_no_portal_notification(factory, actors, raise_esc):
    stranger = ChannelIdentity(channel="slack", sender="slack:T1:UNKNOWN", user_id="UNKNOWN")
    esc = raise_esc(identity=stranger)
    assert not esc.sender_verified
    decide(factory, actors, esc.id)
    with factory() as s:
        audiences = set(s.execute(select(OutboxMessage.audience)).scalars())
    assert "originator" in audiences and "originator_portal" not in audiences


def test_closing_a_consultation_notifies_the_requester(factory, actors, identity_of):
    with factory() as s:
        c = consultations.request_consultation(
            session=s, identity=identity_of("gp"), topic="A baby with a bruise: refer?",
            callback_number="0151 000 7777",
        )
    with factory() as s:
        consultations.pick_up_consultation(session=s, actor=actors["duty"], consultation_id=c.id)
    with factory() as s:
        consultations.close_consultation(
            session=s, actor=actors["duty"], consultation_id=c.id, advice="Refer today."
        )
    dispatch(factory).run_once()
    with factory() as s:
        [item] = notifications.list_notifications(session=s, actor=actors["gp"])
    assert item.subject_type == "consultation" and item.url == f"/school/consultations/{c.id}"
    assert "Refer today" not in item.text


def test_reading_is_ones_own_and_the_poll_writes_no_audit(factory, raise_esc, actors):
    esc = raise_esc()
    decide(factory, actors, esc.id)
    dispatch(factory).run_once()
    dsl = actors["oakfield_dsl"]
    with factory() as s:
        [item] = notifications.list_notifications(session=s, actor=dsl)
    audited = count_rows(factory, AuditEntry)
    for _ in range(5):
        with factory() as s:
            notifications.unread(session=s, actor=dsl)
    assert count_rows(factory, AuditEntry) == audited  # polling is not a read of case data

    with factory() as s:  # the list, which shows outcomes, is audited once per view
        notifications.list_notifications(session=s, actor=dsl)
        entry = s.execute(select(AuditEntry).order_by(AuditEntry.id.desc())).scalars().first()
    assert entry.action == "notification.list" and entry.detail == {"ids": [item.id]}
    assert entry.actor_user_id == dsl.user_id

    with factory() as s, pytest.raises(NotFound):
        notifications.mark_read(session=s, actor=actors["riverside_dsl"], notification_id=item.id)
    with factory() as s:
        assert notifications.unread(session=s, actor=dsl).count == 1
        assert notifications.mark_read(session=s, actor=dsl, notification_id=item.id) == 1
    with factory() as s:
        assert notifications.unread(session=s, actor=dsl).to_dict() == {
            "unread": 0, "latest": None,
        }
        assert notifications.mark_read(session=s, actor=dsl) == 0


def test_opening_the_item_marks_its_notification_read(factory, raise_esc, actors):
    esc = raise_esc()
    decide(factory, actors, esc.id)
    dispatch(factory).run_once()
    dsl = actors["oakfield_dsl"]
    with factory() as s:  # someone else opening it changes nothing of hers
        assert notifications.mark_subject_read(
            session=s, actor=actors["oakfield_deputy"], subject_type="escalation",
            subject_id=esc.id,
        ) == 0
    with factory() as s:
        assert notifications.mark_subject_read(
            session=s, actor=dsl, subject_type="escalation", subject_id=esc.id
        ) == 1
    with factory() as s:
        assert notifications.unread(session=s, actor=dsl).count == 0


class Down:
    name = "down"

    def deliver(self, message) -> None:
        raise ConnectionError("mail server down")


def test_the_portal_copy_shows_while_the_originators_channel_is_down(factory, raise_esc, actors):
    # The loop is closed by the originator's own channel (Slack, e-mail); the portal shows the
    # outcome meanwhile.
    esc = raise_esc()
    decide(factory, actors, esc.id)
    Dispatcher(factory=factory, targets=with_inbox({"*": Down()}, factory)).run_once()
    with factory() as s:
        assert notifications.unread(session=s, actor=actors["oakfield_dsl"]).count == 1
        assert s.get(Escalation, esc.id).status == "outcome_recorded"
