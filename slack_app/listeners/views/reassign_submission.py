from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from mash.errors import MashError
from slack_app.desk import USED_CODE, CodeRefused, Refused
from slack_app.listeners.views.common import (
    read_metadata,
    refuse_malformed,
    submitter,
    value_of,
)


def reassign_submission_callback(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """Reassign submitted: errors go back into the modal (so ack comes after the service)."""
    desk = context["desk"]
    user = submitter(body)
    try:
        subject, card = read_metadata(view)
    except ValueError as error:
        shown = refuse_malformed(desk, user, action="reassign", subject=None, problem=str(error))
        ack(response_action="errors", errors={"assignee": shown})
        return
    # The role before the fields (I-2); require_code checks it again with the code.
    try:
        desk.require_mash(user, action="reassign", subject=subject)
    except Refused as refusal:
        ack(response_action="errors", errors={"assignee": str(refusal)})
        return
    try:
        to_user_id = int(value_of(view, "assignee", "person") or "")
    except ValueError:
        ack(response_action="errors", errors={"assignee": "Choose a person."})
        return
    # The code first (checked and used up), so a wrong one changes nothing.
    try:
        actor = desk.require_code(user, value_of(view, "code", "code"), action="reassign",
                                  subject=subject)
    except CodeRefused as refusal:
        ack(response_action="errors", errors={"code": str(refusal)})
        return
    except Refused as refusal:
        ack(response_action="errors", errors={"assignee": str(refusal)})
        return
    try:
        desk.reassign(actor, subject, to_user_id=to_user_id)
    except MashError as error:
        ack(response_action="errors", errors={"assignee": str(error), "code": USED_CODE})
        return
    ack()
    desk.try_refresh_card(client, subject, fallback=card)
