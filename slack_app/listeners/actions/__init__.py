from __future__ import annotations

import re

from slack_bolt import App

from slack_app.blocks import ACKNOWLEDGE, PICK_UP, REASSIGN, RECORD_OUTCOME, VIEW_CASE_TEXT
from slack_app.listeners.actions.acknowledge import acknowledge_callback
from slack_app.listeners.actions.pick_up import pick_up_callback
from slack_app.listeners.actions.reassign import reassign_callback
from slack_app.listeners.actions.record_outcome import record_outcome_callback
from slack_app.listeners.actions.unknown import unknown_action_callback
from slack_app.listeners.actions.view_case_text import view_case_text_callback


def register(app: App) -> None:
    app.action(ACKNOWLEDGE)(acknowledge_callback)
    app.action(PICK_UP)(pick_up_callback)
    app.action(RECORD_OUTCOME)(record_outcome_callback)
    app.action(REASSIGN)(reassign_callback)
    app.action(VIEW_CASE_TEXT)(view_case_text_callback)
    # Bolt runs the first listener that matches, so this catch-all must stay last.
    app.action(re.compile(".*"))(unknown_action_callback)
