"""Issue 14 through the portal: the GP's journey (point 5) and follow-ups, not duplicates
(point 4). Rasa is down in these tests (nothing listens on the port), so what the relay and
the portal add is what is tested here; Rasa's own GP wording is tested with the risk component
(tests/bot/test_bot_components.py)."""

from __future__ import annotations

import re

from mash import escalations
from mash.access import Actor

BRUISED_BABY = "9-month-old with a bruise on his cheek, mum says he rolled off the sofa."
AGAIN = "Re the 9 month old I just mentioned: the bruise looks like fingertip marks."
MASH = Actor(user_id=None, role="mash_worker", organisation_id=None)


def nav_labels(page: str) -> list[str]:
    nav = page[page.index('<nav aria-label="Main">'): page.index("</nav>")]
    return [re.sub(r"<[^>]+>", "", label).strip() for label in re.findall(r"<a [^>]*>(.*?)</a>",
                                                                          nav, re.S)]


def test_a_gps_tab_is_named_for_the_practice(as_user):
    gp, _ = as_user("gp")
    page = gp.get("/school").text
    assert "My practice" in nav_labels(page) and "My school" not in page
    assert "<title>My practice" in page
    dsl, _ = as_user("oakfield_dsl")
    assert "My school" in nav_labels(dsl.get("/chat").text)  # the DSL's stays


def test_a_gps_bruised_baby_gets_the_level_the_reasons_the_route_and_the_section(as_user):
    gp, token = as_user("gp")
    body = gp.post("/api/chat", json={"text": BRUISED_BABY},
                   headers={"X-CSRF-Token": token}).json()
    assert body["urgency"] == "immediate" and "999" in body["safety_message"]
    assert body["escalation_reference"].startswith("E-")
    cards = [m["card"] for m in body["messages"] if m.get("card")]
    assert len(cards) == 1
    card = cards[0]
    assert card["level"] == 4 and card["level_name"] and card["reasons"]
    urls = [s["url"] for s in card["sources"]]
    assert "/guidance/sections/bruising-non-mobile-babies" in urls
    assert "/guidance/sections/gp-conference-reports" in urls
    steps = " ".join(card["next_steps"])
    assert "Integrated Front Door" in steps and "GP report" in steps
    said = " ".join(m["text"] for m in body["messages"])
    assert "own words" not in said and "designated safeguarding lead" not in said
    # the section link works for the GP
    assert gp.get("/guidance/sections/bruising-non-mobile-babies").status_code == 200


def test_without_javascript_the_gp_sees_the_card_and_no_school_wording(as_user):
    gp, token = as_user("gp")
    page = gp.post("/chat", data={"text": BRUISED_BABY, "csrf_token": token}).text
    assert 'class="risk-alert" role="alert"' in page
    assert 'class="threshold-card"' in page and "Suggested level 4" in page
    assert '<a href="/guidance/sections/bruising-non-mobile-babies">' in page
    assert "My school" not in page and "own words" not in page
    assert 'follow it on <a href="/school#concerns">My practice</a>' in page


def test_the_same_child_again_joins_the_open_escalation_in_the_portal(as_user, context):
    dsl, token = as_user("oakfield_dsl")
    first = dsl.post("/api/chat", json={"text": BRUISED_BABY},
                     headers={"X-CSRF-Token": token}).json()
    page = dsl.post("/chat", data={"text": AGAIN, "csrf_token": token}).text
    reference = first["escalation_reference"]
    # the safety message every time, and the reference it joined
    assert 'class="risk-alert" role="alert"' in page and 'href="tel:999"' in page
    assert "added to the concern you raised earlier" in page and reference in page
    with context.sessions() as session:
        found = escalations.list_escalations(session=session, actor=MASH)
    assert [e.reference for e in found] == [reference] and found[0].message_count == 2
    # the MASH sees "2 messages" in the queue and both messages, the latest last, on the item
    duty, _ = as_user("duty")
    queue = duty.get("/api/queue").json()["escalations"]
    assert [(i["reference"], i["message_count"]) for i in queue] == [(reference, 2)]
    assert "(2 messages)" in duty.get("/queue").text
    item = duty.get(f"/queue/escalations/{found[0].id}").text
    assert "2 messages in all" in item and "fingertip marks" in item and "(the latest)" in item


def test_the_same_child_from_another_tab_joins_the_open_escalation(as_user, context):
    """A follow-up is the same person's, whichever tab (conversation) it comes from."""
    dsl, token = as_user("oakfield_dsl")
    first = dsl.post("/api/chat", json={"text": BRUISED_BABY, "conversation": "tab-one-aaaaaaaa"},
                     headers={"X-CSRF-Token": token}).json()
    again = dsl.post("/api/chat", json={"text": AGAIN, "conversation": "tab-two-bbbbbbbb"},
                     headers={"X-CSRF-Token": token}).json()
    assert again["urgency"] == "immediate" and "999" in again["safety_message"]
    assert again["escalation_joined"] is True
    assert again["escalation_reference"] == first["escalation_reference"]
    with context.sessions() as session:
        found = escalations.list_escalations(session=session, actor=MASH)
    assert [(e.reference, e.message_count) for e in found] == [
        (first["escalation_reference"], 2)]


def test_a_different_child_is_its_own_escalation_in_the_portal(as_user, context):
    dsl, token = as_user("oakfield_dsl")
    first = dsl.post("/api/chat", json={"text": BRUISED_BABY},
                     headers={"X-CSRF-Token": token}).json()
    other = dsl.post(
        "/api/chat",
        json={"text": "A 6 year old in reception says his dad hit him with a belt last night."},
        headers={"X-CSRF-Token": token},
    ).json()
    assert other["escalation_reference"] != first["escalation_reference"]
    assert other["escalation_joined"] is False and other["urgency"] == "immediate"


def test_an_answer_quoting_a_list_is_drawn_as_a_list(as_user, context):
    """Issue 14 point 9: lists rendered as lists, not run together (the page without
    JavaScript; chat.js draws the same)."""
    import httpx

    answer = "A good record:\n- is made at the time\n- keeps facts and opinion apart"
    original = context.relay.http
    context.relay.http = httpx.Client(transport=httpx.MockTransport(
        lambda request: httpx.Response(200, json=[{"text": answer}])))
    try:
        dsl, token = as_user("oakfield_dsl")
        page = dsl.post("/chat", data={"text": "what makes a good record", "csrf_token": token})
    finally:
        context.relay.http.close()
        context.relay.http = original
    assert ('<div class="msg-rich"><p>A good record:</p>\n<ul><li>is made at the time</li>'
            '<li>keeps facts and opinion apart</li></ul></div>') in page.text
