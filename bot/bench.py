"""Benchmark: our assistant against a stock `rasa init` bot, same machine, same run.

    python -m bot.bench [--messages 60] [--concurrency 1 10] [--model PATH]

Both bots are served by one Rasa process each (ours with its action server and a temporary
SQLite MASH database) and driven through the REST webhook by 1 and 10 concurrent
conversations. The stock bot is created with `rasa init --no-prompt` in a temporary directory
(trained there, never committed). Prints messages/s and p50/p95 latency for both, and ours
relative to the stock bot's.
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
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

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


def wait_ready(url: str, procs: list[subprocess.Popen], timeout: float = 300) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("a server exited during start-up")
        try:
            reply = httpx.post(url, json={"sender": "warm-up", "message": "hi"}, timeout=5)
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
                bot: str) -> Result:
    per_conversation = max(1, messages // concurrency)
    latencies: list[float] = []
    meta_base = {"role": "dsl", "channel": "bench"}

    async def conversation(client: httpx.AsyncClient, index: int) -> None:
        sender = f"bench-{bot}-{concurrency}-{index}-{uuid.uuid4().hex[:6]}"
        for turn in range(per_conversation):
            text = script[turn % len(script)]
            body = {"sender": sender, "message": text,
                    "metadata": meta_base | {"message_id": uuid.uuid4().hex}}
            start = time.perf_counter()
            reply = await client.post(url, json=body)
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
            messages: int) -> list[Result]:
    results = []
    for concurrency in concurrencies:
        # A short warm-up per level so both bots are measured hot.
        asyncio.run(drive(url, script, concurrency, concurrency * 2, bot))
        result = asyncio.run(drive(url, script, concurrency, messages, bot))
        print(f"    {bot:5} x{concurrency:<3} {result.rate:6.1f} msg/s  "
              f"p50 {result.pct(0.5):6.0f} ms  p95 {result.pct(0.95):6.0f} ms", flush=True)
        results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
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

        db_url = f"sqlite:///{tmp / 'bench.db'}"
        subprocess.run([sys.executable, "-m", "mash", "migrate"], cwd=ROOT, check=True,
                       env=env | {"DATABASE_URL": db_url}, stdout=subprocess.DEVNULL)
        action_port, port = free_port(), free_port()
        url = f"http://127.0.0.1:{port}/webhooks/rest/webhook"
        our_env = env | {
            "DATABASE_URL": db_url, "VAR_DIR": str(tmp),
            "ACTION_SERVER_TOKEN": secrets.token_hex(16),
            "ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}/webhook",
        }
        print(f"==> our bot ({ours.name})", flush=True)
        with serve([
            ([sys.executable, "-m", "bot.action_server", "--port", str(action_port)], our_env,
             ROOT),
            ([RASA, "run", "-m", str(ours), "--endpoints", "bot/endpoints.yml",
              "--credentials", "bot/credentials.yml", "-i", "127.0.0.1", "-p", str(port)],
             our_env, ROOT),
        ]) as procs:
            print(f"    ready in {wait_ready(url, procs):.0f} s")
            results += run_bot("ours", url, OUR_SCRIPT, args.concurrency, args.messages)

    print("\n==> ours relative to the stock bot (throughput: higher is better; "
          "p95: lower is better)")
    by_key = {(r.bot, r.concurrency): r for r in results}
    for concurrency in args.concurrency:
        o, s = by_key[("ours", concurrency)], by_key[("stock", concurrency)]
        print(f"    x{concurrency:<3} throughput {o.rate / s.rate:5.2f}x   "
              f"p50 {o.pct(0.5) / s.pct(0.5):5.2f}x   p95 {o.pct(0.95) / s.pct(0.95):5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
