"""The duty desk in Slack needs the worker's second factor, given in Slack, for each action
(security re-reviews F3, N1 and R6-1): a Slack account is one factor, a portal session left open
in a browser proves nothing about who is pressing in Slack, and Slack's payloads cannot tell
two clients of one user apart, so a right code does one action and nothing is remembered.
Acknowledge, pick up and view excerpt open a code modal and act on its submission; the outcome
and reassign forms carry a code field. A code works once; five wrong ones in 15 minutes stop
the checks; every refusal and every code is audited."""

from __future__ import annotations

import json

from slack_helpers import (
    DSL,
    DUTY,
    DUTY_CHANNEL,
    STEP_UP_VIEW,
    STRANGER,
    code_values,
    opened_views,
    press_with_code,
)
from slack_stub import TEAM_ID
from sqlalchemy import select

from mash import twofactor
from mash.access import ChannelIdentity
from mash.models import AuditEntry, Escalation, Person

OUTCOME_VIEW = "mash_outcome_view"
REASSIGN_VIEW = "mash_reassign_view"


def value(escalation_id: int) -> dict:
    return {"subject_type": "escalation", "subject_id": escalation_id}


def meta(escalation_id: int, where: tuple[str, str], action: str | None = None) -> str:
    """A form's private_metadata, as a client can craft it."""
    data = {**value(escalation_id), "channel": where[0], "ts": where[1]}
    return json.dumps({**data, "action": action} if action else data)


def audit_rows(context, action: str) -> list[AuditEntry]:
    with context.sessions() as session:
        return list(session.execute(
            select(AuditEntry).where(AuditEntry.action == action)).scalars())


def worker_reads(context, demo) -> list[AuditEntry]:
    """Reads of an escalation by the worker (the desk's own card redraws read as the system)."""
    return [r for r in audit_rows(context, "escalation.read")
            if r.actor_user_id == demo.people["duty"]]


def escalation(context, escalation_id: int) -> Escalation:
    with context.sessions() as session:
        return session.get(Escalation, escalation_id)


def status(context, escalation_id: int) -> str:
    return escalation(context, escalation_id).status


def outcome_values(totp: str | None) -> dict:
    values = {"outcome": {"code": {"type": "static_select",
                                   "selected_option": {"value": "no_further_action"}}},
              "note": {"text": {"type": "plain_text_input", "value": ""}}}
    return {**values, **code_values(totp)} if totp is not None else values


def pick_up(slack, stub, context, escalation_id, where, code) -> None:
    press_with_code(slack, stub, DUTY, "mash_pick_up", value(escalation_id), card=where, code=code)
    assert status(context, escalation_id) == "picked_up"


def test_a_press_asks_for_the_code_and_changes_nothing_reads_nothing_until_it_is_given(
        slack, stub, context, card, demo):
    escalation_id, where = card
    slack.press(DUTY, "mash_acknowledge", value(escalation_id), card=where)
    slack.press(DUTY, "mash_view_excerpt", value(escalation_id), card=where)
    views = stub.wait_for(lambda: len(opened_views(stub)) >= 2 and opened_views(stub))
    assert [v["callback_id"] for v in views] == [STEP_UP_VIEW, STEP_UP_VIEW]
    assert sorted(json.loads(v["private_metadata"])["action"] for v in views) == [
        "acknowledge", "view_excerpt"]
    assert "belt" not in json.dumps(views)  # no excerpt shown
    assert status(context, escalation_id) == "raised"
    assert worker_reads(context, demo) == []


