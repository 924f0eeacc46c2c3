"""Sign-in, sign-out, the session cookie and the sign-in rate limit."""

from __future__ import annotations

import logging
import re
import time
import uuid

import pytest
from fastapi.testclient import TestClient

from mash.demo import DEMO_PASSWORD, PEOPLE
from schools_portal import create_app
from schools_portal.app import SESSION_COOKIE
from schools_portal.ratelimit import LoginLimiter
from schools_portal.routes.signin import safe_next

DANA = "dana.price@oakfield.example"
SAM = PEOPLE["duty"]["email"]  # a duty social worker (password, then a one-time code)
# The device cookie's name (schools_portal/devices.py), spelt out so that these tests fail
# rather than error on a portal without device cookies.
DEVICE_COOKIE = "signin_device"
ATTACKER = ("203.0.113.66", 50000)  # another address: only the per-account limit is shared


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
    (cookie,) = [
        c.lower() for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    ]
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # test environment is plain http


def test_cookie_is_secure_and_hsts_sent_in_production(settings, context):
    from dataclasses import replace

    production = replace(settings, environment="production", secret_key="x" * 40)
    with TestClient(create_app(production, context=context), base_url="https://t") as client:
        response = client.get("/signin")  # the anonymous session holding the CSRF token
    assert "secure" in response.headers["set-cookie"].lower()
    assert response.headers["strict-transport-security"].startswith("max-age=")


def failed_signins(context, reason=None):
    from sqlalchemy import select

    from mash.models import AuditEntry

    with context.sessions() as session:
        rows = session.execute(
            select(AuditEntry).where(AuditEntry.action == "signin_failed").order_by(AuditEntry.id)
        ).scalars().all()
    return [r for r in rows if reason is None or r.detail["reason"] == reason]


def test_rate_limit_delays_grow_and_a_right_password_after_the_wait_works(app, client, csrf_of):
    clock = [1_000_000.0]
    app.state.login_limiter = LoginLimiter(clock=lambda: clock[0])
    waits = []
    for _ in range(6):
        response = post_signin(client, csrf_of, password="wrong-password")
        assert response.status_code == 400
        wait = app.state.login_limiter.retry_after(account=DANA, address="testclient")
        waits.append(wait)
        if wait:
            blocked = post_signin(client, csrf_of)  # even the right password waits...
            assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) == wait
            assert f"Please wait {wait} seconds" in blocked.text
            clock[0] += wait  # ...only as long as it was told
    assert waits[:3] == [0, 0, 2] and waits[3:] == [4, 8, 16]  # growing, not a lock
    assert post_signin(client, csrf_of).status_code == 303


def test_the_delay_is_capped_so_staff_are_never_locked_out():
    clock = [0.0]
    limiter = LoginLimiter(clock=lambda: clock[0])
    for _ in range(200):  # an attacker hammering one account from many addresses
        limiter.failed(account="sam", address=f"10.0.0.{clock[0] % 250:.0f}")
        clock[0] += 1
    assert 0 < limiter.retry_after(account="sam", address="192.0.2.1") <= 60
    clock[0] += 60
    assert limiter.retry_after(account="sam", address="192.0.2.1") == 0


def test_rate_limit_per_address(app, client, csrf_of):
    clock = [1_000_000.0]
    app.state.login_limiter = LoginLimiter(clock=lambda: clock[0])
    for n in range(10):
        post_signin(client, csrf_of, email=f"guess{n}@example.org", password="x")
    blocked = post_signin(client, csrf_of)
    assert blocked.status_code == 429
    clock[0] += int(blocked.headers["retry-after"])
    assert post_signin(client, csrf_of).status_code == 303


def fake_clock(app) -> list[float]:
    clock = [1_000_000.0]
    app.state.login_limiter = LoginLimiter(clock=lambda: clock[0])
    return clock


def sign_out(client, token):
    assert client.post("/signout", data={"csrf_token": token}).status_code == 200


def keep_the_account_waiting(app, csrf_of, clock, account, rounds=8):
    """Finding M1's attack: a wrong password from another address as soon as each wait ends.
    Leaves the account at the 60 s cap, with the wait just begun."""
    with TestClient(app, client=ATTACKER) as attacker:
        for _ in range(rounds):
            clock[0] += app.state.login_limiter.retry_after(account=account, address=ATTACKER[0])
            response = post_signin(attacker, csrf_of, email=account, password="wrong-password")
            assert response.status_code == 400
    assert app.state.login_limiter.retry_after(account=account, address="testclient") == 60


