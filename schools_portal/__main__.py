"""`python -m schools_portal [--host H] [--port P]`: migrate the database, seed the demo
directory in development when it is empty, print the address and demo accounts, and serve."""

from __future__ import annotations

import argparse
import logging

import uvicorn
from sqlalchemy import func, select

from mash.db import make_engine, session_factory
from mash.demo import PEOPLE, credentials_text, seed_demo
from mash.migrate import upgrade
from mash.models import Person
from private_files import private_dir
from schools_portal.access_log import log_config
from schools_portal.app import create_app
from settings import Settings


def prepare_database(settings: Settings) -> str | None:
    """Migrate; in development seed the demo directory if nobody is in it. Returns the demo
    accounts' description when they exist (development only), else None."""
    private_dir(settings.var_dir)
    upgrade(settings.migration_url)
    if settings.environment != "development":
        return None
    db = make_engine(settings)
    try:
        sessions = session_factory(db)
        with sessions() as session:
            people = session.execute(select(func.count(Person.id))).scalar_one()
            has_demo = session.execute(
                select(Person.id).where(Person.email == PEOPLE["admin"]["email"])
            ).first()
        if people == 0:
            return credentials_text(seed_demo(sessions, settings=settings))
        # A directory that is not empty is left alone; its demo accounts, if any, are listed.
        return credentials_text(seed_demo(sessions, settings=settings)) if has_demo else None
    finally:
        db.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m schools_portal", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    accounts = prepare_database(settings)
    print(f"\nSchools portal: http://{args.host}:{args.port}/  ({settings.environment})")
    if accounts:
        print(accounts)
    print(flush=True)
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        proxy_headers=False,  # client addresses feed the sign-in rate limit: do not trust headers
        log_level="info",
        log_config=log_config(),  # the access log without query strings (search text)
    )


if __name__ == "__main__":
    main()