def test_a_right_code_does_one_action_only_a_second_press_needs_another(
        slack, stub, context, card, demo, fresh_code):
    """R6-1: after the worker acknowledges with a code, someone holding the worker's Slack
    session (same Slack user) gets nothing done without a code of their own."""
    escalation_id, where = card
    code = fresh_code(DUTY)
    done = press_with_code(slack, stub, DUTY, "mash_acknowledge", value(escalation_id),
                           card=where, code=code)
    assert not done.content and status(context, escalation_id) == "acknowledged"
    [used] = audit_rows(context, "slack.step_up")
    assert used.actor_user_id == demo.people["duty"]
    assert used.detail == {"channel": "slack", "action": "acknowledge",
                           "item": f"escalation:{escalation_id}"}

    # the second press opens the code modal again; without a code nothing happens
    slack.press(DUTY, "mash_pick_up", value(escalation_id), card=where)
    asked = stub.wait_for(lambda: len(opened_views(stub)) == 2 and opened_views(stub)[-1])
    assert asked["callback_id"] == STEP_UP_VIEW
    empty = slack.submit(DUTY, STEP_UP_VIEW, code_values(""), asked["private_metadata"]).json()
    assert "Type the code" in empty["errors"]["code"]
    replayed = slack.submit(DUTY, STEP_UP_VIEW, code_values(code), asked["private_metadata"])
    assert replayed.json()["response_action"] == "errors" and "used already" in replayed.text
    excerpt = slack.submit(DUTY, STEP_UP_VIEW, code_values(code),
                           meta(escalation_id, where, "view_excerpt"))
    assert excerpt.json()["response_action"] == "errors" and "belt" not in excerpt.text
    # crafted forms with no code, or the spent one, change nothing either
    for totp in (None, code):
        outcome = slack.submit(DUTY, OUTCOME_VIEW, outcome_values(totp), meta(escalation_id, where))
        assert outcome.json()["response_action"] == "errors"
        reassign = slack.submit(DUTY, REASSIGN_VIEW, {
            "assignee": {"person": {"selected_option": {"value": str(demo.people["duty2"])}}},
            **(code_values(totp) if totp else {})}, meta(escalation_id, where))
        assert "code" in reassign.json()["errors"]

    e = escalation(context, escalation_id)
    assert (e.status, e.picked_up_by, e.outcome_code) == ("acknowledged", None, None)
    assert worker_reads(context, demo) == []
    assert len(audit_rows(context, "slack.step_up")) == 1
    reasons = [r.detail["reason"] for r in audit_rows(context, "slack.refused.pick_up")
               + audit_rows(context, "slack.refused.record_outcome")
               + audit_rows(context, "slack.refused.reassign")]
    assert reasons == ["no second factor given in Slack"] * 3
    failed = audit_rows(context, "slack.step_up_failed")  # the spent code, four times
    assert [f.detail["action"] for f in failed] == [
        "pick_up", "view_excerpt", "record_outcome", "reassign"]
    assert all(f.detail["channel"] == "slack" for f in failed)

    # with a fresh code of their own, the worker's next action goes through
    press_with_code(slack, stub, DUTY, "mash_pick_up", value(escalation_id), card=where,
                    code=fresh_code(DUTY))
    assert status(context, escalation_id) == "picked_up"


def test_a_wrong_code_records_nothing_and_a_right_one_records_the_outcome(
        slack, stub, context, card, fresh_code):
    escalation_id, where = card
    pick_up(slack, stub, context, escalation_id, where, fresh_code(DUTY))
    wrong = slack.submit(DUTY, OUTCOME_VIEW, outcome_values("000000"), meta(escalation_id, where))
    assert "not right" in wrong.json()["errors"]["code"]
    assert status(context, escalation_id) == "picked_up"
    [failed] = audit_rows(context, "slack.step_up_failed")
    assert failed.detail["action"] == "record_outcome"

    right = slack.submit(DUTY, OUTCOME_VIEW, outcome_values(fresh_code(DUTY)),
                         meta(escalation_id, where))
    assert right.status_code == 200 and not right.content
    e = escalation(context, escalation_id)
    assert (e.status, e.outcome_code) == ("outcome_recorded", "no_further_action")


def test_a_wrong_code_reassigns_nothing(slack, stub, context, card, demo, fresh_code):
    escalation_id, where = card
    pick_up(slack, stub, context, escalation_id, where, fresh_code(DUTY))
    values = {"assignee": {"person": {"selected_option": {"value": str(demo.people["duty2"])}}}}
    wrong = slack.submit(DUTY, REASSIGN_VIEW, {**values, **code_values("123456")},
                         meta(escalation_id, where))
    assert "not right" in wrong.json()["errors"]["code"]
    assert escalation(context, escalation_id).picked_up_by == demo.people["duty"]
    right = slack.submit(DUTY, REASSIGN_VIEW, {**values, **code_values(fresh_code(DUTY))},
                         meta(escalation_id, where))
    assert not right.content
    assert escalation(context, escalation_id).picked_up_by == demo.people["duty2"]


