from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from slack_app.conversation import handle_message


def app_mention_callback(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """@assistant in a channel: answered in the message's thread."""
    handle_message(context["deps"], client, body, mention=True)
