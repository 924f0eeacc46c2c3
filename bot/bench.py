"""Benchmarks of the assistant.

    python -m bot.bench [--messages 60] [--concurrency 1 10] [--model PATH]
    python -m bot.bench bigmessage [--url URL --pid PID] [--chars 100000] [--model PATH]

The first compares ours with a stock `rasa init` bot, same machine, same run. Both bots are
served by one Rasa process each (ours with its action server and a temporary SQLite MASH
database) and driven by 1 and 10 concurrent conversations: ours through its signed channel
(bot/channels/signed.py), the stock bot through its own REST channel. The stock bot is created
with `rasa init --no-prompt` in a temporary directory (trained there, never committed). Prints
messages/s and p50/p95 latency for both, and ours relative to the stock bot's.

`bigmessage` posts very long messages (a disclosure at the middle of 100,000 characters, and
100,000 characters of one letter) through the signed channel and prints each one's latency and
Rasa's resident memory before, at its peak during, and after (the goal: under 2 s and under
300 MB more). With --url it uses a running Rasa (CHANNEL_SECRET from the environment; --pid
for its memory); without, it starts our Rasa and action server itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from chat.signing import WEBHOOK_PATH, sign_request

ROOT = Path(__file__).resolve().parent.parent
RASA = str(ROOT / ".venv" / "bin" / "rasa")

# A practitioner's typical mix: greetings, guide questions (engine), contacts, a worry, thanks.
OUR_SCRIPT = [
    "hi", "what does level 3 mean", "how do I make a referral", "what's the front door number",
    "I'm worried about a pupil who often comes in hungry", "no thanks",
    "do I need parental consent to refer", "what is county lines", "thanks", "bye",
]
STOCK_SCRIPT = [
    "hi", "I am feeling great", "are you a bot?", "I'm sad", "yes", "good morning",
    "very good", "no", "thanks", "bye",
]


@dataclass
class Result:
    bot: str
    concurrency: int
    messages: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url: str, sender: str, text: str, metadata: dict, secret: str | None) -> dict:
    """httpx post arguments: signed for our channel (a secret), plain JSON for the stock bot."""
    if secret is None:
        return {"url": url, "json": {"sender": sender, "message": text, "metadata": metadata}}
    body, headers = sign_request(secret, conversation=sender, text=text, metadata=metadata)
    return {"url": url, "content": body, "headers": headers}


def wait_ready(url: str, procs: list[subprocess.Popen], timeout: float = 300,
               secret: str | None = None) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("a server exited during start-up")
        try:
            reply = httpx.post(**request(url, "warm-up", "hi", {}, secret), timeout=5)
            if reply.status_code == 200 and reply.json():
                return time.monotonic() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@contextmanager
def serve(
    procs_args: list[tuple[list[str], dict[str, str], Path]],
) -> Iterator[list[subprocess.Popen]]:
    procs = []
    try:
        for args, env, cwd in procs_args:
            log_path = Path(tempfile.gettempdir()) / f"bench-{uuid.uuid4().hex[:6]}.log"
            log = open(log_path, "wb")  # noqa: SIM115 - lives as long as the process
            procs.append(subprocess.Popen(args, env=env, cwd=cwd, stdout=log,
                                          stderr=subprocess.STDOUT))
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


async def drive(url: str, script: list[str], concurrency: int, messages: int,
                bot: str, secret: str | None = None) -> Result:
    per_conversation = max(1, messages // concurrency)
    latencies: list[float] = []
    meta_base = {"role": "dsl", "channel": "bench"}

    async def conversation(client: httpx.AsyncClient, index: int) -> None:
        sender = f"bench-{bot}-{concurrency}-{index}-{uuid.uuid4().hex[:6]}"
        for turn in range(per_conversation):
            text = script[turn % len(script)]
            meta = meta_base | {"message_id": uuid.uuid4().hex}
            start = time.perf_counter()
            reply = await client.post(**request(url, sender, text, meta, secret))
            latencies.append(time.perf_counter() - start)
            reply.raise_for_status()

    limits = httpx.Limits(max_connections=concurrency + 2)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        start = time.perf_counter()
        await asyncio.gather(*(conversation(client, i) for i in range(concurrency)))
        elapsed = time.perf_counter() - start
    return Result(bot, concurrency, len(latencies), elapsed, latencies)


def stock_model(workdir: Path, env: dict[str, str]) -> Path:
    print("==> creating and training a stock `rasa init` bot (about a minute)", flush=True)
    subprocess.run([RASA, "init", "--no-prompt", "--init-dir", str(workdir)], cwd=workdir,
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return max((workdir / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)


def our_model(env: dict[str, str]) -> Path:
    out = subprocess.run([str(ROOT / "scripts" / "train.sh")], cwd=ROOT, env=env, check=True,
                         stdout=subprocess.PIPE, text=True)
    return ROOT / out.stdout.strip().splitlines()[-1]


def run_bot(bot: str, url: str, script: list[str], concurrencies: list[int],
            messages: int, secret: str | None = None) -> list[Result]:
    results = []
    for concurrency in concurrencies:
        # A short warm-up per level so both bots are measured hot.
        asyncio.run(drive(url, script, concurrency, concurrency * 2, bot, secret))
        result = asyncio.run(drive(url, script, concurrency, messages, bot, secret))
        print(f"    {bot:5} x{concurrency:<3} {result.rate:6.1f} msg/s  "
              f"p50 {result.pct(0.5):6.0f} ms  p95 {result.pct(0.95):6.0f} ms", flush=True)
        results.append(result)
    return results


@contextmanager
def our_stack(env: dict[str, str], tmp: Path, model: Path) -> Iterator[tuple[str, str, list]]:
    """Our Rasa (signed channel) and action server on free ports with a temporary SQLite MASH:
    yields (webhook URL, channel secret, [action server, Rasa] processes)."""
    db_url = f"sqlite:///{tmp / 'bench.db'}"
    subprocess.run([sys.executable, "-m", "mash", "migrate"], cwd=ROOT, check=True,
                   env=env | {"DATABASE_URL": db_url}, stdout=subprocess.DEVNULL)
    action_port, port = free_port(), free_port()
    secret = secrets.token_urlsafe(32)
    our_env = env | {
        "DATABASE_URL": db_url, "VAR_DIR": str(tmp),
        "ACTION_SERVER_TOKEN": secrets.token_hex(16),
        "ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}/webhook",
        "CHANNEL_SECRET": secret,
    }
    with serve([
        ([sys.executable, "-m", "bot.action_server", "--port", str(action_port)], our_env,
         ROOT),
        ([RASA, "run", "-m", str(model), "--endpoints", "bot/endpoints.yml",
          "--credentials", "bot/credentials.yml", "-i", "127.0.0.1", "-p", str(port)],
         our_env, ROOT),
    ]) as procs:
        yield f"http://127.0.0.1:{port}{WEBHOOK_PATH}", secret, procs


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bigmessage"]:
        return bigmessage_main(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100,
                        help="messages per concurrency level (default 100)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--model", type=Path, help="our model (default: scripts/train.sh)")
    args = parser.parse_args(argv)

    env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "3", "APP_ENV": "test"}
    with tempfile.TemporaryDirectory(prefix="bot-bench-") as tmp_name:
        tmp = Path(tmp_name)
        ours = args.model or our_model(env)
        (tmp / "stock").mkdir()
        stock = stock_model(tmp / "stock", env)

        results: list[Result] = []
        port = free_port()
        url = f"http://127.0.0.1:{port}/webhooks/rest/webhook"
        print(f"==> stock bot ({stock.name})", flush=True)
        with serve([([RASA, "run", "-m", str(stock), "-i", "127.0.0.1", "-p", str(port)],
                     env, tmp / "stock")]) as procs:
            print(f"    ready in {wait_ready(url, procs):.0f} s")
            results += run_bot("stock", url, STOCK_SCRIPT, args.concurrency, args.messages)

        print(f"==> our bot ({ours.name})", flush=True)
        with our_stack(env, tmp, ours) as (url, secret, procs):
            print(f"    ready in {wait_ready(url, procs, secret=secret):.0f} s")
            results += run_bot("ours", url, OUR_SCRIPT, args.concurrency, args.messages, secret)

    print("\n==> ours relative to the stock bot (throughput: higher is better; "
          "p95: lower is better)")
    by_key = {(r.bot, r.concurrency): r for r in results}
    for concurrency in args.concurrency:
        o, s = by_key[("ours", concurrency)], by_key[("stock", concurrency)]
        print(f"    x{concurrency:<3} throughput {o.rate / s.rate:5.2f}x   "
              f"p50 {o.pct(0.5) / s.pct(0.5):5.2f}x   p95 {o.pct(0.95) / s.pct(0.95):5.2f}x")
    return 0


# -- bigmessage ---------------------------------------------------------------------------------
BIG_DISCLOSURE = "Year 5 girl has just told me her stepdad hit her with a belt and she is scared"


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def big_texts(chars: int) -> dict[str, str]:
    filler = "We went over the timetable, the trip and the lunch rota again. " * (chars // 60 + 1)
    half = chars // 2
    return {
        "disclosure in the middle": (filler[:half] + " " + BIG_DISCLOSURE + ". " + filler)[:chars],
        "one letter": "x" * chars,
    }


class PeakRss:
    """Samples a process's resident memory every 20 ms while the block runs."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self.before = self.peak = self.after = rss_mb(pid) if pid else 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except (OSError, RuntimeError):
                return

    def __enter__(self) -> PeakRss:
        if self.pid:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self.pid:
            self._thread.join()
            self.after = rss_mb(self.pid)


