"""`python -m mash dispatch` puts Slack in front when a bot token is configured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from slack_helpers import BOT_TOKEN, DISCLOSURE, DSL, DUTY_CHANNEL
from slack_stub import TEAM_ID

from mash import escalations
from mash.access import ChannelIdentity

ROOT = Path(__file__).resolve().parents[2]


def test_the_dispatch_command_delivers_to_the_duty_channel(context, stub, tmp_path):
    with context.sessions() as session:
        escalations.raise_escalation(
            session=session,
            identity=ChannelIdentity(channel="slack", sender=f"slack:{TEAM_ID}:{DSL}", user_id=DSL),
            message_id="slack:cli-1",
            urgency="immediate",
            categories=["physical_abuse"],
            text=DISCLOSURE,
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")} | {
        "APP_ENV": "test",
        "VAR_DIR": str(tmp_path),
        "DATABASE_URL": context.settings.database_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": stub.api_url,
        "SLACK_DUTY_CHANNEL": DUTY_CHANNEL,
    }
    done = subprocess.run(
        [sys.executable, "-m", "mash", "dispatch", "--once"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert '"delivered": 1' in done.stdout
    [card] = stub.messages(DUTY_CHANNEL)
    assert "E-000001" in card["text"]
