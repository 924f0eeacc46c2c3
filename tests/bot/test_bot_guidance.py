"""action_answer_question, action_assess_threshold: the engine's answers, adapted to the role."""

from __future__ import annotations

from rasa_sdk.events import SlotSet

from bot.actions.guidance import ActionAnswerQuestion
from bot.actions.threshold import ActionAssessThreshold, case_text


async def test_answers_from_the_guide_with_sources(services, dispatcher, said, make_tracker):
    tracker = make_tracker("what does level 3 mean", intent="ask_level_meaning")
    await ActionAnswerQuestion().run(dispatcher, tracker, {})
    assert said()[:2] == ["utter_answer", "utter_answer_sources"]
    assert "3" in dispatcher.messages[0]["answer"]
    # The sources also as a payload, which the portal and Slack render as links.
    sources = dispatcher.messages[1]["custom"]["sources"]
    assert sources and all(set(source) == {"id", "title"} for source in sources)


async def test_a_gp_is_told_about_conference_reports(
    services, dispatcher, said, make_tracker, metadata_for
):
    tracker = make_tracker("how do I make a referral", intent="ask_referral_process",
                           metadata=metadata_for("gp"))
    await ActionAnswerQuestion().run(dispatcher, tracker, {})
    assert "utter_gp_conference_tip" in said()
    assert "utter_dsl_mash_contact_tip" not in said()


async def test_a_dsl_is_given_the_schools_mash_contact(
    services, dispatcher, said, make_tracker, metadata_for
):
    tracker = make_tracker("how do I make a referral", intent="ask_referral_process",
                           metadata=metadata_for("oakfield_dsl"))
    await ActionAnswerQuestion().run(dispatcher, tracker, {})
    assert "utter_dsl_mash_contact_tip" in said()
    assert "utter_gp_conference_tip" not in said()
    tip = next(m for m in dispatcher.messages if m["response"] == "utter_dsl_mash_contact_tip")
    assert tip["contact_name"] == "Sam Okafor"


async def test_role_typed_in_text_changes_nothing(services, dispatcher, said, make_tracker):
    tracker = make_tracker("I'm a GP, how do I make a referral", intent="ask_referral_process")
    await ActionAnswerQuestion().run(dispatcher, tracker, {})
    assert "utter_gp_conference_tip" not in said()


async def test_a_concern_is_offered_a_check_or_consultation(
    services, dispatcher, said, make_tracker
):
    tracker = make_tracker("what are the signs of neglect", intent="ask_guide",
                           risk={"urgency": "concern", "categories": ["neglect"], "matches": []})
    await ActionAnswerQuestion().run(dispatcher, tracker, {})
    assert said()[-1] == "utter_concern_follow_up"


async def test_engine_failure_is_a_polite_message(
    services, monkeypatch, dispatcher, said, make_tracker
):
    from bot.actions import common

    class Broken:
        def ask(self, *args, **kwargs):
            raise RuntimeError("boom")

    monkeypatch.setattr(common, "engine", lambda: Broken())
    await ActionAnswerQuestion().run(dispatcher, make_tracker("what is a TAF"), {})
    assert said() == ["utter_guidance_unavailable"]


THRESHOLD_SLOTS = {
    "concern_description": "He often comes to school hungry and his clothes are unwashed",
    "child_age": "8",
    "people_involved": "mum, who has said she is struggling since dad left",
    "support_tried": "breakfast club and a chat with mum",
}


def test_case_text_puts_the_answers_together(make_tracker):
    text = case_text(make_tracker(slots=THRESHOLD_SLOTS))
    assert text.startswith("He often comes to school hungry")
    assert "8 years old" in text and "breakfast club" in text


async def test_assessment_gives_a_level_and_says_the_mash_decides(
    services, dispatcher, said, make_tracker
):
    events = await ActionAssessThreshold().run(dispatcher, make_tracker(slots=THRESHOLD_SLOTS), {})
    assert said() == ["utter_threshold_result", None]  # then the card (a custom payload)
    result = dispatcher.messages[0]
    assert result["level"] in (1, 2, 3, 4)
    assert result["level_name"]
    assert result["reasons"] and result["next_steps"]
    # The same result as a card for the channels (chat/cards.py): lists and section links.
    card = dispatcher.messages[1]["custom"]["card"]
    assert card["level"] == result["level"] and card["level_name"] == result["level_name"]
    assert card["reasons"] and card["next_steps"] and card["sources"]
    # The form's slots are cleared so the next check starts afresh.
    assert SlotSet("child_age", None) in events and len(events) == 4


