"""Fixtures for the Slack app: the local Slack API stub, a copy of the migrated demo SQLite per
test (`demo_db_url` from tests/conftest.py), the real chat relay (with Rasa down: port 9 on
loopback, so the relay's own safety path answers), the app mounted in a Starlette app behind a
test client, signed requests, and the outbox dispatcher with the Slack target running in a
background thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_helpers import BOT_TOKEN, DUTY_CHANNEL, SIGNING_SECRET, SlackClient
from slack_stub import SlackStub
from starlette.applications import Starlette
from starlette.testclient import TestClient

from app_context import AppContext
from chat.relay import ChatRelay
from guidance.engine import Engine
from mash.db import make_engine, session_factory
from mash.demo import DemoDirectory, seed_demo
from mash.dispatcher import Dispatcher, Policy
from mash.targets import FileTarget
from settings import Settings
from slack_app.asgi import mount
from slack_app.deps import SlackDeps, make_client
from slack_app.target import SlackTarget


@pytest.fixture()
def stub() -> Iterator[SlackStub]:
    server = SlackStub(token=BOT_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture()
def settings(demo_db_url: str, tmp_path: Path, stub: SlackStub) -> Settings:
    return Settings(
        environment="test",
        database_url=demo_db_url,
        var_dir=tmp_path,
        rasa_url="http://127.0.0.1:9",  # nothing listens: Rasa is reliably down
        channel_secret="slack-test-channel-secret",
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=stub.api_url,
        slack_duty_channel=DUTY_CHANNEL,
    )


@pytest.fixture()
def context(settings: Settings, guidance_engine: Engine) -> Iterator[AppContext]:
    db = make_engine(settings)
    sessions = session_factory(db)
    relay = ChatRelay(
        settings=settings,
        engine=guidance_engine,
        session_factory=sessions,
        http=httpx.Client(timeout=2),
    )
    ctx = AppContext(
        settings=settings, db=db, sessions=sessions, guidance=guidance_engine, relay=relay
    )
    yield ctx
    ctx.close()


@pytest.fixture()
def demo(context: AppContext) -> DemoDirectory:
    return seed_demo(context.sessions, settings=context.settings)  # seeded: describes it


@pytest.fixture()
def verify_in_slack(context: AppContext, demo: DemoDirectory):
    """Mark a demo person as having given their second factor in Slack just now, as the
    desk's code modal does: the desk works only for MASH staff who have (security re-reviews
    F3 and N1; test_slack_step_up.py drives the modal itself)."""
    from datetime import timedelta

    from mash.clock import utcnow
    from mash.models import Person

    def verify(key: str, *, minutes: float = 30) -> None:
        with context.sessions() as session:
            person = session.get(Person, demo.people[key])
            person.slack_verified_until = utcnow() + timedelta(minutes=minutes)
            session.commit()

    return verify


@pytest.fixture()
def staff_verified(verify_in_slack) -> None:
    for key in ("duty", "duty2", "manager"):
        verify_in_slack(key)


@pytest.fixture()
def deps(context: AppContext) -> SlackDeps:
    return SlackDeps.from_context(context)


@pytest.fixture()
def slack(context: AppContext) -> Iterator[SlackClient]:
    web = Starlette()
    assert mount(web, context) is not None
    with TestClient(web) as http:
        yield SlackClient(http)


class BackgroundDispatcher:
    def __init__(self, dispatcher: Dispatcher, interval: float) -> None:
        self.dispatcher = dispatcher
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=dispatcher.run_forever, kwargs={"interval": interval, "stop": self.stop},
            daemon=True,
        )

    def __enter__(self) -> BackgroundDispatcher:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


@pytest.fixture()
def slack_target(deps: SlackDeps, tmp_path: Path) -> SlackTarget:
    # A short timeout so a hanging stub is a failed attempt within the test's time; what
    # Slack cannot reach (portal users) goes to a file.
    client = make_client(deps.settings, timeout=0.5, retry_handlers=[])
    return SlackTarget(deps=deps, client=client, fallback=FileTarget(tmp_path / "fallback.jsonl"))


@pytest.fixture()
def dispatcher(context: AppContext, slack_target: SlackTarget) -> Dispatcher:
    return Dispatcher(
        factory=context.sessions,
        targets={"duty": slack_target, "duty_manager": slack_target, "originator": slack_target},
        settings=context.settings,
        policy=Policy(lease_seconds=5, base_backoff=0.05, max_backoff=0.3),
    )


@pytest.fixture()
def running(dispatcher: Dispatcher) -> Iterator[BackgroundDispatcher]:
    with BackgroundDispatcher(dispatcher, interval=0.05) as background:
        yield background
