from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from mash.errors import MashError
from slack_app.listeners.actions.common import authorised, tell


def acknowledge_callback(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """Acknowledge: the duty desk has seen it (stops the reminder clock)."""
    ack()
    desk = context["desk"]
    pressed = authorised(desk, client, body, action="acknowledge")
    if pressed is None:
        return
    press, actor, subject = pressed
    try:
        desk.acknowledge(actor, subject)
    except MashError as error:
        tell(client, press, f"{error} Nothing was changed.")
    # Redraw either way: after a refusal (e.g. someone else picked it up) the card shows why.
    desk.try_refresh_card(client, subject, fallback=press.card)
