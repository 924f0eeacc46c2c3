"""The outbox's Slack target against the stub: cards, reminders, step-ups and DMs, with Slack
failing, rate limiting or hanging for a while. Nothing is lost; nothing shows twice."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from slack_helpers import DISCLOSURE, DSL, DUTY, DUTY_CHANNEL, MANAGER, STRANGER
from slack_stub import TEAM_ID
from sqlalchemy import select

from mash import consultations, escalations, notifications
from mash.access import ChannelIdentity
from mash.clock import utcnow
from mash.dispatcher import pending_count
from mash.models import Escalation, OutboxMessage
from mash.outbox import to_message
from mash.targets import read_file_target


def slack_identity(user: str = DSL) -> ChannelIdentity:
    return ChannelIdentity(channel="slack", sender=f"slack:{TEAM_ID}:{user}", user_id=user)


def raise_one(context, n: int, *, user: str = DSL, identity=None, urgency="immediate",
              text: str | None = None):
    """The n-th escalation, about the n-th child (its own initial), so it is an item of its own
    and not a further message about an earlier one (mash/followups.py)."""
    with context.sessions() as session:
        return escalations.raise_escalation(
            session=session,
            identity=identity or slack_identity(user),
            message_id=f"slack:target-{n}",
            urgency=urgency,
            categories=["physical_abuse"],
            text=text or f"Child {'ABCDEFGHJKLMNPQRSTUVWXYZ'[n % 24]}: {DISCLOSURE}",
        )


def decide(context, view, outcome_code: str, **fields) -> None:
    """A duty worker picks the escalation up and records its outcome."""
    worker = actor(context, DUTY)
    with context.sessions() as session:
        escalations.pick_up(session=session, actor=worker, escalation_id=view.id)
    with context.sessions() as session:
        escalations.record_outcome(session=session, actor=worker, escalation_id=view.id,
                                   outcome_code=outcome_code, **fields)


def cards(stub) -> list[dict]:
    return [m for m in stub.messages(DUTY_CHANNEL) if not m.get("thread_ts")]


def pending(context) -> int:
    with context.sessions() as session:
        return pending_count(session)


def actor(context, slack_user: str):
    from mash import directory

    with context.sessions() as session:
        return directory.actor_for(session=session, slack_user_id=slack_user)


@pytest.mark.parametrize("mode", ["http500", "ratelimited"])
def test_with_slack_failing_for_a_while_nothing_is_lost_or_posted_twice(
    stub, context, running, mode
):
    stub.fail(mode, seconds=1.0)
    for n in range(3):
        raise_one(context, n)
    with context.sessions() as session:
        consultations.request_consultation(
            session=session, identity=slack_identity(), topic="Advice about a neglect worry",
            callback_number="0151 000 9999",
        )
    time.sleep(0.5)
    assert cards(stub) == [] and pending(context) == 4  # failing: nothing shown, nothing lost
    assert stub.calls("chat.postMessage")  # ...though the dispatcher kept trying
    assert stub.wait_for(lambda: pending(context) == 0, timeout=5.0)
    time.sleep(0.3)
    posted = cards(stub)
    assert len(posted) == 4
    titles = sorted(m["text"].split(" from ")[0] for m in posted)
    assert len(set(titles)) == 4  # each item once
    assert len(stub.served("chat.postMessage")) == 4


def test_a_post_whose_answer_never_came_is_not_posted_again(stub, context, running):
    # Slack takes the message but answers after the client has given up (0.5 s timeout).
    stub.hang(1.0, during=0.8, methods={"chat.postMessage"})
    raise_one(context, 1)
    assert stub.wait_for(lambda: pending(context) == 0, timeout=5.0)
    time.sleep(0.3)
    assert len(cards(stub)) == 1
    assert len(stub.served("chat.postMessage")) == 1  # the retry found it in the history
    assert stub.served("conversations.history")


def test_the_outcome_reaches_the_originator_once_after_an_outage(stub, context, dispatcher):
    view = raise_one(context, 1)
    dispatcher.run_once()
    decide(context, view, "strategy_discussion_s47", note="Strategy meeting today.")
    stub.fail("http500", seconds=0.6)
    assert dispatcher.run_once().failed == 2  # the pick-up note for the desk and the outcome
    with context.sessions() as session:
        assert session.get(Escalation, view.id).status == "outcome_recorded"  # not told yet
    time.sleep(0.7)
    with context.sessions() as session:  # due again after the backoff
        session.execute(OutboxMessage.__table__.update().values(next_attempt_at=utcnow()))
        session.commit()
    assert dispatcher.run_once().delivered == 2
    [dm] = stub.messages(f"D{DSL}")
    assert "Strategy discussion" in dm["text"] and "Do not tell the family" in dm["text"]
    assert "Strategy meeting today" not in dm["text"]  # the MASH's note stays in the record
    with context.sessions() as session:
        assert session.get(Escalation, view.id).status == "originator_informed"
    dispatcher.run_once()
    assert len(stub.messages(f"D{DSL}")) == 1


def test_reminders_and_the_step_up_to_the_duty_manager(stub, context, dispatcher):
    view = raise_one(context, 1)
    dispatcher.run_once()
    [card] = cards(stub)
    raised = view.raised_at
    report = dispatcher.run_once(now=raised + timedelta(minutes=16))
    assert report.renotified == [view.id]
    [reminder] = stub.replies(DUTY_CHANNEL, card["ts"])
    assert reminder["reply_broadcast"] and "<!here>" in reminder["text"]
    assert "not been acknowledged after 16 minutes" in reminder["text"]

    report = dispatcher.run_once(now=raised + timedelta(minutes=31))
    assert report.sent_to_manager == [view.id]
    [manager_dm] = stub.messages(f"D{MANAGER}")
    assert "Overdue" in manager_dm["text"] and view.reference in manager_dm["text"]
    notes = stub.replies(DUTY_CHANNEL, card["ts"])
    assert len(notes) == 2 and "Morgan Hale" in notes[1]["text"]
    for minutes in (32, 60, 120):
        dispatcher.run_once(now=raised + timedelta(minutes=minutes))
    assert len(stub.replies(DUTY_CHANNEL, card["ts"])) == 2  # once each, however often it runs
    assert len(stub.messages(f"D{MANAGER}")) == 1
    assert stub.messages(DUTY_CHANNEL)[0].get("edited", 0) >= 2  # the card was redrawn


def test_the_same_message_delivered_twice_shows_once(stub, context, slack_target):
    raise_one(context, 1)
    with context.sessions() as session:
        row = session.execute(select(OutboxMessage)).scalars().one()
    message = to_message(row)
    slack_target.deliver(message)
    slack_target.deliver(message)  # the dispatcher retrying after a lost acknowledgement
    assert len(cards(stub)) == 1 and len(stub.served("chat.postMessage")) == 1


def test_an_unverified_slack_sender_hears_that_it_was_dealt_with_but_not_the_outcome(
    stub, context, dispatcher
):
    view = raise_one(context, 1, user=STRANGER)
    assert not view.sender_verified
    decide(context, view, "passed_to_police")
    dispatcher.run_once()
    [dm] = stub.messages(f"D{STRANGER}")
    assert view.reference in dm["text"] and "police" not in dm["text"].lower()


def test_portal_originators_go_to_the_fallback_target(stub, context, dispatcher, demo, tmp_path):
    portal = ChannelIdentity(
        channel="portal", sender="portal-1", user_id=str(demo.people["oakfield_deputy"]),
        role="deputy_dsl", organisation_id=demo.organisations["oakfield"],
    )
    view = raise_one(context, 1, identity=portal)
    decide(context, view, "advice_given")
    dispatcher.run_once()
    deliveries, first = read_file_target(tmp_path / "fallback.jsonl")
    assert deliveries == 1
    assert json.loads(json.dumps(first))[f"escalation:{view.id}:outcome:originator"]
    assert [c for c in stub.served("conversations.open")] == []


def test_raised_in_slack_the_outcome_is_a_dm_and_a_portal_notification(
    stub, context, dispatcher, demo
):
    view = raise_one(context, 1)  # Dana, from Slack, linked to the directory
    decide(context, view, "advice_given")
    dispatcher.run_once()
    dispatcher.run_once()
    [dm] = stub.messages(f"D{DSL}")
    assert view.reference in dm["text"] and "Advice given" in dm["text"]
    dana = actor(context, DSL)
    with context.sessions() as session:
        [note] = notifications.list_notifications(session=session, actor=dana)
    assert note.reference == view.reference and note.outcome_label == "Advice given"


def test_raised_in_the_portal_the_outcome_is_not_a_slack_dm(
    stub, context, dispatcher, demo, tmp_path
):
    # Dana has a Slack account, but raised this one in the portal: she is told there.
    portal = ChannelIdentity(
        channel="portal", sender=f"portal-{demo.people['oakfield_dsl']}",
        user_id=str(demo.people["oakfield_dsl"]), role="dsl",
        organisation_id=demo.organisations["oakfield"],
    )
    view = raise_one(context, 1, identity=portal)
    decide(context, view, "advice_given")
    dispatcher.run_once()
    assert stub.messages(f"D{DSL}") == [] and stub.served("conversations.open") == []
    deliveries, _first = read_file_target(tmp_path / "fallback.jsonl")
    assert deliveries == 1  # the fallback (e-mail in production) still carries it
    with context.sessions() as session:
        assert notifications.unread(session=session, actor=actor(context, DSL)).count == 1


def test_the_originators_slack_user_is_read_from_the_directory_then_the_address():
    from slack_app.target import originator_slack_id

    assert originator_slack_id({"channel": "slack", "sender": "slack:T1:U1"}) == "U1"
    # a conversation key with the thread after the address still names the user
    assert originator_slack_id({"channel": "slack", "sender": "slack:T1:U1:D1:1.2"}) == "U1"
    assert originator_slack_id({"channel": "slack", "sender": "slack:T1:U1",
                                "people": [{"slack_user_id": "U9"}]}) == "U9"
    assert originator_slack_id({"channel": "portal", "sender": "slack:T1:U1"}) is None
    assert originator_slack_id({"channel": "slack", "sender": "portal-5"}) is None


def test_a_reminder_is_broadcast_in_the_cards_thread_once(stub, context, slack_target):
    from datetime import datetime, timezone

    from mash.outbox import Message

    view = raise_one(context, 1)
    reminder = Message(
        id=1, idempotency_key=f"escalation:{view.id}:renotify:1", topic="escalation.renotify",
        audience="duty", recipient={}, subject_type="escalation", subject_id=view.id,
        payload={"reference": view.reference, "waited_minutes": 15}, attempt=1,
        created_at=datetime.now(timezone.utc))
    slack_target.deliver(reminder)
    slack_target.deliver(reminder)  # a retry shows nothing twice
    [card] = cards(stub)
    [note] = stub.replies(DUTY_CHANNEL, card["ts"])
    assert note["reply_broadcast"] and note["text"] == (
        f"<!here> :alarm_clock: *Still waiting:* {view.reference} has not been acknowledged "
        f"after 15 minutes. Please acknowledge it or pick it up.")


def test_the_outcome_dm_names_the_decided_level_when_it_differs_from_the_expected():
    from mash.outbox import Message
    from slack_app.deps import SlackDeps
    from slack_app.target import outcome_text

    feedback = ("The MASH decided level 3 (Complex); level 2 was expected. The guide describes "
                "level 3 as: children with complex needs.")
    payload = {"reference": "E-000004", "outcome_code": "advice_given",
               "outcome_label": "Advice given", "sender_verified": True}
    message = Message(1, "k", "escalation.outcome", "originator", {}, "escalation", 4,
                      {**payload, "level_feedback": feedback}, 1, utcnow())
    deps = SlackDeps.__new__(SlackDeps)
    object.__setattr__(deps, "contacts", None)
    text = outcome_text(message, deps)
    assert "E-000004" in text and "*Advice given*" in text
    assert text.rstrip().endswith(feedback)
    same = Message(2, "k2", "escalation.outcome", "originator", {}, "escalation", 4, payload, 1,
                   utcnow())
    assert "decided level" not in outcome_text(same, deps)
