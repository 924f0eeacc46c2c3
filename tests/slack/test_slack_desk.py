"""The duty desk in Slack: buttons and modals by MASH staff (each action with its own
authenticator code: test_slack_step_up.py) change the database and redraw the card in place;
the originator hears the outcome; anyone else is refused and audited; bad input is answered
clearly and changes nothing."""

from __future__ import annotations

import json

import pytest
from slack_helpers import (
    DSL,
    DUTY,
    DUTY2,
    DUTY_CHANNEL,
    MANAGER,
    STRANGER,
    code_values,
    opened_views,
    press_with_code,
)
from sqlalchemy import select

from mash import escalations
from mash.access import ChannelIdentity
from mash.models import AuditEntry, Escalation, OutboxMessage

OUTCOME_VIEW = "mash_outcome_view"
REASSIGN_VIEW = "mash_reassign_view"


def subject(escalation_id: int) -> dict:
    return {"subject_type": "escalation", "subject_id": escalation_id}


def row(context, escalation_id: int) -> Escalation:
    with context.sessions() as session:
        return session.get(Escalation, escalation_id)


def snapshot(context, escalation_id: int) -> tuple:
    e = row(context, escalation_id)
    with context.sessions() as session:
        outbox = session.execute(select(OutboxMessage.idempotency_key)).scalars().all()
    return (e.status, e.version, e.acknowledged_at, e.picked_up_by, e.outcome_code, sorted(outbox))


def refusals(context) -> list[AuditEntry]:
    with context.sessions() as session:
        return list(
            session.execute(
                select(AuditEntry).where(AuditEntry.action.like("slack.refused.%"))
            ).scalars()
        )


def card_now(stub, card) -> dict:
    channel, ts = card[1]
    return next(m for m in stub.messages(channel) if m["ts"] == ts)


def buttons(message: dict) -> list[str]:
    """The desk's step buttons (the "View excerpt" row is separate: test_slack_case_text.py)."""
    rows = [
        b for b in message["blocks"] or [] if b["type"] == "actions" and b["block_id"] == "desk"
    ]
    return [e["text"]["text"] for e in rows[0]["elements"]] if rows else []


def ephemerals(stub, user: str) -> list[str]:
    return [c.params["text"] for c in stub.served("chat.postEphemeral") if c.params["user"] == user]


def wait_edits(stub, card, n: int) -> dict:
    assert stub.wait_for(lambda: card_now(stub, card).get("edited", 0) >= n), "card not redrawn"
    return card_now(stub, card)


def outcome_values(code: str | None, note: str, totp: str = "") -> dict:
    values: dict = {"note": {"text": {"type": "plain_text_input", "value": note}}}
    if totp:
        values.update(code_values(totp))
    if code:
        values["outcome"] = {
            "code": {"type": "static_select", "selected_option": {"value": code}}
        }
    return values