def test_five_wrong_codes_stop_the_checks_for_a_while(slack, stub, context, card, demo):
    escalation_id, where = card
    ask = meta(escalation_id, where, "acknowledge")
    for _ in range(twofactor.SLACK_MAX_FAILURES):
        wrong = slack.submit(DUTY, STEP_UP_VIEW, code_values("123456"), ask)
        assert "not right" in wrong.json()["errors"]["code"]
    right = twofactor.current_code(twofactor.DEMO_TOTP_SECRET)
    blocked = slack.submit(DUTY, STEP_UP_VIEW, code_values(right), ask)
    assert "Too many" in blocked.json()["errors"]["code"]
    assert status(context, escalation_id) == "raised"
    with context.sessions() as session:  # the right code was not even checked
        assert session.get(Person, demo.people["duty"]).totp_last_step is None
    [refused] = audit_rows(context, "slack.refused.acknowledge")
    assert refused.detail["reason"] == "too many wrong codes in Slack"
    assert refused.detail["channel"] == "slack"


def test_someone_who_is_not_mash_staff_gets_no_code_prompt(slack, stub, context, card):
    escalation_id, where = card
    slack.press(DSL, "mash_acknowledge", value(escalation_id), card=where)
    code = twofactor.current_code(twofactor.DEMO_TOTP_SECRET)
    refused = slack.submit(DSL, STEP_UP_VIEW, code_values(code),
                           meta(escalation_id, where, "acknowledge"))
    assert refused.json()["response_action"] == "errors" and "Only MASH staff" in refused.text
    assert not opened_views(stub) and status(context, escalation_id) == "raised"
    assert [r.actor_role for r in audit_rows(context, "slack.refused.acknowledge")] == [
        "dsl", "dsl"]


def test_a_forged_form_does_no_more_than_the_presser_could(
        slack, stub, context, card, demo, fresh_code):
    """The code modal's private_metadata comes back from the client: an action it does not
    offer is refused before the code is checked, and the role is checked again at submission."""
    escalation_id, where = card
    for action in ("record_outcome", "delete", None):
        forged = slack.submit(DUTY, STEP_UP_VIEW, code_values("123456"),
                              meta(escalation_id, where, action))
        assert "malformed" in forged.json()["errors"]["code"]
    assert audit_rows(context, "slack.step_up_failed") == []  # no code checked

    slack.press(DUTY, "mash_acknowledge", value(escalation_id), card=where)
    [asked] = stub.wait_for(lambda: opened_views(stub))
    code = fresh_code(DUTY)
    with context.sessions() as session:  # unlinked from Slack after the modal opened
        session.get(Person, demo.people["duty"]).slack_user_id = None
        session.commit()
    late = slack.submit(DUTY, STEP_UP_VIEW, code_values(code), asked["private_metadata"])
    assert "Only MASH staff" in late.json()["errors"]["code"]
    assert status(context, escalation_id) == "raised"
    assert audit_rows(context, "slack.step_up") == []  # the code was not even checked


def test_wrong_passwords_at_the_portal_do_not_lock_the_worker_out_of_slack(
        slack, stub, context, card, demo, fresh_code):
    """Security re-review R6-2: anyone who knows a worker's e-mail can type wrong passwords;
    only wrong codes typed into Slack count towards Slack's limit."""
    escalation_id, where = card
    with context.sessions() as session:
        for _ in range(twofactor.SLACK_MAX_FAILURES + 2):
            twofactor.record_failure(session, person=session.get(Person, demo.people["duty"]),
                                     address="203.0.113.9", reason="wrong_password")
        session.commit()
    press_with_code(slack, stub, DUTY, "mash_acknowledge", value(escalation_id), card=where,
                    code=fresh_code(DUTY))
    assert status(context, escalation_id) == "acknowledged"


