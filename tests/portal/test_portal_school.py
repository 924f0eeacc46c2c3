"""My school: the named contact and numbers, consultation requests, and closing the loop."""

from __future__ import annotations

import re

import pytest

from mash import escalations
from mash.access import Actor


def test_named_contact_and_front_door_numbers(as_user, context):
    client, _ = as_user("oakfield_dsl")
    page = client.get("/school").text
    assert "Oakfield Primary School (fictional)" in page
    assert "Sam Okafor" in page  # Oakfield's own named contact in the demo directory
    contacts = context.guidance.pack.contacts
    assert contacts.front_door.phone in page and contacts.out_of_hours.phone in page
    api = client.get("/api/school").json()
    assert api["named_contact"]["name"] == "Sam Okafor"
    assert api["named_contact"]["scope"] == "school"
    assert api["front_door"]["phone"] == contacts.front_door.phone


def test_area_contact_when_the_school_has_none(as_user):
    client, _ = as_user("riverside_dsl")
    api = client.get("/api/school").json()
    assert api["named_contact"]["name"] == "Alex Reid" and api["named_contact"]["scope"] == "area"


def test_request_consultation_by_form(as_user):
    client, token = as_user("oakfield_dsl")
    form = client.get("/school").text
    message_id = re.search(r'name="message_id" value="([^"]+)"', form).group(1)
    data = {"topic": "Worried about J's attendance.", "callback_number": "0151 000 2222",
            "best_time": "after 3pm", "message_id": message_id, "csrf_token": token}
    response = client.post("/school/consultations", data=data, follow_redirects=False)
    assert response.status_code == 303
    page = client.get("/school").text
    assert "Consultation C-000001 requested" in page
    assert "C-000001" in page and "Waiting for a social worker" in page
    assert "Worried about J&#39;s attendance." in page  # the topic tells requests apart
    # A double submit of the same form does not queue a second request.
    client.post("/school/consultations", data=data)
    assert len(client.get("/api/consultations").json()) == 1


def test_invalid_consultation_shows_the_problem_and_keeps_the_input(as_user):
    client, token = as_user("oakfield_dsl")
    response = client.post(
        "/school/consultations",
        data={"topic": "Worried about J.", "callback_number": "call me", "csrf_token": token},
    )
    assert response.status_code == 422
    assert "does not look like a phone number" in response.text
    assert "Worried about J." in response.text


def test_request_consultation_by_api(as_user):
    client, token = as_user("gp")
    response = client.post(
        "/api/consultations",
        json={"topic": "Conference report due", "callback_number": "0151 000 3333"},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 201
    assert response.json()["organisation_name"].startswith("Harbour")


def test_outcome_reaches_the_school(as_user, context, demo):
    client, token = as_user("oakfield_dsl")
    reference = client.post(
        "/api/chat", json={"text": "He said his mum's boyfriend burned him with a cigarette."},
        headers={"X-CSRF-Token": token},
    ).json()["escalation_reference"]
    escalation_id = int(reference.split("-")[1])
    duty = Actor(user_id=demo.people["duty"], role="mash_worker", organisation_id=None)
    with context.sessions() as session:
        escalations.pick_up(session=session, actor=duty, escalation_id=escalation_id)
    with context.sessions() as session:
        escalations.record_outcome(session=session, actor=duty, escalation_id=escalation_id,
                                   outcome_code="strategy_discussion_s47", note="Police informed.")
    page = client.get("/school").text
    assert reference in page and "Strategy discussion / section 47 enquiry" in page
    detail = client.get(f"/school/escalations/{escalation_id}").text
    assert "Police informed." in detail


def post_consultation(client, token, message_id: str, topic: str):
    return client.post(
        "/api/consultations",
        json={"topic": topic, "callback_number": "0151 000 4444", "message_id": message_id},
        headers={"X-CSRF-Token": token},
    )


def count_audit(context, action: str) -> int:
    from sqlalchemy import func, select

    from mash.models import AuditEntry

    with context.sessions() as session:
        return session.execute(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
        ).scalar_one()


@pytest.mark.parametrize("other", ["riverside_dsl", "oakfield_deputy"])
def test_consultation_key_reused_by_someone_else_is_409_and_reveals_nothing(as_user, other):
    """Another organisation's DSL, or a colleague in the same school, sending a message id
    already used gets 409 with none of the first request, and nothing is queued."""
    owner, owner_token = as_user("oakfield_dsl")
    first = post_consultation(owner, owner_token, "shared-key", "Child X at 14 Elm Road")
    assert first.status_code == 201
    client, token = as_user(other)
    response = post_consultation(client, token, "shared-key", "My own question")
    assert response.status_code == 409
    assert "Elm Road" not in response.text and "0151 000 4444" not in response.text
    assert first.json()["reference"] not in response.text
    assert len(owner.get("/api/consultations").json()) == 1


def test_consultation_replay_by_its_owner_returns_it_with_an_audit_row(as_user, context):
    client, token = as_user("oakfield_dsl")
    first = post_consultation(client, token, "my-key", "Worried about J.")
    assert count_audit(context, "consultation.replay") == 0
    again = post_consultation(client, token, "my-key", "Worried about J.")
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert count_audit(context, "consultation.replay") == 1


def test_the_concerns_list_tells_rows_apart_by_category_and_redacted_excerpt(
    as_user, context, demo
):
    from mash.access import ChannelIdentity

    identity = ChannelIdentity(
        channel="portal", sender="portal-x", user_id=str(demo.people["oakfield_dsl"]),
        role="dsl", organisation_id=demo.organisations["oakfield"],
    )
    for n, (categories, text) in enumerate([
        # two children (aged 9 and aged 3), so two rows (a further message about the same
        # child would join the first: mash/followups.py)
        (["physical_abuse"], "Year 5 boy, aged 9, says his stepdad hit him; mum on 07700 900123."),
        (["neglect"], "Twins aged 3 left alone overnight, nobody answering at CH41 1AA."),
    ]):
        with context.sessions() as session:
            escalations.raise_escalation(
                session=session, identity=identity, message_id=f"list-{n}",
                urgency="immediate", categories=categories, text=text,
            )
    dsl, _ = as_user("oakfield_dsl")
    page = dsl.get("/school").text
    concerns = page[page.index('id="concerns"'):page.index('id="consultations"')]
    assert "Disclosure or signs of physical abuse" in concerns  # the pack's category label
    assert "Year 5 boy, aged 9, says his stepdad hit him; mum on [phone]." in concerns
    assert "nobody answering at [postcode]." in concerns
    assert "07700" not in concerns and "CH41 1AA" not in concerns
