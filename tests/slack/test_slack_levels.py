"""Expected against decided in Slack's outcome modal (issue 16, part 1): the duty worker
records the level of need and route decided with the outcome (signed requests against the
local Slack stub); a bad value goes back into the modal and changes nothing; the originator's
message names the decided level and the guide's description when it differs."""

from __future__ import annotations

import json

import pytest
from slack_helpers import DISCLOSURE, DSL, DUTY, DUTY_CHANNEL, opened_views, press_with_code
from slack_stub import TEAM_ID
from sqlalchemy import select
from test_slack_desk import OUTCOME_VIEW, outcome_values, row, snapshot, subject, wait_edits

from mash import escalations
from mash.access import ChannelIdentity
from mash.models import OutboxMessage


@pytest.fixture()
def expected_card(context, dispatcher, stub):
    """An escalation the DSL raised from Slack expecting level 2 (her threshold check), posted
    to the duty channel: (escalation id, (channel, ts))."""
    with context.sessions() as session:
        view = escalations.raise_escalation(
            session=session,
            identity=ChannelIdentity(channel="slack", sender=f"slack:{TEAM_ID}:{DSL}", user_id=DSL),
            message_id="slack:levels-1", urgency="immediate", categories=["physical_abuse"],
            text=DISCLOSURE, expected_level=2, expected_source="check",
        )
    assert dispatcher.run_once().delivered == 1
    [posted] = [m for m in stub.messages(DUTY_CHANNEL) if not m.get("thread_ts")]
    return view.id, (DUTY_CHANNEL, posted["ts"])


def with_decision(values: dict, level: str | None, route: str | None) -> dict:
    if level is not None:
        values["level"] = {"level": {"type": "static_select", "selected_option": {"value": level}}}
    if route is not None:
        values["route"] = {"route": {"type": "static_select", "selected_option": {"value": route}}}
    return values


def picked_up(slack, stub, card, fresh_code):
    escalation_id, where = card
    press_with_code(slack, stub, DUTY, "mash_pick_up", subject(escalation_id), card=where,
                    code=fresh_code(DUTY))
    wait_edits(stub, card, 1)
    return json.dumps({**subject(escalation_id), "channel": where[0], "ts": where[1]})


def test_the_modal_records_the_decided_level_and_route(
    slack, stub, context, expected_card, fresh_code
):
    escalation_id, where = expected_card
    meta = picked_up(slack, stub, expected_card, fresh_code)
    slack.press(DUTY, "mash_record_outcome", subject(escalation_id), card=where)
    modal = stub.wait_for(lambda: len(opened_views(stub)) == 2 and opened_views(stub)[-1])
    blocks = {b["block_id"]: b for b in modal["blocks"]}
    assert blocks["level"]["optional"] and blocks["route"]["optional"]
    level_options = {o["value"]: o["text"]["text"] for o in blocks["level"]["element"]["options"]}
    assert list(level_options) == ["1", "2", "3", "4"]
    for level in context.guidance.pack.levels:  # the pack's own names
        assert level_options[str(level.number)] == f"Level {level.number}: {level.name}"[:75]
    routes = [o["value"] for o in blocks["route"]["element"]["options"]]
    assert "strategy_discussion_s47" in routes and "information_missing" in routes

    response = slack.submit(
        DUTY, OUTCOME_VIEW,
        with_decision(outcome_values("strategy_discussion_s47", "Strategy meeting today.",
                                     fresh_code(DUTY)), "4", "strategy_discussion_s47"),
        meta,
    )
    assert response.status_code == 200 and not response.content  # the modal closes
    e = row(context, escalation_id)
    assert (e.status, e.decided_level, e.decided_route) == (
        "outcome_recorded", 4, "strategy_discussion_s47")
    # The originator is told the level decided and the guide's description of it.
    level = context.guidance.pack.levels[4]
    with context.sessions() as session:
        payloads = [
            m.payload for m in session.execute(
                select(OutboxMessage).where(OutboxMessage.topic == "escalation.outcome")
            ).scalars()
        ]
    assert payloads
    for payload in payloads:
        assert f"The MASH decided level 4 ({level.name}); level 2 was expected." in payload["text"]
        assert " ".join(level.description.split()) in payload["text"]


@pytest.mark.parametrize(
    ("level", "route", "block", "error"),
    [("9", None, "level", "must be level 1, 2, 3 or 4"),
     ("2", "somewhere", "route", "is not a route")],
)
def test_a_bad_level_or_route_goes_back_into_the_modal_and_changes_nothing(
    slack, stub, context, expected_card, fresh_code, level, route, block, error
):
    escalation_id, _where = expected_card
    meta = picked_up(slack, stub, expected_card, fresh_code)
    before = snapshot(context, escalation_id)
    code = fresh_code(DUTY)
    refused = slack.submit(
        DUTY, OUTCOME_VIEW,
        with_decision(outcome_values("advice_given", "ok", code), level, route), meta,
    ).json()
    assert refused["response_action"] == "errors" and error in refused["errors"][block]
    assert "code" not in refused["errors"]  # found before the code was used: it still works
    assert snapshot(context, escalation_id) == before
    done = slack.submit(
        DUTY, OUTCOME_VIEW,
        with_decision(outcome_values("advice_given", "ok", code), "2", "early_help_single_agency"),
        meta,
    )
    assert done.status_code == 200 and not done.content
    assert row(context, escalation_id).decided_level == 2
