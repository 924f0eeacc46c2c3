"""Jinja2 templates (autoescaped), their helpers, and the small Markdown subset the guide uses."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import Response

from chat.labels import category_list
from mash import notifications
from mash.access import Actor
from mash.notifications import Unread
from schools_portal.deps import MASH_STAFF, PRACTITIONERS, ROLE_LABELS
from schools_portal.phone_links import phone_links
from schools_portal.security import CSRF_FIELD, csrf_token
from settings import Settings

log = logging.getLogger(__name__)
# How often a practitioner's pages ask for the unread count (static/js/notifications.js).
NOTIFICATION_POLL_SECONDS = 10
DISPLAY_TZ = ZoneInfo("Europe/London")
STATUS_LABELS = {
    "raised": "Raised, waiting for the MASH",
    "acknowledged": "Seen by the MASH",
    "picked_up": "With a social worker",
    "outcome_recorded": "Outcome recorded",
    "originator_informed": "Outcome recorded",
    "queued": "Waiting for a social worker",
    "closed": "Advice given",
}


# The practitioner's own tab is named for their role: a GP's is their practice, not a school.
HOME_TABS = {"gp": "My practice"}
HOME_TAB_DEFAULT = "My school"


def home_tab(role: str | None) -> str:
    """The name of the practitioner's own tab (/school) for their role."""
    return HOME_TABS.get(role or "", HOME_TAB_DEFAULT)


def pack_labels(request: Request | None) -> dict[str, str]:
    """The pack's category labels, from the app's context (empty before it is built)."""
    context = getattr(request.app.state, "context", None) if request is not None else None
    return context.guidance.pack.lexicon.labels if context is not None else {}


@pass_context
def categories_filter(ctx: Any, categories: list[str] | None, empty: str = "") -> str:
    """`{{ item.categories|categories("None recorded") }}`: the pack's labels, never ids."""
    return category_list(categories or [], pack_labels(ctx.get("request")), empty=empty)


def make_templates(directory: Path, settings: Settings) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(directory))  # autoescapes .html
    env = templates.env
    env.filters["when"] = when
    env.filters["guide_markdown"] = guide_markdown
    env.tests["has_list"] = has_list
    env.filters["phone_links"] = phone_links
    env.filters["status_label"] = lambda s: STATUS_LABELS.get(s or "", s or "")
    env.filters["label"] = lambda s: (s or "").replace("_", " ")
    env.filters["categories"] = categories_filter
    env.globals["ROLE_LABELS"] = ROLE_LABELS
    env.globals["home_tab"] = home_tab
    env.globals["CSRF_FIELD"] = CSRF_FIELD
    env.globals["environment"] = settings.environment
    env.globals["NOTIFICATION_POLL_SECONDS"] = NOTIFICATION_POLL_SECONDS
    return templates


def render(
    request: Request,
    template: str,
    *,
    actor: Actor | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    flashes = request.session.pop("flash", []) if "flash" in request.session else []
    return templates.TemplateResponse(
        request,
        template,
        {
            "actor": actor,
            "nav": nav_for(actor),
            "unread": unread_for(request, actor),
            "csrf": csrf_token(request),
            "flashes": flashes,
            "path": request.url.path,
            **context,
        },
        status_code=status_code,
        headers=headers,
    )


def flash(request: Request, message: str, kind: str = "info") -> None:
    """A one-time message shown on the next page (after a redirect)."""
    request.session["flash"] = [*request.session.get("flash", []), [kind, message[:300]]]


def unread_for(request: Request, actor: Actor | None) -> Unread | None:
    """The practitioner's unread notifications for the navigation (None for other roles, or
    when the database cannot say: a page must still render, the chat's above all)."""
    if actor is None or actor.role not in PRACTITIONERS:
        return None
    try:
        with request.app.state.context.sessions() as session:
            return notifications.unread(session=session, actor=actor)
    except SQLAlchemyError:
        log.warning("unread notifications unavailable for user %s", actor.user_id)
        return None


def nav_for(actor: Actor | None) -> list[tuple[str, str]]:
    if actor is None:
        return []
    items: list[tuple[str, str]] = []
    if actor.role in PRACTITIONERS:
        items += [
            ("/chat", "Ask the assistant"),
            ("/school", home_tab(actor.role)),
            ("/notifications", "Notifications"),
        ]
    if actor.role in MASH_STAFF:
        items += [("/queue", "MASH queue")]
    if actor.role in ("mash_manager", "admin"):
        items += [("/dashboard", "Dashboard")]
    items.append(("/guidance", "Guidance"))
    return items


def when(value: datetime | str | None) -> str:
    """A timestamp in UK time, e.g. 'Tue 3 Mar 2026, 14:05'."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:  # the service stores UTC
        value = value.replace(tzinfo=timezone.utc)
    local = value.astimezone(DISPLAY_TZ)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"


_BULLET = re.compile(r"^\s*[-*]\s+")
_LIST_LINE = re.compile(r"^- ", re.MULTILINE)


def has_list(text: str | None) -> bool:
    """Whether an answer quotes a list ("- " lines, as guidance.passages renders one), to be
    drawn as a list rather than run together."""
    return bool(text and _LIST_LINE.search(text))


def guide_markdown(text: str) -> Markup:
    """Paragraphs and bullet lists (all the guide uses), every character escaped first;
    numbers are tap-to-call links and references kept in one piece (phone_links)."""
    html: list[str] = []
    for block in re.split(r"\n\s*\n", (text or "").strip()):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        if all(_BULLET.match(line) for line in lines):
            items = "".join(f"<li>{phone_links(_BULLET.sub('', line))}</li>" for line in lines)
            html.append(f"<ul>{items}</ul>")
            continue
        lead = [line for line in lines if not _BULLET.match(line)]
        bullets = [line for line in lines if _BULLET.match(line)]
        if bullets and lines[: len(lead)] == lead:  # "Intro line:\n- a\n- b"
            html.append(f"<p>{phone_links(' '.join(lead))}</p>")
            items = "".join(f"<li>{phone_links(_BULLET.sub('', line))}</li>" for line in bullets)
            html.append(f"<ul>{items}</ul>")
        else:
            html.append(f"<p>{phone_links(' '.join(line.strip() for line in lines))}</p>")
    return Markup("\n".join(html))
