"""The production profile, started once for the fault-injection suite (`make reliability`).

`python -m ops up` runs as production does (APP_ENV=production, PostgreSQL for the application
and the tracker store, Redis lock store, 2 Rasa + 2 action servers behind nginx, the portal,
the dispatcher) on free ports, throwaway databases and its own Redis database, with Slack
pointed at the local Slack API stub (tests/slack/slack_stub.py) so the duty channel can be
read. The supervisor restarts whatever dies: no test repairs anything by hand.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Engine as DbEngine

from loadtest.users import LoadUser, ensure_users
from mash.models import Escalation
from ops.config import StackConfig
from ops.private_redis import ensure_private_redis, stop_private_redis
from ops.stack import health, processes
from settings import ROOT, Settings

PG = "postgresql://postgres@127.0.0.1:5432"
REDIS_DB = 14  # the suite's own; the local production profile uses 3
STARTUP_SECONDS = 480
SLACK_TOKEN = "test-bot-token"  # noqa: S105 - the stub's fake token
USERS = 12


def say(message: str) -> None:
    print(f"    [reliability] {message}", flush=True)


def _load_stub() -> Any:
    spec = importlib.util.spec_from_file_location(
        "reliability_slack_stub", ROOT / "tests" / "slack" / "slack_stub.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def _free_base(count: int) -> int:
    """A base port with `count` consecutive free ports after it."""
    for _ in range(200):
        base = random.randrange(20000, 40000)
        try:
            for port in range(base, base + count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no free port range")


def _model() -> str:
    chosen = os.environ.get("RELIABILITY_MODEL") or os.environ.get("RASA_MODEL")
    if chosen:
        return chosen
    say("training (or finding) the Rasa model with scripts/train.sh")
    out = subprocess.run(
        ["scripts/train.sh"], cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True
    )
    return out.stdout.strip().splitlines()[-1]


def _psql(sql: str) -> None:
    engine = create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(sql))
    finally:
        engine.dispose()


def token() -> str:
    """A reference for a disclosure that survives redaction (letters only) and is unique."""
    return "zq" + "".join(random.choices(string.ascii_lowercase, k=12))


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    text: str
    token: str = ""

    @property
    def safety_shown(self) -> bool:
        said = " ".join(str(m.get("text", "")) for m in self.body.get("messages", []))
        return bool(self.body.get("safety_message")) and "999" in said


@dataclass
class Stack:
    env: dict[str, str]
    config: StackConfig
    settings: Settings
    stub: Any
    proc: subprocess.Popen
    db: DbEngine
    users: list[LoadUser] = field(default_factory=list)
    password: str = ""
    clients: dict[str, tuple[httpx.Client, str]] = field(default_factory=dict)

    # -- processes -------------------------------------------------------------------------
    def pids(self) -> dict[str, int]:
        return json.loads((self.config.run_dir / "pids.json").read_text(encoding="utf-8"))

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        pid = self.pids()[name]
        os.kill(pid, sig)
        say(f"sent {signal.Signals(sig).name} to {name} (pid {pid})")
        return pid

    def health(self) -> dict[str, str]:
        return health(processes(self.config, self.settings), self.config)

    def wait_healthy(self, timeout: float = 300.0, *, replaced: dict[str, int] | None = None):
        """Every health endpoint ok (and each process in `replaced` running with a new pid)."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.health()
            pids = self.pids()
            renewed = all(pids.get(n) not in (None, old) for n, old in (replaced or {}).items())
            if renewed and all(v == "ok" for v in status.values()):
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"not healthy after {timeout:.0f} s: {status}, pids {pids}")
            time.sleep(2)

    # -- talking through the portal -----------------------------------------------------------
    def client(self, user: LoadUser) -> tuple[httpx.Client, str]:
        if user.email not in self.clients:
            client = httpx.Client(
                base_url=self.config.portal_lb_url,
                timeout=60,
                verify=False,  # noqa: S501
            )  # loopback, self-signed certificate
            page = client.get("/signin").text
            csrf = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
            response = client.post(
                "/signin", data={"email": user.email, "password": self.password, "csrf_token": csrf}
            )
            assert response.status_code == 303, f"sign-in failed: {response.status_code}"
            self.clients[user.email] = (client, client.get("/api/me").json()["csrf_token"])
        return self.clients[user.email]

    def chat(self, user: LoadUser, message: str, ref: str = "") -> Reply:
        client, csrf = self.client(user)
        response = client.post("/api/chat", json={"text": message}, headers={"X-CSRF-Token": csrf})
        body = response.json() if response.status_code == 200 else {}
        return Reply(response.status_code, body, message, ref)

    def disclose(self, user: LoadUser) -> Reply:
        ref = token()
        message = f"a pupil told me her stepdad hit her last night, case note {ref}"
        return self.chat(user, message, ref)

    def disclose_all(self, people: list[LoadUser]) -> list[Reply]:
        replies = [self.disclose(user) for user in people]
        bad = [(r.status, r.text) for r in replies if r.status != 200]
        assert not bad, f"chat requests failed: {bad}"
        say(f"sent {len(replies)} disclosures through the portal (HTTP 200 each)")
        return replies

    def wait_normal(self, timeout: float = 120.0) -> int:
        """Ordinary messages answered by the assistant again, three in a row per user tried.
        Returns how many messages it took (a replica's stale connections may fail once)."""
        deadline = time.monotonic() + timeout
        sent, streak = 0, 0
        while streak < 3 * 2:
            user = self.users[sent % 2]
            reply = self.chat(user, "what does level 3 mean?")
            sent += 1
            ok = reply.status == 200 and reply.body.get("assistant_available")
            streak = streak + 1 if ok else 0
            if time.monotonic() > deadline:
                raise AssertionError(f"the assistant did not answer normally: {reply.body}")
            if not ok:
                time.sleep(1)
        return sent

    # -- what happened ------------------------------------------------------------------------
    def escalations_with(self, ref: str) -> list[int]:
        with self.db.connect() as connection:
            return list(
                connection.execute(
                    select(Escalation.id).where(Escalation.excerpt.contains(ref))
                ).scalars()
            )

    def duty_cards(self, escalation_id: int) -> list[dict[str, Any]]:
        key = f"card:escalation:{escalation_id}"
        return [
            m
            for m in self.stub.messages(self.settings.slack_duty_channel)
            if not m.get("thread_ts")
            and ((m.get("metadata") or {}).get("event_payload") or {}).get("key") == key
        ]

    def verify(self, replies: list[Reply], *, timeout: float = 120.0, settle: float = 8.0) -> None:
        """For each disclosure: the safety message was shown; exactly one escalation holds it;
        exactly one duty-channel card for it (waiting for delivery, then a settling time in
        which a late duplicate would show)."""
        disclosures = [r for r in replies if r.token]
        missing_safety = [r.token for r in disclosures if not r.safety_shown]
        assert not missing_safety, f"safety message not shown for {missing_safety}"
        say(f"checked: the safety message was shown for all {len(disclosures)} disclosures")
        deadline = time.monotonic() + timeout
        ids: dict[str, list[int]] = {}
        while time.monotonic() < deadline:
            ids = {r.token: self.escalations_with(r.token) for r in disclosures}
            if all(ids.values()) and all(len(self.duty_cards(v[0])) >= 1 for v in ids.values()):
                break
            time.sleep(1)
        lost = [t for t, v in ids.items() if not v]
        assert not lost, f"escalations lost: {lost}"
        doubled = {t: v for t, v in ids.items() if len(v) != 1}
        assert not doubled, f"escalations raised more than once: {doubled}"
        say(f"checked: each of the {len(ids)} disclosures is exactly one escalation")
        time.sleep(settle)
        cards = {t: len(self.duty_cards(v[0])) for t, v in ids.items()}
        assert all(n == 1 for n in cards.values()), f"duty-channel cards per escalation: {cards}"
        say(f"checked: each escalation was posted to the duty channel exactly once ({cards})")


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[Stack]:
    for tool in ("nginx", "pg_ctlcluster", "openssl"):
        if shutil.which(tool) is None:
            pytest.fail(f"the reliability suite needs {tool} (make prod installs nginx)")
    stub = _load_stub().SlackStub(token=SLACK_TOKEN).start()
    tag = f"{os.getpid()}_{secrets.token_hex(3)}"
    app_db, rasa_db = f"rel_app_{tag}", f"rel_rasa_{tag}"
    base = _free_base(12)  # ports base..base+9 (the last, Redis)
    run_dir = f"var/reliability-{tag}"
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "ACTION_SERVER_TOKEN": secrets.token_urlsafe(32),
        "CHANNEL_SECRET": secrets.token_urlsafe(32),
        "DATABASE_URL": f"{PG}/{app_db}",
        "TRACKER_DATABASE_URL": f"{PG}/{rasa_db}",
        # Production refuses an open Redis: the suite runs a private one, as `make prod` does.
        "REDIS_URL": f"redis://:{secrets.token_urlsafe(24)}@127.0.0.1:{base + 9}/{REDIS_DB}",
        "RASA_MODEL": _model(),
        "PROD_RUN_DIR": run_dir,
        "VAR_DIR": str(ROOT / run_dir / "app"),
        "RASA_PORT_BASE": str(base),
        "ACTIONS_PORT_BASE": str(base + 2),
        "PORTAL_PORT_BASE": str(base + 4),
        "DISPATCHER_HEALTH_PORT": str(base + 5),
        "LB_RASA_PORT": str(base + 6),
        "LB_ACTIONS_PORT": str(base + 7),
        "LB_PORTAL_PORT": str(base + 8),
        "SLACK_BOT_TOKEN": SLACK_TOKEN,
        "SLACK_SIGNING_SECRET": secrets.token_hex(16),
        "SLACK_API_URL": stub.api_url,
        "SLACK_DUTY_CHANNEL": "mash-duty",
        "DISPATCH_TARGETS": f"file:{ROOT / run_dir / 'outbox.jsonl'}",
        # Short leases so a killed dispatcher's messages are taken up again within seconds.
        "DISPATCH_LEASE_SECONDS": "12",
        "DISPATCH_INTERVAL": "0.5",
        "LOADTEST_PASSWORD": secrets.token_urlsafe(18),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("RASA_URL", None)
    env["RASA_URL"] = f"http://127.0.0.1:{base + 6}"
    config = StackConfig.from_env(env)
    settings = Settings.from_env(env)
    ensure_private_redis(env["REDIS_URL"], ROOT / run_dir / "redis")
    say(f"starting the production profile on ports {base}..{base + 8}, databases {app_db} and "
        f"{rasa_db}, Redis db {REDIS_DB}, model {env['RASA_MODEL']}")  # fmt: skip
    (ROOT / run_dir).mkdir(parents=True, exist_ok=True)
    log = open(ROOT / run_dir / "supervisor.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "ops", "up"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    db = create_engine(settings.database_url, pool_pre_ping=True)
    made = Stack(env=env, config=config, settings=settings, stub=stub, proc=proc, db=db)
    try:
        start = time.monotonic()
        while not (ROOT / run_dir / "pids.json").exists():
            assert proc.poll() is None, (ROOT / run_dir / "supervisor.log").read_text()
            time.sleep(1)
        made.wait_healthy(STARTUP_SECONDS)
        say(f"all processes healthy after {time.monotonic() - start:.0f} s")
        os.environ.update({"LOADTEST_PASSWORD": env["LOADTEST_PASSWORD"]})
        made.users, made.password = ensure_users(settings, USERS)
        yield made
    finally:
        for client, _ in made.clients.values():
            client.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        db.dispose()
        stub.stop()
        stop_private_redis(ROOT / run_dir / "redis")
        for name in (app_db, rasa_db):
            _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        say(f"stopped; logs kept in {run_dir}/logs")


@pytest.fixture(scope="session")
def users(stack: Stack) -> Callable[[int], list[LoadUser]]:
    """Users (conversations) for a test: the next slice each call, signed in before any fault
    (practitioners are signed in when things break; nobody can sign in without the database)."""
    taken = {"next": 2}  # users 0 and 1 are for wait_normal
    for user in stack.users:
        stack.client(user)

    def take(n: int) -> list[LoadUser]:
        start = taken["next"]
        taken["next"] += n
        return [stack.users[(start + i) % len(stack.users)] for i in range(n)]

    return take
