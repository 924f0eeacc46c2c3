"""Every state-changing route refuses a request without this session's CSRF token, and changes
nothing when it does."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute

from mash import escalations
from mash.access import ChannelIdentity

# Each POST route with a body that would otherwise be valid.
FORMS = {
    "/signin": {"email": "dana.price@oakfield.example", "password": "demo-password-2026"},
    "/signout": {},
    "/signin/code": {"code": "123456"},
    "/signin/enrol": {"code": "123456"},
    "/account/password": {"current_password": "demo-password-2026",
                          "new_password": "another-password-1",
                          "new_password_again": "another-password-1"},
    "/account/signout-everywhere": {},
    "/account/two-factor": {"code": "123456"},
    "/chat": {"text": "What is level 2?"},
    "/school/consultations": {"topic": "A worry", "callback_number": "0151 000 1111"},
    "/queue/escalations/{escalation_id}/pick-up": {},
    "/queue/escalations/{escalation_id}/outcome": {"outcome_code": "advice_given"},
    "/queue/escalations/{escalation_id}/reassign": {"to_user_id": "2"},
    "/queue/consultations/{consultation_id}/pick-up": {},
    "/queue/consultations/{consultation_id}/close": {"advice": "Spoke to the DSL."},
    "/dashboard/gaps/added": {"topic": "none", "section": "consent"},
    "/notifications/read": {},
    "/notifications/{notification_id}/read": {},
}
API = {
    "/api/chat": {"text": "What is level 2?"},
    "/api/consultations": {"topic": "A worry", "callback_number": "0151 000 1111"},
    "/api/escalations/{escalation_id}/pick-up": {},
    "/api/escalations/{escalation_id}/outcome": {"outcome_code": "advice_given"},
    "/api/escalations/{escalation_id}/reassign": {"to_user_id": 2},
    "/api/consultations/{consultation_id}/pick-up": {},
    "/api/consultations/{consultation_id}/close": {"advice": "Spoke to the DSL."},
    "/api/notifications/read": {},
    "/api/notifications/{notification_id}/read": {},
}


def test_the_lists_cover_every_state_changing_route(app):
    posts = {
        route.path
        for route in app.routes
        if isinstance(route, APIRoute) and route.methods & {"POST", "PUT", "PATCH", "DELETE"}
    }
    assert posts == set(FORMS) | set(API)


@pytest.fixture()
def escalation_id(context, demo) -> int:
    with context.sessions() as session:
        return escalations.raise_escalation(
            session=session,
            identity=ChannelIdentity(channel="portal", sender="portal-x",
                                     user_id=str(demo.people["oakfield_dsl"]),
                                     organisation_id=demo.organisations["oakfield"]),
            message_id="csrf-1", urgency="immediate", categories=["neglect"], text="alone",
        ).id


def _path(template: str, escalation_id: int) -> str:
    return template.format(escalation_id=escalation_id, consultation_id=1, notification_id=1)


@pytest.mark.parametrize("bad", [None, "", "not-the-token"])
@pytest.mark.parametrize("route", sorted(FORMS))
def test_forms_without_a_valid_token_are_refused(as_user, escalation_id, route, bad):
    client, _ = as_user("manager" if "queue" in route or "gaps" in route else "oakfield_dsl")
    data = dict(FORMS[route])
    if bad is not None:
        data["csrf_token"] = bad
    response = client.post(_path(route, escalation_id), data=data, follow_redirects=False)
    assert response.status_code == 403
    assert "nothing was changed" in response.text
    assert client.get("/api/me").status_code == 200  # still signed in: sign-out was refused


@pytest.mark.parametrize("route", sorted(API))
def test_api_calls_without_the_header_are_refused(as_user, escalation_id, route):
    client, token = as_user("manager" if "escalations" in route or "/close" in route
                            or "pick-up" in route else "oakfield_dsl")
    path = _path(route, escalation_id)
    assert client.post(path, json=API[route]).status_code == 403
    wrong = client.post(path, json=API[route], headers={"X-CSRF-Token": token + "x"})
    assert wrong.status_code == 403
    assert wrong.json()["detail"].startswith("This form had expired")


def test_a_token_from_another_session_is_refused(as_user, escalation_id):
    manager, _ = as_user("manager")
    _, other_token = as_user("duty")
    response = manager.post(
        f"/api/escalations/{escalation_id}/pick-up", headers={"X-CSRF-Token": other_token}
    )
    assert response.status_code == 403


def test_refused_requests_change_nothing(as_user, context, escalation_id):
    manager, _ = as_user("manager")
    manager.post(f"/queue/escalations/{escalation_id}/pick-up", data={})
    manager.post(f"/api/escalations/{escalation_id}/pick-up")
    with context.sessions() as session:
        from mash.access import Actor

        view = escalations.get_escalation(
            session=session, actor=Actor(user_id=None, role="mash_manager", organisation_id=None),
            escalation_id=escalation_id,
        )
    assert view.status == "raised"


def test_sign_in_with_a_valid_token_rotates_it(client, csrf_of):
    before = csrf_of(client)
    client.post(
        "/signin",
        data={"email": "dana.price@oakfield.example", "password": "demo-password-2026",
              "csrf_token": before},
    )
    after = client.get("/api/me").json()["csrf_token"]
    assert after != before
