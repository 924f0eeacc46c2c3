"""`python -m loadtest MODE`: bounded load against the production profile, loopback only.

  portal    realistic conversations through the portal's chat JSON API (nginx in front),
            signed in as load-test DSLs with the session's CSRF header
  replicas  the same mix straight into Rasa's signed channel: one replica alone, then all of
            them behind nginx; prints both and the ratio (goal: 2 replicas >= 1.7x one)
  soak      N concurrent conversations through the portal for a fixed time, then checks every
            conversation in the PostgreSQL tracker store (nothing lost or out of order)

Every mode has fixed counts and a deadline; it prints throughput and latency percentiles and
exits 1 on any error. The addresses come from the production profile's environment
(deploy/production.env is read if present, without overriding the environment).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import random
import re
import socket
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from chat.signing import WEBHOOK_PATH, derive_sender_id, sign_request
from loadtest.conversations import Turn, conversation
from loadtest.stats import Run
from loadtest.tracker import check_conversations
from loadtest.users import LoadUser, ensure_users
from ops.config import StackConfig
from settings import ROOT, Settings

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
REQUEST_TIMEOUT = 60.0


def load_env_file(path: Path) -> None:
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            os.environ.setdefault(name.strip(), value.strip())


def require_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    address = ipaddress.ip_address(socket.gethostbyname(host))
    if not address.is_loopback:
        raise SystemExit(f"refusing {url}: the load test runs against loopback only")


# -- the portal -------------------------------------------------------------------------------
def portal_client() -> httpx.AsyncClient:
    # verify=False: loopback only (require_loopback), where the local profile's certificate is
    # self-signed.
    return httpx.AsyncClient(timeout=REQUEST_TIMEOUT, verify=False)  # noqa: S501


async def sign_in(client: httpx.AsyncClient, base: str, email: str, password: str) -> str:
    page = await client.get(f"{base}/signin")
    match = CSRF_META.search(page.text)
    if not match:
        raise RuntimeError(f"no CSRF token on /signin (HTTP {page.status_code})")
    response = await client.post(
        f"{base}/signin",
        data={"email": email, "password": password, "csrf_token": match.group(1), "next": "/"},
    )
    if response.status_code != 303:
        raise RuntimeError(f"sign-in of {email} failed: HTTP {response.status_code}")
    return (await client.get(f"{base}/api/me")).json()["csrf_token"]


async def sign_in_all(
    users: list[LoadUser], base: str, password: str, run: Run
) -> list[tuple[httpx.AsyncClient, str] | None]:
    """Sign every user in before the clock starts (sign-in is argon2, not chat): a client and
    its CSRF token per user, None where sign-in failed (recorded as an error)."""

    async def one(user: LoadUser) -> tuple[httpx.AsyncClient, str] | None:
        client = portal_client()
        try:
            return client, await sign_in(client, base, user.email, password)
        except (httpx.HTTPError, RuntimeError) as exc:
            run.errors.append(f"sign-in: {exc}")
            await client.aclose()
            return None

    limit = asyncio.Semaphore(4)

    async def bounded(user: LoadUser) -> tuple[httpx.AsyncClient, str] | None:
        async with limit:
            return await one(user)

    return list(await asyncio.gather(*(bounded(u) for u in users)))


async def close_all(sessions: list[tuple[httpx.AsyncClient, str] | None]) -> None:
    for session in sessions:
        if session is not None:
            await session[0].aclose()


async def portal_turn(
    client: httpx.AsyncClient, base: str, csrf: str, turn: Turn, run: Run, refs: dict
) -> bool:
    start = time.perf_counter()
    try:
        response = await client.post(
            f"{base}/api/chat", json={"text": turn.text}, headers={"X-CSRF-Token": csrf}
        )
    except httpx.HTTPError as exc:
        run.errors.append(f"{type(exc).__name__}: {exc}")
        return False
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        run.errors.append(f"HTTP {response.status_code}: {response.text[:200]}")
        return False
    body = response.json()
    problem = None
    if not body.get("assistant_available") or not body.get("messages"):
        problem = "the assistant did not answer"
    elif turn.disclosure:
        said = " ".join(m.get("text", "") for m in body["messages"])
        if not body.get("safety_message") or "999" not in said:
            problem = f"no safety message for disclosure {turn.token}"
        elif not body.get("escalation_reference"):
            problem = f"no escalation reference for disclosure {turn.token}"
        else:
            refs[turn.token] = body["escalation_reference"]
    if problem:
        run.errors.append(problem)
        return False
    run.latencies.append(elapsed)
    return True


async def portal_mode(args: argparse.Namespace, settings: Settings, config: StackConfig) -> int:
    base = config.portal_lb_url
    require_loopback(base)
    users, password = ensure_users(settings, args.users, args.first_user)
    rng = random.Random(args.seed)
    scripts = [conversation(rng, args.turns, args.disclosure_rate) for _ in users]
    run, refs = Run(f"portal x{args.users} conversations"), {}
    await warm_up(config, users[0], args)
    sessions = await sign_in_all(users, base, password, run)
    limit = asyncio.Semaphore(args.concurrency)

    async def one(session: tuple[httpx.AsyncClient, str] | None, turns: list[Turn]) -> None:
        if session is None:
            return
        async with limit:
            for turn in turns:
                await portal_turn(session[0], base, session[1], turn, run, refs)

    print(
        f"==> portal load: {args.users} conversations x {args.turns} messages, "
        f"{args.concurrency} at a time, deadline {args.deadline} s, via {base}"
    )
    start = time.perf_counter()
    try:
        await asyncio.wait_for(
            asyncio.gather(*(one(c, s) for c, s in zip(sessions, scripts, strict=True))),
            args.deadline,
        )
    except asyncio.TimeoutError:
        run.errors.append(f"deadline of {args.deadline} s passed")
    run.wall = time.perf_counter() - start
    await close_all(sessions)
    disclosures = sum(t.disclosure for s in scripts for t in s)
    print(run.line())
    print(f"    disclosures: {disclosures} sent, {len(refs)} with safety message and reference")
    return report_errors(run)


# -- Rasa replicas ----------------------------------------------------------------------------
async def webhook_phase(
    name: str, url: str, scripts: list[list[Turn]], user: LoadUser, args: argparse.Namespace
) -> Run:
    run = Run(name)
    limit = asyncio.Semaphore(args.concurrency)
    tag = uuid.uuid4().hex[:8]
    # Signed as the relay signs (the replicas refuse anything else); CHANNEL_SECRET from the
    # same environment as the stack (deploy/production.env).
    secret = Settings.from_env().channel_secret

    async def one(i: int, turns: list[Turn], client: httpx.AsyncClient) -> None:
        sender = f"loadtest-{tag}-{i}"
        async with limit:
            for turn in turns:
                metadata = {
                    "user_id": user.person_id,
                    "role": "dsl",
                    "organisation_id": user.organisation_id,
                    "channel": "portal",
                    "message_id": str(uuid.uuid4()),
                }
                start = time.perf_counter()
                try:
                    body, headers = sign_request(secret, conversation=sender, text=turn.text,
                                                 metadata=metadata)
                    response = await client.post(f"{url}{WEBHOOK_PATH}", content=body,
                                                 headers=headers)
                    answer = response.json() if response.status_code == 200 else None
                except (httpx.HTTPError, ValueError) as exc:
                    run.errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                # Every turn of these conversations gets a reply; an empty one means an action
                # failed inside Rasa (which still answers 200), as the portal's soak counts it.
                if isinstance(answer, list) and answer:
                    run.latencies.append(time.perf_counter() - start)
                elif isinstance(answer, list):
                    run.errors.append("the assistant did not answer")
                else:
                    run.errors.append(f"HTTP {response.status_code}")

    limits = httpx.Limits(max_connections=args.concurrency * 2)
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT, limits=limits) as client:
        start = time.perf_counter()
        try:
            await asyncio.wait_for(
                asyncio.gather(*(one(i, s, client) for i, s in enumerate(scripts))),
                args.deadline,
            )
        except asyncio.TimeoutError:
            run.errors.append(f"deadline of {args.deadline} s passed")
        run.wall = time.perf_counter() - start
    return run


def rasa_cpu_seconds(config: StackConfig) -> float | None:
    """CPU seconds used so far by the local Rasa replicas (from the supervisor's pids.json and
    /proc), to tell a replica that is slow from one that is starved of cores."""
    try:
        pids = json.loads((config.run_dir / "pids.json").read_text(encoding="utf-8"))
        total = 0
        for name, pid in pids.items():
            if name.startswith("rasa-"):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, KeyError):
        return None


def cpu_line(run: Run, before: float | None, after: float | None) -> str:
    if before is None or after is None or not run.wall or not run.latencies:
        return "    (Rasa CPU use not available)"
    used = after - before
    return (
        f"    Rasa replicas used {used / run.wall:.2f} cores on average, "
        f"{1000 * used / len(run.latencies):.0f} ms CPU per message"
    )


async def replicas_mode(args: argparse.Namespace, settings: Settings, config: StackConfig) -> int:
    if config.rasa_replicas < 2:
        raise SystemExit("the replicas mode needs RASA_REPLICAS of 2 or more running")
    one_url = f"http://{config.bind_host}:{config.rasa_ports()[0]}"
    all_url = config.rasa_lb_url
    require_loopback(one_url)
    users, _ = ensure_users(settings, 1)
    rng = random.Random(args.seed)
    scripts = [conversation(rng, args.turns, args.disclosure_rate) for _ in range(args.users)]
    print(
        f"==> Rasa webhook: {args.users} conversations x {args.turns} messages, "
        f"{args.concurrency} at a time; 1 replica ({one_url}) then "
        f"{config.rasa_replicas} behind nginx ({all_url})"
    )
    await warm_up(config, users[0], args)
    cpu0 = rasa_cpu_seconds(config)
    single = await webhook_phase("1 replica", one_url, scripts, users[0], args)
    cpu1 = rasa_cpu_seconds(config)
    print(single.line())
    print(cpu_line(single, cpu0, cpu1))
    several = await webhook_phase(
        f"{config.rasa_replicas} replicas", all_url, scripts, users[0], args
    )
    print(several.line())
    print(cpu_line(several, cpu1, rasa_cpu_seconds(config)))
    ratio = several.throughput / single.throughput if single.throughput else 0.0
    verdict = "meets" if ratio >= 1.7 else "does NOT meet"
    print(
        f"    ratio {ratio:.2f}x ({verdict} the 1.7x goal); load average now "
        f"{os.getloadavg()[0]:.2f}"
    )
    return report_errors(single, several)


async def warm_up(config: StackConfig, user: LoadUser, args: argparse.Namespace) -> None:
    """A few untimed messages per replica first: the first predictions of a fresh Rasa are
    slow (graph warm-up), which is start-up cost, not throughput."""
    warm = [conversation(random.Random(1), 3, 0.0) for _ in range(2 * config.rasa_replicas)]
    await webhook_phase("warm-up", config.rasa_lb_url, warm, user, args)


# -- soak -------------------------------------------------------------------------------------
async def soak_mode(args: argparse.Namespace, settings: Settings, config: StackConfig) -> int:
    base = config.portal_lb_url
    require_loopback(base)
    users, password = ensure_users(settings, args.users, args.first_user)
    rng = random.Random(args.seed)
    run, refs = Run(f"soak x{args.users} for {args.duration:.0f} s"), {}
    await warm_up(config, users[0], args)
    sent: dict[str, list[str]] = defaultdict(list)
    sessions = await sign_in_all(users, base, password, run)
    since = time.time() - 1.0
    stop_at = time.monotonic() + args.duration

    async def one(user: LoadUser, session: tuple[httpx.AsyncClient, str] | None) -> None:
        if session is None:
            return
        client, csrf = session
        # The Rasa conversation id the signed channel derives from the portal's identity.
        sender = derive_sender_id(
            settings.channel_secret,
            metadata={"channel": "portal", "user_id": user.person_id,
                      "organisation_id": user.organisation_id},
            conversation=f"portal-{user.person_id}",
        )
        while time.monotonic() < stop_at:
            for turn in conversation(rng, args.turns, args.disclosure_rate):
                if time.monotonic() >= stop_at:
                    break
                sent[sender].append(turn.text)
                await portal_turn(client, base, csrf, turn, run, refs)

    print(
        f"==> soak: {args.users} concurrent conversations for {args.duration:.0f} s via "
        f"{base}; then the tracker store is checked"
    )
    start = time.perf_counter()
    try:
        await asyncio.wait_for(
            asyncio.gather(*(one(u, c) for u, c in zip(users, sessions, strict=True))),
            args.deadline,
        )
    except asyncio.TimeoutError:
        run.errors.append(f"deadline of {args.deadline} s passed")
    run.wall = time.perf_counter() - start
    await close_all(sessions)
    print(run.line())
    print(f"    disclosures answered with safety message and reference: {len(refs)}")
    tracker = check_conversations(config.tracker_database_url, sent, since)
    print(
        f"    tracker store: {tracker.conversations} conversations, {tracker.user_events} "
        f"user messages, {tracker.events} events checked; {len(tracker.problems)} problems"
    )
    for problem in tracker.problems[:20]:
        print(f"      {problem}")
    code = report_errors(run)
    return code or (1 if tracker.problems else 0)


def report_errors(*runs: Run) -> int:
    errors = [e for r in runs for e in r.errors]
    if not errors:
        print("    no errors")
        return 0
    print(f"    {len(errors)} errors, first ones:")
    for error in errors[:10]:
        print(f"      {error}")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("mode", choices=["portal", "replicas", "soak"])
    parser.add_argument("--env-file", type=Path, default=ROOT / "deploy" / "production.env")
    parser.add_argument("--users", type=int, help="conversations (default: 20; soak 50)")
    parser.add_argument(
        "--first-user",
        type=int,
        default=1,
        help="number of the first load-test user (conversations are per user; a user's earlier "
        "messages make each turn load a longer tracker)",
    )
    parser.add_argument("--turns", type=int, default=8, help="messages per conversation")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--disclosure-rate",
        type=float,
        default=0.15,
        help="share of conversations with one disclosure",
    )
    parser.add_argument("--duration", type=float, default=300.0, help="soak: seconds")
    parser.add_argument("--deadline", type=float, help="hard stop, seconds")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    args.users = args.users or (50 if args.mode == "soak" else 20)
    args.deadline = args.deadline or (args.duration + 120 if args.mode == "soak" else 600)
    load_env_file(args.env_file)
    settings = Settings.from_env()
    config = StackConfig.from_env()
    mode = {"portal": portal_mode, "replicas": replicas_mode, "soak": soak_mode}[args.mode]
    return asyncio.run(mode(args, settings, config))


if __name__ == "__main__":
    sys.exit(main())
