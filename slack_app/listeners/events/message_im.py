from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from slack_app.conversation import handle_message


def message_im_callback(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """A direct message to the assistant (other message events are ignored inside)."""
    handle_message(context["deps"], client, body, mention=False)
