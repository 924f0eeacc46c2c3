from __future__ import annotations

from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from slack_app.blocks import esc
from slack_app.listeners.actions.common import read_press, tell


def unknown_action_callback(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """Any button this app does not know (an old message, a crafted payload): say so."""
    ack()
    actions = body.get("actions") or [{}]
    action_id = actions[0].get("action_id") if isinstance(actions[0], dict) else None
    tell(
        client,
        read_press(body),
        f"I don't know the button `{esc(action_id or '?')}`, so nothing was changed.",
    )
