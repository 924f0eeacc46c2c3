"""Fuzzing fixtures: the portal in-process (TestClient) on a migrated, demo-seeded SQLite, with
Rasa pointed at a closed port (the relay's own guarantees answer), signed-in clients per role,
a log watcher, and the count of generated inputs.

FUZZ_EXAMPLES=full (make fuzz) runs the full count (at least 10,000 generated inputs, checked at
the end of the session); otherwise a quick run for make test.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fuzz_helpers import CLOSED_PORT_URL, COUNTS, FULL, FULL_TARGET, STATUSES

from app_context import AppContext
from guidance.engine import Engine
from guidance.pack import load_pack
from schools_portal import create_app
from schools_portal.app import SESSION_COOKIE
from settings import Settings


class LogWatch(logging.Handler):
    """Collects log records that carry a traceback or report an unhandled error."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.bad: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.exc_info or "Traceback" in message or "Exception in ASGI" in message:
            self.bad.append(f"{record.name}: {message[:300]}")


@pytest.fixture(scope="session")
def log_watch() -> Iterator[LogWatch]:
    watch = LogWatch()
    logging.getLogger().addHandler(watch)
    yield watch
    logging.getLogger().removeHandler(watch)


@pytest.fixture(autouse=True)
def no_tracebacks_logged(log_watch: LogWatch) -> Iterator[None]:
    before = len(log_watch.bad)
    yield
    assert log_watch.bad[before:] == [], "unhandled exceptions were logged"


@pytest.fixture(scope="session")
def fuzz_settings_obj(tmp_path_factory, seed_database) -> Settings:
    var_dir: Path = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{var_dir / 'portal.db'}"
    settings_ = Settings(
        environment="test",
        database_url=url,
        var_dir=var_dir,
        rasa_url=CLOSED_PORT_URL,
        secret_key="fuzz-test-secret-key-not-for-production",
        channel_secret="fuzz-test-channel-secret",
    )
    seed_database(url, settings_)
    return settings_


@pytest.fixture(scope="session")
def context(fuzz_settings_obj: Settings) -> Iterator[AppContext]:
    engine = Engine(load_pack(fuzz_settings_obj.pack_path))
    context = AppContext.build(fuzz_settings_obj, guidance=engine)
    yield context
    context.close()


@pytest.fixture(scope="session")
def app(fuzz_settings_obj: Settings, context: AppContext):
    return create_app(fuzz_settings_obj, context=context)


@pytest.fixture(scope="session")
def signed_in(app, portal_sign_in) -> Iterator[dict[str, tuple[TestClient, str]]]:
    """role key -> (a signed-in client, its CSRF token), one sign-in per person per run."""
    clients: dict[str, tuple[TestClient, str]] = {}
    for key in ("oakfield_dsl", "duty", "manager"):
        client = TestClient(app)
        client.__enter__()
        clients[key] = (client, portal_sign_in(client, key))
    yield clients
    for client, _ in clients.values():
        client.__exit__(None, None, None)


@pytest.fixture(scope="session")
def session_cookies(signed_in) -> dict[str, tuple[str, str]]:
    return {key: (c.cookies[SESSION_COOKIE], token) for key, (c, token) in signed_in.items()}


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001
    if not COUNTS:
        return
    total = sum(COUNTS.values())
    terminalreporter.write_sep("-", f"fuzz: {total:,} generated inputs")
    for name, count in sorted(COUNTS.items()):
        terminalreporter.write_line(f"  {name:<40} {count:>7,}")
    reached = ", ".join(f"{k}: {v}" for k, v in sorted(STATUSES.items()))
    terminalreporter.write_line(f"  responses: {reached}")
    if FULL and total < FULL_TARGET:
        terminalreporter.write_line(f"  FEWER THAN {FULL_TARGET:,}: the full run fails")


def pytest_sessionfinish(session, exitstatus) -> None:  # noqa: ANN001
    if FULL and COUNTS and sum(COUNTS.values()) < FULL_TARGET and exitstatus == 0:
        session.exitstatus = 1
