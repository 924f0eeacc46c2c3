"""Bad input never gets a 500: huge fields, markup and script in every field, unknown and
absurd ids, wrong methods, malformed bodies. (TestClient re-raises server errors, so an
unhandled exception fails the test by itself.)"""

from __future__ import annotations

import pytest

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>"\'&'


def no_raw_markup(text: str) -> None:
    assert "<script>alert" not in text and "<img src=x" not in text


def test_markup_in_every_practitioner_field_is_escaped(as_user):
    client, token = as_user("oakfield_dsl")
    chat = client.post("/chat", data={"text": SCRIPT, "csrf_token": token})
    assert chat.status_code == 200
    no_raw_markup(chat.text)
    assert "&lt;script&gt;alert(" in chat.text
    bad = client.post(
        "/school/consultations",
        data={"topic": SCRIPT, "callback_number": SCRIPT, "best_time": SCRIPT,
              "message_id": SCRIPT, "csrf_token": token},
    )
    assert bad.status_code == 422
    no_raw_markup(bad.text)
    good = client.post(
        "/school/consultations",
        data={"topic": SCRIPT, "callback_number": "0151 000 5555", "best_time": SCRIPT,
              "message_id": SCRIPT, "csrf_token": token},
    )
    assert good.status_code == 200
    no_raw_markup(good.text)
    detail = client.get("/school/consultations/1")
    no_raw_markup(detail.text)
    search = client.get("/guidance/search", params={"q": SCRIPT})
    assert search.status_code == 200
    no_raw_markup(search.text)
    signin = client.post("/signin", data={"email": SCRIPT, "password": SCRIPT,
                                           "next": SCRIPT, "csrf_token": token})
    no_raw_markup(signin.text)


def test_markup_in_mash_fields_is_escaped(as_user):
    dsl, dsl_token = as_user("oakfield_dsl")
    reference = dsl.post(
        "/api/chat", json={"text": "She said he hit her. " + SCRIPT},
        headers={"X-CSRF-Token": dsl_token},
    ).json()["escalation_reference"]
    item = int(reference.split("-")[1])
    manager, token = as_user("manager")
    page = manager.get(f"/queue/escalations/{item}")
    no_raw_markup(page.text)
    manager.post(f"/queue/escalations/{item}/pick-up", data={"csrf_token": token})
    page = manager.post(f"/queue/escalations/{item}/outcome",
                        data={"csrf_token": token, "outcome_code": SCRIPT, "note": SCRIPT})
    assert page.status_code == 200 and "is not an outcome code" in page.text
    no_raw_markup(page.text)
    page = manager.post(f"/queue/escalations/{item}/outcome",
                        data={"csrf_token": token, "outcome_code": "other", "note": SCRIPT})
    no_raw_markup(page.text)
    no_raw_markup(dsl.get(f"/school/escalations/{item}").text)
    no_raw_markup(manager.get("/api/queue").text)


def test_huge_bodies_are_refused_before_reading(as_user):
    from schools_portal.app import MAX_BODY_BYTES

    client, token = as_user("oakfield_dsl")
    huge = "x" * (MAX_BODY_BYTES + 1000)
    page = client.post("/chat", data={"text": huge, "csrf_token": token})
    assert page.status_code == 413 and "too large" in page.text
    api = client.post("/api/chat", json={"text": huge}, headers={"X-CSRF-Token": token})
    assert api.status_code == 413 and "too large" in api.json()["detail"]


def test_huge_bodies_without_a_length_are_refused_too(as_user):
    client, token = as_user("oakfield_dsl")

    def chunks():  # 1.2 MB, over the portal's 1 MiB
        for _ in range(120):
            yield b"x" * 10_000

    response = client.post("/api/chat", content=chunks(),
                           headers={"X-CSRF-Token": token, "Content-Type": "application/json"})
    assert response.status_code == 413


@pytest.mark.parametrize(
    "field, value",
    [("topic", "t" * 2001), ("callback_number", "1" * 41), ("best_time", "b" * 201),
     ("message_id", "m" * 201)],
)
def test_oversize_fields_get_a_clear_message(as_user, field, value):
    client, token = as_user("oakfield_dsl")
    data = {"topic": "ok", "callback_number": "0151 000 5555", "csrf_token": token, field: value}
    response = client.post("/school/consultations", data=data)
    assert response.status_code == 422
    assert f"Please check: {field}" in response.text


