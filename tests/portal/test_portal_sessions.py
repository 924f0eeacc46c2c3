"""Server-side sessions: sign-out, lifetimes, sign out everywhere, password change."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from mash.demo import DEMO_PASSWORD
from mash.models import AuditEntry, PortalSession
from schools_portal.app import SESSION_COOKIE

NEW_PASSWORD = "a-brand-new-password-42"


def copy_of(app, client: TestClient) -> TestClient:
    """Another browser holding a copy of `client`'s session cookie (a stolen cookie)."""
    thief = TestClient(app)
    thief.cookies.set(SESSION_COOKIE, client.cookies[SESSION_COOKIE])
    return thief


def test_the_cookie_is_only_a_random_token_whose_hash_is_stored(as_user, context):
    client, _ = as_user("oakfield_dsl")
    token = client.cookies[SESSION_COOKIE]
    assert len(token) >= 43 and "." not in token  # not a signed payload
    with context.sessions() as session:
        hashes = session.execute(select(PortalSession.token_hash)).scalars().all()
    assert token not in hashes and len(hashes[-1]) == 64


def test_a_copied_cookie_is_dead_after_sign_out(app, as_user):
    client, token = as_user("oakfield_dsl")
    thief = copy_of(app, client)
    assert thief.get("/api/me").status_code == 200  # the copy works while the session lives
    client.post("/signout", data={"csrf_token": token})
    assert thief.get("/api/me").status_code == 401
    page = thief.get("/school", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/signin")


def test_idle_timeout_ends_a_session(app, as_user, settings):
    now = [datetime.now(timezone.utc)]
    app.state.clock = lambda: now[0]
    client, _ = as_user("oakfield_dsl")
    idle = timedelta(minutes=settings.session_idle_minutes)
    now[0] += idle - timedelta(minutes=1)
    assert client.get("/api/me").status_code == 200  # in use: the idle clock restarts
    now[0] += idle - timedelta(minutes=1)
    assert client.get("/api/me").status_code == 200
    now[0] += idle + timedelta(seconds=1)
    assert client.get("/api/me").status_code == 401


def test_absolute_lifetime_ends_a_busy_session(app, as_user, settings):
    now = [datetime.now(timezone.utc)]
    app.state.clock = lambda: now[0]
    client, _ = as_user("oakfield_dsl")
    end = now[0] + timedelta(hours=settings.session_absolute_hours)
    while now[0] + timedelta(minutes=10) < end:
        now[0] += timedelta(minutes=10)  # busy all day: never idle
        assert client.get("/api/me").status_code == 200
    now[0] = end
    assert client.get("/api/me").status_code == 401
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_sign_out_everywhere(app, as_user, portal_sign_in, context, demo):
    laptop, token = as_user("oakfield_dsl")
    phone = TestClient(app)
    portal_sign_in(phone, "oakfield_dsl")
    out = laptop.post(
        "/account/signout-everywhere", data={"csrf_token": token}, follow_redirects=False
    )
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    assert laptop.get("/api/me").status_code == 401
    assert phone.get("/api/me").status_code == 401
    assert "You have signed out everywhere." in laptop.get("/signin").text
    with context.sessions() as session:
        entry = session.execute(
            select(AuditEntry).where(AuditEntry.action == "signed_out_everywhere")
        ).scalar_one()
    assert entry.actor_user_id == demo.people["oakfield_dsl"]
    assert entry.detail["sessions_ended"] == 2


def change(client, token, current=DEMO_PASSWORD, new=NEW_PASSWORD, again=None):
    return client.post(
        "/account/password",
        data={
            "current_password": current,
            "new_password": new,
            "new_password_again": new if again is None else again,
            "csrf_token": token,
        },
        follow_redirects=False,
    )


def test_a_password_change_ends_every_other_session(app, as_user, portal_sign_in, csrf_of):
    client, token = as_user("oakfield_dsl")
    other = TestClient(app)
    portal_sign_in(other, "oakfield_dsl")
    thief = copy_of(app, client)
    response = change(client, token)
    assert response.status_code == 303 and response.headers["location"] == "/account"
    assert other.get("/api/me").status_code == 401
    assert thief.get("/api/me").status_code == 401  # the old cookie of this browser too
    assert client.get("/api/me").status_code == 200  # this browser got a new session
    assert "signed out everywhere else" in client.get("/account").text
    fresh = TestClient(app)
    signin = fresh.post(
        "/signin",
        data={
            "email": "dana.price@oakfield.example",
            "password": NEW_PASSWORD,
            "csrf_token": csrf_of(fresh),
        },
        follow_redirects=False,
    )
    assert signin.status_code == 303


def test_a_password_change_checks_the_current_password_and_the_rules(as_user):
    client, token = as_user("oakfield_dsl")
    assert "not right" in change(client, token, current="wrong-password-1").text
    assert "not the same" in change(client, token, again="something-else-99").text
    assert "at least 10 characters" in change(client, token, new="short").text
    assert change(client, token, current="wrong-password-1").status_code == 400
    assert client.get("/api/me").status_code == 200  # nothing changed, still signed in


def test_the_password_form_needs_the_csrf_token(as_user):
    client, _ = as_user("oakfield_dsl")
    assert change(client, "not-the-token").status_code == 403


def test_anonymous_visits_do_not_pile_up_sessions_without_need(client, context):
    with context.sessions() as session:
        before = session.execute(select(func.count(PortalSession.id))).scalar_one()
    client.get("/guidance", follow_redirects=False)  # a redirect needs no session
    with context.sessions() as session:
        after = session.execute(select(func.count(PortalSession.id))).scalar_one()
    assert after == before


def session_row(context, settings, token):
    """The portal_sessions row of a cookie's token (looked up by its HMAC, as the portal does)."""
    from mash.sessions import token_hash

    with context.sessions() as session:
        return session.execute(
            select(PortalSession).where(
                PortalSession.token_hash == token_hash(settings.secret_key, token)
            )
        ).scalar_one()


def test_sign_in_replaces_the_session_token_so_a_planted_cookie_stays_anonymous(
    app, csrf_of, context, settings, demo
):
    # The attacker opens the sign-in page and gets an anonymous session (it holds the CSRF
    # token), then plants that cookie in the victim's browser.
    attacker = TestClient(app)
    csrf_of(attacker)
    planted = attacker.cookies[SESSION_COOKIE]
    victim = TestClient(app)
    victim.cookies.set(SESSION_COOKIE, planted, domain="testserver.local")  # as the portal sets it
    response = victim.post(
        "/signin",
        data={
            "email": "dana.price@oakfield.example",
            "password": DEMO_PASSWORD,
            "csrf_token": csrf_of(victim),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert victim.cookies[SESSION_COOKIE] != planted  # a new token replaced the planted one
    assert victim.get("/api/me").json()["user_id"] == demo.people["oakfield_dsl"]
    assert attacker.get("/api/me").status_code == 401  # the planted token got no user...
    old = session_row(context, settings, planted)
    assert old.revoked_at is not None and old.user_id is None  # ...and is dead
    new = session_row(context, settings, victim.cookies[SESSION_COOKIE])
    assert new.revoked_at is None and new.user_id == demo.people["oakfield_dsl"]


def test_each_step_of_a_staff_sign_in_gets_a_new_token_and_ends_the_last(
    app, csrf_of, context, settings, demo
):
    from mash import twofactor

    client = TestClient(app)
    csrf_of(client)
    before = client.cookies[SESSION_COOKIE]
    password = client.post(
        "/signin",
        data={
            "email": "sam.okafor@mash.example",
            "password": DEMO_PASSWORD,
            "csrf_token": csrf_of(client),
        },
        follow_redirects=False,
    )
    assert password.headers["location"] == "/signin/code"
    halfway = client.cookies[SESSION_COOKIE]
    code = client.post(
        "/signin/code",
        data={
            "code": twofactor.current_code(twofactor.DEMO_TOTP_SECRET),
            "csrf_token": csrf_of(client, "/signin/code"),
        },
        follow_redirects=False,
    )
    assert code.status_code == 303 and code.headers["location"] == "/"
    after = client.cookies[SESSION_COOKIE]
    assert len({before, halfway, after}) == 3
    assert client.get("/api/me").json()["user_id"] == demo.people["duty"]
    for dead in (before, halfway):
        assert session_row(context, settings, dead).revoked_at is not None
        assert copy_of_token(app, dead).get("/api/me").status_code == 401


def copy_of_token(app, token: str) -> TestClient:
    other = TestClient(app)
    other.cookies.set(SESSION_COOKIE, token)
    return other


def test_a_password_change_is_audited_without_the_passwords(
    app, as_user, portal_sign_in, context, demo
):
    client, token = as_user("oakfield_dsl")
    other = TestClient(app)
    portal_sign_in(other, "oakfield_dsl")
    bystander, _ = as_user("oakfield_deputy")  # a colleague's session is not theirs to end
    assert change(client, token).status_code == 303
    with context.sessions() as session:
        (entry,) = session.execute(
            select(AuditEntry).where(AuditEntry.action == "password_changed")
        ).scalars()
    dana = demo.people["oakfield_dsl"]
    assert entry.actor_user_id == dana and entry.subject_id == dana
    assert entry.detail == {"sessions_ended": 2}  # this browser's old session and the other
    assert DEMO_PASSWORD not in str(entry.detail) and NEW_PASSWORD not in str(entry.detail)
    assert other.get("/api/me").status_code == 401
    assert bystander.get("/api/me").status_code == 200
    assert client.get("/api/me").status_code == 200


def test_guessing_the_current_password_is_slowed_and_audited(as_user, context, demo):
    """A borrowed or stolen session could otherwise guess the password at full speed."""
    client, token = as_user("oakfield_dsl")
    for _ in range(3):  # the limiter's free failures, as at sign-in
        assert change(client, token, current="not-the-password").status_code == 400
    waiting = change(client, token)  # even the right one must wait now
    assert waiting.status_code == 429 and "Please wait" in waiting.text
    with context.sessions() as session:
        rows = session.execute(
            select(AuditEntry).where(AuditEntry.action == "signin_failed")
        ).scalars().all()
    assert [r.detail["reason"] for r in rows] == ["wrong_current_password"] * 3
    assert all(r.subject_id == demo.people["oakfield_dsl"] for r in rows)
    assert "not-the-password" not in str([r.detail for r in rows])
