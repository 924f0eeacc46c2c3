from __future__ import annotations

from slack_bolt import App

from slack_app.listeners.events.app_mention import app_mention_callback
from slack_app.listeners.events.message_im import message_im_callback


def register(app: App) -> None:
    app.event("message")(message_im_callback)
    app.event("app_mention")(app_mention_callback)
