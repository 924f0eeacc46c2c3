"""The Bolt app factory. Nothing is built at import time.

HTTP mode verifies every request's signature with the signing secret (Bolt's
RequestVerification: a bad signature or a timestamp more than five minutes off is refused with
401). Socket Mode (when SLACK_APP_TOKEN is set and the app is run on its own) needs no public
URL and no signing secret. The WebClient's base URL is SLACK_API_URL, so a local stub can stand
in for Slack. Bolt calls auth.test on the first request (not at start-up, so the portal starts
even when Slack is unreachable) and remembers the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from slack_app.deps import SlackDeps, make_client
from slack_app.desk import DutyDesk
from slack_app.listeners import register_listeners

log = logging.getLogger("slack_app")


def build_app(
    deps: SlackDeps, *, client: WebClient | None = None, socket_mode: bool = False
) -> App:
    settings = deps.settings
    if not settings.slack_bot_token:
        raise ValueError("the Slack app needs SLACK_BOT_TOKEN")
    if not socket_mode and not settings.slack_signing_secret:
        raise ValueError("the Slack app in HTTP mode needs SLACK_SIGNING_SECRET")
    app = App(
        name="mash-guidance",
        client=client or make_client(settings),
        signing_secret=settings.slack_signing_secret or None,
        request_verification_enabled=not socket_mode,
        token_verification_enabled=False,  # auth.test lazily, on the first request
        logger=logging.getLogger("slack_app.bolt"),
    )
    desk = DutyDesk(deps)

    def inject(context: BoltContext, next: Callable[[], Any]) -> None:  # noqa: A002 - Bolt's name
        # Listeners find their dependencies in the context instead of module globals.
        context["deps"] = deps
        context["desk"] = desk
        next()

    app.use(inject)
    register_listeners(app)
    app.error(handle_error)
    return app


def handle_error(error: Exception, body: dict[str, Any], logger: logging.Logger) -> None:
    """Global error handler: log what failed, never the message text."""
    kind = body.get("type") if isinstance(body, dict) else None
    event = (body.get("event") or {}).get("type") if isinstance(body, dict) else None
    logger.error("Slack listener failed (%s %s): %r", kind, event or "", error, exc_info=error)
