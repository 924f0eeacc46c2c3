from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from mash.errors import MashError
from slack_app.blocks import outcome_modal
from slack_app.listeners.actions.common import authorised, tell


def record_outcome_callback(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """Record outcome: open the modal with the outcome codes and a note."""
    ack()
    desk = context["desk"]
    pressed = authorised(desk, client, body, action="record_outcome")
    if pressed is None:
        return
    press, actor, subject = pressed
    try:
        reference = desk.reference(actor, subject)
    except MashError as error:
        tell(client, press, str(error))
        return
    try:
        client.views_open(
            trigger_id=press.trigger_id,
            view=outcome_modal(subject, reference, press.metadata(subject)),
        )
    except (SlackApiError, OSError) as error:
        tell(client, press, f"Slack would not open the form ({error}); please try again.")
