"""Fixtures for the portal: a migrated, demo-seeded SQLite per test (copied from a template made
once per session) and the real guidance engine (loaded once), both from tests/conftest.py, and
an app built by the factory with
its own AppContext. Rasa is pointed at a closed loopback port, so the chat relay's own
guarantees (safety message, escalation) are what the chat tests see."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app_context import AppContext
from guidance.engine import Engine
from mash.demo import DemoDirectory, seed_demo
from schools_portal import create_app
from schools_portal.app import SESSION_COOKIE
from settings import Settings

CLOSED_PORT_URL = "http://127.0.0.1:9"  # discard port: nothing listens, Rasa is "down"


def portal_settings(db_url: str, var_dir: Path, **overrides) -> Settings:
    return Settings(
        environment="test",
        database_url=db_url,
        var_dir=var_dir,
        rasa_url=overrides.pop("rasa_url", CLOSED_PORT_URL),
        secret_key="portal-test-secret-key-not-for-production",
        channel_secret=overrides.pop("channel_secret", "portal-test-channel-secret"),
        **overrides,
    )


@pytest.fixture(scope="session")
def make_settings() -> Callable[..., Settings]:
    return portal_settings


@pytest.fixture()
def settings(demo_db_url: str, tmp_path: Path) -> Settings:
    return portal_settings(demo_db_url, tmp_path)


@pytest.fixture()
def context(settings: Settings, guidance_engine: Engine) -> Iterator[AppContext]:
    context = AppContext.build(settings, guidance=guidance_engine)
    yield context
    context.close()


@pytest.fixture()
def demo(context: AppContext, settings: Settings) -> DemoDirectory:
    return seed_demo(context.sessions, settings=settings)  # already seeded: describes it


@pytest.fixture()
def app(settings: Settings, context: AppContext):
    return create_app(settings, context=context)


@pytest.fixture()
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture()
def session_cookies() -> dict[str, tuple[str, str]]:
    """Session cookies by demo person, for one test: sessions live in the test's own database,
    so a cookie from another test's database means nothing here."""
    return {}


@pytest.fixture()
def as_user(
    app, session_cookies, portal_sign_in
) -> Iterator[Callable[[str], tuple[TestClient, str]]]:
    """`as_user("oakfield_dsl")` -> (a signed-in client, its CSRF token). Clients are separate
    browsers: each has its own cookies."""
    clients: list[TestClient] = []

    def make(key: str) -> tuple[TestClient, str]:
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        if key in session_cookies:
            cookie, token = session_cookies[key]
            client.cookies.set(SESSION_COOKIE, cookie)
            return client, token
        token = portal_sign_in(client, key)
        session_cookies[key] = (client.cookies[SESSION_COOKIE], token)
        return client, token

    yield make
    for client in clients:
        client.__exit__(None, None, None)
