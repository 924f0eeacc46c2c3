"""A small fictional directory for development and demonstrations (never for production).

Two schools, a GP practice and the MASH, with a DSL for each school, a deputy, a GP, two duty
social workers, a manager and an admin, and the MASH's named contacts. Practitioners and duty
workers have phone numbers (0151 000 ...): the MASH rings a raiser back on theirs. Every name,
number, URN and address is invented. All demo users share one fixed development password, and
the staff who need a second factor one fixed DEVELOPMENT TOTP secret, both printed by `python -m
mash seed-demo`; seeding refuses to run in production, and so does the TOTP check for that secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from mash import directory, twofactor
from mash.access import Actor
from mash.clock import utcnow
from mash.models import Person
from settings import Settings

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - development only; refused in production
SYSTEM = Actor.system("seed-demo")


@dataclass(frozen=True)
class DemoDirectory:
    organisations: dict[str, int]
    people: dict[str, int]  # key -> people.id
    emails: dict[str, str]
    created: bool


ORGANISATIONS = {
    "mash": dict(kind="mash", name="Wirral MASH (demo)"),
    "oakfield": dict(
        kind="school",
        name="Oakfield Primary School (fictional)",
        urn="999001",
        la_code="344",
        la_name="Wirral",
        type_name="Community school",
        phase="Primary",
        town="Birkenhead",
        postcode="CH41 0ZZ",
        area="Birkenhead",
    ),
    "riverside": dict(
        kind="school",
        name="Riverside High School (fictional)",
        urn="999002",
        la_code="344",
        la_name="Wirral",
        type_name="Academy converter",
        phase="Secondary",
        town="Wallasey",
        postcode="CH44 0ZZ",
        area="Wallasey",
    ),
    "harbour": dict(
        kind="gp_practice",
        name="Harbour Medical Centre (fictional)",
        la_code="344",
        la_name="Wirral",
        town="Birkenhead",
        postcode="CH41 9ZZ",
        area="Birkenhead",
    ),
}
PEOPLE = {
    "duty": dict(
        name="Sam Okafor",
        email="sam.okafor@mash.example",
        role="mash_worker",
        org="mash",
        slack_user_id="UDEMODUTY1",
        phone="0151 000 0001",
    ),
    "duty2": dict(
        name="Alex Reid",
        email="alex.reid@mash.example",
        role="mash_worker",
        org="mash",
        slack_user_id="UDEMODUTY2",
        phone="0151 000 0002",
    ),
    "manager": dict(
        name="Morgan Hale",
        email="morgan.hale@mash.example",
        role="mash_manager",
        org="mash",
        slack_user_id="UDEMOMGR01",
    ),
    "admin": dict(name="Pat Admin", email="admin@mash.example", role="admin", org=None),
    "oakfield_dsl": dict(
        name="Dana Price",
        email="dana.price@oakfield.example",
        role="dsl",
        org="oakfield",
        slack_user_id="UDEMODSL01",
        phone="0151 000 1101",
    ),
    "oakfield_deputy": dict(
        name="Lee Carter",
        email="lee.carter@oakfield.example",
        role="deputy_dsl",
        org="oakfield",
        phone="0151 000 1102",
    ),
    "riverside_dsl": dict(
        name="Jordan Ellis",
        email="jordan.ellis@riverside.example",
        role="dsl",
        org="riverside",
        slack_user_id="UDEMODSL02",
        phone="0151 000 1201",
    ),
    "gp": dict(
        name="Dr Gita Rao",
        email="gita.rao@harbour.example",
        role="gp",
        org="harbour",
        phone="0151 000 1301",
    ),
}


def seed_demo(
    factory: sessionmaker, *, settings: Settings, password: str = DEMO_PASSWORD
) -> DemoDirectory:
    """Create the demo directory unless it is there already (then just report it)."""
    if settings.is_production:
        raise RuntimeError(
            "the demo directory is for development only; refusing to seed production"
        )
    with factory() as session:
        already = (
            session.execute(
                select(Person.id).where(Person.email == PEOPLE["admin"]["email"])
            ).first()
            is not None
        )
    if already:
        _give_staff_the_demo_totp(factory)  # a database seeded before two-factor sign-in
        _give_demo_phones(factory)  # ...or before the practitioners had callback numbers
        return _describe(factory, created=False)
    orgs: dict[str, int] = {}
    with factory() as session:
        for key, fields in ORGANISATIONS.items():
            orgs[key] = directory.create_organisation(session=session, actor=SYSTEM, **fields).id
        people: dict[str, int] = {}
        for key, p in PEOPLE.items():
            person = directory.create_user(
                session=session,
                actor=SYSTEM,
                name=p["name"],
                email=p["email"],
                role=p["role"],
                organisation_id=orgs[p["org"]] if p["org"] else None,
                password=password,
                slack_user_id=p.get("slack_user_id"),
                phone=p.get("phone"),
            )
            people[key] = person.id
        directory.set_named_contact(
            session=session,
            actor=SYSTEM,
            person_id=people["duty"],
            organisation_id=orgs["oakfield"],
            note="Named contact for Oakfield",
        )
        directory.set_named_contact(
            session=session,
            actor=SYSTEM,
            person_id=people["duty2"],
            area="Wallasey",
            note="Named contact for Wallasey schools",
        )
        directory.set_named_contact(
            session=session,
            actor=SYSTEM,
            person_id=people["duty"],
            area="Birkenhead",
            note="Named contact for Birkenhead",
        )
    _give_staff_the_demo_totp(factory)
    return _describe(factory, created=True)


def _give_demo_phones(factory: sessionmaker) -> None:
    """Demo people seeded without a phone get the one PEOPLE lists (never replaces one)."""
    phones = {p["email"]: p["phone"] for p in PEOPLE.values() if p.get("phone")}
    with factory() as session:
        for person in session.execute(select(Person).where(Person.email.in_(phones))).scalars():
            if not person.phone:
                person.phone = phones[person.email]
        session.commit()


def _give_staff_the_demo_totp(factory: sessionmaker) -> None:
    """Demo staff (two-factor required) share DEMO_TOTP_SECRET, so `make run` stays one command:
    `python -m mash totp EMAIL` prints the current code. Never replaces a real enrolment."""
    emails = [p["email"] for p in PEOPLE.values() if twofactor.required_for(p["role"])]
    with factory() as session:
        for person in session.execute(select(Person).where(Person.email.in_(emails))).scalars():
            if person.totp_secret is None:
                person.totp_secret = twofactor.DEMO_TOTP_SECRET
                person.totp_enrolled_at = utcnow()
        session.commit()


def _describe(factory: sessionmaker, *, created: bool) -> DemoDirectory:
    from mash.models import Organisation

    with factory() as session:
        names = {fields["name"]: key for key, fields in ORGANISATIONS.items()}
        orgs = {
            names[o.name]: o.id
            for o in session.execute(select(Organisation)).scalars()
            if o.name in names
        }
        emails = {p["email"]: key for key, p in PEOPLE.items()}
        people = {
            emails[p.email]: p.id
            for p in session.execute(select(Person)).scalars()
            if p.email in emails
        }
    return DemoDirectory(
        organisations=orgs,
        people=people,
        emails={k: p["email"] for k, p in PEOPLE.items()},
        created=created,
    )


def credentials_text(demo: DemoDirectory) -> str:
    lines = ["Demo users (development only), all with password: " + DEMO_PASSWORD]
    for p in PEOPLE.values():
        code = "  + code" if twofactor.required_for(p["role"]) else ""
        lines.append(f"  {p['role']:<13} {p['email']:<34} {p['name']}{code}")
    lines += [
        "Staff (+ code) also give a one-time code: DEVELOPMENT TOTP secret "
        + twofactor.DEMO_TOTP_SECRET,
        "  (add it to an authenticator app, or print the current code with",
        "   .venv/bin/python -m mash totp EMAIL)",
    ]
    return "\n".join(lines)
