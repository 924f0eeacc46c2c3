"""The app factory: settings in, a configured FastAPI application out. Nothing at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from app_context import AppContext
from schools_portal import errors
from schools_portal.queue_views import QueueViews
from schools_portal.ratelimit import LoginLimiter
from schools_portal.rendering import make_templates
from schools_portal.routes import (
    account,
    chat,
    dashboard,
    gaps,
    guidance,
    home,
    notifications,
    queue,
    school,
    signin,
)
from schools_portal.security import BodySizeLimit, SecurityHeaders
from schools_portal.sessions import SESSION_COOKIE, RecentSessions, ServerSessions
from schools_portal.staticfiles import PortalStaticFiles
from settings import Settings

HERE = Path(__file__).resolve().parent
__all__ = ["SESSION_COOKIE", "create_app"]
# Room for the longest chat message (100,000 characters, chat.relay.MAX_MESSAGE_CHARS) in any
# script once encoded (CJK in a form is 9 bytes a character), as nginx's own 1 MiB limit; a
# bigger upload is refused before it is read.
MAX_BODY_BYTES = 1024 * 1024


def create_app(settings: Settings, *, context: AppContext | None = None) -> FastAPI:
    """Build the portal. Pass `context` (tests do) to share one; otherwise one AppContext is
    built when the server starts and closed when it stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = context is None
        if owned:
            app.state.context = AppContext.build(settings)
        try:
            yield
        finally:
            if owned:
                app.state.context.close()

    app = FastAPI(
        title="Schools safeguarding portal",
        version="1.0",
        description=(
            "Pages and JSON API of the schools portal. Sign in through /signin (a server-side "
            "session; staff also give a one-time code); every state-changing API call needs "
            "the session's CSRF token in the X-CSRF-Token header (GET /api/me returns it)."
        ),
        lifespan=lifespan,
        # Swagger UI and ReDoc need inline and third-party script, which the CSP forbids; the
        # generated document itself is at /openapi.json.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    if context is not None:
        app.state.context = context
    app.state.templates = make_templates(HERE / "templates", settings)
    # Shared by every replica through Redis in production; this process's memory otherwise.
    app.state.login_limiter = LoginLimiter.from_redis_url(
        settings.redis_url if settings.is_production else ""
    )
    app.state.recent_sessions = RecentSessions()  # for a database outage (schools_portal/sessions)
    app.state.queue_views = QueueViews()  # live queue views' audited ids (queue_views.py)
    app.state.clock = None  # tests set a function returning the time (sessions' lifetimes)
    app.state.https_only = settings.environment not in {"development", "test"}  # Secure cookies

    errors.install(app)
    app.mount("/static", PortalStaticFiles(directory=HERE / "static"), name="static")
    for feature in (
        signin, account, home, chat, school, notifications, guidance, queue, dashboard, gaps
    ):
        app.include_router(feature.pages)
        app.include_router(feature.api, prefix="/api")

    # ---- Slack events (owned by the Slack app, slack_app/; its owner may edit this block) ----
    # Mounted at /slack/events. `mount` gets a callable returning the AppContext, because the
    # context is built at start-up (lifespan), after the factory returns.
    if settings.slack_enabled:
        from slack_app.asgi import mount

        mount(app, lambda: app.state.context)
    # ---- end of the Slack block ----

    # Middleware: the last added runs first. Headers wrap everything, even errors.
    app.add_middleware(ServerSessions, https_only=app.state.https_only)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(SecurityHeaders, hsts=settings.environment == "production")
    return app
