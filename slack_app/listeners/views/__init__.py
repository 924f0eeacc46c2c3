from __future__ import annotations

from slack_bolt import App

from slack_app.blocks import OUTCOME_VIEW, REASSIGN_VIEW, STEP_UP_VIEW
from slack_app.listeners.views.outcome_submission import outcome_submission_callback
from slack_app.listeners.views.reassign_submission import reassign_submission_callback
from slack_app.listeners.views.step_up_submission import step_up_submission_callback


def register(app: App) -> None:
    app.view(OUTCOME_VIEW)(outcome_submission_callback)
    app.view(REASSIGN_VIEW)(reassign_submission_callback)
    app.view(STEP_UP_VIEW)(step_up_submission_callback)
