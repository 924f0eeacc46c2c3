"""The local production profile's own Redis (security re-review F2): password-protected, on
loopback, its config file private, so no other account on the machine can rewrite sign-in
limits or the channel's nonces. A real redis-server, started and stopped by the test."""

from __future__ import annotations

import secrets
import shutil
import socket
import stat
from pathlib import Path

import pytest
import redis

from ops.private_redis import ensure_private_redis, stop_private_redis

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="redis-server is not installed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_private_redis_answers_only_with_its_password(tmp_path: Path) -> None:
    password = secrets.token_urlsafe(24)
    url = f"redis://:{password}@127.0.0.1:{free_port()}/3"
    directory = tmp_path / "redis"
    try:
        assert ensure_private_redis(url, directory) is True
        assert ensure_private_redis(url, directory) is False  # already answering: left alone
        assert redis.Redis.from_url(url).ping()
        anonymous = redis.Redis.from_url(url.replace(f":{password}@", ""))
        with pytest.raises(redis.exceptions.AuthenticationError):
            anonymous.keys("signin:*")
        with pytest.raises(redis.exceptions.AuthenticationError):
            redis.Redis.from_url(url.replace(password, "guess")).ping()
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        for name in ("redis.conf", "redis.log", "redis.pid"):
            assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600
    finally:
        stop_private_redis(directory)
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()


def test_only_a_loopback_redis_with_a_password_is_started(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="password"):
        ensure_private_redis(f"redis://127.0.0.1:{free_port()}/3", tmp_path)
    with pytest.raises(ValueError, match="loopback"):
        ensure_private_redis("redis://:pw@cache.internal:6380/3", tmp_path)
