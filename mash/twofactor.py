"""Two-factor sign-in: time-based one-time codes (TOTP, RFC 6238, via pyotp) and one-time
recovery codes.

Required for the roles that can read every escalation (MASH workers and managers) and for
admins; optional for everyone else. A code is accepted once only (the last accepted time step
is kept), recovery codes are stored as argon2id hashes and each works once. Enrolment, the use
of a recovery code and an admin's reset are audited; so is every failed code.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mash import audit, sessions
from mash.access import Actor
from mash.clock import utcnow
from mash.db import unit_of_work
from mash.errors import Forbidden, InvalidInput, NotFound
from mash.models import Person, RecoveryCode

REQUIRED_ROLES = frozenset({"mash_worker", "mash_manager", "admin"})
ISSUER = "Safeguarding portal"
STEP_SECONDS = 30
RECOVERY_CODES = 10
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


def _new_recovery_code() -> str:
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
    now: datetime | None = None,
) -> Enrolment:
    """Confirm enrolment with a code from the new secret; replaces any earlier enrolment and
    its recovery codes. Raises InvalidInput (and audits) for a wrong code."""
    now = now or utcnow()
    person = _person(session, person_id)
    _refuse_demo_in_production(secret, production)
    step = _matching_step(secret, _normalise(code), now)
    if step is None:
        record_failure(
            session, person=person, address=address, reason="wrong_code_at_enrolment", now=now
        )
        session.commit()
        raise InvalidInput(
            "That code does not match. Check the time on your phone and try again.", field="code"
        )
    person.totp_secret = secret
    person.totp_enrolled_at = now
    person.totp_last_step = step
    codes = _replace_recovery_codes(session, person, now)
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
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
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
        if step is not None and step > (person.totp_last_step or -1):
            person.totp_last_step = step
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
        row.used_at = now
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


@unit_of_work
def reset(*, session: Session, actor: Actor, person_id: int, now: datetime | None = None) -> None:
    """An admin clears a person's second factor (a lost phone): they enrol again at their next
    sign-in, and all their sessions end. Audited. Commits."""
    if actor.role not in {"admin", "system"}:
        raise Forbidden("Only an administrator can reset a second factor.")
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
