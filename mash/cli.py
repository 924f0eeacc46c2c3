"""`python -m mash VERB`: the MASH service's admin command line.

Reads Settings.from_env() (DATABASE_URL etc.; `migrate` and `grant-runtime` connect as
DATABASE_OWNER_URL when it is set, see mash/roles.py). Commands that read escalations act as a named
person (`--as EMAIL`), with that person's access rules, and are audited like any other read.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from mash.access import Actor
from mash.errors import MashError
from settings import Settings

SYSTEM = Actor.system("cli")


def _factory(settings: Settings):  # type: ignore[no-untyped-def]
    from mash.db import make_engine, session_factory

    return session_factory(make_engine(settings))


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _actor(factory, email: str) -> Actor:  # type: ignore[no-untyped-def]
    from mash import directory

    with factory() as session:
        return directory.actor_for(session=session, email=email)


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Migrate as the owner (DATABASE_OWNER_URL, else DATABASE_URL); when the services connect
    as another PostgreSQL role, give it the runtime grants again (new tables need them)."""
    from mash.migrate import current, upgrade
    from mash.roles import runtime_role

    owner_url = settings.migration_url
    upgrade(owner_url)
    print(f"database at revision {current(owner_url)}")
    role = runtime_role(settings.database_url, owner_url)
    if role is not None:
        _grant(owner_url, role)
    return 0