def test_acknowledge_pick_up_and_record_outcome_by_a_mash_worker(
    slack, stub, context, dispatcher, card, fresh_code
):
    escalation_id, where = card
    assert buttons(card_now(stub, card)) == ["Acknowledge", "Pick up", "Reassign"]

    response = press_with_code(slack, stub, DUTY, "mash_acknowledge", subject(escalation_id),
                               card=where, code=fresh_code(DUTY))
    assert response.status_code == 200 and not response.content  # done: the modal closes
    shown = wait_edits(stub, card, 1)
    assert row(context, escalation_id).status == "acknowledged"
    assert buttons(shown) == ["Pick up", "Reassign"]
    assert "Acknowledged" in str(shown["blocks"])

    press_with_code(slack, stub, DUTY, "mash_pick_up", subject(escalation_id), card=where,
                    code=fresh_code(DUTY))
    shown = wait_edits(stub, card, 2)
    assert row(context, escalation_id).picked_up_by is not None
    assert "Picked up by Sam Okafor" in str(shown["blocks"])
    assert buttons(shown) == ["Record outcome", "Reassign"]

    slack.press(DUTY, "mash_record_outcome", subject(escalation_id), card=where)
    modal = stub.wait_for(lambda: len(opened_views(stub)) == 3 and opened_views(stub)[-1])
    assert modal["callback_id"] == OUTCOME_VIEW
    codes = [o["value"] for o in modal["blocks"][0]["element"]["options"]]
    assert "child_in_need_assessment" in codes and len(codes) == 8
    assert modal["blocks"][-1]["block_id"] == "code"  # the form carries the worker's code

    response = slack.submit(
        DUTY, OUTCOME_VIEW,
        outcome_values("child_in_need_assessment", "Assessment opened.", fresh_code(DUTY)),
        modal["private_metadata"],
    )
    assert response.status_code == 200 and not response.content  # the modal closes
    e = row(context, escalation_id)
    assert (e.status, e.outcome_code) == ("outcome_recorded", "child_in_need_assessment")
    shown = wait_edits(stub, card, 3)
    assert "Child in need assessment" in str(shown["blocks"]) and buttons(shown) == []

    # The dispatcher notes the acknowledgement and the pick-up in the card's thread and closes
    # the loop: the DSL hears in plain words, once (and in the portal's notifications).
    assert dispatcher.run_once().delivered == 4
    assert dispatcher.run_once().delivered == 0
    notes = [m["text"] for m in stub.replies(*where)]
    assert any("acknowledged by Sam Okafor" in n for n in notes), notes
    assert any("picked up by Sam Okafor" in n for n in notes), notes
    [dm] = stub.messages(f"D{DSL}")
    assert "Child in need assessment" in dm["text"] and "assess" in dm["text"]
    assert [c.params["users"] for c in stub.served("conversations.open")] == [DSL]
    assert row(context, escalation_id).status == "originator_informed"
    assert "originator told" in str(card_now(stub, card)["blocks"])


def test_a_pick_up_in_the_portal_redraws_the_card_in_slack(stub, context, dispatcher, card):
    """The portal calls the same service; the outbox brings the Slack card up to date."""
    from mash import directory

    escalation_id, where = card
    with context.sessions() as session:
        worker = directory.actor_for(session=session, slack_user_id=DUTY)
    with context.sessions() as session:
        escalations.pick_up(session=session, actor=worker, escalation_id=escalation_id)
    assert dispatcher.run_once().delivered == 1
    shown = card_now(stub, card)
    assert "Picked up by Sam Okafor" in str(shown["blocks"])
    assert buttons(shown) == ["Record outcome", "Reassign"]
    assert any("picked up by Sam Okafor" in m["text"] for m in stub.replies(*where))


def test_reassign_by_the_holder_moves_it_and_tells_the_new_worker(
    slack, stub, context, dispatcher, card, demo, fresh_code
):
    escalation_id, where = card
    press_with_code(slack, stub, DUTY, "mash_pick_up", subject(escalation_id), card=where,
                    code=fresh_code(DUTY))
    wait_edits(stub, card, 1)
    slack.press(DUTY, "mash_reassign", subject(escalation_id), card=where)
    modal = stub.wait_for(lambda: len(opened_views(stub)) == 2 and opened_views(stub)[-1])
    assert modal["callback_id"] == REASSIGN_VIEW
    options = modal["blocks"][0]["element"]["options"]
    assert {o["value"] for o in options} == {
        str(demo.people[k]) for k in ("duty", "duty2", "manager")
    }
    assert modal["blocks"][-1]["block_id"] == "code"
    values = {"assignee": {"person": {"selected_option": {"value": str(demo.people["duty2"])}}},
              **code_values(fresh_code(DUTY))}
    response = slack.submit(DUTY, REASSIGN_VIEW, values, modal["private_metadata"])
    assert response.status_code == 200 and not response.content
    assert row(context, escalation_id).picked_up_by == demo.people["duty2"]
    assert "Picked up by Alex Reid" in str(wait_edits(stub, card, 2)["blocks"])
    dispatcher.run_once()
    assert any(DUTY2 in m["text"] for m in stub.replies(*where))  # a note in the card's thread
    assert "reassigned to you" in stub.messages(f"D{DUTY2}")[0]["text"]


