"""Nothing committed is lost: a dispatcher killed mid-delivery, a writer killed mid-run, and
(PostgreSQL) every server connection terminated while escalations are being raised.

These start real processes (`python -m mash ...`) and kill them with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from mash import escalations
from mash.models import Escalation, EscalationMessage, OutboxMessage
from mash.targets import read_file_target

ROOT = Path(__file__).resolve().parents[2]


def _env(db_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "APP_ENV": "test",
        "VAR_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _dispatcher(db_url: str, tmp_path: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mash",
            "dispatch",
            "--target",
            f"file:{out}",
            "--lease-seconds",
            "2",
            "--interval",
            "0.1",
            "--batch",
            "3",
            *extra,
        ],
        cwd=ROOT,
        env=_env(db_url, tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _progress(committed: list, more: int = 10) -> None:
    start = len(committed)
    _wait(lambda: len(committed) >= start + more, 20, f"{more} more commits")


def _lines(path: Path) -> int:
    return read_file_target(path)[0]


def test_dispatcher_killed_mid_delivery_delivers_each_message_exactly_once_to_the_receiver(
    factory, raise_esc, db_url, tmp_path
):
    for _ in range(8):
        raise_esc()
    with factory() as s:
        keys = set(s.execute(select(OutboxMessage.idempotency_key)).scalars())
    assert len(keys) == 8
    out = tmp_path / "received.jsonl"

    # First dispatcher pauses 1 s after each write: kill it inside that pause, i.e. after the
    # receiver got the message and before the outbox row was marked delivered.
    first = _dispatcher(db_url, tmp_path, out, "--pause", "1.0")
    try:
        _wait(lambda: _lines(out) >= 2, 30, "two deliveries")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    _, received = read_file_target(out)
    with factory() as s:
        in_flight = (
            s.execute(
                select(OutboxMessage.idempotency_key).where(
                    OutboxMessage.status == "pending", OutboxMessage.lease_owner.isnot(None)
                )
            )
            .scalars()
            .all()
        )
    # The kill landed mid-delivery: a message the receiver has is still leased and pending.
    assert set(in_flight) & set(received), (in_flight, list(received))

    second = _dispatcher(db_url, tmp_path, out)
    try:

        def all_delivered() -> bool:
            with factory() as s:
                return (
                    s.execute(
                        select(func.count()).where(OutboxMessage.status != "delivered")
                    ).scalar_one()
                    == 0
                )

        _wait(all_delivered, 30, "every message delivered after the restart")
    finally:
        second.terminate()
        second.wait(10)
    deliveries, shown = read_file_target(out)
    assert set(shown) == keys  # the idempotent receiver shows each message exactly once
    assert deliveries > len(keys)  # ...though one was delivered twice (at least once, not at most)
    assert deliveries - len(keys) == len(set(in_flight) & set(received))


WRITER = r"""
import sys
from mash.access import ChannelIdentity
from mash.db import make_engine, session_factory
from mash import escalations
factory = session_factory(make_engine(url=sys.argv[1]))
identity = ChannelIdentity(channel="portal", sender="w", user_id=sys.argv[2])
i = 0
with factory() as session:
    while True:
        view = escalations.raise_escalation(
            session=session, identity=identity, message_id=f"w-{i}", urgency="immediate",
            categories=["neglect"], text="x" * 500)
        print(view.id, flush=True)  # printed only after the commit returned
        i += 1
"""


def test_writer_killed_mid_run_loses_nothing_committed(factory, demo, db_url, tmp_path, engine):
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, db_url, str(demo.people["oakfield_dsl"])],
        cwd=ROOT,
        env=_env(db_url, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    committed: list[int] = []
    try:
        for line in proc.stdout:
            committed.append(int(line))
            if len(committed) >= 40:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(committed) >= 40, proc.stderr.read()
    engine.dispose()
    with factory() as s:
        stored = set(s.execute(select(Escalation.id)).scalars())
        messages = set(s.execute(select(OutboxMessage.subject_id)).scalars())
    assert set(committed) <= stored  # every acknowledged commit is there
    assert stored <= messages  # and no escalation without its notification
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgres_connections_killed_mid_run_lose_nothing(factory, engine, identity_of):
    """Every server connection of this test's own database is terminated (pg_terminate_backend),
    three times, while a thread raises escalations. Restarting the whole cluster would cut off
    colleagues sharing this server, so that is not done here."""
    database = engine.url.database
    stop = threading.Event()
    committed: list[str] = []
    errors: list[str] = []

    def writer() -> None:
        i = 0
        with factory() as session:
            while not stop.is_set():
                message_id = f"pg-{i}"
                try:
                    escalations.raise_escalation(
                        session=session,
                        identity=identity_of("oakfield_dsl"),
                        message_id=message_id,
                        urgency="immediate",
                        categories=["neglect"],
                        text="x",
                    )
                except OperationalError as error:  # the caller retries: the raise is idempotent
                    errors.append(type(error.orig).__name__)
                    time.sleep(0.05)
                    continue
                committed.append(message_id)
                i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    terminated = 0
    from mash.db import make_engine

    admin = make_engine(url=str(engine.url.set(database="postgres")), isolation_level="AUTOCOMMIT")
    try:
        for _ in range(3):
            _progress(committed)
            with admin.connect() as conn:
                terminated += conn.execute(
                    text(
                        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                        "FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": database},
                ).scalar_one()
        _progress(committed)
    finally:
        stop.set()
        thread.join(20)
        admin.dispose()
    assert terminated >= 3
    # The same person about the same child ("x": no details) within minutes: the first raised
    # an escalation and the rest joined it as further messages (mash/followups.py); every
    # committed message is stored once, as the escalation or as a further message.
    with factory() as s:
        raised = list(s.execute(select(Escalation.message_id)).scalars())
        joined = list(s.execute(select(EscalationMessage.message_id)).scalars())
        counts = list(s.execute(select(Escalation.message_count)).scalars())
    stored = set(raised) | set(joined)
    assert set(committed) <= stored
    assert len(raised) + len(joined) == len(stored)  # no retry made a duplicate
    assert sum(counts) == len(stored)  # each escalation counts the messages it holds
