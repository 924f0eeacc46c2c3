"""Practitioners in Slack: DMs and mentions through the relay, threaded replies, retries,
unregistered users. Rasa is down in these tests (nothing listens on its port): the relay's
own screen, safety message and escalation are what is under test, as designed."""

from __future__ import annotations

import time
from datetime import timedelta

from slack_helpers import DISCLOSURE, DSL, DUTY_CHANNEL, STRANGER
from slack_stub import BOT_USER_ID, TEAM_ID
from sqlalchemy import select

from chat.forms import FORM_STOPPED_IDLE
from chat.relay import CANCEL_COMMAND
from mash.models import Escalation
from slack_app.conversation import REPLY_IN_THREAD
from slack_app.store import SlackConversation


def escalations(context) -> list[Escalation]:
    with context.sessions() as session:
        return list(session.execute(select(Escalation)).scalars())


def replies(stub, channel: str, ts: str) -> list[dict]:
    return stub.replies(channel, ts)


def top_level(stub, channel: str) -> list[dict]:
    return [m for m in stub.messages(channel) if not m.get("thread_ts")]


def test_a_disclosure_by_dm_gets_the_safety_message_and_one_duty_post_in_2_seconds(
    slack, stub, running, context
):
    started = time.monotonic()
    ts = "1700000100.000100"
    assert slack.dm(DSL, DISCLOSURE, ts=ts).status_code == 200

    reply = stub.wait_for(lambda: replies(stub, f"D{DSL}", ts))
    assert len(reply) == 1
    assert "999" in reply[0]["text"]  # the safety message, in the thread of the disclosure
    assert "E-0000" in reply[0]["text"]  # and the escalation's reference

    posted = stub.wait_for(lambda: top_level(stub, DUTY_CHANNEL), timeout=2.0)
    assert posted, "no duty channel post within 2 seconds"
    assert time.monotonic() - started < 2.0
    time.sleep(0.3)  # several more dispatcher passes: still one post
    assert len(top_level(stub, DUTY_CHANNEL)) == 1

    [escalation] = escalations(context)
    assert escalation.urgency == "immediate"
    assert escalation.sender_verified and escalation.channel == "slack"
    card = posted[0]
    assert escalation.id and f"E-{escalation.id:06d}" in card["text"]
    actions = [b for b in card["blocks"] if b["type"] == "actions"][0]["elements"]
    assert [a["text"]["text"] for a in actions] == ["Acknowledge", "Pick up", "Reassign"]
    assert '"subject_type": "escalation"' in actions[0]["value"]
    text = str(card["blocks"])
    assert "Dana Price (DSL)" in text and "Oakfield" in text  # who raised it, from where
    assert "min left" in text  # the time left to acknowledge
    assert "belt" not in text  # no case text in Slack: the excerpt opens in a modal, on request
    # categories as the pack's labels, in the blocks and the fallback text
    assert "Disclosure or signs of physical abuse" in text and "physical_abuse" not in text
    assert "Disclosure or signs of physical abuse" in card["text"]
    assert "View excerpt" in text


def test_a_retried_event_gives_one_reply_and_one_escalation(slack, stub, context):
    ts = "1700000200.000100"
    assert slack.dm(DSL, DISCLOSURE, ts=ts, event_id="EvSAME").status_code == 200
    # Slack's retry races the first delivery, and another arrives after it finished.
    assert slack.dm(DSL, DISCLOSURE, ts=ts, event_id="EvSAME", retry=1).status_code == 200
    assert stub.wait_for(lambda: replies(stub, f"D{DSL}", ts))
    assert slack.dm(DSL, DISCLOSURE, ts=ts, event_id="EvSAME", retry=2).status_code == 200
    time.sleep(0.5)
    assert len(replies(stub, f"D{DSL}", ts)) == 1
    assert len(escalations(context)) == 1


