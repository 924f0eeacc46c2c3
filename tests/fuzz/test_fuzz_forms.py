"""Property-based fuzzing of the portal's forms and reflected inputs: every field gets
arbitrary text with markup mixed in; no server error, and no page (the form's answer, the page
listing what was stored, search results, the sign-in page) shows the markup unescaped."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from fuzz_helpers import (
    COUNTS,
    PROBES,
    assert_escaped,
    assert_not_server_error,
    fuzz_settings,
    odd_text,
    post_form,
    post_json,
)
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from mash.models import Consultation, Escalation

pytestmark = pytest.mark.fuzz

field_text = st.one_of(
    st.text(max_size=120),
    st.builds(
        lambda a, p, b: f"{a}{p}{b}",
        st.text(max_size=40),
        st.sampled_from(PROBES),
        st.text(max_size=40),
    ),  # fmt: skip
    st.text(min_size=3000, max_size=5000),
    odd_text,  # lone surrogates, NUL, control characters
    st.builds(lambda a, b: f"{a}\ud800\x00{b}" * 400, st.text(max_size=3), st.text(max_size=3)),
)


@fuzz_settings(1200)
@given(topic=field_text, number=field_text, best=field_text)
def test_consultation_form(signed_in, topic: str, number: str, best: str) -> None:
    COUNTS["consultation form"] += 1
    client, token = signed_in["oakfield_dsl"]
    response = post_form(
        client, "/school/consultations",
        {"topic": topic, "callback_number": number, "best_time": best, "csrf_token": token},
    )  # follows the redirect to /school when it was accepted
    assert_not_server_error(response)
    assert_escaped(response)


def test_pages_showing_stored_consultations_escape_them(context, signed_in) -> None:
    """Run after the form fuzzing: the school's page lists its consultations, and the MASH
    queue shows a consultation's topic to the duty worker."""
    client, token = signed_in["oakfield_dsl"]
    stored = client.post(
        "/school/consultations",
        data={
            "topic": f"worried {PROBES[2]} about a child",
            "callback_number": "0151 000 0000",
            "best_time": PROBES[0],
            "csrf_token": token,
        },  # fmt: skip
    )
    assert stored.status_code == 200, stored.text[:300]
    assert_escaped(client.get("/school"))
    with context.sessions() as session:
        newest = session.execute(select(func.max(Consultation.id))).scalar_one()
    duty, _ = signed_in["duty"]
    page = duty.get(f"/queue/consultations/{newest}")
    assert page.status_code == 200
    assert "fzAlert" in page.text, "the stored topic should be on the duty worker's page"
    assert_escaped(page)


@fuzz_settings(1500)
@given(query=field_text)
def test_guidance_search_reflects_escaped(signed_in, query: str) -> None:
    COUNTS["guidance search"] += 1
    client, _ = signed_in["oakfield_dsl"]
    response = client.get(
        "/guidance/search?" + urlencode({"q": query}, encoding="utf-8", errors="surrogatepass")
    )
    assert_not_server_error(response)
    assert_escaped(response)


@pytest.fixture(scope="module")
def escalation_ids(context) -> list[int]:
    """Two escalations to record outcomes on (raised through the relay, as a chat would)."""
    for n in range(2):
        context.relay.send(
            sender_id=f"fuzz-outcome-{n}",
            text="a pupil told me her stepdad hit her last night",
            metadata={"user_id": 1, "role": "dsl", "organisation_id": 2, "channel": "portal"},
        )
    with context.sessions() as session:
        ids = session.execute(select(Escalation.id).order_by(Escalation.id.desc()).limit(2))
        return list(ids.scalars())


@fuzz_settings(800)
@given(code=st.one_of(st.sampled_from(["advice_given", "other"]), field_text), note=field_text)
def test_outcome_form(escalation_ids, signed_in, code: str, note: str) -> None:
    COUNTS["outcome form"] += 1
    client, token = signed_in["duty"]
    assert escalation_ids, "the fixture should have raised escalations"
    for escalation_id in escalation_ids:
        response = post_form(
            client, f"/queue/escalations/{escalation_id}/outcome",
            {"outcome_code": code, "note": note, "csrf_token": token},
        )
        assert_not_server_error(response)
        assert_escaped(response)