def cmd_grant_runtime(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy.engine import make_url

    if make_url(settings.migration_url).get_backend_name() != "postgresql":
        print("error: runtime grants are for PostgreSQL only", file=sys.stderr)
        return 2
    _grant(settings.migration_url, args.role)
    return 0


def _grant(owner_url: str, role: str) -> None:
    from mash.db import make_engine
    from mash.roles import grant_runtime

    engine = make_engine(url=owner_url)
    try:
        grant_runtime(engine, role)
    finally:
        engine.dispose()
    print(f"runtime role {role}: DML on the tables, SELECT/INSERT only on audit_log, no DDL")


def cmd_seed_demo(args: argparse.Namespace, settings: Settings) -> int:
    from mash.demo import credentials_text, seed_demo

    try:
        demo = seed_demo(_factory(settings), settings=settings)
    except RuntimeError as error:  # production: a refusal, not a crash
        print(f"error: {error}", file=sys.stderr)
        return 1
    print("demo directory created" if demo.created else "demo directory already present")
    print(credentials_text(demo))
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from mash import consultations, escalations

    factory = _factory(settings)
    actor = _actor(factory, args.as_email)
    with factory() as session:
        if args.consultations:
            rows = consultations.list_consultations(
                session=session,
                actor=actor,
                status=args.status,
                open_only=args.open,
                limit=args.limit,
            )
        else:
            rows = escalations.list_escalations(
                session=session,
                actor=actor,
                status=args.status,
                urgency=args.urgency,
                open_only=args.open,
                limit=args.limit,
            )
    _print_json([r.to_dict() for r in rows])
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from mash import consultations, escalations

    factory = _factory(settings)
    actor = _actor(factory, args.as_email)
    with factory() as session:
        if args.consultation:
            view = consultations.get_consultation(
                session=session, actor=actor, consultation_id=args.id
            )
        else:
            view = escalations.get_escalation(session=session, actor=actor, escalation_id=args.id)
    _print_json(view.to_dict())
    return 0


def cmd_import_schools(args: argparse.Namespace, settings: Settings) -> int:
    from mash.schools_import import import_file

    with _factory(settings)() as session:
        report = import_file(
            session=session,
            actor=SYSTEM,
            path=Path(args.csv),
            la_code=args.la,
            include_closed=args.include_closed,
        )
    print(
        f"imported schools from {args.csv} ({report.encoding}): {report.created} created, "
        f"{report.updated} updated, {report.skipped_closed} closed skipped, "
        f"{report.skipped_other_la} in other local authorities skipped"
    )
    return 0


def _enrolment_lifetime(settings: Settings) -> timedelta:
    return timedelta(hours=settings.enrolment_code_hours)


def _enrolment_code_text(email: str, issued: Any) -> str:
    return (
        f"one-time enrolment code for {email}: {issued.code}\n"
        f"  valid until {issued.expires_at:%Y-%m-%d %H:%M} UTC, once. Give it to them in person "
        "or by phone, not by e-mail: they type it with their password to set up two-factor "
        "sign-in."
    )


def cmd_create_user(args: argparse.Namespace, settings: Settings) -> int:
    """Prints the new person as JSON; for a role that requires a second factor, with the
    one-time `enrolment_code` (and `enrolment_code_expires_at`) they need to set it up."""
    from sqlalchemy import select

    from mash import directory, twofactor
    from mash.models import Organisation

    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif args.password:
        password = getpass.getpass("Password: ")
    with _factory(settings)() as session:
        org_id = args.organisation_id
        if args.urn:
            org_id = session.execute(
                select(Organisation.id).where(Organisation.urn == args.urn)
            ).scalar()
            if org_id is None:
                raise MashError(f"No organisation has URN {args.urn}.")
        person = directory.create_user(
            session=session,
            actor=SYSTEM,
            name=args.name,
            email=args.email,
            role=args.role,
            organisation_id=org_id,
            password=password,
            slack_user_id=args.slack_user_id,
            phone=args.phone,
        )
        shown = person.to_dict()
        if twofactor.required_for(person.role):
            issued = twofactor.issue_enrolment_code(
                session=session,
                actor=SYSTEM,
                person_id=person.id,
                valid_for=_enrolment_lifetime(settings),
            )
            shown["enrolment_code"] = issued.code
            shown["enrolment_code_expires_at"] = issued.expires_at
    _print_json(shown)
    return 0


def build_targets(args: argparse.Namespace) -> dict[str, Any]:
    from mash.targets import FileTarget, LogTarget, SmtpTarget

    targets: dict[str, Any] = {}
    for spec in args.target or ["log"]:
        audience, _, spec = spec.rpartition("=")
        kind, _, rest = spec.partition(":")
        if kind == "log":
            target: Any = LogTarget()
        elif kind == "file":
            target = FileTarget(rest or str(Path("var") / "outbox.jsonl"), pause=args.pause)
        elif kind == "smtp":
            host, _, port = rest.partition(":")
            if not args.mail_from:
                raise MashError("An smtp target needs --mail-from.")
            target = SmtpTarget(
                host=host or "localhost",
                port=int(port or 25),
                sender=args.mail_from,
                duty_address=args.duty_email,
            )
        else:
            raise MashError(f"Unknown target {spec!r}: use log, file:PATH or smtp:HOST:PORT.")
        targets[audience or "*"] = target
    return targets


def cmd_dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from mash.dispatcher import Dispatcher, Policy
    from mash.notifications import with_inbox

    factory = _factory(settings)
    # The portal's notifications always go to its inbox table, whatever else is configured.
    targets = with_inbox(build_targets(args), factory)
    if settings.slack_bot_token:  # Slack in front; what it cannot reach goes to the targets above
        from slack_app.target import with_slack

        targets = with_slack(targets, settings=settings, sessions=factory)
    dispatcher = Dispatcher(
        factory=factory,
        targets=targets,
        settings=settings,
        policy=Policy(lease_seconds=args.lease_seconds, batch=args.batch),
    )
    if args.once:
        report = dispatcher.run_once()
        print(json.dumps(report.__dict__))
        return 0
    print(f"dispatcher {dispatcher.owner} running (Ctrl-C to stop)", flush=True)
    try:
        dispatcher.run_forever(interval=args.interval)
    except KeyboardInterrupt:
        pass
    return 0


def cmd_purge(args: argparse.Namespace, settings: Settings) -> int:
    from mash.retention import purge

    with _factory(settings)() as session:
        report = purge(session=session, settings=settings)
    print(
        f"purged text older than {report.cutoff:%Y-%m-%d %H:%M} UTC: "
        f"{report.escalations} escalations, "
        f"{report.consultations} consultations, "
        f"{report.questions} unanswered questions"
    )
    return 0


def cmd_purge_sessions(args: argparse.Namespace, settings: Settings) -> int:
    from mash import sessions
    from mash.clock import utcnow

    with _factory(settings)() as session:
        removed = sessions.purge(
            session, lifetimes=sessions.Lifetimes.from_settings(settings), now=utcnow()
        )
        session.commit()
    print(f"removed {removed} ended portal sessions")
    return 0


def cmd_totp(args: argparse.Namespace, settings: Settings) -> int:
    """The current code of a demo account (development only: the shared demo secret)."""
    from sqlalchemy import select

    from mash import twofactor
    from mash.models import Person

    if settings.is_production:
        print("error: demo codes are for development only", file=sys.stderr)
        return 1
    with _factory(settings)() as session:
        person = session.execute(
            select(Person).where(Person.email == args.email.strip().lower())
        ).scalar_one_or_none()
    if person is None or person.totp_secret != twofactor.DEMO_TOTP_SECRET:
        print("error: not a demo account with the development TOTP secret", file=sys.stderr)
        return 1
    print(twofactor.current_code(twofactor.DEMO_TOTP_SECRET))
    return 0


def cmd_reset_two_factor(args: argparse.Namespace, settings: Settings) -> int:
    from mash import directory, twofactor

    factory = _factory(settings)
    admin = _actor(factory, args.as_email)
    with factory() as session:
        person = directory.actor_for(session=session, email=args.email)
        issued = twofactor.reset(
            session=session,
            actor=admin,
            person_id=person.user_id,
            valid_for=_enrolment_lifetime(settings),
        )
    print(f"second factor reset for {args.email}: they set it up again at their next sign-in")
    if issued is not None:
        print(_enrolment_code_text(args.email, issued))
    return 0


def cmd_enrolment_code(args: argparse.Namespace, settings: Settings) -> int:
    from mash import directory, twofactor

    factory = _factory(settings)
    admin = _actor(factory, args.as_email)
    with factory() as session:
        person = directory.actor_for(session=session, email=args.email)
        issued = twofactor.issue_enrolment_code(
            session=session,
            actor=admin,
            person_id=person.user_id,
            valid_for=_enrolment_lifetime(settings),
        )
    print(_enrolment_code_text(args.email, issued))
    return 0


def cmd_figures(args: argparse.Namespace, settings: Settings) -> int:
    from mash import agreement
    from mash.figures import SOURCE_KINDS, to_csv, weekly_figures

    factory = _factory(settings)
    actor = _actor(factory, args.as_email) if args.as_email else SYSTEM
    since = date.fromisoformat(args.since) if args.since else None
    until = date.fromisoformat(args.until) if args.until else None
    if args.agreement:
        # Expected against decided: counts only (the examples stay in the audited dashboard).
        with factory() as session:
            result = agreement.agreement_figures(
                session=session, actor=actor, since=since, until=until
            )
        if args.csv:
            sys.stdout.write(agreement.to_csv(result, SOURCE_KINDS))
        else:
            _print_json(result.to_dict())
        return 0
    with factory() as session:
        rows = weekly_figures(session=session, actor=actor, since=since, until=until)
    if args.csv:
        sys.stdout.write(to_csv(rows))
    else:
        _print_json([r.to_dict() for r in rows])
    return 0


def cmd_gaps(args: argparse.Namespace, settings: Settings) -> int:
    """The gap list's records as JSON lines (a manager's read, audited), for
    `python -m guidance gaps --from -`, which groups them by topic."""
    from mash.gaps import list_gaps

    factory = _factory(settings)
    actor = _actor(factory, args.as_email)
    with factory() as session:
        records = list_gaps(session=session, actor=actor)
    for record in records:
        print(json.dumps(record.to_dict(), ensure_ascii=False))
    return 0


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from mash.bench import run

    return run(
        database_url=args.database_url,
        escalations=args.escalations,
        raises=args.raises,
        var_dir=settings.var_dir,
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m mash", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "migrate",
        help="upgrade the database to the newest schema (as DATABASE_OWNER_URL if set) and "
        "re-grant DATABASE_URL's role",
    )
    s = sub.add_parser(
        "grant-runtime",
        help="PostgreSQL: give ROLE the runtime privileges (no DDL; audit rows insert-only)",
    )
    s.add_argument("role")
    sub.add_parser("seed-demo", help="create the fictional demo directory (development only)")
    for name, helptext in (
        ("list", "list escalations (or --consultations) as JSON"),
        ("show", "show one escalation (or --consultation) as JSON"),
    ):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("--as", dest="as_email", required=True, help="act as this person (e-mail)")
        if name == "list":
            s.add_argument("--consultations", action="store_true")
            s.add_argument("--status")
            s.add_argument("--urgency")
            s.add_argument("--open", action="store_true", help="open items, most urgent first")
            s.add_argument("--limit", type=int, default=50)
        else:
            s.add_argument("id", type=int)
            s.add_argument("--consultation", action="store_true")
    s = sub.add_parser("import-schools", help="import a schools register (GIAS) CSV extract")
    s.add_argument("csv")
    s.add_argument("--la", help="only this local authority code (Wirral: 344)")
    s.add_argument("--include-closed", action="store_true")
    s = sub.add_parser(
        "create-user",
        help="add a person to the directory (staff roles: prints their one-time enrolment code)",
    )
    s.add_argument("--name", required=True)
    s.add_argument("--email", required=True)
    s.add_argument("--role", required=True)
    s.add_argument("--organisation-id", type=int)
    s.add_argument("--urn", help="the organisation by school URN")
    s.add_argument("--slack-user-id")
    s.add_argument("--phone")
    s.add_argument("--password", action="store_true", help="prompt for a password")
    s.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    s = sub.add_parser("dispatch", help="deliver the outbox (and run the deadline checks)")
    s.add_argument("--once", action="store_true", help="one pass, then exit")
    s.add_argument(
        "--target",
        action="append",
        help="[AUDIENCE=]log | file:PATH | smtp:HOST:PORT (repeatable; default log)",
    )
    s.add_argument("--mail-from")
    s.add_argument("--duty-email", help="address for duty-desk messages (smtp target)")
    s.add_argument("--interval", type=float, default=2.0)
    s.add_argument("--lease-seconds", type=float, default=60.0)
    s.add_argument("--batch", type=int, default=20)
    s.add_argument(
        "--pause", type=float, default=0.0, help="file target: pause after each delivery"
    )
    sub.add_parser("purge", help="remove conversation text past the retention period")
    sub.add_parser("purge-sessions", help="delete ended portal sessions")
    s = sub.add_parser("totp", help="print a demo account's current sign-in code (development)")
    s.add_argument("email")
    s = sub.add_parser(
        "reset-two-factor",
        help="clear a person's second factor and print their one-time enrolment code (admins)",
    )
    s.add_argument("email")
    s.add_argument("--as", dest="as_email", required=True, help="the administrator (e-mail)")
    s = sub.add_parser(
        "enrolment-code",
        help="print a fresh one-time code for staff to set up two-factor sign-in (admins)",
    )
    s.add_argument("email")
    s.add_argument("--as", dest="as_email", required=True, help="the administrator (e-mail)")
    s = sub.add_parser("figures", help="weekly dashboard figures (JSON, or --csv)")
    s.add_argument("--csv", action="store_true")
    s.add_argument("--agreement", action="store_true",
                   help="expected against decided levels: the matrices by source and category, "
                   "and the commonest disagreements (counts)")
    s.add_argument("--as", dest="as_email")
    s.add_argument("--since")
    s.add_argument("--until")
    s = sub.add_parser("gaps", help="questions answered without confidence, as JSON lines "
                       "(MASH managers; pipe to `python -m guidance gaps --from -`)")
    s.add_argument("--as", dest="as_email", required=True, help="the MASH manager (e-mail)")
    s = sub.add_parser("bench", help="time raising escalations and the figures over 100,000 rows")
    s.add_argument(
        "--database-url", help="an EMPTY throwaway database (default: a new SQLite file)"
    )
    s.add_argument("--escalations", type=int, default=100_000)
    s.add_argument("--raises", type=int, default=300)
    return p


COMMANDS = {
    "migrate": cmd_migrate,
    "grant-runtime": cmd_grant_runtime,
    "seed-demo": cmd_seed_demo,
    "list": cmd_list,
    "show": cmd_show,
    "import-schools": cmd_import_schools,
    "create-user": cmd_create_user,
    "dispatch": cmd_dispatch,
    "purge": cmd_purge,
    "purge-sessions": cmd_purge_sessions,
    "totp": cmd_totp,
    "reset-two-factor": cmd_reset_two_factor,
    "enrolment-code": cmd_enrolment_code,
    "figures": cmd_figures,
    "gaps": cmd_gaps,
    "bench": cmd_bench,
}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(name)s %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines are noise here
    settings = Settings.from_env()
    try:
        return COMMANDS[args.command](args, settings)
    except MashError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