def test_an_unregistered_user_is_told_how_to_register_and_still_gets_the_safety_message(
    slack, stub, context
):
    ts = "1700000300.000100"
    slack.dm(STRANGER, DISCLOSURE, ts=ts)
    [reply] = stub.wait_for(lambda: replies(stub, f"D{STRANGER}", ts))
    text = reply["text"]
    assert text.index("999") < text.index("can't find your Slack account")
    assert STRANGER in text  # the id to give the MASH
    assert "unavailable" not in text  # no assistant answers for an unknown sender
    [escalation] = escalations(context)
    assert not escalation.sender_verified  # escalated, as from an unverified sender
    assert escalation.originator_user_id is None


def test_an_unregistered_users_question_only_gets_the_registration_message(slack, stub, context):
    ts = "1700000400.000100"
    slack.dm(STRANGER, "What does level 2 mean?", ts=ts)
    [reply] = stub.wait_for(lambda: replies(stub, f"D{STRANGER}", ts))
    assert reply["text"].startswith("I can't find your Slack account")
    assert escalations(context) == []


def test_a_mention_in_a_channel_is_answered_in_its_thread(slack, stub):
    ts = "1700000500.000100"
    slack.event(
        {
            "type": "app_mention",
            "channel": "CSTAFFROOM",
            "user": DSL,
            "text": f"<@{BOT_USER_ID}> what does level 2 mean?",
            "ts": ts,
            "event_ts": ts,
        }
    )
    [reply] = stub.wait_for(lambda: replies(stub, "CSTAFFROOM", ts))
    assert "assistant is unavailable" in reply["text"]  # Rasa is down in this test


def test_edits_bot_posts_and_channel_chatter_are_ignored(slack, stub, context):
    base = {"channel_type": "im", "channel": f"D{DSL}", "user": DSL, "text": DISCLOSURE}
    slack.event({"type": "message", "subtype": "message_changed", "ts": "1.1", **base})
    slack.event({"type": "message", "bot_id": "BOTHER", "ts": "1.2", **base})
    slack.event({**base, "type": "message", "channel_type": "channel", "ts": "1.3"})
    time.sleep(0.4)
    assert [c for c in stub.calls() if c.method == "chat.postMessage"] == []
    assert escalations(context) == []


def test_a_message_with_a_file_attached_is_still_read(slack, stub, context):
    ts = "1700000600.000100"
    slack.event(
        {"type": "message", "subtype": "file_share", "channel_type": "im", "channel": f"D{DSL}",
         "user": DSL, "text": DISCLOSURE, "ts": ts, "files": [{"id": "F1"}]}
    )
    [reply] = stub.wait_for(lambda: replies(stub, f"D{DSL}", ts))
    assert "999" in reply["text"] and len(escalations(context)) == 1


def test_if_the_relay_breaks_the_practitioner_still_gets_the_safety_numbers(
    slack, stub, context, monkeypatch
):
    def broken(**_kwargs):
        raise RuntimeError("relay bug")

    monkeypatch.setattr(context.relay, "send", broken)
    ts = "1700000700.000100"
    slack.dm(DSL, DISCLOSURE, ts=ts)
    [reply] = stub.wait_for(lambda: replies(stub, f"D{DSL}", ts))
    assert "something went wrong" in reply["text"] and "999" in reply["text"]


def test_cited_sections_are_mrkdwn_links_to_the_portal(slack, stub, context, rasa_answers):
    rasa_answers([
        {"recipient_id": "x", "text": "Consent means ..."},
        {"recipient_id": "x", "text": "From the guide: Consent (consent)"},
        {"recipient_id": "x", "custom": {"sources": [
            {"id": "consent", "title": "Consent & sharing"}]}},
    ])
    ts = "1700000900.000100"
    slack.dm(DSL, "what is consent", ts=ts)
    [reply] = stub.wait_for(lambda: replies(stub, f"D{DSL}", ts))
    base = context.settings.portal_url
    assert f"From the guide: <{base}/guidance/sections/consent|Consent &amp; sharing>" in (
        reply["text"])
    assert "Consent (consent)" not in reply["text"]


