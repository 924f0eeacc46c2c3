"""Serving the Bolt app over ASGI: mounted in the portal, or in a small app of its own."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from slack_app.app import build_app
from slack_app.deps import SlackDeps

if TYPE_CHECKING:
    from app_context import AppContext

log = logging.getLogger("slack_app")
EVENTS_PATH = "/slack/events"


def endpoint(bolt_app: App):  # type: ignore[no-untyped-def]
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        # Bolt's App is synchronous (it may call Slack and the database before it acks):
        # run it in the thread pool so the portal's event loop never waits on it.
        bolt_response = await run_in_threadpool(bolt_app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)

    return slack_events


def mount(app: Any, context: AppContext, *, path: str = EVENTS_PATH) -> App | None:
    """Add POST `path` (Slack's Events, interactivity and slash-command URL) to a FastAPI or
    Starlette app. Returns the Bolt app, or None (with a log line) when Slack is not
    configured, so the portal runs without Slack."""
    if not context.settings.slack_enabled:
        log.info("Slack is off: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not both set")
        return None
    return mount_deps(app, SlackDeps.from_context(context), path=path)


def mount_deps(app: Any, deps: SlackDeps, *, path: str = EVENTS_PATH) -> App:
    bolt_app = build_app(deps)
    app.add_route(path, endpoint(bolt_app), methods=["POST"])
    return bolt_app
