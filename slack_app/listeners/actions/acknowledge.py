from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from slack_app.listeners.actions.common import ask_for_code


def acknowledge_callback(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """Acknowledge: the duty desk has seen it (stops the reminder clock). It asks for the code
    first; the code modal's submission acknowledges."""
    ack()
    ask_for_code(context["desk"], client, body, action="acknowledge")
