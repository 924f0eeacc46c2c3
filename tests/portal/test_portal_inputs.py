"""Odd input at the portal's boundary: lone surrogates (a JSON escape `"\\ud800"`, or invalid
percent-encoded UTF-8 in a form), NUL and control characters are replaced before any route
reads them, never rejected. A disclosure written with them still gets the safety message and
exactly one escalation; other fields are stored cleaned or refused with a 4xx, never a 500;
and no log line holds a disclosure's words. (TestClient re-raises server errors.)"""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select, text

from mash.models import Consultation, Escalation
from schools_portal.inputs import CleanInputRoute

SECRET_WORDS = "Quillaby's stepfather Zorvath hit her with a belt last night"
ODD = "\ud800 NUL:\x00 BEL:\x07 ESC:\x1b C1:\x85 \udfff"
ODD_DISCLOSURE = f"{SECRET_WORDS} {ODD}"
# The same as form data: a UTF-8-encoded surrogate (invalid UTF-8) and control characters.
ODD_FORM = "Quillaby%27s+stepfather+Zorvath+hit+her+with+a+belt+%ED%A0%80+%00+%07+%1B+%C2%85"


def post_json(client, path: str, body: dict, token: str):
    # json.dumps escapes a lone surrogate as "\ud800": valid JSON, invalid once decoded.
    return client.post(path, content=json.dumps(body).encode(),
                       headers={"X-CSRF-Token": token, "Content-Type": "application/json"})


def post_form(client, path: str, raw: str, token: str):
    return client.post(path, content=f"{raw}&csrf_token={token}".encode(),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})


def assert_clean(value: str) -> None:
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in value), "a lone surrogate was kept"
    assert not any(c in value for c in "\x00\x07\x1b\x85"), "a control character was kept"


def stored(context, model) -> list:
    with context.sessions() as session:
        return list(session.execute(select(model).order_by(model.id)).scalars())


def test_every_portal_route_cleans_its_input(app):
    routes = [r for r in app.routes if isinstance(r, APIRoute)]
    assert routes
    assert [r.path for r in routes if not isinstance(r, CleanInputRoute)] == []


def test_an_odd_disclosure_through_the_api_gets_the_safety_message_and_one_escalation(
    as_user, context
):
    client, token = as_user("oakfield_dsl")
    reply = post_json(client, "/api/chat", {"text": ODD_DISCLOSURE}, token)
    assert reply.status_code == 200
    body = reply.json()
    assert body["urgency"] == "immediate" and "999" in body["safety_message"]
    assert body["escalation_reference"] == "E-000001"
    [escalation] = stored(context, Escalation)
    assert "belt" in escalation.excerpt and "\ufffd" in escalation.excerpt
    assert_clean(escalation.excerpt)


def test_an_odd_disclosure_through_the_chat_page_gets_the_alert_and_one_escalation(
    as_user, context
):
    client, token = as_user("oakfield_dsl")
    page = post_form(client, "/chat", "text=" + ODD_FORM, token)
    assert page.status_code == 200
    assert 'class="risk-alert" role="alert"' in page.text
    assert 'ring <a href="tel:999">999</a> now' in page.text  # a tap-to-call number
    assert "E-000001" in page.text
    assert "\x00" not in page.text and "\x1b" not in page.text
    [escalation] = stored(context, Escalation)
    assert "belt" in escalation.excerpt
    assert_clean(escalation.excerpt)


def test_consultation_fields_with_odd_characters_are_stored_cleaned(as_user, context):
    client, token = as_user("oakfield_dsl")
    response = post_json(client, "/api/consultations", {
        "topic": f"Advice on a pupil {ODD}", "callback_number": "0151 000 5555",
        "best_time": f"after 3 {ODD}", "message_id": f"m-{ODD}"}, token)  # fmt: skip
    assert response.status_code in (200, 201), response.text
    page = post_form(client, "/school/consultations",
                     "topic=Form+topic+%ED%A0%80%00&callback_number=0151+000+5555"
                     "&best_time=%07soon", token)  # fmt: skip
    assert page.status_code == 200
    rows = stored(context, Consultation)
    assert len(rows) == 2
    for row in rows:
        for value in (row.topic, row.best_time, row.message_id):
            assert_clean(value or "")
    assert rows[0].topic.startswith("Advice on a pupil") and rows[1].topic.startswith("Form topic")