def test_a_threshold_card_is_drawn_as_mrkdwn_with_section_links(
    slack, stub, context, rasa_answers
):
    """Issue 14 point 9: the threshold result as a short card (level, lists as bullets, the
    guide's sections as links to the portal), not one paragraph of (1)(2)(3)."""
    card = {"kind": "threshold", "level": 4, "level_name": "Specialist / statutory",
            "reasons": ["A bruise on a baby who is not yet mobile."],
            "next_steps": ["Ring the Integrated Front Door the same day.", "Send a GP report."],
            "questions": [],
            "sources": [{"id": "bruising-non-mobile-babies", "title": "Bruising in babies"}]}
    rasa_answers([
        {"recipient_id": "x", "text": "From what you've described this looks most like Level 4."},
        {"recipient_id": "x", "custom": {"card": card}},
    ])
    ts = "1700000950.000100"
    slack.dm(DSL, "threshold check answers", ts=ts)
    [reply] = stub.wait_for(lambda: replies(stub, f"D{DSL}", ts))
    base = context.settings.portal_url
    text = reply["text"]
    assert "*Suggested level 4: Specialist / statutory*" in text
    assert "_Next steps_\n• Ring the Integrated Front Door the same day.\n• Send a GP report." in (
        text)
    assert f"• <{base}/guidance/sections/bruising-non-mobile-babies|Bruising in babies>" in text


def test_the_same_child_again_in_slack_joins_the_open_escalation(slack, stub, context, running):
    """Issue 14 point 4 in Slack: the safety message both times, one escalation holding both
    messages, the reference it joined in the reply, and the duty desk told in the card's
    thread."""
    first_ts, second_ts = "1700001000.000100", "1700001060.000100"
    slack.dm(DSL, "A 9-month-old has a bruise on his cheek, mum says he rolled off.", ts=first_ts)
    [first] = stub.wait_for(lambda: replies(stub, f"D{DSL}", first_ts))
    slack.dm(DSL, "About the 9 month old: the bruise looks like fingertip marks.", ts=second_ts)
    [second] = stub.wait_for(lambda: replies(stub, f"D{DSL}", second_ts))
    [escalation] = escalations(context)
    reference = f"E-{escalation.id:06d}"
    assert "999" in first["text"] and "999" in second["text"]
    assert reference in second["text"] and "added to the concern you raised earlier" in (
        second["text"])
    assert escalation.message_count == 2
    [card] = stub.wait_for(lambda: top_level(stub, DUTY_CHANNEL))
    notes = stub.wait_for(lambda: [r for r in replies(stub, DUTY_CHANNEL, card["ts"])
                                   if "Further information" in r.get("text", "")])
    assert len(notes) == 1 and reference in notes[0]["text"] and notes[0]["reply_broadcast"]
    assert "fingertip" not in notes[0]["text"]  # no case text in Slack


def test_a_quoted_list_is_drawn_with_bullets(slack, stub, rasa_answers):
    rasa_answers([{"recipient_id": "x",
                   "text": "A good record:\n- is made at the time\n- is signed"}])
    ts = "1700001200.000100"
    slack.dm(DSL, "what makes a good record", ts=ts)
    [reply] = stub.wait_for(lambda: replies(stub, f"D{DSL}", ts))
    assert "A good record:\n• is made at the time\n• is signed" in reply["text"]


# -- conversations: one per thread, and a form left idle is stopped (issue 14) ---------------


def earlier(context, by: timedelta) -> None:
    """Move every conversation's last message back in time by `by`."""
    with context.sessions() as session, session.begin():
        for row in session.execute(select(SlackConversation)).scalars():
            row.last_message_at -= by


