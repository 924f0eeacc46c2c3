"""Load-test practitioners: DSLs of one fictional school, created in the target's database on
first use. Their password is LOADTEST_PASSWORD, or one generated on first use and kept in
<VAR_DIR>/loadtest-password (mode 600): never a password committed to the repository."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from mash import directory
from mash.access import Actor
from mash.db import make_engine, session_factory
from mash.models import Organisation, Person
from private_files import private_dir
from settings import Settings

SCHOOL = "Load-test Primary School (fictional)"
SYSTEM = Actor.system("loadtest")


@dataclass(frozen=True)
class LoadUser:
    email: str
    person_id: int
    organisation_id: int


def email_for(i: int) -> str:
    return f"loadtest-{i:03d}@loadtest.invalid"


def password(settings: Settings) -> str:
    given = os.environ.get("LOADTEST_PASSWORD")
    if given:
        return given
    path = Path(settings.var_dir) / "loadtest-password"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    private_dir(path.parent)
    value = secrets.token_urlsafe(18)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)
    return value


def ensure_users(settings: Settings, count: int, first: int = 1) -> tuple[list[LoadUser], str]:
    """`count` load-test users from number `first` (created if missing) and their password."""
    secret = password(settings)
    db = make_engine(settings)
    try:
        sessions = session_factory(db)
        with sessions() as session:
            org_id = session.execute(
                select(Organisation.id).where(Organisation.name == SCHOOL)
            ).scalar()
        if org_id is None:
            with sessions() as session:
                org_id = directory.create_organisation(
                    session=session, actor=SYSTEM, kind="school", name=SCHOOL, area="Birkenhead"
                ).id
        users: list[LoadUser] = []
        for i in range(first, first + count):
            email = email_for(i)
            with sessions() as session:
                person_id = session.execute(select(Person.id).where(Person.email == email)).scalar()
            if person_id is None:
                with sessions() as session:
                    person_id = directory.create_user(
                        session=session,
                        actor=SYSTEM,
                        name=f"Load Test {i:03d}",
                        email=email,
                        role="dsl",
                        organisation_id=org_id,
                        password=secret,
                    ).id
            users.append(LoadUser(email=email, person_id=person_id, organisation_id=org_id))
        return users, secret
    finally:
        db.dispose()
