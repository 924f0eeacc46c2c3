"""Expected against decided in the portal (issue 16, part 1): the MASH records the level and
route it decided in the outcome form and the API (a clear error for a bad value, nothing typed
lost), and the practitioner's notification names the decided level and the guide's description
of it when it differs from the level they expected."""

from __future__ import annotations

import html

import pytest

from mash import escalations
from mash.access import ChannelIdentity
from mash.dispatcher import Dispatcher
from mash.models import Escalation
from mash.notifications import with_inbox
from mash.targets import LogTarget


@pytest.fixture()
def raised(context, demo):
    counter = iter(range(1, 1000))

    def make(expected_level=2, expected_source="check"):
        n = next(counter)
        with context.sessions() as session:
            return escalations.raise_escalation(
                session=session,
                identity=ChannelIdentity(
                    channel="portal", sender=f"portal-{demo.people['oakfield_dsl']}",
                    user_id=str(demo.people["oakfield_dsl"]), role="dsl",
                    organisation_id=demo.organisations["oakfield"],
                ),
                message_id=f"lv-{n}", urgency="concern", categories=["neglect"],
                text=f"Child {'ABCDEFGH'[n]} often left alone after school",
                expected_level=expected_level, expected_source=expected_source,
            )

    return make


def picked_up(as_user, item):
    duty, token = as_user("duty")
    assert duty.post(f"/queue/escalations/{item.id}/pick-up",
                     data={"csrf_token": token}).status_code == 200
    return duty, token


def stored(context, item_id):
    with context.sessions() as session:
        row = session.get(Escalation, item_id)
        return row.status, row.decided_level, row.decided_route


def test_the_outcome_form_records_the_decided_level_and_route(context, as_user, raised):
    item = raised(expected_level=2)
    duty, token = picked_up(as_user, item)
    form = duty.get(f"/queue/escalations/{item.id}").text
    assert 'name="decided_level"' in form and 'name="decided_route"' in form
    assert "Expected: level 2." in form
    for level in context.guidance.pack.levels:  # the pack's own names
        assert html.escape(f"Level {level.number}: {level.name}") in form
    page = duty.post(
        f"/queue/escalations/{item.id}/outcome",
        data={"csrf_token": token, "outcome_code": "early_help_taf", "note": "TAF",
              "decided_level": "3", "decided_route": "early_help_multi_agency"},
    )
    assert "Outcome recorded" in page.text
    assert stored(context, item.id) == ("outcome_recorded", 3, "early_help_multi_agency")
    name = context.guidance.pack.levels[3].name
    assert html.escape(f"Level 3 ({name})") in page.text
    assert "Early help: a multi-agency response" in page.text


@pytest.mark.parametrize(
    ("level", "route", "error"),
    [("7", "universal", "must be level 1, 2, 3 or 4"),
     ("two", "", "must be level 1, 2, 3 or 4"),
     ("2", "early help please", "is not a route")],
)
def test_a_bad_value_is_refused_clearly_and_nothing_typed_is_lost(
    context, as_user, raised, level, route, error
):
    item = raised()
    duty, token = picked_up(as_user, item)
    note = "Spoke to the school nurse; family known to early help."
    page = duty.post(
        f"/queue/escalations/{item.id}/outcome",
        data={"csrf_token": token, "outcome_code": "early_help_taf", "note": note,
              "decided_level": level, "decided_route": route},
    )
    assert page.status_code == 200
    assert error in html.unescape(page.text)
    assert stored(context, item.id) == ("picked_up", None, None)
    assert html.escape(note) in page.text  # the note is back in its box
    assert '<option value="early_help_taf" selected>' in page.text
    # Shown again once only: a fresh look at the page starts empty.
    assert html.escape(note) not in duty.get(f"/queue/escalations/{item.id}").text


