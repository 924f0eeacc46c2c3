"""Two-factor sign-in: required for MASH staff and admins, recovery codes, enrolment, reset."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from mash import twofactor
from mash.access import Actor
from mash.demo import DEMO_PASSWORD, PEOPLE
from mash.errors import Forbidden
from mash.models import AuditEntry, Person, PortalSession
from schools_portal.app import SESSION_COOKIE

SAM = PEOPLE["duty"]["email"]


def password_step(client, csrf_of, email=SAM):
    return client.post(
        "/signin",
        data={"email": email, "password": DEMO_PASSWORD, "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )


def code_step(client, csrf_of, code):
    return client.post(
        "/signin/code",
        data={"code": code, "csrf_token": csrf_of(client, "/signin/code")},
        follow_redirects=False,
    )


def audit_rows(context, action):
    with context.sessions() as session:
        return (
            session.execute(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
            .scalars()
            .all()
        )


def demo_code(offset_steps=0):
    when = datetime.now(timezone.utc) + timedelta(seconds=30 * offset_steps)
    return twofactor.current_code(twofactor.DEMO_TOTP_SECRET, when)


@pytest.mark.parametrize("key", ["duty", "manager", "admin"])
def test_staff_with_the_right_password_but_no_code_reach_nothing(app, client, csrf_of, key):
    response = password_step(client, csrf_of, PEOPLE[key]["email"])
    assert response.status_code == 303 and response.headers["location"] == "/signin/code"
    assert client.get("/api/me").status_code == 401
    for path in ("/queue", "/dashboard", "/account"):
        page = client.get(path, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/signin")
    assert client.get("/api/queue").status_code == 401
    assert client.get("/api/escalations").status_code in (401, 404)
    # A stolen half-signed-in cookie is no better.
    thief = TestClient(app)
    thief.cookies.set(SESSION_COOKIE, client.cookies[SESSION_COOKIE])
    assert thief.get("/api/me").status_code == 401


def test_practitioners_without_two_factor_sign_in_with_the_password(client, csrf_of):
    response = password_step(client, csrf_of, PEOPLE["oakfield_dsl"]["email"])
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_the_right_code_completes_staff_sign_in(client, csrf_of):
    password_step(client, csrf_of)
    response = code_step(client, csrf_of, demo_code())
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert client.get("/api/me").json()["role"] == "mash_worker"
    assert client.get("/queue").status_code == 200


def test_a_wrong_code_fails_and_is_audited(client, csrf_of, context, demo):
    password_step(client, csrf_of)
    wrong = str((int(demo_code()) + 1) % 1_000_000).zfill(6)
    response = code_step(client, csrf_of, wrong)
    assert response.status_code == 400 and "code is not right" in response.text
    assert client.get("/api/me").status_code == 401
    (row,) = audit_rows(context, "signin_failed")
    assert row.detail == {"account": SAM, "address": "testclient", "reason": "wrong_code"}
    assert row.subject_id == demo.people["duty"] and wrong not in str(row.detail)


def test_a_replayed_code_fails_and_is_audited(app, csrf_of, context):
    first, second = TestClient(app), TestClient(app)
    code = demo_code()
    password_step(first, csrf_of)
    assert code_step(first, csrf_of, code).status_code == 303
    password_step(second, csrf_of)
    assert code_step(second, csrf_of, code).status_code == 400  # seen over a shoulder: refused
    assert second.get("/api/me").status_code == 401
    assert [r.detail["reason"] for r in audit_rows(context, "signin_failed")] == ["replayed_code"]


def test_the_code_step_expires(app, client, csrf_of):
    now = [datetime.now(timezone.utc)]
    app.state.clock = lambda: now[0]
    password_step(client, csrf_of)
    now[0] += timedelta(minutes=6)
    response = client.get("/signin/code", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/signin"


def enrol(client, token, context, person_email):
    page = client.get("/account/two-factor")
    assert page.status_code == 200 and "<svg" in page.text and "<script" not in page.text
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page.text).group(1)
    response = client.post(
        "/account/two-factor", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token}
    )
    assert response.status_code == 200, response.text
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", response.text)
    return secret, codes


def test_optional_enrolment_recovery_codes_work_once_and_are_audited(
    app, as_user, csrf_of, context, demo
):
    dsl, token = as_user("oakfield_dsl")
    secret, codes = enrol(dsl, token, context, PEOPLE["oakfield_dsl"]["email"])
    assert len(codes) == 10 and len(set(codes)) == 10
    (enrolled,) = audit_rows(context, "two_factor_enrolled")
    assert enrolled.subject_id == demo.people["oakfield_dsl"]
    with context.sessions() as session:
        person = session.get(Person, demo.people["oakfield_dsl"])
        hashes = [c.code_hash for c in person_codes(session, person.id)]
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert not any(code.replace("-", "") in h for code in codes for h in hashes)

    first = TestClient(app)
    assert (
        password_step(first, csrf_of, PEOPLE["oakfield_dsl"]["email"]).headers["location"]
        == "/signin/code"
    )  # enrolled: the code is now needed
    assert code_step(first, csrf_of, codes[0].upper()).status_code == 303
    assert first.get("/api/me").status_code == 200
    used = audit_rows(context, "recovery_code_used")
    assert len(used) == 1 and used[0].detail["codes_left"] == 9

    again = TestClient(app)
    password_step(again, csrf_of, PEOPLE["oakfield_dsl"]["email"])
    assert code_step(again, csrf_of, codes[0]).status_code == 400  # once only
    assert audit_rows(context, "signin_failed")[-1].detail["reason"] == "wrong_recovery_code"
    assert code_step(again, csrf_of, codes[1]).status_code == 303


def person_codes(session, person_id):
    from mash.models import RecoveryCode

    return (
        session.execute(select(RecoveryCode).where(RecoveryCode.person_id == person_id))
        .scalars()
        .all()
    )


def test_a_wrong_code_at_enrolment_changes_nothing(as_user, context, demo):
    dsl, token = as_user("oakfield_dsl")
    dsl.get("/account/two-factor")
    response = dsl.post("/account/two-factor", data={"code": "000000", "csrf_token": token})
    assert response.status_code == 400 and "does not match" in response.text
    with context.sessions() as session:
        assert session.get(Person, demo.people["oakfield_dsl"]).totp_secret is None


def test_an_admin_reset_is_audited_and_staff_must_enrol_again(app, client, csrf_of, context, demo):
    admin = Actor(user_id=demo.people["admin"], role="admin", organisation_id=None, name="Pat")
    with context.sessions() as session:
        with pytest.raises(Forbidden):
            twofactor.reset(
                session=session,
                actor=Actor(user_id=1, role="mash_manager", organisation_id=None),
                person_id=1,
            )
        issued = twofactor.reset(session=session, actor=admin, person_id=demo.people["duty"])
    (row,) = audit_rows(context, "two_factor_reset")
    assert row.actor_user_id == demo.people["admin"] and row.subject_id == demo.people["duty"]
    response = password_step(client, csrf_of)
    assert response.headers["location"] == "/signin/enrol"
    assert client.get("/queue", follow_redirects=False).status_code == 303  # not before enrolling
    done = enrol_at_signin(client, csrf_of, issued.code)
    assert done.status_code == 200 and "recovery codes" in done.text
    assert client.get("/queue").status_code == 200
    assert len(audit_rows(context, "two_factor_enrolled")) == 1


def test_the_demo_secret_is_refused_in_production(context, demo):
    with context.sessions() as session:
        with pytest.raises(Forbidden):
            twofactor.verify(
                session=session,
                person_id=demo.people["duty"],
                code=demo_code(),
                address="x",
                production=True,
            )


def wrong_for(secret):
    """A six-digit code that none of the accepted time steps of `secret` gives."""
    now = datetime.now(timezone.utc)
    steps = (-2, -1, 0, 1, 2)
    near = {twofactor.current_code(secret, now + timedelta(seconds=30 * k)) for k in steps}
    return next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in near)


def test_a_wrong_code_at_enrolment_is_audited(app, as_user, client, csrf_of, context, demo):
    # Optional enrolment from the account page (a signed-in practitioner).
    dsl, token = as_user("oakfield_dsl")
    page = dsl.get("/account/two-factor")
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page.text).group(1)
    wrong = wrong_for(secret)
    response = dsl.post("/account/two-factor", data={"code": wrong, "csrf_token": token})
    assert response.status_code == 400
    # Required enrolment at sign-in, after an admin reset a worker's second factor.
    admin = Actor(user_id=demo.people["admin"], role="admin", organisation_id=None)
    with context.sessions() as session:
        issued = twofactor.reset(session=session, actor=admin, person_id=demo.people["duty"])
    assert password_step(client, csrf_of).headers["location"] == "/signin/enrol"
    refused = enrol_at_signin(client, csrf_of, issued.code, totp=wrong_for)
    assert refused.status_code == 400 and "does not match" in refused.text
    assert client.get("/api/me").status_code == 401

    rows = audit_rows(context, "signin_failed")
    assert [(r.subject_id, r.detail) for r in rows] == [
        (
            demo.people["oakfield_dsl"],
            {
                "account": PEOPLE["oakfield_dsl"]["email"],
                "address": "testclient",
                "reason": "wrong_code_at_enrolment",
            },
        ),
        (
            demo.people["duty"],
            {"account": SAM, "address": "testclient", "reason": "wrong_code_at_enrolment"},
        ),
    ]
    assert wrong not in str(rows[0].detail)
    with context.sessions() as session:
        assert session.get(Person, demo.people["oakfield_dsl"]).totp_secret is None
        assert session.get(Person, demo.people["duty"]).totp_secret is None


def enrol_at_signin(client, csrf_of, enrolment_code, totp=lambda secret: pyotp.TOTP(secret).now()):
    """Enrol at /signin/enrol (the password step done): the one-time enrolment code an
    administrator gave, and a code from the new authenticator (`totp(secret)`)."""
    page = client.get("/signin/enrol")
    assert page.status_code == 200 and 'name="enrolment_code"' in page.text
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page.text).group(1)
    return client.post(
        "/signin/enrol",
        data={
            "enrolment_code": enrolment_code,
            "code": totp(secret),
            "csrf_token": csrf_of(client, "/signin/enrol"),
        },
        follow_redirects=False,
    )


def assert_reaches_nothing(client):
    assert client.get("/api/me").status_code == 401
    for path in ("/queue", "/dashboard", "/account", "/account/two-factor"):
        page = client.get(path, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/signin")
    assert client.get("/api/queue").status_code == 401


def enrolment_failures(context):
    return [
        r.detail["reason"]
        for r in audit_rows(context, "signin_failed")
        if r.detail["reason"] == "wrong_enrolment_code"
    ]


def reset_duty(context, demo, now=None):
    admin = Actor(user_id=demo.people["admin"], role="admin", organisation_id=None)
    with context.sessions() as session:
        return twofactor.reset(session=session, actor=admin, person_id=demo.people["duty"], now=now)


def test_after_a_reset_the_password_alone_cannot_enrol_or_reach_anything(
    client, csrf_of, context, demo
):
    issued = reset_duty(context, demo)
    assert password_step(client, csrf_of).headers["location"] == "/signin/enrol"
    assert_reaches_nothing(client)
    # The attacker's own authenticator with no enrolment code, or a made-up one: refused.
    for guess in ("", "abcde-fghjk", issued.code[:-1] + ("2" if issued.code[-1] != "2" else "3")):
        refused = enrol_at_signin(client, csrf_of, guess)
        assert refused.status_code == 400 and "enrolment code" in refused.text
        assert_reaches_nothing(client)
    assert enrolment_failures(context) == ["wrong_enrolment_code"] * 3
    rows = [r for r in audit_rows(context, "signin_failed")]
    assert rows[-1].detail == {
        "account": SAM,
        "address": "testclient",
        "reason": "wrong_enrolment_code",
    }
    assert issued.code not in str([r.detail for r in rows])
    assert audit_rows(context, "two_factor_enrolled") == []
    with context.sessions() as session:
        assert session.get(Person, demo.people["duty"]).totp_secret is None


def test_the_enrolment_code_enrols_once_and_is_audited(app, csrf_of, context, demo):
    issued = reset_duty(context, demo)
    (row,) = audit_rows(context, "enrolment_code_issued")
    assert row.subject_id == demo.people["duty"] and issued.code not in str(row.detail)
    first, second = TestClient(app), TestClient(app)
    password_step(first, csrf_of)
    password_step(second, csrf_of)  # the same password in another browser, same time
    done = enrol_at_signin(first, csrf_of, issued.code.upper().replace("-", " "))
    assert done.status_code == 200 and "recovery codes" in done.text
    assert first.get("/api/me").json()["role"] == "mash_worker"
    (used,) = audit_rows(context, "enrolment_code_used")
    assert used.subject_id == demo.people["duty"]

    again = enrol_at_signin(second, csrf_of, issued.code)  # once only
    assert again.status_code == 400
    assert_reaches_nothing(second)
    assert enrolment_failures(context) == ["wrong_enrolment_code"]
    assert len(audit_rows(context, "two_factor_enrolled")) == 1
    with context.sessions() as session:
        person = session.get(Person, demo.people["duty"])
        assert person.enrolment_code_hash is None and person.totp_secret is not None


def test_an_expired_enrolment_code_is_refused_and_audited(app, client, csrf_of, context, demo):
    issued = reset_duty(context, demo, now=datetime.now(timezone.utc) - timedelta(hours=73))
    password_step(client, csrf_of)
    refused = enrol_at_signin(client, csrf_of, issued.code)
    assert refused.status_code == 400 and "enrolment code" in refused.text
    assert_reaches_nothing(client)
    assert enrolment_failures(context) == ["wrong_enrolment_code"]
    # A fresh code from an administrator works.
    admin = Actor(user_id=demo.people["admin"], role="admin", organisation_id=None)
    with context.sessions() as session:
        fresh = twofactor.issue_enrolment_code(
            session=session, actor=admin, person_id=demo.people["duty"]
        )
    assert enrol_at_signin(client, csrf_of, fresh.code).status_code == 200
    assert client.get("/api/me").status_code == 200


def test_a_new_staff_account_enrols_only_with_its_enrolment_code(
    app, settings, client, csrf_of, context
):
    import json

    created = mash_cli(
        settings,
        *("create-user", "--name", "Lee Admin", "--email", "lee@mash.example"),
        *("--role", "admin", "--password-stdin"),
        stdin="a long password for lee\n",
    )
    assert created.returncode == 0, created.stderr
    code = json.loads(created.stdout)["enrolment_code"]
    response = client.post(
        "/signin",
        data={
            "email": "lee@mash.example",
            "password": "a long password for lee",
            "csrf_token": csrf_of(client),
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/signin/enrol"
    assert enrol_at_signin(client, csrf_of, "").status_code == 400
    assert_reaches_nothing(client)
    assert enrol_at_signin(client, csrf_of, code).status_code == 200
    assert client.get("/api/me").json()["role"] == "admin"


def mash_cli(settings, *args, stdin=None):
    """`python -m mash ARGS` as its own process (an admin on the server) on the portal's
    database."""
    import os
    import subprocess
    import sys

    from settings import ROOT

    env = {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "VAR_DIR": str(settings.var_dir),
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.run(
        [sys.executable, "-m", "mash", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
    )


def test_an_admin_reset_from_the_command_line_ends_every_session_of_that_person(
    as_user, portal_sign_in, app, settings, context, demo, csrf_of
):
    laptop, _ = as_user("duty")
    phone = TestClient(app)
    portal_sign_in(phone, "duty")
    colleague, _ = as_user("duty2")
    refused = mash_cli(settings, "reset-two-factor", SAM, "--as", PEOPLE["manager"]["email"])
    assert refused.returncode == 1 and "Only an administrator" in refused.stderr
    assert laptop.get("/api/me").status_code == 200  # a refused reset changes nothing

    done = mash_cli(settings, "reset-two-factor", SAM, "--as", PEOPLE["admin"]["email"])
    assert done.returncode == 0, done.stderr
    assert "second factor reset for " + SAM in done.stdout
    assert laptop.get("/api/me").status_code == 401
    assert phone.get("/api/me").status_code == 401
    assert laptop.get("/queue", follow_redirects=False).headers["location"].startswith("/signin")
    assert colleague.get("/api/me").status_code == 200  # nobody else's sessions end
    (row,) = audit_rows(context, "two_factor_reset")
    assert row.actor_user_id == demo.people["admin"] and row.subject_id == demo.people["duty"]
    assert row.detail == {"sessions_ended": 2}
    with context.sessions() as session:
        live = session.execute(
            select(PortalSession).where(
                PortalSession.user_id == demo.people["duty"], PortalSession.revoked_at.is_(None)
            )
        ).all()
        assert live == [] and session.get(Person, demo.people["duty"]).totp_secret is None

    # The printed one-time enrolment code, and not the password alone, sets it up again.
    (code,) = re.findall(r"\b[a-z2-9]{5}-[a-z2-9]{5}\b", done.stdout)
    password_step(laptop, csrf_of)
    assert enrol_at_signin(laptop, csrf_of, "").status_code == 400
    assert_reaches_nothing(laptop)
    assert enrol_at_signin(laptop, csrf_of, code).status_code == 200
    assert laptop.get("/api/me").status_code == 200


def test_replacing_a_second_factor_needs_the_password_and_ends_other_sessions(
    app, as_user, context, demo
):
    """A session alone (a browser left open) must not be enough to swap the factor."""
    manager, token = as_user("manager")
    elsewhere, _ = as_user("manager")
    page = manager.get("/account/two-factor")
    assert 'name="current_password"' in page.text
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page.text).group(1)
    code = pyotp.TOTP(secret).now()
    for password in ("", "not-the-password"):
        refused = manager.post("/account/two-factor", data={
            "code": code, "current_password": password, "csrf_token": token})
        assert refused.status_code == 400 and "current password" in refused.text
    with context.sessions() as session:
        assert session.get(Person, demo.people["manager"]).totp_secret == twofactor.DEMO_TOTP_SECRET
        reasons = [e.detail["reason"] for e in session.execute(
            select(AuditEntry).where(AuditEntry.action == "signin_failed")).scalars()]
    assert reasons == ["wrong_current_password"] * 2
    done = manager.post("/account/two-factor", data={
        "code": code, "current_password": DEMO_PASSWORD, "csrf_token": token})
    assert done.status_code == 200 and "<code>" in done.text
    with context.sessions() as session:
        assert session.get(Person, demo.people["manager"]).totp_secret == secret
    assert elsewhere.get("/api/me").status_code == 401
    assert manager.get("/api/me").status_code == 200
