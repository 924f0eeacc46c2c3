"""`python -m ops VERB`: the production profile.

up            prepare, then start every process and supervise it (Ctrl-C stops all)
prepare       create the application and tracker databases if missing; migrate
check         probe every health endpoint; exit 1 if any is not ok
nginx-config  write the nginx configuration (default: <run dir>/nginx.conf)
rasa --port P exec one Rasa replica with the production endpoints (systemd uses this)
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from mash.migrate import upgrade
from mash.roles import grant_runtime, quote_role, runtime_role
from ops.config import StackConfig
from ops.stack import Supervisor, health, processes, rasa_argv, rasa_env, write_nginx
from private_files import private_dir
from settings import Settings, SettingsError

STARTUP_TIMEOUT_SECONDS = 420  # two Rasa replicas load their models on two busy cores


def ensure_database(url: str) -> bool:
    """Create the database `url` names if it does not exist (needs CREATEDB). True if created."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
            ).first()
            if exists:
                return False
            quoted = parsed.database.replace('"', '""')
            connection.execute(text(f'CREATE DATABASE "{quoted}"'))
            return True
    finally:
        admin.dispose()


def ensure_login_role(owner_url: str, runtime_url: str) -> bool:
    """Create the runtime role DATABASE_URL names, with its password, if it does not exist and
    the owner may create roles (a local `make prod`; on a server the DBA creates it,
    docs/operations.md). True if created."""
    role, password = make_url(runtime_url).username, make_url(runtime_url).password or ""
    admin = create_engine(make_url(owner_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            if connection.execute(
                text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}
            ).first():
                return False
            may_create = connection.execute(
                text("SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user")
            ).scalar_one()
            if not may_create:
                raise SystemExit(f"prepare: role {role} does not exist; create it (operations.md)")
            # Identifiers cannot be bound; quote_role admits plain names only.
            connection.execute(
                text(f"CREATE ROLE {quote_role(role)} LOGIN PASSWORD :password"),
                {"password": password},
            )
            return True
    finally:
        admin.dispose()


def cmd_prepare(config: StackConfig, settings: Settings) -> int:
    """Create missing databases, migrate as the owner, give the runtime role its grants."""
    for label, url in (
        ("application", settings.migration_url),
        ("tracker store", config.tracker_database_url),
    ):
        created = ensure_database(url)
        print(f"  {label} database {make_url(url).database}: {'created' if created else 'exists'}")
    upgrade(settings.migration_url)
    print("  application database migrated")
    role = runtime_role(settings.database_url, settings.migration_url)
    if role is None:
        print(
            "  WARNING: the services connect as the schema's owner; set DATABASE_OWNER_URL so "
            "the runtime role cannot alter tables or the audit triggers (docs/operations.md)"
        )
        return 0
    if ensure_login_role(settings.migration_url, settings.database_url):
        print(f"  runtime role {role}: created")
    grant_runtime_url(settings.migration_url, role)
    print(f"  runtime role {role}: DML only; audit_log SELECT/INSERT; no DDL")
    return 0


def grant_runtime_url(owner_url: str, role: str) -> None:
    engine = create_engine(make_url(owner_url))
    try:
        grant_runtime(engine, role)
    finally:
        engine.dispose()


def cmd_check(config: StackConfig, settings: Settings) -> int:
    status = health(processes(config, settings), config)
    for name, result in status.items():
        print(f"  {name:<14} {result}")
    return 0 if all(v == "ok" for v in status.values()) else 1


def cmd_up(config: StackConfig, settings: Settings) -> int:
    if not config.rasa_model or not Path(config.rasa_model).is_file():
        print(
            f"RASA_MODEL must name a trained model file (got {config.rasa_model!r})",
            file=sys.stderr,
        )
        return 2
    private_dir(config.run_dir)
    cmd_prepare(config, settings)
    supervisor = Supervisor(config, settings)

    def on_signal(signum: int, _frame: object) -> None:
        supervisor.stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(
        f"==> starting ({config.rasa_replicas} Rasa, {config.action_replicas} action "
        f"servers, {config.portal_replicas} portal, dispatcher, nginx); logs in "
        f"{config.run_dir / 'logs'}",
        flush=True,
    )
    try:
        supervisor.start_all()
        status = supervisor.wait_healthy(STARTUP_TIMEOUT_SECONDS)
        for name, result in status.items():
            print(f"  {name:<14} {result}", flush=True)
        if supervisor.stopping.is_set():
            return 0
        if not all(v == "ok" for v in status.values()):
            print("==> not every process became healthy; see the logs above", flush=True)
            return 1
        print(
            f"\n==> ready. Portal: {config.portal_lb_url}/  Rasa (loopback only): "
            f"{config.rasa_lb_url}  Health: python -m ops check. Ctrl-C stops everything.",
            flush=True,
        )
        supervisor.run()
        return 0
    finally:
        print("==> stopping", flush=True)
        supervisor.stop_all()
        print("==> stopped", flush=True)


def cmd_redis(config: StackConfig) -> int:
    """A Redis that answers REDIS_URL with its password: on loopback, the profile's own."""
    from ops.private_redis import LOOPBACK, answers, ensure_private_redis

    if urlsplit(config.redis_url).hostname in LOOPBACK:
        try:
            started = ensure_private_redis(config.redis_url, config.run_dir / "redis")
        except (ValueError, RuntimeError, OSError) as error:
            print(f"prod: Redis: {error}", file=sys.stderr)
            return 3
        print("==> private Redis " + ("started" if started else "already running"), flush=True)
        return 0
    if not answers(config.redis_url):
        print("prod: Redis does not answer at REDIS_URL with its password", file=sys.stderr)
        return 3
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="verb", required=True)
    sub.add_parser("up")
    sub.add_parser("prepare")
    sub.add_parser("check")
    nginx = sub.add_parser("nginx-config")
    nginx.add_argument("--out", type=Path)
    sub.add_parser("redis", help="check REDIS_URL answers; on loopback, start a private one")
    rasa = sub.add_parser("rasa")
    rasa.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        config = StackConfig.from_env()
    except SettingsError as error:  # a clear line, not a traceback, for an operator
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    if args.verb == "up":
        return cmd_up(config, settings)
    if args.verb == "prepare":
        return cmd_prepare(config, settings)
    if args.verb == "check":
        return cmd_check(config, settings)
    if args.verb == "redis":
        return cmd_redis(config)
    if args.verb == "nginx-config":
        print(write_nginx(config, args.out))
        return 0
    argv_rasa = rasa_argv(config, args.port)
    env = {**os.environ, **rasa_env(config, settings)}
    os.execve(argv_rasa[0], argv_rasa, env)  # noqa: S606 - our own argv, no shell
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