def test_a_browser_that_signed_in_before_gets_in_while_an_attacker_keeps_the_account_waiting(
    app, csrf_of, portal_sign_in
):
    clock = fake_clock(app)
    with TestClient(app) as victim, TestClient(app) as new_browser:
        sign_out(victim, portal_sign_in(victim, "duty"))  # yesterday's shift
        assert victim.cookies.get(DEVICE_COOKIE)
        keep_the_account_waiting(app, csrf_of, clock, SAM)
        # The victim's browser: the right password, then the code, with no wait at all.
        portal_sign_in(victim, "duty")
        assert victim.get("/api/me").json()["name"] == PEOPLE["duty"]["name"]
        # A browser that never signed in to the account still waits: guessers are still slowed,
        # and the victim's sign-in did not clear the attacker's count.
        refused = post_signin(new_browser, csrf_of, email=SAM)
        assert refused.status_code == 429 and refused.headers["retry-after"] == "60"
        assert new_browser.cookies.get(DEVICE_COOKIE) is None


def test_a_forged_or_another_accounts_device_cookie_is_ignored(app, csrf_of, portal_sign_in):
    clock = fake_clock(app)
    cookies = {}
    for key in ("duty", "oakfield_dsl"):
        with TestClient(app) as browser:
            sign_out(browser, portal_sign_in(browser, key))
            cookies[key] = browser.cookies.get(DEVICE_COOKIE)
    genuine = cookies["duty"]
    assert genuine and cookies["oakfield_dsl"] and genuine != cookies["oakfield_dsl"]
    keep_the_account_waiting(app, csrf_of, clock, SAM)
    device, _, mac = genuine.rpartition(".")
    tampered = genuine[:-1] + ("0" if genuine[-1] != "0" else "1")
    for cookie in (cookies["oakfield_dsl"], tampered, f"another{device}.{mac}", mac, ""):
        with TestClient(app) as browser:
            browser.cookies.set(DEVICE_COOKIE, cookie)
            response = post_signin(browser, csrf_of, email=SAM)
            assert response.status_code == 429, cookie
    with TestClient(app) as browser:  # the same value, unchanged, does count
        browser.cookies.set(DEVICE_COOKIE, genuine)
        response = post_signin(browser, csrf_of, email=SAM)
        assert response.status_code == 303 and response.headers["location"] == "/signin/code"


def test_a_trusted_browser_that_keeps_failing_is_delayed_on_its_own(
    app, csrf_of, portal_sign_in, context
):
    clock = fake_clock(app)
    with TestClient(app) as browser, TestClient(app) as other_browser:
        sign_out(browser, portal_sign_in(browser, "oakfield_dsl"))
        waits = []
        for _ in range(6):
            failed = post_signin(browser, csrf_of, password="wrong-password")
            assert failed.status_code == 400
            told = re.search(r"Please wait (\d+) seconds before the next try", failed.text)
            waits.append(int(told.group(1)) if told else 0)
            if waits[-1]:
                blocked = post_signin(browser, csrf_of)  # even the right password waits
                assert blocked.status_code == 429
                assert blocked.headers["retry-after"] == str(waits[-1])
                if len(waits) < 6:
                    clock[0] += waits[-1]
        assert waits == [0, 0, 2, 4, 8, 16]  # growing, capped: a delay, not a lock
        assert len(failed_signins(context, "wrong_password")) == 6  # each failure audited
        # Its failures slowed that browser only: neither the account nor the address waits.
        assert app.state.login_limiter.retry_after(account=DANA, address="testclient") == 0
        assert post_signin(other_browser, csrf_of).status_code == 303
        clock[0] += 16
        assert post_signin(browser, csrf_of).status_code == 303


