from __future__ import annotations

from slack_bolt import App

from slack_app.listeners.commands.mash_command import mash_command_callback


def register(app: App) -> None:
    app.command("/mash")(mash_command_callback)