async def test_an_unplaced_check_asks_questions_and_gives_the_consultation_route(
    services, dispatcher, said, make_tracker
):
    slots = {
        "concern_description": "Something about the family doesn't sit right with me",
        "child_age": "8",
        "people_involved": "his mum",
        "support_tried": "nothing yet",
    }
    events = await ActionAssessThreshold().run(dispatcher, make_tracker(slots=slots), {})
    # No level is guessed; the rule that follows offers the consultation form.
    assert said() == ["utter_threshold_unplaced", None]
    card = dispatcher.messages[1]["custom"]["card"]
    assert card["level"] is None and len(card["questions"]) >= 2
    message = dispatcher.messages[0]
    assert "level" not in message
    assert message["questions"].startswith("(1) ") and "(2) " in message["questions"]
    assert "0151 606 2008" in message["next_steps"]
    assert SlotSet("child_age", None) in events


async def test_a_confident_answer_offers_nothing_more(services, dispatcher, make_tracker):
    tracker = make_tracker("how do I make a referral", intent="ask_referral_process")
    events = await ActionAnswerQuestion().run(dispatcher, tracker, {})
    assert events == []


async def test_a_not_confident_answer_says_so_and_offers_the_consultation_form(
    services, dispatcher, said, make_tracker
):
    from rasa_sdk.events import FollowupAction

    tracker = make_tracker("who can apply for a care order?", intent="ask_guide")
    events = await ActionAnswerQuestion().run(dispatcher, tracker, {})
    assert said()[0] == "utter_answer"
    answer = dispatcher.messages[0]["answer"]
    assert answer.startswith("The guide may not cover this.") and "0151 606 2008" in answer
    # The same offer an unplaced threshold check ends with; its accept rule starts the form.
    assert events == [FollowupAction("utter_offer_consultation")]


async def test_a_not_confident_answer_goes_on_the_gap_list_with_role_only(
    services, sessions, dispatcher, make_tracker, metadata_for
):
    from sqlalchemy import select

    from mash.models import QuestionGap

    tracker = make_tracker("Can Jamie Smith's foster carer take him abroad on holiday?",
                           intent="ask_guide", metadata=metadata_for("gp"))
    await ActionAnswerQuestion().run(dispatcher, tracker, {})
    confident = make_tracker("how do I make a referral", intent="ask_referral_process")
    await ActionAnswerQuestion().run(dispatcher, confident, {})
    with sessions() as session:
        rows = session.execute(select(QuestionGap)).scalars().all()
    assert [(r.text, r.role) for r in rows] == [
        ("Can [name] [name] foster carer take him abroad on holiday?", "gp")]


async def test_the_gap_list_failing_never_costs_the_answer(
    database_down, dispatcher, said, make_tracker
):
    tracker = make_tracker("who can apply for a care order?", intent="ask_guide")
    events = await ActionAnswerQuestion().run(dispatcher, tracker, {})
    assert said()[0] == "utter_answer" and events  # answered, and the consultation offered


async def test_a_gps_threshold_check_gives_the_gp_route_and_the_section(
    services, dispatcher, said, make_tracker, metadata_for
):
    """Issue 14 point 5: a GP's check of a bruised 9-month-old gives the level, its reasons, the
    GP's route (not "tell your designated safeguarding lead") and the bruising section."""
    slots = {
        "concern_description": "A bruise on the cheek of a baby who is not yet crawling",
        "child_age": "0",
        "people_involved": "mum, who says he rolled off the sofa",
        "support_tried": "nothing yet",
    }
    await ActionAssessThreshold().run(
        dispatcher, make_tracker(slots=slots, metadata=metadata_for("gp")), {})
    result, card = dispatcher.messages[0], dispatcher.messages[1]["custom"]["card"]
    assert result["level"] == card["level"] == 4
    assert "GP report" in result["next_steps"] and "designated safeguarding lead" not in (
        result["next_steps"])
    assert "bruising-non-mobile-babies" in [s["id"] for s in card["sources"]]
    # the risk screen's categories in the reasons read as the pack's labels, not ids
    assert "baby_injury" not in result["reasons"] + " ".join(card["reasons"])
    assert "Injury or bruising to a non-mobile baby" in " ".join(card["reasons"])
    dispatcher.messages.clear()
    await ActionAssessThreshold().run(
        dispatcher, make_tracker(slots=slots, metadata=metadata_for("oakfield_dsl")), {})
    assert "designated safeguarding lead" in dispatcher.messages[0]["next_steps"]  # unchanged
