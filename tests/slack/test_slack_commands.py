"""`/mash queue | stats | contact <school>`, answered through the response_url, and Slack
left off when no tokens are configured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from slack_helpers import DISCLOSURE, DSL, DUTY, STRANGER
from slack_stub import TEAM_ID
from starlette.applications import Starlette

from mash import escalations
from mash.access import ChannelIdentity
from settings import Settings
from slack_app.asgi import mount

ROOT = Path(__file__).resolve().parents[2]


def ask(slack, stub, user: str, text: str) -> str:
    before = len(stub.calls())
    response = slack.command(user, text, response_url=stub.url + f"response/{len(stub.calls())}")
    assert response.status_code == 200
    [answer] = stub.wait_for(
        lambda: [c for c in stub.calls()[before:] if c.method.startswith("/response/")]
    )
    assert answer.params["response_type"] == "ephemeral"
    return answer.params["text"]


def raise_one(context, urgency: str = "immediate") -> None:
    with context.sessions() as session:
        escalations.raise_escalation(
            session=session,
            identity=ChannelIdentity(channel="slack", sender=f"slack:{TEAM_ID}:{DSL}", user_id=DSL),
            message_id=f"slack:cmd-{urgency}",
            urgency=urgency,
            categories=["domestic_abuse"],
            text=DISCLOSURE,
        )


def test_queue_lists_open_escalations_most_urgent_first(slack, stub, context):
    assert ask(slack, stub, DUTY, "queue") == "No open escalations."
    raise_one(context, "concern")
    raise_one(context, "immediate")
    text = ask(slack, stub, DUTY, "queue")
    assert text.index("E-000002* immediate") < text.index("E-000001* concern")
    assert "Oakfield" in text
    assert "Domestic abuse in the child's home" in text and "domestic_abuse" not in text


def test_stats_for_mash_staff_and_not_for_schools(slack, stub, context):
    raise_one(context)
    expected = "1 contact (1 escalation: 1 immediate; 0 consultations)"
    assert expected in ask(slack, stub, DUTY, "stats")
    assert "figures" in ask(slack, stub, DSL, "stats").lower()  # refused by the service


def test_contact_finds_the_schools_named_contact(slack, stub):
    text = ask(slack, stub, DSL, "contact oakfield")
    assert "Sam Okafor" in text and "school's own" in text and "0151 606 2008" in text
    assert "Alex Reid" in ask(slack, stub, DSL, "contact Riverside High")  # the area's contact
    assert "No school matches" in ask(slack, stub, DSL, "contact Hogwarts")
    assert "three letters" in ask(slack, stub, DSL, "contact x")


def test_help_unknown_verbs_and_unregistered_users(slack, stub):
    assert "/mash queue" in ask(slack, stub, DUTY, "")
    assert "I don't know `/mash launch`" in ask(slack, stub, DUTY, "launch <!channel>")
    assert "can't find your Slack account" in ask(slack, stub, STRANGER, "queue")


def test_without_tokens_slack_stays_off_and_says_so(context, tmp_path):
    off = Settings(environment="test", database_url=context.settings.database_url)
    context.settings, original = off, context.settings
    try:
        assert mount(Starlette(), context) is None
    finally:
        context.settings = original
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("SLACK_")
    } | {"APP_ENV": "test", "VAR_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "slack_app"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "Slack is off" in done.stdout
    check = subprocess.run(
        [sys.executable, "-m", "slack_app", "--check"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=60,
    )
    assert check.returncode == 3
    on = env | {"SLACK_BOT_TOKEN": "test-bot-token", "SLACK_SIGNING_SECRET": "test-secret"}
    check = subprocess.run(
        [sys.executable, "-m", "slack_app", "--check"], cwd=ROOT, env=on, capture_output=True,
        text=True, timeout=60,
    )
    assert check.returncode == 0 and "HTTP events" in check.stdout