def test_opening_the_outcome_or_reassign_form_is_not_recorded_as_a_read(
        slack, stub, context, card, demo, fresh_code):
    """Security re-review R7-2: someone holding the worker's Slack session, with no code, can
    open the record-outcome and reassign forms (they ask for a code themselves). That must not
    write `escalation.read` rows in the worker's name, which would say they read the case text;
    each opening is audited as what it is."""
    escalation_id, where = card
    pick_up(slack, stub, context, escalation_id, where, fresh_code(DUTY))  # the worker
    steps = len(audit_rows(context, "slack.step_up"))
    for _ in range(3):
        slack.press(DUTY, "mash_record_outcome", value(escalation_id), card=where)
        slack.press(DUTY, "mash_reassign", value(escalation_id), card=where)
    views = stub.wait_for(lambda: len(opened_views(stub)) >= 7 and opened_views(stub))
    assert sorted(v["callback_id"] for v in views[1:]) == [OUTCOME_VIEW] * 3 + [REASSIGN_VIEW] * 3
    assert all(f"E-{escalation_id:06d}" in json.dumps(v) for v in views[1:])
    assert "belt" not in json.dumps(views)  # no case text shown
    assert worker_reads(context, demo) == []
    opened = audit_rows(context, "escalation.form_opened")
    assert sorted(r.detail["form"] for r in opened) == ["reassign"] * 3 + ["record_outcome"] * 3
    assert {(r.actor_user_id, r.subject_id, r.detail["channel"]) for r in opened} == {
        (demo.people["duty"], escalation_id, "slack")}
    assert len(audit_rows(context, "slack.step_up")) == steps  # no code was given


def test_a_forged_card_location_outside_the_duty_channel_is_never_overwritten(
        slack, stub, context, settings, demo, fresh_code):
    """Security re-review R7-4: a form's private_metadata says where the pressed card is, and a
    client can forge it. For an item with no recorded card, a forged channel and ts must not
    make the desk overwrite another bot message (here the assistant's reply in another
    school's DSL's DM) with the item's card; a location in the duty channel still is redrawn
    (a card posted before its ts was recorded)."""
    from mash import escalations
    from slack_app.deps import make_client

    riverside = "UDEMODSL02"  # Riverside's DSL: another school
    slack.dm(riverside, "hello", ts="1700000000.000100")
    dm = f"D{riverside}"
    [reply] = stub.wait_for(lambda: [m for m in stub.messages(dm) if m.get("user") != riverside])
    with context.sessions() as session:  # no dispatcher: the item has no recorded card
        item = escalations.raise_escalation(
            session=session,
            identity=ChannelIdentity(channel="slack", sender=f"slack:{TEAM_ID}:{DSL}", user_id=DSL),
            message_id="slack:r7-no-card", urgency="concern", categories=["neglect"],
            text="Another child, another note.",
        )  # fmt: skip
    forged = meta(item.id, (dm, reply["ts"]), "acknowledge")
    done = slack.submit(DUTY, STEP_UP_VIEW, code_values(fresh_code(DUTY)), forged)
    assert done.status_code == 200 and not done.content  # the right code still acknowledges
    assert status(context, item.id) == "acknowledged"

    posted = make_client(settings).chat_postMessage(channel=DUTY_CHANNEL, text="a card")
    in_duty = meta(item.id, (DUTY_CHANNEL, posted["ts"]), "pick_up")
    assert not slack.submit(DUTY, STEP_UP_VIEW, code_values(fresh_code(DUTY)), in_duty).content
    assert status(context, item.id) == "picked_up"
    # the card is redrawn after the answer to Slack: wait for the second one's redraw
    [redrawn] = stub.wait_for(lambda: [c.params for c in stub.calls("chat.update")])
    assert (redrawn["channel"], redrawn["ts"]) == (DUTY_CHANNEL, posted["ts"])
    assert f"E-{item.id:06d}" in str(redrawn["text"])
    [still] = [m for m in stub.messages(dm) if m["ts"] == reply["ts"]]
    assert still["text"] == reply["text"]


