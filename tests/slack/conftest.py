"""Fixtures for the Slack app: the local Slack API stub, a migrated demo SQLite per test, the
real chat relay (with Rasa down: port 9 on loopback, so the relay's own safety path answers),
the app mounted in a Starlette app behind a test client, signed requests, and the outbox
dispatcher with the Slack target running in a background thread."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from app_context import AppContext
from chat.relay import ChatRelay
from guidance.engine import Engine
from guidance.pack import load_pack
from mash.db import make_engine, session_factory
from mash.demo import DemoDirectory, seed_demo
from mash.dispatcher import Dispatcher, Policy
from mash.migrate import upgrade
from mash.targets import FileTarget
from settings import Settings
from slack_app.asgi import mount
from slack_app.deps import SlackDeps, make_client
from slack_app.target import SlackTarget
from slack_stub import TEAM_ID, SlackStub

BOT_TOKEN = "test-bot-token"
SIGNING_SECRET = "test-signing-secret"
DUTY_CHANNEL = "CDUTYDESK1"
DSL = "UDEMODSL01"  # Dana Price, Oakfield's DSL (mash/demo.py)
DUTY = "UDEMODUTY1"  # Sam Okafor, MASH social worker
DUTY2 = "UDEMODUTY2"
MANAGER = "UDEMOMGR01"
STRANGER = "UNOTLINKED"
DISCLOSURE = "She told me her dad hit her with a belt last night and she is scared to go home."


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine(load_pack(Settings().pack_path))


@pytest.fixture(scope="session")
def template_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("slack_db") / "template.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    db = make_engine(url=url)
    seed_demo(session_factory(db), settings=Settings(environment="test", database_url=url))
    db.dispose()
    return path


@pytest.fixture()
def stub() -> Iterator[SlackStub]:
    server = SlackStub(token=BOT_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture()
def settings(template_db: Path, tmp_path: Path, stub: SlackStub) -> Settings:
    path = tmp_path / "app.db"
    shutil.copyfile(template_db, path)
    return Settings(
        environment="test",
        database_url=f"sqlite:///{path}",
        var_dir=tmp_path,
        rasa_url="http://127.0.0.1:9",  # nothing listens: Rasa is reliably down
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=stub.api_url,
        slack_duty_channel=DUTY_CHANNEL,
    )


@pytest.fixture()
def context(settings: Settings, engine: Engine) -> Iterator[AppContext]:
    db = make_engine(settings)
    sessions = session_factory(db)
    relay = ChatRelay(
        settings=settings, engine=engine, session_factory=sessions, http=httpx.Client(timeout=2)
    )
    ctx = AppContext(settings=settings, db=db, sessions=sessions, guidance=engine, relay=relay)
    yield ctx
    ctx.close()


@pytest.fixture()
def demo(context: AppContext) -> DemoDirectory:
    return seed_demo(context.sessions, settings=context.settings)  # seeded: describes it


@pytest.fixture()
def deps(context: AppContext) -> SlackDeps:
    return SlackDeps.from_context(context)


class SlackClient:
    """Sends requests to /slack/events the way Slack does: signed, form or JSON."""

    def __init__(self, http: TestClient, secret: str = SIGNING_SECRET) -> None:
        self.http = http
        self.secret = secret
        self._n = 0

    def headers(self, body: str, *, timestamp: int | None = None, secret: str | None = None):
        ts = str(int(time.time()) if timestamp is None else timestamp)
        base = f"v0:{ts}:{body}".encode()
        digest = hmac.new((secret or self.secret).encode(), base, hashlib.sha256).hexdigest()
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}

    def post(self, body: str, content_type: str, *, extra: dict | None = None, **sign: Any):
        headers = {"Content-Type": content_type, **self.headers(body, **sign), **(extra or {})}
        return self.http.post("/slack/events", content=body.encode(), headers=headers)

    def event(self, event: dict[str, Any], *, event_id: str | None = None, retry: int = 0):
        self._n += 1
        body = {
            "token": "legacy-unused",
            "team_id": TEAM_ID,
            "api_app_id": "ASTUB00001",
            "type": "event_callback",
            "event_id": event_id or f"Ev{self._n:08d}",
            "event_time": int(time.time()),
            "event": event,
        }
        extra = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return self.post(
            json.dumps(body), "application/json", extra=extra if retry else None
        )

    def dm(self, user: str, text: str, *, ts: str, event_id: str | None = None, retry: int = 0):
        event = {
            "type": "message",
            "channel_type": "im",
            "channel": f"D{user}",
            "user": user,
            "text": text,
            "ts": ts,
            "event_ts": ts,
        }
        return self.event(event, event_id=event_id, retry=retry)

    def interactive(self, payload: dict[str, Any]):
        return self.post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )

    def press(self, user: str, action_id: str, value: Any, *, card: tuple[str, str]):
        channel, ts = card
        return self.interactive(
            {
                "type": "block_actions",
                "team": {"id": TEAM_ID},
                "user": {"id": user, "team_id": TEAM_ID},
                "api_app_id": "ASTUB00001",
                "trigger_id": f"trigger-{user}-{action_id}",
                "container": {"type": "message", "channel_id": channel, "message_ts": ts},
                "channel": {"id": channel},
                "message": {"ts": ts, "type": "message"},
                "actions": [
                    {
                        "type": "button",
                        "action_id": action_id,
                        "block_id": "desk",
                        "value": value if isinstance(value, str) else json.dumps(value),
                    }
                ],
            }
        )

    def submit(self, user: str, callback_id: str, values: dict, private_metadata: str):
        return self.interactive(
            {
                "type": "view_submission",
                "team": {"id": TEAM_ID},
                "user": {"id": user, "team_id": TEAM_ID},
                "api_app_id": "ASTUB00001",
                "view": {
                    "id": "VSTUB00001",
                    "type": "modal",
                    "callback_id": callback_id,
                    "private_metadata": private_metadata,
                    "state": {"values": values},
                },
            }
        )

    def command(self, user: str, text: str, response_url: str):
        return self.post(
            urlencode(
                {
                    "token": "legacy-unused",
                    "team_id": TEAM_ID,
                    "user_id": user,
                    "command": "/mash",
                    "text": text,
                    "response_url": response_url,
                    "trigger_id": "trigger-command",
                    "channel_id": "CSOMEWHERE",
                }
            ),
            "application/x-www-form-urlencoded",
        )


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
