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


async def test_a_consultation_carries_the_expected_level(
    services, sessions, dispatcher, make_tracker, metadata_for, guidance_engine
):
    """The conversation's threshold check when it had one, else the suggestion for the topic."""
    from sqlalchemy import select

    from mash.models import Consultation

    card = {"event": "bot", "data": {"custom": {"card": {"kind": "threshold", "level": 3}}}}
    checked = make_tracker("x", metadata=metadata_for("oakfield_dsl", message_id="c-2"),
                           slots=SLOTS, events=[card])
    await ActionRequestConsultation().run(dispatcher, checked, {})
    unchecked = make_tracker("x", metadata=metadata_for("oakfield_dsl", message_id="c-3"),
                             slots=SLOTS)
    await ActionRequestConsultation().run(dispatcher, unchecked, {})
    with sessions() as session:
        rows = session.execute(select(Consultation).order_by(Consultation.id)).scalars().all()
    assert [(r.expected_level, r.expected_source) for r in rows] == [
        (3, "check"), (guidance_engine.assess(SLOTS["consultation_topic"]).level, "assess")]


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


# ---- "what happened with E-000009?": the one item a reference names, access-checked ----

def test_references_are_read_from_the_text():
    from bot.actions.referrals import reference_in

    assert reference_in("what happened with E-000009?") == ("escalation", 9)
    assert reference_in("any news on c-12 please") == ("consultation", 12)
    assert reference_in("update on e000031") == ("escalation", 31)
    assert reference_in("what happened to my referral") is None
    assert reference_in("ELSE-5 or E-") is None


async def _raise(dispatcher, make_tracker, metadata_for, key="oakfield_dsl", message_id="e-9",
                 text="he said dad punched him"):
    risk = {"urgency": "immediate", "categories": ["physical_abuse"], "matches": []}
    await ActionRaiseEscalation().run(
        dispatcher, make_tracker(text, metadata=metadata_for(key, message_id=message_id),
                                 risk=risk), {}
    )
    reference = dispatcher.messages[0]["reference"]
    dispatcher.messages.clear()
    return reference


async def _ask(dispatcher, make_tracker, metadata_for, key, text):
    dispatcher.messages.clear()
    await ActionCheckReferralStatus().run(
        dispatcher, make_tracker(text, metadata=metadata_for(key, message_id="ask-1")), {}
    )
    return list(dispatcher.messages)


async def test_a_reference_gets_that_item_alone_with_its_outcome(
    services, sessions, dispatcher, make_tracker, metadata_for, demo
):
    from mash import escalations
    from mash.access import Actor
    from mash.models import AuditEntry

    reference = await _raise(dispatcher, make_tracker, metadata_for, text="JS said dad punched him")
    newer = await _raise(dispatcher, make_tracker, metadata_for, message_id="e-10",
                         text="KT said mum slapped her")  # a newer one, about another child
    assert newer != reference
    [answer] = await _ask(dispatcher, make_tracker, metadata_for, "oakfield_dsl",
                          f"what happened with {reference}?")
    assert answer["response"] == "utter_referral_status_item"
    assert answer["reference"] == reference
    assert answer["status"] == "waiting for a duty social worker" and answer["outcome_part"] == ""

    duty = Actor(user_id=demo.people["duty"], role="mash_worker", organisation_id=None)
    number = int(reference[2:])
    with sessions() as session:
        escalations.pick_up(session=session, actor=duty, escalation_id=number)
    with sessions() as session:
        escalations.record_outcome(session=session, actor=duty, escalation_id=number,
                                   outcome_code="early_help_taf")
    [answer] = await _ask(dispatcher, make_tracker, metadata_for, "oakfield_dsl",
                          f"any news on {reference.lower()}")
    assert answer["status"] == "decided"
    assert answer["outcome_part"] == ". Outcome: Early help / Team Around the Family"
    with sessions() as session:  # the lookup is an audited read by the asker
        from sqlalchemy import select

        reads = session.execute(
            select(AuditEntry).where(AuditEntry.action == "escalation.read",
                                     AuditEntry.subject_id == number)
        ).scalars().all()
    assert [r.actor_user_id for r in reads] == [demo.people["oakfield_dsl"]] * 2


async def test_a_colleague_may_ask_and_another_school_gets_not_found(
    services, dispatcher, make_tracker, metadata_for
):
    reference = await _raise(dispatcher, make_tracker, metadata_for)
    [colleague] = await _ask(dispatcher, make_tracker, metadata_for, "oakfield_deputy",
                             f"what happened with {reference}?")
    assert colleague["reference"] == reference  # the organisation's item, by the access rules

    [forbidden] = await _ask(dispatcher, make_tracker, metadata_for, "riverside_dsl",
                             f"what happened with {reference}?")
    [unknown] = await _ask(dispatcher, make_tracker, metadata_for, "riverside_dsl",
                           "what happened with E-999999?")
    assert forbidden["text"] == f"I can't find {reference} among the concerns and " \
        "consultations you can see. Check the reference, or ask \"what happened to my " \
        "concerns?\" for the ones you raised most recently."
    # The same answer for a reference that is not there: nothing tells the two apart.
    assert unknown["text"] == forbidden["text"].replace(reference, "E-999999")
    assert forbidden.get("response") is None and unknown.get("response") is None


async def test_a_consultation_by_reference(services, dispatcher, make_tracker, metadata_for):
    await ActionRequestConsultation().run(
        dispatcher, make_tracker("x", metadata=metadata_for("oakfield_dsl", message_id="c-9"),
                                 slots=SLOTS), {}
    )
    reference = dispatcher.messages[0]["reference"]
    [answer] = await _ask(dispatcher, make_tracker, metadata_for, "oakfield_dsl",
                          f"has anyone picked up {reference}")
    assert answer["reference"] == reference and answer["urgency"] == "consultation"
    assert answer["status"] == "waiting for a call back"
    [other] = await _ask(dispatcher, make_tracker, metadata_for, "riverside_dsl",
                         f"has anyone picked up {reference}")
    assert "I can't find" in other["text"]


async def test_a_reference_needs_a_sign_in(services, dispatcher, said, make_tracker):
    await ActionCheckReferralStatus().run(
        dispatcher, make_tracker("what happened with E-000001?"), {}
    )
    assert said() == ["utter_needs_signin"]
