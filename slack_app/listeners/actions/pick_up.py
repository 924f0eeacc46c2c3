from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from mash.errors import MashError
from slack_app.listeners.actions.common import authorised, tell


def pick_up_callback(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """Pick up: this worker takes it on (acknowledging it too if need be)."""
    ack()
    desk = context["desk"]
    pressed = authorised(desk, client, body, action="pick_up")
    if pressed is None:
        return
    press, actor, subject = pressed
    try:
        desk.pick_up(actor, subject)
    except MashError as error:
        tell(client, press, f"{error} Nothing was changed.")
    # Redraw either way: after a refusal (e.g. someone else picked it up) the card shows why.
    desk.try_refresh_card(client, subject, fallback=press.card)
