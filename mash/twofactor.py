"""Two-factor sign-in: time-based one-time codes (TOTP, RFC 6238, via pyotp) and one-time
recovery codes.

Required for the roles that can read every escalation (MASH workers and managers) and for
admins; optional for everyone else. A code is accepted once only (the last accepted time step
is kept), recovery codes are stored as argon2id hashes and each works once. Enrolment, the use
of a recovery code and an admin's reset are audited; so is every failed code.

Staff enrol at sign-in, after the password, so the password alone must not be enough: they
also type a one-time enrolment code that an administrator gave them out of band (printed by
`python -m mash create-user`, `reset-two-factor` and `enrolment-code`). It is stored as an
argon2id hash, expires (ENROLMENT_CODE_HOURS, 72), works once, and is audited when issued,
used or refused.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from mash import audit, sessions
from mash.access import Actor
from mash.clock import utcnow
from mash.db import unit_of_work
from mash.errors import Forbidden, InvalidInput, NotFound
from mash.models import AuditEntry, Person, RecoveryCode

REQUIRED_ROLES = frozenset({"mash_worker", "mash_manager", "admin"})
ISSUER = "Safeguarding portal"
STEP_SECONDS = 30
RECOVERY_CODES = 10
ENROLMENT_CODE_LIFETIME = timedelta(hours=72)  # the default of Settings.enrolment_code_hours
# The demo accounts' shared secret (development only): printed by `make run`, refused when
# APP_ENV=production exactly as the demo password is.
DEMO_TOTP_SECRET = "DEVELOPMENTONLYDEMOTOTPSECRETAAA"  # noqa: S105 - development only


def required_for(role: str) -> bool:
    return role in REQUIRED_ROLES


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, RFC 4226's recommendation


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def current_code(secret: str, now: datetime | None = None) -> str:
    return pyotp.TOTP(secret).at(now or utcnow())


def _code_hasher() -> PasswordHasher:
    # Recovery codes carry 50 random bits, so a light argon2id is enough and ten checks stay fast.
    return PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


def _new_code() -> str:
    """Ten characters with no look-alikes (50 random bits), in two groups to read aloud."""
    raw = "".join(secrets.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def _normalise(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (previous, current or next: clock drift) whose code is `code`."""
    totp = pyotp.TOTP(secret)
    here = int(now.timestamp()) // STEP_SECONDS
    for step in (here - 1, here, here + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS).encode(), code.encode()):
            return step
    return None


@dataclass(frozen=True)
class Enrolment:
    recovery_codes: list[str]  # shown once, never stored in clear


def enrolled(person: Person) -> bool:
    return bool(person.totp_secret and person.totp_enrolled_at)


@unit_of_work
def status(*, session: Session, person_id: int) -> tuple[str, bool]:
    """(the person's e-mail, whether they have enrolled) for the account pages."""
    person = _person(session, person_id)
    return person.email, enrolled(person)


def _person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None or not person.active:
        raise NotFound("No active person matches that identity.")
    return person


def _refuse_demo_in_production(secret: str | None, production: bool) -> None:
    if production and secret == DEMO_TOTP_SECRET:
        raise Forbidden("The development TOTP secret is refused in production.")


