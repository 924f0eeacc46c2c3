"""Who may see and do what, through the pages and the API (least privilege, safety rule 5)."""

from __future__ import annotations

import pytest

from mash import consultations, escalations
from mash.access import ChannelIdentity
from mash.demo import PEOPLE

PAGES = ["/", "/chat", "/school", "/guidance", "/guidance/levels/2", "/queue", "/dashboard",
         "/school/escalations/1", "/queue/escalations/1", "/dashboard/figures.csv"]
API = ["/api/me", "/api/school", "/api/queue", "/api/escalations", "/api/escalations/1",
       "/api/consultations", "/api/figures", "/api/guidance/levels"]


def identity(demo, key: str) -> ChannelIdentity:
    org = PEOPLE[key]["org"]
    return ChannelIdentity(
        channel="portal",
        sender=f"portal-{demo.people[key]}",
        user_id=str(demo.people[key]),
        role=PEOPLE[key]["role"],
        organisation_id=demo.organisations[org],
    )


@pytest.fixture()
def oakfield_items(context, demo):
    """An escalation and a consultation raised by Oakfield's DSL."""
    with context.sessions() as session:
        esc = escalations.raise_escalation(
            session=session, identity=identity(demo, "oakfield_dsl"), message_id="m-oak-1",
            urgency="immediate", categories=["physical_abuse"], text="dad hit her",
        )
    with context.sessions() as session:
        con = consultations.request_consultation(
            session=session, identity=identity(demo, "oakfield_dsl"), topic="A worry about J.",
            callback_number="0151 000 1234",
        )
    return esc, con


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_pages_redirect_to_sign_in(client, path):
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin?next=")


@pytest.mark.parametrize("path", API)
def test_signed_out_api_is_401(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response.json() == {"detail": "Please sign in."}


def test_sign_in_page_and_health_are_public(client):
    assert client.get("/signin").status_code == 200
    assert client.get("/api/health").json() == {"status": "ok"}


def test_other_schools_dsl_gets_404_for_items_and_403_for_mash_pages(as_user, oakfield_items):
    esc, con = oakfield_items
    client, token = as_user("riverside_dsl")
    assert client.get(f"/school/escalations/{esc.id}").status_code == 404
    assert client.get(f"/school/consultations/{con.id}").status_code == 404
    assert client.get(f"/api/escalations/{esc.id}").status_code == 404
    assert client.get(f"/api/consultations/{con.id}").status_code == 404
    assert client.get("/api/escalations").json() == []
    assert client.get("/api/consultations").json() == []
    school = client.get("/school").text
    assert esc.reference not in school and con.reference not in school
    for path in ("/queue", "/dashboard", f"/queue/escalations/{esc.id}",
                 f"/queue/consultations/{con.id}", "/dashboard/figures.csv"):
        assert client.get(path).status_code == 403, path
    for path in ("/api/queue", "/api/figures", "/api/figures.csv",
                 f"/api/escalations/{esc.id}/audit", "/api/mash-staff"):
        assert client.get(path).status_code == 403, path
    headers = {"X-CSRF-Token": token}
    assert client.post(f"/api/escalations/{esc.id}/pick-up", headers=headers).status_code == 403
    assert client.post(
        f"/api/escalations/{esc.id}/outcome", json={"outcome_code": "other"}, headers=headers
    ).status_code == 403
    assert client.post(
        f"/queue/escalations/{esc.id}/pick-up", data={"csrf_token": token}
    ).status_code == 403


def test_same_schools_deputy_sees_the_items(as_user, oakfield_items):
    esc, con = oakfield_items
    client, _ = as_user("oakfield_deputy")
    assert client.get(f"/school/escalations/{esc.id}").status_code == 200
    assert client.get(f"/api/consultations/{con.id}").json()["reference"] == con.reference
    school = client.get("/school").text
    assert esc.reference in school and con.reference in school


def test_gp_sees_no_school_items(as_user, oakfield_items):
    esc, _ = oakfield_items
    client, _ = as_user("gp")
    assert client.get(f"/school/escalations/{esc.id}").status_code == 404
    assert client.get("/queue").status_code == 403


def test_unknown_item_is_404_like_an_invisible_one(as_user, oakfield_items):
    client, _ = as_user("oakfield_dsl")
    assert client.get("/school/escalations/999999").status_code == 404
    assert client.get("/api/escalations/999999").status_code == 404


def test_mash_staff_see_queue_and_items_but_not_the_chat(as_user, oakfield_items):
    esc, _ = oakfield_items
    client, _ = as_user("duty")
    assert client.get("/queue").status_code == 200
    assert client.get(f"/queue/escalations/{esc.id}").status_code == 200
    assert client.get("/chat").status_code == 403
    assert client.get("/school").status_code == 403
    assert client.get("/dashboard").status_code == 403  # managers and admins only
    assert client.get(f"/api/escalations/{esc.id}/audit").status_code == 403  # managers only


def test_manager_sees_dashboard_and_audit_trail(as_user, oakfield_items):
    esc, _ = oakfield_items
    client, _ = as_user("manager")
    assert client.get("/dashboard").status_code == 200
    trail = client.get(f"/api/escalations/{esc.id}/audit").json()
    assert [entry["action"] for entry in trail][0] == "escalation.raise"
    assert "Audit trail" in client.get(f"/queue/escalations/{esc.id}").text


def test_admin_sees_figures_only(as_user, oakfield_items):
    esc, _ = oakfield_items
    client, _ = as_user("admin")
    assert client.get("/", follow_redirects=False).headers["location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200
    assert client.get("/queue").status_code == 403
    assert client.get(f"/api/escalations/{esc.id}").status_code == 404


def test_home_sends_each_role_to_its_work(as_user):
    for key, target in (("oakfield_dsl", "/chat"), ("gp", "/chat"), ("duty", "/queue")):
        client, _ = as_user(key)
        assert client.get("/", follow_redirects=False).headers["location"] == target
