from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from mash.access import Actor
from mash.errors import MashError
from slack_app import blocks
from slack_app.blocks import CODE_ACTIONS, Subject
from slack_app.desk import DutyDesk, Refused
from slack_app.listeners.views.common import (
    read_action,
    read_metadata,
    refuse_malformed,
    submitter,
    value_of,
)
from slack_app.store import Card

# The audit name of a refused code modal whose action is missing or not one it offers.
MALFORMED_CODE_FORM = "step_up"


def step_up_submission_callback(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """The code modal of acknowledge, pick up and view excerpt: the code is checked and the
    action done before ack (Slack waits up to 3 s; both take milliseconds), so a wrong code
    is shown in the modal and a right one answers with the result."""
    desk: DutyDesk = context["desk"]
    user = submitter(body)
    subject: Subject | None = None
    card: Card | None = None
    try:
        subject, card = read_metadata(view)
        action = read_action(view, CODE_ACTIONS)
    except ValueError as error:
        shown = refuse_malformed(desk, user, action=MALFORMED_CODE_FORM, subject=subject,
                                 problem=str(error))
        ack(response_action="errors", errors={"code": shown})
        return
    try:
        actor = desk.require_code(user, value_of(view, "code", "code"), action=action,
                                  subject=subject)
    except Refused as refusal:
        ack(response_action="errors", errors={"code": str(refusal)})
        return
    if action == "view_excerpt":
        ack(response_action="update", view=case_text_view(desk, actor, subject))
        return
    try:
        if action == "acknowledge":
            desk.acknowledge(actor, subject)
        else:
            desk.pick_up(actor, subject)
    except MashError as error:
        ack(response_action="update", view=blocks.note_modal(f"{error} Nothing was changed."))
    else:
        ack()  # done: the modal closes and the card shows it
    # Redraw either way: after a refusal (e.g. someone else picked it up) the card shows why.
    desk.try_refresh_card(client, subject, fallback=card)


def case_text_view(desk: DutyDesk, actor: Actor, subject: blocks.Subject) -> dict[str, Any]:
    """The modal with the item's case text, read as the worker (access check, audited)."""
    try:
        reference, text = desk.case_text(actor, subject)
    except MashError as error:
        return blocks.note_modal(str(error))
    if text is None:
        return blocks.note_modal(
            f"The case text of {reference} was removed after the retention period."
        )
    label = "Excerpt" if subject.subject_type == "escalation" else "Request"
    return blocks.case_text_modal(reference, label, text)
