"""Test helpers for the Slack app: the demo people's Slack ids, and a client that sends
requests to /slack/events the way Slack does (signed; events as JSON, interactivity and
commands as forms)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_stub import TEAM_ID, SlackStub
from starlette.testclient import TestClient

STEP_UP_VIEW = "mash_step_up_view"  # the code modal of acknowledge, pick up, view excerpt
BOT_TOKEN = "test-bot-token"
SIGNING_SECRET = "test-signing-secret"
DUTY_CHANNEL = "CDUTYDESK1"
DSL = "UDEMODSL01"  # Dana Price, Oakfield's DSL (mash/demo.py)
DUTY = "UDEMODUTY1"  # Sam Okafor, MASH social worker
DUTY2 = "UDEMODUTY2"
MANAGER = "UDEMOMGR01"
STRANGER = "UNOTLINKED"
DISCLOSURE = "She told me her dad hit her with a belt last night and she is scared to go home."


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

    def dm(self, user: str, text: str, *, ts: str, thread_ts: str | None = None,
           event_id: str | None = None, retry: int = 0):
        """A direct message to the app: top level, or a reply in the thread of `thread_ts`."""
        event = {
            "type": "message",
            "channel_type": "im",
            "channel": f"D{user}",
            "user": user,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            **({"thread_ts": thread_ts} if thread_ts else {}),
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


def opened_views(stub: SlackStub) -> list[dict[str, Any]]:
    """Every modal the app opened, oldest first."""
    views = [call.params["view"] for call in stub.served("views.open")]
    return [json.loads(v) if isinstance(v, str) else v for v in views]


def code_values(code: str) -> dict[str, Any]:
    """A modal's code input, as Slack submits it."""
    return {"code": {"code": {"type": "plain_text_input", "value": code}}}


def press_with_code(
    slack: SlackClient, stub: SlackStub, user: str, action_id: str, value: Any, *,
    card: tuple[str, str], code: str,
):
    """Press a button that asks for the code (acknowledge, pick up, view excerpt), then
    submit `code` in the code modal it opened: the submission's response."""
    before = len(opened_views(stub))
    slack.press(user, action_id, value, card=card)
    views = stub.wait_for(lambda: opened_views(stub)[before:])
    assert len(views) == 1 and views[0]["callback_id"] == STEP_UP_VIEW, views
    return slack.submit(user, STEP_UP_VIEW, code_values(code), views[0]["private_metadata"])