def test_the_api_records_the_decision_and_refuses_bad_values(context, as_user, raised):
    item = raised()
    duty, token = as_user("duty")
    headers = {"X-CSRF-Token": token}
    assert duty.post(f"/api/escalations/{item.id}/pick-up", headers=headers).status_code == 200
    for bad in ({"decided_level": 5}, {"decided_level": "2"},
                {"decided_level": 2, "decided_route": "sideways"}):
        refused = duty.post(f"/api/escalations/{item.id}/outcome", headers=headers,
                            json={"outcome_code": "other", **bad})
        assert refused.status_code in (400, 422), bad
        assert stored(context, item.id) == ("picked_up", None, None)
    done = duty.post(f"/api/escalations/{item.id}/outcome", headers=headers,
                     json={"outcome_code": "other", "decided_level": 4,
                           "decided_route": "strategy_discussion_s47"})
    assert done.status_code == 200
    assert (done.json()["decided_level"], done.json()["decided_route"]) == (
        4, "strategy_discussion_s47")


def _decide_and_deliver(context, as_user, item, level):
    duty, token = as_user("duty")
    headers = {"X-CSRF-Token": token}
    assert duty.post(f"/api/escalations/{item.id}/pick-up", headers=headers).status_code == 200
    assert duty.post(f"/api/escalations/{item.id}/outcome", headers=headers,
                     json={"outcome_code": "early_help_taf", "decided_level": level}
                     ).status_code == 200
    Dispatcher(
        factory=context.sessions, targets=with_inbox({"*": LogTarget()}, context.sessions)
    ).run_once()
    dsl, _ = as_user("oakfield_dsl")
    return html.unescape(dsl.get("/notifications").text)


def test_the_practitioners_notification_names_the_decided_level_when_it_differs(
    context, as_user, raised
):
    item = raised(expected_level=2, expected_source="assess")
    page = _decide_and_deliver(context, as_user, item, 3)
    level = context.guidance.pack.levels[3]
    assert f"The MASH decided level 3 ({level.name}); level 2 was expected." in page
    assert " ".join(level.description.split()) in page


def test_the_notification_says_nothing_of_levels_when_they_agree(context, as_user, raised):
    item = raised(expected_level=3, expected_source="check")
    page = _decide_and_deliver(context, as_user, item, 3)
    assert "Early help / Team Around the Family" in page
    assert "The MASH decided level" not in page
    assert " ".join(context.guidance.pack.levels[3].description.split()) not in page


def consultation_rows(context):
    from sqlalchemy import select

    from mash.models import Consultation

    with context.sessions() as session:
        return [(r.expected_level, r.expected_source) for r in session.execute(
            select(Consultation).order_by(Consultation.id)).scalars()]


def test_a_consultation_request_carries_the_level_the_practitioner_chose(as_user, context):
    client, token = as_user("oakfield_dsl")
    form = client.get("/school").text
    assert 'name="expected_level"' in form
    assert html.escape(f"Level 2: {context.guidance.pack.levels[2].name}") in form
    topic = "Worried about J's attendance, dropping for a term."
    data = {"topic": topic, "callback_number": "0151 000 2222", "csrf_token": token}
    refused = client.post("/school/consultations", data={**data, "expected_level": "5"})
    assert refused.status_code == 422
    assert "The expected level must be level 1, 2, 3 or 4." in refused.text
    assert topic in html.unescape(refused.text)  # nothing typed is lost
    assert consultation_rows(context) == []
    assert client.post("/school/consultations", data={**data, "expected_level": "2"},
                       follow_redirects=False).status_code == 303
    # Not chosen: the guidance engine's suggestion for the topic.
    assert client.post("/school/consultations", data={**data, "topic": topic + " Again."},
                       follow_redirects=False).status_code == 303
    suggested = context.guidance.assess(topic + " Again.")
    assert consultation_rows(context) == [
        (2, "chosen"), (suggested.level if suggested.placed else None, "assess")]
    api = client.post("/api/consultations", headers={"X-CSRF-Token": token},
                      json={"topic": "Another", "callback_number": "0151 000 3333",
                            "expected_level": 3})
    assert api.status_code == 201 and api.json()["expected_level"] == 3
    bad = client.post("/api/consultations", headers={"X-CSRF-Token": token},
                      json={"topic": "Another", "callback_number": "0151 000 3333",
                            "expected_level": 9})
    assert bad.status_code in (400, 422)
