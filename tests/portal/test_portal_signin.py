"""Sign-in, sign-out, the session cookie and the sign-in rate limit."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from mash.demo import DEMO_PASSWORD
from schools_portal import create_app
from schools_portal.app import SESSION_COOKIE
from schools_portal.ratelimit import LoginLimiter
from schools_portal.routes.signin import safe_next

DANA = "dana.price@oakfield.example"


def post_signin(client, csrf_of, email=DANA, password=DEMO_PASSWORD, next_="/"):
    return client.post(
        "/signin",
        data={"email": email, "password": password, "next": next_, "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )


def test_sign_in_then_out(client, csrf_of):
    response = post_signin(client, csrf_of, next_="/school")
    assert response.status_code == 303 and response.headers["location"] == "/school"
    me = client.get("/api/me").json()
    assert me["role"] == "dsl" and me["name"] == "Dana Price"
    out = client.post("/signout", data={"csrf_token": me["csrf_token"]}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    assert client.get("/api/me").status_code == 401
    assert "You have signed out." in client.get("/signin").text


def test_wrong_password_gets_one_message_for_both_failures(client, csrf_of):
    wrong = post_signin(client, csrf_of, password="not the password")
    unknown = post_signin(client, csrf_of, email="nobody@example.org")
    assert wrong.status_code == unknown.status_code == 400
    assert "do not match an account" in wrong.text and "do not match an account" in unknown.text
    assert client.get("/api/me").status_code == 401


def test_email_is_case_insensitive(client, csrf_of):
    assert post_signin(client, csrf_of, email=DANA.upper()).status_code == 303


@pytest.mark.parametrize(
    "target, expected",
    [("/school", "/school"), ("https://evil.example/", "/"), ("//evil.example", "/"),
     ("/\\evil.example", "/"), ("", "/"), ("javascript:alert(1)", "/")],
)
def test_next_never_leaves_the_site(target, expected):
    assert safe_next(target) == expected


def test_session_cookie_is_httponly_and_samesite(client, csrf_of):
    response = post_signin(client, csrf_of)
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith(SESSION_COOKIE)
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # test environment is plain http


def test_cookie_is_secure_and_hsts_sent_in_production(settings, context):
    from dataclasses import replace

    production = replace(settings, environment="production", secret_key="x" * 40)
    with TestClient(create_app(production, context=context), base_url="https://t") as client:
        response = client.get("/signin")  # the anonymous session holding the CSRF token
    assert "secure" in response.headers["set-cookie"].lower()
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_rate_limit_per_account(app, client, csrf_of):
    app.state.login_limiter = LoginLimiter(per_account=3, per_address=100)
    for _ in range(3):
        assert post_signin(client, csrf_of, password="wrong-password").status_code == 400
    blocked = post_signin(client, csrf_of)  # even the right password waits
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.text
    assert int(blocked.headers["retry-after"]) > 0
    # Another account from the same address is not blocked by this account's failures.
    other = post_signin(client, csrf_of, email="lee.carter@oakfield.example")
    assert other.status_code == 303


def test_rate_limit_per_address(app, client, csrf_of):
    app.state.login_limiter = LoginLimiter(per_account=100, per_address=4)
    for n in range(4):
        post_signin(client, csrf_of, email=f"guess{n}@example.org", password="x")
    assert post_signin(client, csrf_of).status_code == 429


def test_success_clears_the_account_count():
    clock = [0.0]
    limiter = LoginLimiter(per_account=2, per_address=100, window=60, clock=lambda: clock[0])
    limiter.failed(account="a", address="ip")
    limiter.succeeded(account="a")
    limiter.failed(account="a", address="ip")
    assert limiter.retry_after(account="a", address="ip") == 0
    limiter.failed(account="a", address="ip")
    assert limiter.retry_after(account="a", address="ip") > 0
    clock[0] = 61
    assert limiter.retry_after(account="a", address="ip") == 0


def test_signed_in_user_visiting_sign_in_goes_home(as_user):
    client, _ = as_user("duty")
    response = client.get("/signin", follow_redirects=False)
    assert response.status_code == 303


def test_deactivated_account_is_signed_out(as_user, context, demo):
    from sqlalchemy import update

    from mash.models import Person

    client, _ = as_user("oakfield_deputy")
    with context.sessions() as session:
        session.execute(
            update(Person).where(Person.id == demo.people["oakfield_deputy"]).values(active=False)
        )
        session.commit()
    response = client.get("/school", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/signin")
