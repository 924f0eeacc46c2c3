"""The directory: organisations, people and roles, sign-in, and the MASH's named contacts.

The front door's opening hours and phone numbers are not stored here: they live in the
guidance pack (`pack.yml`, read through `guidance.contacts`), the one source of truth.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mash.access import Actor, ChannelIdentity
from mash.clock import utcnow
from mash.db import unit_of_work
from mash.errors import Forbidden, InvalidInput, NotFound
from mash.models import ORGANISATION_KINDS, ROLES, MashContact, Organisation, Person

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10
# Organisation kinds each role may belong to (None: no organisation needed).
_ROLE_KINDS: dict[str, tuple[str, ...] | None] = {
    "dsl": ("school", "agency"),
    "deputy_dsl": ("school", "agency"),
    "gp": ("gp_practice",),
    "mash_worker": ("mash",),
    "mash_manager": ("mash",),
    "admin": None,
}


def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id with the library's current recommended parameters


@dataclass(frozen=True)
class OrganisationView:
    id: int
    kind: str
    name: str
    urn: str | None
    la_code: str | None
    la_name: str | None
    type_name: str | None
    phase: str | None
    status: str | None
    address: str
    postcode: str | None
    area: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class PersonView:
    id: int
    name: str
    email: str
    role: str
    organisation_id: int | None
    phone: str | None
    slack_user_id: str | None
    active: bool

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def actor(self) -> Actor:
        return Actor(
            user_id=self.id, role=self.role, organisation_id=self.organisation_id, name=self.name
        )


@dataclass(frozen=True)
class NamedContact:
    """The MASH worker a school calls first; `scope` says whether it is the school's own."""

    person_id: int
    name: str
    email: str
    phone: str | None
    scope: str  # "school" or "area"
    note: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def organisation_view(org: Organisation) -> OrganisationView:
    parts = [org.street, org.locality, org.address3, org.town, org.county]
    return OrganisationView(
        id=org.id,
        kind=org.kind,
        name=org.name,
        urn=org.urn,
        la_code=org.la_code,
        la_name=org.la_name,
        type_name=org.type_name,
        phase=org.phase,
        status=org.status,
        address=", ".join(p for p in parts if p),
        postcode=org.postcode,
        area=org.area,
    )


def person_view(p: Person) -> PersonView:
    return PersonView(
        id=p.id,
        name=p.name,
        email=p.email,
        role=p.role,
        organisation_id=p.organisation_id,
        phone=p.phone,
        slack_user_id=p.slack_user_id,
        active=bool(p.active),
    )


def _require_admin(actor: Actor) -> None:
    if actor.role not in {"admin", "system"}:
        raise Forbidden("Only an administrator can change the directory.")


def require_organisation(session: Session, organisation_id: int | None) -> Organisation:
    org = session.get(Organisation, organisation_id) if organisation_id is not None else None
    if org is None:
        raise InvalidInput(
            f"There is no organisation with id {organisation_id}.", field="organisation_id"
        )
    return org


@unit_of_work
def create_organisation(
    *,
    session: Session,
    actor: Actor,
    kind: str,
    name: str,
    urn: str | None = None,
    la_code: str | None = None,
    la_name: str | None = None,
    type_name: str | None = None,
    phase: str | None = None,
    town: str | None = None,
    postcode: str | None = None,
    area: str | None = None,
) -> OrganisationView:
    """Add an organisation (school, gp_practice, mash or agency). Admins only."""
    _require_admin(actor)
    if kind not in ORGANISATION_KINDS:
        raise InvalidInput(
            f"Organisation kind must be one of {', '.join(ORGANISATION_KINDS)}.", field="kind"
        )
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput("An organisation needs a name of 1 to 200 characters.", field="name")
    if urn and session.execute(select(Organisation.id).where(Organisation.urn == urn)).first():
        raise InvalidInput(f"An organisation with URN {urn} already exists.", field="urn")
    now = utcnow()
    org = Organisation(
        kind=kind,
        name=name,
        urn=urn,
        la_code=la_code,
        la_name=la_name,
        type_name=type_name,
        phase=phase,
        town=town,
        postcode=postcode,
        area=area,
        created_at=now,
        updated_at=now,
    )
    session.add(org)
    session.flush()
    return organisation_view(org)


@unit_of_work
def get_organisation(*, session: Session, organisation_id: int) -> OrganisationView:
    """Directory entries are not confidential: anyone signed in may look one up."""
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise NotFound(f"There is no organisation with id {organisation_id}.")
    return organisation_view(org)


