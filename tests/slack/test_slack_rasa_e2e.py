"""Slow: the Slack app in front of the real Rasa and action server (the bot's end-to-end
stack, `rasa_stack` in tests/conftest.py), with the Slack API stub and the dispatcher.

A disclosure sent as a Slack DM gets Rasa's own safety message first in its thread, and the
relay and the action server, both raising on the same message id, make exactly one escalation
and one duty channel post."""

from __future__ import annotations

import time

import httpx
import pytest
from slack_helpers import BOT_TOKEN, DISCLOSURE, DSL, DUTY_CHANNEL, SIGNING_SECRET, SlackClient
from starlette.applications import Starlette
from starlette.testclient import TestClient

from app_context import AppContext
from chat.relay import ChatRelay
from mash.db import make_engine, session_factory
from mash.dispatcher import Dispatcher, Policy
from settings import Settings
from slack_app.asgi import mount
from slack_app.deps import SlackDeps, make_client
from slack_app.target import SlackTarget

pytestmark = pytest.mark.slow


def test_a_slack_disclosure_through_the_real_rasa(rasa_stack, stub, guidance_engine, tmp_path):
    settings = Settings(
        environment="test",
        database_url=rasa_stack.db_url,
        var_dir=tmp_path,
        rasa_url=f"http://127.0.0.1:{rasa_stack.rasa_port}",
        channel_secret=rasa_stack.channel_secret,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=stub.api_url,
        slack_duty_channel=DUTY_CHANNEL,
    )
    db = make_engine(settings)
    sessions = session_factory(db)
    relay = ChatRelay(settings=settings, engine=guidance_engine, session_factory=sessions,
                      http=httpx.Client(timeout=30))
    context = AppContext(settings=settings, db=db, sessions=sessions, guidance=guidance_engine,
                         relay=relay)
    deps = SlackDeps.from_context(context)
    target = SlackTarget(deps=deps, client=make_client(settings, timeout=2, retry_handlers=[]))
    dispatcher = Dispatcher(factory=sessions, targets={"*": target}, settings=settings,
                            policy=Policy(base_backoff=0.05, max_backoff=0.3))
    web = Starlette()
    mount(web, context)
    try:
        with TestClient(web) as http:
            ts = f"{time.time():.6f}"
            assert SlackClient(http).dm(DSL, DISCLOSURE, ts=ts).status_code == 200
            [reply] = stub.wait_for(lambda: stub.replies(f"D{DSL}", ts), timeout=60)
        assert reply["text"].index("999") < 200  # Rasa's safety message comes first
        for _ in range(3):
            dispatcher.run_once()
        assert len(rasa_stack.escalations()) == 1
        assert len([m for m in stub.messages(DUTY_CHANNEL) if not m.get("thread_ts")]) == 1
    finally:
        context.close()
