"""Fixtures for the Slack app: the local Slack API stub, a copy of the migrated demo SQLite per
test (`demo_db_url` from tests/conftest.py), the real chat relay (with Rasa down: port 9 on
loopback, so the relay's own safety path answers), the app mounted in a Starlette app behind a
test client, signed requests, and the outbox dispatcher with the Slack target running in a
background thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from fake_rasa import FakeRasa
from slack_helpers import BOT_TOKEN, DISCLOSURE, DSL, DUTY_CHANNEL, SIGNING_SECRET, SlackClient
from slack_stub import TEAM_ID, SlackStub
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from app_context import AppContext
from chat.relay import ChatRelay
from guidance.engine import Engine
from mash import escalations, twofactor
from mash.access import ChannelIdentity
from mash.db import make_engine, session_factory
from mash.demo import DemoDirectory, seed_demo
from mash.dispatcher import Dispatcher, Policy
from mash.models import Person
from mash.notifications import PortalInbox
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
def fresh_code(context: AppContext) -> Callable[[str], str]:
    """`fresh_code(slack_user)`: the next authenticator code the desk will accept from a demo
    person (the demo accounts share DEMO_TOTP_SECRET). Each desk action needs its own code
    (security re-review R6-1) and a code works once (the last accepted time step is kept), so
    this gives the earliest step after the last one used that the verifier still accepts (one
    step of drift either way), waiting for the next step when those are used up."""

    def code(slack_user: str) -> str:
        while True:
            with context.sessions() as session:
                last = session.execute(
                    select(Person.totp_last_step).where(Person.slack_user_id == slack_user)
                ).scalar_one()
            now = time.time()
            here = int(now) // twofactor.STEP_SECONDS
            # the previous step only while it stays acceptable until the request lands
            earliest = here - 1 if now % twofactor.STEP_SECONDS < 20 else here
            step = max(earliest, -1 if last is None else last + 1)
            if step <= here + 1:
                return pyotp.TOTP(twofactor.DEMO_TOTP_SECRET).at(step * twofactor.STEP_SECONDS)
            time.sleep(twofactor.STEP_SECONDS - now % twofactor.STEP_SECONDS + 0.1)

    return code


@pytest.fixture()
def deps(context: AppContext) -> SlackDeps:
    return SlackDeps.from_context(context)


@pytest.fixture()
def posted(context: AppContext, dispatcher: Dispatcher, stub: SlackStub) -> tuple[int, dict]:
    """An immediate escalation raised by Oakfield's DSL from Slack (suggested level 4, with a
    reason), posted to the duty channel by the dispatcher: (escalation id, the posted card)."""
    with context.sessions() as session:
        view = escalations.raise_escalation(
            session=session,
            identity=ChannelIdentity(channel="slack", sender=f"slack:{TEAM_ID}:{DSL}", user_id=DSL),
            message_id="slack:test-1", urgency="immediate", categories=["physical_abuse"],
            text=DISCLOSURE, suggested_level=4, level_reasons=["a disclosure of physical harm"],
        )  # fmt: skip
    assert dispatcher.run_once().delivered == 1
    [message] = [m for m in stub.messages(DUTY_CHANNEL) if not m.get("thread_ts")]
    return view.id, message


@pytest.fixture()
def card(posted: tuple[int, dict]) -> tuple[int, tuple[str, str]]:
    """The same escalation as `posted`: (escalation id, (channel, ts) of its card)."""
    escalation_id, message = posted
    return escalation_id, (DUTY_CHANNEL, message["ts"])


@pytest.fixture()
def rasa_answers(context: AppContext) -> Iterator[Callable[[Any], Any]]:
    """Rasa answered by the test instead of being down: call it with a handler (an httpx
    request in, a response out) or with the list of messages Rasa should answer every time."""
    original, clients = context.relay.http, []

    def answer(handler_or_messages: Any) -> Any:
        handler = handler_or_messages
        if not callable(handler):
            messages = list(handler_or_messages)

            def handler(_request: httpx.Request) -> httpx.Response:
                return httpx.Response(200, json=messages)

        clients.append(httpx.Client(transport=httpx.MockTransport(handler)))
        context.relay.http = clients[-1]
        return handler

    yield answer
    context.relay.http = original
    for client in clients:
        client.close()


@pytest.fixture()
def rasa(rasa_answers: Callable[[Any], Any], settings: Settings) -> FakeRasa:
    """Rasa's signed channel with one open form per conversation (tests/fake_rasa.py)."""
    return rasa_answers(FakeRasa(settings.channel_secret))


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
        targets={"duty": slack_target, "duty_manager": slack_target, "originator": slack_target,
                 "originator_portal": PortalInbox(context.sessions)},
        settings=context.settings,
        policy=Policy(lease_seconds=5, base_backoff=0.05, max_backoff=0.3),
    )


@pytest.fixture()
def running(dispatcher: Dispatcher) -> Iterator[BackgroundDispatcher]:
    with BackgroundDispatcher(dispatcher, interval=0.05) as background:
        yield background
