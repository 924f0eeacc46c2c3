"""Who is acting, and what they may see and do. Enforced inside the service functions.

- MASH staff (mash_worker, mash_manager) see every escalation and consultation.
- A DSL, deputy DSL or GP sees the items of their own organisation that were raised by a
  verified sender, and every item they raised themselves.
- An admin maintains the directory and may read the figures, but not the items themselves.

An item the actor may not see is reported as not found, so its existence does not leak.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, false, or_, true
from sqlalchemy.sql.elements import ColumnElement

MASH_ROLES = frozenset({"mash_worker", "mash_manager"})
PRACTITIONER_ROLES = frozenset({"dsl", "deputy_dsl", "gp"})
FIGURES_ROLES = frozenset({"mash_manager", "admin", "mash_worker"})


@dataclass(frozen=True)
class Actor:
    """The person acting, as the portal, Slack desk or CLI established them (never from text).

    `user_id` is `people.id`; `None` only for `Actor.system()` (the dispatcher and deadlines).
    """

    user_id: int | None
    role: str
    organisation_id: int | None
    name: str = ""

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(user_id=None, role="system", organisation_id=None, name=name)

    @property
    def is_mash(self) -> bool:
        return self.role in MASH_ROLES

    @property
    def is_manager(self) -> bool:
        return self.role == "mash_manager"

    @property
    def label(self) -> str:
        return self.name or (f"user {self.user_id}" if self.user_id is not None else self.role)


@dataclass(frozen=True)
class ChannelIdentity:
    """Who sent a message, as the channel (portal or Slack) vouches in the Rasa metadata.

    `user_id` is `people.id` for the portal, the Slack user id for Slack. An identity that does
    not resolve to an active person is still accepted: the item is recorded as unverified.
    """

    channel: str
    sender: str
    user_id: str | None = None
    role: str | None = None
    organisation_id: int | None = None

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any], *, sender: str) -> ChannelIdentity:
        """Build from `tracker.latest_message["metadata"]` and the relay's conversation key.
        A channel whose conversations are narrower than a person (Slack: one per thread) names
        the person's address in the signed metadata as `address`; the sender is that, so
        follow-ups and the outcome's message go by the person, not the thread."""
        org = metadata.get("organisation_id")
        try:
            org_id = int(org) if org not in (None, "") else None
        except (TypeError, ValueError):
            org_id = None
        user = metadata.get("user_id")
        return cls(
            channel=str(metadata.get("channel") or "unknown"),
            sender=str(metadata.get("address") or sender),
            user_id=None if user in (None, "") else str(user),
            role=metadata.get("role") or None,
            organisation_id=org_id,
        )


def item_filter(actor: Actor, model: Any) -> ColumnElement:
    """A WHERE clause limiting `model` (Escalation or Consultation) to what `actor` may see."""
    if actor.is_mash:
        return true()
    if actor.role in PRACTITIONER_ROLES and actor.user_id is not None:
        own = model.originator_user_id == actor.user_id
        if actor.organisation_id is None:
            return own
        return or_(
            own,
            and_(model.organisation_id == actor.organisation_id, model.sender_verified.is_(True)),
        )
    return false()


def can_see(actor: Actor, item: Any) -> bool:
    """The same rule as `item_filter`, for one loaded row."""
    if actor.is_mash:
        return True
    if actor.role in PRACTITIONER_ROLES and actor.user_id is not None:
        if item.originator_user_id == actor.user_id:
            return True
        return (
            actor.organisation_id is not None
            and item.organisation_id == actor.organisation_id
            and bool(item.sender_verified)
        )
    return False