@fuzz_settings(300)
@given(topic=field_text, section=st.one_of(st.sampled_from(["duty-to-refer"]), field_text))
def test_gap_list_form(signed_in, topic: str, section: str) -> None:
    """The manager's gap list (issue 15): the form echoes the section it was given."""
    COUNTS["gap list form"] += 1
    client, token = signed_in["manager"]
    response = post_form(client, "/dashboard/gaps/added",
                         {"topic": topic, "section": section, "csrf_token": token})
    assert_not_server_error(response)
    assert_escaped(response)
    page = client.get("/dashboard/gaps")
    assert_not_server_error(page)
    assert_escaped(page)


@fuzz_settings(300)
@given(email=field_text, password=st.text(max_size=60), target=field_text)
def test_signin_form(app, email: str, password: str, target: str) -> None:
    from fastapi.testclient import TestClient

    COUNTS["sign-in form"] += 1
    with TestClient(app) as client:
        page = client.get(
            "/signin?" + urlencode({"next": target}, encoding="utf-8", errors="surrogatepass")
        )
        assert_not_server_error(page)
        assert_escaped(page)
        token = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        response = post_form(
            client, "/signin",
            {"email": email, "password": password, "next": target, "csrf_token": token},
            follow_redirects=False,
        )
        assert_not_server_error(response)
        assert_escaped(response)
        if response.status_code == 303:  # never an open redirect
            assert response.headers["location"].startswith("/")
            assert not response.headers["location"].startswith("//")


@fuzz_settings(600)
@given(topic=field_text, number=field_text, best=field_text, message_id=field_text)
def test_consultation_api(signed_in, topic: str, number: str, best: str, message_id: str) -> None:
    COUNTS["consultation API (JSON)"] += 1
    client, token = signed_in["oakfield_dsl"]
    body = {"topic": topic, "callback_number": number, "best_time": best,
            "message_id": message_id}  # fmt: skip
    assert_not_server_error(post_json(client, "/api/consultations", body, token))


@pytest.fixture(scope="module")
def consultation_ids(context, signed_in) -> list[int]:
    """Two consultations picked up by the duty worker, to close with advice."""
    client, token = signed_in["oakfield_dsl"]
    duty, duty_token = signed_in["duty"]
    ids = []
    for n in range(2):
        made = post_json(client, "/api/consultations", {
            "topic": f"fuzz advice {n}", "callback_number": "0151 000 0000"}, token)  # fmt: skip
        assert made.status_code in (200, 201), made.text[:300]
        ids.append(made.json()["id"])
        picked = duty.post(f"/api/consultations/{ids[-1]}/pick-up",
                           headers={"X-CSRF-Token": duty_token})  # fmt: skip
        assert picked.status_code == 200, picked.text[:300]
    return ids


@fuzz_settings(400)
@given(advice=field_text)
def test_close_consultation_form_and_api(consultation_ids, signed_in, advice: str) -> None:
    COUNTS["close consultation (form, API)"] += 1
    client, token = signed_in["duty"]
    page = post_form(client, f"/queue/consultations/{consultation_ids[0]}/close",
                     {"advice": advice, "csrf_token": token})  # fmt: skip
    assert_not_server_error(page)
    assert_escaped(page)
    api = post_json(client, f"/api/consultations/{consultation_ids[1]}/close",
                    {"advice": advice}, token)  # fmt: skip
    assert_not_server_error(api)


@fuzz_settings(300)
@given(current=field_text, new=field_text, again=field_text)
def test_account_password_form(signed_in, current: str, new: str, again: str) -> None:
    COUNTS["account password form"] += 1
    client, token = signed_in["oakfield_dsl"]
    response = post_form(client, "/account/password", {
        "current_password": current, "new_password": new, "new_password_again": again,
        "csrf_token": token})  # fmt: skip
    assert_not_server_error(response)
    assert response.status_code in (400, 422, 429), "a random current password never changes it"
    assert_escaped(response)


@fuzz_settings(300)
@given(code=field_text, enrolment_code=field_text, current=field_text,
       who=st.sampled_from(["oakfield_dsl", "manager"]))
def test_two_factor_form(signed_in, code: str, enrolment_code: str, current: str,
                         who: str) -> None:
    COUNTS["two-factor form"] += 1
    client, token = signed_in[who]
    assert_not_server_error(client.get("/account/two-factor"))
    response = post_form(client, "/account/two-factor", {
        "code": code, "enrolment_code": enrolment_code, "current_password": current,
        "csrf_token": token})  # fmt: skip
    assert_not_server_error(response)
    assert response.status_code in (400, 422, 429), "random input never enrols a factor"
    assert_escaped(response)
