"""The admin command line, run as a real process against a fresh database."""

import io
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """Runs `python -m mash ARGS` in-process (the entry point itself is tested separately)."""
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "APP_ENV": "test",
        "VAR_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    def run(*args, stdin=None, ok=True):
        from mash.cli import main

        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin or ""))
        code = main(list(args))
        out, err = capsys.readouterr()
        result = subprocess.CompletedProcess(args, code, out, err)
        if ok:
            assert code == 0, err
        return result

    return run


def test_python_dash_m_mash_runs(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}", "APP_ENV": "test"}
    result = subprocess.run(
        [sys.executable, "-m", "mash", "migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and "database at revision" in result.stdout, result.stderr


def test_cli_end_to_end(cli, tmp_path):
    assert "database at revision" in cli("migrate").stdout
    seeded = cli("seed-demo").stdout
    assert "demo-password-2026" in seeded and "dana.price@oakfield.example" in seeded
    assert "already present" in cli("seed-demo").stdout

    imported = cli("import-schools", str(DATA / "schools_cp1252.csv"), "--la", "344").stdout
    assert "2 created" in imported and "cp1252" in imported
    bad = cli("import-schools", str(DATA / "schools_malformed.csv"), ok=False)
    assert (
        bad.returncode == 1
        and "line 3: URN '99X105'" in bad.stderr
        and "Traceback" not in bad.stderr
    )

    made = cli(
        "create-user",
        "--name",
        "Kim DSL",
        "--email",
        "kim@stbrigid.example",
        "--role",
        "dsl",
        "--urn",
        "990101",
        "--password-stdin",
        stdin="a long password\n",
    )
    assert json.loads(made.stdout)["role"] == "dsl"
    refused = cli(
        "create-user",
        "--name",
        "X",
        "--email",
        "x@y.example",
        "--role",
        "dsl",
        "--organisation-id",
        "9999",
        ok=False,
    )
    assert "no organisation with id 9999" in refused.stderr

    # Raise one through the service, then look at it through the CLI as different people.
    from mash import escalations
    from mash.access import ChannelIdentity
    from mash.db import make_engine, session_factory

    engine = make_engine(url=f"sqlite:///{tmp_path / 'cli.db'}")
    with session_factory(engine)() as s:
        esc = escalations.raise_escalation(
            session=s,
            identity=ChannelIdentity(channel="portal", sender="x", user_id="5"),
            message_id="cli-1",
            urgency="immediate",
            categories=["neglect"],
            text="call 07700 900000",
        )
    engine.dispose()
    listed = json.loads(cli("list", "--as", "sam.okafor@mash.example", "--open").stdout)
    assert [e["id"] for e in listed] == [esc.id]
    shown = json.loads(cli("show", str(esc.id), "--as", "sam.okafor@mash.example").stdout)
    assert shown["excerpt"] == "call [phone]"
    hidden = cli("show", str(esc.id), "--as", "jordan.ellis@riverside.example", ok=False)
    assert hidden.returncode == 1 and "was not found" in hidden.stderr

    out = tmp_path / "sent.jsonl"
    report = json.loads(cli("dispatch", "--once", "--target", f"file:{out}").stdout)
    assert report["delivered"] == 1 and out.exists()
    assert "0 escalations" in cli("purge").stdout
    figures_csv = cli("figures", "--csv", "--as", "morgan.hale@mash.example").stdout
    assert figures_csv.splitlines()[0].startswith("week_start,contacts,escalations")
    assert len(figures_csv.splitlines()) == 2

    # Expected against decided: the agreement matrix through the same command (issue 16).
    from mash import directory
    from mash.models import Person

    engine = make_engine(url=f"sqlite:///{tmp_path / 'cli.db'}")
    with session_factory(engine)() as s:
        worker = s.query(Person).filter_by(email="sam.okafor@mash.example").one()
        actor = directory.actor_for(session=s, user_id=worker.id)
        decided = escalations.raise_escalation(
            # Another sender (unverified): not a further message joined to cli-1.
            session=s, identity=ChannelIdentity(channel="slack", sender="U123"),
            message_id="cli-2", urgency="concern", categories=["neglect"], text="a worry",
            expected_level=2, expected_source="check",
        )
        escalations.pick_up(session=s, actor=actor, escalation_id=decided.id)
        escalations.record_outcome(session=s, actor=actor, escalation_id=decided.id,
                                   outcome_code="early_help_taf", decided_level=3,
                                   decided_route="early_help_multi_agency")
    engine.dispose()
    matrix = cli("figures", "--agreement", "--csv", "--as", "morgan.hale@mash.example").stdout
    lines = matrix.splitlines()
    assert lines[0] == "table,group,expected_level,decided_level,count"
    assert "overall,all,2,3,1" in lines and "disagreement,all,2,3,1" in lines
    assert "source,unknown,2,3,1" in lines
    assert "source,gp_practice,2,3,0" in lines  # every source kind, zeros too
    weekly = cli("figures", "--csv").stdout.splitlines()
    assert weekly[0].endswith(",levels_compared,levels_agreed") and weekly[1].endswith(",1,0")
    as_json = json.loads(cli("figures", "--agreement").stdout)
    assert as_json["overall"]["compared"] == 1 and as_json["overall"]["mash_higher"] == 1


SAM = "sam.okafor@mash.example"


def production_env(tmp_path) -> dict[str, str]:
    """A complete production configuration (Settings.from_env accepts it). Its database server
    does not exist: each refusal must come before any connection."""
    return {
        **os.environ,
        "APP_ENV": "production",
        "DATABASE_URL": "postgresql+psycopg2://app@db.invalid/app",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "ACTION_SERVER_TOKEN": secrets.token_urlsafe(32),
        "CHANNEL_SECRET": secrets.token_urlsafe(32),
        "REDIS_URL": f"redis://:{secrets.token_urlsafe(24)}@127.0.0.1:6379/15",
        "VAR_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
    }


def run_mash(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "mash", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_seeding_the_demo_directory_refuses_production(tmp_path):
    from sqlalchemy import func, select

    from mash.db import make_engine, session_factory
    from mash.demo import seed_demo
    from mash.migrate import upgrade
    from mash.models import Person
    from settings import Settings

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade(url)
    engine = make_engine(url=url)
    try:
        production = Settings(environment="production", database_url=url, var_dir=tmp_path)
        with pytest.raises(RuntimeError, match="refusing to seed production"):
            seed_demo(session_factory(engine), settings=production)
        with session_factory(engine)() as session:
            assert session.execute(select(func.count(Person.id))).scalar_one() == 0
    finally:
        engine.dispose()

    refused = run_mash(production_env(tmp_path), "seed-demo")
    assert refused.returncode == 1 and "refusing to seed production" in refused.stderr
    assert "Traceback" not in refused.stderr  # a one-line refusal
    assert "demo-password-2026" not in refused.stdout + refused.stderr


def test_mash_totp_prints_a_demo_code_but_refuses_in_production(settings, capsys, tmp_path):
    import argparse
    from dataclasses import replace
    from datetime import datetime, timedelta, timezone

    from mash import cli as mash_cli
    from mash import twofactor

    args = argparse.Namespace(email=SAM)
    assert mash_cli.cmd_totp(args, settings) == 0  # the demo account, outside production
    code = capsys.readouterr().out.strip()
    now = datetime.now(timezone.utc)
    # The demo secret's code (this step or the next, if the step changed in between): the
    # account holds the demo secret in this database...
    assert code in {
        twofactor.current_code(twofactor.DEMO_TOTP_SECRET, now + timedelta(seconds=ahead))
        for ahead in (-twofactor.STEP_SECONDS, 0)
    }
    production = replace(settings, environment="production")
    assert mash_cli.cmd_totp(args, production) == 1  # ...yet production prints no code
    out, err = capsys.readouterr()
    assert out == "" and "demo codes are for development only" in err

    refused = run_mash(production_env(tmp_path), "totp", SAM)
    assert refused.returncode == 1 and refused.stdout == ""
    assert "demo codes are for development only" in refused.stderr


ENROLMENT_CODE = r"\b[a-z2-9]{5}-[a-z2-9]{5}\b"


def run_cmd(settings, *argv):
    """One CLI command in-process on the test's database (settings as Settings.from_env)."""
    from mash import cli as mash_cli
    from mash.errors import MashError

    args = mash_cli.parser().parse_args(list(argv))
    try:
        return mash_cli.COMMANDS[args.command](args, settings)
    except MashError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def enrolment_rows(factory, email):
    from sqlalchemy import select

    from mash.models import AuditEntry, Person

    with factory() as session:
        person = session.execute(select(Person).where(Person.email == email)).scalar_one()
        audits = (
            session.execute(
                select(AuditEntry)
                .where(AuditEntry.subject_id == person.id)
                .where(AuditEntry.action == "enrolment_code_issued")
                .order_by(AuditEntry.id)
            )
            .scalars()
            .all()
        )
        return person, audits


def test_create_user_for_a_staff_role_prints_a_one_time_enrolment_code(
    settings, factory, capsys, monkeypatch
):
    import re
    from datetime import datetime, timedelta, timezone

    monkeypatch.setattr(sys, "stdin", io.StringIO("a long password\n"))
    made = run_cmd(
        settings,
        *("create-user", "--name", "Lee Admin", "--email", "lee@mash.example"),
        *("--role", "admin", "--password-stdin"),
    )
    assert made == 0, capsys.readouterr().err
    out = json.loads(capsys.readouterr().out)
    assert out["role"] == "admin"
    code = out["enrolment_code"]
    assert re.fullmatch(ENROLMENT_CODE, code)
    person, (issued,) = enrolment_rows(factory, "lee@mash.example")
    # Stored only as an argon2id hash, with a 72-hour expiry; the issue is audited.
    assert person.enrolment_code_hash.startswith("$argon2id$")
    assert code.replace("-", "") not in person.enrolment_code_hash
    expected = datetime.now(timezone.utc) + timedelta(hours=72)
    assert abs(person.enrolment_code_expires_at - expected) < timedelta(minutes=5)
    assert code not in str(issued.detail) and issued.actor_role == "system"

    # A practitioner (second factor optional) gets no code.
    made = run_cmd(
        settings,
        *("create-user", "--name", "Kim", "--email", "kim@oakfield.example"),
        *("--role", "dsl", "--urn", "999001"),
    )
    assert made == 0, capsys.readouterr().err
    assert "enrolment_code" not in json.loads(capsys.readouterr().out)


def test_an_admin_issues_a_fresh_enrolment_code_from_the_command_line(settings, factory, capsys):
    import re

    assert run_cmd(settings, "reset-two-factor", SAM, "--as", "admin@mash.example") == 0
    first = re.findall(ENROLMENT_CODE, capsys.readouterr().out)
    assert len(first) == 1
    person, audits = enrolment_rows(factory, SAM)
    assert len(audits) == 1 and person.enrolment_code_hash

    assert run_cmd(settings, "enrolment-code", SAM, "--as", "admin@mash.example") == 0
    fresh = re.findall(ENROLMENT_CODE, capsys.readouterr().out)
    assert len(fresh) == 1 and fresh != first
    person, audits = enrolment_rows(factory, SAM)
    assert len(audits) == 2 and audits[-1].actor_role == "admin"

    # Only an administrator; only for a role that needs a second factor, not yet enrolled.
    assert run_cmd(settings, "enrolment-code", SAM, "--as", "morgan.hale@mash.example") == 1
    assert "Only an administrator" in capsys.readouterr().err
    dsl = "dana.price@oakfield.example"
    assert run_cmd(settings, "enrolment-code", dsl, "--as", "admin@mash.example") == 1
    assert "does not need" in capsys.readouterr().err
    enrolled = "morgan.hale@mash.example"
    assert run_cmd(settings, "enrolment-code", enrolled, "--as", "admin@mash.example") == 1
    assert "already" in capsys.readouterr().err
    assert len(enrolment_rows(factory, SAM)[1]) == 2


def test_gaps_exports_records_for_managers_only(cli, tmp_path):
    from mash import gaps
    from mash.db import make_engine, session_factory

    cli("migrate")
    cli("seed-demo")
    factory = session_factory(make_engine(url=f"sqlite:///{tmp_path / 'cli.db'}"))
    with factory() as session:
        gaps.record_gap(session=session, text="What is a care order? ring 07700 900123",
                        topic="section:special-guardianship", role="gp")
    out = cli("gaps", "--as", "morgan.hale@mash.example").stdout
    records = [json.loads(line) for line in out.splitlines()]
    assert [(r["text"], r["topic"], r["role"]) for r in records] == [
        ("What is a care order? ring [phone]", "section:special-guardianship", "gp")]
    refused = cli("gaps", "--as", "dana.price@oakfield.example", ok=False)
    assert refused.returncode == 1 and "Only MASH managers" in refused.stderr