@unit_of_work
def enrol(
    *,
    session: Session,
    person_id: int,
    secret: str,
    code: str,
    address: str,
    production: bool,
    enrolment_code: str | None = None,
    now: datetime | None = None,
) -> Enrolment:
    """Confirm enrolment with a code from the new secret; replaces any earlier enrolment and
    its recovery codes. Raises InvalidInput (and audits) for a wrong code.

    At sign-in (only the password checked so far) pass the `enrolment_code` the person typed:
    it must be the unexpired one an administrator issued, and is used up. From a fully
    signed-in session pass None; a person whose role requires a second factor and who has none
    still needs the code."""
    now = now or utcnow()
    person = _person(session, person_id)
    _refuse_demo_in_production(secret, production)
    needs_code = enrolment_code is not None or (required_for(person.role) and not enrolled(person))
    if needs_code and not _enrolment_code_matches(person, enrolment_code or "", now):
        _refuse_enrolment_code(session, person, address, now)
    step = _matching_step(secret, _normalise(code), now)
    if step is None:
        record_failure(
            session, person=person, address=address, reason="wrong_code_at_enrolment", now=now
        )
        session.commit()
        raise InvalidInput(
            "That code does not match. Check the time on your phone and try again.", field="code"
        )
    if needs_code and not _use_enrolment_code(session, person):
        _refuse_enrolment_code(session, person, address, now)  # another sign-in used it first
    person.totp_secret = secret
    person.totp_enrolled_at = now
    person.totp_last_step = step
    codes = _replace_recovery_codes(session, person, now)
    if needs_code:
        audit.record(
            session,
            actor=_actor(person),
            action="enrolment_code_used",
            subject_type="person",
            subject_id=person.id,
            detail={"address": address},
            now=now,
        )
    audit.record(
        session,
        actor=_actor(person),
        action="two_factor_enrolled",
        subject_type="person",
        subject_id=person.id,
        detail={"address": address, "recovery_codes": len(codes)},
        now=now,
    )
    return Enrolment(recovery_codes=codes)


def _replace_recovery_codes(session: Session, person: Person, now: datetime) -> list[str]:
    session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.person_id == person.id, RecoveryCode.used_at.is_(None))
        .values(used_at=now)
    )
    codes = [_new_code() for _ in range(RECOVERY_CODES)]
    hasher = _code_hasher()
    for code in codes:
        session.add(
            RecoveryCode(
                person_id=person.id, code_hash=hasher.hash(_normalise(code)), created_at=now
            )
        )
    return codes


@unit_of_work
def verify(
    *,
    session: Session,
    person_id: int,
    code: str,
    address: str,
    production: bool,
    now: datetime | None = None,
) -> bool:
    """Check a second factor: a current TOTP code (once only) or an unused recovery code.
    A failure is audited with its reason; a recovery code's use is audited."""
    now = now or utcnow()
    person = _person(session, person_id)
    _refuse_demo_in_production(person.totp_secret, production)
    clean = _normalise(code)
    ok = False
    if enrolled(person) and clean.isdigit() and len(clean) == 6:
        step = _matching_step(person.totp_secret, clean, now)
        if step is not None and _use_step(session, person, step):
            ok = True
        else:
            reason = "replayed_code" if step is not None else "wrong_code"
            record_failure(session, person=person, address=address, reason=reason, now=now)
    elif len(clean) == 10:
        ok = _use_recovery_code(session, person, clean, address, now)
        if not ok:
            record_failure(
                session, person=person, address=address, reason="wrong_recovery_code", now=now
            )
    else:
        record_failure(session, person=person, address=address, reason="wrong_code", now=now)
    return ok