def test_oversize_chat_and_outcome_fields(as_user):
    from chat.relay import MAX_MESSAGE_CHARS

    client, token = as_user("oakfield_dsl")
    long = client.post("/chat", data={"text": "x" * (MAX_MESSAGE_CHARS + 1), "csrf_token": token})
    assert long.status_code == 422 and "Please check: text" in long.text
    manager, mtoken = as_user("manager")
    note = manager.post("/queue/escalations/1/outcome",
                        data={"csrf_token": mtoken, "outcome_code": "other", "note": "n" * 4001})
    assert note.status_code == 422


@pytest.mark.parametrize(
    "path",
    ["/school/escalations/0", "/school/escalations/-1", "/school/escalations/abc",
     "/school/escalations/99999999999999999999", "/school/consultations/2147483648",
     "/api/escalations/99999999999999999999", "/api/consultations/1e9",
     "/guidance/levels/7", "/guidance/levels/99999999999999999999",
     "/guidance/sections/no-such-section", "/guidance/sections/" + "a" * 500,
     "/guidance/sections/%3Cscript%3E", "/no/such/page", "/api/no/such/thing",
     "/static/../settings.py", "/static/nothing.js"],
)
def test_unknown_and_absurd_addresses(as_user, path):
    client, _ = as_user("oakfield_dsl")
    response = client.get(path)
    assert response.status_code in (404, 422), (path, response.status_code)
    no_raw_markup(response.text)


@pytest.mark.parametrize(
    "path",
    ["/queue/escalations/99999999999999999999", "/queue/escalations/0",
     "/queue/consultations/123456", "/queue/escalations/123456"],
)
def test_unknown_queue_items(as_user, path):
    client, _ = as_user("duty")
    assert client.get(path).status_code in (404, 422)


@pytest.mark.parametrize(
    "method, path",
    [("get", "/signout"), ("put", "/chat"), ("delete", "/school"), ("get", "/api/chat"),
     ("patch", "/api/escalations/1"), ("post", "/guidance"), ("post", "/api/queue")],
)
def test_wrong_methods_are_405(as_user, method, path):
    client, _ = as_user("oakfield_dsl")
    response = client.request(method.upper(), path)
    assert response.status_code == 405
    assert "does not accept this kind of request" in response.text


@pytest.mark.parametrize(
    "body, content_type",
    [(b"{not json", "application/json"), (b"[]", "application/json"),
     (b'{"text": 12}', "application/json"), (b'{"text": ""}', "application/json"),
     (b"\xff\xfe", "application/json"), (b"text=hi", "text/plain"), (b"", "")],
)
def test_malformed_api_bodies(as_user, body, content_type):
    client, token = as_user("oakfield_dsl")
    headers = {"X-CSRF-Token": token}
    if content_type:
        headers["Content-Type"] = content_type
    response = client.post("/api/chat", content=body, headers=headers)
    assert response.status_code in (400, 422), response.text
    assert isinstance(response.json()["detail"], str)


def test_malformed_form_fields(as_user):
    client, token = as_user("manager")
    response = client.post("/queue/escalations/1/reassign",
                           data={"csrf_token": token, "to_user_id": "nobody"})
    assert response.status_code == 422
    response = client.post("/queue/escalations/1/reassign",
                           data={"csrf_token": token, "to_user_id": "99999999999999999999"})
    assert response.status_code == 422


def test_odd_query_parameters(as_user):
    client, _ = as_user("manager")
    for query in ("weeks=abc", "weeks=-1", "weeks=" + "9" * 30):
        assert client.get(f"/dashboard?{query}").status_code == 422
    for query in ("limit=0", "limit=100000", "status=nonsense", "offset=-5", "urgency=%00"):
        assert client.get(f"/api/escalations?{query}").status_code == 422, query
    assert client.get("/guidance/search?q=" + "q" * 501).status_code == 422
