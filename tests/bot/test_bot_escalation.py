"""action_raise_escalation: one escalation per message, through the MASH service."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.actions.escalation import ActionRaiseEscalation
from mash.models import Escalation

DISCLOSURE = "A pupil just told me her dad hit her with a belt last night."
RISK = {
    "urgency": "immediate",
    "categories": ["physical_abuse"],
    "matches": [{"text": "hit her with a belt", "category": "physical_abuse", "start": 26,
                 "end": 45}],
}


def escalation_count(sessions) -> int:
    with sessions() as session:
        return session.execute(select(func.count()).select_from(Escalation)).scalar_one()


async def test_raises_one_escalation_and_gives_the_reference(
    services, sessions, dispatcher, said, make_tracker, metadata_for
):
    tracker = make_tracker(DISCLOSURE, intent="report_immediate_risk",
                           metadata=metadata_for("oakfield_dsl"), risk=RISK)
    events = await ActionRaiseEscalation().run(dispatcher, tracker, {})

    assert said() == ["utter_escalation_raised"]
    reference = dispatcher.messages[0]["reference"]
    assert reference.startswith("E-")
    assert events == [{"event": "slot", "timestamp": None, "name": "escalation_reference",
                       "value": reference}]
    assert escalation_count(sessions) == 1
    with sessions() as session:
        row = session.execute(select(Escalation)).scalar_one()
    assert row.urgency == "immediate"
    assert row.message_id == "m-1"  # the channel's id as it is, as the chat relay uses it
    assert row.sender_verified


async def test_the_same_message_twice_is_one_escalation(
    services, sessions, dispatcher, make_tracker, metadata_for
):
    tracker = make_tracker(DISCLOSURE, intent="report_immediate_risk",
                           metadata=metadata_for("oakfield_dsl", message_id="m-7"), risk=RISK)
    await ActionRaiseEscalation().run(dispatcher, tracker, {})
    await ActionRaiseEscalation().run(dispatcher, tracker, {})

    assert escalation_count(sessions) == 1
    assert dispatcher.messages[0]["reference"] == dispatcher.messages[1]["reference"]


async def test_unknown_organisation_still_raises(
    services, sessions, dispatcher, said, make_tracker, metadata_for
):
    metadata = metadata_for("oakfield_dsl") | {"organisation_id": 999_999}
    tracker = make_tracker(DISCLOSURE, intent="report_immediate_risk", metadata=metadata,
                           risk=RISK)
    await ActionRaiseEscalation().run(dispatcher, tracker, {})

    assert said() == ["utter_escalation_raised"]
    assert escalation_count(sessions) == 1


async def test_no_metadata_still_raises(services, sessions, dispatcher, said, make_tracker):
    tracker = make_tracker(DISCLOSURE, intent="report_immediate_risk", risk=RISK)
    await ActionRaiseEscalation().run(dispatcher, tracker, {})
    assert said() == ["utter_escalation_raised"]
    assert escalation_count(sessions) == 1


async def test_database_down_tells_the_user_to_phone(
    database_down, dispatcher, said, make_tracker, metadata_for
):
    tracker = make_tracker(
        DISCLOSURE, intent="report_immediate_risk", metadata=metadata_for("oakfield_dsl"),
        risk=RISK, slots={"safety_service": "Emergency Duty Team", "safety_phone": "0151 677 6557"},
    )
    events = await ActionRaiseEscalation().run(dispatcher, tracker, {})

    assert said() == ["utter_escalation_failed"]
    assert dispatcher.messages[0]["phone"] == "0151 677 6557"
    assert events == []


async def test_the_escalation_records_the_relays_conversation_not_rasas_derived_id(
    services, sessions, dispatcher, make_tracker, metadata_for
):
    # The signed channel gives Rasa a derived id (c-...) and passes the relay's signed key on,
    # so the escalation names the same sender the relay would (Slack replies use it).
    metadata = metadata_for("oakfield_dsl", message_id="m-c", channel="slack") | {
        "conversation": "slack:T1:U1"}
    tracker = make_tracker(DISCLOSURE, intent="report_immediate_risk", metadata=metadata,
                           risk=RISK, sender_id="c-0123456789abcdef")
    await ActionRaiseEscalation().run(dispatcher, tracker, {})
    with sessions() as session:
        row = session.execute(select(Escalation)).scalar_one()
    assert row.sender == "slack:T1:U1"


async def test_the_same_child_again_joins_and_says_the_reference_it_joined(
    services, sessions, dispatcher, said, make_tracker, metadata_for
):
    """Issue 14 point 4: a further message about the same child, from the same person, joins
    their open escalation; the action says so (utter_escalation_joined) with its reference."""
    first = make_tracker("A pupil, aged 7, just told me her dad hit her with a belt.",
                         intent="report_immediate_risk",
                         metadata=metadata_for("oakfield_dsl", message_id="m-a"), risk=RISK)
    again = make_tracker("The 7 year old I mentioned now says he hits her most nights.",
                         intent="report_immediate_risk",
                         metadata=metadata_for("oakfield_dsl", message_id="m-b"), risk=RISK)
    await ActionRaiseEscalation().run(dispatcher, first, {})
    events = await ActionRaiseEscalation().run(dispatcher, again, {})

    assert said() == ["utter_escalation_raised", "utter_escalation_joined"]
    reference = dispatcher.messages[0]["reference"]
    assert dispatcher.messages[1]["reference"] == reference
    assert events[0]["value"] == reference
    with sessions() as session:
        row = session.execute(select(Escalation)).scalar_one()
    assert row.message_count == 2


def _threshold_card_event(level):
    """A bot event as Rasa stores action_assess_threshold's card (chat/cards.py)."""
    return {"event": "bot", "text": None,
            "data": {"custom": {"card": {"kind": "threshold", "level": level}}}}


