from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from mash.errors import MashError
from slack_app.blocks import reassign_modal
from slack_app.listeners.actions.common import authorised, open_modal, tell


def reassign_callback(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """Reassign: open a modal listing the MASH staff to hand the escalation to."""
    ack()
    desk = context["desk"]
    pressed = authorised(desk, client, body, action="reassign")
    if pressed is None:
        return
    press, actor, subject = pressed
    if subject.subject_type != "escalation":
        tell(client, press, "Consultations cannot be reassigned from Slack; nothing was changed.")
        return
    try:
        reference = desk.form_reference(actor, subject, form="reassign")
        people = desk.mash_people(actor)
    except MashError as error:
        tell(client, press, str(error))
        return
    open_modal(client, press, reassign_modal(reference, people, press.metadata(subject)))