@pytest.mark.parametrize("presser", [DSL, STRANGER])
def test_the_buttons_pressed_by_anyone_but_mash_staff_are_refused_and_audited(
    slack, stub, context, card, presser
):
    escalation_id, where = card
    before = snapshot(context, escalation_id)
    actions = ("mash_acknowledge", "mash_pick_up", "mash_record_outcome", "mash_reassign")
    for action in actions:
        assert slack.press(presser, action, subject(escalation_id), card=where).status_code == 200
    notes = stub.wait_for(lambda: len(ephemerals(stub, presser)) >= 4 and ephemerals(stub, presser))
    assert len(notes) == 4 and all("Only MASH staff" in n for n in notes)
    # A crafted modal submission is refused the same way.
    meta = json.dumps({**subject(escalation_id), "channel": where[0], "ts": where[1]})
    response = slack.submit(presser, OUTCOME_VIEW, outcome_values("no_further_action", ""), meta)
    assert "Only MASH staff" in response.json()["errors"]["outcome"]

    assert snapshot(context, escalation_id) == before
    assert stub.served("views.open") == [] and stub.served("chat.update") == []
    audited = refusals(context)
    assert sorted(a.action for a in audited) == sorted(
        [f"slack.refused.{a.removeprefix('mash_')}" for a in actions]
        + ["slack.refused.record_outcome"]
    )
    assert {a.subject_id for a in audited} == {escalation_id}
    assert {a.actor_role for a in audited} == ({"dsl"} if presser == DSL else {"unverified"})
    assert all(a.detail["slack_user_id"] == presser for a in audited)


def test_unknown_action_ids_and_malformed_buttons_are_answered_and_change_nothing(
    slack, stub, context, card, fresh_code
):
    escalation_id, where = card
    before = snapshot(context, escalation_id)
    slack.press(DUTY, "mash_delete_everything", subject(escalation_id), card=where)
    slack.press(DUTY, "mash_pick_up", "not json at all", card=where)
    slack.press(DUTY, "mash_pick_up", {"subject_type": "payroll", "subject_id": 1}, card=where)
    slack.press(DUTY, "mash_pick_up", {"subject_type": "escalation", "subject_id": "x"}, card=where)
    notes = stub.wait_for(lambda: len(ephemerals(stub, DUTY)) >= 4 and ephemerals(stub, DUTY))
    assert len(notes) == 4
    assert "don't know the button `mash_delete_everything`" in notes[0]
    assert all("nothing was changed" in n.lower() for n in notes)
    assert opened_views(stub) == []  # no code asked for a button that names nothing
    missing = press_with_code(slack, stub, DUTY, "mash_acknowledge", subject(999_999),
                              card=where, code=fresh_code(DUTY)).json()
    assert missing["response_action"] == "update"
    assert "E-999999 was not found" in json.dumps(missing["view"])
    assert snapshot(context, escalation_id) == before


def test_malformed_requests_are_refused_and_change_nothing(slack, stub, context, card):
    escalation_id, _ = card
    before = snapshot(context, escalation_id)
    response = slack.post("payload=%7Bnot+json", "application/x-www-form-urlencoded")
    assert response.status_code >= 400
    response = slack.post('{"type": "block_actions", "actions": 5}', "application/json")
    assert response.status_code >= 400 or not stub.served("chat.update")
    assert snapshot(context, escalation_id) == before


