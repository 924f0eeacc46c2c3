"""Benchmark (not a test): page and API latency under concurrent users.

`python -m schools_portal.bench [--users 20] [--rounds 10]` migrates and seeds a temporary
SQLite database (the demo directory plus open escalations and consultations), starts the
portal with `python -m schools_portal` on a free loopback port in its own process, signs in
the users (DSLs, GPs, duty workers and managers; sign-in is not timed), then has every user
walk its pages and API calls `--rounds` times at once, pausing `--think` seconds (jittered
+-50%) between requests as a person reading a page would; `--think 0` measures saturation
instead (every user firing back to back). Prints p50/p95/max per endpoint. Rasa
is pointed at a closed port, so /api/chat measures the portal's own part (risk screen and
escalation) without waiting on Rasa; the target p95 < 150 ms applies to the other endpoints.

Meanwhile `--queue-watchers` MASH staff tabs (default 20) keep the live queue open as
static/js/queue.js does: each loads /queue once (untimed: its view token) and then asks for
`/api/queue?view=...` every `--poll` seconds (5); those updates are timed as
"live queue update".
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx

from mash import consultations, escalations, twofactor
from mash.access import ChannelIdentity
from mash.db import make_engine, session_factory
from mash.demo import DEMO_PASSWORD, PEOPLE, seed_demo
from mash.migrate import upgrade
from settings import ROOT, Settings

TARGET_P95_MS = 150.0
# Who the 20 users are, in turn.
ROLES = ["oakfield_dsl", "riverside_dsl", "gp", "oakfield_deputy", "duty", "duty2", "manager"]
PRACTITIONER_WALK = [
    ("page /school", "GET", "/school"),
    ("page /chat", "GET", "/chat"),
    ("page /guidance", "GET", "/guidance"),
    ("page /guidance/levels/3", "GET", "/guidance/levels/3"),
    ("page /guidance/sections/consent", "GET", "/guidance/sections/consent"),
    ("page /guidance/search", "GET", "/guidance/search?q=when+do+I+need+consent"),
    ("api /api/school", "GET", "/api/school"),
    ("api /api/escalations", "GET", "/api/escalations"),
    ("api /api/chat (Rasa down)", "POST", "/api/chat"),
]
MASH_WALK = [
    ("page /queue", "GET", "/queue"),
    ("api /api/queue", "GET", "/api/queue"),
    ("page /queue/escalations/{id}", "GET", "/queue/escalations/{id}"),
    ("api /api/escalations/{id}", "GET", "/api/escalations/{id}"),
    ("page /guidance/levels/3", "GET", "/guidance/levels/3"),
]
MANAGER_EXTRA = [
    ("page /dashboard", "GET", "/dashboard"),
    ("api /api/figures", "GET", "/api/figures"),
    ("api /api/figures.csv", "GET", "/api/figures.csv"),
]
CHAT_TEXTS = ["What does level 2 mean?", "When do I need consent to refer?",
              "Who is our named contact in the MASH?"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(tmp: Path, items: int) -> str:
    url = f"sqlite:///{tmp / 'bench.db'}"
    settings = Settings(environment="test", database_url=url, var_dir=tmp)
    upgrade(url)
    db = make_engine(url=url)
    sessions = session_factory(db)
    demo = seed_demo(sessions, settings=settings)
    for n in range(items):
        key = ("oakfield_dsl", "riverside_dsl", "gp")[n % 3]
        identity = ChannelIdentity(
            # a conversation per item, so each is an escalation of its own rather than a
            # further message joining the same person's open one (mash/followups.py)
            channel="portal", sender=f"portal-{demo.people[key]}-{n}",
            user_id=str(demo.people[key]), role=PEOPLE[key]["role"],
            organisation_id=demo.organisations[PEOPLE[key]["org"]],
        )
        with sessions() as session:
            escalations.raise_escalation(
                session=session, identity=identity, message_id=f"bench-{n}",
                urgency=("immediate", "concern")[n % 2], categories=["neglect"],
                text="A bench escalation.",
            )
        if n % 2 == 0:
            with sessions() as session:
                consultations.request_consultation(
                    session=session, identity=identity, topic="A bench consultation.",
                    callback_number="0151 000 0000",
                )
    db.dispose()
    return url


def start_portal(tmp: Path, url: str, port: int) -> subprocess.Popen:
    env = os.environ | {
        "APP_ENV": "test",
        "DATABASE_URL": url,
        "VAR_DIR": str(tmp),
        "RASA_URL": "http://127.0.0.1:9",
        "SECRET_KEY": "bench-secret-key-0123456789",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    log = open(tmp / "portal.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "schools_portal", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the portal exited; see {tmp / 'portal.log'}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.5)
    process.terminate()
    raise SystemExit("the portal did not start within 180 s")


def sign_in(base: str, key: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=30)
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/signin").text).group(1)
    response = client.post("/signin", data={"email": PEOPLE[key]["email"],
                                            "password": DEMO_PASSWORD, "csrf_token": token})
    if response.status_code == 303 and response.headers["location"] == "/signin/code":
        # Staff give the demo account's one-time code (development secret).
        page = client.get("/signin/code").text
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        code = twofactor.current_code(twofactor.DEMO_TOTP_SECRET)
        response = client.post("/signin/code", data={"code": code, "csrf_token": token})
    if response.status_code != 303 or response.headers["location"].startswith("/signin"):
        raise SystemExit(f"sign-in as {key} failed: {response.status_code}")
    return client, client.get("/api/me").json()["csrf_token"]


def walk(key: str) -> list[tuple[str, str, str]]:
    if key in ("duty", "duty2"):
        return MASH_WALK
    if key == "manager":
        return MASH_WALK + MANAGER_EXTRA
    return PRACTITIONER_WALK


def run_user(client: httpx.Client, token: str, key: str, rounds: int, item_id: int,
             think: float, seed: int, timings: dict[str, list[float]], errors: list[str],
             lock: threading.Lock) -> None:
    jitter = random.Random(seed)
    for r in range(rounds):
        for label, method, path in walk(key):
            if think:
                time.sleep(think * jitter.uniform(0.5, 1.5))
            path = path.format(id=item_id)
            start = time.perf_counter()
            if method == "POST":
                response = client.post(path, json={"text": CHAT_TEXTS[r % len(CHAT_TEXTS)]},
                                       headers={"X-CSRF-Token": token})
            else:
                response = client.get(path)
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                timings[label].append(elapsed)
                if response.status_code != 200:
                    errors.append(f"{label}: {response.status_code}")


QUEUE_UPDATE = "live queue update (/api/queue?view)"
STAFF = ("duty", "duty2", "manager")


def watch_queue(client: httpx.Client, poll: float, seed: int, stop: threading.Event,
                timings: dict[str, list[float]], errors: list[str], lock: threading.Lock) -> None:
    """One open queue page: its view token, then an update every `poll` seconds."""
    view = re.search(r'data-view="([^"]+)"', client.get("/queue").text).group(1)
    stop.wait(poll * random.Random(seed).random())  # tabs opened at different moments
    while not stop.is_set():
        start = time.perf_counter()
        response = client.get("/api/queue", params={"view": view})
        elapsed = (time.perf_counter() - start) * 1000
        with lock:
            timings[QUEUE_UPDATE].append(elapsed)
            if response.status_code != 200:
                errors.append(f"{QUEUE_UPDATE}: {response.status_code}")
        stop.wait(poll)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m schools_portal.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--items", type=int, default=30, help="open escalations to seed")
    parser.add_argument("--think", type=float, default=1.0,
                        help="seconds between one user's requests (0: back to back)")
    parser.add_argument("--queue-watchers", type=int, default=20,
                        help="MASH staff tabs keeping the live queue open meanwhile")
    parser.add_argument("--poll", type=float, default=5.0,
                        help="seconds between a queue tab's updates (queue.js: 5)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp_name:
        tmp = Path(tmp_name)
        url, item_id = prepare(tmp, args.items), 1  # the oldest open escalation
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        print(f"starting the portal on {base} ...", flush=True)
        process = start_portal(tmp, url, port)
        try:
            keys = [ROLES[n % len(ROLES)] for n in range(args.users)]
            # One sign-in per person (a staff code is accepted once only); further users of
            # the same person are more tabs: their own client holding that session's cookie.
            signed: dict[str, tuple[httpx.Client, str]] = {}
            users = []
            for key in keys + [STAFF[n % len(STAFF)] for n in range(args.queue_watchers)]:
                if key not in signed:
                    signed[key] = sign_in(base, key)
                    users.append(signed[key])
                else:
                    first, token = signed[key]
                    tab = httpx.Client(base_url=base, timeout=30, cookies=first.cookies)
                    users.append((tab, token))
            for client, _ in users:  # warm each page once, untimed
                client.get("/")
            timings: dict[str, list[float]] = defaultdict(list)
            errors: list[str] = []
            lock = threading.Lock()
            walkers, watchers = users[: len(keys)], users[len(keys):]
            threads = [
                threading.Thread(target=run_user, args=(client, token, key, args.rounds, item_id,
                                                        args.think, n, timings, errors, lock))
                for n, ((client, token), key) in enumerate(zip(walkers, keys, strict=True))
            ]
            stop = threading.Event()
            watching = [
                threading.Thread(target=watch_queue,
                                 args=(client, args.poll, n, stop, timings, errors, lock))
                for n, (client, _) in enumerate(watchers)
            ]
            for thread in watching:
                thread.start()
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - started
            stop.set()
            for thread in watching:
                thread.join()
            for client, _ in users:
                client.close()
        finally:
            process.terminate()
            process.wait(timeout=30)
    total = sum(len(v) for v in timings.values())
    print(f"\n{args.users} concurrent users, {args.rounds} rounds, think time {args.think:g} s, "
          f"{args.queue_watchers} live queue tabs updating every {args.poll:g} s: "
          f"{total} requests in {wall:.1f} s ({total / wall:.0f} requests/s)\n")
    print(f"{'endpoint':<36} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    failed = []
    for label in sorted(timings):
        values = timings[label]
        p50, p95 = statistics.median(values), percentile(values, 95)
        mark = ""
        if "Rasa" not in label and p95 > TARGET_P95_MS:
            mark = "  over target"
            failed.append(label)
        print(f"{label:<36} {len(values):>5} {p50:>8.1f} {p95:>8.1f} {max(values):>8.1f}{mark}")
    if errors:
        print(f"\n{len(errors)} responses were not 200, e.g. {errors[:5]}")
    print(f"\ntarget: p95 < {TARGET_P95_MS:.0f} ms for endpoints that do not wait on Rasa: "
          + ("met" if not failed else f"missed by {len(failed)} endpoint(s)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
