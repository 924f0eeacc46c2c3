"""Sign-in rate limits that slow guessing down without ever locking anyone out.

Failed attempts are counted per account and per client address. After a few free failures
each further one makes the next attempt wait longer (doubling), up to a cap: the delay is a
brake, not a lock. While a wait runs, attempts are refused unchecked (no password oracle) and
are not counted as failures (only as refusals, for the log).

A browser that signed in to the account before (a valid device cookie, schools_portal/devices.py)
is counted on its own instead: its failures slow only that device, and neither the account's
nor the address's count slows it. So an attacker who keeps failing on a duty worker's account
delays guessers and new browsers by a minute at most, and never the worker's own browser.

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
IN_FLIGHT_SECONDS = 30  # longer than any password or code check


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
DEVICE = Policy(free=3, base=2.0, cap=60.0)  # as an account: the owner's own typos


class LoginLimiter:
    def __init__(
        self,
        storage: Storage | None = None,
        *,
        account: Policy = ACCOUNT,
        address: Policy = ADDRESS,
        device: Policy = DEVICE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.storage = storage or MemoryStorage()
        self.policies = {"account": account, "address": address, "device": device}
        self.clock = clock

    @classmethod
    def from_redis_url(cls, redis_url: str) -> LoginLimiter:
        """Redis storage when configured (production), else this process's memory."""
        return cls(storage_from_string(redis_url) if redis_url else MemoryStorage())

    def _keys(self, account: str, address: str, device: str | None) -> list[tuple[str, str]]:
        """The counts an attempt answers to: its device's alone when it has a valid device
        cookie (`device`), else the account's and the address's."""
        if device:
            return [("device", f"signin:device:{device}")]
        return [("account", f"signin:account:{account}"), ("address", f"signin:address:{address}")]

    def retry_after(self, *, account: str, address: str, device: str | None = None) -> int:
        """Whole seconds until another attempt is allowed (0: allowed now)."""
        now = self.clock()
        wait = 0.0
        for _, key in self._keys(account, address, device):
            not_before = self.storage.get(f"{key}:not_before")
            wait = max(wait, not_before - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, *, account: str, address: str, device: str | None = None) -> int:
        """Count a failure; returns the seconds the next attempt must wait."""
        now = self.clock()
        wait = 0.0
        for kind, key in self._keys(account, address, device):
            failures = self.storage.incr(f"{key}:failures", FORGET_SECONDS, elastic_expiry=True)
            delay = self.policies[kind].delay(failures)
            if delay:
                # The storage keeps integers: "not before" as a whole second, rounded up.
                not_before = math.ceil(now + delay)
                self.storage.clear(f"{key}:not_before")
                self.storage.incr(f"{key}:not_before", FORGET_SECONDS, amount=not_before)
                wait = max(wait, not_before - now)
        return math.ceil(wait)

    def refused(self, *, account: str, address: str, device: str | None = None) -> int:
        """Count an attempt refused during a wait; returns how many the account (or the
        device) has had refused, forgotten after an hour without one."""
        _, key = self._keys(account, address, device)[0]
        return self.storage.incr(f"{key}:refused", FORGET_SECONDS, elastic_expiry=True)

    def claim(self, *, account: str, device: str | None = None) -> bool:
        """Claim the one check this account (or device) may have running. The wait is read
        before a slow password check and a failure counted after it, so without this a burst
        of guesses sent at once all passed the wait (27-40 of 40 in a review). False if
        another check is running; `release` when done. A claim left by a crash lapses."""
        key = self._in_flight_key(account, device)
        # elastic: every claim renews the expiry, so a key left (or parked) without one lapses
        if self.storage.incr(key, IN_FLIGHT_SECONDS, elastic_expiry=True) > 1:
            self.storage.incr(key, IN_FLIGHT_SECONDS, elastic_expiry=True, amount=-1)
            return False
        return True

    def release(self, *, account: str, device: str | None = None) -> None:
        self.storage.incr(self._in_flight_key(account, device), IN_FLIGHT_SECONDS,
                          elastic_expiry=True, amount=-1)

    def _in_flight_key(self, account: str, device: str | None) -> str:
        _, key = self._keys(account, "", device)[0]
        return f"{key}:in_flight"

    def succeeded(self, *, account: str, device: str | None = None) -> None:
        """Clear the count the success answered to: the device's, else the account's. A
        trusted device's success leaves the account's count alone, so guessers stay slowed."""
        key = f"signin:device:{device}" if device else f"signin:account:{account}"
        self.storage.clear(f"{key}:failures")
        self.storage.clear(f"{key}:not_before")
