from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from mash.errors import MashError
from slack_app.blocks import outcome_modal
from slack_app.listeners.actions.common import authorised, open_modal, tell


def record_outcome_callback(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """Record outcome: open the modal with the outcome codes, the level and route decided and
    a note."""
    ack()
    desk = context["desk"]
    pressed = authorised(desk, client, body, action="record_outcome")
    if pressed is None:
        return
    press, actor, subject = pressed
    try:
        reference = desk.form_reference(actor, subject, form="record_outcome")
    except MashError as error:
        tell(client, press, str(error))
        return
    open_modal(client, press, outcome_modal(subject, reference, press.metadata(subject),
                                            desk.level_names()))