def test_the_device_cookie_comes_after_the_last_factor_and_stays_on_the_sign_in_pages(
    client, csrf_of, portal_sign_in
):
    response = post_signin(client, csrf_of, email=SAM)
    assert response.headers["location"] == "/signin/code"
    assert client.cookies.get(DEVICE_COOKIE) is None  # the password alone earns no cookie
    wrong_code = client.post(
        "/signin/code", data={"code": "000000", "csrf_token": csrf_of(client, "/signin/code")}
    )
    assert client.cookies.get(DEVICE_COOKIE) is None  # nor does a wrong code
    assert wrong_code.status_code == 400
    with TestClient(client.app) as browser:
        token = csrf_of(browser)
        response = browser.post(
            "/signin",
            data={"email": DANA, "password": DEMO_PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
    (cookie,) = [
        c for c in response.headers.get_list("set-cookie") if c.startswith(f"{DEVICE_COOKIE}=")
    ]
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes and "samesite=strict" in attributes
    assert "path=/signin" in attributes and "secure" not in attributes  # plain http in tests
    (max_age,) = [int(a.split("=")[1]) for a in attributes if a.startswith("max-age=")]
    assert max_age >= 90 * 24 * 3600  # long-lived


def test_the_device_cookie_is_secure_in_production(settings, context, csrf_of):
    from dataclasses import replace

    production = replace(settings, environment="production", secret_key="x" * 40)
    with TestClient(create_app(production, context=context), base_url="https://t") as client:
        response = post_signin(client, csrf_of)
    (cookie,) = [
        c for c in response.headers.get_list("set-cookie") if c.startswith(f"{DEVICE_COOKIE}=")
    ]
    assert "secure" in [part.strip().lower() for part in cookie.split(";")]


def test_attempts_refused_during_a_wait_are_logged_with_a_count(app, client, csrf_of, caplog):
    fake_clock(app)
    for _ in range(3):
        post_signin(client, csrf_of, password="wrong-password")
    with caplog.at_level(logging.WARNING, logger="schools_portal.routes.signin"):
        for _ in range(3):
            assert post_signin(client, csrf_of, password="Secret-guess-9").status_code == 429
    refused = [r.getMessage() for r in caplog.records if "refused during a wait" in r.getMessage()]
    assert len(refused) == 3
    assert [re.search(r"(\d+) refused", line).group(1) for line in refused] == ["1", "2", "3"]
    assert all("testclient" in line for line in refused)
    # Like the audit rows: never the password, nor the typed account name.
    assert not any("Secret-guess" in line or DANA in line for line in refused)


def test_a_success_clears_the_account_count():
    clock = [0.0]
    limiter = LoginLimiter(clock=lambda: clock[0])
    for _ in range(3):
        limiter.failed(account="a", address="ip")
    limiter.succeeded(account="a")
    limiter.failed(account="a", address="ip")
    assert limiter.retry_after(account="a", address="ip") == 0


def test_failed_sign_ins_are_audited_without_the_password(client, csrf_of, context, demo):
    post_signin(client, csrf_of, password="Secret-guess-1")
    post_signin(client, csrf_of, email="nobody@example.org", password="Secret-guess-2")
    wrong, unknown = failed_signins(context)
    assert wrong.detail == {"account": DANA, "address": "testclient", "reason": "wrong_password"}
    assert wrong.subject_id == demo.people["oakfield_dsl"]
    assert unknown.detail == {"address": "testclient", "reason": "unknown_account"}
    assert unknown.subject_id is None
    for row in (wrong, unknown):
        assert "Secret-guess" not in str(row.detail) and "Secret-guess" not in row.actor_label


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


REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture()
def redis_db():
    """Redis database 15 on loopback (production keeps the limiter's counts in Redis), or a skip."""
    try:
        import redis

        connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        connection.ping()
    except Exception as error:  # noqa: BLE001 - any failure means: no Redis here
        pytest.skip(f"Redis is not reachable at {REDIS_URL} ({error.__class__.__name__}): "
                    "the limiter's shared-storage tests need it")
    yield connection
    connection.close()


def clear_signin_keys(connection, *names):
    for name in names:
        for kind in ("account", "address"):
            for suffix in ("failures", "not_before", "refused"):
                connection.delete(f"signin:{kind}:{name}:{suffix}")


def test_rate_limit_delays_grow_with_redis_storage(redis_db):
    from limits.storage import RedisStorage

    account, address = f"redis-test-{uuid.uuid4().hex}", f"198.51.100.{uuid.uuid4().int % 250}"
    clear_signin_keys(redis_db, account, address)
    try:
        limiter = LoginLimiter.from_redis_url(REDIS_URL)
        assert isinstance(limiter.storage, RedisStorage)  # not this process's memory
        clock = [float(int(time.time()))]
        limiter.clock = lambda: clock[0]
        waits = [limiter.failed(account=account, address=address) for _ in range(6)]
        assert waits == [0, 0, 2, 4, 8, 16]
        assert limiter.retry_after(account=account, address=address) == 16
        assert int(redis_db.get(f"signin:account:{account}:failures")) == 6  # kept in Redis
        clock[0] += 16
        assert limiter.retry_after(account=account, address=address) == 0
        limiter.succeeded(account=account)
        assert redis_db.get(f"signin:account:{account}:failures") is None
        assert limiter.failed(account=account, address=address) == 0
    finally:
        clear_signin_keys(redis_db, account, address)


def test_a_claim_parked_without_an_expiry_lapses(redis_db):
    """Security re-review F2 (defence in depth behind the password production now needs): a
    claim key set with no expiry refused every sign-in for ever; each claim now renews the
    expiry, so a parked key lapses within IN_FLIGHT_SECONDS."""
    from schools_portal.ratelimit import IN_FLIGHT_SECONDS

    account = f"redis-park-{uuid.uuid4().hex}"
    key = f"signin:account:{account}:in_flight"
    try:
        redis_db.set(key, 1000)  # parked: no TTL
        limiter = LoginLimiter.from_redis_url(REDIS_URL)
        assert limiter.claim(account=account) is False
        assert 0 < redis_db.ttl(key) <= IN_FLIGHT_SECONDS
    finally:
        redis_db.delete(key)


def test_two_portal_processes_share_sign_in_delays_through_redis(
    redis_db, settings, context, csrf_of
):
    """Two portals built for production (each makes its own limiter from REDIS_URL, as two
    processes would) on one database and one Redis: failures at one delay sign-in at the
    other, and a success at either clears the account's count for both."""
    from dataclasses import replace

    from limits.storage import RedisStorage

    production = replace(
        settings, environment="production", secret_key="x" * 40, redis_url=REDIS_URL
    )
    clear_signin_keys(redis_db, DANA, "testclient")
    first_app = create_app(production, context=context)
    second_app = create_app(production, context=context)
    limiters = [first_app.state.login_limiter, second_app.state.login_limiter]
    assert limiters[0] is not limiters[1]
    assert all(isinstance(limiter.storage, RedisStorage) for limiter in limiters)
    clock = [float(int(time.time()))]
    for limiter in limiters:
        limiter.clock = lambda: clock[0]
    try:
        with TestClient(first_app, base_url="https://t") as first, TestClient(
            second_app, base_url="https://t"
        ) as second:
            for _ in range(3):
                assert post_signin(first, csrf_of, password="wrong-password").status_code == 400
            blocked = post_signin(second, csrf_of)  # the right password, at the other portal
            assert blocked.status_code == 429 and blocked.headers["retry-after"] == "2"
            assert limiters[1].retry_after(account=DANA, address="testclient") == 2
            clock[0] += 2
            assert post_signin(second, csrf_of).status_code == 303
            assert limiters[0].retry_after(account=DANA, address="testclient") == 0
            assert int(redis_db.get("signin:address:testclient:failures")) == 3
    finally:
        clear_signin_keys(redis_db, DANA, "testclient")


def test_a_burst_of_guesses_at_once_is_checked_one_at_a_time(app, csrf_of, context, monkeypatch):
    """The wait was read before the slow password check and the failure counted after it, so
    guesses sent all at once were nearly all checked (the re-review's N1: 27-40 of 40)."""
    import threading

    from mash import directory

    real_check = directory.check_password

    def slow_check(**kwargs):  # the production hash's cost, so a burst really overlaps
        time.sleep(0.2)
        return real_check(**kwargs)

    monkeypatch.setattr(directory, "check_password", slow_check)
    clients = [TestClient(app) for _ in range(12)]
    tokens = [csrf_of(c) for c in clients]
    start = threading.Barrier(len(clients))
    statuses: list[int] = []

    def guess(client, token):
        start.wait()
        response = client.post("/signin", data={"email": DANA, "password": "wrong-password",
                                                "next": "/", "csrf_token": token})
        statuses.append(response.status_code)

    pairs = zip(clients, tokens, strict=True)
    threads = [threading.Thread(target=guess, args=pair) for pair in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    checked = len(failed_signins(context, "wrong_password"))
    assert checked <= 3, f"{checked} of 12 simultaneous guesses were checked"
    assert statuses.count(429) == len(clients) - checked
