"""Sign-in rate limits that slow guessing down without ever locking anyone out.

Failed attempts are counted per account and per client address. After a few free failures
each further one makes the next attempt wait longer (doubling), up to a cap: the delay is a
brake, not a lock, so an attacker can hold a duty social worker up by a minute at most, and a
right password after the wait always works. While a wait runs, attempts are refused unchecked
(no password oracle) and are not counted.

The counts live in a `limits` storage: in memory for one process (development, tests), in Redis
when REDIS_URL is set (production: shared by every portal replica). Waits are computed against
an injectable clock, so tests move time instead of sleeping.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from limits.storage import MemoryStorage, Storage, storage_from_string

# Counts are forgotten after this long without a failure.
FORGET_SECONDS = 60 * 60


@dataclass(frozen=True)
class Policy:
    free: int  # failures before any delay
    base: float  # seconds of the first delay; each further failure doubles it
    cap: float  # the longest delay: never a lockout

    def delay(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return min(self.cap, self.base * 2 ** (failures - self.free))


ACCOUNT = Policy(free=3, base=2.0, cap=60.0)
ADDRESS = Policy(free=10, base=1.0, cap=60.0)


class LoginLimiter:
    def __init__(
        self,
        storage: Storage | None = None,
        *,
        account: Policy = ACCOUNT,
        address: Policy = ADDRESS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.storage = storage or MemoryStorage()
        self.policies = {"account": account, "address": address}
        self.clock = clock

    @classmethod
    def from_redis_url(cls, redis_url: str) -> LoginLimiter:
        """Redis storage when configured (production), else this process's memory."""
        return cls(storage_from_string(redis_url) if redis_url else MemoryStorage())

    def _keys(self, account: str, address: str) -> list[tuple[str, str]]:
        return [("account", f"signin:account:{account}"), ("address", f"signin:address:{address}")]

    def retry_after(self, *, account: str, address: str) -> int:
        """Whole seconds until another attempt is allowed (0: allowed now)."""
        now = self.clock()
        wait = 0.0
        for _, key in self._keys(account, address):
            not_before = self.storage.get(f"{key}:not_before")
            wait = max(wait, not_before - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, *, account: str, address: str) -> int:
        """Count a failure; returns the seconds the next attempt must wait."""
        now = self.clock()
        wait = 0.0
        for kind, key in self._keys(account, address):
            failures = self.storage.incr(f"{key}:failures", FORGET_SECONDS, elastic_expiry=True)
            delay = self.policies[kind].delay(failures)
            if delay:
                # The storage keeps integers: "not before" as a whole second, rounded up.
                not_before = math.ceil(now + delay)
                self.storage.clear(f"{key}:not_before")
                self.storage.incr(f"{key}:not_before", FORGET_SECONDS, amount=not_before)
                wait = max(wait, not_before - now)
        return math.ceil(wait)

    def succeeded(self, *, account: str) -> None:
        key = f"signin:account:{account}"
        self.storage.clear(f"{key}:failures")
        self.storage.clear(f"{key}:not_before")
