"""Serving the Bolt app over ASGI: mounted in the portal, or in a small app of its own."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Union

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
MALFORMED = (TypeError, KeyError, IndexError, AttributeError, ValueError)
ContextSource = Union["AppContext", Callable[[], "AppContext"]]


class LazyBolt:
    """Builds the Bolt app on the first request: the portal builds its AppContext at start-up
    (in its lifespan), after `mount` has run."""

    def __init__(self, source: Callable[[], SlackDeps]) -> None:
        self.source = source
        self.app: App | None = None
        self.lock = threading.Lock()

    def get(self) -> App:
        if self.app is None:
            with self.lock:
                if self.app is None:
                    self.app = build_app(self.source())
        return self.app


def endpoint(bolt: LazyBolt) -> Callable[[Request], Any]:
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        # Bolt's App is synchronous (it may call Slack and the database before it acks):
        # run it in the thread pool so the portal's event loop never waits on it.
        try:
            bolt_request = to_bolt_request(request, body)
        except ValueError:  # Bolt parses the body before it checks the signature
            return Response("Malformed Slack request.", status_code=400)
        try:
            bolt_response = await run_in_threadpool(lambda: bolt.get().dispatch(bolt_request))
        except MALFORMED as error:
            # A payload of the wrong shape trips Bolt's own parsing: refuse it, plainly.
            log.warning("malformed Slack request refused (%s)", type(error).__name__)
            return Response("Malformed Slack request.", status_code=400)
        return to_starlette_response(bolt_response)

    return slack_events


def mount(app: Any, context: ContextSource, *, path: str = EVENTS_PATH) -> LazyBolt | None:
    """Add POST `path` (Slack's Events, interactivity and slash-command URL) to a FastAPI or
    Starlette app. `context` is the AppContext or a callable returning it (called on the first
    Slack request). Returns None (with a log line) when Slack is not configured."""
    settings = context.settings if not callable(context) else None
    if settings is not None and not settings.slack_enabled:
        log.info("Slack is off: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not both set")
        return None

    def deps() -> SlackDeps:
        return SlackDeps.from_context(context() if callable(context) else context)

    return mount_deps(app, deps, path=path)


def mount_deps(
    app: Any, deps: SlackDeps | Callable[[], SlackDeps], *, path: str = EVENTS_PATH
) -> LazyBolt:
    bolt = LazyBolt(deps if callable(deps) else (lambda: deps))
    app.add_route(path, endpoint(bolt), methods=["POST"])
    return bolt
