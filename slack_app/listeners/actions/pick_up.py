from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from slack_app.listeners.actions.common import ask_for_code


def pick_up_callback(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """Pick up: this worker takes it on (acknowledging it too if need be). It asks for the
    code first; the code modal's submission picks it up."""
    ack()
    ask_for_code(context["desk"], client, body, action="pick_up")
