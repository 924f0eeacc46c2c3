from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from slack_app.listeners.actions.common import ask_for_code


def view_case_text_callback(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """View excerpt / View request: the case text, for MASH staff only, after their code. The
    card carries none; the code modal's submission reads it through the service (access check,
    audited as the presser) and shows it in the modal."""
    ack()
    ask_for_code(context["desk"], client, body, action="view_excerpt")
