"""The duty desk in Slack needs the portal's second factor (security re-review F3): a Slack
account alone is one factor, so a MASH worker's presses work only while they have a live
portal session, which for staff exists only after the second factor."""

from __future__ import annotations

import pytest
from slack_helpers import DISCLOSURE, DSL, DUTY, DUTY_CHANNEL
from slack_stub import TEAM_ID
from sqlalchemy import select

from mash import escalations, sessions
from mash.access import ChannelIdentity
from mash.clock import utcnow
from mash.models import AuditEntry, Escalation, PortalSession


@pytest.fixture()
def card(context, dispatcher, stub):
    with context.sessions() as session:
        view = escalations.raise_escalation(
            session=session,
            identity=ChannelIdentity(channel="slack", sender=f"slack:{TEAM_ID}:{DSL}", user_id=DSL),
            message_id="slack:step-up-1", urgency="immediate", categories=["physical_abuse"],
            text=DISCLOSURE,
        )  # fmt: skip
    assert dispatcher.run_once().delivered == 1
    [message] = [m for m in stub.messages(DUTY_CHANNEL) if not m.get("thread_ts")]
    return view.id, (DUTY_CHANNEL, message["ts"])


def value(escalation_id: int) -> dict:
    return {"subject_type": "escalation", "subject_id": escalation_id}


def refusals(context) -> list[AuditEntry]:
    with context.sessions() as session:
        return list(session.execute(
            select(AuditEntry).where(AuditEntry.action.like("slack.refused.%"))
        ).scalars())


def status(context, escalation_id: int) -> str:
    with context.sessions() as session:
        return session.get(Escalation, escalation_id).status


def test_a_mash_worker_not_signed_in_to_the_portal_changes_nothing_and_reads_nothing(
        slack, stub, context, card, demo):
    escalation_id, where = card
    slack.press(DUTY, "mash_acknowledge", value(escalation_id), card=where)
    slack.press(DUTY, "mash_view_excerpt", value(escalation_id), card=where)
    assert status(context, escalation_id) == "raised"
    assert not stub.served("views.open")  # no excerpt modal
    notes = stub.wait_for(lambda: [m for m in stub.served("chat.postEphemeral")
                                   if m.params.get("user") == DUTY][:2] or None)
    assert all("second factor" in str(m.params.get("text")) for m in notes)
    reasons = [r.detail.get("reason") for r in refusals(context)]
    assert reasons.count("no portal sign-in with the second factor") == 2


def test_signing_in_to_the_portal_opens_the_desk_and_signing_out_closes_it(
        slack, stub, context, card, demo, sign_in_to_portal):
    escalation_id, where = card
    sign_in_to_portal("duty")
    slack.press(DUTY, "mash_acknowledge", value(escalation_id), card=where)
    assert stub.wait_for(lambda: status(context, escalation_id) == "acknowledged" or None)
    with context.sessions() as session:  # "sign out everywhere" revokes every session
        sessions.revoke_all(session, user_id=demo.people["duty"], now=utcnow())
        session.commit()
    slack.press(DUTY, "mash_pick_up", value(escalation_id), card=where)
    assert status(context, escalation_id) == "acknowledged"
    with context.sessions() as session:
        assert session.execute(select(PortalSession)).scalars().all()  # revoked, not deleted
