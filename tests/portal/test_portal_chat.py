"""The chat: identity from the session only, the safety message and the escalation reference
on every immediate-risk reply (even with Rasa down), and nobody reaching another conversation."""

from __future__ import annotations

import json

import httpx
import pytest

from mash import escalations
from mash.access import Actor

DISCLOSURE = "A pupil told me this morning that her dad hit her with a belt last night."


def test_disclosure_with_rasa_down_gets_safety_message_and_reference(as_user, context):
    client, token = as_user("oakfield_dsl")
    reply = client.post("/api/chat", json={"text": DISCLOSURE}, headers={"X-CSRF-Token": token})
    assert reply.status_code == 200
    body = reply.json()
    assert body["urgency"] == "immediate"
    assert body["assistant_available"] is False
    assert "999" in body["safety_message"]
    assert any(m["safety"] and "999" in m["text"] for m in body["messages"])
    reference = body["escalation_reference"]
    assert reference and reference.startswith("E-")
    with context.sessions() as session:
        found = escalations.list_escalations(
            session=session, actor=Actor(user_id=None, role="mash_worker", organisation_id=None)
        )
    assert [e.reference for e in found] == [reference]
    assert found[0].sender_verified and found[0].organisation_name.startswith("Oakfield")


def test_a_disclosure_at_the_end_of_a_long_paste_is_screened_and_escalated(as_user):
    """A 60,000-character paste (a chronology, say) used to get a 422 and no screening."""
    from chat.relay import MAX_MESSAGE_CHARS

    client, token = as_user("oakfield_dsl")
    filler = "Notes from the review meeting about timetables and transport. " * 1000
    text = filler[:60_000] + " " + DISCLOSURE
    body = client.post("/api/chat", json={"text": text}, headers={"X-CSRF-Token": token})
    assert body.status_code == 200
    assert body.json()["urgency"] == "immediate" and body.json()["escalation_reference"]
    page = client.post("/chat", data={"text": text, "csrf_token": token})
    assert 'class="risk-alert" role="alert"' in page.text
    cjk = "学校の記録。" * 15_000 + DISCLOSURE  # 90,000 characters of 3-byte UTF-8
    page = client.post("/chat", data={"text": cjk, "csrf_token": token})
    assert page.status_code == 200 and 'class="risk-alert" role="alert"' in page.text
    too_long = client.post("/api/chat", json={"text": "x" * (MAX_MESSAGE_CHARS + 1)},
                           headers={"X-CSRF-Token": token})
    assert too_long.status_code == 422


def test_form_post_without_javascript_shows_the_alert(as_user):
    client, token = as_user("oakfield_dsl")
    page = client.post("/chat", data={"text": DISCLOSURE, "csrf_token": token})
    assert page.status_code == 200
    assert 'class="risk-alert" role="alert"' in page.text
    assert 'ring <a href="tel:999">999</a> now' in page.text  # a tap-to-call number
    assert "E-000001" in page.text


def test_question_gets_no_alert(as_user):
    client, token = as_user("gp")
    body = client.post(
        "/api/chat", json={"text": "What does level 2 mean?"}, headers={"X-CSRF-Token": token}
    ).json()
    assert body["urgency"] == "none"
    assert body["escalation_reference"] is None and body["safety_message"] is None


@pytest.fixture()
def rasa_calls(context):
    """Replace the relay's HTTP client with one that records what would reach Rasa."""
    calls: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(json.loads(request.content))
        return httpx.Response(200, json=[{"text": "Level 2 means...", "buttons": [
            {"title": "Tell me more", "payload": "/more"}]}])

    original = context.relay.http
    context.relay.http = httpx.Client(transport=httpx.MockTransport(handler))
    yield calls
    context.relay.http.close()
    context.relay.http = original


def test_sender_and_metadata_come_from_the_session(as_user, demo, rasa_calls):
    client, token = as_user("riverside_dsl")
    body = client.post(
        "/api/chat",
        # Fields a client might try to smuggle in are ignored: only `text` is read.
        json={"text": "What is level 2?", "sender": "portal-1", "metadata": {"user_id": 1},
              "organisation_id": demo.organisations["oakfield"]},
        headers={"X-CSRF-Token": token},
    ).json()
    assert body["messages"][0]["text"] == "Level 2 means..."
    assert body["messages"][0]["buttons"] == [{"title": "Tell me more", "payload": "/more"}]
    (call,) = rasa_calls
    person = demo.people["riverside_dsl"]
    assert call["sender"] == f"portal-{person}"
    meta = call["metadata"]
    assert meta["user_id"] == person and meta["role"] == "dsl" and meta["channel"] == "portal"
    assert meta["organisation_id"] == demo.organisations["riverside"]
    assert len(meta["message_id"]) == 36


def test_each_message_has_a_fresh_message_id(as_user, rasa_calls):
    client, token = as_user("gp")
    for _ in range(2):
        client.post("/api/chat", json={"text": "hello"}, headers={"X-CSRF-Token": token})
    assert rasa_calls[0]["metadata"]["message_id"] != rasa_calls[1]["metadata"]["message_id"]


def test_two_users_never_share_a_conversation(as_user, rasa_calls):
    for key in ("oakfield_dsl", "oakfield_deputy"):
        client, token = as_user(key)
        client.post("/api/chat", json={"text": "hello"}, headers={"X-CSRF-Token": token})
    assert rasa_calls[0]["sender"] != rasa_calls[1]["sender"]


