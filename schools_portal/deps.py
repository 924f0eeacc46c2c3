"""Request dependencies: the app context, a database session, the signed-in actor, role guards."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app_context import AppContext
from mash import directory
from mash.access import Actor
from mash.errors import NotFound
from schools_portal import sessions

log = logging.getLogger(__name__)

PRACTITIONERS = ("dsl", "deputy_dsl", "gp")
MASH_STAFF = ("mash_worker", "mash_manager")
FIGURES = ("mash_manager", "admin")
ROLE_LABELS = {
    "dsl": "Designated safeguarding lead",
    "deputy_dsl": "Deputy designated safeguarding lead",
    "gp": "GP",
    "mash_worker": "MASH duty social worker",
    "mash_manager": "MASH manager",
    "admin": "Administrator",
}


class NotSignedIn(Exception):
    """No valid session: pages redirect to sign-in, the API answers 401."""


class WrongRole(Exception):
    """Signed in, but this part of the portal is not for the user's role (403)."""


def get_context(request: Request) -> AppContext:
    return request.app.state.context


Ctx = Annotated[AppContext, Depends(get_context)]


def get_db(context: Ctx) -> Iterator[Session]:
    """One session per request; every service call commits or rolls back on its own."""
    with context.sessions() as session:
        yield session


Db = Annotated[Session, Depends(get_db)]


def current_actor(request: Request, db: Db) -> Actor:
    """The signed-in person, re-read from the directory on every request so a deactivated
    account or a changed role takes effect at once."""
    user_id = sessions.signed_in_user(request)
    if user_id is None:
        raise NotSignedIn()
    try:
        actor = directory.actor_for(session=db, user_id=user_id)
    except NotFound:
        sessions.end(request)
        raise NotSignedIn() from None
    except OperationalError:
        # The database is unreachable: act as who signed in (kept in the session this process
        # checked, schools_portal/sessions.py) so the chat still screens the message, shows the
        # safety message and spools the escalation.
        who = request.session.get("who")
        if not (isinstance(who, list) and len(who) == 3):
            raise
        log.warning("directory unavailable; using the session's identity for user %s", user_id)
        actor = Actor(user_id=user_id, role=who[0], organisation_id=who[1], name=who[2])
    request.state.actor = actor  # for error pages' navigation
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


def require_roles(*roles: str) -> Callable[..., Actor]:
    """A dependency admitting only `roles` (the route's guard)."""

    def guard(actor: CurrentActor) -> Actor:
        if actor.role not in roles:
            raise WrongRole()
        return actor

    guard.__name__ = f"require_{'_or_'.join(roles)}"
    return guard


practitioner = require_roles(*PRACTITIONERS)
mash_staff = require_roles(*MASH_STAFF)
figures_reader = require_roles(*FIGURES)
manager = require_roles("mash_manager")
Practitioner = Annotated[Actor, Depends(practitioner)]
MashStaff = Annotated[Actor, Depends(mash_staff)]
FiguresReader = Annotated[Actor, Depends(figures_reader)]
Manager = Annotated[Actor, Depends(manager)]


def sender_id(actor: Actor) -> str:
    """The Rasa conversation id: derived from the signed-in user only, never from input."""
    return f"portal-{actor.user_id}"