def measure_big(url: str, secret: str, pid: int | None, chars: int) -> list[str]:
    """Post each long text once (after a short warm-up) and describe latency and memory."""
    lines = []
    metadata = {"role": "dsl", "channel": "bench", "user_id": "bench"}
    httpx.post(**request(url, "big-warm", "hello", metadata | {"message_id": "w"}, secret),
               timeout=60).raise_for_status()
    for name, text in big_texts(chars).items():
        sender = f"big-{uuid.uuid4().hex[:6]}"
        meta = metadata | {"message_id": uuid.uuid4().hex}
        with PeakRss(pid) as rss:
            start = time.perf_counter()
            reply = httpx.post(**request(url, sender, text, meta, secret), timeout=120)
            elapsed = time.perf_counter() - start
        reply.raise_for_status()
        safety = any("999" in str(m.get("text", "")) for m in reply.json())
        line = (f"    {name:25} {len(text):,} chars  {elapsed * 1000:6.0f} ms  HTTP "
                f"{reply.status_code}  safety message: {'yes' if safety else 'no'}")
        if pid:
            line += (f"  Rasa RSS {rss.before:,.0f} -> peak {rss.peak:,.0f} -> "
                     f"{rss.after:,.0f} MB (+{rss.peak - rss.before:,.0f} MB at peak)")
        print(line, flush=True)
        lines.append(line)
    return lines


