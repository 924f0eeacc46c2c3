"""Fixtures shared by the test folders: the real guidance engine, the demo database, and the
end-to-end Rasa stack.

- `guidance_engine`: the configured pack's Engine, loaded once per run.
- `seed_database(url, settings)`: migrate a database and add the demo directory (any backend).
- `demo_db_template` / `demo_db_url`: a SQLite database migrated and seeded once per run, and a
  fresh copy of it for each test (same ids every time).
- `portal_sign_in(client, key)`: sign a portal test client in as a demo person (staff give the
  demo account's one-time code too); `csrf_of(client, path)`: the CSRF token a page carries.
- `rasa_stack`: Rasa and the action server on free loopback ports (tests/bot/test_bot_e2e.py's
  Stack), for the slow end-to-end tests; skipped if that file is not there.

Folder conftests build on these (tests/mash adds PostgreSQL; tests/guidance loads its own pack).
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from guidance.engine import Engine
from guidance.pack import load_pack
from mash import twofactor
from mash.clock import utcnow
from mash.db import make_engine, session_factory
from mash.demo import DEMO_PASSWORD, PEOPLE, seed_demo
from mash.migrate import upgrade
from settings import Settings

BOT_E2E = Path(__file__).resolve().parent / "bot" / "test_bot_e2e.py"


def migrate_and_seed(url: str, settings: Settings) -> None:
    """Bring the database at `url` to the newest schema and add the demo directory."""
    upgrade(url)
    db = make_engine(url=url)
    try:
        seed_demo(session_factory(db), settings=settings)
    finally:
        db.dispose()


@pytest.fixture(scope="session")
def seed_database() -> Callable[[str, Settings], None]:
    return migrate_and_seed


@pytest.fixture(scope="session")
def guidance_engine() -> Engine:
    return Engine(load_pack(Settings().pack_path))


@pytest.fixture(scope="session")
def demo_db_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo_db") / "template.db"
    url = f"sqlite:///{path}"
    migrate_and_seed(url, Settings(environment="test", database_url=url, var_dir=path.parent))
    # All connections are closed, so the WAL has been checkpointed into the file.
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    return path


@pytest.fixture()
def demo_db_url(demo_db_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "app.db"
    shutil.copyfile(demo_db_template, path)
    return f"sqlite:///{path}"


def page_csrf(client: Any, path: str = "/signin") -> str:
    """The CSRF token a portal page carries (in its <meta name="csrf-token">)."""
    html = client.get(path).text
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def give_demo_code(client: Any) -> Any:
    """The second sign-in step for a demo staff account (the shared development secret). A code
    is accepted once only, so a second sign-in within the same 30 s uses the next step's code
    (the portal accepts one step of clock drift)."""
    token = page_csrf(client, "/signin/code")
    for ahead in (0, twofactor.STEP_SECONDS):
        code = twofactor.current_code(
            twofactor.DEMO_TOTP_SECRET, utcnow() + timedelta(seconds=ahead)
        )
        response = client.post(
            "/signin/code", data={"code": code, "csrf_token": token}, follow_redirects=False
        )
        if response.status_code == 303:
            return response
    raise AssertionError(f"the demo code was refused: {response.status_code}")


def sign_in(client: Any, key: str) -> str:
    """Sign a portal test client in as the demo person `key` (staff give their one-time code
    too); returns the session's CSRF token."""
    token = page_csrf(client)
    response = client.post(
        "/signin",
        data={"email": PEOPLE[key]["email"], "password": DEMO_PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    if response.headers["location"] == "/signin/code":
        response = give_demo_code(client)
    assert not response.headers["location"].startswith("/signin"), response.headers["location"]
    return client.get("/api/me").json()["csrf_token"]


@pytest.fixture(scope="session")
def portal_sign_in() -> Callable[[Any, str], str]:
    return sign_in


@pytest.fixture(scope="session")
def csrf_of() -> Callable[..., str]:
    return page_csrf


def _bot_e2e() -> Any:
    """tests/bot/test_bot_e2e.py as a module (test folders are not packages)."""
    if not BOT_E2E.exists():
        pytest.skip("the bot's end-to-end stack (tests/bot/test_bot_e2e.py) is not there")
    spec = importlib.util.spec_from_file_location("shared_bot_e2e", BOT_E2E)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rasa_stack(tmp_path_factory) -> Iterator[Any]:
    """Rasa and the action server with a seeded SQLite, one per test module (slow tests)."""
    bot = _bot_e2e()
    stack = bot.Stack(tmp_path_factory.mktemp("rasa_stack"))
    try:
        stack.start(bot.model_path())
        yield stack
    finally:
        for name in list(stack.procs):
            stack.stop(name)
