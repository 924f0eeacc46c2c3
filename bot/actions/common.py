"""Helpers shared by the actions: identity from metadata, lazily built services, formatting."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from rasa_sdk import Tracker

from bot.runtime import get_engine, get_sessions, get_settings
from guidance.roles import AUDIENCE_FOR_ROLE  # noqa: F401 - the actions' name for it

T = TypeVar("T")

SCHOOL_ROLES = frozenset({"dsl", "deputy_dsl"})
ROLE_LABELS = {
    "dsl": "a designated safeguarding lead",
    "deputy_dsl": "a deputy designated safeguarding lead",
    "gp": "a GP",
    "mash_worker": "a MASH social worker",
    "mash_manager": "a MASH manager",
    "admin": "an administrator",
}


def metadata(tracker: Tracker) -> Mapping[str, Any]:
    """The channel's metadata for the latest message (empty if the channel sent none)."""
    value = (tracker.latest_message or {}).get("metadata")
    return value if isinstance(value, Mapping) else {}


def role(tracker: Tracker) -> str | None:
    value = metadata(tracker).get("role")
    return str(value).strip().lower() if value else None


def organisation_id(tracker: Tracker) -> int | None:
    value = metadata(tracker).get("organisation_id")
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def identity(tracker: Tracker) -> Any:
    """The MASH service's ChannelIdentity for the sender of the latest message. Its sender is
    the signed `address` when the channel gives one (Slack: `slack:T1:U1`, the person, while
    the conversation is one thread), else the relay's signed conversation key (`portal-5`):
    what the chat relay records too, never Rasa's derived conversation id."""
    from mash.access import ChannelIdentity

    meta = metadata(tracker)
    sender = str(meta.get("conversation") or tracker.sender_id)
    return ChannelIdentity.from_metadata(meta, sender=sender)


def message_id(tracker: Tracker) -> str:
    """The channel's message id, else Rasa's own id for the message. Escalations are
    idempotent on it, so a retried webhook call, or the chat relay raising the same message
    (chat/relay.py uses the metadata id as it is), never makes a second escalation."""
    meta_id = metadata(tracker).get("message_id")
    if meta_id:
        return str(meta_id)
    return f"rasa:{tracker.sender_id}:{(tracker.latest_message or {}).get('message_id', '')}"


def latest_text(tracker: Tracker) -> str:
    return ((tracker.latest_message or {}).get("text") or "").strip()


def latest_intent(tracker: Tracker) -> str | None:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def latest_risk(tracker: Tracker) -> Mapping[str, Any]:
    value = (tracker.latest_message or {}).get("risk")
    return value if isinstance(value, Mapping) else {}


def settings() -> Any:
    return get_settings()


def engine() -> Any:
    return get_engine(get_settings())


def sessions() -> Any:
    return get_sessions(get_settings())


def raise_for_sender(service: Callable[..., T], identity: Any, **fields: Any) -> T:
    """Call a MASH service that records an item from the sender (`service(session=, identity=,
    **fields)`) in its own session. If the service refuses the organisation the channel named
    (InvalidInput on organisation_id), call it again without one: an unknown organisation must
    not stop the item being raised, it is recorded unverified instead."""
    from dataclasses import replace

    from mash.errors import InvalidInput

    def attempt(who: Any) -> T:
        with sessions()() as session:
            return service(session=session, identity=who, **fields)

    try:
        return attempt(identity)
    except InvalidInput as error:
        if getattr(error, "field", None) != "organisation_id":
            raise
        return attempt(replace(identity, organisation_id=None))


async def in_thread(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run blocking work (engine, database) off the action server's event loop."""
    return await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(func, *args, **kwargs)
    )


def join_sources(sources: Iterable[Any]) -> str:
    """'Title (id); Title (id)' from SourceRef objects or dicts."""
    parts = []
    for source in sources:
        title = source["title"] if isinstance(source, Mapping) else source.title
        ident = source["id"] if isinstance(source, Mapping) else source.id
        parts.append(f"{title} ({ident})")
    return "; ".join(parts)


def front_door_fallback() -> dict[str, str]:
    """The service and number to ring now, for 'I couldn't do that' messages."""
    from datetime import datetime, timezone

    try:
        line = engine().pack.contacts.safety_line(datetime.now(timezone.utc))
        return {"service": line.name, "phone": line.number}
    except Exception:  # noqa: BLE001 - a fallback message must never fail
        return {"service": "children's social care front door", "phone": "your council's number"}