def test_odd_shapes_in_a_form_are_refused_in_the_form(slack, stub, context, card, demo):
    """Security re-review I-1: a forged submission with a dict or a string where Slack sends
    an option (or text) is answered in the form, not with an HTTP 500, and changes nothing."""
    escalation_id, where = card
    duty2 = str(demo.people["duty2"])
    shapes = {
        "assignee as a dict": (REASSIGN_VIEW, {
            "assignee": {"person": {"selected_option": {"value": {"x": 1}}}}}, "assignee"),
        "assignee option as a string": (REASSIGN_VIEW, {
            "assignee": {"person": {"selected_option": duty2}}}, "assignee"),
        "outcome option as a string": (OUTCOME_VIEW, {
            "outcome": {"code": {"selected_option": "no_further_action"}},
            "note": {"text": {"value": ""}}}, "outcome"),
        "note as a list": (OUTCOME_VIEW, {
            "outcome": {"code": {"selected_option": {"value": "no_further_action"}}},
            "note": {"text": {"value": ["x"]}}, "code": {"code": {"value": {"x": 1}}}}, "code"),
        "code as a list": (STEP_UP_VIEW, {"code": {"code": {"value": ["123456"]}}}, "code"),
        "state as a list": (STEP_UP_VIEW, [], "code"),
    }
    for name, (callback, values, block) in shapes.items():
        answer = slack.submit(DUTY, callback, values, meta(escalation_id, where, "acknowledge"))
        assert answer.status_code == 200, name
        assert answer.json()["response_action"] == "errors" and block in answer.json()["errors"]
    forged_action = json.dumps({**value(escalation_id), "action": {"x": 1}})
    answer = slack.submit(DUTY, STEP_UP_VIEW, code_values("123456"), forged_action)
    assert answer.status_code == 200 and "malformed" in answer.json()["errors"]["code"]
    e = escalation(context, escalation_id)
    assert (e.status, e.picked_up_by, e.outcome_code) == ("raised", None, None)
    assert audit_rows(context, "slack.step_up_failed") == []  # no code was checked


def test_forged_or_malformed_forms_are_refused_and_audited(slack, stub, context, card, demo):
    """Security re-review I-2: a code modal offering an action it cannot, or a form with
    malformed metadata, leaves a refusal row, so probing is not invisible; and the role is
    checked before the fields, so a stranger's form that would fail validation is refused as
    a stranger's. Nothing is done, and no code is checked."""
    escalation_id, where = card
    forged = meta(escalation_id, where, "record_outcome")  # not an action of the code modal
    for user in (STRANGER, DUTY):
        answer = slack.submit(user, STEP_UP_VIEW, code_values("123456"), forged).json()
        assert ("Only MASH staff" if user == STRANGER else "malformed") in answer["errors"]["code"]
    for callback, block in ((OUTCOME_VIEW, "note"), (REASSIGN_VIEW, "assignee")):
        answer = slack.submit(DUTY, callback, code_values("123456"), "[]").json()
        assert "malformed" in answer["errors"][block]
    empty = {"note": {"text": {"type": "plain_text_input", "value": ""}}}  # no outcome chosen
    stranger = slack.submit(STRANGER, OUTCOME_VIEW, empty, meta(escalation_id, where)).json()
    assert "Only MASH staff" in stranger["errors"]["outcome"]

    def refusals(action: str) -> list[tuple]:
        return [(r.actor_role, r.actor_user_id, r.subject_id, r.detail["reason"])
                for r in audit_rows(context, f"slack.refused.{action}")]

    duty = demo.people["duty"]
    assert refusals("step_up") == [("unverified", None, escalation_id, "not MASH staff"),
                                   ("mash_worker", duty, escalation_id, "malformed form")]
    assert refusals("record_outcome") == [("mash_worker", duty, None, "malformed form"),
                                          ("unverified", None, escalation_id, "not MASH staff")]
    assert refusals("reassign") == [("mash_worker", duty, None, "malformed form")]
    assert audit_rows(context, "slack.step_up_failed") == []
    assert status(context, escalation_id) == "raised"