def test_a_huge_note_is_refused_clearly_in_the_modal(slack, stub, context, card, fresh_code):
    escalation_id, where = card
    press_with_code(slack, stub, DUTY, "mash_pick_up", subject(escalation_id), card=where,
                    code=fresh_code(DUTY))
    wait_edits(stub, card, 1)
    before = snapshot(context, escalation_id)
    meta = json.dumps({**subject(escalation_id), "channel": where[0], "ts": where[1]})
    response = slack.submit(DUTY, OUTCOME_VIEW, outcome_values("advice_given", "x" * 10_000), meta)
    assert response.status_code == 200
    body = response.json()
    assert body["response_action"] == "errors"
    assert "10,000 characters; the limit is 3,000" in body["errors"]["note"]
    # No outcome chosen, and a form whose data was tampered with: clear errors too.
    assert "Choose an outcome" in slack.submit(
        DUTY, OUTCOME_VIEW, outcome_values(None, "ok"), meta
    ).json()["errors"]["outcome"]
    assert "malformed" in slack.submit(
        DUTY, OUTCOME_VIEW, outcome_values("advice_given", "ok"), "{oops"
    ).json()["errors"]["note"]
    # (the form's own mistakes are found before the code is checked, so none was used so far)
    bad_code = slack.submit(
        DUTY, OUTCOME_VIEW, outcome_values("made_up", "ok", fresh_code(DUTY)), meta
    ).json()
    assert "not an outcome code" in bad_code["errors"]["outcome"]
    assert "type the next one" in bad_code["errors"]["code"]  # that code is spent
    assert snapshot(context, escalation_id) == before


def test_only_the_holder_or_a_manager_records_the_outcome(
    slack, stub, context, card, fresh_code
):
    escalation_id, where = card
    press_with_code(slack, stub, DUTY, "mash_pick_up", subject(escalation_id), card=where,
                    code=fresh_code(DUTY))
    wait_edits(stub, card, 1)
    meta = json.dumps({**subject(escalation_id), "channel": where[0], "ts": where[1]})
    other = slack.submit(
        DUTY2, OUTCOME_VIEW, outcome_values("advice_given", "", fresh_code(DUTY2)), meta
    ).json()
    assert "Only the worker holding this escalation" in other["errors"]["outcome"]
    assert row(context, escalation_id).status == "picked_up"
    manager = slack.submit(
        MANAGER, OUTCOME_VIEW, outcome_values("advice_given", "", fresh_code(MANAGER)), meta
    )
    assert not manager.content
    assert row(context, escalation_id).outcome_code == "advice_given"


def test_someone_else_picking_it_up_first_is_explained(
    slack, stub, context, card, fresh_code
):
    escalation_id, where = card
    press_with_code(slack, stub, DUTY, "mash_pick_up", subject(escalation_id), card=where,
                    code=fresh_code(DUTY))
    wait_edits(stub, card, 1)
    late = press_with_code(slack, stub, DUTY2, "mash_pick_up", subject(escalation_id),
                           card=where, code=fresh_code(DUTY2)).json()
    assert late["response_action"] == "update"  # the code modal says why
    assert "already been picked up by Sam Okafor" in json.dumps(late["view"])
    wait_edits(stub, card, 2)  # redrawn, so the card shows who has it


def test_a_button_naming_another_item_never_redraws_this_card_with_it(
    slack, stub, context, dispatcher, card, fresh_code
):
    escalation_id, where = card
    with context.sessions() as session:
        other = escalations.raise_escalation(
            session=session,
            identity=ChannelIdentity(channel="slack", sender="slack:T:U", user_id=DSL),
            message_id="slack:test-2",
            urgency="concern",
            categories=["neglect"],
            text="Another worry.",
        )
    dispatcher.run_once()
    press_with_code(slack, stub, DUTY, "mash_acknowledge", subject(other.id), card=where,
                    code=fresh_code(DUTY))  # crafted: wrong card
    assert stub.wait_for(lambda: row(context, other.id).status == "acknowledged")
    other_card = [m for m in stub.messages(DUTY_CHANNEL) if not m.get("thread_ts")][1]
    updated = lambda: [c.params["ts"] for c in stub.served("chat.update")]  # noqa: E731
    assert stub.wait_for(lambda: other_card["ts"] in updated())
    assert card_now(stub, card).get("edited", 0) == 0
    assert f"E-{escalation_id:06d}" in card_now(stub, card)["text"]
