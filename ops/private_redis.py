"""A private, password-protected Redis for the production profile on one machine.

Sign-in limits, the one-check-in-flight claims and the signed channel's nonces live in Redis.
Debian's Redis answers every local account without a password, so on a shared machine anyone
could delete the counters or park a claim (security re-review F2). `make prod` therefore runs a
Redis of its own: loopback only, `requirepass` from REDIS_URL, its config file 0600 in a 0700
directory (the password never appears on a command line), nothing saved to disk.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import redis

from private_files import open_private, private_dir

LOOPBACK = ("127.0.0.1", "localhost", "::1")
START_SECONDS = 10.0


def answers(url: str) -> bool:
    """Whether a Redis answers `url`, password included."""
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.exceptions.RedisError:
        return False


def ensure_private_redis(url: str, directory: Path) -> bool:
    """Start a Redis for `url` (loopback, with a password) in `directory` unless one already
    answers with that password. Returns whether it started one."""
    parts = urlsplit(url)
    if not parts.password:
        raise ValueError("a private Redis needs a password in REDIS_URL")
    if parts.hostname not in LOOPBACK:
        raise ValueError(f"a private Redis runs on loopback only, not {parts.hostname!r}")
    if answers(url):
        return False
    private_dir(directory)
    conf = directory / "redis.conf"
    with open_private(conf) as handle:
        handle.write(
            f"bind {parts.hostname}\nport {parts.port or 6379}\n"
            f'requirepass "{unquote(parts.password)}"\n'
            f'save ""\nappendonly no\ndaemonize yes\ndir {directory}\n'
            f"pidfile {directory / 'redis.pid'}\nlogfile {directory / 'redis.log'}\n"
        )
    # umask: its log and pid file are private too, as everything under var/ is
    subprocess.run(["redis-server", str(conf)], check=True, capture_output=True,  # noqa: S603,S607
                   umask=0o077)
    deadline = time.monotonic() + START_SECONDS
    while not answers(url):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the private Redis did not start: see {directory / 'redis.log'}")
        time.sleep(0.1)
    return True


def stop_private_redis(directory: Path) -> None:
    """Stop the Redis `ensure_private_redis` started in `directory` (if it runs)."""
    pidfile = directory / "redis.pid"
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