@unit_of_work
def list_organisations(
    *,
    session: Session,
    kind: str | None = None,
    la_code: str | None = None,
    search: str | None = None,
    limit: int = 100,
) -> list[OrganisationView]:
    query = select(Organisation).order_by(Organisation.name).limit(limit)
    if kind:
        query = query.where(Organisation.kind == kind)
    if la_code:
        query = query.where(Organisation.la_code == la_code)
    if search:
        query = query.where(func.lower(Organisation.name).contains(search.lower()))
    return [organisation_view(o) for o in session.execute(query).scalars()]


@unit_of_work
def create_user(
    *,
    session: Session,
    actor: Actor,
    name: str,
    email: str,
    role: str,
    organisation_id: int | None = None,
    password: str | None = None,
    slack_user_id: str | None = None,
    phone: str | None = None,
) -> PersonView:
    """Add a person. Admins (or the CLI as system) only. A password is optional (Slack-only
    users have none); when given it is stored as an argon2id hash."""
    _require_admin(actor)
    name = (name or "").strip()
    email = (email or "").strip().lower()
    if not name or len(name) > 200:
        raise InvalidInput("A person needs a name of 1 to 200 characters.", field="name")
    if not _EMAIL.match(email) or len(email) > 254:
        raise InvalidInput(f"{email!r} is not an e-mail address.", field="email")
    if role not in ROLES:
        raise InvalidInput(f"Role must be one of {', '.join(ROLES)}.", field="role")
    kinds = _ROLE_KINDS[role]
    if organisation_id is not None or kinds is not None:
        org = require_organisation(session, organisation_id)
        if kinds is not None and org.kind not in kinds:
            raise InvalidInput(
                f"A {role} must belong to a {' or '.join(kinds)}, not a {org.kind}.",
                field="organisation_id",
            )
    if password is not None and len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"A password needs at least {MIN_PASSWORD} characters.", field="password"
        )
    if session.execute(select(Person.id).where(Person.email == email)).first():
        raise InvalidInput(f"Someone with e-mail {email} already exists.", field="email")
    if (
        slack_user_id
        and session.execute(select(Person.id).where(Person.slack_user_id == slack_user_id)).first()
    ):
        raise InvalidInput(f"Slack user {slack_user_id} is already linked.", field="slack_user_id")
    person = Person(
        name=name,
        email=email,
        role=role,
        organisation_id=organisation_id,
        phone=phone,
        slack_user_id=slack_user_id or None,
        active=True,
        created_at=utcnow(),
        password_hash=_hasher().hash(password) if password else None,
    )
    session.add(person)
    session.flush()
    return person_view(person)


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to verify against when the e-mail is unknown, so both paths take as long."""
    return _hasher().hash("not a password of anyone")


@dataclass(frozen=True)
class PasswordCheck:
    """The first sign-in step's answer. `actor` is set only for a right password; `next_step`
    says what the second factor needs: "none", "code" (enrolled) or "enrol" (required, not yet
    enrolled)."""

    actor: Actor | None
    person_id: int | None
    next_step: str = "none"


def _check_password(session: Session, email: str, password: str) -> tuple[Person | None, bool]:
    """(the account if it exists, whether the password is right for an active account)."""
    person = session.execute(
        select(Person).where(Person.email == (email or "").strip().lower())
    ).scalar_one_or_none()
    hasher = _hasher()
    if person is None or not person.active or not person.password_hash:
        try:
            hasher.verify(_dummy_hash(), password or "")
        except (VerificationError, InvalidHashError):
            pass
        return person, False
    try:
        hasher.verify(person.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return person, False
    if hasher.check_needs_rehash(person.password_hash):
        person.password_hash = hasher.hash(password)
    return person, True


@unit_of_work
def authenticate(*, session: Session, email: str, password: str) -> Actor | None:
    """The Actor for a correct e-mail and password of an active person, else None."""
    person, ok = _check_password(session, email, password)
    return person_view(person).actor() if ok and person is not None else None


@unit_of_work
def check_password(*, session: Session, email: str, password: str, address: str) -> PasswordCheck:
    """The portal's first sign-in step. A failure is audited (account if known, address,
    reason; never the password)."""
    from mash import twofactor

    person, ok = _check_password(session, email, password)
    if not ok or person is None:
        if person is None:
            reason = "unknown_account"
        elif not person.active or not person.password_hash:
            reason = "inactive_account"
        else:
            reason = "wrong_password"
        twofactor.record_failure(session, person=person, address=address, reason=reason)
        return PasswordCheck(actor=None, person_id=person.id if person else None)
    if twofactor.enrolled(person):
        step = "code"
    elif twofactor.required_for(person.role):
        step = "enrol"
    else:
        step = "none"
    return PasswordCheck(actor=person_view(person).actor(), person_id=person.id, next_step=step)


def _own_person(session: Session, actor: Actor) -> Person:
    person = session.get(Person, actor.user_id) if actor.user_id is not None else None
    if person is None or not person.active:
        raise NotFound("No active person matches that identity.")
    return person


def _confirm_password(
    session: Session, person: Person, password: str, *, address: str, now: datetime | None
) -> None:
    """Raise InvalidInput unless `password` is the person's own. A session in the wrong hands
    could guess here, so a failure is audited and kept (committed before the refusal rolls the
    rest back), as a failed sign-in is."""
    from mash import twofactor

    _, ok = _check_password(session, person.email, password)
    if not ok:
        twofactor.record_failure(
            session, person=person, address=address, reason="wrong_current_password", now=now
        )
        session.commit()
        raise InvalidInput("Your current password is not right.", field="current_password")


@unit_of_work
def confirm_own_password(
    *, session: Session, actor: Actor, password: str, address: str, now: datetime | None = None
) -> None:
    """Re-check the signed-in person's password before a sensitive change (InvalidInput if
    wrong; audited)."""
    _confirm_password(session, _own_person(session, actor), password, address=address, now=now)


@unit_of_work
def change_password(
    *,
    session: Session,
    actor: Actor,
    current: str,
    new: str,
    address: str = "unknown",
    now: datetime | None = None,
) -> int:
    """Change the actor's own password (the current one is checked first). Every session of
    theirs ends; returns how many. Audited, and so is a wrong current password."""
    from mash import audit, sessions

    person = _own_person(session, actor)
    _confirm_password(session, person, current, address=address, now=now)
    if len(new or "") < MIN_PASSWORD:
        raise InvalidInput(
            f"A password needs at least {MIN_PASSWORD} characters.", field="new_password"
        )
    if len(new) > 1000:
        raise InvalidInput("A password may have at most 1,000 characters.", field="new_password")
    if new == current:
        raise InvalidInput("The new password must differ from the current one.",
                           field="new_password")
    now = now or utcnow()
    person.password_hash = _hasher().hash(new)
    person.password_changed_at = now
    ended = sessions.revoke_all(session, user_id=person.id, now=now)
    audit.record(session, actor=actor, action="password_changed", subject_type="person",
                 subject_id=person.id, detail={"sessions_ended": ended}, now=now)
    return ended


@unit_of_work
def actor_for(
    *,
    session: Session,
    user_id: int | None = None,
    email: str | None = None,
    slack_user_id: str | None = None,
) -> Actor:
    """The Actor for an active person found by id, e-mail or Slack user id (portal sessions,
    the Slack desk's buttons, the CLI's --as). Raises NotFound otherwise."""
    query = select(Person).where(Person.active.is_(True))
    if user_id is not None:
        query = query.where(Person.id == user_id)
    elif email:
        query = query.where(Person.email == email.strip().lower())
    elif slack_user_id:
        query = query.where(Person.slack_user_id == slack_user_id)
    else:
        raise InvalidInput("Say who is acting: a user id, e-mail or Slack user id.")
    person = session.execute(query).scalar_one_or_none()
    if person is None:
        raise NotFound("No active person matches that identity.")
    return person_view(person).actor()


@unit_of_work
def list_people(
    *, session: Session, actor: Actor, role: str | None = None, organisation_id: int | None = None
) -> list[PersonView]:
    """People in the directory. MASH staff and admins see all; others their own organisation."""
    query = select(Person).order_by(Person.name)
    if not (actor.is_mash or actor.role in {"admin", "system"}):
        query = query.where(Person.organisation_id == actor.organisation_id)
    if role:
        query = query.where(Person.role == role)
    if organisation_id is not None:
        query = query.where(Person.organisation_id == organisation_id)
    return [person_view(p) for p in session.execute(query).scalars()]


@unit_of_work
def set_named_contact(
    *,
    session: Session,
    actor: Actor,
    person_id: int,
    organisation_id: int | None = None,
    area: str | None = None,
    note: str | None = None,
) -> NamedContact:
    """Make a MASH worker the named contact for one school, or for an area. Replaces any
    existing contact for that school or area. Admins and MASH managers only."""
    if actor.role not in {"admin", "system", "mash_manager"}:
        raise Forbidden("Only an administrator or a MASH manager can set named contacts.")
    if (organisation_id is None) == (area is None):
        raise InvalidInput("Give either a school or an area, not both.")
    person = session.get(Person, person_id)
    if person is None or person.role not in {"mash_worker", "mash_manager"}:
        raise InvalidInput("The named contact must be a member of the MASH.", field="person_id")
    if organisation_id is not None:
        require_organisation(session, organisation_id)
        existing = session.execute(
            select(MashContact).where(MashContact.organisation_id == organisation_id)
        ).scalar_one_or_none()
    else:
        existing = session.execute(
            select(MashContact).where(MashContact.area == area)
        ).scalar_one_or_none()
    contact = existing or MashContact(organisation_id=organisation_id, area=area)
    contact.person_id = person_id
    contact.note = note
    session.add(contact)
    session.flush()
    return _named(person, "school" if organisation_id is not None else "area", note)


def _named(person: Person, scope: str, note: str | None) -> NamedContact:
    return NamedContact(
        person_id=person.id,
        name=person.name,
        email=person.email,
        phone=person.phone,
        scope=scope,
        note=note,
    )


@unit_of_work
def named_contact(*, session: Session, organisation_id: int) -> NamedContact | None:
    """The school's named MASH contact, else its area's, else None (then: the front door)."""
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise NotFound(f"There is no organisation with id {organisation_id}.")
    rows = [(MashContact.organisation_id == organisation_id, "school")]
    if org.area:
        rows.append((MashContact.area == org.area, "area"))
    for condition, scope in rows:
        found = session.execute(
            select(MashContact, Person)
            .join(Person, Person.id == MashContact.person_id)
            .where(condition)
        ).first()
        if found is not None and found[1].active:
            return _named(found[1], scope, found[0].note)
    return None


@dataclass(frozen=True)
class Sender:
    """A channel identity resolved against the directory (internal to the services)."""

    person: Person | None
    organisation: Organisation | None
    verified: bool
    identity: ChannelIdentity

    @property
    def actor(self) -> Actor:
        if self.verified and self.person is not None:
            return person_view(self.person).actor()
        label = f"unverified {self.identity.channel}:{self.identity.sender}"
        return Actor(user_id=None, role="unverified", organisation_id=None, name=label)

    @property
    def source_kind(self) -> str:
        return self.organisation.kind if self.organisation is not None else "unknown"


def resolve_sender(session: Session, identity: ChannelIdentity) -> Sender:
    """Match a channel identity to an active person. Verified only when the person exists and
    (if the channel named one) belongs to the named organisation. An organisation id that does
    not exist is an InvalidInput; an unknown person is merely unverified."""
    org = (
        require_organisation(session, identity.organisation_id)
        if identity.organisation_id is not None
        else None
    )
    person = None
    if identity.user_id:
        if identity.channel == "slack":
            query = select(Person).where(Person.slack_user_id == identity.user_id)
        elif identity.user_id.isdigit():
            query = select(Person).where(Person.id == int(identity.user_id))
        else:
            query = None
        if query is not None:
            person = session.execute(query.where(Person.active.is_(True))).scalar_one_or_none()
    verified = person is not None and (org is None or person.organisation_id == org.id)
    if verified and org is None and person is not None and person.organisation_id is not None:
        org = session.get(Organisation, person.organisation_id)
    return Sender(
        person=person if verified else None, organisation=org, verified=verified, identity=identity
    )


def people_names(session: Session, ids: set[int]) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(ids))).all())


def outbox_person(p: Person) -> dict[str, Any]:
    """A person as an outbox recipient lists them (`recipient["people"]`)."""
    return {"id": p.id, "name": p.name, "email": p.email, "slack_user_id": p.slack_user_id}


def people_by_role(session: Session, role: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Person).where(Person.role == role, Person.active.is_(True)).order_by(Person.id)
    ).scalars()
    return [outbox_person(p) for p in rows]


def people_by_ids(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    rows = session.execute(select(Person).where(Person.id.in_(ids))).scalars()
    return [outbox_person(p) for p in rows]


def recipient_for(person: Person | None, identity: tuple[str, str]) -> dict[str, Any]:
    """The outbox recipient for an originator: the person if known, and the channel address."""
    channel, sender = identity
    people = [] if person is None else [outbox_person(person)]
    return {"people": people, "channel": channel, "sender": sender}


def touch(org: Organisation, now: datetime | None = None) -> None:
    org.updated_at = now or utcnow()