async def test_the_conversations_threshold_check_is_the_expected_level(
    services, sessions, dispatcher, make_tracker, metadata_for
):
    events = [
        {"event": "session_started"},
        {"event": "user", "text": "can you check a threshold"},
        _threshold_card_event(2),
        {"event": "user", "text": DISCLOSURE},
    ]
    tracker = make_tracker(DISCLOSURE, intent="report_immediate_risk",
                           metadata=metadata_for("oakfield_dsl"), risk=RISK, events=events)
    await ActionRaiseEscalation().run(dispatcher, tracker, {})
    with sessions() as session:
        row = session.execute(select(Escalation)).scalar_one()
    assert (row.expected_level, row.expected_source) == (2, "check")


async def test_an_unplaced_check_is_expected_no_level(
    services, sessions, dispatcher, make_tracker, metadata_for
):
    tracker = make_tracker(DISCLOSURE, intent="report_immediate_risk",
                           metadata=metadata_for("oakfield_dsl"), risk=RISK,
                           events=[_threshold_card_event(None)])
    await ActionRaiseEscalation().run(dispatcher, tracker, {})
    with sessions() as session:
        row = session.execute(select(Escalation)).scalar_one()
    assert (row.expected_level, row.expected_source) == (None, "check")


async def test_without_a_check_the_engines_suggestion_for_the_text_is_expected(
    services, sessions, dispatcher, make_tracker, metadata_for, guidance_engine
):
    """A check from an earlier session does not count: the text is assessed instead."""
    events = [_threshold_card_event(1), {"event": "session_started"}]
    tracker = make_tracker(DISCLOSURE, intent="report_immediate_risk",
                           metadata=metadata_for("oakfield_dsl"), risk=RISK, events=events)
    await ActionRaiseEscalation().run(dispatcher, tracker, {})
    with sessions() as session:
        row = session.execute(select(Escalation)).scalar_one()
    assessment = guidance_engine.assess(DISCLOSURE)
    assert assessment.placed and row.expected_level == assessment.level == 4
    assert row.expected_source == "assess"


async def test_an_engine_failure_never_costs_the_escalation(
    services, sessions, dispatcher, said, make_tracker, metadata_for, monkeypatch
):
    from bot.actions import common

    def broken():
        raise RuntimeError("pack failed to load")

    monkeypatch.setattr(common, "engine", broken)
    tracker = make_tracker(DISCLOSURE, intent="report_immediate_risk",
                           metadata=metadata_for("oakfield_dsl"), risk=RISK)
    await ActionRaiseEscalation().run(dispatcher, tracker, {})
    assert said() == ["utter_escalation_raised"]
    with sessions() as session:
        row = session.execute(select(Escalation)).scalar_one()
    assert (row.expected_level, row.expected_source) == (None, None)