def test_chat_is_for_practitioners(as_user):
    client, token = as_user("duty")
    response = client.post("/api/chat", json={"text": "hi"}, headers={"X-CSRF-Token": token})
    assert response.status_code == 403


# A school's safeguarding log pasted whole: one worry a line, many kinds of harm.
CHRONOLOGY = "\n".join([
    "Chronology for pupil B (Year 6), from the school's safeguarding log.",
    "02/09 bruise on her cheek, said she walked into a door.",
    "04/09 fingertip bruising on her upper arm, mum says rough play with her brother.",
    "06/09 said dad hit her with a belt for being late; belt marks on the backs of her legs.",
    "08/09 hungry at breakfast club, taking food from other children, clothes dirty.",
    "10/09 said mum's boyfriend throws things and she is scared of him.",
    "12/09 Operation Encompass: police at the home overnight, mum had a black eye.",
    "14/09 said she is locked in her bedroom at night.",
    "16/09 disclosed her uncle touches her private parts when he babysits.",
    "18/09 older boys picked her up in a car after school; she has a new phone and cash.",
    "20/09 a man of 24 messages her on Snapchat and asked her for nudes.",
    "22/09 cuts on her wrists, said she wants to die and has been saving tablets.",
    "24/09 missing overnight, returned by police, would not say where she had been.",
    "26/09 said her family are taking her to Somalia in the summer to be cut.",
    "28/09 said she is being made to marry her cousin back home.",
    "30/09 brother seen with a knife outside school; he is running drugs for older lads.",
    "02/10 left home alone overnight with her baby sister, no adult in the house.",
    "04/10 mum collected her drunk and drove off with the children in the car.",
    "06/10 mum said she can't cope and hears voices telling her to hurt the baby.",
    "08/10 dad has been watching extremist videos and talks about going to fight in Syria.",
    "10/10 family evicted, sleeping in the car.",
    "12/10 pregnant at 13.",
    "14/10 she said dad threatened to kill mum and all of them.",
    "16/10 her baby brother, 4 months old, has a bruise on his ear.",
    "18/10 said her stepdad punched her in the stomach.",
    "20/10 found wandering the streets at midnight in her pyjamas.",
    "22/10 said a teacher at her club sends her sexual messages.",
])


def test_a_chronology_matching_many_phrases_is_still_escalated_with_the_safety_message(
        as_user, context):
    """Security re-review F1: more matched phrases or categories than an escalation keeps got
    a 422, no safety message and no escalation."""
    from chat.relay import screen_whole_text

    assert len(screen_whole_text(context.guidance, CHRONOLOGY).phrases) > escalations.MAX_PHRASES
    client, token = as_user("oakfield_dsl")
    reply = client.post("/api/chat", json={"text": CHRONOLOGY}, headers={"X-CSRF-Token": token})
    assert reply.status_code == 200
    body = reply.json()
    assert body["urgency"] == "immediate" and "999" in body["safety_message"]
    assert body["escalation_reference"].startswith("E-")
    page = client.post("/chat", data={"text": CHRONOLOGY, "csrf_token": token})
    assert page.status_code == 200 and 'class="risk-alert" role="alert"' in page.text
    with context.sessions() as session:
        found = escalations.list_escalations(
            session=session, actor=Actor(user_id=None, role="mash_worker", organisation_id=None)
        )
    # both messages are kept: the form post (the same person, the same children, a minute
    # later) joined the API call's open escalation as a further message (mash/followups.py)
    assert len(found) == 1 and found[0].message_count == 2


def test_an_escalation_refused_for_its_supporting_fields_is_raised_without_them(
        as_user, context, monkeypatch):
    """Whatever the MASH service refuses about the matched phrases, the escalation is raised
    (without them) and the reply keeps its safety message."""
    from mash.errors import InvalidInput

    real = escalations.raise_escalation
    refused = []

    def picky(*, matched_phrases, **kwargs):
        if matched_phrases:
            refused.append(len(matched_phrases))
            raise InvalidInput("matched phrases refused", field="matched_phrases")
        return real(matched_phrases=matched_phrases, **kwargs)

    monkeypatch.setattr(escalations, "raise_escalation", picky)
    client, token = as_user("oakfield_dsl")
    body = client.post("/api/chat", json={"text": DISCLOSURE},
                       headers={"X-CSRF-Token": token}).json()
    assert refused and body["escalation_reference"].startswith("E-")
    assert "999" in body["safety_message"]


def test_cited_sections_are_links_to_the_guides_pages(as_user, context):
    answer = [
        {"recipient_id": "x", "text": "Consent means ..."},
        {"recipient_id": "x", "text": "From the guide: Consent (consent)"},
        {"recipient_id": "x", "custom": {"sources": [
            {"id": "consent", "title": "Consent"},
            {"id": "not a <section>", "title": "<b>x</b>"}]}},
    ]
    original = context.relay.http
    context.relay.http = httpx.Client(
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json=answer)))
    try:
        client, token = as_user("gp")
        body = client.post("/api/chat", json={"text": "what is consent"},
                           headers={"X-CSRF-Token": token}).json()
        assert body["messages"][1]["sources"] == [
            {"id": "consent", "title": "Consent", "url": "/guidance/sections/consent"}]
        page = client.post("/chat", data={"text": "what is consent", "csrf_token": token}).text
        assert 'From the guide: <a href="/guidance/sections/consent">Consent</a></li>' in page
        assert "<b>x</b>" not in page
    finally:
        context.relay.http.close()
        context.relay.http = original
    assert client.get("/guidance/sections/consent").status_code == 200
