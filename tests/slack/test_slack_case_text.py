"""The duty card carries no case text (Slack is a third party): the reference, urgency,
categories, source, timers and buttons only. "View excerpt" asks for the worker's
authenticator code and, on a right one, shows the redacted excerpt in the modal, read through the
MASH service as the presser (access check, audited), for MASH staff only."""

from __future__ import annotations

import json

import pytest
from slack_helpers import (
    DSL,
    DUTY,
    DUTY_CHANNEL,
    STEP_UP_VIEW,
    STRANGER,
    code_values,
    opened_views,
)
from slack_stub import TEAM_ID
from sqlalchemy import select

from mash import consultations, escalations
from mash.access import ChannelIdentity
from mash.models import AuditEntry

SECRET_WORDS = ("belt", "scared")


def audit(context, action: str) -> list[AuditEntry]:
    with context.sessions() as session:
        query = select(AuditEntry).where(AuditEntry.action == action)
        return list(session.execute(query).scalars())


def press_view(slack, user: str, escalation_id: int, message: dict):
    value = {"subject_type": "escalation", "subject_id": escalation_id}
    return slack.press(user, "mash_view_excerpt", value, card=(DUTY_CHANNEL, message["ts"]))


def test_duty_card_shows_no_case_text(posted):
    _, message = posted
    shown = json.dumps(message["blocks"]) + message["text"]
    assert not any(word in shown for word in SECRET_WORDS)
    assert "E-" in shown and "IMMEDIATE" in shown and "physical abuse" in shown
    assert "Dana Price (DSL)" in shown and "Oakfield" in shown and "min left" in shown
    assert "View excerpt" in shown


def test_view_excerpt_shows_the_redacted_excerpt_only_after_a_right_code_with_an_audit_row(
    slack, stub, context, posted, demo, fresh_code
):
    escalation_id, message = posted
    reads_before = len(audit(context, "escalation.read"))
    assert press_view(slack, DUTY, escalation_id, message).status_code == 200
    [asked] = stub.wait_for(lambda: opened_views(stub))
    assert asked["callback_id"] == STEP_UP_VIEW and "belt" not in json.dumps(asked)
    assert len(audit(context, "escalation.read")) == reads_before  # nothing read yet

    wrong = slack.submit(DUTY, STEP_UP_VIEW, code_values("000000"), asked["private_metadata"])
    assert wrong.json()["response_action"] == "errors" and "belt" not in wrong.text
    assert len(audit(context, "escalation.read")) == reads_before

    right = slack.submit(
        DUTY, STEP_UP_VIEW, code_values(fresh_code(DUTY)), asked["private_metadata"]
    ).json()
    assert right["response_action"] == "update" and "belt" in json.dumps(right["view"]["blocks"])
    reads = audit(context, "escalation.read")
    assert len(reads) == reads_before + 1
    assert reads[-1].actor_user_id == demo.people["duty"] and reads[-1].subject_id == escalation_id
    [used] = audit(context, "slack.step_up")
    assert used.detail == {"channel": "slack", "action": "view_excerpt",
                           "item": f"escalation:{escalation_id}"}


@pytest.mark.parametrize("presser", [DSL, STRANGER])
def test_view_excerpt_is_refused_to_anyone_else_and_audited(
    slack, stub, context, posted, presser
):
    escalation_id, message = posted
    reads_before = len(audit(context, "escalation.read"))
    assert press_view(slack, presser, escalation_id, message).status_code == 200
    notes = stub.wait_for(lambda: [c for c in stub.served("chat.postEphemeral")])
    assert all("Only MASH staff" in c.params["text"] for c in notes)
    assert stub.served("views.open") == []
    assert len(audit(context, "escalation.read")) == reads_before
    refused = audit(context, "slack.refused.view_excerpt")
    assert [r.subject_id for r in refused] == [escalation_id]


def test_consultation_card_shows_no_topic(context, dispatcher, stub, demo):
    with context.sessions() as session:
        consultations.request_consultation(
            session=session,
            identity=ChannelIdentity(channel="slack", sender=f"slack:{TEAM_ID}:{DSL}", user_id=DSL),
            topic="Worried the boy with the belt marks is scared to go home",
            callback_number="0151 000 1234", message_id="slack:case-text-2",
        )  # fmt: skip
    assert dispatcher.run_once().delivered == 1
    [message] = [m for m in stub.messages(DUTY_CHANNEL) if not m.get("thread_ts")]
    shown = json.dumps(message["blocks"]) + message["text"]
    assert not any(word in shown for word in SECRET_WORDS)
    assert "View request" in shown and "C-" in shown


def test_view_excerpt_shows_every_message_that_joined_the_escalation(
    slack, stub, context, posted, fresh_code
):
    """A further message about the same child (mash/followups.py) is read with the first."""
    escalation_id, message = posted
    with context.sessions() as session:
        joined = escalations.raise_escalation(
            session=session,
            identity=ChannelIdentity(channel="slack", sender=f"slack:{TEAM_ID}:{DSL}", user_id=DSL),
            message_id="slack:case-text-2", urgency="immediate", categories=["physical_abuse"],
            text="She has now shown me a mark on her arm as well.",
        )  # fmt: skip
    assert joined.id == escalation_id and joined.joined
    press_view(slack, DUTY, escalation_id, message)
    [asked] = stub.wait_for(lambda: opened_views(stub))
    right = slack.submit(
        DUTY, STEP_UP_VIEW, code_values(fresh_code(DUTY)), asked["private_metadata"]
    ).json()
    shown = json.dumps(right["view"]["blocks"])
    assert "Message 1 of 2" in shown and "belt" in shown
    assert "Message 2 of 2" in shown and "a mark on her arm" in shown