def bigmessage_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.bench bigmessage",
                                     description="latency and memory of very long messages")
    parser.add_argument("--url", help="a running Rasa's base URL (CHANNEL_SECRET from the env)")
    parser.add_argument("--pid", type=int, help="that Rasa's process id, for its memory")
    parser.add_argument("--chars", type=int, default=100_000)
    parser.add_argument("--model", type=Path, help="our model (default: scripts/train.sh)")
    args = parser.parse_args(argv)
    if args.url:
        from settings import Settings

        secret = Settings.from_env().channel_secret
        print(f"==> {args.chars:,}-character messages to {args.url}", flush=True)
        measure_big(args.url.rstrip("/") + WEBHOOK_PATH, secret, args.pid, args.chars)
        return 0
    env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "3", "APP_ENV": "test"}
    model = args.model or our_model(env)
    with tempfile.TemporaryDirectory(prefix="bot-bench-") as tmp_name, \
            our_stack(env, Path(tmp_name), model) as (url, secret, procs):
        print(f"==> our bot ({model.name}): ready in "
              f"{wait_ready(url, procs, secret=secret):.0f} s; {args.chars:,}-character messages",
              flush=True)
        measure_big(url, secret, procs[1].pid, args.chars)
    return 0


if __name__ == "__main__":
    sys.exit(main())