def test_a_callback_number_with_odd_characters_is_a_clear_422(as_user):
    client, token = as_user("oakfield_dsl")
    response = post_json(client, "/api/consultations",
                         {"topic": "t", "callback_number": "\ud800\x00"}, token)
    assert response.status_code == 422


@pytest.fixture()
def picked_up(as_user, context) -> tuple:
    dsl, dsl_token = as_user("oakfield_dsl")
    reference = post_json(dsl, "/api/chat", {"text": SECRET_WORDS}, dsl_token).json()[
        "escalation_reference"
    ]
    item = int(reference.split("-")[1])
    manager, token = as_user("manager")
    assert manager.post(f"/api/escalations/{item}/pick-up",
                        headers={"X-CSRF-Token": token}).status_code == 200
    return manager, token, item


def test_an_outcome_note_with_odd_characters_is_stored_cleaned(picked_up, context):
    manager, token, item = picked_up
    response = post_json(manager, f"/api/escalations/{item}/outcome",
                         {"outcome_code": "other", "note": f"Rang the school. {ODD}"}, token)
    assert response.status_code == 200, response.text
    [escalation] = stored(context, Escalation)
    assert escalation.outcome_note.startswith("Rang the school.")
    assert_clean(escalation.outcome_note)


def test_an_outcome_code_with_odd_characters_is_a_clear_422(picked_up):
    manager, token, item = picked_up
    response = post_json(manager, f"/api/escalations/{item}/outcome",
                         {"outcome_code": "other\ud800", "note": ""}, token)
    assert response.status_code == 422
    page = post_form(manager, f"/queue/escalations/{item}/outcome",
                     "outcome_code=other%00&note=%ED%A0%80", token)
    assert page.status_code == 200 and "is not an outcome code" in page.text


def test_search_boxes_and_sign_in_fields_with_odd_characters(as_user, client, csrf_of):
    signed_in, _ = as_user("oakfield_dsl")
    for path in ("/guidance/search?q=belt%ED%A0%80%00", "/api/guidance/search?q=belt%00%07"):
        response = signed_in.get(path)
        assert response.status_code == 200
        assert "\x00" not in response.text and "\x07" not in response.text
    token = csrf_of(client)
    page = post_form(client, "/signin", "email=a%00%ED%A0%80%40b.c&password=%00&next=/%00", token)
    assert page.status_code == 400 and "\x00" not in page.text


@pytest.mark.parametrize("path", ["/static/js/chat.js%00.js", "/static/%00", "/static/css/%00x"])
def test_a_static_path_with_nul_is_404(client, path):
    assert client.get(path).status_code == 404


def test_no_log_line_holds_the_words_of_a_disclosure(as_user, context, caplog):
    """Even when the database refuses the escalation (it is spooled): a database error names
    the statement, never its parameters."""
    with context.db.begin() as connection:
        connection.execute(text(
            "CREATE TRIGGER refuse BEFORE INSERT ON escalations "
            "BEGIN SELECT RAISE(ABORT, 'refused for the test'); END"))  # fmt: skip
    caplog.set_level(logging.DEBUG)
    client, token = as_user("oakfield_dsl")
    body = post_json(client, "/api/chat", {"text": ODD_DISCLOSURE}, token).json()
    assert "999" in body["safety_message"]
    assert list(context.relay.spool.pending()), "the escalation should be spooled"
    assert any("spooled" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        line = record.getMessage() + (str(record.exc_info[1]) if record.exc_info else "")
        assert "Zorvath" not in line and "Quillaby" not in line, (record.name, line[:300])


def test_the_access_log_keeps_the_path_but_not_the_query_string():
    from schools_portal.access_log import log_config

    config = log_config()
    assert "path_without_query" in config["handlers"]["access"]["filters"]
    keep = config["filters"]["path_without_query"]["()"]()
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/guidance/search?q=Zorvath+hit+Quillaby", "1.1", 200), None,
    )  # fmt: skip
    assert keep.filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /guidance/search HTTP/1.1" 200'