def _use_step(session: Session, person: Person, step: int) -> bool:
    """Mark `step` used, once: a conditional update, so of two checks racing with one code
    (the portal's sign-in and Slack, or two sign-ins) only one succeeds. PostgreSQL re-checks
    the condition after the other's commit; reading the last step first and writing it after
    would let both through (security re-review R7-1)."""
    used = session.execute(
        update(Person)
        .where(
            Person.id == person.id,
            or_(Person.totp_last_step.is_(None), Person.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:
        return False
    set_committed_value(person, "totp_last_step", step)  # the row as it now is
    return True


def _use_recovery_code(
    session: Session, person: Person, clean: str, address: str, now: datetime
) -> bool:
    hasher = _code_hasher()
    rows = session.execute(
        select(RecoveryCode).where(
            RecoveryCode.person_id == person.id, RecoveryCode.used_at.is_(None)
        )
    ).scalars()
    for row in rows:
        try:
            hasher.verify(row.code_hash, clean)
        except (VerificationError, InvalidHashError):
            continue
        # conditional, as _use_step: of two checks racing with one recovery code, one wins
        used = session.execute(
            update(RecoveryCode)
            .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        if used.rowcount != 1:
            return False
        set_committed_value(row, "used_at", now)
        left = session.execute(
            select(RecoveryCode.id).where(
                RecoveryCode.person_id == person.id,
                RecoveryCode.used_at.is_(None),
                RecoveryCode.id != row.id,
            )
        ).all()
        audit.record(
            session,
            actor=_actor(person),
            action="recovery_code_used",
            subject_type="person",
            subject_id=person.id,
            detail={"address": address, "codes_left": len(left)},
            now=now,
        )
        return True
    return False


@dataclass(frozen=True)
class EnrolmentCode:
    code: str  # shown once to the administrator, never stored in clear
    expires_at: datetime


def _require_admin(actor: Actor) -> None:
    if actor.role not in {"admin", "system"}:
        raise Forbidden("Only an administrator can reset a second factor or issue its code.")


def _issue(
    session: Session, *, actor: Actor, person: Person, valid_for: timedelta, now: datetime
) -> EnrolmentCode:
    """A new one-time enrolment code for `person`, replacing any earlier one. Audited."""
    code = _new_code()
    person.enrolment_code_hash = _code_hasher().hash(_normalise(code))
    person.enrolment_code_expires_at = now + valid_for
    audit.record(
        session,
        actor=actor,
        action="enrolment_code_issued",
        subject_type="person",
        subject_id=person.id,
        detail={"expires_at": person.enrolment_code_expires_at.isoformat()},
        now=now,
    )
    return EnrolmentCode(code=code, expires_at=person.enrolment_code_expires_at)


def _enrolment_code_matches(person: Person, typed: str, now: datetime) -> bool:
    expires = person.enrolment_code_expires_at
    if not person.enrolment_code_hash or expires is None or now >= expires:
        return False
    try:
        return _code_hasher().verify(person.enrolment_code_hash, _normalise(typed))
    except (VerificationError, InvalidHashError):
        return False


def _use_enrolment_code(session: Session, person: Person) -> bool:
    """Clear the code, once: a conditional update, so of two enrolments racing with the same
    code only one succeeds (PostgreSQL re-checks the condition after the other's commit)."""
    used = session.execute(
        update(Person)
        .where(Person.id == person.id, Person.enrolment_code_hash == person.enrolment_code_hash)
        .values(enrolment_code_hash=None, enrolment_code_expires_at=None)
    )
    return used.rowcount == 1


def _refuse_enrolment_code(
    session: Session, person: Person, address: str, now: datetime
) -> NoReturn:
    record_failure(session, person=person, address=address, reason="wrong_enrolment_code", now=now)
    session.commit()
    raise InvalidInput(
        "That enrolment code is not right, or has expired or been used. Ask an administrator "
        "for a new one.",
        field="enrolment_code",
    )


@unit_of_work
def issue_enrolment_code(
    *,
    session: Session,
    actor: Actor,
    person_id: int,
    valid_for: timedelta = ENROLMENT_CODE_LIFETIME,
    now: datetime | None = None,
) -> EnrolmentCode:
    """An admin gives a person whose role requires a second factor, and who has none, a fresh
    one-time enrolment code (the earlier one stops working). Audited. Commits."""
    _require_admin(actor)
    person = _person(session, person_id)
    if not required_for(person.role):
        raise InvalidInput(
            f"A {person.role} does not need an enrolment code: they set up two-factor sign-in "
            "from their account page."
        )
    if enrolled(person):
        raise InvalidInput(
            f"{person.email} already has a second factor. To replace it (a lost phone), use "
            "reset-two-factor, which issues an enrolment code."
        )
    return _issue(session, actor=actor, person=person, valid_for=valid_for, now=now or utcnow())


@unit_of_work
def reset(
    *,
    session: Session,
    actor: Actor,
    person_id: int,
    valid_for: timedelta = ENROLMENT_CODE_LIFETIME,
    now: datetime | None = None,
) -> EnrolmentCode | None:
    """An admin clears a person's second factor (a lost phone): all their sessions end, and
    they enrol again at their next sign-in with the one-time enrolment code returned here (None
    for a role that does not require a second factor). Audited. Commits."""
    _require_admin(actor)
    now = now or utcnow()
    person = _person(session, person_id)
    person.totp_secret = None
    person.totp_enrolled_at = None
    person.totp_last_step = None
    session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.person_id == person.id, RecoveryCode.used_at.is_(None))
        .values(used_at=now)
    )
    ended = sessions.revoke_all(session, user_id=person.id, now=now)
    audit.record(
        session,
        actor=actor,
        action="two_factor_reset",
        subject_type="person",
        subject_id=person.id,
        detail={"sessions_ended": ended},
        now=now,
    )
    if not required_for(person.role):
        person.enrolment_code_hash = None
        person.enrolment_code_expires_at = None
        return None
    return _issue(session, actor=actor, person=person, valid_for=valid_for, now=now)


def record_failure(
    session: Session,
    *,
    person: Person | None,
    address: str,
    reason: str,
    now: datetime | None = None,
) -> None:
    """Audit a failed sign-in step: the account when known, the client address and why. Never
    the password or the code; an unknown account's typed name is not kept either (it is often
    a password typed into the wrong box)."""
    detail = {"address": address[:100], "reason": reason}
    if person is not None:
        detail["account"] = person.email
    actor = Actor(
        user_id=None,
        role="anonymous",
        organisation_id=None,
        name=f"sign-in attempt from {address[:100]}",
    )
    audit.record(
        session,
        actor=actor,
        action="signin_failed",
        subject_type="person",
        subject_id=person.id if person is not None else None,
        detail=detail,
        now=now,
    )


def _actor(person: Person) -> Actor:
    return Actor(
        user_id=person.id,
        role=person.role,
        organisation_id=person.organisation_id,
        name=person.name,
    )


# -- the Slack duty desk's second factor -------------------------------------------------------
# Nothing is remembered after a right code: Slack's payloads cannot tell two clients of one
# user apart, so a standing window would serve a thief holding the worker's Slack session on
# another machine as well as the worker (security re-review R6-1). Each sensitive desk action
# carries its own code instead.

SLACK_FAILURE_WINDOW = timedelta(minutes=15)
SLACK_MAX_FAILURES = 5  # wrong codes typed into Slack in the window before Slack stops asking


@unit_of_work
def slack_step_up(
    *, session: Session, person_id: int, code: str, production: bool, action: str,
    item: str | None = None, now: datetime | None = None,
) -> str:
    """Check a second factor typed into Slack for one desk `action` (on `item`, e.g.
    "escalation:12"). "ok": a right code, now used up (audited as slack.step_up); "wrong": a
    wrong or replayed code (audited as slack.step_up_failed, and as a sign-in failure is);
    "wait": too many wrong codes lately, nothing checked."""
    now = now or utcnow()
    # the person's row locked first (PostgreSQL), so simultaneous codes are counted and
    # checked one at a time: no burst past the limit, no code accepted twice
    person = session.execute(
        select(Person).where(Person.id == person_id, Person.active.is_(True)).with_for_update()
    ).scalar_one_or_none()
    if person is None:
        raise NotFound("No active person matches that identity.")
    # only wrong codes typed into Slack count: wrong passwords at the portal (anyone who
    # knows the e-mail address can type those) must not lock the worker out of Slack
    recent = session.execute(
        select(AuditEntry.id).where(
            AuditEntry.action == "slack.step_up_failed", AuditEntry.subject_id == person.id,
            AuditEntry.at >= now - SLACK_FAILURE_WINDOW,
        )
    ).all()
    if len(recent) >= SLACK_MAX_FAILURES:
        return "wait"
    ok = verify.__wrapped__(session=session, person_id=person.id, code=code, address="slack",
                            production=production, now=now)
    audit.record(
        session,
        actor=_actor(person),
        action="slack.step_up" if ok else "slack.step_up_failed",
        subject_type="person",
        subject_id=person.id,
        detail={"channel": "slack", "action": action, "item": item},
        now=now,
    )
    return "ok" if ok else "wrong"
