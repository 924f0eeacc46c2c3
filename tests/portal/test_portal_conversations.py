"""Chat conversations (issue 14): one per browser tab, chosen only among the user's own, and a
half-finished form stopped before the first message after a return to the page or a long
pause, so that message is read as a new question. Tested against the relay's contract: what
the portal signs and sends to Rasa's channel (a recording stub stands in for Rasa)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest
from fake_rasa import FakeRasa

from chat.forms import FORM_STOPPED_IDLE, FORM_STOPPED_RESUMED
from chat.relay import CANCEL_COMMAND, NOTHING_TO_CANCEL

TAB_A = "tabAAAAAAAAAAAAAAAAAAA"
TAB_B = "tabBBBBBBBBBBBBBBBBBBB"


@pytest.fixture()
def rasa(context, settings):
    fake = FakeRasa(settings.channel_secret)
    original = context.relay.http
    context.relay.http = httpx.Client(transport=httpx.MockTransport(fake))
    yield fake
    context.relay.http.close()
    context.relay.http = original


def say(client, token, text, **fields):
    response = client.post("/api/chat", json={"text": text, **fields},
                           headers={"X-CSRF-Token": token})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_relays_cancel_reading_matches_the_bots_domain():
    import yaml

    from settings import ROOT

    domain = yaml.safe_load((ROOT / "bot" / "domain" / "core.yml").read_text())
    assert domain["responses"]["utter_nothing_to_cancel"][0]["text"].startswith(NOTHING_TO_CANCEL)
    assert "cancel" in domain["intents"]


def test_each_tab_is_its_own_conversation_of_the_signed_in_user(as_user, demo, rasa):
    client, token = as_user("oakfield_dsl")
    say(client, token, "hello", conversation=TAB_A)
    say(client, token, "hello", conversation=TAB_B)
    say(client, token, "hello")  # no id (an older page): the user's default conversation
    person = demo.people["oakfield_dsl"]
    assert [c["sender"] for c in rasa.calls] == [
        f"portal-{person}-{TAB_A}", f"portal-{person}-{TAB_B}", f"portal-{person}"]
    # the identity Rasa's conversation is derived from still comes from the session alone
    assert {c["metadata"]["user_id"] for c in rasa.calls} == {person}


def test_the_same_tab_id_never_reaches_another_users_conversation(as_user, rasa):
    for key in ("oakfield_dsl", "oakfield_deputy"):
        client, token = as_user(key)
        say(client, token, "hello", conversation=TAB_A)
    first, second = rasa.calls
    assert first["sender"] != second["sender"]
    assert first["metadata"]["user_id"] != second["metadata"]["user_id"]


@pytest.mark.parametrize("bad", ["short", "a" * 65, "tab/AAAAAAAAAAAAAAAAAA", "x y" * 8, 12345])
def test_a_malformed_conversation_id_is_refused(as_user, rasa, bad):
    client, token = as_user("oakfield_dsl")
    response = client.post("/api/chat", json={"text": "hello", "conversation": bad},
                           headers={"X-CSRF-Token": token})
    assert response.status_code == 422
    assert rasa.calls == []


def test_a_form_left_open_is_stopped_when_the_tab_comes_back(as_user, rasa):
    """The issue's failure: after a reload the next question was taken as the form's answer."""
    client, token = as_user("oakfield_dsl")
    assert say(client, token, "check the threshold", conversation=TAB_A)["messages"][0][
        "text"] == "What is the worry, in a sentence?"
    reply = say(client, token, "who is our MASH contact?", conversation=TAB_A, resumed=True)
    assert [c["message"] for c in rasa.calls[1:]] == [CANCEL_COMMAND, "who is our MASH contact?"]
    assert rasa.calls[1]["sender"] == rasa.calls[2]["sender"]  # the same conversation
    assert rasa.calls[1]["metadata"]["message_id"] != rasa.calls[2]["metadata"]["message_id"]
    notice, answer = reply["messages"]
    assert notice == {"text": FORM_STOPPED_RESUMED, "safety": False, "notice": True,
                      "buttons": [], "sources": [], "card": None}
    assert answer["text"] == "Your MASH contact is ..."  # not "How old is the child?"


def test_coming_back_with_no_form_open_adds_no_note(as_user, rasa):
    client, token = as_user("oakfield_dsl")
    say(client, token, "hello", conversation=TAB_A)
    reply = say(client, token, "who is our MASH contact?", conversation=TAB_A, resumed=True)
    assert [c["message"] for c in rasa.calls] == ["hello", CANCEL_COMMAND,
                                                 "who is our MASH contact?"]
    assert [m["text"] for m in reply["messages"]] == ["Your MASH contact is ..."]


def test_a_new_tab_or_new_conversation_sends_no_cancel(as_user, rasa):
    """A conversation this session has not seen has no form of ours open: nothing to stop."""
    client, token = as_user("oakfield_dsl")
    say(client, token, "check the threshold", conversation=TAB_A)
    reply = say(client, token, "who is our MASH contact?", conversation=TAB_B, resumed=True)
    assert CANCEL_COMMAND not in [c["message"] for c in rasa.calls]
    assert reply["messages"][0]["text"] == "Your MASH contact is ..."


def test_a_form_idle_for_ten_minutes_is_stopped_and_the_assistant_says_so(app, as_user, rasa):
    now = [datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)]
    app.state.clock = lambda: now[0]
    client, token = as_user("oakfield_dsl")
    say(client, token, "check the threshold", conversation=TAB_A)
    now[0] += timedelta(minutes=9)
    assert say(client, token, "a Year 4 boy", conversation=TAB_A)["messages"][0][
        "text"] == "How old is the child?"  # still answering the form: not idle yet
    now[0] += timedelta(minutes=10)
    reply = say(client, token, "who is our MASH contact?", conversation=TAB_A)
    assert [c["message"] for c in rasa.calls][-2:] == [CANCEL_COMMAND, "who is our MASH contact?"]
    assert [m["text"] for m in reply["messages"]] == [FORM_STOPPED_IDLE,
                                                     "Your MASH contact is ..."]
    assert reply["messages"][0]["notice"] is True


def test_the_idle_limit_is_a_setting(make_settings, demo_db_url, tmp_path):
    from settings import Settings, SettingsError

    assert make_settings(demo_db_url, tmp_path).chat_form_idle_minutes == 10
    assert Settings.from_env({"CHAT_FORM_IDLE_MINUTES": "3", "VAR_DIR": str(tmp_path)}
                             ).chat_form_idle_minutes == 3
    with pytest.raises(SettingsError):
        Settings.from_env({"CHAT_FORM_IDLE_MINUTES": "0", "VAR_DIR": str(tmp_path)})


def test_a_disclosure_is_not_held_back_by_stopping_a_form(as_user, rasa, context):
    """A disclosure after a pause goes straight to Rasa (whose safety rules take it out of any
    form) with no cancel first: the safety message waits on nothing extra."""
    client, token = as_user("oakfield_dsl")
    say(client, token, "check the threshold", conversation=TAB_A)
    reply = say(client, token, "A pupil told me her dad hit her with a belt last night.",
                conversation=TAB_A, resumed=True)
    assert [c["message"] for c in rasa.calls][-1].startswith("A pupil told me")
    assert CANCEL_COMMAND not in [c["message"] for c in rasa.calls]
    assert reply["urgency"] == "immediate" and reply["escalation_reference"].startswith("E-")
    assert not any(m["notice"] for m in reply["messages"])


def test_a_slow_rasa_holds_the_cancel_for_5_seconds_at_most(context):
    from chat.relay import CANCEL_TIMEOUT_SECONDS

    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"]["read"])
        raise httpx.ReadTimeout("slow", request=request)

    original = context.relay.http
    context.relay.http = httpx.Client(transport=httpx.MockTransport(handler))
    try:
        reply = context.relay.send(sender_id="portal-1-x", text="who is our MASH contact?",
                                   metadata={"user_id": 1}, stop_form_first=True)
    finally:
        context.relay.http.close()
        context.relay.http = original
    assert seen[0] == CANCEL_TIMEOUT_SECONDS == 5.0 and seen[1] == 15.0
    assert reply.form_stopped is False and reply.assistant_available is False


def test_with_rasa_down_the_message_still_gets_the_relays_answer(as_user, context):
    """Stopping a form needs Rasa; when it is down the message is still screened and answered
    (here a disclosure: the safety message and an escalation)."""
    client, token = as_user("oakfield_dsl")
    say(client, token, "hello", conversation=TAB_A)
    reply = say(client, token, "A pupil told me her dad hit her with a belt last night.",
                conversation=TAB_A, resumed=True)
    assert reply["urgency"] == "immediate" and reply["escalation_reference"].startswith("E-")
    assert not any(m["notice"] for m in reply["messages"])


def test_the_page_carries_the_sessions_transcript_mark_and_the_new_conversation_control(
        as_user, portal_sign_in, app):
    from fastapi.testclient import TestClient

    client, _ = as_user("oakfield_dsl")
    page = client.get("/chat").text
    mark = page.split('data-owner="', 1)[1].split('"', 1)[0]
    assert len(mark) >= 16 and mark in client.get("/chat").text  # stable within the session
    assert 'id="chat-new"' in page and "New conversation" in page
    with TestClient(app) as other:  # another sign-in: another mark
        portal_sign_in(other, "oakfield_dsl")
        assert mark not in other.get("/chat").text


def test_numbers_are_tap_to_call_and_references_unbroken_in_pages():
    from schools_portal.phone_links import phone_links

    text = ("Ring 999 now, then the front door on 0151 606 2008 (or 0800 555 111, 07700 900123). "
            "Your reference is E-000014; C-000002 too. Not 19990 or E-0000145 or 2008-01.")
    html = str(phone_links(text))
    assert '<a href="tel:999">999</a>' in html
    assert '<a href="tel:01516062008">0151 606 2008</a>' in html
    assert '<a href="tel:0800555111">0800 555 111</a>' in html
    assert '<a href="tel:07700900123">07700 900123</a>' in html
    assert '<span class="nowrap">E-000014</span>' in html
    assert '<span class="nowrap">C-000002</span>' in html
    assert html.count("<a ") == 4 and html.count("nowrap") == 2
    assert str(phone_links("<b>0151 606 2008</b>")) == (
        '&lt;b&gt;<a href="tel:01516062008">0151 606 2008</a>&lt;/b&gt;')


def test_chat_js_uses_the_same_patterns_as_the_server():
    import re

    from schools_portal.phone_links import PHONE, REFERENCE
    from settings import ROOT

    script = (ROOT / "schools_portal" / "static" / "js" / "chat.js").read_text()
    tokens = re.search(r"var TOKENS = /(.*)/g;", script).group(1)
    assert tokens == f"({PHONE.pattern})|({REFERENCE.pattern})"


def test_numbers_in_list_answers_and_cards_are_tap_to_call_in_pages(app):
    """Issue 14: tel: links everywhere a number appears, lists and threshold cards included."""
    from schools_portal.rendering import guide_markdown

    html = str(guide_markdown("Who to ring:\n- the front door on 0151 606 2008\n- <b>999</b>"))
    assert '<li>the front door on <a href="tel:01516062008">0151 606 2008</a></li>' in html
    assert '<li>&lt;b&gt;<a href="tel:999">999</a>&lt;/b&gt;</li>' in html  # still escaped
    html = str(guide_markdown("- E-000014 was raised"))
    assert '<span class="nowrap">E-000014</span>' in html
    card = {"level": 4, "level_name": "Specialist", "reasons": ["Ring 999 if in danger."],
            "next_steps": ["Ring the front door on 0151 606 2008 today."], "questions": [],
            "sources": []}
    html = app.state.templates.env.get_template("_threshold_card.html").render(card=card)
    assert '<a href="tel:01516062008">0151 606 2008</a>' in html
    assert '<a href="tel:999">999</a>' in html
