from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext

from slack_app import blocks
from slack_app.desk import STEPPED_UP, Refused
from slack_app.listeners.views.common import value_of


def step_up_submission_callback(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext
) -> None:
    """The worker's code for the desk's step-up: checked before ack (Slack waits up to 3 s),
    a wrong one shown in the modal, the right one answered with a note to press again."""
    desk = context["desk"]
    code = value_of(view, "code", "code")
    if not isinstance(code, str) or not code.strip():
        ack(response_action="errors", errors={"code": "Type the code from your app."})
        return
    try:
        message = desk.step_up((body.get("user") or {}).get("id", ""), code)
    except Refused as refusal:
        ack(response_action="errors", errors={"code": str(refusal)})
        return
    if message != STEPPED_UP:
        ack(response_action="errors", errors={"code": message})
        return
    ack(response_action="update", view=blocks.step_up_done_modal(message))