def test_each_top_level_message_starts_a_conversation_and_its_thread_continues_it(
    slack, stub, rasa
):
    first_ts = "1700002000.000100"
    slack.dm(DSL, "check the threshold", ts=first_ts)
    [opened] = stub.wait_for(lambda: replies(stub, f"D{DSL}", first_ts))
    # a question that opens a conversation says where to answer it
    assert opened["text"] == f"What is the worry, in a sentence?\n\n{REPLY_IN_THREAD}"
    # a reply in its thread is the form's next answer, in the same conversation
    slack.dm(DSL, "a Year 4 boy", ts="1700002010.000100", thread_ts=first_ts)
    stub.wait_for(lambda: len(replies(stub, f"D{DSL}", first_ts)) == 2)
    assert replies(stub, f"D{DSL}", first_ts)[1]["text"] == "How old is the child?"
    # a new top-level message is a new conversation: no form of the first thread is open in it
    new_ts = "1700002020.000100"
    slack.dm(DSL, "who is our MASH contact?", ts=new_ts)
    [answer] = stub.wait_for(lambda: replies(stub, f"D{DSL}", new_ts))
    assert answer["text"] == "Your MASH contact is ..."  # not a question: no hint
    first, in_thread, new = rasa.calls
    assert first["sender"] == in_thread["sender"] != new["sender"]
    # the person is the same in every conversation: escalations and follow-ups go by them
    assert {c["metadata"]["address"] for c in rasa.calls} == {f"slack:{TEAM_ID}:{DSL}"}
    assert {c["metadata"]["user_id"] for c in rasa.calls} == {DSL}
    assert CANCEL_COMMAND not in [c["message"] for c in rasa.calls]


def test_a_form_left_idle_in_a_thread_is_stopped_and_the_user_is_told(
    slack, stub, rasa, context
):
    first_ts = "1700003000.000100"
    slack.dm(DSL, "check the threshold", ts=first_ts)
    stub.wait_for(lambda: replies(stub, f"D{DSL}", first_ts))
    earlier(context, timedelta(minutes=context.settings.chat_form_idle_minutes))
    slack.dm(DSL, "who is our MASH contact?", ts="1700003010.000100", thread_ts=first_ts)
    stub.wait_for(lambda: len(replies(stub, f"D{DSL}", first_ts)) == 2)
    text = replies(stub, f"D{DSL}", first_ts)[1]["text"]
    assert [c["message"] for c in rasa.calls] == [
        "check the threshold", CANCEL_COMMAND, "who is our MASH contact?"]
    assert len({c["sender"] for c in rasa.calls}) == 1
    # the portal's words, then the answer to the new question (not "How old is the child?")
    assert text == f"{FORM_STOPPED_IDLE}\n\nYour MASH contact is ..."


def test_an_idle_thread_with_no_form_open_adds_no_note(slack, stub, rasa, context):
    first_ts = "1700004000.000100"
    slack.dm(DSL, "hello", ts=first_ts)
    stub.wait_for(lambda: replies(stub, f"D{DSL}", first_ts))
    earlier(context, timedelta(hours=1))
    slack.dm(DSL, "who is our MASH contact?", ts="1700004010.000100", thread_ts=first_ts)
    stub.wait_for(lambda: len(replies(stub, f"D{DSL}", first_ts)) == 2)
    assert [c["message"] for c in rasa.calls] == ["hello", CANCEL_COMMAND,
                                                 "who is our MASH contact?"]
    assert replies(stub, f"D{DSL}", first_ts)[1]["text"] == "Your MASH contact is ..."


def test_a_disclosure_in_a_thread_raises_the_escalation_as_from_the_person(
    slack, stub, context, running
):
    """The escalation's sender is the person's Slack address, not the thread, so the outcome's
    direct message finds them and a disclosure in another thread can join it."""
    first_ts = "1700005000.000100"
    slack.dm(DSL, "hello", ts=first_ts)
    stub.wait_for(lambda: replies(stub, f"D{DSL}", first_ts))
    slack.dm(DSL, DISCLOSURE, ts="1700005010.000100", thread_ts=first_ts)
    stub.wait_for(lambda: len(replies(stub, f"D{DSL}", first_ts)) == 2)
    [escalation] = escalations(context)
    assert escalation.sender == f"slack:{TEAM_ID}:{DSL}"
