"""All listeners, grouped by kind as in the slack-bolt starter template."""

from __future__ import annotations

from slack_bolt import App

from slack_app.listeners import actions, commands, events, views


def register_listeners(app: App) -> None:
    events.register(app)
    actions.register(app)  # the catch-all for unknown action ids is registered last
    views.register(app)
    commands.register(app)
