from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from mash.errors import MashError
from slack_app import blocks
from slack_app.listeners.actions.common import authorised, open_modal, tell


def view_case_text_callback(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """View excerpt / View request: the case text in a modal, for MASH staff only. The card
    carries none; this read goes through the service (access check, audited as the presser)."""
    ack()
    desk = context["desk"]
    pressed = authorised(desk, client, body, action="view_excerpt")
    if pressed is None:
        return
    press, actor, subject = pressed
    try:
        reference, text = desk.case_text(actor, subject)
    except MashError as error:
        tell(client, press, str(error))
        return
    if text is None:
        tell(client, press, f"The case text of {reference} was removed after the retention period.")
        return
    label = "Excerpt" if subject.subject_type == "escalation" else "Request"
    open_modal(client, press, blocks.case_text_modal(reference, label, text))
