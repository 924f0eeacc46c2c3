"""action_request_consultation and action_check_referral_status, through the MASH service."""

from __future__ import annotations

from rasa_sdk.events import SlotSet

from bot.actions.consultation import ActionRequestConsultation
from bot.actions.escalation import ActionRaiseEscalation
from bot.actions.referrals import ActionCheckReferralStatus

SLOTS = {
    "callback_number": "0151 000 1234",
    "callback_time": "after 3pm today",
    "consultation_topic": "a Year 5 girl whose attendance has dropped sharply",
}


async def test_consultation_is_requested_and_slots_cleared(
    services, dispatcher, said, make_tracker, metadata_for
):
    tracker = make_tracker("a Year 5 girl whose attendance has dropped sharply",
                           metadata=metadata_for("oakfield_dsl", message_id="c-1"), slots=SLOTS)
    events = await ActionRequestConsultation().run(dispatcher, tracker, {})
    assert said() == ["utter_consultation_requested"]
    assert dispatcher.messages[0]["reference"]
    assert dispatcher.messages[0]["callback_number"] == "0151 000 1234"
    assert SlotSet("callback_number", None) in events


async def test_consultation_with_the_database_down(
    database_down, dispatcher, said, make_tracker, metadata_for
):
    tracker = make_tracker("x", metadata=metadata_for("oakfield_dsl"), slots=SLOTS)
    await ActionRequestConsultation().run(dispatcher, tracker, {})
    assert said() == ["utter_consultation_failed"]
    assert dispatcher.messages[0]["phone"]


async def test_my_concerns_lists_what_i_raised(
    services, dispatcher, said, make_tracker, metadata_for
):
    meta = metadata_for("oakfield_dsl", message_id="e-1")
    risk = {"urgency": "immediate", "categories": ["physical_abuse"], "matches": []}
    await ActionRaiseEscalation().run(
        dispatcher, make_tracker("he said dad punched him", metadata=meta, risk=risk), {}
    )
    reference = dispatcher.messages[0]["reference"]
    await ActionRequestConsultation().run(
        dispatcher, make_tracker("x", metadata=metadata_for("oakfield_dsl", message_id="c-2"),
                                 slots=SLOTS), {}
    )
    dispatcher.messages.clear()

    await ActionCheckReferralStatus().run(
        dispatcher, make_tracker("what happened to my referral",
                                 metadata=metadata_for("oakfield_dsl", message_id="s-1")), {}
    )
    assert said() == ["utter_referral_status_intro"] + ["utter_referral_status_item"] * 2
    items = dispatcher.messages[1:]
    assert reference in {item["reference"] for item in items}
    assert any(item["status"] == "waiting for a duty social worker" for item in items)


async def test_another_dsl_does_not_see_my_concerns(
    services, dispatcher, said, make_tracker, metadata_for
):
    risk = {"urgency": "immediate", "categories": [], "matches": []}
    await ActionRaiseEscalation().run(
        dispatcher, make_tracker("he said dad punched him",
                                 metadata=metadata_for("oakfield_dsl"), risk=risk), {}
    )
    dispatcher.messages.clear()
    await ActionCheckReferralStatus().run(
        dispatcher, make_tracker("any update", metadata=metadata_for("riverside_dsl")), {}
    )
    assert said() == ["utter_referral_status_none"]


async def test_status_needs_a_sign_in(services, dispatcher, said, make_tracker):
    await ActionCheckReferralStatus().run(dispatcher, make_tracker("any update"), {})
    assert said() == ["utter_needs_signin"]
