"""The duty desk in Slack needs the worker's second factor, given in Slack (security
re-reviews F3 and N1): a Slack account is one factor, and a portal session the worker left open
in a browser proves nothing about who is pressing in Slack. A code from the authenticator app
opens the desk for 30 minutes; without one a press changes nothing and asks for it."""

from __future__ import annotations

import json
from datetime import timedelta

import pyotp
import pytest
from slack_helpers import DISCLOSURE, DSL, DUTY, DUTY_CHANNEL
from slack_stub import TEAM_ID
from sqlalchemy import select

from mash import escalations, twofactor
from mash.access import ChannelIdentity
from mash.clock import utcnow
from mash.models import AuditEntry, Escalation, Person
from slack_app.blocks import STEP_UP_VIEW


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


def audit_rows(context, action: str) -> list[AuditEntry]:
    with context.sessions() as session:
        return list(session.execute(
            select(AuditEntry).where(AuditEntry.action == action)).scalars())


def status(context, escalation_id: int) -> str:
    with context.sessions() as session:
        return session.get(Escalation, escalation_id).status


def opened_views(stub) -> list[dict]:
    views = [call.params["view"] for call in stub.served("views.open")]
    return [json.loads(v) if isinstance(v, str) else v for v in views]


def code_values(code: str) -> dict:
    return {"code": {"code": {"type": "plain_text_input", "value": code}}}


def current_code(offset: int = 0) -> str:
    totp = pyotp.TOTP(twofactor.DEMO_TOTP_SECRET)
    return totp.at(utcnow() + timedelta(seconds=30 * offset))


def test_without_a_code_a_press_changes_nothing_reads_nothing_and_asks_for_one(
        slack, stub, context, card, demo):
    escalation_id, where = card
    slack.press(DUTY, "mash_acknowledge", value(escalation_id), card=where)
    slack.press(DUTY, "mash_view_excerpt", value(escalation_id), card=where)
    assert status(context, escalation_id) == "raised"
    views = stub.wait_for(lambda: opened_views(stub)[:2] if len(opened_views(stub)) >= 2 else None)
    assert [v["callback_id"] for v in views] == [STEP_UP_VIEW, STEP_UP_VIEW]  # no excerpt shown
    assert "belt" not in json.dumps(views)
    reasons = [r.detail.get("reason") for r in audit_rows(context, "slack.refused.acknowledge")]
    assert reasons == ["no second factor given in Slack"]


def test_the_right_code_opens_the_desk_for_30_minutes_and_a_wrong_one_does_not(
        slack, stub, context, card, demo):
    escalation_id, where = card
    wrong = slack.submit(DUTY, STEP_UP_VIEW, code_values("000000"), "")
    assert wrong.json()["response_action"] == "errors" and "not right" in wrong.text
    slack.press(DUTY, "mash_acknowledge", value(escalation_id), card=where)
    assert status(context, escalation_id) == "raised"

    right = slack.submit(DUTY, STEP_UP_VIEW, code_values(current_code()), "")
    assert right.json()["response_action"] == "update" and "30 minutes" in right.text
    assert audit_rows(context, "slack.step_up")[-1].actor_user_id == demo.people["duty"]
    replayed = slack.submit(DUTY, STEP_UP_VIEW, code_values(current_code()), "")
    assert replayed.json()["response_action"] == "errors"  # a code is accepted once only

    slack.press(DUTY, "mash_acknowledge", value(escalation_id), card=where)
    assert stub.wait_for(lambda: status(context, escalation_id) == "acknowledged" or None)

    with context.sessions() as session:  # 30 minutes on: asked again
        session.get(Person, demo.people["duty"]).slack_verified_until = utcnow()
        session.commit()
    slack.press(DUTY, "mash_pick_up", value(escalation_id), card=where)
    assert status(context, escalation_id) == "acknowledged"


def test_repeated_wrong_codes_stop_the_checks_for_a_while(slack, context, demo):
    for _ in range(twofactor.SLACK_MAX_FAILURES):
        slack.submit(DUTY, STEP_UP_VIEW, code_values("123456"), "")
    blocked = slack.submit(DUTY, STEP_UP_VIEW, code_values(current_code()), "")
    assert blocked.json()["response_action"] == "errors" and "Too many" in blocked.text
    with context.sessions() as session:
        assert session.get(Person, demo.people["duty"]).slack_verified_until is None


def test_someone_who_is_not_mash_staff_gets_no_code_prompt(slack, stub, context, card):
    escalation_id, where = card
    slack.press(DSL, "mash_acknowledge", value(escalation_id), card=where)
    refused = slack.submit(DSL, STEP_UP_VIEW, code_values(current_code()), "")
    assert refused.json()["response_action"] == "errors" and "Only MASH staff" in refused.text
    assert not opened_views(stub) and status(context, escalation_id) == "raised"


def test_wrong_passwords_at_the_portal_do_not_lock_the_worker_out_of_slack(
        slack, context, demo):
    """Security re-review R6-2: anyone who knows a worker's e-mail can type wrong passwords;
    only wrong codes typed into Slack count towards Slack's limit."""
    with context.sessions() as session:
        for _ in range(twofactor.SLACK_MAX_FAILURES + 2):
            twofactor.record_failure(session, person=session.get(Person, demo.people["duty"]),
                                     address="203.0.113.9", reason="wrong_password")
        session.commit()
    right = slack.submit(DUTY, STEP_UP_VIEW, code_values(current_code()), "")
    assert right.json()["response_action"] == "update"


def test_signing_out_everywhere_ends_the_slack_verification_too(slack, context, demo):
    """R6-4: sign out everywhere, a password change and a second-factor reset all end every
    session; the step-up given in Slack ends with them."""
    from mash import sessions

    assert slack.submit(DUTY, STEP_UP_VIEW, code_values(current_code()), "").json()[
        "response_action"] == "update"
    with context.sessions() as session:
        assert twofactor.slack_verified(session, person_id=demo.people["duty"])
        sessions.revoke_all(session, user_id=demo.people["duty"], now=utcnow())
        session.commit()
        assert not twofactor.slack_verified(session, person_id=demo.people["duty"])
