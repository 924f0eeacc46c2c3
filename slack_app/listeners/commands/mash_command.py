from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond

from slack_app import mash_command


def mash_command_callback(
    ack: Ack, command: dict[str, Any], respond: Respond, context: BoltContext
) -> None:
    """`/mash queue | stats | contact <school>`, answered to the caller only."""
    ack()
    text = mash_command.run(context["deps"], command.get("user_id", ""), command.get("text", ""))
    respond(response_type="ephemeral", text=text)
