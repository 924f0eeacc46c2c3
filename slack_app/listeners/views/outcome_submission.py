from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from mash import levels
from mash.errors import InvalidInput, MashError
from slack_app.blocks import NOTE_INPUT_MAX
from slack_app.desk import USED_CODE, CodeRefused, Refused
from slack_app.listeners.views.common import (
    read_metadata,
    refuse_malformed,
    submitter,
    value_of,
)

FIELD_BLOCKS = {"outcome_code": "outcome", "note": "note", "advice": "note",
                "decided_level": "level", "decided_route": "route"}


def outcome_submission_callback(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """Record outcome submitted. Validation errors go back into the modal (ack with errors),
    so the service runs before ack here: Slack waits up to 3 s, a service call takes ms."""
    desk = context["desk"]
    user = submitter(body)
    try:
        subject, card = read_metadata(view)
    except ValueError as error:
        shown = refuse_malformed(desk, user, action="record_outcome", subject=None,
                                 problem=str(error))
        ack(response_action="errors", errors={"note": shown})
        return
    first_block = "outcome" if subject.subject_type == "escalation" else "note"
    # The role before the fields, so a stranger's forged form is refused (and audited) even
    # when it would fail validation (I-2); require_code checks it again with the code.
    try:
        desk.require_mash(user, action="record_outcome", subject=subject)
    except Refused as refusal:
        ack(response_action="errors", errors={first_block: str(refusal)})
        return
    note = value_of(view, "note", "text") or ""
    if len(note) > NOTE_INPUT_MAX:
        ack(
            response_action="errors",
            errors={
                "note": f"The note is {len(note):,} characters; the limit is {NOTE_INPUT_MAX:,}. "
                "Nothing was recorded."
            },
        )
        return
    code = value_of(view, "outcome", "code")
    if subject.subject_type == "escalation" and not code:
        ack(response_action="errors", errors={"outcome": "Choose an outcome."})
        return
    # The level and route decided (optional), checked before the code is used up: a bad value
    # goes back into the modal, which keeps everything else as it was typed.
    try:
        decided_level = levels.parse_level(value_of(view, "level", "level"))
        decided_level, decided_route = levels.checked_decision(
            decided_level, value_of(view, "route", "route")
        )
    except InvalidInput as error:
        ack(response_action="errors",
            errors={FIELD_BLOCKS.get(error.field or "", "level"): str(error)})
        return
    # The code first (checked and used up), so a wrong one records nothing.
    try:
        actor = desk.require_code(user, value_of(view, "code", "code"),
                                  action="record_outcome", subject=subject)
    except CodeRefused as refusal:
        ack(response_action="errors", errors={"code": str(refusal)})
        return
    except Refused as refusal:
        ack(response_action="errors", errors={first_block: str(refusal)})
        return
    try:
        desk.record_outcome(actor, subject, code=code or "", note=note,
                            decided_level=decided_level, decided_route=decided_route)
    except InvalidInput as error:
        block = FIELD_BLOCKS.get(error.field or "", first_block)
        ack(response_action="errors", errors={block: str(error), "code": USED_CODE})
        return
    except MashError as error:
        ack(
            response_action="errors",
            errors={first_block: f"{error} Nothing was recorded.", "code": USED_CODE},
        )
        return
    ack()
    desk.try_refresh_card(client, subject, fallback=card)
