"""The Bolt app factory. Nothing is built at import time.

HTTP mode verifies every request's signature with the signing secret before anything else
reads the body (slack_app.verification: a bad signature, or a timestamp more than five minutes
off or not a number, is refused with 401 and only the body's length is logged); then every
string of the payload is cleaned (chat.inputs). Socket Mode (when SLACK_APP_TOKEN is set and
the app is run on its own) needs no public URL and no signing secret. The WebClient's base URL
is SLACK_API_URL, so a local stub can stand in for Slack. Bolt calls auth.test on the first
request (not at start-up, so the portal starts even when Slack is unreachable) and remembers
the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest
from slack_sdk import WebClient

from chat.input_values import clean_values
from slack_app.deps import SlackDeps, make_client
from slack_app.desk import DutyDesk
from slack_app.listeners import register_listeners
from slack_app.verification import QuietRequestVerification

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
        # Our own check replaces Bolt's (which logs the body of a badly signed request).
        request_verification_enabled=False,
        before_authorize=(
            None if socket_mode else QuietRequestVerification(settings.slack_signing_secret)
        ),
        token_verification_enabled=False,  # auth.test lazily, on the first request
        logger=logging.getLogger("slack_app.bolt"),
    )
    desk = DutyDesk(deps)

    def inject(context: BoltContext, next: Callable[[], Any]) -> None:  # noqa: A002 - Bolt's name
        # Listeners find their dependencies in the context instead of module globals.
        context["deps"] = deps
        context["desk"] = desk
        next()

    def clean_input(req: BoltRequest, next: Callable[[], Any]) -> None:  # noqa: A002
        # Every string of the (verified) payload, before any listener reads it: messages,
        # slash commands and modal submissions alike (chat.inputs: replaced, never rejected).
        req.body = clean_values(req.body)
        next()

    app.use(clean_input)
    app.use(inject)
    register_listeners(app)
    app.error(handle_error)
    return app


def handle_error(error: Exception, body: dict[str, Any], logger: logging.Logger) -> None:
    """Global error handler: log what failed, never the message text."""
    kind = body.get("type") if isinstance(body, dict) else None
    event = (body.get("event") or {}).get("type") if isinstance(body, dict) else None
    # The error's type, not its repr: a UnicodeError's repr carries the whole text it choked on.
    logger.error(
        "Slack listener failed (%s %s): %s", kind, event or "", type(error).__name__,
        exc_info=error,
    )
